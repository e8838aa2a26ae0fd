"""Labelled keypoints: ``CollectedData.csv`` (DLC / Lightning Pose layout) <-> :class:`LabelSet`.

Also holds the checks run before training (keypoint names vs config, images present) and the
train / validation / test split of the labelled frames.

File layout (three header rows, then one row per image; empty cell = not labelled)::

    scorer,    anyname, anyname, ...
    bodyparts, nose,    nose,    ...
    coords,    x,       y,       ...
    labeled-data/session1/img00012.png, 77.25, 36.25, ...

Newer DeepLabCut writes the image path as three index columns (``labeled-data``,
``session1``, ``img00012.png``); both forms are read, the parts joined with ``/``.

The file is read without letting pandas interpret the header (``header=None``, all cells as
text) and parsed here: this never folds an all-empty first data row into the header (the
pandas ``header=[0, 1, 2]`` pitfall) and lets every malformed file get a precise message.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pose_core.errors import ConfigError, DataError
from pose_core.io.atomic import atomic_write_text

_HEADER_LABELS = ("scorer", "bodyparts", "coords")
_NAN_STRINGS = frozenset({"", "nan", "NaN", "NAN"})
_MAX_LISTED = 5
_MIN_TEST_FRAMES = 5
_FLOOR_EPS = 1e-9  # floor(0.29 * 100) must be 29, not 28 (float fuzz)


@dataclass(eq=False)  # numpy arrays have no single truth value: compare fields explicitly
class LabelSet:
    """Keypoint labels of a set of images.

    Attributes:
        image_paths: Image paths relative to ``data_dir``, exactly as written in the CSV.
        keypoint_names: Keypoint (body part) names in CSV column order.
        keypoints_px: float64 ``[N, K, 2]`` (x, y) in original image pixels; NaN = unlabelled.
        scorer: Name written in the ``scorer`` header row.
    """

    image_paths: list[str]
    keypoint_names: list[str]
    keypoints_px: np.ndarray
    scorer: str = "posedesk"

    def __post_init__(self) -> None:
        """Coerce the keypoints to float64 and check that all shapes agree."""
        self.keypoints_px = np.asarray(self.keypoints_px, dtype=np.float64)
        expected = (len(self.image_paths), len(self.keypoint_names), 2)
        if self.keypoints_px.shape != expected:
            raise ValueError(
                f"keypoints_px has shape {self.keypoints_px.shape}, expected {expected} (images, keypoints, xy)"
            )

    @property
    def n_frames(self) -> int:
        """Number of labelled images (rows)."""
        return len(self.image_paths)

    @property
    def n_keypoints(self) -> int:
        """Number of keypoints per image."""
        return len(self.keypoint_names)


def image_file(data_dir: Path, image_path: str) -> Path:
    """Absolute location of a CSV image path; Windows separators are accepted.

    Args:
        data_dir: Folder the CSV paths are relative to (``data.data_dir``).
        image_path: Path as written in the CSV.

    Returns:
        ``data_dir / image_path`` with backslashes treated as folder separators; an absolute
        ``image_path`` is returned as it is.
    """
    return Path(data_dir) / Path(image_path.replace("\\", "/"))


# --------------------------------------------------------------------------------------
# Reading


def read_labels(csv_path: Path) -> LabelSet:
    """Read a DLC / Lightning Pose label CSV.

    Args:
        csv_path: Path to ``CollectedData.csv`` (or any file in that layout).

    Returns:
        The labels; coordinates as float64 in original image pixels, NaN where empty.

    Raises:
        DataError: The file is missing, empty or malformed; the message names the problem
            and how to fix it.
    """
    csv_path = Path(csv_path)
    cells = _read_cells(csv_path)
    _check_header_rows(cells, csv_path)
    n_index = _count_index_columns(cells, csv_path)
    keypoint_names = _parse_keypoint_columns(cells, n_index, csv_path)
    body = cells[3:]
    if not body:
        raise DataError(
            f"Label file {csv_path} has header rows but no data rows; label some frames "
            "(one row per image) before training.",
            path=str(csv_path),
        )
    image_paths = _parse_image_paths(body, n_index, csv_path)
    coords = _parse_coordinates(body, n_index, image_paths, keypoint_names, csv_path)
    scorer = cells[0][n_index].strip() or "posedesk"
    return LabelSet(image_paths, keypoint_names, coords, scorer=scorer)


def _read_cells(csv_path: Path) -> list[list[str]]:
    """Read every cell of the CSV as stripped text; every row must have the header's cell count.

    A row with cells missing and a row with extra (non-empty) cells are the same mistake (the
    cells no longer line up with their keypoints) and get the same message naming the line;
    empty trailing cells that spreadsheet programs add are dropped. Rows are padded to equal length.
    """
    if csv_path.is_dir():
        raise DataError(
            f"Label file {csv_path} is a folder, not a CSV file; set data.csv_file to the labels CSV inside it.",
            path=str(csv_path),
        )
    if not csv_path.is_file():
        raise DataError(
            f"Label file {csv_path} does not exist; check data.data_dir and data.csv_file.",
            path=str(csv_path),
        )
    text = _read_label_text(csv_path)
    raw_rows = list(csv.reader(io.StringIO(text)))
    numbered = [(n + 1, [c.strip() for c in row]) for n, row in enumerate(raw_rows)]
    numbered = [(n, row) for n, row in numbered if any(row)]  # spreadsheet programs append empty rows
    if not numbered:
        raise DataError(
            f"Label file {csv_path} is empty; it needs 3 header rows (scorer, bodyparts, "
            "coords) and one row per labelled image.",
            path=str(csv_path),
        )
    _refuse_other_separator(numbered[0][1], csv_path)
    width = len(_trim_trailing_empty(numbered[0][1]))
    for line, row in numbered:
        cells = _trim_trailing_empty(row)
        if len(cells) != width and (len(cells) > width or len(row) < width):
            what = "is missing" if len(cells) < width else "has extra"
            raise DataError(
                f"Label file {csv_path}: line {line} has {len(cells)} cells but the header has {width}: it {what} "
                f"{abs(width - len(cells))} cell(s), so its coordinates no longer line up with their keypoints; "
                "write one cell per column (leave a cell empty for an unlabelled keypoint).",
                path=str(csv_path),
            )
    return [(row + [""] * width)[:width] for _, row in numbered]


def _trim_trailing_empty(row: list[str]) -> list[str]:
    end = len(row)
    while end > 1 and not row[end - 1]:
        end -= 1
    return row[:end]


def _refuse_other_separator(first_row: list[str], csv_path: Path) -> None:
    """A CSV saved with ';' or tabs (spreadsheets in many locales) reads as one cell per line: say so."""
    if len(first_row) != 1:
        return
    for separator, name in ((";", "semicolon"), ("\t", "tab")):
        if separator in first_row[0]:
            raise DataError(
                f"Label file {csv_path} is {name}-separated; PoseDesk reads comma-separated labels: save it "
                "again as CSV with commas (in a spreadsheet: CSV UTF-8, comma-delimited).",
                path=str(csv_path),
            )


def _read_label_text(csv_path: Path) -> str:
    """The label file's text (UTF-8, byte-order mark dropped), with one message per failure."""
    try:
        data = csv_path.read_bytes()
    except OSError as exc:
        raise DataError(
            f"Cannot read the label file {csv_path} ({exc.strerror or exc}); check its permissions.",
            path=str(csv_path),
        ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"Label file {csv_path}: line {line} has the byte 0x{data[exc.start]:02x}, which is not UTF-8 text; "
            "save the file as UTF-8 (CSV UTF-8 in a spreadsheet).",
            path=str(csv_path),
        ) from None


