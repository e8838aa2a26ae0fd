"""InspectPanel: the review pane's side panel.

Likelihood threshold slider, hide/fade, trails, skeleton pairs, the keypoint legend (checkbox =
visible, selection = shown in the trace plot), problem navigation and export buttons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pose_gui.models.predictions import (
    DEFAULT_JUMP_PX,
    PROBLEM_JUMP,
    PROBLEM_LOW_LIKELIHOOD,
    PROBLEM_PCA,
    PROBLEM_SPREAD,
)
from pose_gui.style import ERROR_COLOR, color_swatch
from pose_gui.views.review.traces import PROBLEM_COLORS

PROBLEM_LABELS = {
    PROBLEM_LOW_LIKELIHOOD: "low likelihood",
    PROBLEM_JUMP: "jumps",
    PROBLEM_PCA: "PCA error",
    PROBLEM_SPREAD: "ensemble spread",
}
N_TRACE_KEYPOINTS = 3  # keypoints selected for the trace plot when predictions are loaded
DEFAULT_CLIP_FRAMES = 300


def parse_skeleton(text: str, names: Sequence[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """Parse ``"nose-paw1, paw1-paw2"`` into keypoint index pairs.

    Returns:
        The pairs and the parts that name unknown keypoints or are not ``a-b``.
    """
    pairs: list[tuple[int, int]] = []
    bad: list[str] = []
    index = {name: i for i, name in enumerate(names)}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        a, sep, b = part.partition("-")
        if sep and a.strip() in index and b.strip() in index:
            pairs.append((index[a.strip()], index[b.strip()]))
        else:
            bad.append(part)
    return pairs, bad


NO_PREDICTIONS_TEXT = "No predictions"  # the problem counts when no predictions are shown


FRAME_PROBLEM_LINES = 3
"""Lines of text the current frame's problems have room for."""


