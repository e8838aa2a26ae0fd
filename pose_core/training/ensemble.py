"""Ensembles of training runs and runs started from another run's weights.

``training.ensemble_seeds=[0,1,2]`` trains one normal run per seed, one after another (a CPU gains
nothing from running them at once), in sibling folders ``<run_dir>-seed<S>``; each run's
``summary.json`` records the ensemble's id, its seed and the member folders. A seed sets
``training.rng_seed_model_pt`` (initialisation and data order); ``rng_seed_data_pt`` (the split)
is left alone, so every member sees the same train/validation/test frames.

``training.init_from=RUN_DIR`` starts a new run from that run's best weights (new optimiser, new
folder); the saved config keeps ``init_from``, so the run's parent is known. With both keys and
``RUN_DIR`` a member of an ensemble, each new member starts from the parent member of its own seed. A parent with other
keypoints, another backbone or another model type is refused before anything is written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pose_core.config.io import LoadedConfig, atomic_write_text, read_yaml_file
from pose_core.errors import ConfigError
from pose_core.runs import CONFIG_FILENAME, SUMMARY_FILENAME, RunStatus

ENSEMBLE_KEY = "ensemble"
PARENT_KEY = "parent_run"


@dataclass(frozen=True)
class EnsembleMember:
    """One planned member of an ensemble.

    Attributes:
        seed: Its ``training.rng_seed_model_pt``.
        run_dir: Its run folder.
    """

    seed: int
    run_dir: Path


def plan_members(run_dir: Path, seeds: list[int]) -> list[EnsembleMember]:
    """The member folders of an ensemble whose base folder is ``run_dir``: ``<run_dir>-seed<S>``.

    Raises:
        ConfigError: No seed, or a seed given twice.
    """
    if not seeds:
        raise ConfigError(
            "training.ensemble_seeds is empty; give at least two seeds, e.g. [0,1,2].", key="training.ensemble_seeds"
        )
    if len(set(seeds)) != len(seeds):
        raise ConfigError(
            f"training.ensemble_seeds={seeds} repeats a seed; members with the same seed are the same model.",
            key="training.ensemble_seeds",
        )
    return [EnsembleMember(int(s), run_dir.with_name(f"{run_dir.name}-seed{int(s)}")) for s in seeds]


def member_config(loaded: LoadedConfig, seed: int) -> LoadedConfig:
    """A copy of ``loaded`` for one member: its model seed set, no ``ensemble_seeds``.

    With ``training.init_from`` a member of an ensemble, each new member starts from the parent
    ensemble's member trained with the same seed (:func:`same_seed_member`): retraining an ensemble
    keeps its members as different as they were.
    """
    cfg = copy.deepcopy(loaded.cfg)
    cfg.training.rng_seed_model_pt = int(seed)
    cfg.training.ensemble_seeds = None
    if cfg.training.init_from:
        cfg.training.init_from = str(same_seed_member(Path(str(cfg.training.init_from)), int(seed)))
    return LoadedConfig(cfg, loaded.ignored, loaded.ignored_keys, loaded.source, loaded.run_dir)


def same_seed_member(parent: Path, seed: int) -> Path:
    """The member of ``parent``'s ensemble trained with ``seed``; ``parent`` itself when there is none."""
    info = ensemble_info(parent)
    for member in info.get("members", []) if info else []:
        member_info = ensemble_info(Path(member))
        if member_info is not None and member_info.get("seed") == seed:
            return Path(member)
    return parent


def record_ensemble(run_dir: Path, ensemble_id: str, seed: int, members: list[EnsembleMember]) -> None:
    """Adds ``{"ensemble": {"id", "seed", "members"}}`` to the run's ``summary.json``."""
    path = run_dir / SUMMARY_FILENAME
    summary = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    summary[ENSEMBLE_KEY] = {"id": ensemble_id, "seed": int(seed), "members": [str(m.run_dir) for m in members]}
    atomic_write_text(path, json.dumps(summary, indent=2, allow_nan=False))


def train_ensemble(
    loaded: LoadedConfig,
    run_dir: Path,
    train_one: Callable[[LoadedConfig, Path], Any],
    say: Callable[[str], None] = print,
) -> list[Any]:
    """Trains one run per seed of ``training.ensemble_seeds``, one after another.

    Args:
        loaded: The validated config (with ``training.ensemble_seeds``).
        run_dir: The base folder; members go to ``<run_dir>-seed<S>``.
        train_one: Trains one run (``pose_core.training.run.train`` with its options).
        say: Where progress lines go.

    Returns:
        The members' results, in seed order. A stopped member ends the ensemble early.
    """
    members = plan_members(run_dir, [int(s) for s in loaded.cfg.training.ensemble_seeds])
    ensemble_id = run_dir.name
    results = []
    for i, member in enumerate(members):
        say(f"Ensemble {ensemble_id}: member {i + 1}/{len(members)} (seed {member.seed}) in {member.run_dir}")
        result = train_one(member_config(loaded, member.seed), member.run_dir)
        results.append(result)
        if getattr(result, "global_rank", 0) == 0:
            record_ensemble(member.run_dir, ensemble_id, member.seed, members)
        if getattr(result, "status", RunStatus.FINISHED) != RunStatus.FINISHED:
            say(f"Ensemble {ensemble_id}: member {i + 1} {result.status}; the remaining members are not trained.")
            break
    return results


