"""The Config pane: edit the open project's ``config.yaml`` with a form generated from the schema.

One section per config group, one editor per schema field (:mod:`pose_gui.widgets.config_fields`),
advanced keys folded away, loss settings shown only for the losses in use. Every edit is checked in
a thread the way ``pose-train`` loads a config (:class:`ConfigDocument`); a field at fault turns red
with the core validator's message and Save stays disabled. The YAML tab shows the same document
as text (synced both ways; syntax errors give line and column). Save shows the diff first and
writes atomically; Revert goes back to the file; a change of the file by another program offers to
reload or keep. Lightning Pose keys PoseDesk does not use are kept and listed as ignored.
:meth:`ConfigEditorPane.saved_config_path` tells other panes which file training may use.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from pose_core.config.schema import schema_fields
from pose_core.config.validate import ConfigIssue
from pose_core.config.yaml_edit import key_line
from pose_core.errors import ConfigError, PoseDeskError
from pose_gui import dialogs
from pose_gui.models.config_document import YAML_KEY, CheckResult, ConfigDocument
from pose_gui.models.state import AppState
from pose_gui.style import ERROR_COLOR, bold_label
from pose_gui.views.config_widgets import (
    ERROR_STYLE,
    HELP_STYLE,
    FieldRow,
    Foldable,
    confirm_diff,
    field_advanced,
    field_loss,
    group_meta,
    subgroup_title,
)
from pose_gui.widgets.config_fields import FieldEditor, ListEditor, PathEditor, make_editor
from pose_gui.workers.tasks import TaskThread, stop_thread

if TYPE_CHECKING:
    from pose_core.project import Project

SECTION_ORDER = ("data", "model", "training", "losses", "eval", "callbacks")
YAML_APPLY_DELAY_MS = 400  # the YAML text is parsed this long after the last keystroke
CHECK_DELAY_MS = 120  # the config is checked this long after the last form edit
_LINE_RE = re.compile(r"at line (\d+), column (\d+)")


PROBLEMS_HEIGHT_PX = 62  # three problems; a longer list scrolls (a fixed height: the form below never jumps)
NO_PROBLEMS_TEXT = "No problems found in this config."


class ConfigEditorPane(QWidget):
    """The Config pane (see the module docstring).

    Signals:
        config_saved(object): The config was written to this path (``Path``).
    """

    config_saved = Signal(object)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.document: ConfigDocument | None = None
        self.result: CheckResult | None = None
        self.rows: dict[str, FieldRow] = {}
        self.local_errors: dict[str, str] = {}
        self._groups = group_meta()
        self._fields = list(schema_fields())
        self._check_thread: TaskThread | None = None
        self._check_pending = False
        self._generation = 0
        self._checked_generation = -1
        self._external_text: str | None = None
        self._tab_text: str | None = None
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._on_watcher_file_changed)
        self._check_timer = self._single_shot(CHECK_DELAY_MS, self._start_check)
        self._yaml_timer = self._single_shot(YAML_APPLY_DELAY_MS, self._apply_yaml_text)
        self._build()
        state.project_changed.connect(self._on_state_project_changed)
        state.config_save_requested.connect(self._on_state_config_save_requested)
        self._on_state_project_changed(state.project)

    def _single_shot(self, delay_ms: int, slot: Any) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(delay_ms)
        timer.timeout.connect(slot)
        return timer

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.stack = QStackedWidget()
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.editor_page = QWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.editor_page)
        layout.addWidget(self.stack)
        page = QVBoxLayout(self.editor_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.addLayout(self._build_header())
        page.addWidget(self._build_banner())
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setFixedHeight(2 * self.status.fontMetrics().lineSpacing() + 4)  # one or two lines: no jump
        page.addWidget(self.status)
        self.problems = QListWidget()
        self.problems.setToolTip("Click a problem to go to its field")
        self.problems.itemClicked.connect(self._on_problems_item_clicked)
        self.problems.setFixedHeight(PROBLEMS_HEIGHT_PX)
        page.addWidget(self.problems)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_form(), "Form")
        self.tabs.addTab(self._build_yaml_tab(), "YAML")
        page.addWidget(self.tabs, 1)

    def _build_header(self) -> QHBoxLayout:
        header = QHBoxLayout()
        self.title = bold_label("", 2)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header.addWidget(self.title, 1)
        self.preset_combo = QComboBox()
        from pose_core.config.presets import PRESETS

        for preset in PRESETS:
            self.preset_combo.addItem(preset.name)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, preset.description, Qt.ItemDataRole.ToolTipRole
            )
        self.preset_combo.setPlaceholderText("choose a preset")
        self.preset_combo.setCurrentIndex(-1)
        self._preset_combo_shows_match = False  # the box shows the matching preset, not the user's choice
        self.preset_combo.activated.connect(self._on_preset_chosen)
        self.preset_button = QPushButton("Apply preset…")
        self.preset_button.setToolTip("Preview what the chosen preset changes, then apply it (not saved yet)")
        self.preset_button.clicked.connect(self._on_preset_button_clicked)
        self.preset_combo.currentIndexChanged.connect(self._update_preset_button)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Discard the unsaved edits and show the file as it is on disk")
        self.revert_button.clicked.connect(self._on_revert_clicked)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Show what changed, then write config.yaml (Ctrl+S)")
        self.save_button.setShortcut("Ctrl+S")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.preset_match = QLabel()
        self.preset_match.setToolTip("Which preset's settings this config has now")
        widgets = (QLabel("Preset:"), self.preset_combo, self.preset_match, self.preset_button)
        for widget in (*widgets, self.revert_button, self.save_button):
            header.addWidget(widget)
        return header

    def _build_banner(self) -> QWidget:
        self.banner = QFrame()
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setStyleSheet("QFrame { background: #fff4ce; } QLabel { color: #5c4400; }")
        row = QHBoxLayout(self.banner)
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        self.reload_button = QPushButton("Reload from disk")
        self.reload_button.clicked.connect(self._on_reload_clicked)
        self.keep_button = QPushButton("Keep my version")
        self.keep_button.clicked.connect(self._on_keep_clicked)
        row.addWidget(self.banner_label, 1)
        row.addWidget(self.reload_button)
        row.addWidget(self.keep_button)
        self.banner.hide()
        return self.banner

    def _build_form(self) -> QWidget:
        self.form_scroll = QScrollArea()
        self.form_scroll.setWidgetResizable(True)
        content = QWidget()
        self.form_layout = QVBoxLayout(content)
        self.sections: dict[str, QGroupBox] = {}
        self.advanced: dict[str, Foldable] = {}
        self.loss_notes: dict[str, QLabel] = {}
        for name in SECTION_ORDER:
            self.form_layout.addWidget(self._build_section(name))
        self.form_layout.addWidget(self._build_ignored_section())
        self.form_layout.addStretch(1)
        self.form_scroll.setWidget(content)
        return self.form_scroll

    def _build_section(self, name: str) -> QGroupBox:
        meta = self._groups.get(name, {})
        box = QGroupBox(meta.get("title", name))
        layout = QVBoxLayout(box)
        intro = QLabel(meta.get("help", ""))
        intro.setStyleSheet(HELP_STYLE)
        layout.addWidget(intro)
        if name == "losses":
            note = QLabel(
                "No unsupervised loss is enabled: tick one under Model › Unsupervised losses to set it up here."
            )
            note.setWordWrap(True)
            layout.addWidget(note)
            self.loss_notes[name] = note
        fields = [f for f in self._fields if f.key.split(".", 1)[0] == name]
        n_advanced = sum(field_advanced(f, self._groups) for f in fields)
        foldable = Foldable(f"Advanced settings ({n_advanced})")
        for field in fields:
            editor = make_editor(field)
            row = FieldRow(editor, subgroup_title(field, self._groups))
            self.rows[field.key] = row
            editor.edited.connect(lambda value, key=field.key: self._on_field_edited(key, value))
            editor.local_error_changed.connect(lambda msg, key=field.key: self._on_field_local_error(key, msg))
            target = foldable.body_layout if field_advanced(field, self._groups) else layout
            target.addWidget(row)
        if n_advanced:
            layout.addWidget(foldable)
            self.advanced[name] = foldable
        self.sections[name] = box
        return box

    def _build_ignored_section(self) -> QGroupBox:
        self.ignored_box = QGroupBox("Lightning Pose keys kept but not used by PoseDesk")
        layout = QVBoxLayout(self.ignored_box)
        self.ignored_label = QLabel()
        self.ignored_label.setWordWrap(True)
        self.ignored_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.ignored_label.setStyleSheet("color: palette(mid);")
        layout.addWidget(self.ignored_label)
        self.ignored_box.hide()
        return self.ignored_box

    def _build_yaml_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.yaml_edit = QPlainTextEdit()
        self.yaml_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.yaml_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.yaml_edit.textChanged.connect(self._on_yaml_text_changed)
        self.yaml_error = QLabel()
        self.yaml_error.setWordWrap(True)
        self.yaml_error.setStyleSheet(ERROR_STYLE)
        self.yaml_error.hide()
        hint = QLabel("The same config as text: edits here update the form, and form edits update this text.")
        hint.setStyleSheet(HELP_STYLE)
        layout.addWidget(hint)
        layout.addWidget(self.yaml_edit, 1)
        layout.addWidget(self.yaml_error)
        return page

    # ------------------------------------------------------------------ public API

    def saved_config_path(self) -> Path | None:
        """The config file training may use: only when it is saved and valid, else None.

        While there are unsaved or invalid edits the pane says so in its status line.
        """
        if self.document is None:
            return None
        if self.has_unsaved_edits() or not self.is_valid():
            self._show_status()
            return None
        return self.document.path

    def has_unsaved_edits(self) -> bool:
        """True when the edited config differs from the file on disk."""
        return self.document is not None and self.document.is_dirty

    def is_valid(self) -> bool:
        """True when the last check of the current edits found no problem (and none is pending)."""
        return (
            self.result is not None
            and self.result.is_valid
            and not self.local_errors
            and self._checked_generation == self._generation
        )

    def is_checking(self) -> bool:
        """True while edits wait to be checked (or are being checked)."""
        return (
            self._check_timer.isActive()
            or self._yaml_timer.isActive()
            or self._check_thread is not None
            or self._checked_generation != self._generation
        ) and self.document is not None

    def is_loading(self) -> bool:
        """For ``--screenshot``: wait until the first check is done."""
        return self.is_checking()

    def field_editor(self, key: str) -> FieldEditor | None:
        """The editor of a dotted schema key (None if the schema has no such key)."""
        row = self.rows.get(key)
        return row.editor if row is not None else None

    def field_messages(self, key: str) -> str:
        """The problem text shown at a field ("" when none)."""
        row = self.rows.get(key)
        return row.error.text() if row is not None else ""

    def shutdown(self) -> None:
        """Stop the check thread (returns when it has ended)."""
        self._check_timer.stop()
        self._yaml_timer.stop()
        self._check_pending = False
        stop_thread(self._check_thread)

    # ------------------------------------------------------------------ project and file

    def _on_state_project_changed(self, project: Project | None) -> None:
        path = project.config_path if project is not None else None
        if self.document is not None and path == self.document.path:
            self._set_label_source(project)
            self._request_check()
            return
        self._leave_document()
        if project is None or path is None:
            self._show_placeholder(project)
            return
        self.open_config(path, project)

    def _set_label_source(self, project: Project | None) -> None:
        if self.document is None or project is None:
            return
        if project.open_error is not None:  # its labels could not be read: nothing to compare the config with
            self.document.label_keypoints = None
            self.document.labels_csv = None
            return
        self.document.label_keypoints = list(project.keypoint_names)
        self.document.labels_csv = project.csv_paths[0] if len(project.csv_paths) == 1 else None

    def _leave_document(self) -> None:
        """Before another config opens: offer to save valid unsaved edits, else say they were dropped."""
        doc = self.document
        if doc is None:
            return
        if doc.is_dirty:
            if self.is_valid() and dialogs.confirm(
                self, "Save config edits?", f"{doc.path} has unsaved edits. Save them before closing it?", "Save"
            ):
                self._write(doc)
            elif doc.is_dirty:
                self.state.post_message(f"Unsaved edits of {doc.path} were discarded.", 8000)
        if str(doc.path) in self.watcher.files():
            self.watcher.removePath(str(doc.path))
        self.document = None
        self.result = None

    def _show_placeholder(self, project: Project | None) -> None:
        if project is None:
            text = "Open a project (File › Open Project) to edit its training config."
        else:
            text = (
                f"{project.root} has no config.yaml ({project.kind} project): PoseDesk trains from a "
                "Lightning Pose-style config.yaml. Create the project with File › New Project (it writes one), "
                "or put a config.yaml with a data: section in the project folder and reopen it."
            )
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
        self._update_tab_title()

    def open_config(self, path: Path, project: Project | None = None) -> None:
        """Show the config file ``path`` in the editor (a file that cannot be read is reported)."""
        doc = ConfigDocument(path)
        try:
            doc.load()
        except ConfigError as error:
            self.state.report_error(error, "Cannot open the config")
            self._show_placeholder(project)
            return
        self.document = doc
        self._set_label_source(project)
        self.watcher.addPath(str(path))
        self.banner.hide()
        self.stack.setCurrentWidget(self.editor_page)
        self._show_document()

    def _show_document(self) -> None:
        """Fill the form and the YAML tab from the document, then check it."""
        doc = self.document
        assert doc is not None
        self.local_errors.clear()
        self._set_yaml_text(doc.text)
        self._refresh_form()
        self._request_check(immediately=True)

    def _set_yaml_text(self, text: str) -> None:
        if self.yaml_edit.toPlainText() != text:
            self.yaml_edit.blockSignals(True)
            self.yaml_edit.setPlainText(text)
            self.yaml_edit.blockSignals(False)

    def _keypoint_names(self) -> list[str]:
        doc = self.document
        written = doc.value("data.keypoint_names") if doc is not None else None
        if isinstance(written, list) and written:
            return [str(n) for n in written]
        return list(doc.label_keypoints or []) if doc is not None else []

    def _refresh_form(self) -> None:
        doc = self.document
        assert doc is not None
        names = self._keypoint_names()
        for field in self._fields:
            editor = self.rows[field.key].editor
            editor.set_keypoint_names(names)
            editor.set_value(doc.value(field.key, field.default))
            if isinstance(editor, ListEditor):
                editor.label_names = list(doc.label_keypoints or [])
            if isinstance(editor, PathEditor):
                editor.base_dir = str(doc.path.parent)
        self._update_visibility()
        self._update_title()

    def _update_visibility(self) -> None:
        doc = self.document
        losses = doc.value("model.losses_to_use", []) if doc is not None else []
        losses = list(losses) if isinstance(losses, list) else []
        for field in self._fields:
            loss = field_loss(field, self._groups)
            visible = loss is None or (loss in losses) or (loss == "any" and bool(losses))
            self.rows[field.key].setVisible(visible)
        self.loss_notes["losses"].setVisible(not losses)
        ignored = self.result.ignored_keys if self.result is not None else []
        self._update_ignored(ignored)

    def _update_ignored(self, ignored_keys: list[str]) -> None:
        doc = self.document
        keys = list(ignored_keys)
        if doc is not None and isinstance(doc.data.get("hydra"), dict):
            keys.append("hydra")
        self.ignored_box.setVisible(bool(keys))
        self.ignored_label.setText(
            "These keys stay in the file exactly as written (Lightning Pose uses them; PoseDesk does not): "
            + ", ".join(keys)
            + ". Edit them in the YAML tab."
        )

    # ------------------------------------------------------------------ edits

    def _on_field_edited(self, key: str, value: Any) -> None:
        doc = self.document
        if doc is None:
            return
        try:
            doc.set_value(key, value)
        except ConfigError as error:
            self.rows[key].set_messages([str(error)])
            return
        self._set_yaml_text(doc.text)
        if key == "model.losses_to_use":
            self._update_visibility()
        if key == "data.keypoint_names":
            names = self._keypoint_names()
            for field in self._fields:
                self.rows[field.key].editor.set_keypoint_names(names)
        self._request_check()

    def _on_field_local_error(self, key: str, message: str) -> None:
        if message:
            self.local_errors[key] = message
        else:
            self.local_errors.pop(key, None)
        self._show_issues()

    def _on_yaml_text_changed(self) -> None:
        self._generation += 1
        self._yaml_timer.start()
        self._update_title()
        self._show_status()

    def _apply_yaml_text(self) -> None:
        doc = self.document
        if doc is None:
            return
        error = doc.set_text(self.yaml_edit.toPlainText())
        if error is None:
            self._refresh_form()
        self._request_check()

    # ------------------------------------------------------------------ checking

    def _request_check(self, immediately: bool = False) -> None:
        self._generation += 1
        self._update_title()
        if immediately:
            self._start_check()
        else:
            self._check_timer.start()
        self._show_status()

    def _start_check(self) -> None:
        doc = self.document
        if doc is None:
            return
        if self._check_thread is not None:
            self._check_pending = True
            return
        snapshot = doc.copy()
        generation = self._generation
        thread = TaskThread(snapshot.check, parent=self)
        thread.succeeded.connect(lambda result: self._on_check_done(generation, result))
        thread.failed.connect(lambda error: self._on_check_failed(generation, error))
        thread.finished.connect(self._on_check_thread_finished)
        self._check_thread = thread
        thread.start()

    def _on_check_done(self, generation: int, result: CheckResult) -> None:
        if generation != self._generation:
            return
        self.result = result
        self._checked_generation = generation
        self._update_visibility()
        self._show_issues()

    def _on_check_failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self.result = CheckResult([ConfigIssue(YAML_KEY, f"The config could not be checked: {error}")])
            self._checked_generation = generation
            self._show_issues()

    def _on_check_thread_finished(self) -> None:
        thread, self._check_thread = self._check_thread, None
        if thread is not None:
            thread.deleteLater()
        if self._check_pending or (self._checked_generation != self._generation and not self._check_timer.isActive()
                                   and not self._yaml_timer.isActive()):  # fmt: skip
            self._check_pending = False
            self._start_check()
        self._show_status()

    def _show_issues(self) -> None:
        by_key = self.result.by_key() if self.result is not None else {}
        for key, message in self.local_errors.items():
            by_key.setdefault(key, []).insert(0, message)
        for key, row in self.rows.items():
            row.set_messages(by_key.get(key, []))
        self.problems.clear()
        for key, messages in by_key.items():
            for message in messages:
                item = QListWidgetItem(message)
                item.setData(Qt.ItemDataRole.UserRole, key)
                item.setForeground(QColor(ERROR_COLOR))
                self.problems.addItem(item)
        if not by_key:  # the list keeps its place (the form below never jumps) and says so
            item = QListWidgetItem(NO_PROBLEMS_TEXT)
            item.setForeground(QColor("#5f6368"))
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.problems.addItem(item)
        self._show_yaml_problem(by_key)
        self._show_status()

    def _show_yaml_problem(self, by_key: dict[str, list[str]]) -> None:
        """A YAML error (or a key the form does not have) under the text, its line highlighted."""
        messages = [m for key, ms in by_key.items() if key not in self.rows for m in ms]
        line = self._problem_line(by_key) if messages else None
        where = f"Line {line}: " if line is not None else ""
        self.yaml_error.setText(where + " ".join(messages))
        self.yaml_error.setVisible(bool(messages))
        selections = []
        if line is not None:
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(QColor("#ffd7d7"))
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(self.yaml_edit.document().findBlockByNumber(line - 1))
            selection.cursor = cursor
            selections.append(selection)
            if self.document is not None and self.document.syntax_error is not None:
                self.tabs.setCurrentIndex(1)  # the form cannot show a file that does not parse: show the line
                self.yaml_edit.setTextCursor(cursor)
                self.yaml_edit.centerCursor()
        self.yaml_edit.setExtraSelections(selections)

    def _problem_line(self, by_key: dict[str, list[str]]) -> int | None:
        """The 1-based line of the first YAML-level problem (from the message or the key's position)."""
        for key, messages in by_key.items():
            if key in self.rows:
                continue
            for message in messages:
                match = _LINE_RE.search(message)
                if match:
                    return int(match.group(1))
            if key != YAML_KEY:
                return key_line(self.yaml_edit.toPlainText(), key)
        return None

    def _show_status(self) -> None:
        doc = self.document
        if doc is None:
            return
        n_problems = sum(  # the "no problems" line has no key
            1 for i in range(self.problems.count()) if self.problems.item(i).data(Qt.ItemDataRole.UserRole)
        )
        checking = self._checked_generation != self._generation
        if checking:
            text, style = "Checking the config…", ""
        elif n_problems:
            text = (
                f"{n_problems} problem{'s' * (n_problems != 1)} (in red below): fix them to enable Save. "
                "Training cannot use this config until it is valid and saved."
            )
            style = ERROR_STYLE
        elif doc.is_dirty:
            text, style = "Unsaved changes: training cannot use them until you save (or revert).", ""
        else:
            text, style = f"Saved and valid: training uses {doc.path}.", "color: #2e7d32;"
        self.status.setText(text)
        self.status.setStyleSheet(style)
        self.save_button.setEnabled(doc.is_dirty and self.is_valid())
        self.revert_button.setEnabled(doc.is_dirty)
        self._show_matching_preset()
        self._update_preset_button()

    def _update_preset_button(self) -> None:
        doc = self.document
        chosen = self.preset_combo.currentIndex() >= 0
        self.preset_button.setEnabled(doc is not None and doc.syntax_error is None and chosen)

    def _on_preset_chosen(self, _index: int) -> None:
        self._preset_combo_shows_match = False  # the user's pick stays while they edit

    def _show_matching_preset(self) -> None:
        """Say which preset (if any) the edited config matches, and show it in the preset box.

        When none matches, the box shows "choose a preset" instead of the preset it showed as a
        match before; a preset the user picked stays picked.
        """
        from pose_core.config.presets import PRESETS

        doc = self.document
        if doc is None or doc.syntax_error is not None:
            self.preset_match.setText("")
            return
        matching = [preset.name for preset in PRESETS if _matches_preset(doc, preset.overrides)]
        self.preset_match.setText(f"(config matches {matching[0]})" if matching else "(no preset matches)")
        if matching:
            self.preset_combo.setCurrentText(matching[0])
            self._preset_combo_shows_match = True
        elif self._preset_combo_shows_match:
            self.preset_combo.setCurrentIndex(-1)
            self._preset_combo_shows_match = False

    def _on_problems_item_clicked(self, item: QListWidgetItem) -> None:
        if item.data(Qt.ItemDataRole.UserRole) is None:
            return  # the "no problems" line
        key = str(item.data(Qt.ItemDataRole.UserRole))
        row = self.rows.get(key)
        if row is None:
            self.tabs.setCurrentIndex(1)
            return
        self.tabs.setCurrentIndex(0)
        section = key.split(".", 1)[0]
        if not row.isVisibleTo(self.sections[section]) and section in self.advanced:
            self.advanced[section].set_open(True)
        self.form_scroll.ensureWidgetVisible(row)
        row.editor.setFocus()

    # ------------------------------------------------------------------ title

    def _update_title(self) -> None:
        doc = self.document
        if doc is None:
            self.title.setText("")
        else:
            dirty = doc.is_dirty or self.yaml_edit.toPlainText() != doc.saved_text
            self.title.setText(f"{doc.path}{'  ● modified' if dirty else ''}")
        self.state.set_config_has_unsaved_edits(self.has_unsaved_edits())
        self._update_tab_title()

    def _update_tab_title(self) -> None:
        """Adds a "*" to this pane's tab in the main window while there are unsaved edits."""
        widget: QWidget | None = self
        while widget is not None:
            parent = widget.parentWidget()
            tabs = parent.parentWidget() if parent is not None else None
            if isinstance(tabs, QTabWidget) and tabs.indexOf(widget) >= 0:
                index = tabs.indexOf(widget)
                if self._tab_text is None:
                    self._tab_text = tabs.tabText(index).rstrip(" *")
                dirty = self.document is not None and self.document.is_dirty
                tabs.setTabText(index, f"{self._tab_text} *" if dirty else self._tab_text)
                return
            widget = parent

    # ------------------------------------------------------------------ save, revert, presets

    def _document_to_save(self) -> ConfigDocument | None:
        """The document when it has valid unsaved edits; else None (invalid edits show why)."""
        doc = self.document
        if doc is None or not doc.is_dirty:
            return None
        if not self.is_valid():
            self._show_status()
            return None
        return doc

    def _on_save_clicked(self) -> None:
        doc = self._document_to_save()
        if doc is None:
            return
        intro = f"These changes will be written to {doc.path}:"
        if confirm_diff(self, "Save the config?", intro, doc.diff(), "Save"):
            self._write(doc)

    def _on_state_config_save_requested(self) -> None:
        """Save without the diff dialog (Train asked "Save and train"); invalid edits stay unsaved and say why."""
        doc = self._document_to_save()
        if doc is not None:
            self._write(doc)

    def _write(self, doc: ConfigDocument) -> None:
        try:
            doc.save()
        except PoseDeskError as error:  # invalid (ConfigError) or not writable (DataError)
            self.state.report_error(error, "The config was not saved")
            return
        self.banner.hide()
        if str(doc.path) not in self.watcher.files():
            self.watcher.addPath(str(doc.path))
        self._update_title()
        self._show_status()
        self.state.post_message(f"Saved {doc.path}", 5000)
        self.config_saved.emit(doc.path)
        project = self.state.project
        if project is not None and project.open_error is not None:  # the fix of a broken project: read it again
            self.state.project_open_requested.emit(project.root)

    def _on_revert_clicked(self) -> None:
        doc = self.document
        if doc is None:
            return
        self._reload(doc)

    def _reload(self, doc: ConfigDocument) -> None:
        try:
            doc.load()
        except ConfigError as error:
            self.state.report_error(error, "Cannot read the config")
            return
        self.banner.hide()
        self._show_document()

    def _on_preset_button_clicked(self) -> None:
        from pose_core.config.presets import get_preset, preset_changes

        doc = self.document
        if doc is None or doc.syntax_error is not None:
            return
        preset = get_preset(self.preset_combo.currentText())
        try:
            changes = preset_changes(doc.data, preset)
        except ConfigError as error:
            self.state.report_error(error, "Cannot apply the preset")
            return
        if not changes:
            self.state.post_message(f"The preset '{preset.name}' changes nothing in this config.", 5000)
            return
        from pose_core.config.presets import apply_preset
        from pose_gui.models.config_document import unified_diff

        new_data = apply_preset(doc.data, preset)
        lines = "\n".join(f"• {key}: {old!r} → {new!r}" for key, old, new in changes)
        intro = (
            f"{preset.description}\n\nThe preset '{preset.name}' changes:\n{lines}\n\n(Not saved until you click Save.)"
        )
        diff = unified_diff(doc.text, doc.text_for(new_data), doc.path.name)
        if confirm_diff(self, f"Apply the preset '{preset.name}'?", intro, diff, "Apply"):
            doc.set_data(new_data)
            self._set_yaml_text(doc.text)
            self._refresh_form()
            self._request_check()

    # ------------------------------------------------------------------ external changes

    def _on_watcher_file_changed(self, path: str) -> None:
        doc = self.document
        if doc is None or Path(path) != doc.path:
            return
        if doc.path.exists() and str(doc.path) not in self.watcher.files():
            self.watcher.addPath(str(doc.path))  # replaced by a rename (an atomic save): watch the new file
        try:
            disk_text = doc.read_disk_text() if doc.path.exists() else None
        except ConfigError:
            disk_text = None
        if disk_text == doc.saved_text:
            return
        self._external_text = disk_text
        if disk_text is None:
            self.banner_label.setText(
                f"{doc.path} was deleted or cannot be read by another program. Save writes it again."
            )
            self.reload_button.hide()
        else:
            edits = " You have unsaved edits: reloading discards them." if doc.is_dirty else ""
            self.banner_label.setText(f"{doc.path} was changed by another program.{edits}")
            self.reload_button.show()
        self.banner.show()

    def _on_reload_clicked(self) -> None:
        if self.document is not None:
            self._reload(self.document)

    def _on_keep_clicked(self) -> None:
        """Keep the edited version: it differs from the disk, so it counts as unsaved."""
        doc = self.document
        if doc is not None:
            doc.saved_text = self._external_text or ""
        self.banner.hide()
        self._update_title()
        self._show_status()


@functools.cache
def _schema_defaults() -> dict[str, Any]:
    return {f.key: f.default for f in schema_fields()}


def _matches_preset(doc: ConfigDocument, overrides: tuple[str, ...]) -> bool:
    """True if every ``key=value`` of a preset holds in ``doc`` (a key not set counts as its default).

    Cheap (no config merge): it runs after every check of the edits.
    """
    defaults = _schema_defaults()
    for override in overrides:
        key, _, text = override.partition("=")
        try:
            wanted = yaml.safe_load(text)
        except yaml.YAMLError:
            return False
        have = doc.value(key, defaults.get(key))
        if have != wanted and not (isinstance(have, list | tuple) and list(have) == wanted):
            return False
    return True
