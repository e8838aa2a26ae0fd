"""Field editors of the config form: one widget class per kind of schema field.

:func:`make_editor` picks the editor of a :class:`pose_core.config.schema.SchemaField` from its
type and metadata (bounds, steps, choices, ``kind``). Every editor is a :class:`FieldEditor`:
``set_value`` shows a value without emitting anything, a user's change emits ``edited(value)``,
and text that cannot be a value (``12a`` for a number) emits ``local_error_changed(message)``
instead (an empty message when it is fixed). Keypoint editors show keypoint names
(:meth:`FieldEditor.set_keypoint_names`) and store indices.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from pose_core.config.schema import SchemaField
from pose_gui import dialogs

EMPTY_TEXT = "(empty)"
INT_LIMIT = 2**31 - 1


class _WheelOnlyWhenFocused(QObject):
    """Lets the mouse wheel scroll the form past a spin or combo box instead of changing its value.

    A box takes the wheel only once it has been clicked (keyboard focus); otherwise the wheel
    event is ignored and Qt hands it to the parent, the form's scroll area. Without this, scrolling
    the long form silently changed whichever value passed under the pointer.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()
            return True
        return False


_WHEEL_GUARD = _WheelOnlyWhenFocused()


def guard_wheel(widget: QWidget) -> QWidget:
    """Make ``widget`` (a spin or combo box) take the wheel only when focused, and not take focus from it."""
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    widget.installEventFilter(_WHEEL_GUARD)
    return widget


LIST_ROWS_VISIBLE = 6


class FieldEditor(QWidget):
    """Base of the field editors.

    Signals:
        edited(object): The user changed the value (the new value).
        local_error_changed(str): The text cannot be a value (message), or is fine again ("").
    """

    edited = Signal(object)
    local_error_changed = Signal(str)

    def __init__(self, field: SchemaField, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.local_error = ""
        self._keypoint_names: list[str] = []
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def key(self) -> str:
        """The dotted config key this editor edits."""
        return self.field.key

    def set_value(self, value: Any) -> None:
        """Show ``value`` (no signal is emitted)."""
        self.blockSignals(True)
        try:
            self._show(value)
        finally:
            self.blockSignals(False)
        self._set_local_error("")

    def value(self) -> Any:
        """The value shown."""
        raise NotImplementedError

    def set_keypoint_names(self, names: list[str]) -> None:
        """The keypoint names, for editors that pick keypoints by name."""
        self._keypoint_names = list(names)

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self) -> None:
        if not self.signalsBlocked():
            self.edited.emit(self.value())

    def _set_local_error(self, message: str) -> None:
        if message != self.local_error:
            self.local_error = message
            self.local_error_changed.emit(message)


def _number(value: Any, default: float) -> float:
    """``value`` as a number, ``default`` if it is not one."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return default


class CompactDoubleSpinBox(QDoubleSpinBox):
    """A double spin box that shows 0.001 and 1e-07 as written, not with fixed decimals."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> Any:
        from PySide6.QtGui import QValidator

        if text == self.specialValueText() and text:
            return QValidator.State.Acceptable, text, pos
        stripped = text.strip()
        try:
            value = float(stripped)
        except ValueError:
            ok = stripped in ("", "-", "+", ".") or stripped.lower().endswith(("e", "e-", "e+"))
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos
        _widen_to(self, value)
        return QValidator.State.Acceptable, text, pos


class WideSpinBox(QSpinBox):
    """An integer spin box that keeps a typed value outside its bounds (``-5`` epochs) instead of dropping it.

    The config check then says what is wrong with the value typed, and the YAML holds that same value.
    """

    def validate(self, text: str, pos: int) -> Any:
        from PySide6.QtGui import QValidator

        if text == self.specialValueText() and text:
            return QValidator.State.Acceptable, text, pos
        stripped = text.removeprefix(self.prefix()).removesuffix(self.suffix()).strip()
        try:
            value = int(stripped)
        except ValueError:
            return (
                (QValidator.State.Intermediate if stripped in ("", "-", "+") else QValidator.State.Invalid),
                text,
                pos,
            )
        _widen_to(self, value)
        return QValidator.State.Acceptable, text, pos


