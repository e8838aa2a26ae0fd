"""Garbage with Qt objects is collected in the GUI thread, never by a worker thread's allocation."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from pose_gui.gc_guard import MainThreadCollector


class _Cycle(QObject):
    """A QObject in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        super().__init__()
        self.me = self
        self.freed_in: list[str] = []


def test_cycles_are_collected_by_the_gui_thread_timer(qtbot: QtBot) -> None:
    assert not gc.isenabled()  # the session's collector (as in the app) has turned it off
    collected_in: list[str] = []
    cycle = _Cycle()
    ref = weakref.ref(cycle)
    weakref.finalize(cycle, lambda: collected_in.append(threading.current_thread().name))
    del cycle

    kept: list[list[int]] = []

    def allocate_in_a_worker() -> None:  # far more live container objects than gc's first threshold
        kept.extend([i] for i in range(50_000))

    worker = threading.Thread(target=allocate_in_a_worker, name="worker")
    worker.start()
    worker.join()
    assert ref() is not None  # the worker's allocations did not collect it

    collector = MainThreadCollector(interval_ms=10)
    qtbot.waitUntil(lambda: ref() is None, timeout=5000)
    collector.stop()
    assert not gc.isenabled()  # stop() gives collection back only to whoever had it on
    assert collected_in == [threading.main_thread().name]
