"""The Label pane's bad input: each a clear message in the pane naming the file and the fix; no label lost."""

from __future__ import annotations

from pathlib import Path

import yaml
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from pose_core.project import Project
from pose_gui.models.state import AppState
from pose_gui.views.label.actions import LABEL_ACTIONS
from pose_gui.views.label.pane import LabelPane


def _open(qtbot: QtBot, folder: Path) -> LabelPane:
    state = AppState()
    state.set_project(Project.open(folder))
    pane = LabelPane(state)
    qtbot.addWidget(pane)
    pane.show()
    qtbot.waitUntil(lambda: pane.session is not None and not pane.is_loading(), timeout=10000)
    return pane


def test_keypoints_differing_from_the_config_open_read_only_naming_the_fix(qtbot: QtBot, example_project: Path) -> None:
    config = example_project / "config.yaml"
    cfg = yaml.safe_load(config.read_text())
    cfg["data"]["keypoint_names"][0] = "snout_top"
    config.write_text(yaml.safe_dump(cfg))
    before = (example_project / "CollectedData.csv").read_bytes()
    pane = _open(qtbot, example_project)
    assert pane.session is not None and not pane.session.is_editable
    text = pane.notice.text()
    assert "Read-only" in text and "snout_top" in text and "CollectedData.csv" in text
    pane.clear_selected()
    pane.accept_suggestions()
    pane.shutdown()
    assert (example_project / "CollectedData.csv").read_bytes() == before


def test_missing_images_are_listed_and_skipped_and_a_second_scorer_file_is_named(
    qtbot: QtBot, example_project: Path
) -> None:
    missing = sorted((example_project / "labeled-data").rglob("*.png"))[0]
    missing.unlink()
    (example_project / "CollectedData_bob.csv").write_text((example_project / "CollectedData.csv").read_text())
    pane = _open(qtbot, example_project)
    assert pane.session is not None and pane.session.is_editable
    assert "missing" in pane.notice.text() and missing.name in pane.notice.text()
    assert "CollectedData_bob.csv" in pane.notice.text()
    rel = missing.relative_to(example_project).as_posix()
    pane.show_frame(rel)
    qtbot.waitUntil(lambda: pane.canvas.message_item.isVisible(), timeout=5000)
    assert missing.name in pane.canvas.message_item.text()
    assert pane.session.n_labelled(rel) > 0  # its labels are kept
    pane.shutdown()


def test_every_label_action_has_a_unique_id_and_shortcut(qtbot: QtBot, example_project: Path) -> None:
    ids = [spec.id for spec in LABEL_ACTIONS]
    assert len(ids) == len(set(ids))
    pane = _open(qtbot, example_project)
    keys = [k.toString() for a in pane.actions_by_id.values() for k in a.shortcuts()]
    assert len(keys) == len(set(keys)) and "Ctrl+Z" in keys and "Ctrl+Y" in keys and "Ctrl+Shift+Z" in keys
    assert set(pane.actions_by_id) == set(ids)
    assert pane.actions_by_id["label.next_unfinished"].shortcut() == QKeySequence("N")
    pane.shutdown()
