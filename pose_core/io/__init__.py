"""io subpackage of pose_core."""
