"""training subpackage of pose_core."""
