"""Start-up: how long until ``pose-predict`` has predicted its first frames and ``pose-train`` has taken its first step.

Not a test: prints numbers. Each figure is the time from starting the command (a fresh Python
process, as a user types it) to an event in its events file:

* ``pose-predict``: the first ``progress`` event, written after the first batch (``--batch-size``
  frames, default 1 = the first frame) -- goal < 3 s; for ``--engine torch`` and ``--engine
  onnxruntime`` (a cached export: neither torch nor torchvision is imported) run alternately, with
  the ratio in each repeat, and what ``--engine auto`` takes on this machine and why;
* ``pose-train`` on the example project: the first ``progress`` event (after the first training
  step) -- goal < 5 s; the process is stopped there;
* where the time goes: the top-level imports of each command by cumulative ``python -X importtime``.

Usage: ``python benchmarks/startup.py [--repeats 3] [--video VIDEO]``. The machine is shared: the
load average is printed with the figures; compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
DATA = REPO / ".." / "shared" / "data" / "mirror-mouse-example"


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "POSEDESK_DATA_DIR": str(data_dir)}


def time_to_event(cmd: list[str], events: Path, env: dict[str, str], kind: str, timeout_s: float = 900) -> float:
    """Seconds from starting ``cmd`` to the first ``kind`` event in ``events``; the process is then stopped."""
    events.unlink(missing_ok=True)
    start_epoch = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        while time.time() - start_epoch < timeout_s:
            if events.is_file():
                for line in events.read_text().splitlines():
                    event = json.loads(line) if line.endswith("}") else {}
                    if event.get("event") == kind:
                        return float(event["time"]) - start_epoch
            if proc.poll() is not None:
                sys.exit(f"{' '.join(cmd[:4])}... ended before a {kind} event:\n{proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.05)
        sys.exit(f"no {kind} event after {timeout_s} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def top_imports(cmd: list[str], env: dict[str, str], n: int = 6) -> str:
    """The ``n`` slowest top-level imports of ``cmd`` (cumulative ``-X importtime``, ms)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], env=env, capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)  # top level: no leading spaces
        if match:
            rows.append((int(match.group(1)) / 1000, match.group(2)))
    rows.sort(reverse=True)
    return ", ".join(f"{name} {ms:.0f} ms" for ms, name in rows[:n])


def predict_cmd(run_dir: Path, video: Path, out: Path, engine: str, batch_size: int) -> list[str]:
    return [sys.executable, "-m", "pose_core.inference.cli", str(run_dir), str(video), "--output-dir", str(out),
            "--overwrite", "--engine", engine, "--batch-size", str(batch_size)]  # fmt: skip


def print_auto_verdict(run_dir: Path) -> None:
    """What ``--engine auto`` will take for this run, from the engines' frames/s measured when it was exported."""
    from pose_core.inference.engines import EXPORT_DIRNAME, _auto_verdict, read_export_record

    checkpoint = next(run_dir.glob("tb_logs/*/version_*/checkpoints/*.ckpt"))
    record = read_export_record(run_dir / EXPORT_DIRNAME, checkpoint)
    if record is not None:
        print(f"  --engine auto: {_auto_verdict('onnxruntime', record)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DATA / "videos" / "test_vid.mp4")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1, help="frames of the first batch of pose-predict")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    from predict_throughput import keypoint_names, make_run

    with tempfile.TemporaryDirectory(prefix="startup_bench_") as tmp:
        work = Path(tmp)
        env = _env(work / "data")
        run_dir = make_run(work / "run", keypoint_names(), 128)
        out = work / "out"
        events = out / "predict_events.jsonl"
        subprocess.run(
            predict_cmd(run_dir, args.video, out, "onnxruntime", 16), env=env, check=True, capture_output=True
        )
        print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores shared with others: figures are noisy)")
        print(f"\n== pose-predict: start to the first predicted batch ({args.batch_size} frame(s)) ==")
        for repeat in range(args.repeats):
            order = ("torch", "onnxruntime") if repeat % 2 == 0 else ("onnxruntime", "torch")
            times = {e: time_to_event(predict_cmd(run_dir, args.video, out, e, args.batch_size), events, env, "progress")
                     for e in order}  # fmt: skip
            print(f"  repeat {repeat + 1}: torch {times['torch']:.2f} s, onnxruntime (cached export, no torch import) "
                  f"{times['onnxruntime']:.2f} s: x{times['torch'] / times['onnxruntime']:.1f} sooner (goal < 3 s); "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        print_auto_verdict(run_dir)
        for engine in ("torch", "onnxruntime"):
            cmd = predict_cmd(run_dir, args.video, work / "imp", engine, 16)
            print(f"  slowest imports, --engine {engine}: {top_imports(cmd, env)}")
        if args.skip_train:
            return
        print("\n== pose-train (example project): start to the first training step ==")
        subprocess.run([sys.executable, "-m", "pose_core.example"], env=env, check=True, capture_output=True)
        train_dir = work / "train_run"
        train = [sys.executable, "-m", "pose_core.cli", "train", f"hydra.run.dir={train_dir}", "training.max_epochs=1"]
        for repeat in range(args.repeats):
            shutil.rmtree(train_dir, ignore_errors=True)
            first_step_s = time_to_event(train, train_dir / "events.jsonl", env, "progress")
            print(
                f"  repeat {repeat + 1}: {first_step_s:.2f} s (goal < 5 s); load {os.getloadavg()[0]:.1f}", flush=True
            )
        print(
            f"  slowest imports: {top_imports([sys.executable, '-c', 'import pose_core.cli, pose_core.training.run, pose_core.training.module'], env)}"
        )
        print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
