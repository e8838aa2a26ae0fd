"""The new-project wizard: name and location, labels to import, videos, then create (in a thread).

Labels come from a Lightning Pose-style folder, a DeepLabCut project, a ``CollectedData.csv`` or
a SLEAP ``.slp`` (read with sleap-io in a thread, :mod:`pose_core.interop.sleap`; when its videos
are missing but it embeds the frames, the page asks whether to import those); the keypoint names
are read from the labels. Videos are probed in a thread as they are added; one
that does not open is flagged and must be removed. :func:`pose_core.project.create_project`
then copies everything into the new folder in a thread while a progress bar moves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from pose_core.errors import DataError, PoseDeskError
from pose_gui import dialogs
from pose_gui.style import ERROR_COLOR
from pose_gui.workers.tasks import TaskThread, stop_thread
from pose_gui.workers.video_probe import VideoProbeWorker

if TYPE_CHECKING:
    from pose_core.interop.sleap import SleapLabelSource
    from pose_core.project import LabelSource, Project

SLEAP_FILTER = "SLEAP labels (*.slp);;All files (*)"
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2  # "probing", "ok", "failed"


def default_projects_location() -> Path:
    """Where new projects go unless the user picks another folder: ``~/PoseDesk``."""
    return Path.home() / "PoseDesk"


class _PathEdit(QLineEdit):
    """A path field whose Enter reads the path (``returnPressed``) without also pressing the wizard's Next."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()  # QLineEdit passes Enter on to the dialog's default button


