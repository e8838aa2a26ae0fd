"""LatestRunner: run functions in worker threads where, per key, only the latest request's result counts.

Opening a project, replaying a run's curves, reading a labelled frame's image, loading a video's
predictions: the user may ask again before the previous answer arrived (a second project, another
run in the history, the next row). Every such place runs its function through one
:class:`LatestRunner` under a key ("open", "replay", "image", "preds"); a newer request of the same
key makes the older one stale, and a stale result or error is dropped instead of overwriting the
newer one. :meth:`LatestRunner.invalidate` drops the pending result of a key without starting
another (the project changed: whatever was being read belongs to the old one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from pose_gui.workers.tasks import TaskThread, stop_thread


class LatestRunner(QObject):
    """Runs functions in :class:`TaskThread` s; a newer task of the same key makes the older one's result stale."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest: dict[str, TaskThread | None] = {}
        self._all: list[TaskThread] = []

    def run(
        self,
        key: str,
        fn: Callable[..., Any],
        *args: Any,
        on_success: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        report_progress: bool = False,
    ) -> TaskThread:
        """Run ``fn(*args)`` in a thread; ``on_success`` / ``on_error`` are called only if it is still the latest.

        Args:
            key: What is asked for; a later :meth:`run` with the same key makes this one stale.
            fn: The function (runs in the worker thread).
            *args: Its arguments.
            on_success: Called with the result in the GUI thread, if still the latest.
            on_error: Called with the exception in the GUI thread, if still the latest.
            report_progress: Give ``fn`` a ``progress(done, total, message)`` keyword (see TaskThread).

        Returns:
            The started thread (its ``finished`` signal fires whether or not it was stale).
        """
        task = TaskThread(fn, *args, parent=self, report_progress=report_progress)
        self._latest[key] = task
        self._all = [t for t in self._all if t.isRunning()] + [task]
        task.succeeded.connect(lambda result: on_success(result) if self.is_latest(key, task) else None)
        task.failed.connect(lambda error: on_error(error) if self.is_latest(key, task) else None)
        task.finished.connect(lambda: self._forget(task))
        task.start()
        return task

    def is_latest(self, key: str, task: TaskThread) -> bool:
        """True if ``task`` is the latest request of ``key`` (its result is wanted)."""
        return self._latest.get(key) is task

    def invalidate(self, key: str | None = None) -> None:
        """Drop the pending result of ``key`` (of every key if None) without starting anything."""
        for k in [key] if key is not None else list(self._latest):
            self._latest[k] = None

    def is_running(self, key: str | None = None) -> bool:
        """True until the latest task of ``key`` (of any key if None) has run and its result was handled."""
        tasks = [self._latest.get(key)] if key is not None else list(self._latest.values())
        return any(task is not None for task in tasks)

    def _forget(self, task: TaskThread) -> None:
        if task in self._all:
            self._all.remove(task)
        for key, latest in self._latest.items():
            if latest is task:
                self._latest[key] = None
        task.deleteLater()

    def shutdown(self) -> None:
        """Wait for every task (they are not interruptible)."""
        for task in list(self._all):
            stop_thread(task)
