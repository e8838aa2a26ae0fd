"""Shared helpers of the benchmarks: the mirror-mouse data, running a command while sampling memory."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
MIRROR = (ROOT / ".." / "shared" / "data" / "mirror-mouse-example").resolve()
REFERENCE_MD = "../shared/REFERENCE.md"


def require_mirror() -> Path:
    if not (MIRROR / "CollectedData.csv").is_file():
        sys.exit(f"benchmark needs {MIRROR} (the shared mirror-mouse example data); it is not there")
    return MIRROR


def mirror_train_overrides(run_dir: Path, epochs: int, extra: list[str] | None = None) -> list[str]:
    """LP's own config for the data, at the reference setting: resnet18, 128x128, batch 8, supervised."""
    return [
        "--config-path", str(MIRROR), "--config-name", "lp_config.yaml",
        f"data.data_dir={MIRROR}", "model.backbone=resnet18",
        "data.image_resize_dims.height=128", "data.image_resize_dims.width=128",
        "training.train_batch_size=8", f"training.max_epochs={epochs}", f"training.min_epochs={epochs}",
        "model.losses_to_use=[]", "eval.predict_vids_after_training=false",
        "training.lr_scheduler_params.multisteplr.milestones=null",
        f"hydra.run.dir={run_dir}",
        *(extra or []),
    ]  # fmt: skip


@dataclass
class ProcessStats:
    wall_s: float
    returncode: int
    peak_rss_mib: float  # largest sum of RSS over the process tree
    peak_pss_mib: float  # largest sum of PSS over the process tree (shared pages counted once)
    output: str


def run_measured(cmd: list[str], cwd: Path | None = None, interval_s: float = 0.1) -> ProcessStats:
    """Runs a command, sampling the memory of its whole process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = {"rss": 0.0, "pss": 0.0}
    done = threading.Event()

    def sample() -> None:
        parent = psutil.Process(proc.pid)
        while not done.is_set():
            rss = pss = 0.0
            try:
                for p in [parent, *parent.children(recursive=True)]:
                    try:
                        info = p.memory_full_info()
                        rss += info.rss
                        pss += getattr(info, "pss", info.rss)
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
            except psutil.NoSuchProcess:
                return
            peak["rss"] = max(peak["rss"], rss)
            peak["pss"] = max(peak["pss"], pss)
            time.sleep(interval_s)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = proc.communicate()
    done.set()
    thread.join()
    return ProcessStats(time.perf_counter() - start, proc.returncode, peak["rss"] / 2**20, peak["pss"] / 2**20, out)


def read_events(run_dir: Path) -> list[dict]:
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
