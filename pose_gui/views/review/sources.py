"""SourceBar: which video, which run's (or ensemble's) predictions, which run to compare with, and the job controls.

An ensemble is listed in the run chooser like a run ("Ensemble 15-40-00 (3 runs)"); choosing it
shows the "Show" chooser (EKS, ensemble mean, or one member) and the "Predict with EKS" button.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from pose_gui import dialogs

NO_COMPARE = "(none)"
ENSEMBLE_PREFIX = "ensemble:"  # run chooser data of an ensemble entry: the prefix + its output folder


def _select_data(combo: QComboBox, value: Path | None) -> None:
    index = combo.findData(str(value) if value is not None else "")
    combo.blockSignals(True)
    combo.setCurrentIndex(index)
    combo.blockSignals(False)


def _path_at(combo: QComboBox, index: int) -> Path | None:
    """The path stored (as text) in item ``index``; None for the "(none)" item."""
    data = combo.itemData(index)
    return Path(data) if data else None


def _select_text(combo: QComboBox, data: str) -> None:
    combo.blockSignals(True)
    combo.setCurrentIndex(combo.findData(data))
    combo.blockSignals(False)


class SourceBar(QWidget):
    """Video, run and comparison-run choosers and the prediction job controls.

    Signals:
        video_chosen(object): A video ``Path`` was chosen.
        run_chosen(object): A run directory ``Path`` was chosen.
        compare_chosen(object): A run ``Path`` to compare with, or None.
        ensemble_chosen(object): An ensemble was chosen in the run chooser (its output folder ``Path``).
        source_chosen(str): The ensemble's source of keypoints: ``eks``, ``mean`` or a member's folder.
        predict_clicked(): Predict the video with the run.
        eks_clicked(): Predict the video with the ensemble's members and smooth it (EKS).
        cancel_clicked(): Cancel the prediction job.
    """

    video_chosen = Signal(object)
    run_chosen = Signal(object)
    compare_chosen = Signal(object)
    ensemble_chosen = Signal(object)
    source_chosen = Signal(str)
    predict_clicked = Signal()
    eks_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.video_combo = QComboBox()
        self.video_combo.setMinimumContentsLength(18)
        self.video_combo.setToolTip("Video to review (the project's videos and files you opened)")
        self.video_combo.activated.connect(lambda i: self.video_chosen.emit(_path_at(self.video_combo, i)))
        self.open_button = QPushButton("Open video…")
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.run_combo = QComboBox()
        self.run_combo.setMinimumContentsLength(28)
        self.run_combo.setToolTip("Run whose predictions are shown")
        self.run_combo.activated.connect(self._on_run_combo_activated)
        self.source_label = QLabel("Show:")
        self.source_combo = QComboBox()
        self.source_combo.setMinimumContentsLength(16)
        self.source_combo.setToolTip(
            "Keypoints drawn: the Ensemble Kalman Smoother's output, the mean of the members, or one member"
        )
        self.source_combo.activated.connect(lambda i: self.source_chosen.emit(str(self.source_combo.itemData(i))))
        self.eks_button = QPushButton("Predict with EKS")
        self.eks_button.setToolTip(
            "Predict this video with every member that has not yet (existing predictions are reused), then write the "
            "ensemble mean, variance and the Ensemble Kalman smoothed keypoints"
        )
        self.eks_button.clicked.connect(self.eks_clicked)
        self.compare_combo = QComboBox()
        self.compare_combo.setMinimumContentsLength(28)
        self.compare_combo.setToolTip("Overlay a second run's predictions as crosses")
        self.compare_combo.activated.connect(lambda i: self.compare_chosen.emit(_path_at(self.compare_combo, i)))
        self.predict_button = QPushButton("Predict video")
        self.predict_button.setToolTip("Run pose-predict on this video with the chosen run")
        self.predict_button.clicked.connect(self.predict_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(300)  # the full text is its tooltip too
        self.progress.setMaximumWidth(420)
        for combo, n_chars in (
            (self.video_combo, 16),
            (self.run_combo, 20),
            (self.compare_combo, 16),
            (self.source_combo, 14),
        ):
            # the bar fits a 1600 px screen with an ensemble's controls and a job (tests/gui/test_ensemble_review.py);
            # the run and comparison choosers take the room a wider window has
            combo.setMinimumContentsLength(n_chars)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.show_ensemble(None, "", [])
        self.set_job_running(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        widgets: list[QWidget] = [QLabel("Video:"), self.video_combo, self.open_button, QLabel("Run:"), self.run_combo]
        widgets += [self.source_label, self.source_combo, self.predict_button, self.eks_button, self.progress]
        widgets += [self.cancel_button, QLabel("Compare with:"), self.compare_combo]
        for widget in widgets:
            layout.addWidget(widget, 2 if widget is self.run_combo else 1 if widget is self.compare_combo else 0)
        self.folder: Path | None = None

    def set_videos(self, videos: list[Path], current: Path | None) -> None:
        """List ``videos`` (plus ``current`` if it is another file) and select ``current``."""
        self.video_combo.clear()
        for video in [*videos, *([current] if current is not None and current not in videos else [])]:
            self.video_combo.addItem(video.name, str(video))
            self.video_combo.setItemData(self.video_combo.count() - 1, str(video), 3)  # tooltip role
        _select_data(self.video_combo, current)

    def set_runs(
        self,
        runs: list[tuple[Path, str]],
        current: Path | None,
        compare: Path | None,
        ensembles: list[tuple[Path, str]] | None = None,
        current_ensemble: Path | None = None,
    ) -> None:
        """List runs as ``(path, label)`` and ensembles as ``(output folder, label)``; select the current ones.

        Args:
            runs: The runs, newest first.
            current: The run shown (selected unless an ensemble is).
            compare: The comparison run.
            ensembles: The ensembles, listed first (choosing one emits :attr:`ensemble_chosen`).
            current_ensemble: The ensemble shown (selected instead of ``current``).
        """
        self.run_combo.clear()
        self.compare_combo.clear()
        self.compare_combo.addItem(NO_COMPARE, "")
        for folder, label in ensembles or []:
            self.run_combo.addItem(label, ENSEMBLE_PREFIX + str(folder))
        if current is not None and current not in [p for p, _ in runs]:
            runs = [*runs, (current, f"{current.parent.name}/{current.name}")]
        for path, label in runs:
            self.run_combo.addItem(label, str(path))
            self.compare_combo.addItem(label, str(path))
        if current_ensemble is not None:
            _select_text(self.run_combo, ENSEMBLE_PREFIX + str(current_ensemble))
        else:
            _select_data(self.run_combo, current)
        _select_data(self.compare_combo, compare)

    def show_ensemble(self, label: str | None, source: str, sources: list[tuple[str, str]]) -> None:
        """Show the "Show" chooser with ``sources`` (``(data, title)``) and select ``source`` (None hides it)."""
        shown = label is not None
        self.source_combo.clear()
        for data, title in sources:
            self.source_combo.addItem(title, data)
        _select_text(self.source_combo, source)
        for widget in (self.source_label, self.source_combo, self.eks_button):
            widget.setVisible(shown)

    def _on_run_combo_activated(self, index: int) -> None:
        data = str(self.run_combo.itemData(index) or "")
        if data.startswith(ENSEMBLE_PREFIX):
            self.ensemble_chosen.emit(Path(data[len(ENSEMBLE_PREFIX) :]))
        else:
            self.run_chosen.emit(Path(data) if data else None)

    def set_job_running(self, running: bool) -> None:
        """Show the progress bar and Cancel while a job runs."""
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.predict_button.setEnabled(not running)
        self.eks_button.setEnabled(not running)
        self.predict_button.setVisible(not running)  # the progress bar takes their place
        self.eks_button.setVisible(not running and self.source_combo.count() > 0)
        if running:
            self.progress.setRange(0, 0)

    def set_progress(self, done: int, total: int, text: str) -> None:
        """Show job progress."""
        self.progress.setRange(0, max(total, 1) if total > 0 else 0)  # total 0: busy, no count
        self.progress.setValue(done)
        self.progress.setFormat(text)
        self.progress.setToolTip(text)

    def _on_open_button_clicked(self) -> None:
        path = dialogs.ask_open_file(self, "Open video", self.folder, dialogs.video_filter())
        if path is not None:
            self.video_chosen.emit(path)
