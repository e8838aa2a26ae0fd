"""PredictJob: run ``python -m pose_core.inference.cli RUN_DIR VIDEO`` in a child process, with progress and cancel.

Progress comes from the job's events file (``video_preds/predict_events.jsonl``, tailed every
250 ms from its size at start, so events of earlier jobs are not replayed). Cancel writes the
``STOP`` file the CLI polls between batches, and kills the process tree after a grace period.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from pose_core.events import EventTail
from pose_core.runs.layout import STOP_FILENAME, RunLayout
from pose_gui.models.predictions import video_predictions_path
from pose_gui.workers.process_job import ProcessJob

POLL_INTERVAL_MS = 250
CANCEL_GRACE_MS = 5000


def predict_command(run_dir: Path, video_path: Path, overwrite: bool = True) -> list[str]:
    """The ``pose-predict`` command line (program first) for one video of a run."""
    events = RunLayout(Path(run_dir)).predict_events
    args = [sys.executable, "-m", "pose_core.inference.cli", str(run_dir), str(video_path), "--events", str(events)]
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
        self._process = ProcessJob(command[0], command[1:], parent=self)
        self._process.ended.connect(self._on_process_ended)
        self._tail = EventTail(self.events_path)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)
        self._grace_timer = QTimer(self)
        self._grace_timer.setSingleShot(True)
        self._grace_timer.timeout.connect(self._process.kill_tree)
        self._cancelled = False
        self._error_line = ""

    def start(self) -> None:
        """Start the child process (returns at once)."""
        self.events_path.parent.mkdir(parents=True, exist_ok=True)
        (self.events_path.parent / STOP_FILENAME).unlink(missing_ok=True)
        self._tail.offset_bytes = self.events_path.stat().st_size if self.events_path.is_file() else 0
        self._process.output_received.connect(self._on_process_output)
        self._process.start()
        self._timer.start()

    def is_running(self) -> bool:
        """True while the child process runs."""
        return self._process.is_running()

    def cancel(self) -> None:
        """Ask the child to stop after its current batch; kill it if it has not ended after a grace period."""
        if not self.is_running():
            return
        self._cancelled = True
        (self.events_path.parent / STOP_FILENAME).write_text("stop\n", encoding="utf-8")
        self._grace_timer.start(CANCEL_GRACE_MS)

    def shutdown(self) -> None:
        """Kill the child now and wait for it (window closing)."""
        self._timer.stop()
        self._grace_timer.stop()
        if self.is_running():
            self._process.kill_tree()
            self._process.process.waitForFinished(5000)

    def poll(self) -> None:
        """Read new events and report progress."""
        for event in self._tail.read_new():
            data = event.data
            if event.kind == "progress":
                stage = str(data.get("stage", "predict"))
                done, total = int(data.get("frames_done", 0)), int(data.get("n_frames", 0))
                fps = float(data.get("frames_per_s") or 0.0)
                self.progressed.emit(done, total, progress_text(stage, done, total, fps))
            elif event.kind == "failed":
                self._error_line = str(data.get("error", ""))

    def _on_process_output(self, text: str) -> None:
        for line in text.splitlines():
            if "error:" in line:
                self._error_line = line.strip()

    def _on_process_ended(self, exit_code: int, how: str) -> None:
        self._timer.stop()
        self._grace_timer.stop()
        self.poll()
        (self.events_path.parent / STOP_FILENAME).unlink(missing_ok=True)
        if exit_code == 0 and how == "normal":
            self.ended.emit(True, f"Predicted {self.video_path.name} with run {self.run_dir.name}.", self.output_path)
        elif self._cancelled:
            self.ended.emit(False, f"Prediction of {self.video_path.name} cancelled.", None)
        else:
            reason = self._error_line or f"the process ended with status {exit_code} ({how})"
            self.ended.emit(False, f"Prediction of {self.video_path.name} failed: {reason}", None)
