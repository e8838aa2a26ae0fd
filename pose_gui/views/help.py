"""Help pages: the user guide (what each pane is for, the label → train → review → fix loop) and the keyboard shortcuts.

The shortcuts page is generated from what the window declares, so it stays true when panes or
actions are added: the menu actions' shortcuts, the keys that show each pane, and every
``QShortcut`` (its ``whatsThis`` is the description), shortcut-carrying ``QAction`` and button of every pane.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from pose_gui.main_window import MainWindow

PANE_GUIDE = {
    "project": "What the project holds: labelled frames with their labels drawn, keypoints and how many frames "
    "label each, videos, and the training runs with their status and errors. Double-click a video to review it, "
    "a run to see its curves.",
    "label": "Place the keypoints on frames; every labelled frame is what the model learns from.",
    "config": "The training settings as a form (validated as you type) beside the raw YAML. Save before training: "
    "Train uses the saved config.yaml (it asks when there are unsaved edits).",
    "training": "Train a model in its own process and watch its loss curves live; Stop (keeps a checkpoint), Kill, "
    "Resume a stopped run, compare runs, attach to a run on a cluster.",
    "review": "The predicted keypoints on every frame of a video, with a likelihood threshold, traces and the "
    "frames most likely wrong (N / P jump between them); the errors on the labelled frames; Predict video for "
    "videos not predicted yet.",
}
LOOP_HTML = """
<h3>The loop</h3>
<ol>
<li><b>Label</b> a few hundred frames (a project from DeepLabCut or Lightning Pose brings its labels).</li>
<li><b>Train</b>: Training pane, Train. The curves show the model learning; the run's videos are predicted
when it ends.</li>
<li><b>Review</b>: Review pane. Play the video, jump to problem frames (N / P), look at the labelled
frames with the largest errors.</li>
<li><b>Fix</b>: label the frames the model gets wrong (or correct wrong labels), then train again.
Compare the new run with the old one in Review (Compare with).</li>
</ol>
"""


@dataclass(frozen=True)
class ShortcutRow:
    """One line of the shortcuts page."""

    group: str
    keys: str
    description: str


def _keys_text(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.NativeText)


def shortcut_rows(window: MainWindow) -> list[ShortcutRow]:
    """Every keyboard shortcut the window and its panes declare (panes not built yet are built now)."""
    rows: list[ShortcutRow] = []
    for action in window.actions_by_id.values():
        if not action.shortcut().isEmpty():
            rows.append(ShortcutRow("Window", _keys_text(action.shortcut()), action.text().replace("&", "")))
    for name in window.pane_names():
        pane = window.pane(name)
        if pane is None:
            continue
        title = next(spec.title for spec in window.pane_specs() if spec.name == name)
        for shortcut in pane.findChildren(QShortcut):
            rows.append(ShortcutRow(title, _keys_text(shortcut.key()), shortcut.whatsThis() or "—"))
        for action in pane.findChildren(QAction):
            if not action.shortcut().isEmpty():
                rows.append(ShortcutRow(title, _keys_text(action.shortcut()), action.text().replace("&", "")))
        for button in pane.findChildren(QAbstractButton):
            if not button.shortcut().isEmpty():
                what = button.text().replace("&", "").rstrip("…") or button.toolTip()
                rows.append(ShortcutRow(title, _keys_text(button.shortcut()), what))
    return rows


def shortcuts_html(rows: list[ShortcutRow]) -> str:
    """The shortcuts page: one table per group (a pane's keys work while that pane has the focus)."""
    parts = ["<h2>Keyboard shortcuts</h2><p>A pane's keys work while that pane is in front.</p>"]
    for group in dict.fromkeys(row.group for row in rows):
        parts.append(f"<h3>{html.escape(group)}</h3><table cellpadding='3'>")
        for row in (r for r in rows if r.group == group):
            parts.append(f"<tr><td><b>{html.escape(row.keys)}</b></td><td>{html.escape(row.description)}</td></tr>")
        parts.append("</table>")
    return "".join(parts)


def user_guide_html(window: MainWindow) -> str:
    """The user guide: the loop, then what each pane of this window is for."""
    parts = ["<h2>PoseDesk user guide</h2>", "<p>PoseDesk finds the keypoints of an animal in every frame of a "
             "video after you label a few hundred frames. Everything runs on this computer; training and video "
             "prediction run in their own processes, so the window stays usable.</p>", LOOP_HTML, "<h3>The panes</h3><ul>"]  # fmt: skip
    for spec in window.pane_specs():
        text = PANE_GUIDE.get(spec.name) or _pane_doc(window, spec.name)
        parts.append(f"<li><b>{html.escape(spec.title)}</b> ({html.escape(spec.shortcut)}): {html.escape(text)}</li>")
    parts.append("</ul><p>Help &gt; Keyboard shortcuts lists every key.</p>")
    return "".join(parts)


def _pane_doc(window: MainWindow, name: str) -> str:
    pane = window.pane(name)
    doc = (type(pane).__doc__ or "").strip() if pane is not None else ""
    return doc.splitlines()[0] if doc else ""


class HelpPage(QDialog):
    """A non-modal window showing one help page."""

    def __init__(self, title: str, page_html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(640, 620)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(page_html)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
