"""pose-train end to end on a tiny generated project: run directory, stop, resume, kill -9, learning.

Kept cheap for ``make test`` on 2 cores: 24 labelled frames (12 train, 2 validation, 10 test) at
32x64 pixels, two steps per epoch; what is checked does not depend on the size.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pose_core.cli import train_main
from pose_core.events import read_events
from pose_core.example import generate_example_project
from pose_core.runs.layout import find_last_checkpoint
from pose_core.training.callbacks import StopFileCallback
from tests.core.conftest import wait_for_events

N_LABELED = 24


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "project"
    generate_example_project(folder, seed=3, n_labeled=N_LABELED, n_video_frames=20, n_videos=1)
    return folder


def train_args(project: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        "--config-path", str(project), "--config-name", "config.yaml",
        "data.image_resize_dims.height=32", "data.image_resize_dims.width=64",
        "training.max_epochs=2", "training.train_batch_size=8", "training.imgaug=none", "training.train_prob=0.5",
        "eval.predict_vids_after_training=false", f"hydra.run.dir={run_dir}", *extra,
    ]  # fmt: skip


def test_run_directory_layout(tiny_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    lr_args = (
        "training.optimizer_params.learning_rate=0.001",
        "training.lr_scheduler_params.multisteplr.milestones=[1]",
    )
    assert train_main(train_args(tiny_project, run_dir, *lr_args)) == 0
    out = capsys.readouterr().out
    assert f"Results in {run_dir}" in out and "test" in out
    for name in ("config.yaml", "events.jsonl", "predictions.csv", "predictions_pixel_error.csv", "summary.json"):
        assert (run_dir / name).is_file(), name
    assert list(run_dir.glob("tb_logs/example/version_0/checkpoints/last.ckpt"))
    assert list(run_dir.glob("tb_logs/example/version_0/events.out.tfevents.*"))
    preds = pd.read_csv(run_dir / "predictions.csv", header=[0, 1, 2], index_col=0)
    assert len(preds) == N_LABELED
    assert preds.columns[-1][0] == "set"
    assert set(preds.iloc[:, -1]) == {"train", "validation", "test"}
    assert preds.columns[0][2] == "x" and preds.columns[2][2] == "likelihood"
    errors = pd.read_csv(run_dir / "predictions_pixel_error.csv", index_col=0)
    assert list(errors.columns)[-1] == "set" and len(errors.columns) == 18 + 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_completed"] == 2
    assert summary["pixel_error"]["test"]["n_frames"] > 0
    kinds = [e.kind for e in read_events(run_dir / "events.jsonl")]
    assert kinds[0] == "phase" and "started" in kinds and kinds[-1] == "finished"
    assert kinds.count("epoch_end") == 2
    epoch = next(e for e in read_events(run_dir / "events.jsonl") if e.kind == "epoch_end")
    assert {"train_supervised_loss", "val_supervised_loss", "val_supervised_rmse"} <= set(epoch.data["metrics"])
    # the learning rate logged is the one each epoch trained at (the scheduler halves it after epoch 0),
    # and it is in the step events too, so the curve moves during the first epoch
    events = read_events(run_dir / "events.jsonl")
    epoch_lrs = [e.data["metrics"]["learning_rate"] for e in events if e.kind == "epoch_end"]
    assert epoch_lrs == pytest.approx([0.001, 0.0005])
    first_step = next(e for e in events if e.kind == "progress")
    assert first_step.data["metrics"]["learning_rate"] == pytest.approx(0.001)


def _start(project: Path, run_dir: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "pose_core.cli", "train", *train_args(project, run_dir, *extra)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _epochs_done(events) -> int:
    return sum(1 for e in events if e.kind == "epoch_end")


def test_stop_file_then_resume_continues_the_curves(tiny_project: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = _start(tiny_project, run_dir, "training.max_epochs=200")
    wait_for_events(run_dir, lambda ev: _epochs_done(ev) >= 1, proc)
    (run_dir / "STOP").touch()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    events = read_events(run_dir / "events.jsonl")
    assert events[-1].kind == "stopped"
    done = _epochs_done(events)
    assert 1 <= done < 200
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "stopped"
    assert not (run_dir / "STOP").exists()  # a resumed run must not stop at once
    assert (
        train_main(
            train_args(tiny_project, run_dir, f"training.resume_from={run_dir}", f"training.max_epochs={done + 1}")
        )
        == 0
    )
    events = read_events(run_dir / "events.jsonl")
    starts = [e for e in events if e.kind == "started"]
    assert len(starts) == 2 and starts[1].data["start_epoch"] >= done
    assert events[-1].kind == "finished"
    assert list(run_dir.glob("tb_logs/example/version_*")) == [run_dir / "tb_logs" / "example" / "version_0"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop_at_global_step", "stopped_at", "resumed_steps"),
    [
        (4, (1, 1), [(1, 1), (1, 2)]),  # after step 1 of epoch 2: Resume trains its steps 2-3, not none of them
        (3, (0, 3), [(1, 0), (1, 1), (1, 2)]),  # at the last step of epoch 1: that epoch ended, Resume trains epoch 2
    ],
)
def test_resume_after_a_stop_trains_the_rest_of_the_stopped_epoch(
    tiny_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stop_at_global_step: int,
    stopped_at: tuple[int, int],
    resumed_steps: list[tuple[int, int]],
) -> None:
    """A Stop at a given step (3 steps an epoch, 2 epochs), then Resume: every step is trained exactly once."""
    run_dir = tmp_path / "run"
    steps_seen: list[tuple[int, int]] = []
    original = StopFileCallback.on_train_batch_end

    def stop_at_step(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        steps_seen.append((int(trainer.current_epoch), batch_idx))
        if trainer.global_step == stop_at_global_step:
            self.stop_path.touch()  # what Stop in the GUI writes
        original(self, trainer, pl_module, outputs, batch, batch_idx)

    monkeypatch.setattr(StopFileCallback, "on_train_batch_end", stop_at_step)
    monkeypatch.setattr("pose_core.training.callbacks.PROGRESS_INTERVAL_S", 1e9)  # progress only where it must be
    args = ("training.train_batch_size=4",)  # 12 training frames: 3 steps an epoch
    assert train_main(train_args(tiny_project, run_dir, *args)) == 0
    assert steps_seen == [(0, 0), (0, 1), (0, 2), (1, 0)][:stop_at_global_step]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["epochs_completed"] == 1
    last_progress = [e for e in read_events(run_dir / "events.jsonl") if e.kind == "progress"][-1]
    assert (last_progress.data["epoch"], last_progress.data["step"]) == stopped_at  # what the Resume tooltip reads
    steps_seen.clear()
    stop_at_global_step = -1
    assert train_main(train_args(tiny_project, run_dir, *args, f"training.resume_from={run_dir}")) == 0
    assert steps_seen == resumed_steps  # nothing skipped or repeated
    events = read_events(run_dir / "events.jsonl")
    assert events[-1].kind == "finished" and events[-1].data["global_step"] == 2 * 3
    epoch_ends = [e for e in events if e.kind == "epoch_end"]
    assert [e.data["epoch"] for e in epoch_ends] == [0, 1]  # none for the epoch the stop cut short
    assert epoch_ends[-1].data["global_step"] == 2 * 3 and epoch_ends[-1].data["epoch_time_s"] < 600
    assert not list(run_dir.glob("tb_logs/*/version_*/checkpoints/*.at-stop"))


def test_kill_9_loses_at_most_the_epoch_in_progress(tiny_project: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = _start(tiny_project, run_dir, "training.max_epochs=200")
    # one epoch done and its checkpoint written: the kill lands somewhere in the next epoch
    wait_for_events(run_dir, lambda ev: _epochs_done(ev) >= 1 and find_last_checkpoint(run_dir) is not None, proc)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    done = _epochs_done(read_events(run_dir / "events.jsonl"))
    assert (
        train_main(
            train_args(tiny_project, run_dir, f"training.resume_from={run_dir}", f"training.max_epochs={done + 1}")
        )
        == 0
    )
    starts = [e for e in read_events(run_dir / "events.jsonl") if e.kind == "started"]
    assert starts[-1].data["start_epoch"] >= done - 1  # at most the epoch in progress is lost


def test_resume_from_nothing_is_a_clear_error(
    tiny_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty-run"
    empty.mkdir()
    assert train_main(train_args(tiny_project, tmp_path / "run", f"training.resume_from={empty}")) == 2
    err = capsys.readouterr().err
    assert "training.resume_from" in err and "no checkpoint" in err
