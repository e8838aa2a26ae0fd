"""models subpackage of pose_core."""
