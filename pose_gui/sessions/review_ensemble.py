"""EnsembleReview: the Review pane's ensemble: which one, which source of keypoints, its uncertainty, its EKS job.

UI-free (a QObject). Owned by :class:`~pose_gui.sessions.review.ReviewSession`, which asks it
where the shown predictions come from (:meth:`EnsembleReview.predictions_path`). An ensemble is
shown as a run: AppState's run is one of its members (so the other panes get a real run), and the
source of the keypoints drawn is the EKS output, the ensemble mean, or one member's predictions.
For the current video it loads, in a thread, the members' spread and the EKS posterior
(:class:`~pose_gui.models.ensembles.EnsembleUncertainty`), and runs "Predict with EKS"
(``pose-predict MEMBER... VIDEO --eks`` in a child process: members that have not predicted the
video do so first, existing predictions are reused) with progress and cancel.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from pose_core.errors import DataError
from pose_gui.models.ensembles import (
    SOURCE_EKS,
    SOURCE_MEAN,
    EnsembleGroup,
    EnsembleUncertainty,
    group_ensembles,
    load_uncertainty,
)
from pose_gui.models.state import AppState
from pose_gui.workers.events_job import EventsJob
from pose_gui.workers.latest import LatestRunner

if TYPE_CHECKING:
    from pose_core.events import Event
    from pose_core.project import Project

PREDICT_MODULE = "pose_core.inference.cli"
SOURCE_TITLES = {SOURCE_EKS: "EKS (smoothed)", SOURCE_MEAN: "Ensemble mean"}


def list_ensembles(project: Project | None) -> list[EnsembleGroup]:
    """The project's ensembles, newest first (worker thread)."""
    if project is None:
        return []
    from pose_core.runs import list_runs

    return group_ensembles(list_runs(project), project.root)


def source_title(group: EnsembleGroup, source: str) -> str:
    """``EKS (smoothed)``, ``Ensemble mean`` or ``Member 2: 15-40-00-seed1``."""
    if source in SOURCE_TITLES:
        return SOURCE_TITLES[source]
    members = [str(m) for m in group.members]
    number = members.index(source) + 1 if source in members else 0
    return f"Member {number}: {Path(source).name}"


