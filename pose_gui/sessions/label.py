"""LabelSession: the label pane's state: the labels document, the frames to label, undo, autosave, file watching.

The session owns one :class:`~pose_core.data.labels_edit.LabelsDocument` (the only writer of the
labels file while the pane is open) and a ``QUndoStack``: every edit is a :class:`SetPointsCommand`
(the keypoints of one image before and after), so undo and redo work across frames; the moves of
one drag merge into one command. After the first unsaved edit a one-second timer saves the file
in a worker thread (atomic; the ``.bak`` on the first save), so a crash loses at most the last
second. A ``QFileSystemWatcher`` (and the save itself) notice when another program changed the
file: the session then stops saving and emits :attr:`LabelSession.external_change_detected`; the
pane asks Reload / Keep mine.

Frames to label: the rows of the file, plus queued images (PNG files under ``labeled-data/`` that
have no row yet, e.g. extracted by "Add frames from video..."). Queue reasons ("problem frame",
"suggested by ...") are kept in ``labeled-data/posedesk_queue.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from pose_core.data.labels import check_keypoint_names, image_file
from pose_core.data.labels_edit import LabelsChangedOnDiskError, LabelsDocument, SaveSnapshot
from pose_core.errors import DataError, PoseDeskError
from pose_gui.workers.tasks import TaskThread, stop_thread

if TYPE_CHECKING:
    from pose_core.ensemble.ranking import Pick
    from pose_core.project import Project

AUTOSAVE_DELAY_MS = 1000
QUEUE_FILENAME = "posedesk_queue.json"
DRAG_COMMAND_ID = 1701
_LABELED_DATA = "labeled-data"


@dataclass
class LabelData:
    """What opening the label pane on a project reads (in a worker thread).

    Attributes:
        document: The labels document (None if the labels cannot be edited).
        queued: Image paths (relative to ``data_dir``) waiting to be labelled, with their reason.
        problems: Non-fatal problems to list (missing images, a second labels file, ...).
        read_only_reason: Why edits cannot be saved ("" = they can).
        missing: Labelled images whose file is missing (listed, skipped).
        skeleton: Keypoint index pairs to join with lines.
    """

    document: LabelsDocument | None
    queued: dict[str, str] = field(default_factory=dict)
    problems: list[PoseDeskError] = field(default_factory=list)
    read_only_reason: str = ""
    missing: set[str] = field(default_factory=set)
    skeleton: list[tuple[int, int]] = field(default_factory=list)


def load_label_data(project: Project) -> LabelData:
    """Open a project's labels for editing and find its queued frames (worker thread).

    Every problem a user can fix becomes a message; nothing here raises for bad input except an
    unreadable labels file (then the document is None and the reason says why).
    """
    from pose_core.project import KIND_DEEPLABCUT, is_writable_dir

    if project.kind == KIND_DEEPLABCUT or len(project.csv_paths) != 1:
        return LabelData(
            None,
            read_only_reason=f"{project.root} is a DeepLabCut project with one labels file per video; label it after "
            "importing it (File > New Project… imports DeepLabCut projects).",
        )
    csv_path = project.csv_paths[0]
    try:
        document = LabelsDocument.open(csv_path)
    except PoseDeskError as error:
        return LabelData(None, read_only_reason=str(error))
    data = LabelData(document, skeleton=read_skeleton(project, document.keypoint_names))
    data.problems.extend(_second_labels_files(csv_path))
    reason = _keypoint_mismatch(project, document)
    if reason:
        data.read_only_reason = reason
    elif not is_writable_dir(csv_path.parent):
        data.read_only_reason = (
            f"The project folder {csv_path.parent} is read-only, so labels cannot be saved; make it writable or copy "
            "the project (File > New Project… imports it), then open it again."
        )
    data.queued = _queued_images(project.data_dir, set(document.image_paths))
    data.missing = {p for p in document.image_paths if not image_file(project.data_dir, p).is_file()}
    if data.missing:
        shown = ", ".join(sorted(data.missing)[:5])
        data.problems.append(
            DataError(
                f"{len(data.missing)} labelled image(s) are missing under {project.data_dir} ({shown}); they are listed "
                "and skipped, their labels are kept. Restore the images to see them.",
                path=str(project.data_dir),
            )
        )
    return data


def read_skeleton(project: Project, names: list[str]) -> list[tuple[int, int]]:
    """Skeleton edges as index pairs, from a DeepLabCut import's ``dlc_import.yaml`` (PoseDesk's config has none)."""
    import yaml

    path = project.root / "dlc_import.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return []
    edges = raw.get("skeleton", []) if isinstance(raw, dict) else []
    index = {name: i for i, name in enumerate(names)}
    pairs = [e for e in edges if isinstance(e, list) and len(e) == 2]
    return [(index[a], index[b]) for a, b in pairs if a in index and b in index]


def _second_labels_files(csv_path: Path) -> list[PoseDeskError]:
    """A second labels file next to the one edited (two DeepLabCut scorers): name both and the fix."""
    others = sorted(p for p in csv_path.parent.glob("CollectedData*.csv") if p.name != csv_path.name)
    others += sorted(csv_path.parent.glob(f"{_LABELED_DATA}/*/CollectedData*.csv"))
    if not others:
        return []
    names = ", ".join(str(p) for p in others[:3])
    return [
        DataError(
            f"Besides {csv_path} there are other labels files ({names}), e.g. from another DeepLabCut scorer; the Label "
            f"pane edits only {csv_path.name} (the project's data.csv_file). Merge them into it or remove them.",
            path=str(others[0]),
        )
    ]


def _keypoint_mismatch(project: Project, document: LabelsDocument) -> str:
    """Why the labels cannot be edited against the config's keypoints ("" if they match)."""
    if project.config_path is None:
        return ""
    from pose_core.config.io import load_config

    try:
        cfg = load_config(project.config_path, check_paths=False).cfg
        names = list(cfg.data.keypoint_names) if cfg.data.keypoint_names is not None else None
        check_keypoint_names(document.labels(), names, document.path, cfg.data.num_keypoints)
    except PoseDeskError as error:
        return f"{error} Until then the labels are shown read-only (nothing is lost)."
    return ""


