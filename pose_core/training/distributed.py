"""Training on several devices and nodes with Lightning's DDP: settings, checks and the run folder.

``training.devices`` processes per node (Lightning Pose's ``training.num_gpus`` is the same
setting) times ``training.num_nodes`` nodes train one model together with Lightning's ``ddp``
strategy (NCCL between GPUs, gloo between CPU processes; Lightning picks the backend). The
configured batch sizes are the *effective* ones: each process takes an equal share.

How the processes start:

* One machine: ``pose-train training.devices=2``. When ``trainer.fit`` starts, Lightning re-runs
  the same command line as ``devices - 1`` child processes (``LOCAL_RANK=1...``). The children
  take the run folder of the first process from :data:`RUN_DIR_ENV`, so the clock-based default
  folder is one folder, not one per process.
* SLURM: ``srun pose-train ...`` starts every process; Lightning's own SLURM detection gives each
  its rank (nothing here forces a cluster environment). :func:`check_slurm_allocation` compares
  the allocation with the config before anything is written.

Only global rank 0 writes files (config, events, checkpoints, predictions, summary).
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from pose_core.errors import ConfigError

RUN_DIR_ENV = "POSEDESK_RUN_DIR"
"""Environment variable through which the first process gives its run folder to its children."""

PARENT_PID_ENV = "POSEDESK_PARENT_PID"
"""Environment variable holding the process id of the first process, for its children."""

SLURM_INTERACTIVE_JOB_NAMES = ("bash", "interactive")
"""SLURM job names for which Lightning does not use the SLURM environment (as Lightning decides)."""

_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK")


@dataclass(frozen=True)
class DevicePlan:
    """Where and how many processes train, and each process's share of the batches.

    Attributes:
        accelerator: ``cpu`` or ``gpu`` (``auto`` resolved).
        devices: Processes per node.
        num_nodes: Nodes (machines).
        train_batch_size: Labelled frames per step in each process.
        val_batch_size: Validation frames per step in each process.
        unlabeled_sequence_length: Frames of the unlabelled clip per step in each process.
    """

    accelerator: str
    devices: int
    num_nodes: int
    train_batch_size: int
    val_batch_size: int
    unlabeled_sequence_length: int

    @property
    def world_size(self) -> int:
        """Processes in total (devices x nodes)."""
        return self.devices * self.num_nodes

    @property
    def strategy(self) -> str:
        """Lightning's strategy name: ``ddp`` for several processes, else ``auto``."""
        return "ddp" if self.world_size > 1 else "auto"


def resolve_devices(devices: int, num_gpus: int) -> int:
    """Processes per node from ``training.devices`` and its Lightning Pose alias ``training.num_gpus``.

    Both keys default to 1, so a value other than 1 (0 counts as 1) in either one is what the user
    asked for; two different values above 1 are a contradiction.

    Args:
        devices: ``training.devices``.
        num_gpus: ``training.num_gpus``.

    Returns:
        The processes per node.

    Raises:
        ConfigError: Both keys are above 1 and differ.
    """
    alias = max(1, int(num_gpus))
    devices = int(devices)
    if devices > 1 and alias > 1 and devices != alias:
        raise ConfigError(
            f"training.devices={devices} and training.num_gpus={alias} disagree (num_gpus is Lightning Pose's name for the same setting); set only one of them, or both to the same value.",
            key="training.devices",
        )
    return max(devices, alias)


def resolve_accelerator(requested: str, devices: int, cuda_device_count: int) -> str:
    """``cpu`` or ``gpu`` for ``training.accelerator`` on this machine.

    Args:
        requested: ``auto``, ``cpu`` or ``gpu``.
        devices: Processes per node (GPUs needed on a GPU node).
        cuda_device_count: CUDA GPUs visible here.

    Raises:
        ConfigError: ``gpu`` without CUDA, or more devices than visible GPUs.
    """
    if requested == "cpu":
        return "cpu"
    if cuda_device_count == 0:
        if requested == "gpu":
            raise ConfigError(
                "training.accelerator=gpu but no CUDA GPU is visible; use training.accelerator=auto or cpu.",
                key="training.accelerator",
            )
        return "cpu"
    if devices > cuda_device_count:
        raise ConfigError(
            f"training.devices={devices} but this node has {cuda_device_count} CUDA GPU(s); set training.devices={cuda_device_count} or fewer (or training.accelerator=cpu).",
            key="training.devices",
        )
    return "gpu"


