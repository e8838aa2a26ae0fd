"""What the two run lists (the Project pane's Training runs, the Training pane's History) share."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeView


def fit_columns_with_elided_names(view: QTreeView) -> None:
    """Every column as wide as its contents but the first (the run names), which takes the room left.

    A long name (``ensemble 2026-12-03/17-54-46 (3 runs)``) is elided at its start (the end tells
    runs apart: ``…-54-46-seed0``) rather than pushing the last columns (test error, From) off the
    right at the window's default size; the row's tooltip has the whole path.
    """
    header = view.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    view.setTextElideMode(Qt.TextElideMode.ElideLeft)
