"""The project pane: what a project holds, at a glance.

Without a project it shows a welcome page (new / open / example project, recent projects). With
one: its name and folder, the labelled frame count, each keypoint with how many frames label it,
a thumbnail grid of the labelled frames with their labels drawn, the videos (frames, fps, size,
duration; probed in a thread) and the training runs (status, date, epochs, best validation loss,
test pixel error, the run it started from; read in a thread; an ensemble's members under one
row). Double-clicking a run or a video asks the main window to open it in the training or review
pane.

A project whose ``config.yaml`` or labels CSV is broken still opens (``Project.open_error``): a
red banner at the top names the file, the line or row and the fix, with a Reload button for after
the fix (the Config pane shows a broken config at its bad line).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from pose_core.runs.status import RunStatus
from pose_gui.models.keypoints import KeypointCountsModel
from pose_gui.models.runs import SORT_ROLE, RunsTreeModel
from pose_gui.models.state import AppState
from pose_gui.models.videos import VideosTableModel
from pose_gui.style import app_icon, bold_label, keypoint_colors
from pose_gui.views.thumbnail_grid import MAX_THUMBNAILS, ThumbnailGrid
from pose_gui.widgets.run_lists import fit_columns_with_elided_names
from pose_gui.workers.latest import LatestRunner
from pose_gui.workers.tasks import stop_thread
from pose_gui.workers.video_probe import VideoProbeWorker

if TYPE_CHECKING:
    from pose_core.errors import PoseDeskError
    from pose_core.project import Project
    from pose_core.runs import RunInfo

RUNS_POLL_MS = 3000  # re-read the runs this often while one of them is running
NO_RUNS_HINT = (
    "No training runs yet. Next: check the settings in the Config pane (Ctrl+3), then press Train in the "
    "Training pane (Ctrl+4). Each run appears here as an outputs/<date>/<time>/ folder; Help > User guide "
    "describes the whole loop."
)


def _section(title: QLabel, body: QWidget, *extra: QWidget, footer: QWidget | None = None) -> QWidget:
    """A titled block: heading (and optional widgets to its right) above ``body``, then ``footer``."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 4, 4, 4)
    top = QHBoxLayout()
    top.addWidget(title)
    top.addStretch(1)
    for widget in extra:
        top.addWidget(widget)
    layout.addLayout(top)
    layout.addWidget(body, 1)
    if footer is not None:
        layout.addWidget(footer)
    return box


def _table(model: object, stretch_column: int) -> QTableView:
    view = QTableView()
    view.setModel(model)  # type: ignore[arg-type]
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.setAlternatingRowColors(True)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    return view


def _tree(model: QSortFilterProxyModel) -> QTreeView:
    """A runs list: rows like :func:`_table`'s, an ensemble's members indented under it (expanded)."""
    view = QTreeView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setUniformRowHeights(True)
    view.setExpandsOnDoubleClick(True)
    fit_columns_with_elided_names(view)
    model.modelReset.connect(view.expandAll)
    model.layoutChanged.connect(view.expandAll)
    return view


