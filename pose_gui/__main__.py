"""``posedesk`` / ``python -m pose_gui``: parse the command line, check that Qt can start, open the window.

Qt is imported only after the checks, so ``--check`` and ``--help`` work where Qt cannot start.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pose_gui import __version__

# Headless subcommands: ``posedesk NAME ...`` runs a pose_core entry point (no Qt is imported).
# Each value is ``module:function``; the function takes the remaining arguments, returns the exit status.
SUBCOMMANDS: dict[str, str] = {
    "import-dlc": "pose_core.interop.dlc:import_dlc_main",
    "import-sleap": "pose_core.interop.sleap:import_sleap_main",
    "export-job": "pose_core.jobs:export_job_main",
    "export-nwb": "pose_core.interop.nwb_export:export_nwb_main",
    "suggest-frames": "pose_core.ensemble.suggest:suggest_frames_main",
    "extract-frames": "pose_core.frames:extract_frames_main",
}


def _run_subcommand(name: str, argv: Sequence[str]) -> int:
    """Run the headless subcommand ``name`` with ``argv``."""
    import importlib

    module_name, function_name = SUBCOMMANDS[name].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    return int(function(list(argv)))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posedesk",
        description="PoseDesk: markerless animal pose estimation on an ordinary computer.",
        epilog="headless subcommands: "
        + ", ".join(f"posedesk {name} --help" for name in SUBCOMMANDS)
        + " (no window is opened)",
    )
    parser.add_argument("project", nargs="?", type=Path, help="project folder to open (Lightning Pose or DeepLabCut)")
    parser.add_argument("--pane", metavar="NAME", help="pane to show first (see --list-panes)")
    parser.add_argument(
        "--screenshot", metavar="OUT.png", type=Path, help="draw the window (off screen if needed) into a PNG and exit"
    )
    parser.add_argument("--timing", action="store_true", help="print when the window was first drawn")
    parser.add_argument("--check", action="store_true", help="report whether the window can open here, and the fix")
    parser.add_argument("--list-panes", action="store_true", help="print the names of the panes and exit")
    parser.add_argument("--version", action="version", version=f"PoseDesk {__version__}")
    return parser


def _use_offscreen_if_needed() -> None:
    """For screenshots: draw off screen when no real display can be used (keeps an explicit choice)."""
    from pose_gui.check import static_problems

    if not os.environ.get("QT_QPA_PLATFORM") and static_problems():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def main(argv: Sequence[str] | None = None) -> int:
    """Run PoseDesk; returns the exit status (0 ok, 1 cannot start, 2 bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return _run_subcommand(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    if args.check:
        from pose_gui.check import run_check

        return run_check()
    if args.list_panes:
        from pose_gui.main_window import PANES

        print("\n".join(spec.name for spec in PANES))
        return 0
    if args.pane is not None:
        from pose_gui.main_window import PANES

        names = [spec.name for spec in PANES]
        if args.pane not in names:  # before any window, thread or project load exists
            print(f"error: unknown pane {args.pane!r}; choose one of: {', '.join(names)}", file=sys.stderr)
            return 2
    if args.screenshot is not None:
        _use_offscreen_if_needed()
    else:
        from pose_gui.check import static_problems

        problems = static_problems()
        if problems:
            print("PoseDesk cannot open its window here:", file=sys.stderr)
            for problem in problems:
                print(f"  problem: {problem.message}\n  fix:     {problem.fix}", file=sys.stderr)
            return 1
    from pose_gui.app import RunOptions, run

    options = RunOptions(project=args.project, pane=args.pane, screenshot=args.screenshot, timing=args.timing)
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
