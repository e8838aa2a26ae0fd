"""PoseDesk desktop app (PySide6): a window over :mod:`pose_core`; it asks, shows and launches.

Start it with ``posedesk [PROJECT_DIR]`` or ``python -m pose_gui``. Heavy libraries (torch,
Lightning, OpenCV) are imported only inside the functions and threads that need them, so the
window opens fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
