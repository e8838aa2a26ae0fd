"""The label pane's declared actions (id, title, shortcut): the pane builds its QActions from them.

Like :data:`pose_gui.actions.ACTIONS` (same :class:`~pose_gui.actions.ActionSpec`), with menu
"Label"; the shortcuts work while the label pane is in front (``WidgetWithChildrenShortcut``), so
the arrows and letters mean something else in the review pane. ``callback(target)`` accepts the
label pane itself or the main window (it then finds the pane), so a keyboard-shortcut page or a
menu can trigger them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QKeySequence

from pose_gui.actions import ActionSpec


def _label_pane(target: Any) -> Any:
    """The label pane: ``target`` itself, or the main window's "label" pane (shown first)."""
    if hasattr(target, "show_pane") and hasattr(target, "pane"):
        target.show_pane("label")
        return target.pane("label")
    return target


def _call(method: str) -> Callable[[Any], object]:
    def callback(target: Any) -> object:
        pane = _label_pane(target)
        return getattr(pane, method)() if pane is not None else None

    return callback


def _spec(
    action_id: str, title: str, method: str, shortcut: str | QKeySequence.StandardKey | None, tip: str
) -> ActionSpec:
    return ActionSpec(f"label.{action_id}", title, "Label", _call(method), shortcut, tip)


LABEL_ACTIONS: tuple[ActionSpec, ...] = (
    _spec("undo", "&Undo", "undo", QKeySequence.StandardKey.Undo, "Undo the last label edit (any frame)"),
    _spec("redo", "&Redo", "redo", QKeySequence.StandardKey.Redo, "Redo the edit undone last (Ctrl+Shift+Z or Ctrl+Y)"),
    _spec("next_frame", "Next frame", "next_frame", "Right", "Show the next frame of the list"),
    _spec("previous_frame", "Previous frame", "previous_frame", "Left", "Show the previous frame of the list"),
    _spec("next_unfinished", "Next unfinished frame", "next_unfinished", "N", "Next frame with keypoints left to label"),
    _spec("next_keypoint", "Next keypoint", "next_keypoint", "Down", "Select the next keypoint (a click places it)"),
    _spec("previous_keypoint", "Previous keypoint", "previous_keypoint", "Up", "Select the previous keypoint"),
    _spec("clear_keypoint", "Clear keypoint", "clear_selected", "Delete", "Clear the selected keypoint on this frame"),
    _spec("toggle_labels", "Hide/show labels", "toggle_labels", "H", "Hide the markers to see the animal; again to show"),
    _spec("zoom_fit", "Zoom to fit", "zoom_fit", "F", "Show the whole frame"),
    _spec("zoom_in", "Zoom in", "zoom_in", "+", "Zoom in (the mouse wheel zooms towards the cursor)"),
    _spec("zoom_out", "Zoom out", "zoom_out", "-", "Zoom out"),
    _spec("accept_suggestions", "Accept all suggested points", "accept_suggestions", "A",
          "Make the model's suggested points (hollow) labels on this frame"),
    _spec("add_frames", "Add frames from video…", "add_frames_from_video", "Ctrl+Shift+F",
          "Choose frames of a video (uniform or k-means) and extract them to label"),
    _spec("suggest_frames", "Suggest frames…", "suggest_frames", "Ctrl+Shift+G",
          "Rank the videos' frames by how unsure the runs are and queue the N to label next, each with its reason"),
)  # fmt: skip
