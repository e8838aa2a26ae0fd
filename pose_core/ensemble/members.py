"""The runs of an ensemble and their saved predictions of a video, checked to fit together.

A member is a finished (or stopped) training run folder with a ``config.yaml`` and a checkpoint.
Its predictions of ``VIDEO`` are ``<run>/video_preds/<stem>.csv`` (written by ``pose-predict``).
Members must share the keypoint names, in the same order, and each member's predictions must have
one row per video frame; anything else is refused with one message naming the run or file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from pose_core.config.io import read_yaml_file
from pose_core.errors import DataError, RunError
from pose_core.runs import CONFIG_FILENAME, RunLayout, RunStatus


@dataclass(frozen=True)
class MemberRun:
    """One run of an ensemble.

    Attributes:
        run_dir: The run folder.
        keypoint_names: Its keypoints, in column order.
        mirrored_column_matches: Its ``data.mirrored_column_matches`` (None if unset).
    """

    run_dir: Path
    keypoint_names: list[str]
    mirrored_column_matches: list[list[int]] | None

    def predictions_csv(self, video: Path) -> Path:
        """Where ``pose-predict`` writes this run's predictions of ``video``."""
        return RunLayout(self.run_dir).video_predictions(video)

    @property
    def name(self) -> str:
        """``DATE/TIME`` (the last two folder names)."""
        return f"{self.run_dir.parent.name}/{self.run_dir.name}"


def open_member(run_dir: Path) -> MemberRun:
    """Reads a run folder's keypoints after checking that it is a usable, finished run.

    Raises:
        RunError: Not a run folder, no checkpoint, or still training.
    """
    from pose_core.inference.predictor import find_run_files
    from pose_core.runs import read_run_info

    run_dir = Path(run_dir)
    find_run_files(run_dir)
    status = read_run_info(run_dir).status
    if status == RunStatus.RUNNING:
        raise RunError(
            f"Run {run_dir} is still training (status: {status}); wait until it finishes, or stop it, "
            "before using it in an ensemble."
        )
    cfg = read_yaml_file(run_dir / CONFIG_FILENAME)
    names = OmegaConf.select(cfg, "data.keypoint_names")
    if not names:
        raise RunError(f"Run {run_dir}: its {CONFIG_FILENAME} lists no data.keypoint_names; it is not a finished run.")
    matches = OmegaConf.select(cfg, "data.mirrored_column_matches")
    matches_list = [[int(c) for c in view] for view in matches] if matches else None
    return MemberRun(run_dir, [str(n) for n in names], matches_list)


def _describe_difference(first: MemberRun, other: MemberRun) -> str:
    only_first = [n for n in first.keypoint_names if n not in other.keypoint_names]
    only_other = [n for n in other.keypoint_names if n not in first.keypoint_names]
    parts = []
    if only_first:
        parts.append(f"only {first.run_dir} has {', '.join(only_first)}")
    if only_other:
        parts.append(f"only {other.run_dir} has {', '.join(only_other)}")
    return "; ".join(parts) if parts else "the same keypoints in another order"


def open_members(run_dirs: Sequence[Path], minimum: int = 1) -> list[MemberRun]:
    """Opens and checks the runs of an ensemble (same keypoints, in the same order).

    Args:
        run_dirs: The run folders.
        minimum: How many distinct runs are needed.

    Raises:
        RunError: Too few runs, a run given twice, or a run that is unusable or still training.
        DataError: Runs with different keypoints (the message names the difference).
    """
    resolved = [Path(p).resolve() for p in run_dirs]
    if len(set(resolved)) != len(resolved):
        raise RunError("The same run is given twice; an ensemble needs distinct runs.")
    if len(resolved) < minimum:
        raise RunError(
            f"{'One run is' if len(resolved) == 1 else f'{len(resolved)} runs are'} given, but an ensemble needs at "
            f"least {minimum}: give {minimum} or more run folders (e.g. the members of training.ensemble_seeds=[0,1,2])."
        )
    members = [open_member(Path(p)) for p in run_dirs]
    for other in members[1:]:
        if other.keypoint_names != members[0].keypoint_names:
            raise DataError(
                f"Runs {members[0].run_dir} and {other.run_dir} predict different keypoints "
                f"({_describe_difference(members[0], other)}); an ensemble needs runs trained on the same keypoints."
            )
    return members


def load_member_predictions(members: Sequence[MemberRun], video: Path, n_frames: int) -> np.ndarray:
    """Reads every member's saved predictions of ``video`` as ``[M, T, K, 3]``.

    Raises:
        DataError: A member has no predictions of the video, a file is damaged, has other
            keypoints or not one row per video frame (the message names the file and the fix).
    """
    from pose_core.io.predictions import read_predictions_csv

    arrays = []
    for member in members:
        path = member.predictions_csv(video)
        if not path.is_file():
            raise DataError(
                f"Run {member.run_dir} has no predictions of {Path(video).name} ({path}); predict the video with "
                "every member first (pose-predict RUN... VIDEO --eks does).",
                path=str(path),
            )
        table = read_predictions_csv(path)
        if len(table.preds) != n_frames:
            raise DataError(
                f"{path} has {len(table.preds)} rows but {Path(video).name} has {n_frames} frames: the predictions "
                "are of another version of the video; predict it again with --overwrite.",
                path=str(path),
            )
        if table.keypoint_names != member.keypoint_names:
            raise DataError(
                f"{path} holds other keypoints than run {member.run_dir} predicts; predict the video again with --overwrite.",
                path=str(path),
            )
        arrays.append(table.preds)
    return np.stack(arrays)
