"""What a new training run will be, checked before its child starts: one run, an ensemble, a retrain.

UI-free and run in a worker thread by :class:`~pose_gui.sessions.training.TrainingSession` (they read
files). :func:`plan_new_run` checks the project's config and says which overrides start one run or
an ensemble of N (``training.ensemble_seeds``); :func:`check_retrain` does the same for "Retrain
with new labels" (``training.init_from``): every parent must be a finished run (not still
training) whose keypoints, backbone and model type fit the project's config and labels, or nothing
starts and one message says why (:func:`pose_core.training.ensemble.apply_init_from` gives the
differences).

Retraining an ensemble trains a new ensemble with the parent's seeds; the core starts each new
member from the parent member with the same seed (its own weights), so the new ensemble's members
stay as different as the old ones were.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pose_core.errors import ConfigError, DataError
from pose_core.runs.status import RunStatus

MAX_ENSEMBLE_SIZE = 10


@dataclass(frozen=True)
class LaunchPlan:
    """How the next run is started.

    Attributes:
        seeds: The ensemble's seeds (``training.ensemble_seeds``), or None for one run.
        parents: The runs whose weights start it (``training.init_from``): one, or one per member.
        overrides: The extra CLI overrides.
    """

    seeds: list[int] | None = None
    parents: list[Path] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)

    def member_dirs(self, run_dir: Path) -> list[Path]:
        """The members' folders for base folder ``run_dir`` (the core's ``<run_dir>-seed<S>``); [] for one run."""
        if not self.seeds:
            return []
        from pose_core.training.ensemble import plan_members

        return [member.run_dir for member in plan_members(run_dir, self.seeds)]


def validate_project_config(config_path: Path) -> Any:
    """Load and validate the project's saved config (worker thread); raises ConfigError with the reason."""
    from pose_core.config.io import load_config

    if not config_path.is_file():
        raise DataError(
            f"{config_path} does not exist; save the project's config (Config pane) before training.",
            path=str(config_path),
        )
    return load_config(config_path)


def ensemble_seeds(cfg: Any, ensemble_size: int) -> list[int] | None:
    """``ensemble_size`` consecutive seeds from the config's ``training.rng_seed_model_pt`` (None for 1)."""
    if ensemble_size <= 1:
        return None
    if ensemble_size > MAX_ENSEMBLE_SIZE:
        raise ConfigError(
            f"An ensemble of {ensemble_size} models is more than {MAX_ENSEMBLE_SIZE}; 3 to 5 is what ensembles use.",
            key="training.ensemble_seeds",
        )
    base = int(cfg.training.rng_seed_model_pt or 0)
    return [base + i for i in range(ensemble_size)]


def seeds_override(seeds: list[int] | None) -> list[str]:
    """``training.ensemble_seeds=[0,1,2]`` (``=null`` for one run: the Train button's N wins over the config)."""
    return [f"training.ensemble_seeds=[{','.join(str(s) for s in seeds)}]" if seeds else "training.ensemble_seeds=null"]


def plan_new_run(args: tuple[Path, int]) -> LaunchPlan:
    """Check the config and plan one run or an ensemble (worker thread).

    Args:
        args: The project's ``config.yaml`` and the ensemble size (1 = one run).

    Returns:
        The plan.
    """
    config_path, ensemble_size = args
    loaded = validate_project_config(config_path)
    seeds = ensemble_seeds(loaded.cfg, ensemble_size)
    return LaunchPlan(seeds=seeds, overrides=seeds_override(seeds))


def check_retrain(args: tuple[Path, list[Path], list[str], int]) -> LaunchPlan:
    """Check the parents fit and plan the retrain (worker thread).

    Args:
        args: The project's ``config.yaml``; the parent run folders (one run, or an ensemble's
            members); the labels' keypoint names; the ensemble size asked for a one-run parent.

    Returns:
        The plan: an ensemble with the parent ensemble's seeds, or ``ensemble_size`` runs from the one parent.

    Raises:
        DataError: A parent is still training or is not a finished run.
        ConfigError: A parent's keypoints, backbone or model type differ (each difference named).
    """
    config_path, parents, keypoint_names, ensemble_size = args
    loaded = validate_project_config(config_path)
    for parent in parents:
        _check_parent(loaded.cfg, parent, keypoint_names)
    seeds = [_member_seed(p) for p in parents] if len(parents) > 1 else ensemble_seeds(loaded.cfg, ensemble_size)
    overrides = [*seeds_override(seeds), f"training.init_from={parents[0]}"]
    return LaunchPlan(seeds=seeds, parents=list(parents), overrides=overrides)


def _check_parent(cfg: Any, parent: Path, keypoint_names: list[str]) -> None:
    from pose_core.runs import read_run_info
    from pose_core.training.ensemble import apply_init_from

    name = f"{parent.parent.name}/{parent.name}"
    status = read_run_info(parent).status if parent.is_dir() else None
    if status == RunStatus.RUNNING:
        raise DataError(
            f"Run {name} is still training; wait until it finishes (or stop it), then retrain from it.",
            path=str(parent),
        )
    if status is not None and status != RunStatus.FINISHED:
        raise DataError(
            f"Run {name} is {status}, not finished; retrain from a finished run (or resume this one first).",
            path=str(parent),
        )
    trial = copy.deepcopy(cfg)
    trial.data.keypoint_names = list(keypoint_names)  # as the training will read them from the labels
    trial.training.init_from = str(parent)
    trial.training.resume_from = None
    apply_init_from(trial)


def _member_seed(run_dir: Path) -> int:
    from pose_core.training.ensemble import ensemble_info

    info = ensemble_info(run_dir)
    if info is None or not isinstance(info.get("seed"), int):
        raise DataError(
            f"{run_dir} does not say which seed it was trained with (no ensemble entry in its summary.json); "
            "retrain from one of its members instead.",
            path=str(run_dir),
        )
    return int(info["seed"])
