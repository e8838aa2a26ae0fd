"""A broken project opens with its problem shown where it is, and is fixed in the app (issue 16: 12, 18)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pose_gui.main_window import PANES, MainWindow
from pose_gui.models.state import AppState
from pose_gui.views import config_editor
from pose_gui.views.config_editor import ConfigEditorPane
from pose_gui.views.project_view import ProjectView

TIMEOUT_MS = 30_000
PANES_UNDER_TEST = tuple(p for p in PANES if p.name in ("project", "config"))


@pytest.fixture(autouse=True)
def quick_and_confirmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_editor, "YAML_APPLY_DELAY_MS", 30)
    monkeypatch.setattr(config_editor, "CHECK_DELAY_MS", 10)
    monkeypatch.setattr(config_editor, "confirm_diff", lambda *_args: True)


def _window(qtbot: QtBot, folder: Path) -> MainWindow:
    window = MainWindow(AppState(), PANES_UNDER_TEST, remember=False)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    window.open_project(folder)
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=TIMEOUT_MS)
    return window


def _break_yaml(project: Path) -> str:
    config = project / "config.yaml"
    good = config.read_text(encoding="utf-8")
    config.write_text(good.replace("training: {max_epochs: 12}", "training: {max_epochs: 12\n  bad: [x"), "utf-8")
    return good


def test_a_config_with_a_yaml_error_opens_and_is_fixed_in_the_config_pane(
    qtbot: QtBot, example_project: Path, dialog_log: Any
) -> None:
    good = _break_yaml(example_project)
    window = _window(qtbot, example_project)
    project = window.state.project
    assert project is not None and project.open_error is not None and project.n_labeled_frames == 0
    assert [title for title, _ in dialog_log.warnings] == ["Project example-project opened with problems"]
    dialog_log.warnings.clear()
    view = window.pane("project")
    assert isinstance(view, ProjectView)
    assert view.page.problem_banner.isVisibleTo(view) and "YAML syntax error at line" in view.page.problem_label.text()

    window.show_pane("config")
    pane = window.pane("config")
    assert isinstance(pane, ConfigEditorPane)
    qtbot.waitUntil(lambda: not pane.is_checking(), timeout=TIMEOUT_MS)
    assert pane.tabs.currentIndex() == 1  # the YAML tab, at the line
    bad_line = good.count("\n", 0, good.index("training:")) + 1
    assert pane.yaml_error.text().startswith(f"Line {bad_line + 1}:")
    assert pane.yaml_edit.textCursor().blockNumber() == bad_line

    pane.yaml_edit.setPlainText(good)
    qtbot.waitUntil(lambda: not pane.is_checking() and pane.save_button.isEnabled(), timeout=TIMEOUT_MS)
    qtbot.mouseClick(pane.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            window.state.project is not None and window.state.project.open_error is None and not window.is_loading()
        ),
        timeout=TIMEOUT_MS,
    )
    assert window.state.project.n_labeled_frames == 20
    assert not view.page.problem_banner.isVisibleTo(view)


def test_a_broken_labels_csv_names_its_line_and_reload_opens_the_fix(
    qtbot: QtBot, example_project: Path, dialog_log: Any
) -> None:
    csv_path = example_project / "CollectedData.csv"
    good = csv_path.read_text(encoding="utf-8")
    lines = good.splitlines()
    lines[5] = ",".join(lines[5].split(",")[:-3])
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    window = _window(qtbot, example_project)
    dialog_log.warnings.clear()  # the same message, also shown in place
    view = window.pane("project")
    assert isinstance(view, ProjectView)
    text = view.page.problem_label.text()
    assert "CollectedData.csv: line 6 has" in text and "click Reload" in text
    csv_path.write_text(good, encoding="utf-8")
    qtbot.mouseClick(view.page.reload_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            window.state.project is not None and window.state.project.open_error is None and not window.is_loading()
        ),
        timeout=TIMEOUT_MS,
    )
    assert not view.page.problem_banner.isVisibleTo(view)


def _screenshot(out: Path, project: Path, pane: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pose_gui", "--screenshot", str(out), "--pane", pane, str(project)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_screenshot_of_a_broken_project_draws_it_and_exits_2_and_a_bogus_pane_does_not_abort(
    example_project: Path, tmp_path: Path
) -> None:
    _break_yaml(example_project)
    drawn = _screenshot(tmp_path / "broken.png", example_project, "config")
    assert drawn.returncode == 2, drawn.stderr
    assert (tmp_path / "broken.png").stat().st_size > 0 and "YAML syntax error" in drawn.stderr
    bogus = _screenshot(tmp_path / "bogus.png", example_project, "bogus")
    assert bogus.returncode == 2 and "unknown pane 'bogus'" in bogus.stderr
    assert "QThread" not in bogus.stderr and not (tmp_path / "bogus.png").exists()


def test_saving_the_config_into_a_read_only_folder_is_one_message(
    qtbot: QtBot, example_project: Path, dialog_log: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    window = _window(qtbot, example_project)
    window.show_pane("config")
    pane = window.pane("config")
    assert isinstance(pane, ConfigEditorPane)
    qtbot.waitUntil(lambda: not pane.is_checking(), timeout=TIMEOUT_MS)
    before = (example_project / "config.yaml").read_text(encoding="utf-8")
    pane.yaml_edit.setPlainText(before.replace("{max_epochs: 12}", "{max_epochs: 7}"))
    qtbot.waitUntil(lambda: not pane.is_checking() and pane.save_button.isEnabled(), timeout=TIMEOUT_MS)

    def read_only(*_args: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "replace", read_only)
    qtbot.mouseClick(pane.save_button, Qt.MouseButton.LeftButton)
    assert [(title, type(error).__name__) for title, error in dialog_log.errors] == [
        ("The config was not saved", "DataError")
    ]
    assert "is not writable" in str(dialog_log.errors[0][1])
    dialog_log.errors.clear()
    assert (example_project / "config.yaml").read_text(encoding="utf-8") == before
    assert [p.name for p in example_project.glob(".config*")] == []