def _queued_images(data_dir: Path, labelled: set[str]) -> dict[str, str]:
    """PNG images under ``labeled-data/`` without a row, with the reason they were queued."""
    folder = data_dir / _LABELED_DATA
    reasons = read_queue_reasons(data_dir)
    found = (p.relative_to(data_dir).as_posix() for p in folder.rglob("*.png")) if folder.is_dir() else iter(())
    return {rel: reasons.get(rel, "") for rel in sorted(found) if rel not in labelled}


def extract_picks(picks: Sequence[Pick], data_dir: Path, known_image_paths: Sequence[str]) -> dict[str, str]:
    """Extract the frames "Suggest frames" picked and say why each was picked (worker thread).

    Every video is checked first (readable, the same frame size as its earlier images, each
    frame inside it), so bad input writes no image at all.

    Returns:
        Image path (relative to ``data_dir``) -> the pick's reason, in the order of ``picks``.

    Raises:
        DataError: A video is missing or unreadable, differs from its images, or is shorter than a pick.
    """
    from pose_core.frames import check_video_matches_images, extract_frames
    from pose_core.video.reader import probe_video

    by_video: dict[Path, list[Pick]] = {}
    for pick in picks:
        by_video.setdefault(Path(pick.video), []).append(pick)
    for video, video_picks in by_video.items():
        if not video.is_file():
            raise DataError(f"Video {video} does not exist any more; suggest the frames again.", path=str(video))
        check_video_matches_images(video, data_dir, known_image_paths)
        n_frames = probe_video(video).n_frames
        beyond = [p.frame_idx for p in video_picks if not 0 <= p.frame_idx < n_frames]
        if beyond:
            raise DataError(
                f"Frame {beyond[0]} is beyond the end of {video.name} ({n_frames} frames): the predictions the frames "
                "were ranked on belong to another version of the video; predict it again, then suggest again.",
                path=str(video),
            )
    reasons: dict[str, str] = {}
    for video, video_picks in by_video.items():
        paths = extract_frames(video, [p.frame_idx for p in video_picks], data_dir)
        reasons.update({path: f"suggested: {pick.reason}" for path, pick in zip(paths, video_picks, strict=True)})
    return reasons