def _check_header_rows(cells: list[list[str]], csv_path: Path) -> None:
    """Require the scorer / bodyparts / coords rows; reject multi-animal files clearly."""
    first_column = [row[0].lower() for row in cells[:4]]
    if len(first_column) > 1 and first_column[1] == "individuals":
        raise DataError(
            f"Label file {csv_path} is a multi-animal file (it has an 'individuals' header "
            "row), which PoseDesk does not support; export single-animal labels with the 3 "
            "header rows scorer, bodyparts, coords.",
            path=str(csv_path),
        )
    for row_idx, expected in enumerate(_HEADER_LABELS):
        found = first_column[row_idx] if row_idx < len(first_column) else "<missing>"
        if found != expected:
            raise DataError(
                f"Label file {csv_path} has '{found}' as the first cell of header row "
                f"{row_idx + 1}, expected '{expected}'; the file must start with the 3 header "
                "rows scorer, bodyparts, coords (DeepLabCut / Lightning Pose layout).",
                path=str(csv_path),
            )


def _count_index_columns(cells: list[list[str]], csv_path: Path) -> int:
    """Number of leading image-path columns: 1 (LP) or 3 (newer DLC); others allowed too."""
    coords_row = cells[2]
    for col_idx in range(1, len(coords_row)):
        if coords_row[col_idx]:
            return col_idx
    raise DataError(
        f"Label file {csv_path} has no keypoint columns (the coords row has no x/y cells); "
        "add one x and one y column per keypoint.",
        path=str(csv_path),
    )


