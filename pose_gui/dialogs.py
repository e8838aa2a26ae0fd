"""Message dialogs: errors (message + details), warnings, yes/no confirmations.

Everything that tells the user about a problem goes through :func:`show_error` or
:func:`show_warnings`, and every question through :func:`confirm`; callers use them as
``dialogs.show_error(...)`` so tests can replace them (no modal dialog ever waits in CI), and
:func:`set_interactive` (False) turns them into lines on stderr for ``--screenshot`` runs.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

from PySide6.QtWidgets import QMessageBox, QWidget

from pose_core.errors import ConfigError, DataError, PoseDeskError

_state = {"interactive": True}


def set_interactive(interactive: bool) -> None:
    """Show dialogs (True, the default) or print their text to stderr instead (False)."""
    _state["interactive"] = interactive


def error_text(error: BaseException) -> tuple[str, str, str]:
    """What the error dialog shows for ``error``.

    Args:
        error: A user-caused :class:`PoseDeskError` or an unexpected exception.

    Returns:
        ``(message, informative text, details)``: the one-sentence message, a hint line, and the
        details (file or config key for user errors, the traceback for unexpected ones).
    """
    if isinstance(error, PoseDeskError):
        lines = [f"{type(error).__name__}: {error}"]
        if isinstance(error, DataError) and error.path:
            lines.append(f"File: {error.path}")
        if isinstance(error, ConfigError) and error.key:
            lines.append(f"Config key: {error.key}")
        return str(error), "", "\n".join(lines)
    message = f"Unexpected error: {type(error).__name__}: {error}"
    hint = "PoseDesk kept running. If this happens again, please report it with the details below."
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return message, hint, details


def show_error(parent: QWidget | None, error: BaseException, title: str = "") -> None:
    """Show an error in a modal dialog: the message, and the details behind a button.

    Args:
        parent: Window the dialog belongs to.
        error: The error to show.
        title: Window title (what failed, e.g. "Cannot open the project").
    """
    message, hint, details = error_text(error)
    title = title or ("PoseDesk" if isinstance(error, PoseDeskError) else "PoseDesk: unexpected error")
    if not _state["interactive"]:
        print(f"error: {title}: {message}", file=sys.stderr)
        return
    icon = QMessageBox.Icon.Warning if isinstance(error, PoseDeskError) else QMessageBox.Icon.Critical
    box = QMessageBox(icon, title, message, QMessageBox.StandardButton.Ok, parent)
    if hint:
        box.setInformativeText(hint)
    box.setDetailedText(details)
    box.exec()


def show_warnings(parent: QWidget | None, title: str, errors: Sequence[PoseDeskError]) -> None:
    """Show several non-fatal problems in one dialog (one paragraph each).

    Args:
        parent: Window the dialog belongs to.
        title: Window title.
        errors: The problems; nothing is shown when empty.
    """
    if not errors:
        return
    message = "\n\n".join(str(e) for e in errors)
    if not _state["interactive"]:
        print(f"warning: {title}: {message}", file=sys.stderr)
        return
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setDetailedText("\n".join(error_text(e)[2] for e in errors))
    box.exec()


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    """Show an information message (About, system check results).

    Args:
        parent: Window the dialog belongs to.
        title: Window title.
        text: The message (plain text).
    """
    if not _state["interactive"]:
        print(f"{title}: {text}", file=sys.stderr)
        return
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.exec()


def confirm(parent: QWidget | None, title: str, question: str, accept_text: str = "OK") -> bool:
    """Ask a yes/no question; the safe answer (cancel) is the default button.

    Args:
        parent: Window the dialog belongs to.
        title: Window title.
        question: The question, saying what will happen.
        accept_text: Text of the button that goes ahead (e.g. "Quit").

    Returns:
        True if the user chose to go ahead.
    """
    if not _state["interactive"]:
        return False
    box = QMessageBox(QMessageBox.Icon.Question, title, question, QMessageBox.StandardButton.NoButton, parent)
    accept = box.addButton(accept_text, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.exec()
    return box.clickedButton() is accept