class EnsembleReview(QObject):
    """The chosen ensemble, its source, its uncertainty on the video and the EKS job.

    Signals:
        ensembles_listed(list): The project's :class:`EnsembleGroup` s, newest first.
        ensemble_changed(object, str): The ensemble shown (or None) and its source.
        uncertainty_changed(object): :class:`EnsembleUncertainty` of the video, or None.
        job_running_changed(bool): Predict with EKS started (True) or ended.
        job_progressed(int, int, str): Done, total, a text (total 0 = busy without a count).
        job_ended(bool, str): Succeeded, a message for the user.
    """

    ensembles_listed = Signal(list)
    ensemble_changed = Signal(object, str)
    uncertainty_changed = Signal(object)
    job_running_changed = Signal(bool)
    job_progressed = Signal(int, int, str)
    job_ended = Signal(bool, str)

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.groups: list[EnsembleGroup] = []
        self.group: EnsembleGroup | None = None
        self.source = SOURCE_EKS
        self.uncertainty: EnsembleUncertainty | None = None
        self.job: EventsJob | None = None
        self._job_video: Path | None = None
        self._members_started = 0
        self._state_job_id: int | None = None
        self._tasks = LatestRunner(self)

    # ------------------------------------------------------------------ reading

    def is_loading(self) -> bool:
        """True while the ensembles or the uncertainty are read."""
        return self._tasks.is_running()

    def refresh(self) -> None:
        """List the project's ensembles again (in a thread)."""
        self._tasks.run("list", list_ensembles, self.state.project, on_success=self._on_listed,
                        on_error=lambda error: self.state.report_error(error, "Cannot list the ensembles"))  # fmt: skip

    def predictions_path(self, run_dir: Path, video: Path) -> Path | None:
        """The file of the chosen source when ``run_dir`` is a member of the ensemble shown; None otherwise."""
        if self.group is None or Path(run_dir) not in self.group.members:
            return None
        return self.group.source_csv(self.source, video)

    def missing_text(self, video: Path) -> str:
        """What to say when the chosen source has no predictions of ``video``."""
        group = self.group
        if group is None:
            return ""
        if self.source in SOURCE_TITLES:
            n_have = len(group.members_with_predictions(video))
            return (
                f"{group.label} has no {SOURCE_TITLES[self.source].lower()} predictions of {video.name} yet "
                f"({n_have} of {len(group.members)} members have predicted it): click Predict with EKS."
            )
        return f"{source_title(group, self.source)} has not predicted {video.name}: click Predict with EKS."

    def frame_reason(self, frame_idx: int) -> str:
        """``3 models spread 14 px on nose_top`` (the keypoint they spread most on), or "" without a spread."""
        uncertainty, project = self.uncertainty, self.state.project
        if uncertainty is None or project is None or not 0 <= frame_idx < uncertainty.n_frames:
            return ""
        row = uncertainty.spread_px[frame_idx]
        if not np.isfinite(row).any():
            return ""
        k = int(np.nanargmax(row))
        names = list(project.keypoint_names)
        name = names[k] if k < len(names) else f"keypoint {k + 1}"
        return f"{uncertainty.n_members} models spread {row[k]:.0f} px on {name}"

    def group_of(self, run_dir: Path | None) -> EnsembleGroup | None:
        """The listed ensemble ``run_dir`` belongs to."""
        return next((g for g in self.groups if run_dir is not None and Path(run_dir) in g.members), None)

    # ------------------------------------------------------------------ intents

    def choose(self, output_dir: Path | None) -> None:
        """Show the ensemble whose folder is ``output_dir`` (None: show runs one by one)."""
        group = next((g for g in self.groups if output_dir is not None and g.output_dir == Path(output_dir)), None)
        self.group = group
        self.source = SOURCE_EKS
        self.ensemble_changed.emit(group, self.source)
        if group is not None and self.state.run_dir not in group.members:
            self.state.set_run_dir(group.members[0])  # AppState's run is a member; the session reloads
        else:
            self._reload_owner()
        self.load_uncertainty()

    def choose_source(self, source: str) -> None:
        """Draw the keypoints of ``source``: :data:`SOURCE_EKS`, :data:`SOURCE_MEAN` or a member's folder."""
        group = self.group
        if group is None:
            return
        self.source = source
        self.ensemble_changed.emit(group, source)
        member = Path(source) if source not in SOURCE_TITLES else None
        if member is not None and member != self.state.run_dir:
            self.state.set_run_dir(member)
        else:
            self._reload_owner()

    def leave(self) -> None:
        """Show runs one by one again (the caller then chooses the run; the session reloads)."""
        if self.group is not None:
            self.group = None
            self._tasks.invalidate("uncertainty")
            self.uncertainty = None
            self.ensemble_changed.emit(None, self.source)
            self.uncertainty_changed.emit(None)

    def forget(self) -> None:
        """Another project: no ensemble of the previous one stays."""
        self._tasks.invalidate()
        self.groups, self.group, self.uncertainty = [], None, None
        self.ensemble_changed.emit(None, self.source)
        self.uncertainty_changed.emit(None)

    def follow_run(self, run_dir: Path | None) -> None:
        """AppState's run changed: leave the ensemble if it is not a member; a member becomes the source."""
        group = self.group
        if group is None:
            return
        if run_dir is None or Path(run_dir) not in group.members:
            self.group = None
            self.ensemble_changed.emit(None, self.source)
            self.uncertainty_changed.emit(None)
        elif self.source not in SOURCE_TITLES and self.source != str(run_dir):
            self.source = str(run_dir)
            self.ensemble_changed.emit(group, self.source)

    def load_uncertainty(self) -> None:
        """Read the members' spread and the EKS posterior of the current video (in a thread)."""
        self.uncertainty = None
        self.uncertainty_changed.emit(None)
        self._tasks.invalidate("uncertainty")
        group, video, project = self.group, self.state.video_path, self.state.project
        if group is None or video is None:
            return
        names = list(project.keypoint_names) if project is not None else None
        self._tasks.run("uncertainty", load_uncertainty, group, video, names, on_success=self._on_uncertainty_loaded,
                        on_error=lambda error: self.job_ended.emit(False, f"No ensemble spread: {error}"))  # fmt: skip

    def eks_exists(self) -> Path | None:
        """The EKS file Predict with EKS would replace, if there is one."""
        video = self.state.video_path
        if self.group is None or video is None:
            return None
        path = self.group.eks_csv(video)
        return path if path.is_file() else None

    def start_eks(self) -> EventsJob | None:
        """Run ``pose-predict MEMBER... VIDEO --eks`` in a child process (None if refused: the reason is reported)."""
        group, video = self.group, self.state.video_path
        if group is None or video is None:
            self.state.report_error(DataError("Choose a video and an ensemble first."), "Cannot predict with EKS")
            return None
        if self.job is not None and self.job.is_running():
            return None
        job = EventsJob(PREDICT_MODULE, [*map(str, group.members), str(video), "--eks"], parent=self)
        job.event_received.connect(self._on_job_event_received)
        job.ended.connect(self._on_job_ended)
        self.job, self._job_video, self._members_started = job, Path(video), 0
        self._state_job_id = self.state.add_job(f"Predicting {video.name} with {group.label} and EKS")
        job.start()
        self.job_running_changed.emit(True)
        self.job_progressed.emit(0, 0, f"Starting {len(group.members)} members…")
        return job

    def cancel(self) -> None:
        """Stop Predict with EKS (the member predicting finishes its batch; nothing half-written stays)."""
        if self.job is not None:
            self.job.cancel()

    def shutdown(self) -> None:
        """Stop the threads and the child process."""
        self._tasks.shutdown()
        if self.job is not None:
            self.job.shutdown()

    def is_job_running(self) -> bool:
        """True while Predict with EKS runs."""
        return self.job is not None and self.job.is_running()

    # ------------------------------------------------------------------ results

    def _reload_owner(self) -> None:
        reload = getattr(self.parent(), "reload", None)
        if callable(reload):
            reload()

    def _on_listed(self, groups: list[EnsembleGroup]) -> None:
        self.groups = list(groups)
        if self.group is not None:
            self.group = next((g for g in self.groups if g.output_dir == self.group.output_dir), None)
            if self.group is None:
                self.ensemble_changed.emit(None, self.source)
        self.ensembles_listed.emit(self.groups)

    def _on_uncertainty_loaded(self, uncertainty: EnsembleUncertainty | None) -> None:
        self.uncertainty = uncertainty
        self.uncertainty_changed.emit(uncertainty)

    def _on_job_event_received(self, event: Event) -> None:
        data = event.data
        n_members = len(self.group.members) if self.group is not None else 0
        if event.kind == "started" and data.get("job") == "predict":
            self._members_started += 1
            self.job_progressed.emit(0, 0, f"Member {self._members_started}/{n_members}: loading the model…")
        elif event.kind == "progress" and data.get("job") == "predict":
            done, total = int(data.get("frames_done", 0)), int(data.get("n_frames", 0))
            text = f"Member {self._members_started}/{n_members}: predicting {done}/{total} frames"
            self.job_progressed.emit(done, max(total, 1), text)
        elif event.kind == "phase" and data.get("stage") == "eks":
            self.job_progressed.emit(0, 0, str(data.get("message", "Smoothing…")))

    def _on_job_ended(self, ok: bool, error: str) -> None:
        if self._state_job_id is not None:
            self.state.remove_job(self._state_job_id)
            self._state_job_id = None
        video = self._job_video.name if self._job_video is not None else "the video"
        self.job_running_changed.emit(False)
        if ok:
            message = f"Predicted {video} with the ensemble and smoothed it (EKS)."
        elif error == "cancelled":
            message = f"Predict with EKS of {video} cancelled; the members' finished predictions are kept."
        else:
            message = f"Predict with EKS of {video} failed: {error}"
        self.state.runs_changed.emit()  # first: the reload it may cause must not hide the message below
        if ok:
            self._reload_owner()
            self.load_uncertainty()
        self.job_ended.emit(ok, message)
        self.state.post_message(message, 8000)