def split_batch(total: int, world_size: int, key: str, minimum: int = 1) -> int:
    """Each process's share of an effective batch, which must divide evenly.

    Args:
        total: The configured (effective) size.
        world_size: Processes in total.
        key: The config key, for the error message.
        minimum: Smallest share that works (a clip needs 2 frames).

    Raises:
        ConfigError: The size does not split into equal shares of at least ``minimum``.
    """
    if world_size == 1:
        return total
    share, rest = divmod(total, world_size)
    if share >= minimum and not rest:
        return share
    low = max(share, minimum) * world_size
    hint = f"{low}" if share < minimum else f"{low} or {low + world_size}"
    each = f" with at least {minimum} each" if minimum > 1 else ""
    raise ConfigError(
        f"{key}={total} cannot be shared equally by {world_size} training processes (training.devices x training.num_nodes){each}; set {key} to a multiple of {world_size}, e.g. {hint}.",
        key=key,
    )


def slurm_detected(env: Mapping[str, str]) -> bool:
    """Whether Lightning will take the ranks from SLURM (``srun``), by Lightning's own rule."""
    return "SLURM_NTASKS" in env and env.get("SLURM_JOB_NAME") not in SLURM_INTERACTIVE_JOB_NAMES


def _slurm_int(env: Mapping[str, str], *names: str) -> tuple[str, int] | None:
    """The first of ``names`` set in ``env`` with its leading integer (``2(x3)`` -> 2)."""
    for name in names:
        match = re.match(r"\s*(\d+)", env.get(name, ""))
        if match:
            return name, int(match.group(1))
    return None


def check_slurm_allocation(devices: int, num_nodes: int, env: Mapping[str, str]) -> None:
    """Fails early when the SLURM allocation does not match ``training.num_nodes`` / ``devices``.

    Checked only when Lightning uses the SLURM environment (see :func:`slurm_detected`); otherwise
    Lightning would hang waiting for processes that never start, or stop with a traceback.

    Raises:
        ConfigError: One line naming the key, both values and the fix.
    """
    if not slurm_detected(env):
        return
    nodes = _slurm_int(env, "SLURM_NNODES", "SLURM_JOB_NUM_NODES")
    if nodes is not None and nodes[1] != num_nodes:
        raise ConfigError(
            f"training.num_nodes={num_nodes} but the SLURM allocation has {nodes[1]} node(s) ({nodes[0]}={nodes[1]}); set training.num_nodes={nodes[1]} or submit with --nodes={num_nodes}.",
            key="training.num_nodes",
        )
    per_node = _slurm_int(env, "SLURM_NTASKS_PER_NODE")
    ntasks = _slurm_int(env, "SLURM_NTASKS")
    if per_node is None and ntasks is not None and ntasks[1] > 1:
        raise ConfigError(
            f"training.devices={devices} but srun starts SLURM_NTASKS={ntasks[1]} tasks without --ntasks-per-node; submit with --nodes={num_nodes} --ntasks-per-node={devices}.",
            key="training.devices",
        )
    if per_node is not None and per_node[1] != devices:
        raise ConfigError(
            f"training.devices={devices} but SLURM runs {per_node[1]} task(s) per node (SLURM_NTASKS_PER_NODE={per_node[1]}); set training.devices={per_node[1]} or submit with --ntasks-per-node={devices}.",
            key="training.devices",
        )


def plan_devices(
    cfg: DictConfig, env: Mapping[str, str] | None = None, cuda_device_count: int | None = None
) -> DevicePlan:
    """Resolves devices, nodes, accelerator and per-process batches, and checks them against SLURM.

    Args:
        cfg: A validated config.
        env: The environment (default ``os.environ``).
        cuda_device_count: Visible CUDA GPUs (default: asked from torch).

    Returns:
        The plan; ``training.devices`` and ``training.num_gpus`` of ``cfg`` are left unchanged.

    Raises:
        ConfigError: Contradicting keys, batches that do not split, or a SLURM mismatch.
    """
    t = cfg.training
    env = os.environ if env is None else env
    devices = resolve_devices(int(t.devices), int(t.num_gpus))
    num_nodes = int(t.num_nodes)
    if cuda_device_count is None:
        cuda_device_count = _cuda_device_count() if str(t.accelerator) != "cpu" else 0
    accelerator = resolve_accelerator(str(t.accelerator), devices, cuda_device_count)
    check_slurm_allocation(devices, num_nodes, env)
    world = devices * num_nodes
    sequence_length = int(t.unlabeled_sequence_length)
    if cfg.model.losses_to_use:
        sequence_length = split_batch(sequence_length, world, "training.unlabeled_sequence_length", minimum=2)
    return DevicePlan(
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        train_batch_size=split_batch(int(t.train_batch_size), world, "training.train_batch_size"),
        val_batch_size=math.ceil(int(t.val_batch_size) / world),
        unlabeled_sequence_length=sequence_length,
    )