class InspectPanel(QWidget):
    """Inspection controls (see the module docstring).

    Signals:
        threshold_moved(float): The user moved the threshold slider.
        overlay_changed(): Fade, trails, skeleton or visibility changed.
        traces_changed(): The keypoints chosen for the trace plot changed.
        jump_changed(): The jump threshold changed.
        problem_requested(int): Go to the next (+1) or previous (-1) problem frame.
        export_png_clicked(), export_clip_clicked(): Export buttons.
    """

    threshold_moved = Signal(float)
    overlay_changed = Signal()
    traces_changed = Signal()
    jump_changed = Signal()
    problem_requested = Signal(int)
    export_png_clicked = Signal()
    label_frame_clicked = Signal()
    send_problems_clicked = Signal()
    export_clip_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_display_box())
        layout.addWidget(self._build_keypoint_box(), 1)
        layout.addWidget(self._build_problem_box())
        layout.addWidget(self._build_export_box())

    def _build_display_box(self) -> QGroupBox:
        box = QGroupBox("Display")
        form = QFormLayout(box)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setToolTip("Keypoints with a likelihood below this are hidden or faded")
        self.threshold_slider.valueChanged.connect(lambda v: self.threshold_moved.emit(v / 100.0))
        self.threshold_label = QLabel("0.90")
        row = QHBoxLayout()
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_label)
        form.addRow("Likelihood ≥", row)
        self.fade_check = QCheckBox("Fade low-likelihood points instead of hiding them")
        self.fade_check.toggled.connect(self.overlay_changed)
        form.addRow(self.fade_check)
        self.trail_spin = QSpinBox()
        self.trail_spin.setRange(0, 200)
        self.trail_spin.setSuffix(" frames")
        self.trail_spin.setToolTip("Show the keypoints of this many previous frames")
        self.trail_spin.valueChanged.connect(self.overlay_changed)
        form.addRow("Trails:", self.trail_spin)
        self.skeleton_check = QCheckBox("Skeleton")
        self.skeleton_check.setChecked(True)
        self.skeleton_check.toggled.connect(self.overlay_changed)
        self.skeleton_edit = QLineEdit()
        self.skeleton_edit.setPlaceholderText("nose-paw1, paw1-paw2")
        self.skeleton_edit.setToolTip("Pairs of keypoint names joined by a line, separated by commas")
        self.skeleton_edit.editingFinished.connect(self._on_skeleton_edit_finished)
        form.addRow(self.skeleton_check, self.skeleton_edit)
        return box

    def _build_keypoint_box(self) -> QGroupBox:
        box = QGroupBox("Keypoints (tick = shown, select = traces)")
        layout = QVBoxLayout(box)
        self.keypoint_list = QListWidget()
        self.keypoint_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.keypoint_list.itemChanged.connect(lambda _item: self.overlay_changed.emit())
        self.keypoint_list.itemSelectionChanged.connect(self.traces_changed)
        layout.addWidget(self.keypoint_list)
        return box

    def _build_problem_box(self) -> QGroupBox:
        box = QGroupBox("Problems")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.prev_problem_button = QPushButton("◀ Previous (P)")
        self.prev_problem_button.clicked.connect(lambda: self.problem_requested.emit(-1))
        self.next_problem_button = QPushButton("Next (N) ▶")
        self.next_problem_button.clicked.connect(lambda: self.problem_requested.emit(1))
        row.addWidget(self.prev_problem_button)
        row.addWidget(self.next_problem_button)
        layout.addLayout(row)
        self.jump_spin = QDoubleSpinBox()
        self.jump_spin.setRange(1.0, 10_000.0)
        self.jump_spin.setValue(DEFAULT_JUMP_PX)
        self.jump_spin.setSuffix(" px")
        self.jump_spin.setToolTip("A keypoint moving more than this between frames counts as a jump")
        self.jump_spin.valueChanged.connect(self.jump_changed)
        jump_row = QHBoxLayout()
        jump_row.addWidget(QLabel("Jump above"))
        jump_row.addWidget(self.jump_spin)
        layout.addLayout(jump_row)
        self.problem_count_label = QLabel(NO_PREDICTIONS_TEXT)
        self.frame_problem_label = QLabel("")
        self.frame_problem_label.setWordWrap(True)
        # room for a problem line and the hidden-keypoints note (3 lines), fixed: no relayout of the
        # panel on every frame while playing; a longer text is whole in the tooltip
        self.frame_problem_label.setFixedHeight(
            FRAME_PROBLEM_LINES * self.frame_problem_label.fontMetrics().lineSpacing() + 4
        )
        self.frame_problem_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.problem_count_label)
        layout.addWidget(self.frame_problem_label)
        label_row = QHBoxLayout()
        self.label_frame_button = QPushButton("Label this frame")
        self.label_frame_button.setToolTip("Extract this frame and open it in the Label pane")
        self.label_frame_button.clicked.connect(self.label_frame_clicked)
        self.send_problems_button = QPushButton("Send problem frames to labelling")
        self.send_problems_button.setToolTip("Extract the problem strip's frames and queue them in the Label pane")
        self.send_problems_button.clicked.connect(self.send_problems_clicked)
        label_row.addWidget(self.label_frame_button)
        label_row.addWidget(self.send_problems_button)
        layout.addLayout(label_row)
        return box

    def _build_export_box(self) -> QGroupBox:
        box = QGroupBox("Export")
        layout = QVBoxLayout(box)
        self.export_png_button = QPushButton("Frame as PNG…")
        self.export_png_button.clicked.connect(self.export_png_clicked)
        layout.addWidget(self.export_png_button)
        row = QHBoxLayout()
        self.clip_start = QSpinBox()
        self.clip_stop = QSpinBox()
        self.clip_start.setToolTip("First frame of the clip")
        self.clip_stop.setToolTip("Last frame of the clip")
        row.addWidget(self.clip_start)
        row.addWidget(QLabel("to"))
        row.addWidget(self.clip_stop)
        self.export_clip_button = QPushButton("Clip…")
        self.export_clip_button.clicked.connect(self.export_clip_clicked)
        row.addWidget(self.export_clip_button)
        layout.addLayout(row)
        return box

    # ------------------------------------------------------------------ content

    def set_keypoints(self, names: Sequence[str], colors: Sequence[QColor]) -> None:
        """Fill the legend (all ticked) and select the first keypoints for the traces (emits nothing)."""
        if list(names) == self.names:
            return
        self.names = list(names)
        self.keypoint_list.blockSignals(True)
        self.keypoint_list.clear()
        for k, (name, color) in enumerate(zip(names, colors, strict=True)):
            item = QListWidgetItem(color_swatch(color), name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.keypoint_list.addItem(item)
            item.setSelected(k < N_TRACE_KEYPOINTS)
        self.keypoint_list.blockSignals(False)
        self._on_skeleton_edit_finished()

    def set_threshold(self, threshold: float) -> None:
        """Show ``threshold`` (emits nothing)."""
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(round(threshold * 100))
        self.threshold_slider.blockSignals(False)
        self.threshold_label.setText(f"{threshold:.2f}")

    def set_clip_range(self, n_frames: int) -> None:
        """A video of ``n_frames`` is open: the clip range spans its first frames."""
        for spin in (self.clip_start, self.clip_stop):
            spin.setRange(0, max(0, n_frames - 1))
        self.clip_start.setValue(0)
        self.clip_stop.setValue(min(n_frames, DEFAULT_CLIP_FRAMES) - 1)

    def clip_range(self) -> tuple[int, int]:
        """``(start, stop)`` frame range of the clip (stop exclusive)."""
        return self.clip_start.value(), self.clip_stop.value() + 1

    def set_problem_counts(self, counts: dict[int, int], n_frames: int, has_pca: bool) -> None:
        """Show how many frames have each kind of problem (coloured like the problem strip)."""
        parts = [f"{n_frames} frame{'s' * (n_frames != 1)} with problems:"]
        for flag, label in PROBLEM_LABELS.items():
            if flag == PROBLEM_PCA and not has_pca:
                parts.append("no PCA fit in this run")
                continue
            if flag == PROBLEM_SPREAD and flag not in counts:
                continue  # not an ensemble
            red, green, blue, _alpha = PROBLEM_COLORS[flag]
            parts.append(f"<span style='color:rgb({red},{green},{blue})'>■</span> {label} {counts.get(flag, 0)}")
        self.problem_count_label.setText("<br>".join(parts))

    def clear_problem_counts(self) -> None:
        """No predictions are shown: no counts."""
        self.problem_count_label.setText(NO_PREDICTIONS_TEXT)

    def set_frame_problem(self, text: str) -> None:
        """Show the current frame's problems."""
        self.frame_problem_label.setText(f"This frame: {text}" if text else "")
        self.frame_problem_label.setToolTip(self.frame_problem_label.text())

    @property
    def fade(self) -> bool:
        """Fade instead of hide."""
        return self.fade_check.isChecked()

    @property
    def trail_frames(self) -> int:
        """Trail length in frames."""
        return self.trail_spin.value()

    @property
    def jump_px(self) -> float:
        """Jump threshold in pixels."""
        return self.jump_spin.value()

    @property
    def show_skeleton(self) -> bool:
        """Skeleton switched on."""
        return self.skeleton_check.isChecked()

    def visible_mask(self) -> np.ndarray:
        """K booleans: the ticked keypoints."""
        items = [self.keypoint_list.item(i) for i in range(self.keypoint_list.count())]
        return np.array([item.checkState() == Qt.CheckState.Checked for item in items], dtype=bool)

    def trace_keypoints(self) -> list[int]:
        """Indices of the keypoints selected for the trace plot."""
        return sorted(self.keypoint_list.row(item) for item in self.keypoint_list.selectedItems())

    def skeleton_pairs(self) -> list[tuple[int, int]]:
        """The valid skeleton pairs."""
        return parse_skeleton(self.skeleton_edit.text(), self.names)[0]

    def _on_skeleton_edit_finished(self) -> None:
        _pairs, bad = parse_skeleton(self.skeleton_edit.text(), self.names)
        if bad and self.names:
            self.skeleton_edit.setStyleSheet(f"color: {ERROR_COLOR}")
            self.skeleton_edit.setToolTip(
                f"Not understood: {', '.join(bad)}. Write pairs of keypoint names as a-b, separated by commas; "
                f"keypoints: {', '.join(self.names)}"
            )
        else:
            self.skeleton_edit.setStyleSheet("")
            self.skeleton_edit.setToolTip("Pairs of keypoint names joined by a line, separated by commas")
        self.overlay_changed.emit()
