"""TrainingSession: the one owner of "which run is being trained or followed, and how is it going".

UI-free (a QObject, no widgets). The Training pane and its cluster controls observe it and forward
the user's intents to it; they hold no job state. It owns:

- the followed run (a :class:`~pose_gui.workers.followed_run.FollowedRun`: our own
  :class:`~pose_gui.workers.training.TrainingJob` or an :class:`~pose_gui.workers.attach.AttachedRun`),
  its live :class:`LossHistory` and its failure;
- the check that runs in a thread before a job starts (config validation, the resume checkpoint,
  reading an attached folder), during which the session is "preparing";
- the job's entry in AppState's job list, and AppState's ``runs_changed`` when a run starts, is
  asked to stop and ends (so every list of runs, the Project pane's included, follows its status).

An ensemble (:meth:`train` with ``ensemble_size`` > 1, or :meth:`retrain` from an ensemble) is one
child (``training.ensemble_seeds=[...]``) followed by an
:class:`~pose_gui.workers.ensemble_job.EnsembleTrainingJob`: the followed run is the member training
now; each new member gets a fresh history and :attr:`member_started`. :meth:`retrain` starts a new
run (or ensemble) with ``training.init_from`` on the project's current labels, after checking in a
thread that the parents are finished runs whose keypoints and backbone fit (:mod:`pose_gui.sessions.retrain`).

Intents: :meth:`train`, :meth:`retrain`, :meth:`resume`, :meth:`attach`, :meth:`stop`, :meth:`kill`, :meth:`detach`.
A refused intent emits :attr:`refused` with the reason; a failed check goes to AppState's error dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from pose_core.errors import DataError, PoseDeskError
from pose_core.runs.layout import CONFIG_FILENAME, RunLayout
from pose_core.runs.status import RunStatus
from pose_gui.models.loss_history import LossHistory
from pose_gui.models.state import AppState
from pose_gui.sessions.retrain import LaunchPlan, check_retrain, plan_new_run
from pose_gui.workers.attach import STALE_TIMEOUT_S, AttachedRun, AttachPreparation, prepare_attach
from pose_gui.workers.ensemble_job import EnsembleTrainingJob
from pose_gui.workers.followed_run import FollowedRun
from pose_gui.workers.latest import LatestRunner
from pose_gui.workers.training import (
    STOP_GRACE_S,
    TrainingFailure,
    TrainingJob,
    new_run_dir,
    resume_command,
    train_command,
)

CommandFactory = Callable[[Path, Path], list[str]]


def run_name(run_dir: Path) -> str:
    """``YYYY-MM-DD/HH-MM-SS`` of a run folder."""
    return f"{run_dir.parent.name}/{run_dir.name}"


class TrainingSession(QObject):
    """Train, resume, attach to, stop and kill one followed run at a time (see the module docstring).

    Signals:
        preparing(str): A check before a job started (the message says which).
        prepare_failed(): That check failed (its error went to the error dialog).
        followed(object): A run is now followed (the :class:`FollowedRun`); its history is :attr:`history`.
        event_received(object): Every event of the followed run, after :attr:`history` took it.
        phase_changed(str, str): Start-up / end phase and its message.
        progressed(): The followed run's progress moved (read :attr:`history`'s ``progress``).
        log_received(str): Output text of the followed run.
        failed(object): The followed run failed (:class:`TrainingFailure`).
        stale_changed(bool, str): An attached run went silent (True, the message) or moves again.
        member_started(int, int): An ensemble moved on to member ``index`` (0-based) of ``n``; :attr:`history` is its own.
        ended(str): The followed run ended (``finished``, ``stopped``, ``killed``, ``failed``,
            ``vanished``, ``detached``).
        refused(str): An intent was refused; the text says why.
        changed(): Anything the buttons depend on changed (busy, stop requested, a run followed or ended).

    Attributes:
        command_factory: ``(project_root, run_dir) -> argv`` of a new run (tests inject a child that fails).
        stop_grace_s: After Stop, a child silent for this long is killed.
        stale_timeout_s: Silence after which an attached run is reported stale.
        job: The followed run, if any (running or ended).
        history: Its live curves.
        failure: Why the last followed run failed.
    """

    preparing = Signal(str)
    prepare_failed = Signal()
    followed = Signal(object)
    event_received = Signal(object)
    phase_changed = Signal(str, str)
    progressed = Signal()
    log_received = Signal(str)
    failed = Signal(object)
    stale_changed = Signal(bool, str)
    member_started = Signal(int, int)
    ended = Signal(str)
    refused = Signal(str)
    changed = Signal()

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.command_factory: CommandFactory = train_command
        self.stop_grace_s = STOP_GRACE_S
        self.stale_timeout_s = STALE_TIMEOUT_S
        self.job: FollowedRun | None = None
        self.history: LossHistory | None = None
        self.failure: TrainingFailure | None = None
        self.log_text = ""
        self._job_id: int | None = None
        self._tasks = LatestRunner(self)

    # ------------------------------------------------------------------ reading

    def is_running(self) -> bool:
        """True while a run is followed (trained here or attached) and has not ended."""
        return self.job is not None and self.job.is_running()

    def is_preparing(self) -> bool:
        """True while the check before a job runs."""
        return self._tasks.is_running("prepare")

    def is_busy(self) -> bool:
        """True while a run is followed or being prepared (Train, Resume and Attach then wait)."""
        return self.is_running() or self.is_preparing()

    def is_attached(self) -> bool:
        """True while following a run another process or machine writes."""
        return self.job is not None and self.job.is_running() and self.job.is_attached

    def can_stop(self) -> bool:
        """Stop is possible now (a run is followed and has not been asked to stop)."""
        return self.job is not None and self.job.is_running() and not self.job.stop_requested

    def can_kill(self) -> bool:
        """Kill is possible now (our own child runs)."""
        return self.job is not None and self.job.is_running() and self.job.can_kill

    def follows(self, run_dir: Path | None) -> bool:
        """True if ``run_dir`` is the followed run (running or ended) and its live history is here."""
        return run_dir is not None and self.job is not None and self.job.run_dir == Path(run_dir)

    def live_status(self, run_dir: Path) -> str | None:
        """The status of ``run_dir`` if it is followed now (``running``, ``waiting``, ``stale``), else None."""
        job = self.job
        if job is None or not job.is_running() or job.run_dir != Path(run_dir):
            return None
        if job.is_stale:
            return "stale"
        if job.is_attached and not job.n_events:
            return "waiting"  # a queued job (or one starting) has written nothing yet
        return RunStatus.RUNNING

    def epochs_completed(self, run_dir: Path, listed: LossHistory | None) -> int:
        """Epochs ``run_dir`` has completed: the live history if followed (fresher than a listing), else ``listed``."""
        if self.follows(run_dir) and self.history is not None:
            return self.history.epochs_completed
        return (listed if listed is not None else LossHistory.from_run(run_dir)).epochs_completed

    def busy_reason(self, what: str) -> str:
        """Why ``what`` ("starting another one") must wait."""
        if self.is_attached() and self.job is not None:
            return f"PoseDesk is attached to {run_name(self.job.run_dir)}; detach before {what}."
        return f"A training run is already going; stop it before {what}."

    # ------------------------------------------------------------------ intents

    def train(self, ensemble_size: int = 1) -> bool:
        """Train a new run of the open project from its saved config (checked in a thread first).

        Args:
            ensemble_size: 1 = one run; N > 1 = an ensemble of N runs (seeds from ``training.rng_seed_model_pt``
                on), trained one after another by one child.

        Returns:
            False if refused at once (no project, or busy).
        """
        if self.is_busy():
            self.refused.emit(self.busy_reason("starting another one"))
            return False
        project = self.state.project
        if project is None:
            self.state.report_error(DataError("No project is open; open a project, then press Train."), "Cannot train")
            return False
        root = project.root
        self._prepare(
            plan_new_run, (root / CONFIG_FILENAME, ensemble_size), lambda plan: self._start_new_run(root, plan),
            "Cannot start training", "Checking config.yaml…",
        )  # fmt: skip
        return True

    def retrain(self, parents: list[Path], ensemble_size: int = 1) -> bool:
        """Train a new run from ``parents``' weights on the project's current labels (``training.init_from``).

        Args:
            parents: One finished run, or the members of a finished ensemble (a new ensemble with their
                seeds, each member from its own parent's weights).
            ensemble_size: For a one-run parent: 1 = one child, N > 1 = an ensemble of N all starting from it.

        Returns:
            False if refused at once (no project, busy, no parent); else the parents are checked in a
            thread (a parent still training, or whose keypoints or backbone differ, is reported).
        """
        if self.is_busy():
            self.refused.emit(self.busy_reason("retraining"))
            return False
        project = self.state.project
        if project is None:
            self.state.report_error(DataError("No project is open; open a project first."), "Cannot retrain")
            return False
        if not parents:
            self.state.report_error(
                DataError("There is no finished run to retrain from; train one first (Train), then retrain."),
                "Cannot retrain",
            )
            return False
        root = project.root
        args = (root / CONFIG_FILENAME, [Path(p) for p in parents], list(project.labels.keypoint_names), ensemble_size)
        self._prepare(
            check_retrain, args, lambda plan: self._start_new_run(root, plan), "Cannot retrain",
            "Checking the run to start from…",
        )  # fmt: skip
        return True

    def resume(self, run_dir: Path, max_epochs: int) -> bool:
        """Continue ``run_dir`` (same folder, its curves continue) until ``max_epochs`` epochs in all.

        Returns:
            False if refused at once (busy, or nothing left to train).
        """
        if self.is_busy():
            self.refused.emit(self.busy_reason("resuming another one"))
            return False
        run_dir = Path(run_dir)
        command = resume_command(run_dir, max_epochs)
        self._prepare(
            check_resumable, run_dir, lambda _ckpt: self._launch(run_dir, command), "Cannot resume",
            "Checking the run's checkpoint…",
        )  # fmt: skip
        return True

    def attach(self, run_dir: Path) -> bool:
        """Follow ``run_dir`` read-only (its files are read in a thread first).

        Returns:
            False if refused at once (busy).
        """
        if self.is_busy():
            self.refused.emit(self.busy_reason("attaching to another run"))
            return False
        self._prepare(
            prepare_attach, Path(run_dir), self._on_attach_prepared, "Cannot attach to the run",
            "Reading the run folder…",
        )  # fmt: skip
        return True

    def stop(self) -> None:
        """Ask the followed run to stop after its current step (a checkpoint is saved); errors go to the dialog."""
        if not self.can_stop() or self.job is None:
            return
        try:
            self.job.request_stop()
        except PoseDeskError as error:
            self.state.report_error(error, "Cannot stop the run")
        self.state.runs_changed.emit()
        self.changed.emit()

    def kill(self) -> bool:
        """End our own training child's process tree now.

        Returns:
            True if there was one to kill.
        """
        if not self.can_kill() or self.job is None:
            return False
        self.job.kill()
        return True

    def detach(self) -> None:
        """Stop following an attached run (it goes on)."""
        if self.is_attached() and self.job is not None:
            self.job.detach()

    def shutdown(self) -> None:
        """End our child (an attached run is only no longer followed) and the worker threads."""
        if self.job is not None:
            self.job.shutdown()
        self._tasks.shutdown()

    # ------------------------------------------------------------------ starting

    def _prepare(
        self, fn: Callable[[Any], Any], arg: Any, on_success: Callable[[Any], None], error_title: str, message: str
    ) -> None:
        def on_error(error: BaseException) -> None:
            self._tasks.invalidate("prepare")
            self.state.report_error(error, error_title)
            self.prepare_failed.emit()
            self.changed.emit()

        def succeed(result: Any) -> None:
            self._tasks.invalidate("prepare")  # not preparing any more, whatever on_success does
            on_success(result)
            self.changed.emit()

        self._tasks.run("prepare", fn, arg, on_success=succeed, on_error=on_error)
        self.preparing.emit(message)
        self.changed.emit()

    def _start_new_run(self, project_root: Path, plan: LaunchPlan) -> None:
        run_dir = new_run_dir(project_root)
        command = self.command_factory(project_root, run_dir) + plan.overrides
        members = plan.member_dirs(run_dir)
        if not members:
            self._launch(run_dir, command)
            return
        if self.state.project is None:  # closed while the config was checked
            return
        assert plan.seeds is not None
        job = EnsembleTrainingJob(members, plan.seeds, command, stop_grace_s=self.stop_grace_s, parent=self)
        job.member_started.connect(self._on_job_member_started)
        self._start_job(job, LossHistory(), f"Training an ensemble of {len(members)} ({run_name(run_dir)})")

    def _launch(self, run_dir: Path, command: list[str]) -> None:
        if self.state.project is None:  # closed while the config was checked
            return
        job = TrainingJob(run_dir, command, stop_grace_s=self.stop_grace_s, parent=self)
        history = LossHistory.from_run(run_dir) if RunLayout(run_dir).events.is_file() else LossHistory()
        self._start_job(job, history, f"Training run {run_name(run_dir)}")

    def _start_job(self, job: TrainingJob, history: LossHistory, description: str) -> None:
        self._follow(job, history, "")
        self._job_id = self.state.add_job(description)
        job.start()
        self.state.set_run_dir(job.run_dir)
        self.state.post_message(f"{description} started in {job.run_dir.parent}", 5000)

    def member_text(self) -> str:
        """``member 2 of 3 (seed 1)`` while an ensemble is followed, else ""."""
        job = self.job
        return job.member_text() if isinstance(job, EnsembleTrainingJob) else ""

    def _on_job_member_started(self, index: int, _run_dir: Path) -> None:
        self.history = LossHistory()  # each member has its own curves; it becomes the current run once it exists
        job = self.job
        n_members = job.n_members if isinstance(job, EnsembleTrainingJob) else 1
        self.member_started.emit(index, n_members)
        self.state.runs_changed.emit()
        self.changed.emit()

    def _on_attach_prepared(self, prep: AttachPreparation) -> None:
        run = AttachedRun(prep, stale_timeout_s=self.stale_timeout_s, parent=self)
        self._follow(run, prep.history, prep.log_text)
        run.start()
        self.state.set_run_dir(run.run_dir)
        self.state.post_message(f"Attached to {run.run_dir}", 5000)

    def _follow(self, job: FollowedRun, history: LossHistory, log_text: str) -> None:
        self.job, self.history, self.failure, self.log_text = job, history, None, log_text
        job.event_received.connect(self._on_job_event_received)
        job.phase_changed.connect(self.phase_changed)
        job.progress.connect(lambda _data: self.progressed.emit())
        job.log_received.connect(self.log_received)
        job.failed.connect(self._on_job_failed)
        job.stale_changed.connect(self._on_job_stale_changed)
        job.ended.connect(self._on_job_ended)
        self.followed.emit(job)
        self.changed.emit()

    # ------------------------------------------------------------------ following

    def _on_job_event_received(self, event: Any) -> None:
        if self.history is not None:
            self.history.add_event(event)
        self.event_received.emit(event)
        if event.kind == "started":  # the run folder exists now: every run list shows it
            job = self.job
            if isinstance(job, EnsembleTrainingJob) and job.member_index > 0 and self.state.run_dir != job.run_dir:
                self.state.set_run_dir(job.run_dir)  # an ensemble's next member is the current run now
            self.state.runs_changed.emit()

    def _on_job_failed(self, failure: TrainingFailure) -> None:
        self.failure = failure
        self.failed.emit(failure)

    def _on_job_stale_changed(self, stale: bool, message: str) -> None:
        self.stale_changed.emit(stale, message)
        self.state.runs_changed.emit()

    def _on_job_ended(self, status: str) -> None:
        if self._job_id is not None:
            self.state.remove_job(self._job_id)
            self._job_id = None
        name = run_name(self.job.run_dir) if self.job is not None else ""
        member = self.member_text()
        self.state.post_message(f"Training run {name} {status}" + (f" ({member})" if member else ""), 8000)
        self.ended.emit(status)
        self.changed.emit()
        self.state.runs_changed.emit()


def check_resumable(run_dir: Path) -> Path:
    """The run's last checkpoint (worker thread); raises DataError if the run cannot be resumed."""
    from pose_core.runs.layout import find_last_checkpoint

    if not run_dir.is_dir():
        raise DataError(
            f"The run folder {run_dir} no longer exists; pick another run in the history.", path=str(run_dir)
        )
    checkpoint = find_last_checkpoint(run_dir)
    if checkpoint is None:
        raise DataError(
            f"{run_dir} has no checkpoint to resume from (it never finished an epoch); start a new run instead.",
            path=str(run_dir),
        )
    return checkpoint
