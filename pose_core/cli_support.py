"""What PoseDesk's command-line tools share: one-line usage errors and the user-error exit status.

``pose-predict``, ``posedesk import-dlc`` and ``posedesk export-job`` parse their arguments with
:class:`OneLineArgumentParser` and run through :func:`run_command`, so a bad option, a bad value
or a bad file all end the same way: one line ``PROG: error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from pose_core.errors import PoseDeskError

EXIT_USER_ERROR = 2


class UsageError(Exception):
    """A command-line usage error: an unknown option, a missing argument or a bad value."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`UsageError` instead of printing the usage and exiting."""

    def error(self, message: str) -> NoReturn:
        """Raises the usage error with the hint to ``--help``."""
        raise UsageError(f"{message}; see {self.prog} --help.")


def one_line(error: BaseException) -> str:
    """The error's message on one line (line breaks and runs of spaces folded)."""
    return " ".join(str(error).split())


def run_command(prog: str, body: Callable[[], int]) -> int:
    """Runs a command's body and returns its exit status.

    Args:
        prog: The command's name, as the user typed it (``posedesk export-job``).
        body: Parses the arguments, does the work and returns the exit status.

    Returns:
        ``body``'s status; :data:`EXIT_USER_ERROR` after printing ``PROG: error: ...`` for a
        :class:`UsageError` or :class:`~pose_core.errors.PoseDeskError`; ``--help``'s status.
    """
    try:
        return body()
    except (UsageError, PoseDeskError) as exc:
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr, flush=True)
        return EXIT_USER_ERROR
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