def ensemble_info(run_dir: Path) -> dict[str, Any] | None:
    """The ``ensemble`` entry of a run's summary (id, seed, members), or None."""
    try:
        summary = json.loads((run_dir / SUMMARY_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = summary.get(ENSEMBLE_KEY) if isinstance(summary, dict) else None
    return entry if isinstance(entry, dict) else None


# ------------------------------------------------------------------------------------ init_from


def _parent_checkpoint(parent: Path) -> Path:
    """The parent's best checkpoint; the parent must be a finished run folder."""
    from pose_core.runs.layout import find_best_checkpoint

    key = "training.init_from"
    if not parent.is_dir():
        raise ConfigError(f"{key}={parent} is not a run folder; give the folder of a finished run.", key=key)
    if not (parent / SUMMARY_FILENAME).is_file():
        raise ConfigError(
            f"{key}={parent} has not finished training (no {SUMMARY_FILENAME}); wait until it ends or pick a finished run.",
            key=key,
        )
    ckpt = find_best_checkpoint(parent)
    if ckpt is None:
        raise ConfigError(f"{key}={parent} holds no checkpoint (tb_logs/*/version_*/checkpoints/*.ckpt).", key=key)
    return ckpt


def _difference(what: str, parent_value: Any, child_value: Any) -> str:
    return f"{what}: the parent has {parent_value}, this config has {child_value}"


def check_init_from(cfg: DictConfig, parent: Path) -> list[str]:
    """What differs between this config and the parent run's in keypoints, backbone and model type.

    Returns:
        One readable line per difference (empty when the weights fit).
    """
    parent_cfg = read_yaml_file(parent / CONFIG_FILENAME)
    differences = []
    parent_names = list(OmegaConf.select(parent_cfg, "data.keypoint_names") or [])
    names = list(cfg.data.keypoint_names or [])
    if parent_names != names:
        missing = [n for n in names if n not in parent_names]
        extra = [n for n in parent_names if n not in names]
        detail = []
        if missing:
            detail.append(f"new here: {', '.join(missing)}")
        if extra:
            detail.append(f"only in the parent: {', '.join(extra)}")
        if not detail:
            detail.append("same names in another order")
        differences.append(f"keypoints differ ({'; '.join(detail)})")
    for key in ("model.backbone", "model.model_type"):
        parent_value, value = OmegaConf.select(parent_cfg, key), OmegaConf.select(cfg, key)
        if parent_value is not None and str(parent_value) != str(value):
            differences.append(_difference(key, parent_value, value))
    return differences


def apply_init_from(cfg: DictConfig) -> Path | None:
    """Points ``model.checkpoint`` at the best weights of ``training.init_from`` after checking they fit.

    Call it once the keypoint names are known (after the labels are read) and before anything is
    written.

    Returns:
        The parent's checkpoint, or None when ``training.init_from`` is not set.

    Raises:
        ConfigError: The parent is not a finished run, or its keypoints, backbone or model type
            differ (the message names each difference).
    """
    if not cfg.training.init_from:
        return None
    if cfg.training.resume_from:
        raise ConfigError(
            "training.init_from and training.resume_from are both set; resume continues a run, init_from starts a new one from its weights: keep one.",
            key="training.init_from",
        )
    parent = Path(str(cfg.training.init_from))
    ckpt = _parent_checkpoint(parent)
    differences = check_init_from(cfg, parent)
    if differences:
        raise ConfigError(
            f"training.init_from={parent} cannot start this run: {'; '.join(differences)}. Start from a run with the same keypoints and backbone, or train from scratch.",
            key="training.init_from",
        )
    cfg.model.checkpoint = str(ckpt)
    return ckpt


def parent_run(run_dir: Path) -> Path | None:
    """The run this run was started from (``training.init_from`` in its config), or None."""
    try:
        cfg = read_yaml_file(run_dir / CONFIG_FILENAME)
    except ConfigError:
        return None
    value = OmegaConf.select(cfg, "training.init_from")
    return Path(str(value)) if value else None
