"""TaskThread: run one slow function (file copies, probing, run listing) off the GUI thread.

The function's result or exception comes back as a signal in the GUI thread. Every thread is
stopped with :func:`stop_thread` before its owner goes away (a running QThread must never be
destroyed, and tests fail when one is left running).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal


class TaskThread(QThread):
    """Runs ``fn(*args, **kwargs)`` once in a thread.

    With ``report_progress=True`` the function also gets a ``progress(done, total, message)``
    keyword argument whose calls arrive as :attr:`progressed`.

    Signals:
        succeeded(object): The function's return value.
        failed(object): The exception it raised.
        progressed(int, int, str): ``done``, ``total``, ``message``.
    """

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int, str)

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        parent: QObject | None = None,
        report_progress: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(parent)
        self._fn, self._args, self._kwargs = fn, args, kwargs
        if report_progress:
            self._kwargs["progress"] = self._emit_progress

    def _emit_progress(self, done: int, total: int, message: str) -> None:
        self.progressed.emit(done, total, message)

    def run(self) -> None:
        """Call the function; report its result or error."""
        try:
            result = self._fn(*self._args, **self._kwargs)
        except Exception as error:  # noqa: BLE001 - every error goes back to the GUI as a signal
            self.failed.emit(error)
        else:
            self.succeeded.emit(result)


def stop_thread(thread: QThread | None) -> None:
    """Ask ``thread`` to stop (``requestInterruption``) and wait until it has.

    Loaders check for interruption between items, so this returns quickly for them; a
    :class:`TaskThread` runs its function to the end (never terminated: killing a thread that
    runs Python code can leave the interpreter locked).

    Args:
        thread: The thread (None is ignored).
    """
    if thread is None or not thread.isRunning():
        return
    thread.requestInterruption()
    thread.wait()
