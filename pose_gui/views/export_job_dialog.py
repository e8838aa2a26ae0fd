"""The "Export job" dialog: write a run directory that trains elsewhere (``train.sh``, SLURM ``job.sbatch``).

The dialog asks for the destination, path remaps (``/home/me/data=/cluster/data``), config
overrides and SLURM options, and previews the files :func:`pose_core.jobs.render_job` makes from
them as you type. The project's config is loaded and validated once in a worker thread (again
when the overrides change); rendering the previews is string work. Export writes the files with
:func:`pose_core.jobs.write_job` and emits :attr:`ExportJobDialog.exported`.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pose_core.errors import PoseDeskError
from pose_core.jobs import (
    DEFAULT_PYTHON,
    DEFAULT_TIME,
    SLURM_SCRIPT,
    TRAIN_SCRIPT,
    JobFiles,
    SlurmOptions,
    load_job_config,
    parse_remaps,
    render_job,
    write_job,
)
from pose_core.runs.layout import CONFIG_FILENAME
from pose_gui import dialogs
from pose_gui.style import ERROR_COLOR
from pose_gui.workers.tasks import TaskThread, stop_thread

if TYPE_CHECKING:
    from pose_core.config.io import LoadedConfig

PREVIEW_FILES = (TRAIN_SCRIPT, SLURM_SCRIPT, CONFIG_FILENAME)


class ExportJobDialog(QDialog):
    """Export the project's config as a cluster job.

    Signals:
        exported(object): The files were written (:class:`pose_core.jobs.JobFiles`); ``attach_after``
            says whether the user wants to follow the run.
    """

    exported = Signal(object)

    def __init__(self, project_root: Path, dest: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export job")
        self.resize(900, 680)
        self.project_root = Path(project_root)
        self.loaded: LoadedConfig | None = None
        self.files: JobFiles | None = None
        self._task: TaskThread | None = None
        self._loaded_overrides: str | None = None  # the overrides text of ``loaded``
        self._export_when_loaded = False  # Export was clicked while the config was being checked
        self._build(dest)
        self.reload_config()

    # ------------------------------------------------------------------ construction

    def _build(self, dest: Path) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Writes a run folder that trains on another machine: <b>bash train.sh</b> in a terminal, or "
            "<b>sbatch job.sbatch</b> on a SLURM cluster. Data paths are made relative to the run folder, "
            "or rewritten by the remaps when the cluster sees the files under another path."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(self._build_form(dest))
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {ERROR_COLOR};")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error_label)
        self.preview_tabs = QTabWidget()
        self.previews: dict[str, QPlainTextEdit] = {}
        for name in PREVIEW_FILES:
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setFont(QFont("monospace", 9))
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            self.previews[name] = view
            self.preview_tabs.addTab(view, name)
        layout.addWidget(self.preview_tabs, 1)
        self.attach_check = QCheckBox("Attach to the run after exporting (follow it while it trains elsewhere)")
        self.attach_check.setChecked(True)
        layout.addWidget(self.attach_check)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.clicked.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _build_form(self, dest: Path) -> QFormLayout:
        form = QFormLayout()
        self.dest_edit = QLineEdit(str(dest))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.dest_edit, 1)
        row.addWidget(browse)
        form.addRow("Run folder to create:", row)
        self.remap_edit = QPlainTextEdit()
        self.remap_edit.setPlaceholderText("/home/me/data=/cluster/data   (one LOCAL=CLUSTER prefix per line)")
        self.remap_edit.setMaximumHeight(64)
        form.addRow("Path remaps:", self.remap_edit)
        self.overrides_edit = QLineEdit()
        self.overrides_edit.setPlaceholderText("e.g. training.accelerator=gpu training.max_epochs=300")
        form.addRow("Config overrides:", self.overrides_edit)
        self.time_edit = QLineEdit(DEFAULT_TIME)
        self.partition_edit = QLineEdit()
        self.partition_edit.setPlaceholderText("cluster default")
        self.account_edit = QLineEdit()
        self.account_edit.setPlaceholderText("your default")
        self.cpus_spin = QSpinBox()
        self.cpus_spin.setRange(0, 256)
        self.cpus_spin.setSpecialValueText("auto (num_workers + 2)")
        self.python_edit = QLineEdit(DEFAULT_PYTHON)
        self.python_edit.setToolTip("Interpreter with PoseDesk installed on the machine that runs the job")
        slurm = QHBoxLayout()
        for label, widget in (("time", self.time_edit), ("partition", self.partition_edit),
                              ("account", self.account_edit), ("CPUs/process", self.cpus_spin)):  # fmt: skip
            slurm.addWidget(QLabel(label))
            slurm.addWidget(widget)
        form.addRow("SLURM:", slurm)
        form.addRow("Python:", self.python_edit)
        for edit in (self.dest_edit, self.time_edit, self.partition_edit, self.account_edit, self.python_edit):
            edit.textChanged.connect(self.update_preview)
        self.remap_edit.textChanged.connect(self.update_preview)
        self.cpus_spin.valueChanged.connect(self.update_preview)
        self.overrides_edit.editingFinished.connect(self.reload_config)
        return form

    # ------------------------------------------------------------------ config and preview

    def is_loading(self) -> bool:
        """True while the config is being loaded."""
        return self._task is not None

    def reload_config(self) -> None:
        """Load and validate the project's config with the overrides (worker thread)."""
        if self._task is not None:
            return
        try:
            overrides = shlex.split(self.overrides_edit.text())
        except ValueError as error:
            self._show_error(f"Config overrides: {error}")
            return
        self.loaded = None
        self._loaded_overrides = self.overrides_edit.text()
        self._show_error("Checking the project's config…", color="#555555")
        task = TaskThread(load_job_config, self.project_root, overrides, parent=self)
        task.succeeded.connect(self._on_task_succeeded)
        task.failed.connect(self._on_task_failed)
        task.finished.connect(self._on_task_finished)
        self._task = task
        task.start()

    def _on_task_succeeded(self, loaded: Any) -> None:
        self.loaded = loaded
        self.update_preview()

    def _on_task_failed(self, error: BaseException) -> None:
        self._export_when_loaded = False
        self._show_error(str(error))

    def _on_task_finished(self) -> None:
        if self._task is not None:
            self._task.deleteLater()
        self._task = None
        if self.overrides_edit.text() != self._loaded_overrides:  # edited again while it was checked
            self.reload_config()
        elif self._export_when_loaded:
            self._export_when_loaded = False
            self.export()

    def slurm_options(self) -> SlurmOptions:
        """The SLURM fields."""
        return SlurmOptions(
            time=self.time_edit.text().strip(),
            partition=self.partition_edit.text().strip() or None,
            account=self.account_edit.text().strip() or None,
            cpus_per_task=self.cpus_spin.value() or None,
        )

    def update_preview(self) -> None:
        """Render the files from the fields (errors shown above the preview; Export disabled)."""
        self.files = None
        self.export_button.setEnabled(False)
        if self.loaded is None:
            return
        try:
            remap = parse_remaps([line.strip() for line in self.remap_edit.toPlainText().splitlines() if line.strip()])
            dest = Path(self.dest_edit.text().strip()).expanduser()
            if not dest.is_absolute():
                raise ValueError(f"The run folder {dest} must be an absolute path.")
            files = render_job(
                self.loaded, dest, remap=remap, slurm=self.slurm_options(), python=self.python_edit.text()
            )
        except (PoseDeskError, ValueError) as error:
            self._show_error(str(error))
            return
        self.files = files
        for name, view in self.previews.items():
            view.setPlainText(files.texts[name])
        self._show_error("")
        self.export_button.setEnabled(True)

    def _show_error(self, text: str, color: str = ERROR_COLOR) -> None:
        self.error_label.setStyleSheet(f"color: {color};")
        self.error_label.setText(text)

    # ------------------------------------------------------------------ actions

    def export(self) -> bool:
        """Write the files; on success emit :attr:`exported` and close.

        Clicked right after typing config overrides (the click takes the focus, which starts
        checking them), the files are written once the config with those overrides is checked.

        Returns:
            True if written now (a refused destination is shown above the preview).
        """
        if self._task is not None or self.overrides_edit.text() != self._loaded_overrides:
            self._export_when_loaded = True
            self.reload_config()  # no-op while a check runs; the new text is checked after it
            return False
        if self.files is None or self.loaded is None:
            return False
        try:
            write_job(self.files, config_file=self.loaded.source)
        except PoseDeskError as error:
            self._show_error(str(error))
            return False
        self.exported.emit(self.files)
        self.accept()
        return True

    @property
    def attach_after(self) -> bool:
        """Whether to follow the run after exporting."""
        return self.attach_check.isChecked()

    def _on_browse_clicked(self) -> None:
        current = Path(self.dest_edit.text().strip() or str(self.project_root))
        folder = dialogs.ask_directory(self, "Folder to create the run folder in", current.parent)
        if folder is not None:
            self.dest_edit.setText(str(folder / current.name))

    def done(self, result: int) -> None:
        """Close, after the config loader thread has ended."""
        stop_thread(self._task)
        super().done(result)
