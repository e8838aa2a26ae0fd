"""NavigationBar: play/pause with a speed control, ±1 / ±10 steps, a slider, a frame box, counter and timestamp."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QStyle, QWidget

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


def format_timestamp(frame_idx: int, fps: float) -> str:
    """``mm:ss.cc`` of a frame at ``fps`` (``--:--`` when the frame rate is unknown)."""
    if fps <= 0 or not math.isfinite(fps):
        return "--:--"
    seconds = frame_idx / fps
    return f"{int(seconds // 60):02d}:{seconds % 60:05.2f}"


class NavigationBar(QWidget):
    """Controls that move through a video; they emit intents, the pane moves the frame.

    Signals:
        frame_requested(int): Go to this frame.
        play_toggled(bool): Play (True) or pause.
        speed_changed(float): Playback speed factor.
    """

    frame_requested = Signal(int)
    play_toggled = Signal(bool)
    speed_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.n_frames = 0
        self.fps = 0.0
        self.frame_idx = 0
        self.play_button = QPushButton("Play")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.toggled.connect(self._on_play_button_toggled)
        self.speed_combo = QComboBox()
        self.speed_combo.addItems([f"{s:g}×" for s in SPEEDS])
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_combo.setToolTip("Playback speed ([ and ] change it)")
        self.speed_combo.currentIndexChanged.connect(lambda i: self.speed_changed.emit(SPEEDS[i]))
        self.step_buttons = []
        for step, tip in ((-10, "Shift+Left"), (-1, "Left"), (1, "Right"), (10, "Shift+Right")):
            button = QPushButton(f"{step:+d}")
            button.setToolTip(f"Step {step:+d} frame{'s' * (abs(step) > 1)} ({tip})")
            button.setFixedWidth(44)
            button.clicked.connect(lambda _checked=False, s=step: self.step(s))
            self.step_buttons.append(button)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Frame (Home / End: first / last)")
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.frame_box = QSpinBox()
        self.frame_box.setToolTip("Frame number (Ctrl+G); press Enter to go")
        self.frame_box.setKeyboardTracking(False)
        self.frame_box.valueChanged.connect(self._on_frame_box_value_changed)
        self.counter = QLabel("no video")
        self.counter.setMinimumWidth(200)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.speed_combo)
        for button in self.step_buttons:
            layout.addWidget(button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.frame_box)
        layout.addWidget(self.counter)
        self.set_range(0, 0.0)

    @property
    def speed(self) -> float:
        """The chosen playback speed factor."""
        return SPEEDS[self.speed_combo.currentIndex()]

    def change_speed(self, steps: int) -> None:
        """Choose the next faster (+1) or slower (-1) speed."""
        index = min(max(self.speed_combo.currentIndex() + steps, 0), len(SPEEDS) - 1)
        self.speed_combo.setCurrentIndex(index)

    def set_range(self, n_frames: int, fps: float) -> None:
        """A video with ``n_frames`` at ``fps`` is open (0 = none)."""
        self.n_frames, self.fps = n_frames, fps
        last = max(0, n_frames - 1)
        for widget in (self.slider, self.frame_box):
            widget.blockSignals(True)
            widget.setRange(0, last)
            widget.blockSignals(False)
        self.setEnabled(n_frames > 0)
        if n_frames == 0:
            self.set_playing(False)
        self.show_frame(min(self.frame_idx, last))

    def show_frame(self, frame_idx: int) -> None:
        """Reflect the current frame in the slider, box and counter (emits nothing)."""
        self.frame_idx = frame_idx
        for widget in (self.slider, self.frame_box):
            widget.blockSignals(True)
            widget.setValue(frame_idx)
            widget.blockSignals(False)
        if self.n_frames == 0:
            self.counter.setText("no video")
        else:
            stamp = format_timestamp(frame_idx, self.fps)
            self.counter.setText(f"frame {frame_idx} / {self.n_frames - 1}  ·  {stamp}")

    def set_playing(self, playing: bool) -> None:
        """Show the play state (emits :attr:`play_toggled` if it changes)."""
        self.play_button.setChecked(playing)

    def step(self, n_frames: int) -> None:
        """Ask for the frame ``n_frames`` away from the current one (clipped to the video)."""
        if self.n_frames:
            self.frame_requested.emit(min(max(self.frame_idx + n_frames, 0), self.n_frames - 1))

    def _on_play_button_toggled(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")  # a standard icon: fonts may lack ⏸
        pixmap = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(pixmap))
        self.play_toggled.emit(playing)

    def _on_slider_value_changed(self, value: int) -> None:
        self.frame_requested.emit(value)

    def _on_frame_box_value_changed(self, value: int) -> None:
        self.frame_requested.emit(value)
