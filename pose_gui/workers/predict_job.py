"""PredictJob: run ``python -m pose_core.inference.cli RUN_DIR VIDEO`` in a child process, with progress and cancel.

The child process, its events file and cancelling are an :class:`~pose_gui.workers.events_job.EventsJob`:
progress comes from ``video_preds/predict_events.jsonl`` (tailed from its size at start, so events
of earlier jobs are not replayed); cancel writes the ``STOP`` file the CLI polls between batches,
and kills the process tree after a grace period. This class turns its events into frames done and
its end into a message for the user.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from pose_core.events import Event
from pose_core.runs.layout import RunLayout
from pose_gui.models.predictions import video_predictions_path
from pose_gui.workers.events_job import EventsJob

PREDICT_MODULE = "pose_core.inference.cli"


def predict_command(run_dir: Path, video_path: Path, overwrite: bool = True) -> list[str]:
    """The ``pose-predict`` command line (program first) for one video of a run."""
    events = RunLayout(Path(run_dir)).predict_events
    args = [sys.executable, "-m", PREDICT_MODULE, str(run_dir), str(video_path), "--events", str(events)]
    return args + (["--overwrite"] if overwrite else [])


def progress_text(stage: str, done: int, total: int, frames_per_s: float) -> str:
    """``Predicting 120/994 frames · 85 frames/s · ETA 0:10`` (as the training progress bar says it)."""
    verb = {"predict": "Predicting", "render": "Rendering"}.get(stage, stage.capitalize())
    if frames_per_s > 0 and total >= done:
        eta_s = (total - done) / frames_per_s
        minutes, seconds = divmod(int(round(eta_s)), 60)
        rate = f"{frames_per_s:.0f} frames/s · ETA {minutes}:{seconds:02d}"
    else:
        rate = "— frames/s · ETA —"
    return f"{verb} {done}/{total} frames · {rate}"


class PredictJob(QObject):
    """Predicts one video with one run in a child process.

    Signals:
        progressed(int, int, str): Frames done, frames in total, a short text.
        ended(bool, str, object): Succeeded, a message for the user, the predictions CSV path.
    """

    progressed = Signal(int, int, str)
    ended = Signal(bool, str, object)

    def __init__(
        self, run_dir: Path, video_path: Path, parent: QObject | None = None, *, command: list[str] | None = None
    ) -> None:
        """Prepare (not start) the job.

        Args:
            run_dir: The training run.
            video_path: The video to predict.
            parent: Owner.
            command: Another command line to run instead of ``pose-predict`` (tests); it must take
                ``--events FILE`` like the CLI.
        """
        super().__init__(parent)
        self.run_dir, self.video_path = Path(run_dir), Path(video_path)
        self.output_path = video_predictions_path(self.run_dir, self.video_path)
        command = command if command is not None else predict_command(self.run_dir, self.video_path)
        self.events_path = Path(command[command.index("--events") + 1])
        self._job = EventsJob(PREDICT_MODULE, [], parent=self, events_path=self.events_path, command=command)
        self._job.event_received.connect(self._on_event)
        self._job.ended.connect(self._on_job_ended)

    def start(self) -> None:
        """Start the child process (returns at once)."""
        self._job.start()

    def is_running(self) -> bool:
        """True while the child process runs."""
        return self._job.is_running()

    def cancel(self) -> None:
        """Ask the child to stop after its current batch; kill it if it has not ended after a grace period."""
        self._job.cancel()

    def shutdown(self) -> None:
        """Kill the child now and wait for it (window closing)."""
        self._job.shutdown()

    def _on_event(self, event: Event) -> None:
        if event.kind == "progress":
            data = event.data
            stage = str(data.get("stage", "predict"))
            done, total = int(data.get("frames_done", 0)), int(data.get("n_frames", 0))
            fps = float(data.get("frames_per_s") or 0.0)
            self.progressed.emit(done, total, progress_text(stage, done, total, fps))

    def _on_job_ended(self, ok: bool, error: str) -> None:
        if ok:
            self.ended.emit(True, f"Predicted {self.video_path.name} with run {self.run_dir.name}.", self.output_path)
        elif self._job.cancelled:
            self.ended.emit(False, f"Prediction of {self.video_path.name} cancelled.", None)
        else:
            self.ended.emit(False, f"Prediction of {self.video_path.name} failed: {error}", None)
