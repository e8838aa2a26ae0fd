"""Ensembles of runs: their predictions, Ensemble Kalman smoothing and "which frames to label next"."""
