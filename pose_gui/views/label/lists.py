"""The label pane's two lists: frames (grouped by video, "k / K", done mark, why queued, filter) and keypoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pose_gui.style import color_swatch

PATH_ROLE = Qt.ItemDataRole.UserRole
DONE_MARK = "✓"


def group_of(image_path: str) -> str:
    """The group (video) of an image path: its folder under ``labeled-data``."""
    parts = image_path.replace("\\", "/").split("/")
    return parts[-2] if len(parts) >= 2 else "(top folder)"


class FrameList(QWidget):
    """Every labelled and queued frame, grouped by video, with "k / K keypoints" and a done mark.

    Signals:
        frame_chosen(str): The user clicked a frame (its image path).
    """

    frame_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.unfinished_only = QCheckBox("Unfinished only")
        self.unfinished_only.setToolTip("Show only frames with keypoints left to label")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Frame", "Keypoints", "Why"])
        self.tree.setColumnWidth(0, 170)
        self.tree.setColumnWidth(1, 80)
        self.tree.setUniformRowHeights(True)
        self.summary = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.unfinished_only)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._n_keypoints = 0
        self._count: Callable[[str], int] = lambda _path: 0
        self.tree.itemClicked.connect(self._on_tree_item_clicked)
        self.tree.currentItemChanged.connect(lambda item, _old: self._on_tree_item_clicked(item, 0))
        self.unfinished_only.toggled.connect(lambda _on: self._apply_filter())

    def set_frames(
        self, image_paths: Sequence[str], n_keypoints: int, count: Callable[[str], int], notes: dict[str, str]
    ) -> None:
        """Fill the list; ``count(path)`` is the number of labelled keypoints, ``notes`` a per-frame remark."""
        self._n_keypoints, self._count = n_keypoints, count
        self.tree.blockSignals(True)
        self.tree.clear()
        self._items = {}
        groups: dict[str, QTreeWidgetItem] = {}
        for path in image_paths:
            group = group_of(path)
            if group not in groups:
                groups[group] = QTreeWidgetItem(self.tree, [group, ""])
                groups[group].setFlags(Qt.ItemFlag.ItemIsEnabled)
                groups[group].setExpanded(True)
            item = QTreeWidgetItem(groups[group], [path.rsplit("/", 1)[-1], ""])
            item.setData(0, PATH_ROLE, path)
            item.setToolTip(0, path + (f"\n{notes[path]}" if notes.get(path) else ""))
            self._items[path] = item
            self.update_frame(path, notes.get(path, ""))
        self.tree.blockSignals(False)
        self._apply_filter()

    def update_frame(self, image_path: str, note: str | None = None) -> None:
        """Refresh one frame's "k / K" and done mark."""
        item = self._items.get(image_path)
        if item is None:
            return
        k = self._count(image_path)
        done = k == self._n_keypoints and self._n_keypoints > 0
        item.setText(1, f"{k} / {self._n_keypoints}" + (f"  {DONE_MARK}" if done else ""))
        item.setData(1, PATH_ROLE, done)
        if note is not None:
            item.setForeground(0, QColor("#d32f2f") if note == "missing" else QColor())
            if note == "missing":
                item.setText(0, f"{image_path.rsplit('/', 1)[-1]}  ({note})")
            elif note:
                item.setText(2, note.removeprefix("queued: "))  # why it was queued (widen the list to read it all)
                item.setToolTip(2, note)
        self._summarise()
        if self.unfinished_only.isChecked():
            item.setHidden(done and image_path != self.current_path())

    def _summarise(self) -> None:
        done = sum(1 for item in self._items.values() if item.data(1, PATH_ROLE))
        self.summary.setText(f"{done} of {len(self._items)} frames done")

    def _apply_filter(self) -> None:
        only = self.unfinished_only.isChecked()
        for item in self._items.values():
            item.setHidden(bool(only and item.data(1, PATH_ROLE)))

    def paths(self, *, visible_only: bool = False) -> list[str]:
        """Frame paths in list order (optionally only those the filter shows)."""
        return [p for p, item in self._items.items() if not (visible_only and item.isHidden())]

    def ordered_paths(self) -> list[str]:
        """Frame paths in the order shown (groups, then frames)."""
        ordered: list[str] = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            if group is None:
                continue
            children = (group.child(i) for i in range(group.childCount()))
            ordered.extend(str(child.data(0, PATH_ROLE)) for child in children if child is not None)
        return ordered

    def is_done(self, image_path: str) -> bool:
        """True if every keypoint of the frame is labelled."""
        item = self._items.get(image_path)
        return bool(item is not None and item.data(1, PATH_ROLE))

    def current_path(self) -> str | None:
        """The frame selected in the list."""
        item = self.tree.currentItem()
        value = item.data(0, PATH_ROLE) if item is not None else None
        return str(value) if value else None

    def select(self, image_path: str) -> None:
        """Select (and scroll to) a frame without emitting :attr:`frame_chosen`."""
        item = self._items.get(image_path)
        if item is not None:
            self.tree.blockSignals(True)
            item.setHidden(False)
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
            self.tree.blockSignals(False)

    def _on_tree_item_clicked(self, item: QTreeWidgetItem | None, _column: int) -> None:
        value = item.data(0, PATH_ROLE) if item is not None else None
        if value:
            self.frame_chosen.emit(str(value))


class KeypointList(QListWidget):
    """The keypoints in the project's colours; the selected one is placed by the next click.

    Signals:
        keypoint_chosen(int): The user selected a keypoint.
    """

    keypoint_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self.currentRowChanged.connect(self._on_current_row_changed)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def set_keypoints(self, names: Sequence[str], colors: Sequence[QColor]) -> None:
        """One row per keypoint with its colour swatch."""
        self.blockSignals(True)
        self.clear()
        self._names = list(names)
        for name, color in zip(names, colors, strict=True):
            self.addItem(QListWidgetItem(color_swatch(color), name))
        self.blockSignals(False)

    def set_labelled(self, labelled: Sequence[bool], suggested: Sequence[bool]) -> None:
        """Mark the keypoints labelled (✓) or suggested (○) on the current frame."""
        for k, name in enumerate(self._names):
            item = self.item(k)
            mark = f"  {DONE_MARK}" if labelled[k] else ("  ○ suggested" if suggested[k] else "")
            item.setText(name + mark)

    def select(self, keypoint_idx: int) -> None:
        """Select a keypoint without emitting :attr:`keypoint_chosen`."""
        self.blockSignals(True)
        self.setCurrentRow(keypoint_idx)
        self.blockSignals(False)

    def _on_current_row_changed(self, row: int) -> None:
        if row >= 0:
            self.keypoint_chosen.emit(row)