def _browse_row(edit: QLineEdit, *buttons: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    for button in buttons:
        row.addWidget(button)
    return row


class NamePage(QWizardPage):
    """Project name and the folder to create it in."""

    def __init__(self, location: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Name and location")
        self.setSubTitle("The project becomes a folder with this name inside the location.")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. mirror-mouse")
        self.location_edit = QLineEdit(str(location))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        self.target_label = QLabel()
        self.target_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout(self)
        form.addRow("Project name:", self.name_edit)
        form.addRow("Location:", _browse_row(self.location_edit, browse))
        form.addRow("Will create:", self.target_label)
        self.name_edit.textChanged.connect(self._on_text_changed)
        self.location_edit.textChanged.connect(self._on_text_changed)
        self._on_text_changed()

    def target(self) -> Path:
        """The folder that will be created."""
        return Path(self.location_edit.text().strip()).expanduser() / self.name_edit.text().strip()

    def _on_text_changed(self) -> None:
        self.target_label.setText(str(self.target()) if self.name_edit.text().strip() else "—")
        self.completeChanged.emit()

    def _on_browse_clicked(self) -> None:
        folder = dialogs.ask_directory(self, "Create the project in", self.location_edit.text())
        if folder is not None:
            self.location_edit.setText(str(folder))

    def isComplete(self) -> bool:
        return bool(self.name_edit.text().strip() and self.location_edit.text().strip())

    def validatePage(self) -> bool:
        from pose_core.project import check_new_project_folder

        try:
            check_new_project_folder(self.name_edit.text(), Path(self.location_edit.text().strip()))
        except PoseDeskError as error:
            dialogs.show_error(self, error, "Cannot create the project there")
            return False
        return True


class LabelsPage(QWizardPage):
    """Pick the labels to import; shows what was found and the keypoint names from the CSV."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Labels")
        self.setSubTitle(
            "Import labelled frames: a Lightning Pose project folder, a DeepLabCut project folder, "
            "a CollectedData.csv file or a SLEAP project (.slp). Its images are copied into the new project."
        )
        self.source: LabelSource | SleapLabelSource | None = None
        self._sleap_task: TaskThread | None = None
        self.source_edit = _PathEdit()
        self.source_edit.setPlaceholderText("Type or paste a folder, CSV or .slp path and press Enter, or choose one")
        self.source_edit.returnPressed.connect(lambda: self._on_source_typed(again=True))
        self.source_edit.editingFinished.connect(self._on_source_typed)
        self._read_text = ""  # the path last read (typed or chosen)
        folder_button = QPushButton("Choose Folder…")
        folder_button.clicked.connect(self._on_folder_clicked)
        csv_button = QPushButton("Choose CSV…")
        csv_button.clicked.connect(self._on_csv_clicked)
        sleap_button = QPushButton("Choose SLEAP File…")
        sleap_button.clicked.connect(self._on_sleap_clicked)
        self.info_label = QLabel("No labels chosen yet.")
        self.info_label.setWordWrap(True)
        self.keypoints_list = QListWidget()
        layout = QVBoxLayout(self)
        layout.addLayout(_browse_row(self.source_edit, folder_button, csv_button, sleap_button))
        layout.addWidget(self.info_label)
        layout.addWidget(QLabel("Keypoints (read from the labels):"))
        layout.addWidget(self.keypoints_list, 1)

    def set_source(self, path: Path) -> bool:
        """Read the labels at ``path``; show them, or show the error dialog and clear the page.

        Args:
            path: Folder or CSV file.

        Returns:
            True if the labels were read and all their images exist.
        """
        from pose_core.data.labels import check_images
        from pose_core.project import read_label_source

        if Path(path).suffix.lower() == ".slp":
            self.set_sleap_source(Path(path))
            return False  # read in a thread: the page completes when it is done
        self.source_edit.setText(str(path))
        self._read_text = str(path)
        try:
            source = read_label_source(Path(path))
            check_images(source.labels, source.data_dir)
        except PoseDeskError as error:
            self._show_source(None)
            self.info_label.setText(f"<span style='color:{ERROR_COLOR}'>{error}</span>")
            dialogs.show_error(self, error, "Cannot import these labels")
            return False
        self._show_source(source)
        return True

    def set_sleap_source(self, path: Path, *, embedded_frames: bool = False) -> None:
        """Read a SLEAP ``.slp`` in a thread; show it, offer its embedded frames, or show the error."""
        from pose_core.interop.sleap import read_sleap_source

        if self.is_reading():
            return
        self.source_edit.setText(str(path))
        self._read_text = str(path)
        self._show_source(None)
        self.info_label.setText("Reading the SLEAP file…")
        self._sleap_task = TaskThread(read_sleap_source, Path(path), embedded_frames=embedded_frames, parent=self)
        self._sleap_task.succeeded.connect(self._show_source)
        self._sleap_task.failed.connect(lambda error, p=Path(path): self._on_sleap_failed(p, error))
        self._sleap_task.start()

    def is_reading(self) -> bool:
        """True while a SLEAP file is being read."""
        return self._sleap_task is not None and self._sleap_task.isRunning()

    def _on_sleap_failed(self, path: Path, error: BaseException) -> None:
        from pose_core.interop.sleap import EmbeddedFramesOffer

        if isinstance(error, EmbeddedFramesOffer) and dialogs.confirm(
            self, "Videos not found", f"{error}\n\nImport the embedded frames without the videos?", "Import Frames"
        ):
            self._sleap_task = None
            self.set_sleap_source(path, embedded_frames=True)
            return
        self.info_label.setText(f"<span style='color:{ERROR_COLOR}'>{error}</span>")
        if not isinstance(error, EmbeddedFramesOffer):
            dialogs.show_error(self, error, "Cannot import this SLEAP file")

    def _show_source(self, source: LabelSource | SleapLabelSource | None) -> None:
        self.source = source
        self.keypoints_list.clear()
        if source is not None:
            kind = {"deeplabcut": "DeepLabCut project", "sleap": "SLEAP project"}.get(
                source.kind, "Lightning Pose labels"
            )
            files = ", ".join(p.name for p in source.csv_paths[:3]) + (" …" if len(source.csv_paths) > 3 else "")
            carried = (
                " Its config's view and PCA settings (mirrored_column_matches, columns_for_singleview_pca, "
                "image_resize_dims) are carried over."
                if source.config
                else ""
            )
            self.info_label.setText(
                f"{kind}: {source.labels.n_frames} labelled frames, {source.labels.n_keypoints} keypoints "
                f"(from {files}; images in {source.data_dir}).{carried}"
            )
            self.keypoints_list.addItems(source.labels.keypoint_names)
            sleap = getattr(source, "sleap", None)
            if sleap is not None:
                frames = "embedded images" if any(v.embedded for v in sleap.videos) else "videos"
                notes = " ".join(n.replace("; --include-predicted imports them.", ".") for n in sleap.notes)
                self.info_label.setText(
                    f"SLEAP project: {source.labels.n_frames} labelled frames, {source.labels.n_keypoints} keypoints, "
                    f"{len(sleap.edges)} skeleton edges (read with sleap-io from {sleap.path.name}; frames from its "
                    f"{frames}). {notes}"
                )
        self.completeChanged.emit()

    def _on_source_typed(self, again: bool = False) -> None:
        """Reads a typed or pasted path when editing ends: leaving the field reads a new path, Enter reads it again."""
        text = self.source_edit.text().strip()
        if not text or (text == self._read_text and not again) or self.is_reading():
            return
        self.set_source(Path(text).expanduser())

    def _on_folder_clicked(self) -> None:
        folder = dialogs.ask_directory(self, "Project folder with labels")
        if folder is not None:
            self.set_source(folder)

    def _on_sleap_clicked(self) -> None:
        path = dialogs.ask_open_file(self, "SLEAP project", None, SLEAP_FILTER)
        if path is not None:
            self.set_sleap_source(path)

    def shutdown(self) -> None:
        """Wait for a SLEAP file being read."""
        stop_thread(self._sleap_task)

    def _on_csv_clicked(self) -> None:
        path = dialogs.ask_open_file(self, "Labels CSV", None, "CSV files (*.csv)")
        if path is not None:
            self.set_source(path)

    def isComplete(self) -> bool:
        return self.source is not None and not self.is_reading()


class VideosPage(QWizardPage):
    """Videos to add; each is probed in a thread and flagged if it will not open."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Videos")
        self.setSubTitle("Videos to predict on and to train the unsupervised losses with (optional).")
        self.video_list = QListWidget()
        add = QPushButton("Add Videos…")
        add.clicked.connect(self._on_add_clicked)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._on_remove_clicked)
        self.link_box = QCheckBox("Link the videos instead of copying them (saves disk space)")
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.video_list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.link_box)
        self._probes: list[VideoProbeWorker] = []
        self._failures: list[PoseDeskError] = []
        self._prefilled_from: Path | None = None

    def initializePage(self) -> None:
        """Offer the label source's own videos the first time the page is shown for a source."""
        source = self.wizard().labels_page.source  # type: ignore[attr-defined]
        if source is not None and source.data_dir != self._prefilled_from and self.video_list.count() == 0:
            self._prefilled_from = source.data_dir
            self.add_videos(source.videos())

    def videos(self) -> list[Path]:
        """The videos in the list."""
        return [Path(self.video_list.item(i).data(PATH_ROLE)) for i in range(self.video_list.count())]

    def add_videos(self, paths: list[Path]) -> None:
        """Add videos (duplicates are skipped) and start probing them."""
        known = set(self.videos())
        new = [Path(p) for p in paths if Path(p) not in known]
        if not new:
            return
        for path in new:
            item = QListWidgetItem(f"{path.name}    (checking…)")
            item.setData(PATH_ROLE, str(path))
            item.setData(STATE_ROLE, "probing")
            item.setToolTip(str(path))
            self.video_list.addItem(item)
        probe = VideoProbeWorker(len(self._probes), new, self)
        probe.probed.connect(self._on_probe_probed)
        probe.probe_failed.connect(self._on_probe_failed)
        probe.finished.connect(self._on_probe_finished)
        self._probes.append(probe)
        self.completeChanged.emit()
        probe.start()

    def _item(self, path: str) -> QListWidgetItem | None:
        for i in range(self.video_list.count()):
            if self.video_list.item(i).data(PATH_ROLE) == path:
                return self.video_list.item(i)
        return None

    def _on_probe_probed(self, _generation: int, path: str, info: Any) -> None:
        item = self._item(path)
        if item is not None:
            item.setText(f"{Path(path).name}    {info.n_frames} frames, {info.width}×{info.height}, {info.fps:.1f} fps")
            item.setData(STATE_ROLE, "ok")
        self.completeChanged.emit()

    def _on_probe_failed(self, _generation: int, path: str, error: PoseDeskError) -> None:
        item = self._item(path)
        if item is not None:
            item.setText(f"{Path(path).name}    cannot be opened: remove it")
            item.setForeground(QColor(ERROR_COLOR))
            item.setToolTip(str(error))
            item.setData(STATE_ROLE, "failed")
        self._failures.append(error)
        self.completeChanged.emit()

    def _on_probe_finished(self) -> None:
        failures, self._failures = self._failures, []
        if len(failures) == 1:
            dialogs.show_error(self, failures[0], "A video cannot be opened")
        elif failures:
            dialogs.show_warnings(self, "Some videos cannot be opened", failures)

    def _on_add_clicked(self) -> None:
        self.add_videos(dialogs.ask_video_files(self, "Add videos"))

    def _on_remove_clicked(self) -> None:
        for item in self.video_list.selectedItems():
            self.video_list.takeItem(self.video_list.row(item))
        self.completeChanged.emit()

    def is_probing(self) -> bool:
        """True while some video in the list is still being checked."""
        return any(self.video_list.item(i).data(STATE_ROLE) == "probing" for i in range(self.video_list.count()))

    def isComplete(self) -> bool:
        states = [self.video_list.item(i).data(STATE_ROLE) for i in range(self.video_list.count())]
        return all(s == "ok" for s in states)

    def shutdown(self) -> None:
        """Stop the probes."""
        for probe in self._probes:
            stop_thread(probe)