def _parse_keypoint_columns(cells: list[list[str]], n_index: int, csv_path: Path) -> list[str]:
    """Keypoint names from the bodyparts/coords rows; requires adjacent x, y pairs."""
    bodyparts = cells[1][n_index:]
    coords = [c.lower() for c in cells[2][n_index:]]
    for col, (name, coord) in enumerate(zip(bodyparts, coords, strict=True)):
        _check_column_header(name, coord, csv_path, col + n_index + 1)
    names: list[str] = []
    for col in range(0, len(coords), 2):
        name = bodyparts[col]
        if name in names:
            raise DataError(
                f"Label file {csv_path}: keypoint name '{name}' appears more than once in the "
                "bodyparts row; give every keypoint a unique name.",
                path=str(csv_path),
            )
        has_y = col + 1 < len(coords) and bodyparts[col + 1] == name and coords[col + 1] == "y"
        if coords[col] != "x" or not has_y:
            only = "an x" if coords[col] == "x" else "a y"
            raise DataError(
                f"Label file {csv_path}: keypoint '{name}' has only {only} column; every keypoint "
                "needs an x column immediately followed by a y column (coords row x, y, x, y, ...).",
                path=str(csv_path),
            )
        names.append(name)
    return names


def _check_column_header(name: str, coord: str, csv_path: Path, column_number: int) -> None:
    """Reject unnamed keypoint columns and coords other than x / y."""
    if not name:
        raise DataError(
            f"Label file {csv_path}: column {column_number} has no keypoint name in the "
            "bodyparts row; name every keypoint column.",
            path=str(csv_path),
        )
    if coord not in ("x", "y"):
        raise DataError(
            f"Label file {csv_path}: column {column_number} ('{name}') has coords '{coord}' "
            "but a label file has only x and y columns (is this a predictions file with "
            "likelihood columns?); use the labels CSV.",
            path=str(csv_path),
        )


def _parse_image_paths(body: list[list[str]], n_index: int, csv_path: Path) -> list[str]:
    """Join the index columns of each data row with '/' into one relative image path."""
    paths = ["/".join(part for part in row[:n_index] if part) for row in body]
    for row_idx, path in enumerate(paths):
        if not path:
            raise DataError(
                f"Label file {csv_path}: data row {row_idx + 1} (file line {row_idx + 4}) has "
                "no image path in its first column; write the image path relative to "
                "data.data_dir there.",
                path=str(csv_path),
            )
    return paths


