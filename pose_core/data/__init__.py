"""data subpackage of pose_core."""
