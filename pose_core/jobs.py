"""Cluster jobs: export a self-contained run directory that trains with ``bash train.sh`` or ``sbatch job.sbatch``.

:func:`export_job` writes, into a new run directory:

- ``config.yaml``: the resolved config, with its data paths made relative to the run directory
  (``data.data_dir``; ``video_dir``, ``csv_file`` and ``eval.test_videos_directory`` stay relative
  to ``data_dir``), or rewritten by prefix with ``remap`` (``/home/me/data=/cluster/data``) when the
  cluster sees the files under another path;
- ``train.sh``: bash, runs from any folder, trains into its own folder and appends the output to
  ``train.log``;
- ``job.sbatch``: the same command under ``srun``, with ``#SBATCH`` lines for the nodes, the
  processes per node (``training.devices``), GPUs (``training.accelerator=gpu``), the time limit
  and the output log (``slurm-<jobid>.out`` in the run directory).

Both scripts run ``${PYTHON:-python} -m pose_core.cli train --config-path RUN --config-name
config.yaml hydra.run.dir=RUN``, which is ``pose-train`` with the same arguments (the form the GUI
launches): it needs no console script on ``PATH``, and ``PYTHON=/path/to/venv/bin/python`` picks
an environment without activating it. ``remap`` also applies to the run directory itself, so the
SLURM script names it as the cluster sees it. The GUI follows the running job by reading the run
directory's files (``events.jsonl``), so nothing else is needed to watch it from another machine.

``posedesk export-job`` (:func:`export_job_main`) is the command line.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shlex
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from pose_core.cli_support import OneLineArgumentParser, UsageError, run_command
from pose_core.config.io import PATH_KEYS_CWD, PATH_KEYS_FROM_DATA_DIR, LoadedConfig, load_config
from pose_core.errors import ConfigError, DataError
from pose_core.io.atomic import atomic_write_text
from pose_core.runs.layout import CONFIG_FILENAME, LOG_FILENAME, SLURM_SCRIPT, TRAIN_SCRIPT

JOB_FILENAMES = (CONFIG_FILENAME, TRAIN_SCRIPT, SLURM_SCRIPT)
DEFAULT_TIME = "24:00:00"
DEFAULT_PYTHON = "python"
PROG = "posedesk export-job"
_SLURM_TIME = re.compile(r"^(\d+-)?\d+(:\d{1,2}){0,2}$")  # minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S
_SLURM_NAME = re.compile(r"^[A-Za-z0-9_.,+-]+$")


@dataclass(frozen=True)
class SlurmOptions:
    """What ``job.sbatch`` asks SLURM for (beyond what the config decides).

    Attributes:
        time: Wall-time limit in a SLURM format (``HH:MM:SS``, ``D-HH:MM:SS``, minutes...).
        partition: ``--partition`` (None = the cluster's default).
        account: ``--account`` (None = the user's default).
        cpus_per_task: CPU cores per process (None = ``training.num_workers + 2``).
    """

    time: str = DEFAULT_TIME
    partition: str | None = None
    account: str | None = None
    cpus_per_task: int | None = None

    def check(self) -> None:
        """Raises ConfigError naming the option when a value cannot go in an ``#SBATCH`` line."""
        if not _SLURM_TIME.match(self.time):
            raise ConfigError(f"--time {self.time!r} is not a SLURM time; write HH:MM:SS, e.g. 12:00:00.", key="time")
        for name, value in (("partition", self.partition), ("account", self.account)):
            if value is not None and not _SLURM_NAME.match(value):
                raise ConfigError(f"--{name} {value!r} is not a SLURM {name} name (letters, digits, _.-).", key=name)
        if self.cpus_per_task is not None and self.cpus_per_task < 1:
            raise ConfigError(f"--cpus-per-task {self.cpus_per_task} must be at least 1.", key="cpus_per_task")


@dataclass(frozen=True)
class JobFiles:
    """The files of an exported job, as text (what :func:`write_job` writes; the GUI previews them).

    Attributes:
        run_dir: The run directory on this machine.
        cluster_run_dir: The run directory as the cluster sees it (``run_dir`` remapped).
        texts: File name -> content (``config.yaml``, ``train.sh``, ``job.sbatch``).
        nodes: ``#SBATCH --nodes``.
        devices: Processes per node (``#SBATCH --ntasks-per-node``).
        gpus_per_node: GPUs requested per node (0 unless ``training.accelerator=gpu``).
    """

    run_dir: Path
    cluster_run_dir: str
    texts: dict[str, str] = field(default_factory=dict)
    nodes: int = 1
    devices: int = 1
    gpus_per_node: int = 0


# ----------------------------------------------------------------------------- paths


def parse_remaps(items: Sequence[str]) -> dict[str, str]:
    """Parses ``LOCAL=CLUSTER`` prefix pairs (both absolute).

    Raises:
        ConfigError: A pair without ``=`` or with a relative side.
    """
    remap: dict[str, str] = {}
    for text in items:
        local, eq, cluster = text.partition("=")
        if not eq or not local.startswith("/") or not cluster.startswith("/"):
            raise ConfigError(
                f"--remap {text!r}: write LOCAL=CLUSTER with two absolute paths, e.g. /home/me/data=/cluster/data.",
                key="remap",
            )
        remap[_strip_slash(local)] = _strip_slash(cluster)
    return remap


def _strip_slash(path: str) -> str:
    return path.rstrip("/") or "/"


def remap_path(path: str, remap: Mapping[str, str]) -> str | None:
    """``path`` with its longest matching prefix replaced (whole path components), or None if none matches."""
    for local in sorted(remap, key=len, reverse=True):
        if path == local or path.startswith(local.rstrip("/") + "/"):
            return remap[local] + path[len(local) :] if local != "/" else remap[local].rstrip("/") + path
    return None


def _is_under(path: str, folder: str) -> bool:
    return os.path.commonpath([os.path.abspath(path), os.path.abspath(folder)]) == os.path.abspath(folder)


def job_path_values(cfg: DictConfig, run_dir: Path, remap: Mapping[str, str]) -> dict[str, str]:
    """The path keys of the exported config: remapped (absolute) or relative, by key.

    ``data.data_dir`` and the other file paths are relative to the run directory (where the
    exported ``config.yaml`` lives); ``video_dir``, ``csv_file`` and ``eval.test_videos_directory``
    relative to ``data_dir``, unless they lie outside it and a remap applies.

    Args:
        cfg: A loaded config (absolute paths).
        run_dir: The local run directory.
        remap: Local prefix -> cluster prefix.

    Returns:
        Dotted key -> value to write, for every path key that is set.
    """
    values: dict[str, str] = {}
    for key in PATH_KEYS_CWD:
        value = OmegaConf.select(cfg, key)
        if value:
            values[key] = remap_path(str(value), remap) or os.path.relpath(str(value), run_dir)
    data_dir = str(cfg.data.data_dir or "")
    for key in PATH_KEYS_FROM_DATA_DIR:
        value = OmegaConf.select(cfg, key)
        if not value or not data_dir:
            continue
        mapped = remap_path(str(value), remap)
        inside = _is_under(str(value), data_dir)
        values[key] = os.path.relpath(str(value), data_dir) if inside or mapped is None else mapped
    return values


def job_config_yaml(loaded: LoadedConfig, run_dir: Path, remap: Mapping[str, str]) -> str:
    """The exported ``config.yaml``: the resolved config with :func:`job_path_values` paths."""
    cfg = copy.deepcopy(loaded.cfg)
    for key, value in job_path_values(loaded.cfg, run_dir, remap).items():
        OmegaConf.update(cfg, key, value, merge=False)
    ignored = {k: v for k, v in loaded.ignored.items() if k != "hydra"}  # train.sh sets hydra.run.dir
    header = (
        f"# Exported by posedesk export-job on {datetime.now():%Y-%m-%d %H:%M} from {loaded.source}.\n"
        "# data.data_dir (and the other paths) are relative to this folder unless remapped; the\n"
        "# training replaces this file with the resolved config it used.\n"
    )
    return header + LoadedConfig(cfg=cfg, ignored=ignored).to_yaml()


# ----------------------------------------------------------------------------- config


def find_config_file(config_path_or_project: Path) -> Path:
    """The config file to export: the file itself, or a project folder's ``config.yaml``.

    Raises:
        DataError: Nothing there, or a folder without a PoseDesk / Lightning Pose config.
    """
    path = Path(config_path_or_project).expanduser().absolute()
    if path.is_file():
        return path
    if not path.is_dir():
        raise DataError(f"{path} does not exist; give a project folder or --config FILE.", path=str(path))
    from pose_core.project import Project

    config = Project.open(path).config_path
    if config is None or not config.is_file():
        raise DataError(
            f"{path} has no PoseDesk config.yaml; open it in PoseDesk and save its config (Config pane), "
            "or give --config FILE.",
            path=str(path),
        )
    return config


def load_job_config(config_path_or_project: Path, overrides: Sequence[str] = ()) -> LoadedConfig:
    """Loads and validates the config to export (a file or a project folder), with overrides.

    Raises:
        ConfigError: The config is invalid (names the key).
        DataError: No config there.
    """
    return load_config(find_config_file(config_path_or_project), overrides)


def _positive_int(cfg: DictConfig, key: str) -> int | None:
    """An integer key that may not exist in this schema version (None when absent or not a count)."""
    value = OmegaConf.select(cfg, key, default=None)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def job_layout(cfg: DictConfig) -> tuple[int, int, int]:
    """``(nodes, processes per node, GPUs per node)`` from the config.

    Processes per node are ``training.devices``, or Lightning Pose's ``training.num_gpus`` when
    that is the one set (as training reads them); a schema without these keys gives 1. GPUs are
    requested only with ``training.accelerator=gpu``.

    Raises:
        ConfigError: ``devices`` and ``num_gpus`` contradict each other.
    """
    from pose_core.training.distributed import resolve_devices

    accelerator = str(OmegaConf.select(cfg, "training.accelerator", default="auto"))
    nodes = _positive_int(cfg, "training.num_nodes") or 1
    devices = resolve_devices(_positive_int(cfg, "training.devices") or 1, _positive_int(cfg, "training.num_gpus") or 1)
    return nodes, devices, devices if accelerator == "gpu" else 0


# ----------------------------------------------------------------------------- scripts


def _command(run_dir_var: str) -> str:
    return (
        f'"$PYTHON" -m pose_core.cli train --config-path "{run_dir_var}" --config-name {CONFIG_FILENAME} '
        f'"hydra.run.dir={run_dir_var}"'
    )


def _python_lines(python: str, script_name: str, exporting_python: str | None = None) -> str:
    fallback = ""
    if exporting_python:  # bash train.sh on the machine that exported it works without PYTHON=...
        fallback = (
            f"EXPORTING_PYTHON={shlex.quote(exporting_python)}  # PoseDesk's interpreter where this was exported\n"
            'if [ -z "${PYTHON:-}" ] && ! "$DEFAULT_PYTHON" -c \'import pose_core\' >/dev/null 2>&1 \\\n'
            "    && \"$EXPORTING_PYTHON\" -c 'import pose_core' >/dev/null 2>&1; then\n"
            '    PYTHON="$EXPORTING_PYTHON"\n'
            "fi\n"
        )
    return (
        f"DEFAULT_PYTHON={shlex.quote(python)}\n"
        f"{fallback}"
        'PYTHON="${PYTHON:-$DEFAULT_PYTHON}"\n'
        "export PYTHONUNBUFFERED=1\n"
        "if ! \"$PYTHON\" -c 'import pose_core' >/dev/null 2>&1; then\n"
        f"    echo \"{script_name}: error: $PYTHON cannot import pose_core; activate PoseDesk's environment "
        'or set PYTHON=/path/to/venv/bin/python" >&2\n'
        "    exit 2\n"
        "fi\n"
    )


def train_script(python: str = DEFAULT_PYTHON, exporting_python: str | None = None) -> str:
    """``train.sh``: trains into its own folder from any working directory; extra arguments are overrides.

    Args:
        python: The default interpreter (``PYTHON`` overrides it).
        exporting_python: The interpreter that exported the job: used when ``PYTHON`` is not set
            and ``python`` cannot import PoseDesk (the script runs on the exporting machine).
    """
    return (
        "#!/usr/bin/env bash\n"
        f"# Train this PoseDesk run (written by posedesk export-job): bash {TRAIN_SCRIPT} [key=value ...]\n"
        f"# Works from any folder; results go next to this file, the output also to {LOG_FILENAME}.\n"
        "# PYTHON=/path/to/venv/bin/python picks the environment that has PoseDesk installed (default:\n"
        "# python, else the environment that exported this job if it is on this machine).\n"
        "# Extra arguments are config overrides, e.g. bash train.sh training.max_epochs=5\n"
        "set -euo pipefail\n"
        'RUN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
        f"{_python_lines(python, TRAIN_SCRIPT, exporting_python)}"
        f'{_command("$RUN_DIR")} "$@" 2>&1 | tee -ai "$RUN_DIR/{LOG_FILENAME}"\n'
    )


def slurm_script(
    cluster_run_dir: str,
    job_name: str,
    layout: tuple[int, int, int],
    options: SlurmOptions,
    cpus_per_task: int,
    python: str,
) -> str:
    """``job.sbatch``: ``srun`` of the training command, one process per device on every node."""
    nodes, devices, gpus = layout
    run_dir = shlex.quote(cluster_run_dir)
    lines = [
        "#!/bin/bash",
        "# SLURM job of this PoseDesk run (written by posedesk export-job): sbatch job.sbatch",
        f"#SBATCH --job-name={job_name}",
        f"#SBATCH --nodes={nodes}",
        f"#SBATCH --ntasks-per-node={devices}",
        f"#SBATCH --cpus-per-task={cpus_per_task}",
    ]
    if gpus:
        lines.append(f"#SBATCH --gres=gpu:{gpus}")
    lines.append(f"#SBATCH --time={options.time}")
    if options.partition:
        lines.append(f"#SBATCH --partition={options.partition}")
    if options.account:
        lines.append(f"#SBATCH --account={options.account}")
    lines += [f"#SBATCH --chdir={cluster_run_dir}", f"#SBATCH --output={cluster_run_dir}/slurm-%j.out"]
    if not gpus:
        lines.append(
            "# No GPU requested: training.accelerator is not 'gpu' (set training.accelerator=gpu to request GPUs)."
        )
    lines += [
        "# Activate PoseDesk's environment here if needed (module load ...; source venv/bin/activate).",
        "set -euo pipefail",
        f"RUN_DIR={run_dir}",
    ]
    return "\n".join(lines) + "\n" + _python_lines(python, SLURM_SCRIPT) + f"srun {_command('$RUN_DIR')}\n"


def render_job(
    loaded: LoadedConfig,
    dest_run_dir: Path,
    *,
    remap: Mapping[str, str] | None = None,
    slurm: SlurmOptions | None = None,
    python: str = DEFAULT_PYTHON,
) -> JobFiles:
    """The exported files as text (nothing is written).

    Args:
        loaded: The config to export (:func:`load_job_config`).
        dest_run_dir: The run directory to create on this machine.
        remap: Local path prefix -> the cluster's (``{"/home/me/data": "/cluster/data"}``).
        slurm: Time limit, partition, account, CPUs.
        python: Default interpreter of the scripts (``PYTHON`` overrides it when they run).

    Raises:
        ConfigError: A bad SLURM option or interpreter.
    """
    slurm = slurm or SlurmOptions()
    slurm.check()
    if not python.strip():
        raise ConfigError("--python is empty; give the interpreter that has PoseDesk, e.g. python.", key="python")
    remap = dict(remap or {})
    run_dir = Path(dest_run_dir).expanduser().absolute()
    cluster_run_dir = remap_path(str(run_dir), remap) or str(run_dir)
    layout = job_layout(loaded.cfg)
    workers = _positive_int(loaded.cfg, "training.num_workers") or 0
    job_name = "posedesk-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", run_dir.name)
    texts = {
        CONFIG_FILENAME: job_config_yaml(loaded, run_dir, remap),
        TRAIN_SCRIPT: train_script(python, sys.executable),
        SLURM_SCRIPT: slurm_script(
            cluster_run_dir, job_name, layout, slurm, slurm.cpus_per_task or workers + 2, python
        ),
    }
    return JobFiles(run_dir, cluster_run_dir, texts, *layout)


# ----------------------------------------------------------------------------- writing


def check_destination(run_dir: Path, config_file: Path | None, *, force: bool) -> None:
    """Refuses a destination that is a file, the config's own folder, or not empty (unless ``force``).

    Raises:
        DataError: Naming the folder and the fix.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise DataError(f"{run_dir} is a file; give a new folder as the destination.", path=str(run_dir))
    if config_file is not None and run_dir.resolve() == config_file.parent.resolve():
        raise DataError(
            f"{run_dir} is the folder of {config_file.name} itself; give a new folder for the run.", path=str(run_dir)
        )
    if not force and run_dir.is_dir() and any(run_dir.iterdir()):
        raise DataError(
            f"{run_dir} already exists and is not empty; give a new folder, or --force to overwrite its "
            f"{', '.join(JOB_FILENAMES)}.",
            path=str(run_dir),
        )


def write_job(files: JobFiles, *, force: bool = False, config_file: Path | None = None) -> list[Path]:
    """Writes the job's files (scripts executable); returns their paths.

    Raises:
        DataError: The destination is refused (:func:`check_destination`) or cannot be written.
    """
    check_destination(files.run_dir, config_file, force=force)
    written = []
    for name, text in files.texts.items():
        path = files.run_dir / name
        atomic_write_text(path, text)
        if name != CONFIG_FILENAME:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        written.append(path)
    return written


def export_job(
    config_path_or_project: Path,
    dest_run_dir: Path,
    *,
    remap: Mapping[str, str] | None = None,
    slurm: SlurmOptions | None = None,
    python: str = DEFAULT_PYTHON,
    overrides: Sequence[str] = (),
    force: bool = False,
) -> JobFiles:
    """Writes a self-contained run directory: ``config.yaml``, ``train.sh`` and ``job.sbatch``.

    Args:
        config_path_or_project: A config file, or a project folder (its ``config.yaml``).
        dest_run_dir: The new run directory (must not exist or be empty, unless ``force``).
        remap: Local path prefix -> the cluster's; unmatched paths are made relative.
        slurm: Time limit, partition, account, CPUs of ``job.sbatch``.
        python: Default interpreter of the scripts.
        overrides: Config overrides applied before export (``training.accelerator=gpu``).
        force: Overwrite the three files in a non-empty destination (other files are kept).

    Returns:
        What was written.

    Raises:
        ConfigError: Invalid config, override or option.
        DataError: No config, or a refused / unwritable destination.
    """
    loaded = load_job_config(config_path_or_project, overrides)
    files = render_job(loaded, dest_run_dir, remap=remap, slurm=slurm, python=python)
    write_job(files, force=force, config_file=loaded.source)
    return files


# ----------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog=PROG,
        usage="posedesk export-job [--config FILE | PROJECT] DEST [--remap LOCAL=CLUSTER ...] [--time HH:MM:SS] "
        "[--partition P] [options]",
        description="Write a run directory DEST that trains on another machine: config.yaml (paths relative "
        "to DEST or remapped), train.sh (bash DEST/train.sh) and job.sbatch (sbatch DEST/job.sbatch).",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="[PROJECT] DEST", help="project folder (or --config) and the new run folder"
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="config file to export instead of PROJECT's")
    parser.add_argument("--remap", action="append", default=[], metavar="LOCAL=CLUSTER",
                        help="rewrite paths under LOCAL as CLUSTER (repeatable); other paths are made relative")  # fmt: skip
    parser.add_argument("--time", default=DEFAULT_TIME, help=f"SLURM time limit (default {DEFAULT_TIME})")
    parser.add_argument("--partition", help="SLURM partition")
    parser.add_argument("--account", help="SLURM account")
    parser.add_argument("--cpus-per-task", type=int, help="CPU cores per process (default training.num_workers + 2)")
    parser.add_argument("--python", default=DEFAULT_PYTHON, help="interpreter the scripts run (default python; "
                        "PYTHON=... overrides it at run time)")  # fmt: skip
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. --set training.accelerator=gpu (repeatable)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="overwrite the job files of a non-empty DEST")
    return parser


def _source_and_dest(args: argparse.Namespace) -> tuple[Path, Path]:
    paths = [Path(p) for p in args.paths]
    if args.config is not None:
        if len(paths) != 1:
            raise UsageError(f"give either --config FILE or PROJECT, then DEST; see {PROG} --help.")
        return args.config, paths[0]
    if len(paths) != 2:
        raise UsageError(f"give the project folder (or --config FILE) and DEST; see {PROG} --help.")
    return paths[0], paths[1]


def export_job_main(argv: list[str]) -> int:
    """``posedesk export-job ...``: returns the exit status (2 for a user error, printed on one line)."""
    return run_command(PROG, lambda: _export(argv))


def _export(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    source, dest = _source_and_dest(args)
    slurm = SlurmOptions(args.time, args.partition, args.account, args.cpus_per_task)
    files = export_job(
        source, dest, remap=parse_remaps(args.remap), slurm=slurm, python=args.python,
        overrides=args.overrides, force=args.force,
    )  # fmt: skip
    gpus = f", {files.gpus_per_node} GPU(s) per node" if files.gpus_per_node else ""
    print(f"Exported the job to {files.run_dir} ({', '.join(files.texts)}).")
    print(
        f"SLURM: {files.nodes} node(s) x {files.devices} process(es){gpus}; run directory there: {files.cluster_run_dir}"
    )
    print(f"Run it here:       bash {shlex.quote(str(files.run_dir / TRAIN_SCRIPT))}")
    print(f"Or on the cluster: sbatch {shlex.quote(files.cluster_run_dir + '/' + SLURM_SCRIPT)}")
    print("Follow it from PoseDesk: Training pane > Attach to run...")
    return 0
