"""Interoperability with other pose-estimation tools (DeepLabCut projects and prediction files)."""
