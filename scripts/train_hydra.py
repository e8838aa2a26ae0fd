"""Lightning Pose's `python scripts/train_hydra.py [--config-path ...] [key=value ...]`, for PoseDesk.

Behaves exactly like `pose-train`.
"""

import sys

from pose_core.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
