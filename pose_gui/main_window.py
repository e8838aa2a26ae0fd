"""MainWindow: composes the panes and the declared actions around one AppState; no business logic.

Panes are registered in :data:`PANES` (the one list): a pane is a QWidget class built as
``Pane(state, parent)``, imported and built when its tab is first shown (so a pane that imports
pyqtgraph does not slow the start). A pane may define ``is_loading() -> bool`` (``--screenshot``
waits for it) and ``shutdown()`` (called once when the window closes: stop threads and processes).
The window routes AppState's intents: a run to the "training" pane, a video to the "review" pane.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow, QMenu, QTabWidget, QToolBar, QVBoxLayout, QWidget

from pose_core.errors import DataError, PoseDeskError
from pose_gui import __version__, dialogs
from pose_gui.actions import ACTIONS, ActionSpec
from pose_gui.models.state import AppState
from pose_gui.style import ERROR_COLOR, app_icon
from pose_gui.workers.latest import LatestRunner
from pose_gui.workers.tasks import TaskThread, stop_thread

if TYPE_CHECKING:
    from pose_core.interop.lp_project import LPOpening
    from pose_core.project import Project
    from pose_gui.views.project_wizard import ProjectWizard

MAX_RECENT_PROJECTS = 10
WARM_UP_DELAY_MS = 400  # build the other panes this long after the window is first shown
DEFAULT_SIZE = (1280, 820)


@dataclass(frozen=True)
class PaneSpec:
    """A pane of the main window.

    Attributes:
        name: Short name (``--pane NAME``, :meth:`MainWindow.show_pane`).
        title: Tab text.
        factory: ``"module:Class"``; the class is built as ``Class(state, parent)``.
        shortcut: Key that shows the pane.
    """

    name: str
    title: str
    factory: str
    shortcut: str


PANES: tuple[PaneSpec, ...] = (
    PaneSpec("project", "Project", "pose_gui.views.project_view:ProjectView", "Ctrl+1"),
    PaneSpec("label", "Label", "pose_gui.views.label.pane:LabelPane", "Ctrl+2"),
    PaneSpec("config", "Config", "pose_gui.views.config_editor:ConfigEditorPane", "Ctrl+3"),
    PaneSpec("training", "Training", "pose_gui.views.training_monitor:TrainingMonitorPane", "Ctrl+4"),
    PaneSpec("review", "Review", "pose_gui.views.video_review:VideoReviewPane", "Ctrl+5"),
)
"""The panes in tab order; Ctrl+1 to Ctrl+5 follow that order."""


def app_settings() -> QSettings:
    """PoseDesk's settings file (INI format in the user's config folder)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "PoseDesk", "posedesk")


def _build_pane(spec: PaneSpec, state: AppState, parent: QWidget) -> QWidget:
    module_name, _, class_name = spec.factory.partition(":")
    pane_class = getattr(importlib.import_module(module_name), class_name)
    return pane_class(state, parent)


