"""DeepLabCut label files: ``labeled-data/<video>/CollectedData_<scorer>.h5`` or ``.csv`` -> :class:`LabelSet`.

A single-animal DeepLabCut project keeps the labels of each video's extracted frames in its own
folder ``labeled-data/<video>/``, next to the images, as ``CollectedData_<scorer>.h5`` (a pandas
DataFrame under the key ``df_with_missing``: columns ``scorer / bodyparts / coords`` with
``x, y``; rows the image paths, either one string ``labeled-data/<video>/img001.png`` or, in
newer DeepLabCut, a three-level index ``(labeled-data, <video>, img001.png)``) and usually the
same table as ``CollectedData_<scorer>.csv``. DeepLabCut trains from the ``.h5``, so it is read
when both exist (it needs PyTables, a PoseDesk dependency; without it the ``.csv`` is read).

Folders DeepLabCut writes for checking labels (``<video>_labeled``) and hidden folders are not
label folders. Image paths are normalised to ``labeled-data/<folder>/<file name>`` (the folder the
label file is in), which also repairs Windows separators and projects that were moved.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from pose_core.data.labels import LabelSet, read_labels
from pose_core.errors import DataError

LABELED_DATA_DIRNAME = "labeled-data"
LABEL_FILE_PREFIX = "CollectedData_"
DLC_H5_KEY = "df_with_missing"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_MAX_LISTED = 5


@dataclass(frozen=True)
class LabelFolder:
    """One ``labeled-data/<video>/`` folder.

    Attributes:
        path: The folder.
        files: Scorer -> its label files in the folder (``.h5`` first, then ``.csv``).
        n_images: Number of image files in the folder.
    """

    path: Path
    files: dict[str, list[Path]]
    n_images: int

    @property
    def name(self) -> str:
        """``labeled-data/<video>`` (relative to the project, for messages)."""
        return f"{LABELED_DATA_DIRNAME}/{self.path.name}"

    @property
    def scorers(self) -> list[str]:
        """Scorers with a label file in the folder, sorted."""
        return sorted(self.files)


@dataclass(frozen=True)
class LabelFile:
    """The label file chosen for one folder.

    Attributes:
        folder: The ``labeled-data/<video>/`` folder.
        scorer: Whose labels they are (from the file name).
        path: The file read (``.h5`` when PyTables is installed and the file exists, else ``.csv``).
    """

    folder: Path
    scorer: str
    path: Path


def h5_supported() -> bool:
    """True if pandas can read ``.h5`` files here (PyTables is installed)."""
    return importlib.util.find_spec("tables") is not None


def _describe(folders: Sequence[LabelFolder]) -> str:
    """``labeled-data/a (alice), labeled-data/b (bob, carol)`` (at most a few, then a count)."""
    shown = ", ".join(f"{f.name} ({', '.join(f.scorers)})" for f in folders[:_MAX_LISTED])
    more = f" and {len(folders) - _MAX_LISTED} more" if len(folders) > _MAX_LISTED else ""
    return shown + more


# ----------------------------------------------------------------------------- finding the files


def scan_label_folders(root: Path) -> list[LabelFolder]:
    """The label folders of a DeepLabCut project and the label files in each.

    Args:
        root: The DeepLabCut project folder.

    Returns:
        The folders under ``labeled-data/`` (sorted by name), without DeepLabCut's
        ``*_labeled`` check folders and hidden folders.
    """
    base = Path(root) / LABELED_DATA_DIRNAME
    if not base.is_dir():
        return []
    folders = []
    for path in sorted(p for p in base.iterdir() if p.is_dir()):
        if path.name.startswith(".") or path.name.endswith("_labeled"):
            continue
        files: dict[str, list[Path]] = {}
        for suffix in (".h5", ".csv"):
            for file in sorted(path.glob(f"{LABEL_FILE_PREFIX}*{suffix}")):
                files.setdefault(file.stem[len(LABEL_FILE_PREFIX) :], []).append(file)
        n_images = sum(1 for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        folders.append(LabelFolder(path, files, n_images))
    return folders


def choose_label_files(
    root: Path,
    folders: Sequence[LabelFolder],
    config_scorer: str | None,
    scorers: Sequence[str] | None,
    *,
    skip_unlabeled: bool,
) -> tuple[list[LabelFile], list[str]]:
    """Pick one label file per folder.

    Args:
        root: The DeepLabCut project folder (for messages).
        folders: From :func:`scan_label_folders`.
        config_scorer: The ``scorer`` of the project's ``config.yaml``.
        scorers: Scorers to use, in order of preference: each folder takes the first of them it
            has and a folder with none of them is an error. None = lenient: the config's scorer
            where it labelled, else the folder's only scorer.
        skip_unlabeled: Skip folders with images but no label file instead of failing.

    Returns:
        The chosen files (in folder order) and notes about skipped folders.

    Raises:
        DataError: A folder is labelled by other scorers only (or, leniently, by several
            others), a folder has images but no labels, or no folder has labels at all.
    """
    chosen: list[LabelFile] = []
    unmatched: list[LabelFolder] = []
    unlabeled: list[LabelFolder] = []
    for folder in folders:
        if not folder.files:
            if folder.n_images:
                unlabeled.append(folder)
            continue
        wanted = _wanted_scorers(config_scorer, scorers)
        if not scorers and not any(s in folder.files for s in wanted) and len(folder.files) == 1:
            wanted = folder.scorers  # lenient: the folder's only scorer
        scorer = next((s for s in wanted if s in folder.files), None)
        if scorer is None:
            unmatched.append(folder)
            continue
        chosen.append(LabelFile(folder.path, scorer, _readable_file(folder.files[scorer])))
    if unmatched:
        raise _scorer_error(root, unmatched, config_scorer, scorers, [f.scorer for f in chosen])
    notes = _unlabeled_notes(root, unlabeled, skip_unlabeled)
    if not chosen:
        raise DataError(
            f"DeepLabCut project {root} has no labels (no {LABELED_DATA_DIRNAME}/*/{LABEL_FILE_PREFIX}<scorer>.h5 "
            "or .csv); label frames in DeepLabCut (extract_frames, label_frames) and save them before importing.",
            path=str(root),
        )
    return chosen, notes


def _wanted_scorers(config_scorer: str | None, scorers: Sequence[str] | None) -> list[str]:
    if scorers:
        return list(scorers)
    return [config_scorer] if config_scorer else []


def _readable_file(files: list[Path]) -> Path:
    """The ``.h5`` when it can be read here, else the ``.csv``; the ``.h5`` if there is no CSV (error later)."""
    h5 = next((f for f in files if f.suffix == ".h5"), None)
    csv = next((f for f in files if f.suffix == ".csv"), None)
    if h5 is not None and (h5_supported() or csv is None):
        return h5
    assert csv is not None
    return csv


def _scorer_error(
    root: Path,
    unmatched: list[LabelFolder],
    config_scorer: str | None,
    scorers: Sequence[str] | None,
    used: list[str],
) -> DataError:
    wanted = _wanted_scorers(config_scorer, scorers)
    others = sorted({s for f in unmatched for s in f.scorers} - set(wanted))
    suggestion = " ".join(f"--scorer {s}" for s in dict.fromkeys([*wanted, *used, *others]))
    what = ", ".join(wanted) if wanted else "the config.yaml scorer (config.yaml has none)"
    return DataError(
        f"DeepLabCut project {root}: labels by other scorers only in {_describe(unmatched)}, none by {what} "
        f"(config.yaml scorer: {config_scorer or 'none'}); import every folder with posedesk import-dlc "
        f"{suggestion} (the first listed wins in a folder labelled by several), or merge the labels in DeepLabCut "
        "so that one scorer labelled every folder.",
        path=str(unmatched[0].path),
    )


def _unlabeled_notes(root: Path, unlabeled: list[LabelFolder], skip_unlabeled: bool) -> list[str]:
    if not unlabeled:
        return []
    names = ", ".join(f"{f.name} ({f.n_images} images)" for f in unlabeled[:_MAX_LISTED])
    if len(unlabeled) > _MAX_LISTED:
        names += f" and {len(unlabeled) - _MAX_LISTED} more"
    if not skip_unlabeled:
        raise DataError(
            f"DeepLabCut project {root}: {names} have images but no {LABEL_FILE_PREFIX}<scorer>.h5 or .csv; label "
            "and save them in DeepLabCut (label_frames), or pass --skip-unlabeled to import the other folders.",
            path=str(unlabeled[0].path),
        )
    return [f"Skipped {names}: no {LABEL_FILE_PREFIX}<scorer>.h5 or .csv (not labelled yet)."]


# ----------------------------------------------------------------------------- reading one file


def read_label_file(path: Path) -> LabelSet:
    """Read a DeepLabCut label file (``.h5`` or ``.csv``); image paths as written in it.

    Raises:
        DataError: Unreadable, malformed or multi-animal file; ``.h5`` without PyTables.
    """
    path = Path(path)
    if path.suffix == ".h5":
        return read_h5_labels(path)
    return read_labels(path)


def read_h5_labels(path: Path) -> LabelSet:
    """Read ``CollectedData_<scorer>.h5`` (key ``df_with_missing``, or the file's only key).

    Raises:
        DataError: PyTables is missing, or the file is not a single-animal DeepLabCut label table.
    """
    csv_name = path.with_suffix(".csv").name
    try:
        try:
            frame = pd.read_hdf(path, key=DLC_H5_KEY)
        except KeyError:
            frame = pd.read_hdf(path)
    except ImportError as exc:
        raise DataError(
            f"Reading {path} needs the PyTables package, which is not installed; run pip install tables, or "
            f"save the labels as CSV in DeepLabCut (its labelling GUI writes {csv_name} next to the .h5).",
            path=str(path),
        ) from exc
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise DataError(
            f"{path} is not a readable DeepLabCut label file ({_first_line(exc)}); use DeepLabCut's {csv_name} "
            "instead (delete the .h5) or save the labels again in DeepLabCut.",
            path=str(path),
        ) from exc
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{path} holds a {type(frame).__name__}, not a label table; save it again in DeepLabCut.")
    return labels_from_frame(frame, path)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def labels_from_frame(frame: pd.DataFrame, path: Path) -> LabelSet:
    """Convert a DeepLabCut label DataFrame (columns scorer / bodyparts / coords) to a LabelSet.

    Raises:
        DataError: Multi-animal columns, columns other than x / y, or non-numeric values.
    """
    columns = frame.columns
    names = [str(n).lower() for n in columns.names]
    if "individuals" in names or columns.nlevels == 4:
        raise DataError(
            f"Label file {path} is a multi-animal file (it has an 'individuals' column level), which PoseDesk "
            "does not support; use a single-animal DeepLabCut project.",
            path=str(path),
        )
    if columns.nlevels != 3:
        raise DataError(
            f"Label file {path} has {columns.nlevels} column level(s), expected 3 (scorer, bodyparts, coords); "
            "is it a DeepLabCut CollectedData file? Save the labels again in DeepLabCut.",
            path=str(path),
        )
    positions: dict[tuple[str, str], int] = {}
    for position, column in enumerate(columns):
        bodypart, coord = str(column[1]), str(column[2])
        key = (bodypart, coord.lower())
        if key[1] not in ("x", "y"):
            raise DataError(
                f"Label file {path}: keypoint '{key[0]}' has coords '{coord}' but a label file has only x and y "
                "(is it a predictions file?); use the CollectedData file.",
                path=str(path),
            )
        positions[key] = position
    bodyparts = list(dict.fromkeys(str(b) for b in columns.get_level_values(1)))
    for bodypart in bodyparts:
        for coord in ("x", "y"):
            if (bodypart, coord) not in positions:
                raise DataError(f"Label file {path}: keypoint '{bodypart}' has no {coord} column.", path=str(path))
    order = [positions[(b, c)] for b in bodyparts for c in ("x", "y")]
    keypoints = _numeric(frame.iloc[:, order], path).reshape(len(frame), len(bodyparts), 2)
    scorer = str(columns.get_level_values(0)[0]) if len(columns) else "posedesk"
    return LabelSet(_index_paths(frame.index), bodyparts, keypoints, scorer=scorer)


def _numeric(values: pd.DataFrame, path: Path) -> np.ndarray:
    numbers = values.apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna().to_numpy() & values.notna().to_numpy()
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        where = f"row {row + 1}, keypoint '{values.columns[col][1]!s}' {values.columns[col][2]!s}"
        raise DataError(
            f"Label file {path}: {where} is {str(values.iat[row, col])!r}, which is not a number; fix it in "
            "DeepLabCut.",
            path=str(path),
        )
    return numbers.to_numpy(dtype=np.float64)


def _index_paths(index: pd.Index) -> list[str]:
    """Row labels as image paths: a three-level index is joined with '/'."""
    if isinstance(index, pd.MultiIndex):
        return ["/".join(str(p) for p in row if str(p) not in ("", "nan")) for row in index]
    return [str(value) for value in index]


# ----------------------------------------------------------------------------- merging


def folder_image_path(folder: Path, written: str) -> str:
    """``labeled-data/<folder>/<file name>``: where DeepLabCut keeps an image of ``folder``'s label file."""
    name = PurePosixPath(written.replace("\\", "/")).name
    return f"{LABELED_DATA_DIRNAME}/{folder.name}/{name}"


def align_keypoints(labels: LabelSet, bodyparts: Sequence[str], path: Path, config_path: Path) -> LabelSet:
    """Reorder a file's keypoints to the config's ``bodyparts``.

    Raises:
        DataError: The file has other keypoints than ``bodyparts`` (names the missing and extra ones).
    """
    bodyparts = list(bodyparts)
    if labels.keypoint_names == bodyparts:
        return labels
    missing = [b for b in bodyparts if b not in labels.keypoint_names]
    extra = [b for b in labels.keypoint_names if b not in bodyparts]
    if missing or extra:
        problem = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"not in bodyparts {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise DataError(
            f"Label file {path} has other keypoints than {config_path} bodyparts ({problem}); make them agree: "
            "edit bodyparts in config.yaml, then open the folder in DeepLabCut's label_frames and save it.",
            path=str(path),
        )
    order = [labels.keypoint_names.index(b) for b in bodyparts]
    return LabelSet(labels.image_paths, bodyparts, labels.keypoints_px[:, order], scorer=labels.scorer)


