"""LabelCommandsMixin: the label pane's commands behind its declared actions (undo, frames, keypoints, zoom).

Each public method here is the target of one :data:`~pose_gui.views.label.actions.LABEL_ACTIONS`
entry; they change the view or ask the session for an edit, never the labels directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pose_gui.views.label.canvas import ZOOM_STEP


class LabelCommandsMixin:
    """Commands of :class:`~pose_gui.views.label.pane.LabelPane`.

    The pane provides the attributes annotated below and ``show_frame``, ``_select_keypoint``,
    ``_edit``, ``_names`` and ``_on_canvas_clear_requested``.
    """

    session: Any
    current_path: str | None
    selected_keypoint: int
    frame_list: Any
    canvas: Any
    state: Any
    suggestions: Any
    actions_by_id: dict[str, Any]
    # Provided by the pane (declared here so the commands type-check against it).
    show_frame: Callable[[str], None]
    _select_keypoint: Callable[[int], None]
    _names: Callable[[], list[str]]
    _on_canvas_clear_requested: Callable[[int], None]
    _draw_points: Callable[[], None]
    _edit: Callable[[Any], bool]

    def undo(self) -> None:
        """Undo the last edit (on whichever frame it was; that frame is shown)."""
        self._undo_redo(undo=True)

    def redo(self) -> None:
        """Redo the last undone edit."""
        self._undo_redo(undo=False)

    def _undo_redo(self, *, undo: bool) -> None:
        stack = self.session.undo_stack if self.session is not None else None
        if stack is None or not (stack.canUndo() if undo else stack.canRedo()):
            return
        command = stack.command(stack.index() - 1 if undo else stack.index())
        path = getattr(command, "image_path", None)
        if path is not None and path != self.current_path:
            self.show_frame(path)
        stack.undo() if undo else stack.redo()

    def _on_undo_stack_index_changed(self, _index: int) -> None:
        self._update_undo_actions()

    def _update_undo_actions(self) -> None:
        stack = self.session.undo_stack if self.session is not None else None
        for action_id, can, text in (
            ("label.undo", stack is not None and stack.canUndo(), stack.undoText() if stack else ""),
            ("label.redo", stack is not None and stack.canRedo(), stack.redoText() if stack else ""),
        ):
            action = self.actions_by_id[action_id]
            action.setEnabled(bool(can))
            action.setStatusTip(text)

    def _step_frame(self, step: int, *, unfinished: bool = False) -> None:
        paths = self.frame_list.ordered_paths()
        if not paths:
            return
        start = paths.index(self.current_path) if self.current_path in paths else -step
        for offset in range(1, len(paths) + 1):
            candidate = paths[(start + step * offset) % len(paths)]
            if not unfinished or not self.frame_list.is_done(candidate):
                if not unfinished and (start + step * offset) not in range(len(paths)):
                    return  # no wrap-around for plain next/previous
                self.show_frame(candidate)
                return
        self.state.post_message("Every frame is fully labelled.", 5000)

    def next_frame(self) -> None:
        """Show the next frame of the list."""
        self._step_frame(1)

    def previous_frame(self) -> None:
        """Show the previous frame of the list."""
        self._step_frame(-1)

    def next_unfinished(self) -> None:
        """Show the next frame that still has unlabelled keypoints."""
        self._step_frame(1, unfinished=True)

    def next_keypoint(self) -> None:
        """Select the next keypoint."""
        self._select_keypoint((self.selected_keypoint + 1) % max(1, len(self._names())))

    def previous_keypoint(self) -> None:
        """Select the previous keypoint."""
        self._select_keypoint((self.selected_keypoint - 1) % max(1, len(self._names())))

    def clear_selected(self) -> None:
        """Clear the selected keypoint on this frame."""
        self._on_canvas_clear_requested(self.selected_keypoint)

    def toggle_labels(self) -> None:
        """Hide or show the markers."""
        self.canvas.set_labels_visible(not self.canvas.labels_visible)
        self._draw_points()

    def zoom_fit(self) -> None:
        """Show the whole frame."""
        self.canvas.fit()

    def zoom_in(self) -> None:
        """Zoom in around the view's centre."""
        self.canvas.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        """Zoom out around the view's centre."""
        self.canvas.zoom_by(1 / ZOOM_STEP)

    def accept_suggestions(self) -> None:
        """Make every suggested (hollow) point of this frame a label, as one undo step."""
        if self.session is None or self.current_path is None:
            return
        suggestions = self.suggestions.get(self.current_path)
        if suggestions is None:
            return
        points = self.session.points(self.current_path)
        merged = np.where(np.isnan(points), suggestions, points)
        self._edit(lambda s, p: s.set_points(p, merged, "Accept suggested points"))
