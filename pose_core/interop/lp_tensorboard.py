"""Lightning Pose tensorboard files -> PoseDesk events, so LP curves plot like PoseDesk's own.

Lightning's ``TensorBoardLogger`` writes LP's scalars (``lightning_pose/models/base.py``,
``losses/losses.py``, ``utils/scripts.py``): ``train_supervised_loss`` / ``_rmse``,
``total_loss``, ``train_<loss>_loss``, ``<loss>_weight`` and ``total_unsupervised_importance`` at
each logged training step; ``val_supervised_loss`` / ``_rmse`` once per validation; Lightning's
``epoch`` with every logged step; and ``LearningRateMonitor(logging_interval="epoch")``'s
``lr-Adam/<param group>`` at each epoch's start, at the same global step as the previous epoch's
validation (so the k-th learning rate belongs to epoch k, not to the epoch of its step).
PoseDesk's metric names are LP's, so only the learning rates are renamed (``learning_rate``,
``lr_backbone``), ``train_<loss>_loss_weighted`` is derived (raw x weight x importance) and
``train_heatmap_<type>_loss`` is left out (the supervised loss again: PoseDesk plots it once).
Scalars are read with tensorboard's ``EventAccumulator`` (imported when first needed).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pose_core.events import Event

SOURCE_NAME = "Lightning Pose"
_STEP_TAGS = ("total_loss", "total_unsupervised_importance")
_DUPLICATE_PREFIXES = ("train_heatmap_", "val_heatmap_")  # LP's one supervised loss again, under its own name
_CACHE: dict[tuple[Any, ...], list[Event]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 16
Scalar = tuple[float, int, float]  # wall time (s), step, value


def tensorboard_events(run_dir: Path, event_files: list[Path], training: dict[str, Any], finished: bool) -> list[Event]:
    """Turn a Lightning Pose run's tensorboard scalars into PoseDesk events (cached by file size and time).

    Each ``tb_logs/*/version_N`` folder becomes a ``started`` event (a resumed run starts again
    at its first epoch), ``progress`` events at every logged training step (``global_step``,
    ``epoch``, step metrics) and one ``epoch_end`` per epoch (mean training metrics, validation
    metrics, learning rates); a ``finished`` event follows when ``finished``. Unreadable event
    files are skipped.

    Args:
        run_dir: The model directory (recorded in the ``started`` event).
        event_files: Its ``events.out.tfevents.*`` files.
        training: Its config's ``training`` section (``max_epochs``, ``check_val_every_n_epoch``).
        finished: Training ended (LP wrote ``predictions.csv``).

    Returns:
        The events in order ([] when there are no scalars).
    """
    key = (str(run_dir), finished, repr(sorted(training.items())), *_file_stats(event_files))
    with _CACHE_LOCK:
        if key in _CACHE:
            return list(_CACHE[key])
    events = _build_events(Path(run_dir), event_files, training, finished)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = events
    return list(events)


def _file_stats(files: Iterable[Path]) -> list[tuple[str, int, int]]:
    stats = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        stats.append((str(path), stat.st_size, stat.st_mtime_ns))
    return stats


def _build_events(run_dir: Path, files: list[Path], training: dict[str, Any], finished: bool) -> list[Event]:
    versions = sorted({f.parent for f in files}, key=lambda d: (d.parent.name, _version_number(d)))
    events: list[Event] = []
    for version_dir in versions:
        scalars = _read_scalars(version_dir)
        if scalars:
            events += _version_events(scalars, run_dir, training)
    if events and finished:
        last = events[-1]
        data = {"epoch": last.data.get("epoch"), "global_step": last.data.get("global_step"), "source": SOURCE_NAME}
        events.append(Event("finished", last.time, data))
    return events


def _version_number(version_dir: Path) -> int:
    try:
        return int(version_dir.name.split("_", 1)[1])
    except (IndexError, ValueError):
        return 0


def _read_scalars(version_dir: Path) -> dict[str, list[Scalar]]:
    """Every scalar tag of one tensorboard folder, sorted by step (a step written twice keeps its last value)."""
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

    try:
        accumulator = EventAccumulator(str(version_dir), size_guidance={SCALARS: 0})
        accumulator.Reload()
        tags = accumulator.Tags().get(SCALARS, [])
        raw = {tag: accumulator.Scalars(tag) for tag in tags}
    except Exception:  # noqa: BLE001 - an unreadable file only loses its curves
        return {}
    out: dict[str, list[Scalar]] = {}
    for tag, items in raw.items():
        by_step = {int(e.step): (float(e.wall_time), int(e.step), float(e.value)) for e in items}
        out[tag] = [by_step[s] for s in sorted(by_step)]
    return out


def _lr_name(tag: str, first: bool) -> str:
    """``lr-Adam/backbone`` -> ``lr_backbone``; the first other learning rate -> ``learning_rate``."""
    group = tag.split("/", 1)[1] if "/" in tag else ""
    if group == "backbone":
        return "lr_backbone"
    return "learning_rate" if first else f"lr_{group or tag.split('-', 1)[-1]}".replace("/", "_")


def _version_events(scalars: dict[str, list[Scalar]], run_dir: Path, training: dict[str, Any]) -> list[Event]:
    """The events of one tensorboard version folder."""
    epoch_of = _epoch_lookup(scalars, int(training.get("check_val_every_n_epoch") or 1))
    wanted = [t for t in scalars if not t.startswith(_DUPLICATE_PREFIXES)]
    train_tags = [t for t in wanted if t.startswith("train_") or t in _STEP_TAGS or t.endswith("_weight")]
    val_tags = [t for t in wanted if t.startswith("val_")]
    lr_tags = sorted(t for t in scalars if t.startswith("lr-"))
    steps: dict[int, dict[str, float]] = {}
    walls: dict[int, float] = {}
    for tag in train_tags:
        for wall, step, value in scalars[tag]:
            steps.setdefault(step, {})[tag] = value
            walls[step] = max(walls.get(step, 0.0), wall)
    for metrics in steps.values():
        _add_weighted_losses(metrics)
    vals: dict[int, tuple[int, float, dict[str, float]]] = {}  # epoch -> (step, wall, metrics)
    for tag in val_tags:
        for wall, step, value in scalars[tag]:
            epoch = epoch_of(step)
            entry = vals.setdefault(epoch, (step, wall, {}))
            entry[2][tag] = value
    epochs = sorted({epoch_of(s) for s in steps} | set(vals))
    if not epochs:
        return []
    lrs = _learning_rates(scalars, lr_tags, epochs[0])
    steps_per_epoch = _steps_per_epoch(vals, epochs[0], int(training.get("check_val_every_n_epoch") or 1))
    all_walls = [w for tag in scalars.values() for w, _s, _v in tag]
    started = Event("started", min(all_walls), {
        "pid": None, "job": "train", "run_dir": str(run_dir), "source": SOURCE_NAME,
        "max_epochs": training.get("max_epochs"), "steps_per_epoch": steps_per_epoch, "start_epoch": epochs[0],
    })  # fmt: skip
    events = [started]
    for epoch in epochs:
        events += _epoch_events(epoch, steps, walls, vals.get(epoch), lrs.get(epoch, {}), epoch_of, steps_per_epoch)
    return events


def _epoch_lookup(scalars: dict[str, list[Scalar]], val_every: int) -> Callable[[int], int]:
    """``epoch_of(step)``: Lightning's ``epoch`` scalar at that step, or the last one before it.

    Without an ``epoch`` tag: the number of validations before the step times the validation interval.
    """
    epoch_points = sorted((step, int(round(value))) for _w, step, value in scalars.get("epoch", []))
    if epoch_points:
        keys = [s for s, _e in epoch_points]

        def from_epoch_tag(step: int) -> int:
            pos = bisect.bisect_right(keys, step) - 1
            return epoch_points[max(pos, 0)][1]

        return from_epoch_tag
    val_steps = [step for _w, step, _v in scalars.get("val_supervised_loss", [])]

    def from_validations(step: int) -> int:
        return bisect.bisect_left(val_steps, step) * val_every

    return from_validations


def _add_weighted_losses(metrics: dict[str, float]) -> None:
    """``train_<loss>_loss_weighted`` = raw x ``<loss>_weight`` x ``total_unsupervised_importance`` (PoseDesk's name)."""
    importance = metrics.get("total_unsupervised_importance", 1.0)
    for tag in [t for t in metrics if t.startswith("train_") and t.endswith("_loss")]:
        loss = tag[len("train_") : -len("_loss")]
        weight = metrics.get(f"{loss}_weight")
        if weight is not None and not loss.startswith(("heatmap_", "supervised")):
            metrics[f"{tag}_weighted"] = metrics[tag] * weight * importance


def _learning_rates(
    scalars: dict[str, list[Scalar]], lr_tags: list[str], first_epoch: int
) -> dict[int, dict[str, float]]:
    """Epoch -> learning rates: the k-th value of a ``lr-*`` tag (logged at each epoch's start) is epoch first+k."""
    out: dict[int, dict[str, float]] = {}
    first_other = next((t for t in lr_tags if not t.endswith("/backbone")), None)
    for tag in lr_tags:
        name = _lr_name(tag, tag == first_other)
        for k, (_wall, _step, value) in enumerate(scalars[tag]):
            out.setdefault(first_epoch + k, {})[name] = value
    return out


def _steps_per_epoch(vals: dict[int, tuple[int, float, dict[str, float]]], first_epoch: int, val_every: int) -> int:
    """Training steps per epoch from the global steps of the validations (0 when unknown)."""
    points = sorted((epoch, step) for epoch, (step, _w, _m) in vals.items())
    if len(points) >= 2:
        (e0, s0), (e1, s1) = points[0], points[1]
        return max(0, round((s1 - s0) / max(e1 - e0, 1)))
    if points and first_epoch == 0:
        return max(0, round(points[0][1] / (points[0][0] + 1)))
    return 0


def _epoch_events(
    epoch: int,
    steps: dict[int, dict[str, float]],
    walls: dict[int, float],
    val: tuple[int, float, dict[str, float]] | None,
    lrs: dict[str, float],
    epoch_of: Callable[[int], int],
    steps_per_epoch: int,
) -> list[Event]:
    """One epoch's ``progress`` events and its ``epoch_end`` event (mean training metrics + validation + learning rates)."""
    own = sorted(s for s in steps if epoch_of(s) == epoch)
    events = [
        Event(
            "progress",
            walls[s],
            {
                "epoch": epoch,
                "step": max(0, s - epoch * steps_per_epoch) if steps_per_epoch else s,
                "steps_per_epoch": steps_per_epoch,
                "global_step": s,
                "metrics": dict(steps[s]),
            },
        )  # fmt: skip
        for s in own
    ]
    sums: dict[str, list[float]] = {}
    for s in own:
        for name, value in steps[s].items():
            sums.setdefault(name, []).append(value)
    metrics = {name: sum(values) / len(values) for name, values in sums.items()}
    metrics.update(val[2] if val is not None else {})
    metrics.update(lrs)
    global_step = val[0] if val is not None else (own[-1] if own else 0)
    wall = val[1] if val is not None else (walls[own[-1]] if own else 0.0)
    events.append(Event("epoch_end", wall, {"epoch": epoch, "global_step": global_step, "metrics": metrics}))
    return events
