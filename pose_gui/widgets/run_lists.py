"""What the two run lists (the Project pane's Training runs, the Training pane's History) share."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeView


def fit_columns_with_elided_names(view: QTreeView) -> None:
    """Every column as wide as its contents but the first (the run names), which takes the room left.

    A long name (``ensemble 2026-12-03/17-54-46 (3 runs)``) is elided in the middle rather than
    pushing the last columns (test error, From) off the right at the window's default size.
    """
    header = view.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
