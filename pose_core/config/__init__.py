"""config subpackage of pose_core."""