def merge_label_files(
    files: Sequence[LabelFile], bodyparts: Sequence[str] | None, config_path: Path
) -> tuple[LabelSet, list[LabelSet]]:
    """Read the chosen files, align their keypoints and merge them.

    Args:
        files: From :func:`choose_label_files`.
        bodyparts: The config's ``bodyparts``; None = the first file's keypoints.
        config_path: The project's ``config.yaml`` (for messages).

    Returns:
        The merged labels (image paths ``labeled-data/<folder>/<file name>``, relative to the
        project) and each file's labels with the same paths.

    Raises:
        DataError: A file is unreadable, has other keypoints, or lists an image twice.
    """
    parts: list[LabelSet] = []
    seen: dict[str, Path] = {}
    for file in files:
        labels = read_label_file(file.path)
        labels = align_keypoints(labels, bodyparts or labels.keypoint_names, file.path, config_path)
        if bodyparts is None:
            bodyparts = labels.keypoint_names
        paths = [folder_image_path(file.folder, p) for p in labels.image_paths]
        for image in paths:
            if image in seen:
                raise DataError(
                    f"Label file {file.path} lists {image} twice; delete the duplicate row in DeepLabCut "
                    "(label_frames, then save).",
                    path=str(file.path),
                )
            seen[image] = file.path
        parts.append(LabelSet(paths, labels.keypoint_names, labels.keypoints_px, scorer=file.scorer))
    assert bodyparts is not None
    merged = LabelSet(
        [p for part in parts for p in part.image_paths],
        list(bodyparts),
        np.concatenate([part.keypoints_px for part in parts], axis=0),
        scorer=parts[0].scorer,
    )
    return merged, parts


def check_label_images(root: Path, files: Sequence[LabelFile], parts: Sequence[LabelSet]) -> None:
    """Check that every image the label files list is in its folder.

    Raises:
        DataError: Names the first label file with missing images, the count and the first names.
    """
    for file, labels in zip(files, parts, strict=True):
        missing = [PurePosixPath(p).name for p in labels.image_paths if not (Path(root) / p).is_file()]
        if missing:
            shown = ", ".join(missing[:_MAX_LISTED]) + (" ..." if len(missing) > _MAX_LISTED else "")
            raise DataError(
                f"Label file {file.path} lists {len(missing)} image(s) that are not in {file.folder} ({shown}); "
                "restore them, or delete those frames in DeepLabCut (label_frames, then save).",
                path=str(file.path),
            )