class WelcomePage(QWidget):
    """Shown when no project is open: the three ways in, and the recent projects."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 36, 48, 36)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(72, 72))
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(bold_label("PoseDesk", 10), 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(
            QLabel("Markerless animal pose estimation on an ordinary computer."), 0, Qt.AlignmentFlag.AlignHCenter
        )
        layout.addSpacing(18)
        layout.addLayout(self._buttons())
        layout.addSpacing(18)
        recent = QWidget()
        recent.setMaximumWidth(820)
        recent_layout = QVBoxLayout(recent)
        recent_layout.setContentsMargins(0, 0, 0, 0)
        recent_layout.addWidget(bold_label("Recent projects", 1))
        self.recent_list = QListWidget()
        self.recent_list.setToolTip("Double-click to open")
        self.recent_list.itemActivated.connect(self._on_recent_list_item_activated)
        recent_layout.addWidget(self.recent_list, 1)
        layout.addWidget(recent, 1, Qt.AlignmentFlag.AlignHCenter)
        state.recent_projects_changed.connect(self._on_state_recent_projects_changed)
        self._on_state_recent_projects_changed(state.recent_projects)

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch(1)
        for text, tip, slot in (
            ("New Project…", "Import labels and videos into a new project", self._state.project_create_requested.emit),
            ("Open Project…", "Open a Lightning Pose or DeepLabCut project folder", self._on_open_clicked),
            ("Open Example Project", "A synthetic mouse with exact labels, to try PoseDesk", self._on_example_clicked),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setMinimumHeight(40)
            button.setMinimumWidth(180)
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        return row

    def _on_open_clicked(self) -> None:
        self._state.project_open_requested.emit(None)

    def _on_example_clicked(self) -> None:
        self._state.example_open_requested.emit()

    def _on_state_recent_projects_changed(self, folders: list[Path]) -> None:
        self.recent_list.clear()
        for folder in folders:
            item = QListWidgetItem(f"{Path(folder).name}    —    {folder}")
            item.setData(Qt.ItemDataRole.UserRole, str(folder))
            item.setToolTip(str(folder))
            self.recent_list.addItem(item)
        if not folders:
            placeholder = QListWidgetItem("No recent projects yet.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent_list.addItem(placeholder)

    def _on_recent_list_item_activated(self, item: QListWidgetItem) -> None:
        folder = item.data(Qt.ItemDataRole.UserRole)
        if folder:
            self._state.project_open_requested.emit(Path(folder))


class ProjectPage(QWidget):
    """Everything about the open project (see the module docstring)."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._generation = 0
        self._video_errors: list[PoseDeskError] = []
        self._probe: VideoProbeWorker | None = None
        self._runs = LatestRunner(self)  # a read asked for while one runs replaces it (its answer may be stale)
        self._runs_timer = QTimer(self)
        self._runs_timer.setInterval(RUNS_POLL_MS)
        self._runs_timer.timeout.connect(self.refresh_runs)
        self.keypoints_model = KeypointCountsModel(self)
        self.videos_model = VideosTableModel(self)
        self.runs_model = RunsTreeModel(self)
        self._build()
        state.runs_changed.connect(self.refresh_runs)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addLayout(self._build_header())
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self._build_keypoints())
        top.addWidget(self._build_thumbnails())
        top.setStretchFactor(1, 1)
        top.setSizes([300, 900])
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self._build_videos())
        bottom.addWidget(self._build_runs())
        bottom.setSizes([480, 720])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(top)
        main.addWidget(bottom)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        layout.addWidget(main, 1)

    def _build_header(self) -> QVBoxLayout:
        header = QVBoxLayout()
        self.title_label = bold_label("", 8)
        self.path_label = QLabel()
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setStyleSheet("color: #5f6368;")
        self.summary_label = QLabel()
        self.summary_label.setFont(QFont(self.summary_label.font().family(), self.summary_label.font().pointSize() + 1))
        header.addWidget(self.title_label)
        header.addWidget(self.path_label)
        header.addWidget(self.summary_label)
        header.addWidget(self._build_problem_banner())
        return header

    def _build_problem_banner(self) -> QWidget:
        self.problem_banner = QWidget()
        self.problem_banner.setObjectName("problemBanner")
        self.problem_banner.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.problem_banner.setStyleSheet("#problemBanner { background: #fde7e7; border-radius: 4px; }")
        row = QHBoxLayout(self.problem_banner)
        row.setContentsMargins(8, 6, 8, 6)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem_label.setStyleSheet("color: #b3261e;")
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Read the project's files again (after fixing them)")
        self.reload_button.clicked.connect(self._on_reload_button_clicked)
        row.addWidget(self.problem_label, 1)
        row.addWidget(self.reload_button)
        self.problem_banner.hide()
        return self.problem_banner

    def _show_open_error(self, project: Project) -> None:
        """The banner naming what keeps the project from being used (hidden when nothing does)."""
        from pose_core.errors import ConfigError

        error = project.open_error
        self.problem_banner.setVisible(error is not None)
        if error is None:
            return
        where = (
            "Fix it in the Config pane (its YAML tab shows the line) and save"
            if isinstance(error, ConfigError) and project.config_path is not None
            else "Fix the file (in a text editor or spreadsheet)"
        )
        self.problem_label.setText(
            f"This project cannot be used until this is fixed: {error}\n{where}, then click Reload."
        )

    def _on_reload_button_clicked(self) -> None:
        project = self._state.project
        if project is not None:
            self._state.project_open_requested.emit(project.root)

    def _build_keypoints(self) -> QWidget:
        self.keypoints_view = _table(self.keypoints_model, 0)
        return _section(bold_label("Keypoints", 1), self.keypoints_view)

    def _build_thumbnails(self) -> QWidget:
        self.thumbnails = ThumbnailGrid()
        self.frames_heading = bold_label("Labelled frames", 1)
        return _section(self.frames_heading, self.thumbnails)

    def _build_videos(self) -> QWidget:
        self.videos_view = _table(self.videos_model, 0)
        self.videos_view.setToolTip("Double-click a video to open it in the review pane")
        self.videos_view.doubleClicked.connect(self._on_videos_view_double_clicked)
        self.videos_hint = QLabel("No videos yet: drop video files onto the window or use File > Add Videos….")
        self.videos_hint.setWordWrap(True)
        return _section(bold_label("Videos", 1), self.videos_view, footer=self.videos_hint)

    def _build_runs(self) -> QWidget:
        self._runs_proxy = QSortFilterProxyModel(self)
        self._runs_proxy.setSourceModel(self.runs_model)
        self._runs_proxy.setSortRole(SORT_ROLE)
        self.runs_view = _tree(self._runs_proxy)
        self.runs_view.setSortingEnabled(True)
        self.runs_view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.runs_view.setToolTip(
            "Double-click a run to open it in the training pane; an ensemble's members are listed under it"
        )
        self.runs_view.doubleClicked.connect(self._on_runs_view_double_clicked)
        self.runs_hint = QLabel(NO_RUNS_HINT)
        self.runs_hint.setWordWrap(True)
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Read the run folders again")
        refresh.clicked.connect(self.refresh_runs)
        return _section(bold_label("Training runs", 1), self.runs_view, refresh, footer=self.runs_hint)

    # ------------------------------------------------------------------ content

    def show_project(self, project: Project) -> None:
        """Fill every section from ``project`` and start the background loaders."""
        self.shutdown()
        self._generation += 1
        colors = keypoint_colors(project.labels.n_keypoints)
        self.title_label.setText(project.name)
        kind = "DeepLabCut project" if project.kind == "deeplabcut" else "Lightning Pose-style project"
        read_only = "  ·  read-only" if project.is_read_only() else ""
        self.path_label.setText(f"{project.root}    ({kind}{read_only})")
        self.keypoints_model.set_counts(project.label_counts(), project.n_labeled_frames, colors)
        shown = min(project.n_labeled_frames, MAX_THUMBNAILS)
        more = f" (showing {shown})" if shown < project.n_labeled_frames else ""
        self.frames_heading.setText(f"Labelled frames: {project.n_labeled_frames}{more}")
        self.thumbnails.set_project(project, colors)
        self._show_open_error(project)
        self._start_video_probe(project)
        self.runs_model.set_runs([])
        self.refresh_runs()
        self._update_summary()

    def _update_summary(self) -> None:
        project = self._state.project
        if project is None:
            return
        n_runs = len(self.runs_model.runs())
        n_videos = len(project.videos)
        self.summary_label.setText(
            f"{project.n_labeled_frames} labelled frames  ·  {project.labels.n_keypoints} keypoints  ·  "
            f"{n_videos} video{'s' * (n_videos != 1)}  ·  {n_runs} training run{'s' * (n_runs != 1)}"
        )
        self.videos_hint.setVisible(n_videos == 0)
        self.runs_hint.setVisible(n_runs == 0)

    def _start_video_probe(self, project: Project) -> None:
        self._video_errors = []
        self.videos_model.set_videos(project.videos)
        if not project.videos:
            return
        self._probe = VideoProbeWorker(self._generation, project.videos, self)
        self._probe.probed.connect(self._on_probe_probed)
        self._probe.probe_failed.connect(self._on_probe_failed)
        generation = self._generation
        self._probe.finished.connect(lambda: self._on_probe_finished(generation))
        self._probe.start()

    def _on_probe_probed(self, generation: int, path: str, info: object) -> None:
        if generation == self._generation:
            self.videos_model.set_info(Path(path), info)

    def _on_probe_failed(self, generation: int, path: str, error: PoseDeskError) -> None:
        if generation == self._generation:
            self.videos_model.set_error(Path(path), str(error))
            self._video_errors.append(error)

    def _on_probe_finished(self, generation: int) -> None:
        if generation != self._generation:
            return
        errors, self._video_errors = self._video_errors, []
        self._state.report_problems("Some videos cannot be opened", errors)

    def refresh_runs(self) -> None:
        """Re-read the project's run folders in a thread; the latest request wins.

        Called when a run starts, is asked to stop or ends (AppState's ``runs_changed``, as the
        Training pane is), and every few seconds while a listed run is running.
        """
        project = self._state.project
        if project is None:
            return
        from pose_core.runs import list_runs

        generation = self._generation
        self._runs.run(
            "runs", list_runs, project.root, on_success=lambda runs: self._on_runs_task_succeeded(generation, runs),
            on_error=lambda error: self._state.report_error(error, "Cannot read the training runs"),
        )  # fmt: skip

    def _on_runs_task_succeeded(self, generation: int, runs: list[RunInfo]) -> None:
        if generation != self._generation:
            return
        self.runs_model.set_runs(runs)
        self._update_summary()
        if any(run.status == RunStatus.RUNNING for run in runs):
            self._runs_timer.start()
        else:
            self._runs_timer.stop()

    # ------------------------------------------------------------------ double-clicks

    def _on_runs_view_double_clicked(self, index: QModelIndex) -> None:
        run = self.runs_model.run_for(self._runs_proxy.mapToSource(index))
        if run is not None:  # an ensemble row expands instead
            self._state.run_open_requested.emit(run.path)

    def _on_videos_view_double_clicked(self, index: QModelIndex) -> None:
        self._state.video_open_requested.emit(self.videos_model.path_at(index.row()))

    # ------------------------------------------------------------------ lifecycle

    def is_loading(self) -> bool:
        """True while thumbnails, video probes or the runs list are still loading."""
        running = (self._probe is not None and self._probe.isRunning()) or self._runs.is_running()
        return running or self.thumbnails.is_loading() or self.videos_model.is_pending()

    def shutdown(self) -> None:
        """Stop every background thread and the runs poll (returns when they have ended)."""
        self._runs_timer.stop()
        self.thumbnails.shutdown()
        stop_thread(self._probe)
        self._runs.invalidate()
        self._runs.shutdown()
        self._probe = None


class ProjectView(QWidget):
    """The project pane: the welcome page without a project, the project page with one."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._stack = QStackedWidget(self)
        self.welcome = WelcomePage(state)
        self.page = ProjectPage(state)
        self._stack.addWidget(self.welcome)
        self._stack.addWidget(self.page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        state.project_changed.connect(self._on_state_project_changed)
        self._on_state_project_changed(state.project)

    def _on_state_project_changed(self, project: Project | None) -> None:
        if project is None:
            self.page.shutdown()
            self._stack.setCurrentWidget(self.welcome)
            return
        self.page.show_project(project)
        self._stack.setCurrentWidget(self.page)

    def is_loading(self) -> bool:
        """True while the project page is still loading thumbnails, videos or runs."""
        return self.page.is_loading()

    def shutdown(self) -> None:
        """Stop background work; called by the main window when it closes."""
        self.page.shutdown()

    def closeEvent(self, event: object) -> None:
        self.shutdown()
        super().closeEvent(event)  # type: ignore[arg-type]