def _parse_coordinates(
    body: list[list[str]],
    n_index: int,
    image_paths: list[str],
    keypoint_names: list[str],
    csv_path: Path,
) -> np.ndarray:
    """Convert the coordinate cells to float64 ``[N, K, 2]``; empty cells become NaN."""
    n_columns = 2 * len(keypoint_names)
    text = np.array([row[n_index : n_index + n_columns] for row in body], dtype=object)
    values = pd.DataFrame(text).apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    is_nan_text = np.isin(text, list(_NAN_STRINGS))
    bad = (np.isnan(values) & ~is_nan_text) | np.isinf(values)
    if bad.any():
        row_idx, col_idx = (int(v) for v in np.argwhere(bad)[0])
        keypoint = keypoint_names[col_idx // 2]
        raise DataError(
            f"Label file {csv_path}: image '{image_paths[row_idx]}', keypoint '{keypoint}' "
            f"{'xy'[col_idx % 2]} is '{text[row_idx, col_idx]}', which is not a number; write "
            "a pixel coordinate or leave the cell empty for an unlabelled keypoint.",
            path=str(csv_path),
        )
    return values.reshape(len(body), len(keypoint_names), 2)


# --------------------------------------------------------------------------------------
# Writing


def write_labels(labels: LabelSet, csv_path: Path) -> None:
    """Write labels in the Lightning Pose layout (one image-path column), atomically.

    The file is written to a temporary file next to ``csv_path`` and renamed over it, so a
    crash never leaves a half-written label file. Coordinates are written with full
    precision (they read back identical); NaN is written as an empty cell.

    Args:
        labels: Labels to write.
        csv_path: Destination; parent folders are created.

    Raises:
        DataError: The folder is not writable or the disk is full.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    n_keypoints = labels.n_keypoints
    writer.writerow(["scorer", *[labels.scorer] * (2 * n_keypoints)])
    writer.writerow(["bodyparts", *[name for name in labels.keypoint_names for _ in "xy"]])
    writer.writerow(["coords", *["x", "y"] * n_keypoints])
    flat = labels.keypoints_px.reshape(labels.n_frames, 2 * n_keypoints)
    for image_path, row in zip(labels.image_paths, flat, strict=True):
        writer.writerow([image_path, *[_format_coordinate(v) for v in row]])
    atomic_write_text(Path(csv_path), buffer.getvalue())


def _format_coordinate(value: float) -> str:
    """Shortest text that reads back to the same float; empty for NaN."""
    return "" if math.isnan(value) else repr(float(value))


# --------------------------------------------------------------------------------------
# Checks against the config and the image folder


def check_keypoint_names(
    labels: LabelSet,
    keypoint_names: list[str] | None,
    csv_path: Path,
    num_keypoints: int | None = None,
) -> None:
    """Check the CSV keypoints against ``data.num_keypoints`` and ``data.keypoint_names``.

    Args:
        labels: Labels read from ``csv_path``.
        keypoint_names: ``data.keypoint_names`` from the config; None = accept the CSV's.
        csv_path: The label file (named in the error message).
        num_keypoints: ``data.num_keypoints`` from the config; None = accept the CSV's count.

    Raises:
        DataError: The count differs, or the names differ (the message lists the missing and
            extra names, or says that only the order differs).
    """
    if num_keypoints is not None and num_keypoints != labels.n_keypoints:
        raise DataError(
            f"Label file {csv_path} has {labels.n_keypoints} keypoints but "
            f"data.num_keypoints is {num_keypoints}; set data.num_keypoints to "
            f"{labels.n_keypoints} (and data.keypoint_names to the CSV's names).",
            path=str(csv_path),
        )
    if keypoint_names is None or list(keypoint_names) == labels.keypoint_names:
        return
    missing = [n for n in keypoint_names if n not in labels.keypoint_names]
    extra = [n for n in labels.keypoint_names if n not in keypoint_names]
    if missing or extra:
        problem = (
            f"data.keypoint_names has {_name_list(missing)} missing from the CSV and the CSV "
            f"has {_name_list(extra)} not in data.keypoint_names"
        )
    else:
        problem = "data.keypoint_names lists the same names in a different order"
    raise DataError(
        f"Label file {csv_path} does not match the config: {problem}; set data.keypoint_names "
        f"to the CSV's names in the CSV's order ({', '.join(labels.keypoint_names)}).",
        path=str(csv_path),
    )


def _name_list(names: list[str]) -> str:
    """Quoted, comma-separated names, or 'none'."""
    return "[" + ", ".join(f"'{n}'" for n in names) + "]" if names else "none"


def check_images(labels: LabelSet, data_dir: Path) -> None:
    """Check that every image listed in the labels exists under ``data_dir``.

    Args:
        labels: Labels whose ``image_paths`` are relative to ``data_dir``.
        data_dir: ``data.data_dir``.

    Raises:
        DataError: Some images are missing; the message names the first few and the count.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        what = "is a file, not a folder" if data_dir.exists() else "does not exist"
        raise DataError(
            f"Data directory {data_dir} {what}; set data.data_dir to the folder that "
            "holds the labels CSV and the labeled-data images.",
            path=str(data_dir),
        )
    folders = [p for p in labels.image_paths if image_file(data_dir, p).is_dir()]
    if folders:
        raise DataError(
            f"{len(folders)} labelled image path(s) under {data_dir} are folders, not image files "
            f"({', '.join(folders[:_MAX_LISTED])}); write the image file's path in the labels CSV.",
            path=str(data_dir),
        )
    missing = [p for p in labels.image_paths if not image_file(data_dir, p).is_file()]
    if not missing:
        return
    shown = ", ".join(missing[:_MAX_LISTED])
    more = f" and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
    raise DataError(
        f"{len(missing)} of {labels.n_frames} labelled images are missing under {data_dir} "
        f"({shown}{more}); check data.data_dir or restore the images listed in the labels CSV.",
        path=str(data_dir),
    )


# --------------------------------------------------------------------------------------
# Splits


def split_indices(
    n_frames: int,
    train_prob: float,
    val_prob: float,
    seed: int,
    train_frames: float | int = 1,
) -> dict[str, np.ndarray]:
    """Split labelled frames into train / validation / test (Lightning Pose rules).

    ``n_train = floor(train_prob * N)``, ``n_val = floor(val_prob * N)``, the rest is test; a
    test set smaller than 5 frames joins train; if ``n_val`` is 0 one frame moves from train to
    validation. Frames are assigned from ``numpy.random.default_rng(seed).permutation(N)``, so
    the same seed always gives the same split. ``train_frames`` then keeps part of the train
    split (at most 1: that fraction; above 1: that many frames, at most all); the frames it
    drops are in no split.

    Args:
        n_frames: Number of labelled frames N.
        train_prob: ``training.train_prob``.
        val_prob: ``training.val_prob``.
        seed: ``training.rng_seed_data_pt``.
        train_frames: ``training.train_frames``.

    Returns:
        ``{"train", "validation", "test"}`` -> sorted int64 row indices (disjoint).

    Raises:
        ConfigError: Fractions out of range or summing above 1, or too few frames to have at
            least one training and one validation frame.
    """
    _check_split_config(n_frames, train_prob, val_prob, train_frames)
    n_train, n_val, n_test = _split_sizes(n_frames, train_prob, val_prob)
    order = np.random.default_rng(seed).permutation(n_frames).astype(np.int64)
    train = order[:n_train]
    n_keep = _n_train_frames_kept(n_train, train_frames)
    return {
        "train": np.sort(train[:n_keep]),
        "validation": np.sort(order[n_train : n_train + n_val]),
        "test": np.sort(order[n_train + n_val : n_train + n_val + n_test]),
    }


def _check_split_config(n_frames: int, train_prob: float, val_prob: float, train_frames: float | int) -> None:
    """Raise ConfigError for split settings that cannot work."""
    if not 0.0 < train_prob <= 1.0:
        raise ConfigError(
            f"training.train_prob is {train_prob}; set it to a fraction in (0, 1], e.g. 0.8.",
            key="training.train_prob",
        )
    if not 0.0 <= val_prob < 1.0:
        raise ConfigError(
            f"training.val_prob is {val_prob}; set it to a fraction in [0, 1), e.g. 0.1.",
            key="training.val_prob",
        )
    if train_prob + val_prob > 1.0 + _FLOOR_EPS:
        raise ConfigError(
            f"training.train_prob ({train_prob}) + training.val_prob ({val_prob}) is above 1; "
            "lower one of them so that they sum to at most 1 (the rest is the test set).",
            key="training.train_prob",
        )
    if train_frames <= 0:
        raise ConfigError(
            f"training.train_frames is {train_frames}; use a fraction in (0, 1] of the "
            "training split or a frame count above 1.",
            key="training.train_frames",
        )
    if n_frames < 2:
        raise ConfigError(
            f"Only {n_frames} labelled frame(s): at least 2 are needed (one for "
            "training.train_prob, one for training.val_prob); label more frames.",
            key="training.train_prob",
        )


def _split_sizes(n_frames: int, train_prob: float, val_prob: float) -> tuple[int, int, int]:
    """Train / validation / test sizes following the Lightning Pose rules."""
    n_train = math.floor(train_prob * n_frames + _FLOOR_EPS)
    n_val = math.floor(val_prob * n_frames + _FLOOR_EPS)
    n_test = n_frames - n_train - n_val
    if n_test < _MIN_TEST_FRAMES:
        n_train, n_test = n_train + n_test, 0
    if n_val == 0:
        n_train, n_val = n_train - 1, 1
    if n_train < 1:
        raise ConfigError(
            f"With {n_frames} labelled frames, training.train_prob={train_prob} and "
            f"training.val_prob={val_prob} leave no training frame; raise "
            "training.train_prob or label more frames.",
            key="training.train_prob",
        )
    return n_train, n_val, n_test


def _n_train_frames_kept(n_train: int, train_frames: float | int) -> int:
    """How many training frames ``training.train_frames`` keeps (at least 1)."""
    if train_frames <= 1:
        return max(1, math.floor(train_frames * n_train + _FLOOR_EPS))
    return min(n_train, int(train_frames))
