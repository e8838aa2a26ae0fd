"""Reusable widgets of the PoseDesk panes."""
