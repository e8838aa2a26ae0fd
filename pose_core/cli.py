"""Command-line entry points: ``pose-train`` (Lightning Pose's training CLI conventions).

``pose-train`` with no arguments trains on the bundled example project (generated on first use).
``--config-path DIR --config-name NAME`` picks a config; any other argument is a hydra-style
override (``training.max_epochs=11``, ``model.losses_to_use=[temporal]``); ``hydra.run.dir=DIR``
sets the output folder (default ``outputs/YYYY-MM-DD/HH-MM-SS`` under the current folder).

With ``training.devices``/``training.num_nodes`` above 1 the same command runs once per process
(Lightning re-runs it, or ``srun`` starts it): every process resolves the same run folder (see
:func:`pose_core.training.distributed.shared_run_dir`) and only global rank 0 prints.

User errors print one line and exit with status 2. Heavy libraries are imported inside functions.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pose_core.cli_support import EXIT_USER_ERROR
from pose_core.errors import ConfigError, PoseDeskError

# Where Lightning's rank-0 messages go (whichever of the two packages set it up last).
EXIT_SIGTERM = 143  # 128 + SIGTERM: what a shell reports for a process ended by the signal
LIGHTNING_INFO_LOGGERS = ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero")

TRAIN_USAGE = """usage: pose-train [--config-path DIR] [--config-name NAME] [key=value ...]

Train a pose model. With no config, trains on the example project (generated on first use).

options:
  --config-path DIR    folder of the config file (default: the example project)
  --config-name NAME   config file name in that folder (default: config.yaml)
  -h, --help           show this help
  key=value            override a config key, e.g. training.max_epochs=11
                       data.image_resize_dims.height=256 model.losses_to_use=[temporal]
  hydra.run.dir=DIR    output folder (default outputs/YYYY-MM-DD/HH-MM-SS)
  training.resume_from=RUN_DIR_OR_CKPT
                       continue a run (in its own folder) from its last checkpoint
  training.init_from=RUN_DIR
                       start a new run from that run's weights (retrain on new labels)
  training.ensemble_seeds=[0,1,2]
                       train one run per seed, one after another (an ensemble)
"""


@dataclass
class TrainArgs:
    """Parsed ``pose-train`` arguments."""

    config_path: str | None = None
    config_name: str | None = None
    overrides: list[str] = field(default_factory=list)
    help: bool = False


def parse_train_args(argv: Sequence[str]) -> TrainArgs:
    """Parses ``--config-path``/``--config-name`` (``--x y`` or ``--x=y``), ``-h``, overrides.

    Raises:
        ConfigError: An unknown option or a missing option value.
    """
    args = TrainArgs()
    it = iter(argv)
    for arg in it:
        if arg in ("-h", "--help"):
            args.help = True
        elif arg.startswith(("--config-path", "--config-name", "-cp", "-cn")):
            name, eq, value = arg.partition("=")
            if not eq:
                value = next(it, "")
            if not value:
                raise ConfigError(f"{name} needs a value, e.g. {name}=DIR.")
            if name in ("--config-path", "-cp"):
                args.config_path = value
            elif name in ("--config-name", "-cn"):
                args.config_name = value
            else:
                raise ConfigError(f"Unknown option {name}; see pose-train --help.")
        elif arg.startswith("-"):
            raise ConfigError(f"Unknown option {arg}; see pose-train --help.")
        else:
            args.overrides.append(arg)
    return args


def expand_run_dir(template: str, now: datetime | None = None) -> Path:
    """Expands hydra's ``${now:FORMAT}`` in a run-dir template; relative = under the current folder."""
    stamp = now or datetime.now()
    text = re.sub(r"\$\{now:([^}]*)\}", lambda m: stamp.strftime(m.group(1)), template)
    path = Path(text).expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def _say(message: str) -> None:
    """Prints a line, in the first process of a distributed run only."""
    from pose_core.training.distributed import is_secondary_process

    if not is_secondary_process():
        print(message, flush=True)


def _config_file(args: TrainArgs) -> Path:
    """The config file named by the arguments, or the example project's (generated if missing)."""
    if args.config_path is None and args.config_name is None:
        from pose_core.example import ensure_example_project

        example = ensure_example_project()
        _say(f"Using the example project in {example}")
        return example / "config.yaml"
    folder = Path(args.config_path) if args.config_path else Path.cwd()
    name = args.config_name or "config.yaml"
    path = folder / name
    if not path.suffix:
        path = path.with_suffix(".yaml")
    return path.expanduser().resolve()


