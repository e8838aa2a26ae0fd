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


def _generations_collected(qtbot: QtBot, session_collector: MainThreadCollector, full_interval_s: float) -> list[int]:
    """The generations the collector collects in 0.2 s, with a full collection due from the start.

    The session's own collector (tests/gui/conftest.py) waits meanwhile: its full collection, due
    once a minute, would otherwise count as this collector's.
    """
    generations: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    for _ in range(gc.get_threshold()[2] + 2):  # each collection of generation 1 counts towards the oldest
        gc.collect(1)
    kept: list[list[int]] = []
    collector = MainThreadCollector(interval_ms=5, full_interval_s=full_interval_s)
    collector._last_full_s -= 1.0  # as if the window had been open for a second
    session_collector._timer.stop()
    gc.callbacks.append(record)
    try:
        for _ in range(20):
            kept.extend([i] for i in range(2000))
            qtbot.wait(10)
    finally:
        gc.callbacks.remove(record)
        collector.stop()
        session_collector._timer.start()
    return generations


def test_full_collections_are_rationed(qtbot: QtBot, collect_garbage_in_the_gui_thread: MainThreadCollector) -> None:
    """A full collection costs ~200 ms once torch is loaded: at most one per full_interval_s."""
    session = collect_garbage_in_the_gui_thread
    assert 2 in _generations_collected(qtbot, session, full_interval_s=0.5)  # due and allowed: it runs
    rationed = _generations_collected(qtbot, session, full_interval_s=3600.0)
    assert rationed and 2 not in rationed  # due but too soon: only the young generations