def _widen_to(spin: QSpinBox | QDoubleSpinBox, value: float) -> None:
    """Let ``spin`` hold ``value`` as typed: a spin box would clamp it silently (1.5 became 1.0)."""
    if value < spin.minimum() and not spin.specialValueText():
        spin.setMinimum(value)  # type: ignore[arg-type]
    if value > spin.maximum():
        spin.setMaximum(value)  # type: ignore[arg-type]


class NumberEditor(FieldEditor):
    """A spin box with the schema's bounds and step; optional fields have an "(empty)" first value."""

    def __init__(self, field: SchemaField, is_float: bool, optional: bool, parent: QWidget | None = None) -> None:
        super().__init__(field, parent)
        md = field.metadata
        self.is_float, self.optional = is_float, optional
        self.spin: Any = CompactDoubleSpinBox() if is_float else WideSpinBox()  # QSpinBox | QDoubleSpinBox
        self.spin.setKeyboardTracking(True)
        guard_wheel(self.spin)
        step = md.get("step", 0.1 if is_float else 1)
        self._step = float(step)
        lo = md.get("min", -1e9 if is_float else -INT_LIMIT + 1)
        hi = md.get("max", 1e9 if is_float else INT_LIMIT)
        if is_float:
            assert isinstance(self.spin, QDoubleSpinBox)
            self.spin.setDecimals(10)
        self._lo = lo - (self._step if optional else 0)
        self._hi = hi
        self._set_range(self._lo, hi)
        self.spin.setSingleStep(step if is_float else max(1, int(step)))
        if optional:
            self.spin.setSpecialValueText(EMPTY_TEXT)
        if md.get("unit"):
            self.spin.setSuffix(f" {md['unit']}")
        self.spin.setMinimumWidth(140)
        self.spin.valueChanged.connect(self._emit)
        self._layout.addWidget(self.spin)
        self._layout.addStretch(1)

    def _set_range(self, lo: float, hi: float) -> None:
        if self.is_float:
            self.spin.setRange(lo, hi)
        else:
            self.spin.setRange(int(max(lo, -INT_LIMIT)), int(min(hi, INT_LIMIT)))

    def _show(self, value: Any) -> None:
        if value is None and self.optional:
            self.spin.setValue(self.spin.minimum())
            return
        number = _number(value, float(self.field.default) if self.field.default is not None else self._lo)
        # a value outside the bounds is shown as it is (the validator explains why it is refused)
        self._set_range(min(self._lo, number), max(self._hi, number))
        self.spin.setValue(number if self.is_float else int(number))

    def value(self) -> Any:
        if self.optional and self.spin.value() == self.spin.minimum() and self.spin.minimum() == self._lo:
            return None
        return float(self.spin.value()) if self.is_float else int(self.spin.value())


class BoolEditor(FieldEditor):
    """A check box."""

    def __init__(self, field: SchemaField, parent: QWidget | None = None) -> None:
        super().__init__(field, parent)
        self.check = QCheckBox(field.metadata.get("title", ""))
        self.check.toggled.connect(self._emit)
        self._layout.addWidget(self.check)
        self._layout.addStretch(1)

    def _show(self, value: Any) -> None:
        self.check.setChecked(bool(value))

    def value(self) -> Any:
        return self.check.isChecked()


class ChoiceEditor(FieldEditor):
    """A combo box of the schema's choices; a value outside them is shown (and flagged by the validator)."""

    def __init__(self, field: SchemaField, parent: QWidget | None = None) -> None:
        super().__init__(field, parent)
        self.combo = QComboBox()
        guard_wheel(self.combo)
        self.choices = list(field.metadata["choices"])
        self.combo.addItems(self.choices)
        self.combo.setMinimumWidth(180)
        self.combo.currentIndexChanged.connect(self._emit)
        self._layout.addWidget(self.combo)
        self._layout.addStretch(1)

    def _show(self, value: Any) -> None:
        text = "" if value is None else str(value)
        while self.combo.count() > len(self.choices):
            self.combo.removeItem(self.combo.count() - 1)
        if text not in self.choices:
            self.combo.addItem(text)
        self.combo.setCurrentIndex(self.combo.findText(text))

    def value(self) -> Any:
        return self.combo.currentText()


