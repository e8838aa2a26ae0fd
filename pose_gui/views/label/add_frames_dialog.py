"""AddFramesDialog: asks which video, how many frames and how to choose them ("Add frames from video...")."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QWidget,
)

from pose_gui import dialogs

METHOD_TITLES = {
    "kmeans": "k-means on appearance (frames that look different)",
    "uniform": "uniform (evenly spread in time)",
}


class AddFramesDialog(QDialog):
    """Video, number of frames (never one already labelled or within 2 frames of one) and method."""

    def __init__(self, videos: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add frames from video")
        self.video_combo = QComboBox()
        for video in videos:
            self.video_combo.addItem(video.name, str(video))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.video_combo, 1)
        row.addWidget(browse)
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 500)
        self.n_spin.setValue(10)
        self.n_spin.setSuffix(" frames")
        self.method_combo = QComboBox()
        for method, title in METHOD_TITLES.items():
            self.method_combo.addItem(title, method)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add frames")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Video", row)
        form.addRow("How many", self.n_spin)
        form.addRow("Choose", self.method_combo)
        form.addRow(buttons)

    def _on_browse_clicked(self) -> None:
        path = dialogs.ask_open_file(self, "Video to take frames from", None, dialogs.video_filter())
        if path:
            self.video_combo.addItem(Path(path).name, path)
            self.video_combo.setCurrentIndex(self.video_combo.count() - 1)

    def choice(self) -> tuple[Path, int, str] | None:
        """``(video, n, method)``, or None if no video was chosen."""
        data = self.video_combo.currentData()
        return (Path(str(data)), self.n_spin.value(), str(self.method_combo.currentData())) if data else None