def read_queue_reasons(data_dir: Path) -> dict[str, str]:
    """Image path -> why it was queued (empty if the file is missing or unreadable)."""
    try:
        data = json.loads((data_dir / _LABELED_DATA / QUEUE_FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def write_queue_reasons(data_dir: Path, reasons: dict[str, str]) -> None:
    """Store why frames were queued (atomic)."""
    from pose_core.io.atomic import atomic_write_text

    atomic_write_text(data_dir / _LABELED_DATA / QUEUE_FILENAME, json.dumps(reasons, indent=1, sort_keys=True))


# ----------------------------------------------------------------------------- undo


class SetPointsCommand(QUndoCommand):
    """Replace the keypoints of one image (undo puts the previous ones back)."""

    def __init__(
        self, session: LabelSession, image_path: str, before: np.ndarray, after: np.ndarray, text: str, drag: int = 0
    ) -> None:
        super().__init__(text)
        self.session = session
        self.image_path = image_path
        self.before = before.copy()
        self.after = after.copy()
        self.drag = drag  # moves of one drag (same non-zero number) merge into one command

    def id(self) -> int:
        return DRAG_COMMAND_ID if self.drag else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetPointsCommand) or other.drag != self.drag or other.image_path != self.image_path:
            return False
        self.after = other.after.copy()
        return True

    def redo(self) -> None:
        self.session.apply_points(self.image_path, self.after)

    def undo(self) -> None:
        self.session.apply_points(self.image_path, self.before)


# ----------------------------------------------------------------------------- session


class LabelSession(QObject):
    """The labels being edited in the label pane (see the module docstring).

    Signals:
        points_changed(str): The keypoints of this image changed (edit, undo, redo, reload).
        frames_changed(): Frames were added to the list or the document was reloaded.
        saved(int): The file was written (the revision it holds).
        save_failed(object): Saving failed (DataError); edits stay in memory and are saved again later.
        external_change_detected(): Another program changed the file; saving is paused until
            :meth:`reload_from_disk` or :meth:`keep_mine`.
    """

    points_changed = Signal(str)
    frames_changed = Signal()
    saved = Signal(int)
    save_failed = Signal(object)
    external_change_detected = Signal()

    def __init__(self, project: Project, data: LabelData, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.document = data.document
        self.read_only_reason = data.read_only_reason
        self.queued: dict[str, str] = dict(data.queued)
        self.missing: set[str] = set(data.missing)
        self.problems = list(data.problems)
        self.undo_stack = QUndoStack(self)
        self.external_change = False
        self._drag_counter = 0
        self._save_task: TaskThread | None = None
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_soon_expired)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_watcher_file_changed)
        if self.document is not None:
            self._watcher.addPath(str(self.document.path))

    # ------------------------------------------------------------------ reading

    @property
    def keypoint_names(self) -> list[str]:
        """Keypoint names, in column order."""
        return self.document.keypoint_names if self.document is not None else list(self.project.keypoint_names)

    @property
    def is_editable(self) -> bool:
        """True if edits can be made and saved."""
        return self.document is not None and not self.read_only_reason

    def image_paths(self) -> list[str]:
        """Every frame of the list: labelled rows and queued images, grouped by folder (video)."""
        rows = self.document.image_paths if self.document is not None else list(self.project.labels.image_paths)
        every = list(dict.fromkeys([*rows, *self.queued]))
        return sorted(every, key=lambda p: (p.rsplit("/", 1)[0] if "/" in p else "", p))

    def points(self, image_path: str) -> np.ndarray:
        """``[K, 2]`` labels of one image (NaN = unlabelled)."""
        if self.document is not None:
            return self.document.points(image_path)
        labels = self.project.labels
        if image_path in labels.image_paths:
            return labels.keypoints_px[labels.image_paths.index(image_path)].copy()
        return np.full((len(self.keypoint_names), 2), np.nan)

    def n_labelled(self, image_path: str) -> int:
        """How many keypoints of the image are labelled."""
        return int((~np.isnan(self.points(image_path)).any(axis=1)).sum())

    def image_file(self, image_path: str) -> Path:
        """Absolute path of an image."""
        return image_file(self.project.data_dir, image_path)

    # ------------------------------------------------------------------ editing (intents from the view)

    def set_point(self, image_path: str, keypoint_idx: int, xy: tuple[float, float] | None, text: str = "") -> bool:
        """Place, move (one step) or clear a keypoint as one undoable edit. Returns False if read-only."""
        after = self.points(image_path)
        after[keypoint_idx] = np.nan if xy is None else xy
        name = self.keypoint_names[keypoint_idx]
        return self._push(image_path, after, text or (f"Clear {name}" if xy is None else f"Place {name}"))

    def begin_drag(self) -> int:
        """A new drag number: :meth:`drag_point` calls with it merge into one undo step."""
        self._drag_counter += 1
        return self._drag_counter

    def drag_point(self, image_path: str, keypoint_idx: int, xy: tuple[float, float], drag: int) -> bool:
        """Move a keypoint during drag ``drag`` (the whole drag is one undo step)."""
        after = self.points(image_path)
        after[keypoint_idx] = xy
        return self._push(image_path, after, f"Move {self.keypoint_names[keypoint_idx]}", drag)

    def set_points(self, image_path: str, points_px: np.ndarray, text: str) -> bool:
        """Replace all keypoints of an image as one undoable edit (accepting suggestions)."""
        return self._push(image_path, np.asarray(points_px, dtype=np.float64), text)

    def _push(self, image_path: str, after: np.ndarray, text: str, drag: int = 0) -> bool:
        if not self.is_editable or self.document is None:
            return False
        before = self.points(image_path)
        after = self.document.as_stored(image_path, after)
        if np.array_equal(before, after, equal_nan=True):
            return True
        self.undo_stack.push(SetPointsCommand(self, image_path, before, after, text, drag))
        return True

    def apply_points(self, image_path: str, points_px: np.ndarray) -> None:
        """Called by the undo commands: change the document, tell the views, schedule a save."""
        assert self.document is not None
        self.document.set_points(image_path, points_px)
        if self.document.has_row(image_path):
            self.queued.pop(image_path, None)
        elif image_path not in self.queued:
            self.queued[image_path] = ""
        self.points_changed.emit(image_path)
        self.schedule_save()

    # ------------------------------------------------------------------ queueing

    def add_queued(self, image_paths: list[str], reason: str, reasons: Mapping[str, str] | None = None) -> list[str]:
        """Add extracted images to the list with their reason; returns those that are new.

        Args:
            image_paths: The images (relative to ``data_dir``).
            reason: Why they are queued.
            reasons: A reason per image, used instead of ``reason`` for the images it names.
        """
        known = set(self.image_paths())
        added = [p for p in image_paths if p not in known]
        for path in image_paths:
            why = (reasons or {}).get(path, reason)
            if path in added or (path in self.queued and why):
                self.queued[path] = why
            self.missing.discard(path)
        if added or reasons:
            kept = {p: r for p, r in self.queued.items() if r}
            try:
                write_queue_reasons(self.project.data_dir, kept)
            except PoseDeskError as error:
                self.save_failed.emit(error)
            self.frames_changed.emit()
        return added

    def queue_reason(self, image_path: str) -> str:
        """Why a queued frame was queued ("" if it is labelled or no reason was given)."""
        return self.queued.get(image_path, "")

    # ------------------------------------------------------------------ saving

    def schedule_save(self) -> None:
        """Save at most :data:`AUTOSAVE_DELAY_MS` after the first unsaved edit (not postponed by later edits)."""
        if not self._save_timer.isActive():
            self._save_timer.start()

    def save_soon_expired(self) -> None:
        """The autosave timer fired: save now in a worker thread (one save at a time)."""
        self.save_now()

    def save_now(self, *, overwrite_external_changes: bool = False) -> TaskThread | None:
        """Start writing the unsaved edits in a thread; None if there is nothing to write or saving is paused."""
        doc = self.document
        if doc is None or not self.is_editable or (self.external_change and not overwrite_external_changes):
            return None
        if self._save_task is not None:  # a save is running: try again when it ends
            self.schedule_save()
            return None
        snapshot = doc.snapshot(overwrite_external_changes=overwrite_external_changes)
        if snapshot is None:
            return None
        task = TaskThread(snapshot.write, parent=self)
        task.succeeded.connect(lambda disk, s=snapshot: self._on_save_succeeded(s, disk))
        task.failed.connect(self._on_save_failed)
        task.finished.connect(self._on_save_finished)
        self._save_task = task
        task.start()
        return task

    def flush(self) -> None:
        """Save everything now, in this thread (closing the pane or the window)."""
        stop_thread(self._save_task)
        self._save_timer.stop()
        doc = self.document
        if doc is None or not self.is_editable or self.external_change:
            return
        try:
            doc.save()
        except LabelsChangedOnDiskError:
            self.external_change = True
            self.external_change_detected.emit()
        except PoseDeskError as error:
            self.save_failed.emit(error)

    def _on_save_succeeded(self, snapshot: SaveSnapshot, disk: object) -> None:
        if self.document is not None and snapshot.path == self.document.path:
            self.document.finish_save(snapshot, disk)  # type: ignore[arg-type]
            self._rewatch()
            self.saved.emit(snapshot.revision)

    def _on_save_failed(self, error: BaseException) -> None:
        if isinstance(error, LabelsChangedOnDiskError):
            self._set_external_change()
        else:
            self.save_failed.emit(error)

    def _on_save_finished(self) -> None:
        task, self._save_task = self._save_task, None
        if task is not None:
            task.deleteLater()
        if self.document is not None and self.document.is_modified and not self.external_change:
            self.schedule_save()

    def _rewatch(self) -> None:
        """Watch the file again (an atomic rename replaces the file the watcher followed)."""
        if self.document is not None and str(self.document.path) not in self._watcher.files():
            self._watcher.addPath(str(self.document.path))

    # ------------------------------------------------------------------ another program changed the file

    def _on_watcher_file_changed(self, _path: str) -> None:
        self._rewatch()
        if self.document is not None and self._save_task is None and self.document.changed_on_disk():
            self._set_external_change()

    def _set_external_change(self) -> None:
        if not self.external_change:
            self.external_change = True
            self._save_timer.stop()
            self.external_change_detected.emit()

    def reload_from_disk(self) -> None:
        """Take the file as it is on disk (unsaved edits are dropped; undo history cleared).

        Raises:
            DataError: The file on disk cannot be read (the current labels stay).
        """
        if self.document is None:
            return
        self.document = LabelsDocument.open(self.document.path)
        self.undo_stack.clear()
        self.external_change = False
        labelled = set(self.document.image_paths)
        self.queued = {p: r for p, r in self.queued.items() if p not in labelled}
        self._rewatch()
        self.frames_changed.emit()

    def keep_mine(self) -> None:
        """Overwrite the file changed by another program with the labels shown here."""
        if self.document is None:
            return
        self.external_change = False
        self.document.forget_disk_state()
        self.document.mark_modified()  # the file on disk differs from what is shown: write it even without new edits
        self.save_now(overwrite_external_changes=True)

    # ------------------------------------------------------------------ one source of truth

    def project_with_labels(self) -> Project:
        """The project with the labels being edited (for the other panes)."""
        if self.document is None:
            return self.project
        return replace(self.project, labels=self.document.labels())

    def shutdown(self) -> None:
        """Save what is unsaved and stop the save thread."""
        self.flush()
        watched = self._watcher.files()
        if watched:
            self._watcher.removePaths(watched)