def _resume_base(overrides: Sequence[str]) -> Path | None:
    """With ``training.resume_from=<run dir>`` and no config given, the run's own config."""
    for text in overrides:
        key, _, value = text.partition("=")
        if key.lstrip("+") == "training.resume_from" and value and Path(value).is_dir():
            return Path(value) / "config.yaml"
    return None


class _DropAdvertisements(logging.Filter):
    """Drops Lightning's "Tip: try installing ..." lines (an advertisement, not a fact about the run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip: " not in str(record.msg)


class _StderrWarnings(logging.Handler):
    """Prints a log record as ``PROG: warning: ...`` on the current ``sys.stderr``."""

    def __init__(self, prog: str) -> None:
        super().__init__(logging.WARNING)
        self.prog = prog

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{self.prog}: warning: {record.getMessage()}", file=sys.stderr, flush=True)


def _show_warnings(prog: str) -> None:
    """Prints pose_core's warnings (a damaged checkpoint skipped, odd labels) as ``PROG: warning: ...``."""
    logger = logging.getLogger("pose_core")
    if not any(isinstance(h, _StderrWarnings) for h in logger.handlers):
        logger.addHandler(_StderrWarnings(prog))


def run_train(argv: Sequence[str]) -> int:
    """Runs ``pose-train`` and returns its exit status (user errors raise PoseDeskError)."""
    from pose_core.config.io import load_config

    for name in LIGHTNING_INFO_LOGGERS:
        logging.getLogger(name).addFilter(_DropAdvertisements())
    _show_warnings("pose-train")

    args = parse_train_args(argv)
    if args.help:
        print(TRAIN_USAGE)
        return 0
    base = _resume_base(args.overrides) if args.config_path is None and args.config_name is None else None
    config_file = base if base is not None and base.is_file() else _config_file(args)
    loaded = load_config(config_file, args.overrides)
    if loaded.ignored_keys:
        _say(f"Keeping Lightning Pose keys PoseDesk does not use: {', '.join(loaded.ignored_keys)}")
    from pose_core.training.distributed import shared_run_dir

    explicit_run_dir = any(o.startswith("hydra.run.dir=") for o in args.overrides)
    if loaded.cfg.training.resume_from and Path(str(loaded.cfg.training.resume_from)).is_dir() and not explicit_run_dir:
        run_dir = Path(str(loaded.cfg.training.resume_from))
    else:
        run_dir = shared_run_dir(loaded.run_dir, expand_run_dir)
    from pose_core.training.run import format_summary, train

    if loaded.cfg.training.ensemble_seeds:
        return _train_ensemble(loaded, run_dir)
    _say(f"Run directory: {run_dir}")
    result = train(loaded, run_dir, progress_bar=sys.stderr.isatty())
    if result.global_rank != 0:
        return EXIT_SIGTERM if result.stopped_by == "SIGTERM" else 0
    print(f"Training {result.status} after {result.epochs_completed} epochs.")
    print("Pixel error on the labelled frames (original image pixels):")
    print(format_summary(result.summary))
    print(f"Results in {run_dir}")
    if result.stopped_by == "SIGTERM":
        print(
            f"pose-train: stopped by SIGTERM; continue with training.resume_from={run_dir}",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_SIGTERM
    return 0


def _train_ensemble(loaded: Any, run_dir: Path) -> int:
    """``training.ensemble_seeds=[...]``: one run per seed, one after another (see pose_core.training.ensemble)."""
    from pose_core.training.ensemble import train_ensemble
    from pose_core.training.run import format_summary, train

    results = train_ensemble(
        loaded, run_dir, lambda cfg, path: train(cfg, path, progress_bar=sys.stderr.isatty()), _say
    )
    for result in results:
        if result.global_rank == 0:
            print(f"{result.run_dir}: {result.status} after {result.epochs_completed} epochs")
            print(format_summary(result.summary))
    return 0


def _fail(prog: str, exc: PoseDeskError) -> int:
    print(f"{prog}: error: {exc}", file=sys.stderr, flush=True)
    return EXIT_USER_ERROR


def train_main(argv: Sequence[str] | None = None) -> int:
    """Console entry point of ``pose-train``."""
    try:
        return run_train(list(sys.argv[1:] if argv is None else argv))
    except PoseDeskError as exc:
        return _fail("pose-train", exc)
    except KeyboardInterrupt:
        print("pose-train: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pose_core.cli train|... ARGS``: the subcommand form the GUI launches."""
    from pose_core.inference.cli import predict_main

    args = list(sys.argv[1:] if argv is None else argv)
    commands = {"train": train_main, "predict": predict_main}
    if not args or args[0] not in commands:
        print(f"usage: python -m pose_core.cli {{{','.join(commands)}}} [ARGS...]", file=sys.stderr)
        return EXIT_USER_ERROR
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
