"""LatestTasks: worker threads by key, where only the latest task of each key delivers its result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from pose_gui.workers.tasks import TaskThread, stop_thread


class LatestTasks(QObject):
    """Runs functions in :class:`TaskThread` s; a newer task of the same key makes the older one's result stale."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest: dict[str, TaskThread] = {}
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
        """Run ``fn(*args)`` in a thread; ``on_success`` / ``on_error`` are called only if it is still the latest."""
        task = TaskThread(fn, *args, parent=self, report_progress=report_progress)
        self._latest[key] = task
        self._all = [t for t in self._all if t.isRunning()] + [task]
        task.succeeded.connect(lambda result: on_success(result) if self._latest.get(key) is task else None)
        task.failed.connect(lambda error: on_error(error) if self._latest.get(key) is task else None)
        task.start()
        return task

    def is_running(self) -> bool:
        """True while the latest task of any key runs."""
        return any(task.isRunning() for task in self._latest.values())

    def shutdown(self) -> None:
        """Wait for every task (they are not interruptible)."""
        for task in self._all:
            stop_thread(task)