class CreatePage(QWizardPage):
    """Summary, then the project is written in a thread while the progress bar moves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Create the project")
        self.setSubTitle("Check what will be written, then click Finish.")
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setVisible(False)
        self.progress_label = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addStretch(1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)

    def initializePage(self) -> None:
        wizard: ProjectWizard = self.wizard()  # type: ignore[assignment]
        source = wizard.labels_page.source
        videos = wizard.videos_page.videos()
        how = "linked" if wizard.videos_page.link_box.isChecked() else "copied"
        n_frames = source.labels.n_frames if source is not None else 0
        self.summary_label.setText(
            f"Folder: {wizard.name_page.target()}\n\n"
            f"Labels: {n_frames} labelled frames with their images (copied)\n"
            f"Videos: {len(videos)} ({how})\n\n"
            "A config.yaml with the keypoint names from the CSV is written into the folder."
        )

    def validatePage(self) -> bool:
        wizard: ProjectWizard = self.wizard()  # type: ignore[assignment]
        if wizard.created_project is not None:
            return True  # QWizard validates again when the wizard accepts itself after creating
        wizard.start_creating()
        return False  # the wizard closes itself when the thread has created the project

    def show_progress(self, done: int, total: int, message: str) -> None:
        """Move the progress bar."""
        self.progress_bar.setVisible(True)
        self.progress_bar.setMaximum(max(1, total))
        self.progress_bar.setValue(done)
        self.progress_label.setText(message)


class ProjectWizard(QWizard):
    """New-project wizard (see the module docstring).

    Signals:
        project_created(object): The new, opened :class:`pose_core.project.Project`.
    """

    project_created = Signal(object)

    def __init__(self, location: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New PoseDesk Project")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, False)
        self.name_page = NamePage(location or default_projects_location())
        self.labels_page = LabelsPage()
        self.videos_page = VideosPage()
        self.create_page = CreatePage()
        for page in (self.name_page, self.labels_page, self.videos_page, self.create_page):
            self.addPage(page)
        self.resize(720, 560)
        self._task: TaskThread | None = None
        self.created_project: Project | None = None

    def is_creating(self) -> bool:
        """True while the project is being written."""
        return self._task is not None and self._task.isRunning()

    def start_creating(self) -> None:
        """Write the project in a thread; the wizard closes when it is done."""
        from pose_core.interop.sleap import create_sleap_project
        from pose_core.project import create_project

        source = self.labels_page.source
        if self.is_creating() or source is None:
            return
        self._set_buttons_enabled(False)
        self._task = TaskThread(
            create_sleap_project if source.kind == "sleap" else create_project,
            self.name_page.name_edit.text().strip(),
            Path(self.name_page.location_edit.text().strip()),
            source,
            self.videos_page.videos(),
            link_videos=self.videos_page.link_box.isChecked(),
            parent=self,
            report_progress=True,
        )
        self._task.progressed.connect(self.create_page.show_progress)
        self._task.succeeded.connect(self._on_task_succeeded)
        self._task.failed.connect(self._on_task_failed)
        self._task.start()

    def _set_buttons_enabled(self, enabled: bool) -> None:
        for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.BackButton):
            self.button(which).setEnabled(enabled)
        self.button(QWizard.WizardButton.CancelButton).setEnabled(enabled)

    def _on_task_succeeded(self, project: Project) -> None:
        self._set_buttons_enabled(True)
        self.created_project = project
        self.project_created.emit(project)
        self.accept()

    def _on_task_failed(self, error: BaseException) -> None:
        self._set_buttons_enabled(True)
        self.create_page.progress_label.setText("Not created.")
        if not isinstance(error, PoseDeskError) and isinstance(error, OSError):
            error = DataError(f"Cannot write the project ({error}); choose a writable location.", path=None)
        dialogs.show_error(self, error, "Cannot create the project")

    def reject(self) -> None:
        """Cancel, except while the project is being written (that cannot be interrupted safely)."""
        if self.is_creating():
            return
        self.shutdown()
        super().reject()

    def shutdown(self) -> None:
        """Stop the video probes and wait for a project being written."""
        self.videos_page.shutdown()
        self.labels_page.shutdown()
        stop_thread(self._task)
