"""The Config pane, driven through its real widgets: form, validation, YAML tab, saving, presets."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pose_core.config.io import load_config
from pose_core.config.schema import schema_keys
from pose_core.project import Project
from pose_gui.models.state import AppState
from pose_gui.views import config_editor
from pose_gui.views.config_editor import ConfigEditorPane
from pose_gui.widgets.config_fields import (
    BoolEditor,
    CheckListEditor,
    ChoiceEditor,
    ListEditor,
    MatchesEditor,
    NumberEditor,
    TextEditor,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
TIMEOUT_MS = 15_000


class DiffLog:
    """Replaces the diff dialog: records what it would show and answers ``answer``."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str, str]] = []
        self.answer = True

    def __call__(self, parent: Any, title: str, intro: str, diff_text: str, accept_text: str) -> bool:
        self.shown.append((title, intro, diff_text))
        return self.answer


@pytest.fixture(autouse=True)
def short_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check edits sooner than a typing user needs (keeps the test file fast)."""
    monkeypatch.setattr(config_editor, "YAML_APPLY_DELAY_MS", 30)
    monkeypatch.setattr(config_editor, "CHECK_DELAY_MS", 10)


@pytest.fixture
def diff_log(monkeypatch: pytest.MonkeyPatch) -> DiffLog:
    log = DiffLog()
    monkeypatch.setattr(config_editor, "confirm_diff", log)
    return log


def _wait_checked(qtbot: QtBot, pane: ConfigEditorPane) -> None:
    qtbot.waitUntil(lambda: not pane.is_checking(), timeout=TIMEOUT_MS)


def _make_pane(qtbot: QtBot, project_dir: Path | None = None) -> tuple[ConfigEditorPane, AppState]:
    state = AppState()
    if project_dir is not None:
        state.set_project(Project.open(project_dir))
    pane = ConfigEditorPane(state)
    qtbot.addWidget(pane)
    pane.resize(1100, 800)
    pane.show()
    _wait_checked(qtbot, pane)
    return pane, state


def _editor(pane: ConfigEditorPane, key: str, cls: type) -> Any:
    editor = pane.field_editor(key)
    assert isinstance(editor, cls), f"{key}: {type(editor).__name__}"
    return editor


def _save(qtbot: QtBot, pane: ConfigEditorPane) -> None:
    _wait_checked(qtbot, pane)
    assert pane.save_button.isEnabled(), pane.status.text()
    qtbot.mouseClick(pane.save_button, Qt.MouseButton.LeftButton)


def test_every_schema_field_has_a_widget(qtbot: QtBot, example_project: Path) -> None:
    """Every key has its editor (how fast the form opens: benchmarks/config_form_open.py)."""
    state = AppState()
    state.set_project(Project.open(example_project))
    pane = ConfigEditorPane(state)
    qtbot.addWidget(pane)
    missing = [key for key in schema_keys() if pane.field_editor(key) is None]
    assert not missing, f"schema keys without a widget: {missing}"
    _wait_checked(qtbot, pane)
    assert pane.saved_config_path() == example_project / "config.yaml"
    assert "Saved and valid" in pane.status.text()


def test_an_invalid_value_is_refused_with_its_reason(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    height = _editor(pane, "data.image_resize_dims.height", NumberEditor)
    height.spin.setValue(100)
    _wait_checked(qtbot, pane)
    assert "multiple of 32" in pane.field_messages("data.image_resize_dims.height")
    assert not pane.save_button.isEnabled()
    assert pane.saved_config_path() is None
    assert "problem" in pane.status.text()
    height.spin.setValue(96)
    _wait_checked(qtbot, pane)
    assert pane.field_messages("data.image_resize_dims.height") == ""
    assert pane.save_button.isEnabled()
    assert pane.saved_config_path() is None  # valid but unsaved
    assert "Unsaved changes" in pane.status.text()


def test_change_backbone_epochs_and_losses_then_save_and_reopen(
    qtbot: QtBot, example_project: Path, diff_log: DiffLog
) -> None:
    pane, state = _make_pane(qtbot, example_project)
    config_path = example_project / "config.yaml"
    temporal_row = pane.rows["losses.temporal.log_weight"]
    assert not temporal_row.isVisibleTo(pane)  # shown only when the loss is enabled
    _editor(pane, "model.backbone", ChoiceEditor).combo.setCurrentText("resnet34")
    _editor(pane, "training.max_epochs", NumberEditor).spin.setValue(3)
    losses = _editor(pane, "model.losses_to_use", CheckListEditor)
    losses.list.item(losses.choices_index("temporal")).setCheckState(Qt.CheckState.Checked)
    assert temporal_row.isVisibleTo(pane)
    assert "modified" in pane.title.text()
    saved: list[Path] = []
    pane.config_saved.connect(saved.append)
    _save(qtbot, pane)
    (_title, _intro, diff_text) = diff_log.shown[-1]
    assert "+  backbone: resnet34" in diff_text or "resnet34" in diff_text
    assert saved == [config_path]
    assert pane.saved_config_path() == config_path
    assert not list(example_project.glob(".config.yaml.tmp-*"))  # atomic: no temporary file left
    cfg = load_config(config_path).cfg
    assert (cfg.model.backbone, cfg.training.max_epochs, list(cfg.model.losses_to_use)) == ("resnet34", 3, ["temporal"])
    pane.close()
    reopened, _ = _make_pane(qtbot, example_project)
    assert _editor(reopened, "training.max_epochs", NumberEditor).spin.value() == 3
    assert _editor(reopened, "model.backbone", ChoiceEditor).combo.currentText() == "resnet34"
    assert reopened.rows["losses.temporal.epsilon"].isVisibleTo(reopened)
    del state


def test_form_edits_keep_the_comments_of_the_file(qtbot: QtBot, example_project: Path, diff_log: DiffLog) -> None:
    config_path = example_project / "config.yaml"
    text = config_path.read_text(encoding="utf-8")
    text = "# Reviewed by the lab on Monday\n" + text + "# end of file note\n"
    config_path.write_text(text, encoding="utf-8")
    pane, _state = _make_pane(qtbot, example_project)
    _editor(pane, "training.max_epochs", NumberEditor).spin.setValue(4)
    _editor(pane, "model.backbone", ChoiceEditor).combo.setCurrentText("resnet34")
    _save(qtbot, pane)
    saved = config_path.read_text(encoding="utf-8")
    assert saved.startswith("# Reviewed by the lab on Monday\n") and saved.endswith("# end of file note\n")
    assert load_config(config_path).cfg.training.max_epochs == 4
    changed = [line for line in saved.splitlines() if line not in text.splitlines()]
    assert len(changed) == 2, changed  # exactly the two edited lines
    assert "max_epochs: 4" in diff_log.shown[-1][2]


def test_saving_can_be_cancelled_at_the_diff(qtbot: QtBot, example_project: Path, diff_log: DiffLog) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    before = (example_project / "config.yaml").read_text(encoding="utf-8")
    _editor(pane, "training.early_stopping", BoolEditor).check.setChecked(True)
    diff_log.answer = False
    _save(qtbot, pane)
    assert (example_project / "config.yaml").read_text(encoding="utf-8") == before
    assert "early_stopping: true" in diff_log.shown[-1][2]
    assert pane.has_unsaved_edits()


def test_yaml_tab_follows_the_form_and_the_form_follows_the_yaml(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    _editor(pane, "training.max_epochs", NumberEditor).spin.setValue(7)
    assert yaml.safe_load(pane.yaml_edit.toPlainText())["training"]["max_epochs"] == 7
    text = pane.yaml_edit.toPlainText().replace("max_epochs: 7", "max_epochs: 9")
    pane.yaml_edit.setPlainText(text)
    _wait_checked(qtbot, pane)
    assert _editor(pane, "training.max_epochs", NumberEditor).spin.value() == 9
    assert pane.save_button.isEnabled()


def test_yaml_syntax_error_shows_line_and_column_and_blocks_saving(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    pane.tabs.setCurrentIndex(1)
    pane.yaml_edit.setPlainText("data:\n  data_dir: .\n  csv_file: [unclosed\nmodel: {}\n")
    _wait_checked(qtbot, pane)
    assert pane.yaml_error.isVisibleTo(pane)
    assert "line" in pane.yaml_error.text() and "column" in pane.yaml_error.text()
    assert not pane.save_button.isEnabled()
    assert len(pane.yaml_edit.extraSelections()) == 1  # the line is highlighted


def test_unknown_key_is_reported_at_its_line_with_a_suggestion(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    pane.yaml_edit.setPlainText(
        pane.yaml_edit.toPlainText().replace("training: {max_epochs: 12}", "training: {max_epochs: 12, max_epoch: 3}")
    )
    _wait_checked(qtbot, pane)
    text = pane.yaml_error.text()
    assert "max_epoch" in text and "Did you mean training.max_epochs" in text
    assert text.startswith("Line ")
    assert not pane.save_button.isEnabled()


def test_wrong_type_and_missing_folder_are_shown_at_their_fields(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    text = pane.yaml_edit.toPlainText().replace("data_dir: .", "data_dir: no_such_folder")
    pane.yaml_edit.setPlainText(
        text.replace("training: {max_epochs: 12}", "training: {max_epochs: 12, train_batch_size: many}")
    )
    _wait_checked(qtbot, pane)
    assert "train_batch_size" in pane.field_messages("training.train_batch_size")
    assert "does not exist" in pane.field_messages("data.data_dir")
    assert pane.rows["data.data_dir"].error.isVisibleTo(pane)
    assert not pane.save_button.isEnabled()


def test_a_path_typed_in_the_form_is_checked(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    checkpoint = _editor(pane, "model.checkpoint", TextEditor)
    qtbot.keyClicks(checkpoint.line, "missing.ckpt")
    _wait_checked(qtbot, pane)
    assert "does not exist" in pane.field_messages("model.checkpoint")
    assert not pane.save_button.isEnabled()


def test_keypoint_names_that_disagree_with_the_labels_are_refused(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    names = _editor(pane, "data.keypoint_names", ListEditor)
    names.list.setCurrentRow(0)
    qtbot.mouseClick(names.remove_button, Qt.MouseButton.LeftButton)
    _wait_checked(qtbot, pane)
    assert "disagree with the labels" in pane.field_messages("data.keypoint_names")
    assert not pane.save_button.isEnabled()
    assert names.from_labels_button is not None
    qtbot.mouseClick(names.from_labels_button, Qt.MouseButton.LeftButton)
    _wait_checked(qtbot, pane)
    assert pane.field_messages("data.keypoint_names") == ""
    assert not pane.has_unsaved_edits()  # back to what the file says


def test_a_number_that_is_not_a_number_is_refused_in_the_field(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    milestones = _editor(pane, "training.lr_scheduler_params.multisteplr.milestones", ListEditor)
    qtbot.mouseClick(milestones.add_button, Qt.MouseButton.LeftButton)
    milestones.list.item(0).setText("ten")
    _wait_checked(qtbot, pane)
    assert "not a whole number" in pane.field_messages("training.lr_scheduler_params.multisteplr.milestones")
    assert not pane.save_button.isEnabled()
    milestones.list.item(0).setText("10")
    _wait_checked(qtbot, pane)
    assert pane.document is not None
    assert pane.document.value("training.lr_scheduler_params.multisteplr.milestones") == [10]


def test_mirrored_matches_are_picked_by_keypoint_name(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    matches = _editor(pane, "data.mirrored_column_matches", MatchesEditor)
    assert not pane.rows["data.mirrored_column_matches"].isVisibleTo(pane)
    losses = _editor(pane, "model.losses_to_use", CheckListEditor)
    losses.list.item(losses.choices_index("pca_multiview")).setCheckState(Qt.CheckState.Checked)
    assert pane.rows["data.mirrored_column_matches"].isVisibleTo(pane)
    assert matches.table.columnCount() == 2 and matches.table.rowCount() == 9
    assert "nose_side" in matches.table.cellWidget(0, 1).currentText()
    matches.pick(0, 1, "ear_left_side")
    assert pane.document is not None
    assert pane.document.value("data.mirrored_column_matches")[1][0] == 10
    _wait_checked(qtbot, pane)
    assert pane.is_valid()


def test_revert_returns_to_the_file(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    _editor(pane, "training.max_epochs", NumberEditor).spin.setValue(5)
    assert pane.revert_button.isEnabled()
    qtbot.mouseClick(pane.revert_button, Qt.MouseButton.LeftButton)
    _wait_checked(qtbot, pane)
    assert not pane.has_unsaved_edits()
    assert _editor(pane, "training.max_epochs", NumberEditor).spin.value() == 12  # the example config says 12
    assert pane.saved_config_path() == example_project / "config.yaml"


def test_an_external_edit_offers_reload_or_keep(qtbot: QtBot, example_project: Path) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    config_path = example_project / "config.yaml"
    config_path.write_text(
        config_path.read_text(encoding="utf-8").replace("{max_epochs: 12}", "{max_epochs: 4}"), encoding="utf-8"
    )
    qtbot.waitUntil(lambda: pane.banner.isVisibleTo(pane), timeout=TIMEOUT_MS)
    assert "changed by another program" in pane.banner_label.text()
    qtbot.mouseClick(pane.reload_button, Qt.MouseButton.LeftButton)
    _wait_checked(qtbot, pane)
    assert _editor(pane, "training.max_epochs", NumberEditor).spin.value() == 4
    assert not pane.banner.isVisibleTo(pane)
    _editor(pane, "training.max_epochs", NumberEditor).spin.setValue(6)
    config_path.write_text(config_path.read_text(encoding="utf-8").replace("4", "8"), encoding="utf-8")
    qtbot.waitUntil(lambda: pane.banner.isVisibleTo(pane), timeout=TIMEOUT_MS)
    assert "unsaved edits" in pane.banner_label.text()
    qtbot.mouseClick(pane.keep_button, Qt.MouseButton.LeftButton)
    assert _editor(pane, "training.max_epochs", NumberEditor).spin.value() == 6
    assert pane.has_unsaved_edits()
    _wait_checked(qtbot, pane)  # no check thread left running


def test_preset_is_previewed_then_applied(qtbot: QtBot, example_project: Path, diff_log: DiffLog) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    pane.preset_combo.setCurrentText("fast CPU check")
    qtbot.mouseClick(pane.preset_button, Qt.MouseButton.LeftButton)
    (_title, intro, diff_text) = diff_log.shown[-1]
    assert "training.max_epochs: 12 → 2" in intro
    assert "max_epochs: 2" in diff_text
    assert _editor(pane, "training.max_epochs", NumberEditor).spin.value() == 2
    assert _editor(pane, "training.imgaug", ChoiceEditor).combo.currentText() == "none"
    assert pane.has_unsaved_edits()
    _wait_checked(qtbot, pane)
    assert pane.is_valid()


def _round_trip(qtbot: QtBot, source: Path, tmp_path: Path, mirror_mouse: Path, diff_log: DiffLog) -> None:
    config_path = tmp_path / "config.yaml"
    shutil.copy(source, config_path)
    original = yaml.safe_load(source.read_text(encoding="utf-8"))
    pane, _state = _make_pane(qtbot)
    pane.open_config(config_path)
    _wait_checked(qtbot, pane)
    assert pane.yaml_edit.toPlainText() == source.read_text(encoding="utf-8")
    assert "dali" in pane.ignored_label.text()  # kept and shown as ignored
    assert "resnet50_animal_ap10k" in pane.field_messages("model.backbone")
    assert not pane.save_button.isEnabled()
    # the minimum edits that make it valid here: a real data folder, a backbone available offline
    data_dir = _editor(pane, "data.data_dir", TextEditor)
    data_dir.line.clear()
    qtbot.keyClicks(data_dir.line, str(mirror_mouse))
    _editor(pane, "model.backbone", ChoiceEditor).combo.setCurrentText("resnet50")
    changed = {("data", "data_dir"): str(mirror_mouse), ("model", "backbone"): "resnet50"}
    for key in ("height", "width"):
        if original["data"]["image_resize_dims"][key] is None:
            _editor(pane, f"data.image_resize_dims.{key}", NumberEditor).spin.setValue(256)
            changed[("data", "image_resize_dims")] = {"height": 256, "width": 256}
    _save(qtbot, pane)
    saved = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for (section, key), value in changed.items():
        assert saved[section][key] == value
        saved[section][key] = original[section][key]
    assert saved == original  # every other key and value, LP-only keys included


def test_lightning_pose_config_round_trip(qtbot: QtBot, tmp_path: Path, mirror_mouse: Path, diff_log: DiffLog) -> None:
    _round_trip(qtbot, mirror_mouse / "lp_config.yaml", tmp_path, mirror_mouse, diff_log)


def test_lightning_pose_default_config_round_trip(
    qtbot: QtBot, tmp_path: Path, mirror_mouse: Path, diff_log: DiffLog
) -> None:
    source = SHARED_DATA / "lp_config_default.yaml"
    if not source.is_file():
        pytest.skip(f"{source.resolve()} not found (shared data folder absent)")
    _round_trip(qtbot, source, tmp_path, mirror_mouse, diff_log)


def test_no_project_shows_what_to_do(qtbot: QtBot) -> None:
    pane, _state = _make_pane(qtbot)
    assert pane.stack.currentWidget() is pane.placeholder
    assert "Open a project" in pane.placeholder.text()
    assert pane.saved_config_path() is None


def _wheel_down(widget: Any) -> bool:
    """One notch of the mouse wheel over the middle of ``widget``; returns whether the widget took it.

    Qt hands a wheel event the widget did not accept to its parents only for events from the
    window system, so a test sees the hand-over as the event being left unaccepted.
    """
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_the_wheel_scrolls_the_form_past_boxes_and_changes_only_a_clicked_one(
    qtbot: QtBot, example_project: Path
) -> None:
    pane, _state = _make_pane(qtbot, example_project)
    height = _editor(pane, "data.image_resize_dims.height", NumberEditor)
    backbone = _editor(pane, "model.backbone", ChoiceEditor)
    before = (height.spin.value(), backbone.combo.currentText())
    assert not _wheel_down(height.spin) and not _wheel_down(backbone.combo)  # left to the scroll area
    assert (height.spin.value(), backbone.combo.currentText()) == before  # values untouched
    assert not pane.has_unsaved_edits()
    height.spin.setFocus()
    qtbot.waitUntil(height.spin.hasFocus, timeout=TIMEOUT_MS)
    assert _wheel_down(height.spin)  # clicked into: the wheel steps the value as usual
    assert height.spin.value() != before[0]
    _wait_checked(qtbot, pane)


def test_a_duplicated_section_is_reported_at_its_line(qtbot: QtBot, example_project: Path) -> None:
    """PyYAML would silently drop the first `training:` section (issue 16.17)."""
    pane, _state = _make_pane(qtbot, example_project)
    pane.yaml_edit.setPlainText(pane.yaml_edit.toPlainText() + "training:\n  max_epochs: 3\n")
    _wait_checked(qtbot, pane)
    assert "key 'training' appears twice" in pane.yaml_error.text()
    assert not pane.save_button.isEnabled()
