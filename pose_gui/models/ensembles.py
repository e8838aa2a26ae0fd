"""Ensembles of runs as the GUI shows them: groups of runs, their files per video, and the default choice.

An ensemble is either the runs that share an ``ensemble_id`` (``training.ensemble_seeds``; their
``summary.json`` lists the members in seed order) or a folder ``<outputs>/<date>/<id>-ensemble/``
whose ``ensemble.json`` ``pose-predict RUN... --eks`` wrote for runs trained separately. Its files
per video (:mod:`pose_core.ensemble.predict`): each member's ``video_preds/<stem>.csv`` and, in the
ensemble folder, ``<stem>_ens_mean.csv``, ``<stem>_ens_var.csv`` and ``<stem>_eks.csv``.

No Qt here: these functions run in worker threads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_core.runs.layout import OUTPUTS_DIRNAME, RunLayout
from pose_core.runs.listing import RunInfo, read_summary
from pose_core.runs.status import RunStatus

SOURCE_EKS = "eks"
SOURCE_MEAN = "mean"
USABLE_STATUSES = (RunStatus.FINISHED, RunStatus.STOPPED)
ENSEMBLE_FILENAME = "ensemble.json"  # pose_core.ensemble.predict.ENSEMBLE_FILENAME (not imported: it pulls in the CLI)


@dataclass(frozen=True)
class EnsembleGroup:
    """Runs predicting together.

    Attributes:
        id: The ensemble's id (``ensemble_id`` of its runs, or ``ensemble.json``'s).
        members: The member run folders, in seed order.
        output_dir: Where the ensemble's mean, variance and EKS files go.
    """

    id: str
    members: tuple[Path, ...]
    output_dir: Path

    @property
    def label(self) -> str:
        """``Ensemble 15-40-00 (3 runs)``."""
        return f"Ensemble {self.id} ({len(self.members)} runs)"

    def eks_csv(self, video: Path) -> Path:
        """``<stem>_eks.csv`` of ``video``."""
        return self.output_dir / f"{Path(video).stem}_eks.csv"

    def mean_csv(self, video: Path) -> Path:
        """``<stem>_ens_mean.csv`` of ``video``."""
        return self.output_dir / f"{Path(video).stem}_ens_mean.csv"

    def member_csv(self, member: Path, video: Path) -> Path:
        """A member's predictions of ``video``."""
        return RunLayout(Path(member)).video_predictions(Path(video))

    def source_csv(self, source: str, video: Path) -> Path:
        """The predictions file of a source: :data:`SOURCE_EKS`, :data:`SOURCE_MEAN` or a member's folder."""
        if source == SOURCE_EKS:
            return self.eks_csv(video)
        if source == SOURCE_MEAN:
            return self.mean_csv(video)
        return self.member_csv(Path(source), video)

    def members_with_predictions(self, video: Path) -> list[Path]:
        """The members that have predicted ``video``."""
        return [m for m in self.members if self.member_csv(m, video).is_file()]


def _group_from_summaries(ensemble_id: str, runs: Sequence[RunInfo]) -> EnsembleGroup:
    paths = [r.path for r in runs]
    listed = read_summary(RunLayout(paths[0]).summary).get("ensemble", {}).get("members", [])
    order = {str(Path(p)): i for i, p in enumerate(listed)} if isinstance(listed, list) else {}
    paths.sort(key=lambda p: (order.get(str(p), len(order)), p.name))
    return EnsembleGroup(ensemble_id, tuple(paths), paths[0].parent / f"{ensemble_id}-ensemble")


def _groups_from_files(project_root: Path, known: set[Path]) -> list[EnsembleGroup]:
    groups = []
    for path in sorted((project_root / OUTPUTS_DIRNAME).glob(f"*/*-ensemble/{ENSEMBLE_FILENAME}")):
        if path.parent in known:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            members = tuple(Path(str(m)) for m in data["members"])
            groups.append(EnsembleGroup(str(data.get("id") or path.parent.name), members, path.parent))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a damaged ensemble.json: its runs are still listed one by one
    return groups


