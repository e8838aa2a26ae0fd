"""Predictor loaders: one per kind of model folder, found by asking each whether it recognises the folder.

:meth:`pose_core.inference.predictor.Predictor.from_run` calls :func:`load_predictor`, which asks
the registered loaders in order; a folder no other loader recognises is loaded as a PoseDesk run
(whose errors say what is missing). A Lightning Pose model folder is the other kind today
(:mod:`pose_core.interop.lp_checkpoint`); another tool's format registers its own
:class:`PredictorLoader` with :func:`register_predictor_loader`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pose_core.registry import Registry
from pose_core.runs.lightning_pose import is_lp_run_dir

if TYPE_CHECKING:
    import torch

    from pose_core.inference.predictor import Predictor

LoadFunction = Callable[[Path, "Path | None", "str | torch.device | None"], "Predictor"]
"""``load(run_dir, checkpoint or None, device or None) -> Predictor``."""

POSEDESK_LOADER = "posedesk"


@dataclass(frozen=True)
class PredictorLoader:
    """How to load one kind of model folder as a predictor.

    Attributes:
        name: Registry name.
        recognises: Tells (cheaply, without torch) whether a folder is of this kind.
        load: Loads it; raises a :class:`~pose_core.errors.PoseDeskError` with the fix when it cannot.
    """

    name: str
    recognises: Callable[[Path], bool]
    load: LoadFunction


PREDICTOR_LOADERS: Registry[PredictorLoader] = Registry("model folder loader", "run_dir")


def register_predictor_loader(loader: PredictorLoader) -> PredictorLoader:
    """Adds a loader (ValueError if the name is taken); it is asked before the PoseDesk one."""
    return PREDICTOR_LOADERS.add(loader.name, loader)


def loader_for(run_dir: Path) -> PredictorLoader:
    """The loader of the first kind that recognises ``run_dir``, else the PoseDesk run loader."""
    for name in PREDICTOR_LOADERS.names():
        loader = PREDICTOR_LOADERS.get(name)
        if name != POSEDESK_LOADER and loader.recognises(Path(run_dir)):
            return loader
    return PREDICTOR_LOADERS.get(POSEDESK_LOADER)


def load_predictor(
    run_dir: Path, checkpoint: Path | None = None, device: str | torch.device | None = None
) -> Predictor:
    """Load the model in ``run_dir`` with the loader of its kind (see :func:`loader_for`).

    Args:
        run_dir: A PoseDesk run directory or another registered kind of model folder.
        checkpoint: A checkpoint to use instead of the folder's best one.
        device: ``cpu``, ``cuda``...; None = CUDA when available, else CPU.
    """
    return loader_for(run_dir).load(Path(run_dir), checkpoint, device)


def _load_posedesk(run_dir: Path, checkpoint: Path | None, device: str | torch.device | None) -> Predictor:
    from pose_core.inference.predictor import Predictor

    return Predictor.from_posedesk_run(run_dir, checkpoint, device)


def _load_lightning_pose(run_dir: Path, checkpoint: Path | None, device: str | torch.device | None) -> Predictor:
    from pose_core.interop.lp_checkpoint import load_lp_predictor

    return load_lp_predictor(run_dir, checkpoint, device)


def _is_posedesk_run(run_dir: Path) -> bool:
    from pose_core.runs.layout import is_run_dir

    return is_run_dir(run_dir)


register_predictor_loader(PredictorLoader("lightning-pose", is_lp_run_dir, _load_lightning_pose))
register_predictor_loader(PredictorLoader(POSEDESK_LOADER, _is_posedesk_run, _load_posedesk))