class MainWindow(QMainWindow):
    """The PoseDesk window: panes as tabs, menus and toolbar from :data:`ACTIONS`, a status bar."""

    def __init__(
        self,
        state: AppState | None = None,
        panes: Sequence[PaneSpec] = PANES,
        parent: QWidget | None = None,
        *,
        remember: bool = True,
    ) -> None:
        """Build the window.

        Args:
            state: The shared state (a new one if None).
            panes: The panes, in tab order.
            parent: Parent widget.
            remember: Restore and save geometry, pane and recent projects in the settings
                (False for ``--screenshot``: it neither depends on nor changes the user's settings).
        """
        super().__init__(parent)
        self._remember = remember
        self.state = state if state is not None else AppState(self)
        self._specs = list(panes)
        self._panes: dict[str, QWidget] = {}
        self._hosts: dict[str, QWidget] = {}
        self._host_layouts: dict[str, QVBoxLayout] = {}
        self._failed_panes: set[str] = set()
        self.actions_by_id: dict[str, QAction] = {}
        self._tasks: list[TaskThread] = []
        self._wizard: ProjectWizard | None = None
        self._shown_once = False
        self._shut_down = False  # set by shutdown(): no more panes are built
        self._latest = LatestRunner(self)  # opening a project or a model folder: the latest request wins
        self._after_first_paint: list[Callable[[], None]] = []
        self.help_pages: dict[str, QDialog] = {}
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build_tabs()
        self._build_actions()
        self._build_status_bar()
        self._connect_state()
        self._restore_settings()
        self._update_title()
        self._on_tabs_current_changed(self.tabs.currentIndex())

    # ------------------------------------------------------------------ construction

    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for spec in self._specs:
            host = QWidget()
            layout = QVBoxLayout(host)
            layout.setContentsMargins(0, 0, 0, 0)
            self._hosts[spec.name] = host
            self._host_layouts[spec.name] = layout
            self.tabs.addTab(host, spec.title)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.setCentralWidget(self.tabs)

    def _build_actions(self) -> None:
        menus: dict[str, QMenu] = {}
        self.toolbar = QToolBar("Main toolbar")
        self.toolbar.setObjectName("main_toolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(self.toolbar)
        for name in ("File", "View", "Help"):
            menus[name] = self.menuBar().addMenu(f"&{name}")
        self.recent_menu = QMenu("Open &Recent", self)
        for spec in ACTIONS:
            action = self._make_action(spec)
            menu = menus[spec.menu]
            if spec.separator_before:
                menu.addSeparator()
            menu.addAction(action)
            if spec.id == "file.open_project":
                menu.addMenu(self.recent_menu)
            if spec.toolbar:
                self.toolbar.addAction(action)
        for pane_spec in self._specs:
            action = QAction(pane_spec.title, self)
            action.setShortcut(QKeySequence(pane_spec.shortcut))
            action.setStatusTip(f"Show the {pane_spec.title} pane")
            action.triggered.connect(lambda _checked=False, name=pane_spec.name: self.show_pane(name))
            self.actions_by_id[f"view.{pane_spec.name}"] = action
            menus["View"].addAction(action)
        menus["View"].addSeparator()
        menus["View"].addAction(self.toolbar.toggleViewAction())

    def _make_action(self, spec: ActionSpec) -> QAction:
        action = QAction(spec.title, self)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        action.setStatusTip(spec.tip)
        action.setToolTip(spec.tip)
        if spec.icon is not None:
            action.setIcon(self.style().standardIcon(spec.icon))
        action.triggered.connect(lambda _checked=False, s=spec: s.callback(self))
        action.setData(spec)
        self.actions_by_id[spec.id] = action
        return action

    def _build_status_bar(self) -> None:
        self.project_status = QLabel()
        self.jobs_status = QLabel()
        self.statusBar().addPermanentWidget(self.jobs_status)
        self.statusBar().addPermanentWidget(self.project_status)

    def _connect_state(self) -> None:
        state = self.state
        state.project_changed.connect(self._on_state_project_changed)
        state.busy_changed.connect(self._on_state_busy_changed)
        state.recent_projects_changed.connect(self._on_state_recent_projects_changed)
        state.error_reported.connect(self._on_state_error_reported)
        state.problems_reported.connect(self._on_state_problems_reported)
        state.message_posted.connect(self._on_state_message_posted)
        state.project_open_requested.connect(self._on_state_project_open_requested)
        state.project_create_requested.connect(self.new_project)
        state.example_open_requested.connect(self.open_example_project)
        state.run_open_requested.connect(self._on_state_run_open_requested)
        state.video_open_requested.connect(self._on_state_video_open_requested)
        state.label_frames_requested.connect(self._on_state_label_frames_requested)
        state.compare_open_requested.connect(self._on_state_compare_open_requested)
        self._update_enabled()
        self._on_state_busy_changed(0)

    # ------------------------------------------------------------------ panes

    def pane_names(self) -> list[str]:
        """Names of the registered panes, in tab order."""
        return [spec.name for spec in self._specs]

    def pane_specs(self) -> list[PaneSpec]:
        """The registered panes, in tab order."""
        return list(self._specs)

    def pane(self, name: str) -> QWidget | None:
        """The pane ``name``, built now if it was not yet; None if it is not registered or failed to build."""
        if name in self._panes or name in self._failed_panes:
            return self._panes.get(name)
        spec = next((s for s in self._specs if s.name == name), None)
        if spec is None:
            return None
        layout = self._host_layouts[name]
        try:
            pane = _build_pane(spec, self.state, self._hosts[name])
        except Exception as error:  # noqa: BLE001 - a broken pane must not take the window down
            self._failed_panes.add(name)
            layout.addWidget(
                QLabel(f"<span style='color:{ERROR_COLOR}'>The {spec.title} pane failed to load: {error}</span>")
            )
            dialogs.show_error(self, error, f"The {spec.title} pane failed to load")
            return None
        layout.addWidget(pane)
        self._panes[name] = pane
        return pane

    def show_pane(self, name: str) -> bool:
        """Bring pane ``name`` to the front (building it if needed).

        Returns:
            False if no such pane is registered.
        """
        if name not in self._hosts:
            return False
        self.tabs.setCurrentWidget(self._hosts[name])
        self.pane(name)
        return True

    def current_pane_name(self) -> str:
        """Name of the pane in front."""
        return self._specs[self.tabs.currentIndex()].name if self._specs else ""

    def _on_tabs_current_changed(self, index: int) -> None:
        if 0 <= index < len(self._specs):
            self.pane(self._specs[index].name)

    def _build_next_pane(self) -> None:
        """Warm-up: build one not-yet-built pane per timer tick after the window is shown (not once it closed)."""
        if self._shut_down:
            return
        for spec in self._specs:
            if spec.name not in self._panes and spec.name not in self._failed_panes:
                self.pane(spec.name)
                QTimer.singleShot(0, self, self._build_next_pane)
                return

    def is_loading(self) -> bool:
        """True while a pane or a background task is still loading."""
        checks = [getattr(pane, "is_loading", None) for pane in self._panes.values()]
        loading = any(callable(check) and check() for check in checks)
        return loading or bool(self._tasks) or self._latest.is_running()  # a task leaves the list once handled

    # ------------------------------------------------------------------ projects

    def open_project(self, folder: Path) -> TaskThread:
        """Open the project in ``folder`` in a thread; errors go to the error dialog, the window stays usable.

        The latest request wins: a project that finishes opening after another was requested is dropped.
        A Lightning Pose model folder (``posedesk MODEL_DIR``, a drop, a recent entry) opens with
        :meth:`open_model_folder`.

        Returns:
            The thread reading the project (``succeeded`` / ``failed`` tell when it is done).
        """
        from pose_core.runs.lightning_pose import is_lp_run_dir

        if is_lp_run_dir(Path(folder)):
            return self.open_model_folder(folder)
        return self._open_latest(
            Path(folder), _open_project_with_problems, lambda result: self.set_project(*result),
            f"Opening {folder}…", "Cannot open the project",
        )  # fmt: skip

    def _open_latest(
        self, folder: Path, read: Callable[[Path], Any], show: Callable[[Any], None], message: str, error_title: str
    ) -> TaskThread:
        """Read ``folder`` with ``read`` in a thread, then ``show`` the result unless a later opening was asked for."""
        self.state.post_message(message, 0)
        return self._latest.run(
            "open", read, folder, on_success=show, on_error=lambda error: dialogs.show_error(self, error, error_title)
        )

    def set_project(self, project: Project, problems: list[PoseDeskError] | None = None) -> None:
        """Make ``project`` the open project, remember it, and show its non-fatal problems.

        Args:
            project: The opened project.
            problems: Its problems if already known (else :meth:`Project.problems` is called).
        """
        self.state.set_project(project)
        self._remember_recent(project.root)
        self.state.post_message(f"Opened {project.root}", 5000)
        problems = project.problems() if problems is None else problems
        if problems:
            dialogs.show_warnings(self, f"Project {project.name} opened with problems", problems)

    def open_model_folder(self, folder: Path) -> TaskThread:
        """Open a Lightning Pose model folder in a thread: its project (or the data its config names) and the run.

        In a project's ``outputs/`` (or ``models/``), that project opens with the run selected;
        elsewhere, the labels and videos its config names, with a warning for what is missing.
        The training pane then shows its curves (the review pane, if in front, its predictions).

        Returns:
            The thread reading the folder.
        """
        from pose_core.interop.lp_project import open_lp_model_folder

        return self._open_latest(
            Path(folder), open_lp_model_folder, self._on_model_folder_opened,
            f"Opening the model folder {folder}…", "Cannot open the model folder",
        )  # fmt: skip

    def _on_model_folder_opened(self, opening: LPOpening) -> None:
        model = opening.model
        if opening.project is not None:
            self.state.set_project(opening.project)
            if opening.in_project:
                self._remember_recent(opening.project.root)
        else:
            self.state.set_project(None)
        self.state.set_run_dir(model.path)
        where = f"in project {opening.project.name}" if opening.in_project and opening.project else "outside a project"
        if self.current_pane_name() not in ("training", "review"):  # else the pane in front shows the run
            self._show_target_pane("training", f"Lightning Pose model {model.name}")
        self.state.post_message(f"Opened Lightning Pose model {model.path} {where}", 8000)
        if opening.problems:
            dialogs.show_warnings(self, f"Lightning Pose model {model.name} opened with limits", opening.problems)

    def reload_project(self) -> None:
        """Read the open project's files again (keeps the current pane)."""
        if self.state.project is not None:
            self.open_project(self.state.project.root)

    def close_project(self) -> None:
        """Close the project (the project pane shows the welcome page)."""
        self.state.set_project(None)

    def new_project(self) -> ProjectWizard:
        """Open the new-project wizard (window-modal, not blocking); the created project is opened."""
        from pose_gui.views.project_wizard import ProjectWizard, default_projects_location

        if self._wizard is not None:
            self._wizard.raise_()
            return self._wizard
        location = Path(str(app_settings().value("wizard/location", str(default_projects_location()))))
        self._wizard = ProjectWizard(location, self)
        self._wizard.project_created.connect(self._on_wizard_project_created)
        self._wizard.finished.connect(self._on_wizard_finished)
        self._wizard.open()
        return self._wizard

    def _on_wizard_project_created(self, project: Project) -> None:
        app_settings().setValue("wizard/location", str(project.root.parent))
        self.set_project(project)
        self.show_pane("project")

    def _on_wizard_finished(self, _result: int) -> None:
        if self._wizard is not None:
            self._wizard.shutdown()
            self._wizard.deleteLater()
        self._wizard = None

    def open_example_project(self) -> None:
        """Open the example project, generating it in a thread the first time (about a minute)."""
        self.state.post_message("Preparing the example project (generated the first time only)…", 0)
        self.run_task("Preparing the example project", _prepare_example_project, on_success=self.open_project)

    def add_videos(self, paths: Sequence[Path]) -> None:
        """Copy videos into the open project in a thread (each must open), then reload the project."""
        from pose_core.project import add_videos

        project = self.state.project
        if project is None:
            dialogs.show_error(
                self,
                DataError("No project is open; open or create a project first, then add videos to it."),
                "Cannot add videos",
            )
            return
        self.state.post_message(f"Adding {len(paths)} video(s) to {project.name}…", 0)
        self.run_task(
            f"Adding videos to {project.name}", add_videos, project, list(paths), on_success=self._on_videos_added
        )

    def _on_videos_added(self, added: list[Path]) -> None:
        self.reload_project()
        self.state.post_message(f"Added {len(added)} video(s): {', '.join(p.name for p in added)}", 8000)

    def run_task(
        self,
        description: str,
        fn: Any,
        *args: Any,
        on_success: Any,
        error_title: str = "",
        counts_as_job: bool = True,
    ) -> TaskThread:
        """Run ``fn(*args)`` in a thread; its result goes to ``on_success``, an error to the error dialog.

        Args:
            description: What runs (job list, error title).
            fn: The function.
            *args: Its arguments.
            on_success: Called with the result, in the GUI thread.
            error_title: Title of the error dialog (default: "<description> failed").
            counts_as_job: Register it as a job (quitting then asks first).

        Returns:
            The started thread.
        """
        task = TaskThread(fn, *args, parent=self)
        job_id = self.state.add_job(description) if counts_as_job else None

        def finish() -> None:
            if job_id is not None:
                self.state.remove_job(job_id)
            if task in self._tasks:
                self._tasks.remove(task)
            task.deleteLater()

        task.succeeded.connect(on_success)
        task.failed.connect(lambda error: dialogs.show_error(self, error, error_title or f"{description} failed"))
        task.finished.connect(finish)
        self._tasks.append(task)
        task.start()
        return task

    def _remember_recent(self, folder: Path) -> None:
        recent = [folder, *[p for p in self.state.recent_projects if p != folder]][:MAX_RECENT_PROJECTS]
        self.state.set_recent_projects(recent)
        if self._remember:
            app_settings().setValue("recent_projects", json.dumps([str(p) for p in recent]))

    # ------------------------------------------------------------------ state slots

    def _on_state_project_changed(self, project: Project | None) -> None:
        self._update_title()
        self._update_enabled()
        if project is None:
            self.project_status.setText("No project")
        else:
            self.project_status.setText(f"{project.name}  ·  {project.n_labeled_frames} labelled frames")
            self.project_status.setToolTip(str(project.root))

    def _on_state_busy_changed(self, n_jobs: int) -> None:
        self.jobs_status.setText(f"{n_jobs} job{'s' * (n_jobs != 1)} running" if n_jobs else "")
        self.jobs_status.setToolTip("\n".join(self.state.busy_jobs))
        self._update_enabled()

    def _on_state_recent_projects_changed(self, folders: list[Path]) -> None:
        self.recent_menu.clear()
        for folder in folders:
            action = self.recent_menu.addAction(str(folder))
            action.triggered.connect(lambda _checked=False, f=folder: self.open_project(Path(f)))
        self.recent_menu.setEnabled(bool(folders))

    def _on_state_error_reported(self, error: BaseException, title: str) -> None:
        dialogs.show_error(self, error, title)

    def _on_state_problems_reported(self, title: str, problems: list[PoseDeskError]) -> None:
        dialogs.show_warnings(self, title, problems)

    def _on_state_message_posted(self, text: str, timeout_ms: int) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _on_state_project_open_requested(self, folder: Path | None) -> None:
        if folder is None:
            self.actions_by_id["file.open_project"].trigger()
        else:
            self.open_project(Path(folder))

    def _on_state_run_open_requested(self, run_dir: Path) -> None:
        self.state.set_run_dir(Path(run_dir))
        self._show_target_pane("training", f"Run {Path(run_dir).parent.name}/{Path(run_dir).name} selected")

    def _on_state_video_open_requested(self, video: Path) -> None:
        self.state.set_video(Path(video))
        self._show_target_pane("review", f"Video {Path(video).name} selected")

    def _on_state_label_frames_requested(self, video: Path, frame_indices: list[int], reason: str) -> None:
        """Review's "Label this frame" / "Send problem frames to labelling": queue them in the label pane."""
        if self.show_pane("label"):
            pane = self.pane("label")
            if pane is not None:
                pane.queue_frames(Path(video), list(frame_indices), reason)  # type: ignore[attr-defined]

    def _on_state_compare_open_requested(self, run_dir: Path, compare_run: Path) -> None:
        """Training's "Compare with parent": Review shows ``run_dir`` with ``compare_run`` overlaid."""
        self.state.set_run_dir(Path(run_dir))
        if self.show_pane("review"):
            pane = self.pane("review")
            if pane is not None:
                pane.compare_with(Path(compare_run))  # type: ignore[attr-defined]

    def _show_target_pane(self, name: str, what: str) -> None:
        if not self.show_pane(name):
            self.state.post_message(f"{what}; the {name} pane is not part of this version yet.", 8000)

    def _update_title(self) -> None:
        project = self.state.project
        self.setWindowTitle(f"{project.name} — PoseDesk" if project is not None else "PoseDesk")

    def _update_enabled(self) -> None:
        for action in self.actions_by_id.values():
            spec = action.data()
            if isinstance(spec, ActionSpec):
                action.setEnabled(spec.enabled_when(self.state))

    # ------------------------------------------------------------------ help

    def show_help(self, page: str) -> QDialog:
        """Show Help page ``page`` (``guide`` or ``shortcuts``) in its own window, generated now."""
        from pose_gui.views.help import HelpPage, shortcut_rows, shortcuts_html, user_guide_html

        if page == "shortcuts":
            title, text = "Keyboard shortcuts", shortcuts_html(shortcut_rows(self))
        else:
            title, text = "PoseDesk user guide", user_guide_html(self)
        old = self.help_pages.pop(page, None)
        if old is not None:
            old.close()
        dialog = HelpPage(title, text, self)
        self.help_pages[page] = dialog
        dialog.show()
        return dialog

    def show_system_check(self) -> None:
        """Show what ``posedesk --check`` finds (display, Qt libraries)."""
        from pose_gui.check import static_problems

        problems = static_problems()
        text = "\n\n".join(f"{p.message}\nFix: {p.fix}" for p in problems) or "Display and Qt libraries: OK."
        dialogs.show_info(self, "System check", text)

    def show_about(self) -> None:
        """Show the version and where the settings live."""
        dialogs.show_info(
            self,
            "About PoseDesk",
            f"PoseDesk {__version__}\nMarkerless animal pose estimation on an ordinary computer.\n\n"
            f"Settings: {app_settings().fileName()}\nLicence: MIT",
        )

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_paths(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_paths(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.handle_dropped_paths(paths)

    def handle_dropped_paths(self, paths: Sequence[Path]) -> None:
        """A dropped folder opens as a project; dropped videos are added to the open project."""
        from pose_core.project import VIDEO_SUFFIXES

        folders = [p for p in paths if p.is_dir()]
        videos = [p for p in paths if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
        if len(folders) == 1 and len(paths) == 1:
            self.open_project(folders[0])
        elif videos and len(videos) == len(paths):
            self.add_videos(videos)
        else:
            names = ", ".join(p.name for p in paths[:3]) + (" …" if len(paths) > 3 else "")
            error = DataError(
                f"Cannot use the dropped items ({names}): drop one project folder to open it, or video files "
                f"({', '.join(VIDEO_SUFFIXES)}) to add them to the open project.",
                path=str(paths[0]) if paths else None,
            )
            dialogs.show_error(self, error, "Cannot use what was dropped")

    # ------------------------------------------------------------------ settings and closing

    def _restore_settings(self) -> None:
        if not self._remember:
            self.resize(*DEFAULT_SIZE)
            return
        settings = app_settings()
        geometry = settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*DEFAULT_SIZE)
        window_state = settings.value("window/state")
        if window_state is not None:
            self.restoreState(window_state)
        try:
            recent = [Path(p) for p in json.loads(str(settings.value("recent_projects", "[]")))]
        except (TypeError, ValueError):
            recent = []
        self.state.set_recent_projects([p for p in recent if p.exists()])
        pane = str(settings.value("window/pane", ""))
        if pane in self._hosts:
            self.tabs.setCurrentWidget(self._hosts[pane])

    def save_settings(self) -> None:
        """Store the window geometry, toolbar state and the pane in front (unless ``remember`` is off)."""
        if not self._remember:
            return
        settings = app_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("window/pane", self.current_pane_name())
        settings.sync()

    def call_after_first_paint(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` once, right after the window has been drawn for the first time."""
        self._after_first_paint.append(fn)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.Paint and self._after_first_paint:
            calls, self._after_first_paint = self._after_first_paint, []
            for fn in calls:
                QTimer.singleShot(0, fn)
        return handled

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            QTimer.singleShot(WARM_UP_DELAY_MS, self, self._build_next_pane)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.state.is_busy:
            jobs = "\n".join(f"• {job}" for job in self.state.busy_jobs)
            question = f"These jobs are still running:\n{jobs}\n\nQuitting stops them. Quit anyway?"
            if not dialogs.confirm(self, "Quit PoseDesk?", question, "Quit"):
                event.ignore()
                return
        self.save_settings()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every pane's background work and this window's tasks (returns when they have ended)."""
        self._shut_down = True
        for pane in self._panes.values():
            stop = getattr(pane, "shutdown", None)
            if callable(stop):
                stop()
        if self._wizard is not None:
            self._wizard.shutdown()
        for task in list(self._tasks):
            stop_thread(task)
        self._latest.shutdown()


def _prepare_example_project() -> Path:
    """The example project's folder, generated first if needed (runs in a thread: imports OpenCV)."""
    from pose_core.example import ensure_example_project

    return ensure_example_project()


def _open_project_with_problems(folder: Path) -> tuple[Project, list[PoseDeskError]]:
    """Open a project and list its problems (runs in a thread: reads the CSV, checks images).

    A broken ``config.yaml`` or labels CSV does not stop the opening: the project opens empty with
    the problem (``Project.open_error``) shown where it is, so it can be fixed in the app.
    """
    from pose_core.project import Project

    project = Project.open_for_repair(folder)
    if project.open_error is not None:
        return project, [project.open_error]
    return project, project.problems()


def _local_paths(urls: list[Any]) -> list[Path]:
    """Local files and folders among dropped URLs."""
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
