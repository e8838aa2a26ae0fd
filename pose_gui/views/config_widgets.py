"""Pieces of the Config pane: the diff confirmation, a labelled field row, a foldable section.

Also the rules that place a schema field in the form (its loss, advanced or not, its subgroup).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pose_core.config.schema import SchemaField, schema_groups
from pose_gui.style import ERROR_COLOR
from pose_gui.widgets.config_fields import FieldEditor

LABEL_WIDTH_PX = 230
ERROR_STYLE = f"color: {ERROR_COLOR};"
HELP_STYLE = "color: palette(mid); font-size: 90%;"


def confirm_diff(parent: QWidget, title: str, intro: str, diff_text: str, accept_text: str) -> bool:
    """Show a diff and ask whether to go ahead (a function of its own so tests can replace it).

    Args:
        parent: The window the dialog belongs to.
        title: Window title.
        intro: What will happen, above the diff.
        diff_text: The unified diff.
        accept_text: Text of the button that goes ahead.

    Returns:
        True if the user chose to go ahead.
    """
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    label = QLabel(intro)
    label.setWordWrap(True)
    layout.addWidget(label)
    view = QPlainTextEdit(diff_text or "(no change)")
    view.setReadOnly(True)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setMinimumSize(640, 360)
    layout.addWidget(view)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    buttons.addButton(accept_text, QDialogButtonBox.ButtonRole.AcceptRole)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return dialog.exec() == QDialog.DialogCode.Accepted


def group_meta() -> dict[str, dict[str, Any]]:
    """The schema's group metadata by group key (titles, losses, advanced flags)."""
    return dict(schema_groups())


def field_loss(field: SchemaField, groups: dict[str, dict[str, Any]]) -> str | None:
    """The loss a field belongs to (its own metadata or its group's)."""
    if field.metadata.get("loss"):
        return str(field.metadata["loss"])
    parts = field.key.split(".")
    for n in range(len(parts) - 1, 0, -1):
        loss = groups.get(".".join(parts[:n]), {}).get("loss")
        if loss:
            return str(loss)
    return None


def field_advanced(field: SchemaField, groups: dict[str, dict[str, Any]]) -> bool:
    """Whether the field is folded away under Advanced (itself or one of its groups is advanced)."""
    parts = field.key.split(".")
    return bool(field.metadata.get("advanced")) or any(
        groups.get(".".join(parts[:n]), {}).get("advanced") for n in range(2, len(parts))
    )


def subgroup_title(field: SchemaField, groups: dict[str, dict[str, Any]]) -> str:
    """The title of the field's group below the section (``Temporal``, ``Network input size``...)."""
    parts = field.key.split(".")
    titles = [groups.get(".".join(parts[:n]), {}).get("title", "") for n in range(2, len(parts))]
    return " › ".join(t for t in titles if t)


class FieldRow(QWidget):
    """One field of the form: title, editor, help line and the error message in red."""

    def __init__(self, editor: FieldEditor, subgroup: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        md = editor.field.metadata
        tip = f"{editor.key}\n\n{md.get('help', '')}"
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setVerticalSpacing(1)
        title = f"{subgroup} › {md.get('title', editor.key)}" if subgroup else md.get("title", editor.key)
        self.title = QLabel(title)
        self.title.setToolTip(tip)
        self.title.setFixedWidth(LABEL_WIDTH_PX)
        self.title.setWordWrap(True)
        editor.setToolTip(tip)
        self.help = QLabel(f"{md.get('help', '')}  ({editor.key})")
        self.help.setWordWrap(True)
        self.help.setStyleSheet(HELP_STYLE)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        layout.addWidget(self.title, 0, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(editor, 0, 1)
        layout.addWidget(self.help, 1, 1)
        layout.addWidget(self.error, 2, 1)
        layout.setColumnStretch(1, 1)

    def set_messages(self, messages: list[str]) -> None:
        """Show the field's problems (none = not red)."""
        self.error.setText("\n".join(messages))
        self.error.setVisible(bool(messages))
        self.title.setStyleSheet(ERROR_STYLE if messages else "")
        self.editor.setStyleSheet(f"QLineEdit, QAbstractSpinBox, QComboBox {{ border: 1px solid {ERROR_COLOR}; }}"
                                  if messages else "")  # fmt: skip

    def has_error(self) -> bool:
        """True while the field shows a problem."""
        return self.error.isVisibleTo(self) or bool(self.error.text())


class Foldable(QWidget):
    """A "▸ Advanced settings" button that shows or hides a box of rows."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        self.button = QToolButton()
        self.button.setText(text)
        self.button.setCheckable(True)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setArrowType(Qt.ArrowType.RightArrow)
        self.button.setAutoRaise(True)
        self.button.toggled.connect(self._on_button_toggled)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(16, 0, 0, 0)
        self.body.hide()
        layout.addWidget(self.button)
        layout.addWidget(self.body)

    def _on_button_toggled(self, checked: bool) -> None:
        self.button.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)
        self.body.setVisible(checked)

    def set_open(self, is_open: bool) -> None:
        """Unfold (True) or fold (False)."""
        self.button.setChecked(is_open)
