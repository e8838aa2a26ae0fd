"""inference subpackage of pose_core."""
