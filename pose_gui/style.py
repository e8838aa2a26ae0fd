"""Colours and small drawing helpers shared by panes: keypoint colours, run-status colours, icons, headings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QLabel

from pose_core.runs.status import RunStatus

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
ICON_PATH = RESOURCES_DIR / "posedesk.svg"

STATUS_COLORS: dict[str, str] = {
    RunStatus.FINISHED: "#2e7d32",
    RunStatus.RUNNING: "#1565c0",
    RunStatus.STOPPED: "#8d6e00",
    RunStatus.FAILED: "#c62828",
    RunStatus.KILLED: "#c62828",
    RunStatus.NOT_STARTED: "#757575",
}
ERROR_COLOR = "#c62828"


def keypoint_colors(n_keypoints: int) -> list[QColor]:
    """``n_keypoints`` distinct, bright colours (hues evenly spread), the same every time.

    Args:
        n_keypoints: How many colours.

    Returns:
        One colour per keypoint, in keypoint order.
    """
    n = max(1, n_keypoints)
    return [QColor.fromHsvF((i / n) * 0.9, 0.85, 1.0) for i in range(n_keypoints)]


def color_swatch(color: QColor, size_px: int = 12) -> QIcon:
    """A square icon filled with ``color`` (for keypoint lists)."""
    pixmap = QPixmap(size_px, size_px)
    pixmap.fill(color)
    return QIcon(pixmap)


def app_icon() -> QIcon:
    """The PoseDesk icon (an empty icon if the resource file is missing)."""
    return QIcon(str(ICON_PATH)) if ICON_PATH.is_file() else QIcon()


def bold_label(text: str, point_delta: int = 0) -> QLabel:
    """A bold label (a heading), ``point_delta`` points larger than the default font."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    font.setPointSize(font.pointSize() + point_delta)
    label.setFont(font)
    return label
