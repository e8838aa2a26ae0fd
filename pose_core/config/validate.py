"""Validation of a typed config: field-level messages that name the key, the value and the fix.

:func:`validate_config` returns every problem it finds as a :class:`ConfigIssue`; the CLI raises
the first, the config editor shows each at its field.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pose_core.config.schema import INTERNET_ONLY_BACKBONES, schema_fields
from pose_core.losses import HEATMAP_LOSSES, UNSUPERVISED_LOSSES
from pose_core.models.backbones import BACKBONES
from pose_core.registry import Registry

REGISTRY_KEYS: dict[str, Registry[Any]] = {
    BACKBONES.config_key: BACKBONES,
    HEATMAP_LOSSES.config_key: HEATMAP_LOSSES,
    UNSUPERVISED_LOSSES.config_key: UNSUPERVISED_LOSSES,
}
"""Keys whose allowed values are a registry's names (asked when validating, so a name registered
later, e.g. by a plugin or a test, is accepted): the schema's ``choices`` are only what the form lists."""


def allowed_values(key: str, schema_choices: Any) -> list[str] | None:
    """The values ``key`` accepts: its registry's names, else the schema's ``choices`` (None = any)."""
    registry = REGISTRY_KEYS.get(key)
    if registry is not None:
        return registry.names()
    return list(schema_choices) if schema_choices else None


@dataclass(frozen=True)
class ConfigIssue:
    """One problem of a config.

    Attributes:
        key: The dotted key at fault.
        message: One sentence: the key, the bad value and the fix.
    """

    key: str
    message: str


def _bounds_issues(cfg: DictConfig) -> list[ConfigIssue]:
    """Min/max/choices from the schema metadata, for every leaf."""
    issues = []
    for f in schema_fields():
        value = OmegaConf.select(cfg, f.key)
        md = f.metadata
        if value is None:
            continue
        values = list(value) if f.key == "model.losses_to_use" else [value]
        choices = allowed_values(f.key, md.get("choices"))
        for v in values:
            if choices and f.key != BACKBONES.config_key and v not in choices:
                issues.append(ConfigIssue(f.key, f"{f.key}={v!r} is not allowed; choose one of: {', '.join(choices)}."))
            if isinstance(v, bool) or not isinstance(v, numbers.Number):
                continue
            lo, hi = md.get("min"), md.get("max")
            if lo is not None and v < lo or hi is not None and v > hi:
                rng = (
                    f"between {lo} and {hi}"
                    if lo is not None and hi is not None
                    else (f"at least {lo}" if lo is not None else f"at most {hi}")
                )
                issues.append(ConfigIssue(f.key, f"{f.key}={v} is out of range: it must be {rng}."))
    return issues


def _finite_issues(cfg: DictConfig) -> list[ConfigIssue]:
    """Every number must be finite.

    NaN passes any range check (it compares false) and inf silently disables a tolerance
    (``losses.temporal.epsilon=inf``).
    """
    issues = []
    plain = OmegaConf.to_container(cfg, resolve=False)

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, float) and not math.isfinite(node):
            issues.append(ConfigIssue(key, f"{key}={node} is not a finite number; give a real value."))

    walk(plain, "")
    return issues


def _data_issues(cfg: DictConfig, check_paths: bool) -> list[ConfigIssue]:
    d = cfg.data
    issues = []
    for key in ("height", "width"):
        v = d.image_resize_dims[key]
        if v % 32:
            issues.append(
                ConfigIssue(
                    f"data.image_resize_dims.{key}",
                    f"data.image_resize_dims.{key}={v} must be a multiple of 32 (e.g. {max(32, round(v / 32) * 32)}).",
                )
            )
    names = list(d.keypoint_names) if d.keypoint_names is not None else None
    if names is not None and d.num_keypoints is not None and len(names) != d.num_keypoints:
        issues.append(
            ConfigIssue(
                "data.keypoint_names",
                f"data.keypoint_names has {len(names)} names but data.num_keypoints is {d.num_keypoints}; make them agree (or leave one empty to read it from the CSV).",
            )
        )
    if names is not None and len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        issues.append(
            ConfigIssue(
                "data.keypoint_names",
                f"data.keypoint_names repeats {', '.join(dup)}; every keypoint needs its own name.",
            )
        )
    if not d.data_dir:
        issues.append(
            ConfigIssue(
                "data.data_dir",
                "data.data_dir is not set: give the folder that holds the labels CSV, e.g. data.data_dir=/path/to/project.",
            )
        )
    elif check_paths:
        data_dir = Path(str(d.data_dir))
        if not data_dir.is_dir():
            what = "is a file, not a folder" if data_dir.exists() else "does not exist"
            issues.append(
                ConfigIssue(
                    "data.data_dir",
                    f"data.data_dir={data_dir} {what}; give the folder that holds {d.csv_file}.",
                )
            )
        elif not Path(str(d.csv_file)).is_file():
            issues.append(
                ConfigIssue(
                    "data.csv_file",
                    f"data.csv_file={d.csv_file} does not exist; give the labels CSV (relative to data.data_dir).",
                )
            )
    return issues


