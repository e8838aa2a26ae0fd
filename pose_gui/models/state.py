"""AppState: the one place the window's state lives (open project, run, video, frame, threshold, jobs).

Panes receive the AppState when they are built and own no state of their own: they read it in
their constructor, follow its ``*_changed`` signals, and ask for things through its ``*_requested``
intents (the main window routes them: "open this run in the training pane", "open this video in
the review pane", "open a project"). A pane built late (panes are built when first shown) must
therefore initialise itself from the current values, not wait for a signal.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:  # pose_core.project imports pandas: keep it out of the startup path
    from pose_core.errors import PoseDeskError
    from pose_core.project import Project

DEFAULT_LIKELIHOOD_THRESHOLD = 0.9  # Lightning Pose's eval.confidence_thresh_for_vid default


class AppState(QObject):
    """Observable application state shared by the main window and all panes.

    Signals (events, past tense):
        project_changed(object): The open :class:`Project` (or None) was replaced.
        run_changed(object): The current run directory (``Path`` or None) changed.
        video_changed(object): The current video (``Path`` or None) changed.
        frame_changed(int): The current frame index changed.
        threshold_changed(float): The likelihood threshold changed.
        busy_changed(int): The number of running jobs changed.
        runs_changed(): Run directories on disk changed (a job started or ended); lists re-read them.
        recent_projects_changed(list): The recent-projects list changed.
        error_reported(object, str): A pane reports an error (exception, title) for the error dialog.
        problems_reported(str, list): Non-fatal problems (title, list of PoseDeskError) for one warning dialog.
        message_posted(str, int): A status-bar message (text, timeout in ms; 0 = until replaced).
        config_edits_changed(bool): The Config pane's edits became unsaved (True) or saved / reverted (False).

    Signals (intents, ``*_requested``; the main window acts on them):
        project_open_requested(object): Open this project folder (``Path``), or ask for one (None).
        project_create_requested(): Start the new-project wizard.
        example_open_requested(): Open the example project (generating it if needed).
        run_open_requested(object): Show this run directory in the training pane.
        video_open_requested(object): Show this video in the review pane.
        config_save_requested(): Save the Config pane's edits now (without asking: the user was asked).
        label_frames_requested(object, list, str): Queue these frames (video ``Path``, frame indices,
            reason) in the label pane.
        compare_open_requested(object, object): Show a run (``Path``) in the review pane with another run
            (its parent, ``Path``) overlaid as the comparison.
    """

    project_changed = Signal(object)
    run_changed = Signal(object)
    video_changed = Signal(object)
    frame_changed = Signal(int)
    threshold_changed = Signal(float)
    busy_changed = Signal(int)
    runs_changed = Signal()
    recent_projects_changed = Signal(list)
    error_reported = Signal(object, str)
    problems_reported = Signal(str, list)
    message_posted = Signal(str, int)
    config_edits_changed = Signal(bool)

    project_open_requested = Signal(object)
    project_create_requested = Signal()
    example_open_requested = Signal()
    run_open_requested = Signal(object)
    video_open_requested = Signal(object)
    config_save_requested = Signal()
    label_frames_requested = Signal(object, list, str)
    compare_open_requested = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._project: Project | None = None
        self._run_dir: Path | None = None
        self._video_path: Path | None = None
        self._frame_idx = 0
        self._likelihood_threshold = DEFAULT_LIKELIHOOD_THRESHOLD
        self._jobs: dict[int, str] = {}
        self._job_ids = itertools.count(1)
        self._recent_projects: list[Path] = []
        self._config_has_unsaved_edits = False

    # ------------------------------------------------------------------ read access

    @property
    def project(self) -> Project | None:
        """The open project, or None."""
        return self._project

    @property
    def run_dir(self) -> Path | None:
        """The current run directory, or None."""
        return self._run_dir

    @property
    def video_path(self) -> Path | None:
        """The current video, or None."""
        return self._video_path

    @property
    def frame_idx(self) -> int:
        """The current frame index (0-based) in the current video."""
        return self._frame_idx

    @property
    def likelihood_threshold(self) -> float:
        """Keypoints with a likelihood below this are hidden (0..1)."""
        return self._likelihood_threshold

    @property
    def busy_jobs(self) -> list[str]:
        """Descriptions of the jobs running now (training, prediction, ...)."""
        return list(self._jobs.values())

    @property
    def is_busy(self) -> bool:
        """True while at least one job runs (quitting then asks for confirmation)."""
        return bool(self._jobs)

    @property
    def config_has_unsaved_edits(self) -> bool:
        """True while the Config pane holds edits of the project's config that are not saved."""
        return self._config_has_unsaved_edits

    @property
    def recent_projects(self) -> list[Path]:
        """Recently opened project folders, most recent first."""
        return list(self._recent_projects)

    # ------------------------------------------------------------------ changes

    def set_project(self, project: Project | None) -> None:
        """Replace the open project; a different project folder also clears run, video and frame."""
        previous = self._project
        self._project = project
        if previous is None or project is None or previous.root != project.root:
            self.set_run_dir(None)
            self.set_video(None)
        self.project_changed.emit(project)

    def set_run_dir(self, run_dir: Path | None) -> None:
        """Make ``run_dir`` the current run (None = no run)."""
        run_dir = Path(run_dir) if run_dir is not None else None
        if run_dir != self._run_dir:
            self._run_dir = run_dir
            self.run_changed.emit(run_dir)

    def set_video(self, video_path: Path | None) -> None:
        """Make ``video_path`` the current video (None = no video); the frame index goes back to 0."""
        video_path = Path(video_path) if video_path is not None else None
        if video_path != self._video_path:
            self._video_path = video_path
            self.video_changed.emit(video_path)
            self.set_frame_idx(0)

    def set_frame_idx(self, frame_idx: int) -> None:
        """Move to frame ``frame_idx`` (negative values become 0)."""
        frame_idx = max(0, int(frame_idx))
        if frame_idx != self._frame_idx:
            self._frame_idx = frame_idx
            self.frame_changed.emit(frame_idx)

    def set_likelihood_threshold(self, threshold: float) -> None:
        """Set the likelihood threshold, clipped to 0..1 (NaN is ignored)."""
        if math.isnan(threshold):
            return
        threshold = min(1.0, max(0.0, float(threshold)))
        if threshold != self._likelihood_threshold:
            self._likelihood_threshold = threshold
            self.threshold_changed.emit(threshold)

    def set_config_has_unsaved_edits(self, unsaved: bool) -> None:
        """Record whether the Config pane holds unsaved edits (the Config pane calls it)."""
        if unsaved != self._config_has_unsaved_edits:
            self._config_has_unsaved_edits = unsaved
            self.config_edits_changed.emit(unsaved)

    def request_config_save(self) -> bool:
        """Ask the Config pane to save its edits now.

        Returns:
            True if no unsaved edits remain (saved, or there were none); False if they could not be
            saved (invalid, or the file is not writable: the Config pane says why).
        """
        if self._config_has_unsaved_edits:
            self.config_save_requested.emit()
        return not self._config_has_unsaved_edits

    def set_recent_projects(self, folders: list[Path]) -> None:
        """Replace the recent-projects list (most recent first)."""
        self._recent_projects = [Path(f) for f in folders]
        self.recent_projects_changed.emit(self.recent_projects)

    # ------------------------------------------------------------------ jobs and messages

    def add_job(self, description: str) -> int:
        """Record that a job started (e.g. "Training run 2024-05-01/10-00-00").

        Args:
            description: What runs; shown when the user tries to quit.

        Returns:
            A job id for :meth:`remove_job`.
        """
        job_id = next(self._job_ids)
        self._jobs[job_id] = description
        self.busy_changed.emit(len(self._jobs))
        return job_id

    def remove_job(self, job_id: int) -> None:
        """Record that job ``job_id`` ended (unknown ids are ignored)."""
        if self._jobs.pop(job_id, None) is not None:
            self.busy_changed.emit(len(self._jobs))

    def report_error(self, error: BaseException, title: str = "") -> None:
        """Ask the main window to show ``error`` in the error dialog."""
        self.error_reported.emit(error, title)

    def report_problems(self, title: str, problems: list[PoseDeskError]) -> None:
        """Ask the main window to show non-fatal problems together in one warning dialog."""
        if problems:
            self.problems_reported.emit(title, list(problems))

    def post_message(self, text: str, timeout_ms: int = 5000) -> None:
        """Show ``text`` in the status bar for ``timeout_ms`` (0 = until replaced)."""
        self.message_posted.emit(text, timeout_ms)
