"""Every dialog PoseDesk asks or tells through: errors, warnings, questions, and file pickers.

Everything that tells the user about a problem goes through :func:`show_error` or
:func:`show_warnings`, every question through :func:`confirm` or :func:`ask_choice`, and every
file or folder picker through :func:`ask_directory`, :func:`ask_open_file`,
:func:`ask_open_files` or :func:`ask_save_path`. Callers use them as ``dialogs.ask_directory(...)``
(looked up at call time) so tests can replace them (no modal dialog ever waits in CI), and
:func:`set_interactive` (False) turns the message dialogs into lines on stderr for ``--screenshot`` runs.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

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


def ask_choice(parent: QWidget | None, title: str, question: str, choices: Sequence[str]) -> str | None:
    """Ask a question with several answers (e.g. "Save and train" / "Train the saved config"); Cancel is added.

    Args:
        parent: Window the dialog belongs to.
        title: Window title.
        question: The question, saying what each answer does.
        choices: Button texts, the first is the default.

    Returns:
        The chosen text, or None if cancelled (or not interactive).
    """
    if not _state["interactive"]:
        return None
    box = QMessageBox(QMessageBox.Icon.Question, title, question, QMessageBox.StandardButton.NoButton, parent)
    buttons = [box.addButton(text, QMessageBox.ButtonRole.AcceptRole) for text in choices]
    box.addButton(QMessageBox.StandardButton.Cancel)
    if buttons:
        box.setDefaultButton(buttons[0])
    box.exec()
    clicked = box.clickedButton()
    return next((text for text, button in zip(choices, buttons, strict=True) if button is clicked), None)


# ---------------------------------------------------------------------- file and folder pickers


def video_filter() -> str:
    """The file-type filter of video pickers, from the project's one list of video extensions."""
    from pose_core.video.formats import video_file_patterns

    return f"Videos ({video_file_patterns()});;All files (*)"


def ask_directory(parent: QWidget | None, title: str, start: Path | str | None = None) -> Path | None:
    """Ask for a folder; None if cancelled."""
    folder = QFileDialog.getExistingDirectory(parent, title, str(start or Path.home()))
    return Path(folder) if folder else None


def ask_open_file(
    parent: QWidget | None, title: str, start: Path | str | None = None, file_filter: str = ""
) -> Path | None:
    """Ask for one existing file; None if cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, title, str(start or Path.home()), file_filter)
    return Path(path) if path else None


def ask_open_files(
    parent: QWidget | None, title: str, start: Path | str | None = None, file_filter: str = ""
) -> list[Path]:
    """Ask for existing files; [] if cancelled."""
    paths, _ = QFileDialog.getOpenFileNames(parent, title, str(start or Path.home()), file_filter)
    return [Path(p) for p in paths]


def ask_video_files(parent: QWidget | None, title: str, start: Path | str | None = None) -> list[Path]:
    """Ask for video files; [] if cancelled."""
    return ask_open_files(parent, title, start, video_filter())


def ask_save_path(parent: QWidget | None, title: str, suggested: Path, file_filter: str) -> Path | None:
    """Ask where to save a file, starting at ``suggested`` (its folder is created if missing); None if cancelled."""
    suggested.parent.mkdir(parents=True, exist_ok=True)
    path, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), file_filter)
    return Path(path) if path else None
