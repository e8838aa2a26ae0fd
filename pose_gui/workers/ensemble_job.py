"""EnsembleTrainingJob: one ``pose-train training.ensemble_seeds=[...]`` child, its members followed one after another.

The child trains one normal run per seed in ``<run_dir>-seed<S>`` folders, one after another
(:mod:`pose_core.training.ensemble`). This job is a :class:`~pose_gui.workers.training.TrainingJob`
whose followed folder moves on: when a member's ``finished`` event arrives and members remain, it
follows the next member's folder (its events, its ``train.log``) and says so with
:attr:`member_started`. Stop writes the STOP file of the member training now (the core then trains
no further member); a Stop asked for between two members (after one finished, before the next wrote
anything) ends the child at once, since nothing of the next member needs saving. Kill ends the whole
process tree, as for one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from pose_core.events import Event
from pose_core.runs.layout import LOG_FILENAME, STOP_FILENAME
from pose_core.runs.status import RunStatus
from pose_gui.workers.run_follower import RunFollower
from pose_gui.workers.training import STOP_GRACE_S, TrainingJob

FOLLOWED_SIGNALS = ("event_received", "phase_changed", "progress", "epoch_ended")


class EnsembleTrainingJob(TrainingJob):
    """The training child of an ensemble; :attr:`run_dir` is the member being trained.

    Signals:
        member_started(int, object): The child moved on to member ``index`` (0-based), whose folder is given.

    Attributes:
        member_dirs: The members' run folders, in training order.
        seeds: Their seeds.
        member_index: The member followed now (0-based).
    """

    member_started = Signal(int, object)

    def __init__(
        self,
        member_dirs: Sequence[Path],
        seeds: Sequence[int],
        command: Sequence[str],
        *,
        stop_grace_s: float = STOP_GRACE_S,
        parent: QObject | None = None,
    ) -> None:
        """Prepare (not start) the job.

        Args:
            member_dirs: The members' run folders (``<run_dir>-seed<S>``), in the order the child trains them.
            seeds: Their seeds, same order.
            command: The CLI with ``training.ensemble_seeds=[...]``.
            stop_grace_s: After Stop, kill the child if it writes no event for this long.
            parent: Owner.
        """
        super().__init__(member_dirs[0], command, stop_grace_s=stop_grace_s, parent=parent)
        self.member_dirs = [Path(d) for d in member_dirs]
        self.seeds = [int(s) for s in seeds]
        self.member_index = 0
        self._skipped_before = 0

    @property
    def n_members(self) -> int:
        """How many members the ensemble has."""
        return len(self.member_dirs)

    @property
    def n_skipped_lines(self) -> int:
        """Garbled ``events.jsonl`` lines skipped so far, over all members."""
        return self._skipped_before + self.follower.n_skipped_lines

    def member_text(self) -> str:
        """``member 2 of 3 (seed 1)``."""
        return f"member {self.member_index + 1} of {self.n_members} (seed {self.seeds[self.member_index]})"

    def _on_follower_event_received(self, event: Event) -> None:
        super()._on_follower_event_received(event)
        if self.stop_requested and event.kind == "started":
            self._write_stop_file()  # the child removes an old stop file before a member's first event
        if event.kind == RunStatus.FINISHED and self.member_index + 1 < self.n_members and self.is_running():
            self._follow_next_member()

    def _write_stop_file(self) -> None:
        try:
            (self.run_dir / STOP_FILENAME).write_text("stop requested by PoseDesk\n", encoding="utf-8")
        except OSError:
            self.process.kill_tree()

    def _follow_next_member(self) -> None:
        old = self.follower
        old.stop()
        self._skipped_before += old.n_skipped_lines
        self.member_index += 1
        self.run_dir = self.member_dirs[self.member_index]
        self.follower = RunFollower(self.run_dir, parent=self)
        for name in FOLLOWED_SIGNALS:
            getattr(self.follower, name).connect(getattr(self, name))
        self.follower.event_received.connect(self._on_follower_event_received)
        self.follower.vanished.connect(self._on_follower_vanished)
        self.process.set_log_path(self.run_dir / LOG_FILENAME)
        self.follower.start()
        old.deleteLater()
        self.member_started.emit(self.member_index, self.run_dir)
        if self.stop_requested:  # asked while the previous member evaluated: the next one has nothing to save
            self._stop_without_checkpoint = True
            self.process.kill_tree()