class TextEditor(FieldEditor):
    """A line of text; for optional fields an empty line means null."""

    def __init__(self, field: SchemaField, optional: bool, parent: QWidget | None = None) -> None:
        super().__init__(field, parent)
        self.optional = optional
        self.line = QLineEdit()
        self.line.setMinimumWidth(260)
        if optional:
            self.line.setPlaceholderText("empty = default")
        self.line.textEdited.connect(self._on_text_edited)
        self._layout.addWidget(self.line, 1)

    def _on_text_edited(self, _text: str) -> None:
        self._emit()

    def _show(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))

    def value(self) -> Any:
        text = self.line.text().strip()
        return None if (self.optional and not text) else text


class PathEditor(TextEditor):
    """A path as text plus a Browse button (a folder or a file picker)."""

    def __init__(self, field: SchemaField, optional: bool, parent: QWidget | None = None) -> None:
        super().__init__(field, optional, parent)
        self.base_dir = ""  # where the picker starts when the field is empty (the config's folder)
        self.is_dir = field.metadata.get("kind") == "dir"
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Choose the folder" if self.is_dir else "Choose the file")
        self.browse.clicked.connect(self._on_browse_clicked)
        self._layout.addWidget(self.browse)

    def _on_browse_clicked(self) -> None:
        title = f"Choose {self.field.metadata.get('title', self.key)}"
        start = self.line.text() or self.base_dir
        chosen = dialogs.ask_directory(self, title, start) if self.is_dir else dialogs.ask_open_file(self, title, start)
        if chosen is not None:
            self.line.setText(str(chosen))
            self._emit()


