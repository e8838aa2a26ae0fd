"""Python's cyclic garbage collection, run only in the GUI thread.

Automatic collection runs in whichever thread happens to allocate. When that is a worker thread
(a project opening, a frame loader) and the garbage holds Qt wrappers, their C++ destructors run
there and can deadlock with the GUI thread: the worker waits for the GIL inside ``~QObject`` while
the GUI thread, holding the GIL, waits for a Qt lock the worker took (seen in the test suite as a
hang in ``QObject::~QObject``). :class:`MainThreadCollector` turns automatic collection off and
collects on a GUI-thread timer instead, generation by generation as the interpreter would, but
the oldest generation (a full collection: ~200 ms once torch is loaded) at most once a minute:
the interpreter's own rule holds it back with a heuristic this module cannot read.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

COLLECT_INTERVAL_MS = 1000
FULL_COLLECT_INTERVAL_S = 60.0


class MainThreadCollector(QObject):
    """Disables automatic garbage collection and collects on a timer of the thread that creates it.

    Args:
        parent: Usually the QApplication (the collector lives as long as it).
        interval_ms: How often the generation counts are checked.
        full_interval_s: Shortest time between two full collections.
    """

    def __init__(
        self,
        parent: QObject | None = None,
        interval_ms: int = COLLECT_INTERVAL_MS,
        full_interval_s: float = FULL_COLLECT_INTERVAL_S,
    ) -> None:
        super().__init__(parent)
        self._full_interval_s = full_interval_s
        self._last_full_s = time.monotonic()
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start(interval_ms)

    def _on_timer_timeout(self) -> None:
        counts = gc.get_count()
        full_allowed = time.monotonic() - self._last_full_s >= self._full_interval_s
        for generation in (2, 1, 0) if full_allowed else (1, 0):  # the oldest due also collects the younger
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                if generation == 2:
                    self._last_full_s = time.monotonic()
                return

    def stop(self) -> None:
        """Stops the timer and gives collection back to the interpreter (if it had it)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
