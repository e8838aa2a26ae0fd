"""Declared actions: id, title, shortcut, menu, when enabled, and the callback (ask, then do).

The main window builds its menus and toolbar from :data:`ACTIONS`; callbacks ask the user what
they need (a folder, files) and then call the main window, which does the work. Dialog helpers
are looked up at call time (``dialogs.ask_directory``) so tests can replace them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QStyle

from pose_gui import dialogs
from pose_gui.models.state import AppState

if TYPE_CHECKING:
    from pose_gui.main_window import MainWindow

Shortcut = str | QKeySequence.StandardKey | None


def _always(_state: AppState) -> bool:
    return True


def _has_project(state: AppState) -> bool:
    return state.project is not None


@dataclass(frozen=True)
class ActionSpec:
    """One user command.

    Attributes:
        id: Stable name (``file.open_project``); tests and settings refer to it.
        title: Menu text (``&`` marks the mnemonic).
        menu: Menu it goes in ("File", "View", "Help").
        callback: ``callback(window)``; asks what it needs, then acts.
        shortcut: Key sequence (a standard key where the platform has one).
        tip: Status-bar / tooltip text.
        icon: Standard icon shown in the toolbar.
        toolbar: Also put it in the toolbar.
        enabled_when: ``enabled_when(state)``; re-evaluated when the project or jobs change.
        separator_before: Put a separator before it in its menu.
    """

    id: str
    title: str
    menu: str
    callback: Callable[[MainWindow], object]
    shortcut: Shortcut = None
    tip: str = ""
    icon: QStyle.StandardPixmap | None = None
    toolbar: bool = False
    enabled_when: Callable[[AppState], bool] = _always
    separator_before: bool = False


def _export_nwb(window: MainWindow) -> None:
    """Write the project's labelled frames and the current run's video predictions to an NWB file (in a thread)."""
    from functools import partial

    from pose_core.interop.nwb_export import export_project_nwb

    project, run_dir = window.state.project, window.state.run_dir
    if project is None:
        return
    path = dialogs.ask_save_path(window, "Export NWB", project.root / f"{project.name}.nwb", "NWB files (*.nwb)")
    if path is None:
        return
    confirmed = path.suffix == ".nwb" and path.exists()  # the file dialog asked before replacing it
    path = path if path.suffix == ".nwb" else path.with_name(path.name + ".nwb")
    export = partial(export_project_nwb, project.root, path, run_dir=run_dir, overwrite=confirmed)
    window.state.post_message(f"Exporting {project.name} to {path}…", 0)

    def done(result: Any) -> None:
        videos = ", ".join(v.name for v in result.videos) or "no video predictions"
        window.state.post_message(f"Wrote {result.path}: {result.n_labeled_frames} labelled frames, {videos}", 10000)

    window.run_task(f"Exporting NWB to {path.name}", export, on_success=done, error_title="Cannot export NWB")


def _open_project(window: MainWindow) -> None:
    start = window.state.project.root.parent if window.state.project is not None else None
    folder = dialogs.ask_directory(window, "Open a project folder (Lightning Pose or DeepLabCut)", start)
    if folder is not None:
        window.open_project(folder)


def _open_model_folder(window: MainWindow) -> None:
    start = window.state.project.outputs_dir if window.state.project is not None else None
    folder = dialogs.ask_directory(window, "Open a Lightning Pose model folder (outputs/DATE/TIME)", start)
    if folder is not None:
        window.open_model_folder(folder)


def _add_videos(window: MainWindow) -> None:
    paths = dialogs.ask_video_files(window, "Add videos to the project")
    if paths:
        window.add_videos(paths)


def _training_pane(window: MainWindow) -> Any:
    window.show_pane("training")
    return window.pane("training")


def _attach_run(window: MainWindow) -> None:
    pane = _training_pane(window)
    if pane is not None:
        pane.cluster.ask_attach()


def _export_job(window: MainWindow) -> None:
    pane = _training_pane(window)
    if pane is not None:
        pane.cluster.open_export_dialog()


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "file.new_project", "&New Project…", "File", lambda w: w.new_project(), QKeySequence.StandardKey.New,
        "Create a project from labels (Lightning Pose, DeepLabCut or a CSV) and videos",
        QStyle.StandardPixmap.SP_FileDialogNewFolder, toolbar=True,
    ),
    ActionSpec(
        "file.open_project", "&Open Project…", "File", _open_project, QKeySequence.StandardKey.Open,
        "Open a Lightning Pose-style or DeepLabCut project folder", QStyle.StandardPixmap.SP_DialogOpenButton,
        toolbar=True,
    ),
    ActionSpec(
        "file.open_model_folder", "Open &Model Folder…", "File", _open_model_folder, "Ctrl+Shift+M",
        "Open a Lightning Pose model folder: its curves, predictions and (for supported types) its checkpoint",
        QStyle.StandardPixmap.SP_DirOpenIcon,
    ),
    ActionSpec(
        "file.open_example", "Open &Example Project", "File", lambda w: w.open_example_project(), "Ctrl+Shift+E",
        "Open the synthetic example project (generated the first time)", QStyle.StandardPixmap.SP_DirHomeIcon,
    ),
    ActionSpec(
        "file.add_videos", "&Add Videos…", "File", _add_videos, "Ctrl+Shift+A",
        "Copy videos into the project's videos folder", QStyle.StandardPixmap.SP_MediaPlay, toolbar=True,
        enabled_when=_has_project, separator_before=True,
    ),
    ActionSpec(
        "file.reload_project", "&Reload Project", "File", lambda w: w.reload_project(), QKeySequence.StandardKey.Refresh,
        "Read the project's files again", QStyle.StandardPixmap.SP_BrowserReload, toolbar=True,
        enabled_when=_has_project,
    ),
    ActionSpec(
        "file.close_project", "&Close Project", "File", lambda w: w.close_project(), QKeySequence.StandardKey.Close,
        "Close the project (back to the welcome page)", enabled_when=_has_project,
    ),
    ActionSpec(
        "file.attach_run", "A&ttach to Run…", "File", _attach_run, None,
        "Follow a run folder that another process or machine writes (read-only live curves)",
        separator_before=True,
    ),
    ActionSpec(
        "file.export_job", "E&xport Job…", "File", _export_job, None,
        "Write a run folder that trains elsewhere: train.sh and a SLURM job.sbatch", enabled_when=_has_project,
    ),
    ActionSpec(
        "file.export_nwb", "Export &NWB…", "File", _export_nwb, None,
        "Write the labelled frames and the current run's video predictions to a Neurodata Without Borders file "
        "(ndx-pose)", enabled_when=_has_project,
    ),
    ActionSpec(
        "file.quit", "&Quit", "File", lambda w: w.close(), QKeySequence.StandardKey.Quit,
        "Quit PoseDesk (asks first while a job runs)", separator_before=True,
    ),
    ActionSpec(
        "help.user_guide", "&User Guide", "Help", lambda w: w.show_help("guide"), QKeySequence.StandardKey.HelpContents,
        "What each pane is for, and the loop: label, train, review, fix",
    ),
    ActionSpec(
        "help.shortcuts", "&Keyboard Shortcuts", "Help", lambda w: w.show_help("shortcuts"), "Ctrl+/",
        "Every keyboard shortcut of the window and of each pane",
    ),
    ActionSpec(
        "help.check", "System &Check", "Help", lambda w: w.show_system_check(), None,
        "Check that this computer can run PoseDesk's window",
    ),
    ActionSpec(
        "help.about", "&About PoseDesk", "Help", lambda w: w.show_about(), None, "Version and licence",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class PaneShortcut:
    """A key a pane answers while it has the focus (Help > Keyboard shortcuts lists it).

    Attributes:
        id: Stable name (``review.play``).
        keys: Key sequence (``Shift+Right``).
        title: What it does, as the help lists it.
    """

    id: str
    keys: str
    title: str


REVIEW_SHORTCUTS: tuple[PaneShortcut, ...] = (
    PaneShortcut("review.play", "Space", "Play / pause"),
    PaneShortcut("review.next_frame", "Right", "Next frame"),
    PaneShortcut("review.previous_frame", "Left", "Previous frame"),
    PaneShortcut("review.forward_10", "Shift+Right", "10 frames forward"),
    PaneShortcut("review.back_10", "Shift+Left", "10 frames back"),
    PaneShortcut("review.first_frame", "Home", "First frame"),
    PaneShortcut("review.last_frame", "End", "Last frame"),
    PaneShortcut("review.next_problem", "N", "Next problem frame"),
    PaneShortcut("review.previous_problem", "P", "Previous problem frame"),
    PaneShortcut("review.faster", "]", "Play faster"),
    PaneShortcut("review.slower", "[", "Play slower"),
    PaneShortcut("review.go_to_frame", "Ctrl+G", "Go to frame (type its number)"),
    PaneShortcut("review.export_png", "Ctrl+Shift+S", "Export the frame on screen as a PNG"),
    PaneShortcut("review.fit", "F", "Fit the frame in the view (after zooming)"),
)


def action_spec(action_id: str) -> ActionSpec:
    """The declared action ``action_id``.

    Raises:
        KeyError: No such action.
    """
    for spec in ACTIONS:
        if spec.id == action_id:
            return spec
    raise KeyError(f"unknown action {action_id!r}; known: {', '.join(s.id for s in ACTIONS)}")