def _training_issues(cfg: DictConfig) -> list[ConfigIssue]:
    t = cfg.training
    issues = []
    if t.train_prob + t.val_prob > 1.0 + 1e-9:
        issues.append(
            ConfigIssue(
                "training.train_prob",
                f"training.train_prob + training.val_prob = {t.train_prob + t.val_prob:g} is more than 1; lower one of them.",
            )
        )
    late = [m for m in t.lr_scheduler_params.multisteplr.milestones or [] if m > t.max_epochs]
    if t.lr_scheduler == "multisteplr" and late:
        issues.append(
            ConfigIssue(
                "training.lr_scheduler_params.multisteplr.milestones",
                f"training.lr_scheduler_params.multisteplr.milestones {late} are past training.max_epochs={t.max_epochs}; use milestones up to {t.max_epochs} (e.g. [{max(1, t.max_epochs // 2)}]).",
            )
        )
    if t.ckpt_every_n_epochs is not None and t.ckpt_every_n_epochs % t.check_val_every_n_epoch:
        issues.append(
            ConfigIssue(
                "training.ckpt_every_n_epochs",
                f"training.ckpt_every_n_epochs={t.ckpt_every_n_epochs} must be a multiple of training.check_val_every_n_epoch={t.check_val_every_n_epoch}.",
            )
        )
    return issues


def _model_issues(cfg: DictConfig, check_paths: bool) -> list[ConfigIssue]:
    m = cfg.model
    issues = []
    known = ", ".join(BACKBONES.names())
    if m.backbone in INTERNET_ONLY_BACKBONES:
        issues.append(
            ConfigIssue(
                "model.backbone",
                f"model.backbone={m.backbone} needs weights downloaded from the internet, which PoseDesk cannot fetch; use one of {known} (e.g. model.backbone=resnet50).",
            )
        )
    elif m.backbone not in BACKBONES.names():
        issues.append(
            ConfigIssue("model.backbone", f"model.backbone={m.backbone!r} is unknown; choose one of {known}.")
        )
    for key in ("model.checkpoint", "training.resume_from", "training.init_from", "model.pretrained_weights_path"):
        value = OmegaConf.select(cfg, key)
        if check_paths and value and not Path(str(value)).exists():
            issues.append(ConfigIssue(key, f"{key}={value} does not exist; give an existing file (or leave it empty)."))
    return issues


def _fraction_or_count(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1
    if isinstance(value, float):
        return 0.0 < value <= 1.0
    return False


def _loss_issues(cfg: DictConfig) -> list[ConfigIssue]:
    losses = list(cfg.model.losses_to_use)
    issues = []
    k = cfg.data.num_keypoints
    for name in ("pca_singleview", "pca_multiview"):
        ctk = cfg.losses[name].components_to_keep
        if name in losses and not _fraction_or_count(ctk):
            issues.append(
                ConfigIssue(
                    f"losses.{name}.components_to_keep",
                    f"losses.{name}.components_to_keep={ctk!r} must be a fraction in (0, 1] or a whole number of components >= 1.",
                )
            )
    eps = cfg.losses.temporal.epsilon
    eps_list = list(eps) if OmegaConf.is_list(eps) else [eps]
    if not all(isinstance(e, int | float) and not isinstance(e, bool) and e >= 0 for e in eps_list):
        issues.append(
            ConfigIssue(
                "losses.temporal.epsilon",
                f"losses.temporal.epsilon={eps!r} must be a number of pixels >= 0 or a list of them, one per keypoint.",
            )
        )
    elif OmegaConf.is_list(eps) and k is not None and len(eps_list) != k:
        issues.append(
            ConfigIssue(
                "losses.temporal.epsilon",
                f"losses.temporal.epsilon has {len(eps_list)} values but there are {k} keypoints; give one number or one per keypoint.",
            )
        )
    if "pca_multiview" in losses:
        issues.extend(_matches_issues(cfg))
    cols = cfg.data.columns_for_singleview_pca
    if "pca_singleview" in losses and cols is not None and k is not None:
        bad = [c for c in cols if not 0 <= c < k]
        if bad:
            issues.append(
                ConfigIssue(
                    "data.columns_for_singleview_pca",
                    f"data.columns_for_singleview_pca has indices {bad} outside 0..{k - 1}; use keypoint indices of the labels CSV.",
                )
            )
    return issues


def _matches_issues(cfg: DictConfig) -> list[ConfigIssue]:
    key = "data.mirrored_column_matches"
    matches = cfg.data.mirrored_column_matches
    k = cfg.data.num_keypoints
    if not matches or len(matches) < 2:
        return [
            ConfigIssue(
                key,
                f"model.losses_to_use has pca_multiview but {key} is not set; give one list of keypoint indices per view, e.g. {key}=[[0,1,2],[3,4,5]].",
            )
        ]
    lengths = [len(m) for m in matches]
    if len(set(lengths)) != 1:
        return [
            ConfigIssue(
                key,
                f"{key} lists have unequal lengths {lengths}; every view must list the same body parts in the same order.",
            )
        ]
    flat = [i for m in matches for i in m]
    if k is not None:
        bad = [i for i in flat if not 0 <= i < k]
        if bad:
            return [
                ConfigIssue(key, f"{key} has indices {bad} outside 0..{k - 1}; use keypoint indices of the labels CSV.")
            ]
    return []


def validate_config(cfg: DictConfig, check_paths: bool = True) -> list[ConfigIssue]:
    """Checks a typed config and returns every problem found.

    Args:
        cfg: A config merged onto the schema (see :func:`pose_core.config.io.load_config`).
        check_paths: Also check that the data folder, labels CSV and given files exist.

    Returns:
        The problems, in schema order; empty when the config is valid.
    """
    return (
        _finite_issues(cfg)
        + _bounds_issues(cfg)
        + _data_issues(cfg, check_paths)
        + _training_issues(cfg)
        + _model_issues(cfg, check_paths)
        + _loss_issues(cfg)
    )