def group_ensembles(runs: Sequence[RunInfo], project_root: Path | None = None) -> list[EnsembleGroup]:
    """The ensembles among ``runs`` (newest first, as the runs are) and those ``ensemble.json`` files name.

    Args:
        runs: The project's runs, newest first (:func:`pose_core.runs.list_runs`).
        project_root: The project folder, to find ensembles of separately trained runs.
    """
    by_id: dict[str, list[RunInfo]] = {}
    for run in runs:
        if run.ensemble_id:
            by_id.setdefault(run.ensemble_id, []).append(run)
    groups = [_group_from_summaries(i, members) for i, members in by_id.items() if len(members) >= 2]
    if project_root is not None:
        groups += _groups_from_files(project_root, {g.output_dir for g in groups})
    return groups


def default_suggest_runs(runs: Sequence[RunInfo], groups: Sequence[EnsembleGroup]) -> list[Path]:
    """The runs "Suggest frames" starts with: the newest ensemble whose runs all ended, else the newest run that did."""
    usable = {r.path for r in runs if r.status in USABLE_STATUSES}
    for group in groups:
        if all(m in usable for m in group.members):
            return list(group.members)
    newest = next((r.path for r in runs if r.path in usable), None)
    return [newest] if newest is not None else []


@dataclass
class EnsembleUncertainty:
    """Per-frame uncertainty of an ensemble on one video (for the Review pane's traces).

    Attributes:
        spread_px: ``[T, K]`` root mean squared distance of the members to their mean.
        posterior_sd_px: ``[T, K]`` EKS posterior standard deviation (sqrt of x + y posterior
            variance), or None without an ``<stem>_eks.csv``.
        n_members: How many members' predictions the spread comes from.
    """

    spread_px: np.ndarray
    posterior_sd_px: np.ndarray | None
    n_members: int

    @property
    def n_frames(self) -> int:
        """Frames (rows)."""
        return int(self.spread_px.shape[0])


def load_uncertainty(group: EnsembleGroup, video: Path, keypoint_names: Sequence[str]) -> EnsembleUncertainty | None:
    """The spread of the members that predicted ``video`` and the EKS posterior (worker thread).

    Returns:
        None when fewer than two members have predicted the video.

    Raises:
        DataError: A member's or the EKS file is damaged, has other keypoints or another row count.
    """
    from pose_core.ensemble.smoothing import ensemble_stats
    from pose_core.errors import DataError
    from pose_gui.models.predictions import load_video_predictions

    members = group.members_with_predictions(video)
    if len(members) < 2:
        return None
    preds = [load_video_predictions(group.member_csv(m, video), None, keypoint_names) for m in members]
    counts = {p.n_frames for p in preds}
    if len(counts) != 1:
        raise DataError(
            f"The members' predictions of {Path(video).name} have different frame counts ({sorted(counts)}): predict "
            "the video again with every member (Predict with EKS after deleting the odd file).",
            path=str(preds[0].path),
        )
    stats = ensemble_stats(np.stack([p.xy_lik.astype(np.float64) for p in preds]))
    return EnsembleUncertainty(stats.spread_px, _posterior_sd(group.eks_csv(video), counts.pop()), len(members))


def _posterior_sd(eks_csv: Path, n_frames: int) -> np.ndarray | None:
    if not eks_csv.is_file():
        return None
    from pose_core.ensemble.suggest import read_eks_table
    from pose_core.errors import DataError

    try:
        table = read_eks_table(eks_csv)
    except (OSError, ValueError, IndexError, KeyError) as error:
        raise DataError(f"{eks_csv} cannot be read ({error}); click Predict with EKS to write it again.") from None
    if table.shape[0] != n_frames:
        raise DataError(
            f"{eks_csv} has {table.shape[0]} rows but the members' predictions have {n_frames}: it is of another "
            "version of the video; click Predict with EKS to write it again.",
            path=str(eks_csv),
        )
    return np.sqrt(np.nansum(table[..., 7:9], axis=-1))
