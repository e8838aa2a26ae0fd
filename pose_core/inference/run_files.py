"""Finding a run's config and checkpoint without importing torch (the first check ``pose-predict`` makes)."""

from __future__ import annotations

from pathlib import Path

from pose_core.errors import RunError
from pose_core.runs.layout import CHECKPOINTS_GLOB, CONFIG_FILENAME, find_best_checkpoint


def find_run_files(run_dir: Path, checkpoint: Path | None = None) -> tuple[Path, Path]:
    """Locate a run's ``config.yaml`` and checkpoint without loading anything heavy.

    Args:
        run_dir: A training run directory.
        checkpoint: A checkpoint to use instead of the run's best one.

    Returns:
        ``(config_path, checkpoint_path)``.

    Raises:
        RunError: The run directory, its config or a checkpoint is missing.
    """
    run_dir = Path(run_dir)
    if run_dir.is_file():
        raise RunError(
            f"{run_dir} is a file, not a run directory: give the folder pose-train wrote (outputs/DATE/TIME) "
            "first, then the videos (pose-predict RUN_DIR VIDEO...)."
        )
    if not run_dir.is_dir():
        raise RunError(f"Run directory {run_dir} does not exist: give the folder pose-train wrote (outputs/DATE/TIME).")
    config_path = run_dir / CONFIG_FILENAME
    if not config_path.is_file():
        raise RunError(
            f"Run directory {run_dir} has no {CONFIG_FILENAME}: it is not a PoseDesk training run "
            "(or training failed before starting); give the folder pose-train wrote."
        )
    if checkpoint is not None:
        if not Path(checkpoint).is_file():
            raise RunError(f"Checkpoint {checkpoint} does not exist: check the --checkpoint path.")
        return config_path, Path(checkpoint)
    found = find_best_checkpoint(run_dir)
    if found is None:
        raise RunError(
            f"Run directory {run_dir} holds no checkpoint ({CHECKPOINTS_GLOB}): "
            "train until at least one epoch finishes, or give one with --checkpoint."
        )
    return config_path, found
