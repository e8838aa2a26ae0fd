"""video subpackage of pose_core."""
