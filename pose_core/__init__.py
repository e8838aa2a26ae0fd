"""PoseDesk core: config, data, models, training, prediction and evaluation. No Qt here."""

__version__ = "0.1.0"
