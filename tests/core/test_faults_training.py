"""pose-train on faults: bad images, a folder in use, SIGTERM, resuming another model (issue 16: 2-5, 7c, 9, 20)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pose_core.cli import train_main
from pose_core.events import read_events
from pose_core.example import generate_example_project
from tests.core.conftest import wait_for_events


@pytest.fixture(scope="module")
def source_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faults") / "project"
    generate_example_project(folder, seed=5, n_labeled=30, n_video_frames=20, n_videos=1)
    return folder


@pytest.fixture
def project(source_project: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source_project, tmp_path / "project"))


def _args(project: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        "--config-path", str(project), "--config-name", "config.yaml",
        "data.image_resize_dims.height=64", "data.image_resize_dims.width=64", "training.imgaug=none",
        "training.max_epochs=3", "training.train_batch_size=2", "training.train_prob=0.8",
        "eval.predict_vids_after_training=false", f"hydra.run.dir={run_dir}", *extra,
    ]  # fmt: skip


def _first_image(project: Path) -> Path:
    line = (project / "CollectedData.csv").read_text(encoding="utf-8").splitlines()[3]
    return project / line.split(",")[0]


def test_a_truncated_image_stops_pose_train_before_the_run_folder_exists(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _first_image(project)
    image.write_bytes(image.read_bytes()[:200])
    run_dir = tmp_path / "run"
    assert train_main(_args(project, run_dir)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pose-train: error: 1 of 30 labelled images") and "truncated" in err
    assert len(err.splitlines()) == 1
    assert not run_dir.exists()


def test_a_run_dir_that_is_a_file_is_one_line(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run").write_text("x")
    assert train_main(_args(project, tmp_path / "run")) == 2
    assert "is a file; set hydra.run.dir" in capsys.readouterr().err


def test_a_run_folder_in_use_is_refused_at_once(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    code = (
        "import time; from pathlib import Path; from pose_core.training.preflight import RunLock;"
        f"RunLock.for_run(Path({str(run_dir)!r})).acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert train_main(_args(project, run_dir)) == 2
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert f"{run_dir} is in use by another training (pid {holder.pid}" in err
    assert sorted(p.name for p in run_dir.iterdir()) == [".posedesk-train.lock"]


@pytest.mark.slow  # a second process; the in-process test below covers the same stop and its resume
def test_sigterm_in_epoch_0_saves_it_as_unfinished_and_resume_refuses_another_model(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "pose_core.cli", "train", *_args(project, run_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_events(run_dir, lambda ev: any(e.kind == "progress" for e in ev), proc, timeout_s=300.0)
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 143, out
    assert "stopped by SIGTERM; continue with training.resume_from=" in out and "Traceback" not in out
    events = read_events(run_dir / "events.jsonl")
    assert events[-1].kind == "stopped"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["epochs_completed"] == 0
    last = Path(summary["last_checkpoint"])
    assert last.name == "last.ckpt" and torch.load(last, weights_only=False)["epoch"] == 0
    assert not (run_dir / "STOP").exists()

    before = (run_dir / "events.jsonl").read_bytes()
    resume = f"training.resume_from={run_dir}"
    assert train_main(_args(project, run_dir, resume, "model.backbone=resnet34")) == 2
    err = capsys.readouterr().err
    assert "model.backbone: checkpoint resnet18, config resnet34" in err
    assert (run_dir / "events.jsonl").read_bytes() == before  # the run was not touched

    assert train_main(_args(project, run_dir, resume, "training.max_epochs=1")) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_completed"] == 1


@pytest.mark.parametrize("taken_from_lightning", [True, False])
def test_sigterm_right_after_the_stop_check_is_still_a_graceful_stop(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    taken_from_lightning: bool,
) -> None:
    """SIGTERM between the stop callback's check and Lightning's own: Lightning used to exit with status 0.

    Then a resume with another model is refused without touching the run, and the same model
    trains the rest of the stopped epoch.
    """
    import threading

    import torch

    from pose_core.training.callbacks import EventCallback, StopFileCallback

    assert threading.current_thread() is threading.main_thread()  # else SIGTERM would end the test process
    original = EventCallback.on_train_batch_end
    sent: list[int] = []

    def progress_then_sigterm(self: EventCallback, trainer: object, *args: object) -> None:
        original(self, trainer, *args)  # type: ignore[arg-type]
        if not sent:  # the events come after the stop check: Lightning checks its flag next
            sent.append(1)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(EventCallback, "on_train_batch_end", progress_then_sigterm)
    run_dir = tmp_path / "run"
    if not taken_from_lightning:  # what is left when Lightning sees the signal first: a stop, with status 143
        monkeypatch.setattr(StopFileCallback, "_take_sigterm_from_lightning", lambda self, trainer: None)
        with pytest.raises(SystemExit) as exited:
            train_main(_args(project, run_dir))
        assert exited.value.code == 143
        assert read_events(run_dir / "events.jsonl")[-1].kind == "stopped"
        return
    assert train_main(_args(project, run_dir)) == 143
    assert "stopped by SIGTERM; continue with training.resume_from=" in capsys.readouterr().err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["epochs_completed"] == 0
    assert read_events(run_dir / "events.jsonl")[-1].kind == "stopped"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are given back
    last = Path(summary["last_checkpoint"])
    assert last.name == "last.ckpt" and torch.load(last, weights_only=False)["epoch"] == 0
    assert not (run_dir / "STOP").exists()

    monkeypatch.setattr(EventCallback, "on_train_batch_end", original)
    before = (run_dir / "events.jsonl").read_bytes()
    resume = f"training.resume_from={run_dir}"
    assert train_main(_args(project, run_dir, resume, "model.backbone=resnet34")) == 2
    assert "model.backbone: checkpoint resnet18, config resnet34" in capsys.readouterr().err
    assert (run_dir / "events.jsonl").read_bytes() == before  # the run was not touched
    assert train_main(_args(project, run_dir, resume, "training.max_epochs=1")) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_completed"] == 1