def _cuda_device_count() -> int:
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def is_secondary_process(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process is not global rank 0 of a distributed launch (before any Trainer exists).

    Reads the rank variables Lightning's launcher, ``torchrun`` and ``srun`` set; a process started
    by hand has none of them and is primary.
    """
    env = os.environ if env is None else env
    names = _RANK_VARIABLES + (("SLURM_PROCID",) if slurm_detected(env) else ())
    return any(env.get(name, "0").strip() not in ("", "0") for name in names)


def shared_run_dir(template: str, expand: Callable[[str], Path], env: Mapping[str, str] | None = None) -> Path:
    """The run folder every process of one training agrees on.

    Args:
        template: ``hydra.run.dir`` (may contain ``${now:FORMAT}``).
        expand: Turns a template into a folder (clock and current folder), e.g.
            :func:`pose_core.cli.expand_run_dir`.
        env: The environment (default ``os.environ``).

    Returns:
        The folder given by the first process (:data:`RUN_DIR_ENV`); else ``template`` when it does
        not use the clock; under ``srun`` with several tasks, ``<prefix>/slurm-<job>.<step>``
        instead of the clock; else the template expanded now.

    Raises:
        ConfigError: Processes started by ``torchrun`` with a clock-based folder (they would each
            write to their own).
    """
    env = os.environ if env is None else env
    if env.get(RUN_DIR_ENV):
        return Path(env[RUN_DIR_ENV])
    if "${now:" not in template:
        return expand(template)
    ntasks = _slurm_int(env, "SLURM_NTASKS")
    if slurm_detected(env) and ntasks is not None and ntasks[1] > 1:
        prefix = template.split("${now:", 1)[0].rstrip("/") or "."
        step = env.get("SLURM_STEP_ID", env.get("SLURM_STEPID", "0"))
        return expand(f"{prefix}/slurm-{env.get('SLURM_JOB_ID', '0')}.{step}")
    if "TORCHELASTIC_RUN_ID" in env:
        raise ConfigError(
            f"hydra.run.dir={template} uses the clock, which differs between the processes torchrun starts; give a fixed folder, e.g. hydra.run.dir=outputs/run1.",
            key="hydra.run.dir",
        )
    return expand(template)


def launched_by_lightning(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process is a child that Lightning's launcher started (``LOCAL_RANK`` > 0)."""
    env = os.environ if env is None else env
    if slurm_detected(env) or "TORCHELASTIC_RUN_ID" in env or not env.get(RUN_DIR_ENV):
        return False
    return env.get("LOCAL_RANK", "0").strip() not in ("", "0")


def exit_with_parent(poll_s: float = 1.0) -> None:
    """Ends this child process when the process that launched it is gone.

    A first process killed outright (``kill -9``) cannot end the children Lightning started. Over
    gloo they fail at once on the closed connection, but over NCCL they can wait in a collective,
    holding their GPU, until its timeout (Lightning issue #2913).

    Args:
        poll_s: How often the parent is checked.
    """
    parent_pid = int(os.environ.get(PARENT_PID_ENV) or os.getppid())

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def leave_process_group() -> None:
    """Leaves the process group of a distributed run after ``fit``, when there is one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextmanager
def run_dir_for_children(run_dir: Path) -> Iterator[None]:
    """Publishes the run folder and this process's id to the child processes Lightning starts.

    They go in :data:`RUN_DIR_ENV` and :data:`PARENT_PID_ENV`. Lightning's launcher copies ``os.environ`` into each child; the variables are restored on
    exit so a later run in the same process does not inherit them.
    """
    values = {RUN_DIR_ENV: str(run_dir), PARENT_PID_ENV: str(os.getpid())}
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
