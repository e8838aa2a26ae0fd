"""Suggestions: a run's predicted keypoints for the label pane's frames, computed in a worker thread.

The model of a run is loaded once (per run, in the thread: torch is never imported by the GUI
thread) and predicts one image at a time; the latest frame asked for while a prediction runs is
served next, older requests are dropped. A run that cannot give suggestions (no checkpoint, other
keypoints) is reported once and not asked again.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from pose_core.errors import RunError
from pose_gui.workers.tasks import TaskThread, stop_thread

_PREDICTORS: dict[Path, Any] = {}
_PREDICTORS_LOCK = threading.Lock()


def predict_image(run_dir: Path, image_path: Path, keypoint_names: list[str]) -> np.ndarray:
    """The run's prediction ``[K, 2]`` (image pixels) for one image (worker thread).

    Raises:
        RunError: The run has no usable checkpoint, or its keypoints differ from the labels'.
        DataError: The image cannot be read.
    """
    from pose_core.inference.predictor import Predictor
    from pose_gui.workers.image_loader import read_image_rgb

    with _PREDICTORS_LOCK:
        predictor = _PREDICTORS.get(run_dir)
        if predictor is None:
            predictor = Predictor.from_run(run_dir, device="cpu")
            _PREDICTORS[run_dir] = predictor
    if list(predictor.keypoint_names) != list(keypoint_names):
        raise RunError(
            f"Run {run_dir} predicts other keypoints ({', '.join(predictor.keypoint_names)}) than the labels have; "
            "choose a run trained on this project to get suggestions."
        )
    xy_lik = predictor.predict_frames(read_image_rgb(image_path))[0]
    return np.asarray(xy_lik[:, :2], dtype=np.float64)


class Suggestions(QObject):
    """Predicted keypoints per image path, for the run chosen.

    Signals:
        ready(str): The suggestions of this image path arrived.
        failed(object): The run cannot give suggestions (the error says why).
    """

    ready = Signal(str)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._points: dict[str, np.ndarray] = {}
        self._task: TaskThread | None = None
        self._pending: tuple[Path, str, Path, list[str]] | None = None
        self._failed_runs: set[Path] = set()

    def get(self, image_path: str) -> np.ndarray | None:
        """``[K, 2]`` suggestions of an image, or None."""
        return self._points.get(image_path)

    def clear(self) -> None:
        """Forget every suggestion (another run was chosen)."""
        self._points.clear()
        self._pending = None

    def request(self, run_dir: Path, image_path: str, file: Path, keypoint_names: list[str]) -> None:
        """Predict an image unless it is known, or the run failed before; the latest request wins."""
        if image_path in self._points or run_dir in self._failed_runs:
            return
        job = (Path(run_dir), image_path, file, list(keypoint_names))
        if self._task is not None:
            self._pending = job
            return
        task = TaskThread(predict_image, job[0], job[2], job[3], parent=self)
        task.succeeded.connect(lambda xy, p=image_path: self._on_task_succeeded(p, xy))
        task.failed.connect(lambda error, r=job[0]: self._on_task_failed(r, error))
        task.finished.connect(self._on_task_finished)
        self._task = task
        task.start()

    def _on_task_succeeded(self, image_path: str, xy: np.ndarray) -> None:
        self._points[image_path] = xy
        self.ready.emit(image_path)

    def _on_task_failed(self, run_dir: Path, error: BaseException) -> None:
        if isinstance(error, RunError):
            self._failed_runs.add(run_dir)
        self.failed.emit(error)

    def _on_task_finished(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.deleteLater()
        pending, self._pending = self._pending, None
        if pending is not None:
            self.request(*pending)

    def is_busy(self) -> bool:
        """True while a prediction runs."""
        return self._task is not None

    def shutdown(self) -> None:
        """Wait for the running prediction and drop the queued one."""
        self._pending = None
        stop_thread(self._task)