class ListEditor(FieldEditor):
    """An editable list (keypoint names, milestones): add, remove, move; an empty list means null."""

    def __init__(self, field: SchemaField, item_type: type, optional: bool, parent: QWidget | None = None) -> None:
        super().__init__(field, parent)
        self.item_type, self.optional = item_type, optional
        self.list = QListWidget()
        self.list.setMaximumHeight(22 * LIST_ROWS_VISIBLE)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.list.itemChanged.connect(self._on_item_changed)
        buttons = QVBoxLayout()
        self.add_button = self._button("Add", "Add an entry at the end", self._on_add_clicked, buttons)
        self.remove_button = self._button("Remove", "Remove the selected entry", self._on_remove_clicked, buttons)
        self._button("Up", "Move the selected entry up", lambda: self._move(-1), buttons)
        self._button("Down", "Move the selected entry down", lambda: self._move(1), buttons)
        self.from_labels_button: QPushButton | None = None
        if field.metadata.get("kind") == "keypoints":
            self.from_labels_button = self._button(
                "From labels", "Use the keypoint names of the labels CSV", self._on_from_labels_clicked, buttons
            )
        buttons.addStretch(1)
        self._layout.addWidget(self.list, 1)
        self._layout.addLayout(buttons)
        self.label_names: list[str] = []

    def _button(self, text: str, tip: str, slot: Callable[[], None], layout: QVBoxLayout) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        layout.addWidget(button)
        return button

    def _add_item(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(item)
        return item

    def _show(self, value: Any) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for entry in value if isinstance(value, list) else []:
            self._add_item(str(entry))
        self.list.blockSignals(False)

    def set_items(self, entries: list[Any]) -> None:
        """Replace the entries as a user would (emits ``edited``)."""
        self._show(entries)
        self._on_item_changed()

    def _parse(self) -> tuple[list[Any], str]:
        values: list[Any] = []
        for row in range(self.list.count()):
            text = self.list.item(row).text().strip()
            if self.item_type is int:
                try:
                    values.append(int(text))
                except ValueError:
                    return values, f"Entry {row + 1} '{text}' is not a whole number; write numbers such as 150."
            else:
                if not text:
                    return values, f"Entry {row + 1} is empty; give it a name or remove it."
                values.append(text)
        return values, ""

    def value(self) -> Any:
        values, _error = self._parse()
        return None if (self.optional and not values) else values

    def _on_item_changed(self, _item: QListWidgetItem | None = None) -> None:
        _values, error = self._parse()
        self._set_local_error(error)
        if not error:
            self._emit()

    def _on_add_clicked(self) -> None:
        last = self.list.item(self.list.count() - 1).text() if self.list.count() else ""
        text = (
            str(int(last) + 1)
            if self.item_type is int and last.strip().lstrip("-").isdigit()
            else ("0" if self.item_type is int else f"keypoint{self.list.count() + 1}")
        )
        self.list.blockSignals(True)
        item = self._add_item(text)
        self.list.blockSignals(False)
        self.list.setCurrentItem(item)
        self._on_item_changed()
        self.list.editItem(item)

    def _on_remove_clicked(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self._on_item_changed()

    def _move(self, delta: int) -> None:
        row = self.list.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < self.list.count():
            return
        self.list.blockSignals(True)
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.blockSignals(False)
        self.list.setCurrentRow(target)
        self._on_item_changed()

    def _on_from_labels_clicked(self) -> None:
        if self.label_names:
            self.set_items(self.label_names)


class CheckListEditor(FieldEditor):
    """Check boxes: the losses to use (by name) or keypoints picked by name (stored as indices).

    For keypoint indices nothing checked means null (= all keypoints).
    """

    def __init__(self, field: SchemaField, parent: QWidget | None = None) -> None:
        super().__init__(field, parent)
        self.by_index = field.metadata.get("kind") == "keypoint_indices"
        self.list = QListWidget()
        self.list.itemChanged.connect(self._on_item_changed)
        self._layout.addWidget(self.list, 1)
        self._current: list[Any] | None = None
        if not self.by_index:
            self._rebuild(list(field.metadata.get("choices", ())))
            self.list.setMaximumHeight(22 * (len(field.metadata.get("choices", ())) + 1))
        else:
            self.list.setMaximumHeight(22 * LIST_ROWS_VISIBLE)

    def _labels(self) -> list[str]:
        if not self.by_index:
            return list(self.field.metadata.get("choices", ()))
        names = list(self._keypoint_names)
        top = max([int(v) for v in self._current or [] if isinstance(v, int)] + [len(names) - 1])
        return names + [f"keypoint {i}" for i in range(len(names), top + 1)]

    def choices_index(self, label: str) -> int:
        """The row of a choice (a loss name) or of a keypoint name."""
        return self._labels().index(label)

    def _rebuild(self, labels: list[str]) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        chosen = set(self._current or [])
        for i, label in enumerate(labels):
            item = QListWidgetItem(f"{i}: {label}" if self.by_index else label)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if (i if self.by_index else label) in chosen else Qt.CheckState.Unchecked
            )
            self.list.addItem(item)
        self.list.blockSignals(False)

    def set_keypoint_names(self, names: list[str]) -> None:
        super().set_keypoint_names(names)
        if self.by_index:
            self._rebuild(self._labels())

    def _show(self, value: Any) -> None:
        self._current = list(value) if isinstance(value, list) else None
        self._rebuild(self._labels())

    def set_checked(self, entries: list[Any]) -> None:
        """Check exactly ``entries`` (names or indices) as a user would (emits ``edited``)."""
        self._show(entries)
        self._on_item_changed()

    def value(self) -> Any:
        checked: list[Any] = []
        for row in range(self.list.count()):
            if self.list.item(row).checkState() == Qt.CheckState.Checked:
                checked.append(row if self.by_index else self.list.item(row).text())
        if self.by_index and not checked:
            return None
        return checked

    def _on_item_changed(self, _item: QListWidgetItem | None = None) -> None:
        self._current = self.value()
        self._emit()


class MatchesEditor(FieldEditor):
    """The keypoints matched across views: one column per view, one row per body part, picked by name."""

    def __init__(self, field: SchemaField, parent: QWidget | None = None) -> None:
        super().__init__(field, parent)
        self.table = QTableWidget(0, 2)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(120)
        self.table.setMaximumHeight(220)
        buttons = QVBoxLayout()
        for text, tip, slot in (
            ("Add part", "Add a body part (a row)", self._on_add_row_clicked),
            ("Remove part", "Remove the selected body part", self._on_remove_row_clicked),
            ("Add view", "Add a camera view (a column)", self._on_add_view_clicked),
            ("Remove view", "Remove the last view", self._on_remove_view_clicked),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self._layout.addWidget(self.table, 1)
        self._layout.addLayout(buttons)
        self._matches: list[list[int]] = []

    def _names(self) -> list[str]:
        top = max([i for m in self._matches for i in m] + [len(self._keypoint_names) - 1, 0])
        names = list(self._keypoint_names)
        return names + [f"keypoint {i}" for i in range(len(names), top + 1)]

    def _rebuild(self) -> None:
        n_views = max(2, len(self._matches))
        n_parts = max([len(m) for m in self._matches] + [0])
        names = self._names()
        self.table.clearContents()
        self.table.setColumnCount(n_views)
        self.table.setRowCount(n_parts)
        self.table.setHorizontalHeaderLabels([f"View {v + 1}" for v in range(n_views)])
        for view in range(n_views):
            for part in range(n_parts):
                combo = QComboBox()
                guard_wheel(combo)
                combo.addItems([f"{i}: {name}" for i, name in enumerate(names)])
                column = self._matches[view] if view < len(self._matches) else []
                combo.setCurrentIndex(column[part] if part < len(column) and 0 <= column[part] < len(names) else 0)
                combo.currentIndexChanged.connect(self._on_combo_changed)
                self.table.setCellWidget(part, view, combo)

    def set_keypoint_names(self, names: list[str]) -> None:
        super().set_keypoint_names(names)
        self._rebuild()

    def _show(self, value: Any) -> None:
        self._matches = [[int(i) for i in m] for m in value] if isinstance(value, list) else []
        self._rebuild()

    def _read_table(self) -> list[list[int]]:
        out: list[list[int]] = []
        for view in range(self.table.columnCount()):
            column = []
            for part in range(self.table.rowCount()):
                combo = self.table.cellWidget(part, view)
                assert isinstance(combo, QComboBox)
                column.append(combo.currentIndex())
            out.append(column)
        return out

    def value(self) -> Any:
        return self._matches if self._matches and any(self._matches) else None

    def set_matches(self, matches: list[list[int]]) -> None:
        """Replace the matches as a user would (emits ``edited``)."""
        self._show(matches)
        self._emit()

    def pick(self, part: int, view: int, keypoint_name: str) -> None:
        """Choose ``keypoint_name`` for body part ``part`` in view ``view`` (what a user does in the table)."""
        combo = self.table.cellWidget(part, view)
        assert isinstance(combo, QComboBox)
        names = self._names()
        combo.setCurrentIndex(names.index(keypoint_name))

    def _on_combo_changed(self, _index: int) -> None:
        self._matches = self._read_table()
        self._emit()

    def _on_add_row_clicked(self) -> None:
        matches = self._read_table() if self.table.rowCount() else [[] for _ in range(max(2, len(self._matches)))]
        for view, column in enumerate(matches):
            column.append(min(len(self._names()) - 1, len(column) + view * (len(column) + 1)))
        self._matches = matches
        self._rebuild()
        self._emit()

    def _on_remove_row_clicked(self) -> None:
        row = self.table.currentRow() if self.table.currentRow() >= 0 else self.table.rowCount() - 1
        if row < 0:
            return
        self._matches = [[i for r, i in enumerate(column) if r != row] for column in self._read_table()]
        if not any(self._matches):
            self._matches = []
        self._rebuild()
        self._emit()

    def _on_add_view_clicked(self) -> None:
        matches = self._read_table()
        matches.append([0] * self.table.rowCount())
        self._matches = matches
        self._rebuild()
        self._emit()

    def _on_remove_view_clicked(self) -> None:
        if self.table.columnCount() > 2:
            self._matches = self._read_table()[:-1]
            self._rebuild()
            self._emit()


class ParsedTextEditor(FieldEditor):
    """A line parsed into a value: a number or a list of numbers, or a fraction or a count."""

    def __init__(self, field: SchemaField, parent: QWidget | None = None) -> None:
        super().__init__(field, parent)
        self.kind = field.metadata.get("kind")
        self.line = QLineEdit()
        self.line.setMinimumWidth(200)
        self.line.setPlaceholderText("e.g. 20 or 20, 15, 30" if self.kind == "number_or_list" else "e.g. 0.99 or 3")
        self.line.textEdited.connect(self._on_text_edited)
        self._layout.addWidget(self.line, 1)
        self._value: Any = field.default

    def _show(self, value: Any) -> None:
        self._value = value
        if isinstance(value, list):
            self.line.setText(", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value))
        else:
            self.line.setText("" if value is None else str(value))

    def _parse(self, text: str) -> tuple[Any, str]:
        parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
        if not parts:
            if self.kind == "fraction_or_count":
                return None, "Give a fraction in (0, 1] (e.g. 0.99) or a whole number of components (e.g. 3)."
            return None, "Give a number of pixels (e.g. 20) or one per keypoint separated by commas."
        numbers: list[Any] = []
        for part in parts:
            try:
                numbers.append(int(part))
            except ValueError:
                try:
                    numbers.append(float(part))
                except ValueError:
                    return None, f"'{part}' is not a number; write e.g. 20 or 0.99."
        if len(numbers) > 1 and self.kind != "number_or_list":
            return None, "Give one number: a fraction in (0, 1] or a whole number of components."
        if self.kind == "number_or_list":
            numbers = [float(n) for n in numbers]
        return (numbers if len(numbers) > 1 else numbers[0]), ""

    def _on_text_edited(self, text: str) -> None:
        value, error = self._parse(text)
        self._set_local_error(error)
        if not error:
            self._value = value
            self._emit()

    def value(self) -> Any:
        return self._value


def _is_optional(type_text: str) -> bool:
    return "None" in type_text or "Optional" in type_text


def make_editor(field: SchemaField, parent: QWidget | None = None) -> FieldEditor:
    """The editor of one schema field, chosen from its type and metadata.

    Args:
        field: The schema field.
        parent: Parent widget.

    Returns:
        The editor (not yet showing a value).
    """
    md, type_text = field.metadata, field.type
    kind = md.get("kind")
    optional = _is_optional(type_text)
    if kind in ("dir", "file"):
        return PathEditor(field, optional, parent)
    if kind in ("number_or_list", "fraction_or_count"):
        return ParsedTextEditor(field, parent)
    if kind == "keypoint_matches":
        return MatchesEditor(field, parent)
    if kind == "keypoint_indices" or (type_text.startswith("list") and md.get("choices")):
        return CheckListEditor(field, parent)
    if kind in ("keypoints", "int_list"):
        return ListEditor(field, int if kind == "int_list" else str, optional, parent)
    if type_text.startswith("bool"):
        return BoolEditor(field, parent)
    if md.get("choices"):
        return ChoiceEditor(field, parent)
    if type_text.startswith("int"):
        return NumberEditor(field, is_float=False, optional=optional, parent=parent)
    if type_text.startswith("float"):
        return NumberEditor(field, is_float=True, optional=optional, parent=parent)
    if type_text.startswith("str"):
        return TextEditor(field, optional, parent)
    raise TypeError(f"No editor for config key {field.key} of type {type_text}; add one in make_editor.")
