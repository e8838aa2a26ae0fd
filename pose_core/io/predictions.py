"""Prediction and error CSV files in the DeepLabCut / Lightning Pose layouts.

* Predictions (``predictions.csv``, ``video_preds/<stem>.csv``): three header rows
  (``scorer`` / ``bodyparts`` / ``coords`` with ``x, y, likelihood`` per keypoint), an index
  column (image path or frame number) and, for labelled frames, a right-most ``set`` column
  (``train`` / ``validation`` / ``test``) written as LP does, so
  ``pandas.read_csv(f, header=[0, 1, 2], index_col=0)`` reads it back.
* Errors (``predictions_pixel_error.csv``, ``<stem>_temporal_norm.csv``, PCA errors): one
  header row, one column per keypoint, optional ``set`` column.
* DeepLabCut-style video predictions (``<stem>DLC_posedesk.h5`` and ``.csv``, with
  ``pose-predict --dlc``): the DataFrame DeepLabCut's ``analyze_videos`` saves (columns
  scorer / bodyparts / coords, integer frame index, h5 key ``df_with_missing``).

Coordinates are in original frame pixels. Empty cells are NaN. Writes are atomic.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from pose_core.errors import DataError
from pose_core.io.atomic import atomic_write_path, atomic_write_text
from pose_core.io.csv_format import (
    COORDS,
    DEFAULT_SCORER,
    SET_COLUMN,
    error_header,
    error_row_format,
    format_rows,
    prediction_header,
    prediction_row_format,
)

# Extra per-keypoint columns of Ensemble Kalman Smoother outputs (``<stem>_eks.csv``): skipped when reading.
EKS_EXTRA_COORDS = frozenset(
    {"x_ens_median", "y_ens_median", "x_ens_var", "y_ens_var", "x_posterior_var", "y_posterior_var"}
)
_TAIL_BYTES = 262144  # the last row is searched for in this many bytes at the end
DLC_SCORER = "DLC_posedesk"  # scorer of DeepLabCut-style prediction files (DeepLabCut's start with DLC_)
DLC_H5_KEY = "df_with_missing"


@dataclass
class PredictionTable:
    """The content of a predictions CSV.

    Attributes:
        keypoint_names: Keypoint names in column order.
        preds: ``[N, K, 3]`` float array: x, y in frame pixels and likelihood; NaN = empty
            cell (likelihood is NaN for files that only have x, y columns).
        index: Row labels: image paths, or ints when every label is an integer (video
            frame numbers).
        split: ``set`` column values per row, or None when the file has no ``set`` column.
        scorer: Scorer name from the first header row.
    """

    keypoint_names: list[str]
    preds: np.ndarray
    index: list[str] | list[int]
    split: list[str] | None
    scorer: str = ""


class ErrorTable(NamedTuple):
    """The content of an error CSV; unpacks as ``names, errors, index, split``."""

    keypoint_names: list[str]
    errors: np.ndarray
    # Shadows tuple.index on purpose: the same name as PredictionTable.index.
    index: list[str] | list[int]  # type: ignore[assignment]
    split: list[str] | None


# ---------------------------------------------------------------------------------- writing


def _check_rows(n_rows: int, index: Sequence[str] | Sequence[int], split: Sequence[str] | None) -> None:
    if len(index) != n_rows:
        raise ValueError(f"index has {len(index)} entries for {n_rows} rows.")
    if split is not None and len(split) != n_rows:
        raise ValueError(f"split has {len(split)} entries for {n_rows} rows.")


def write_predictions_csv(
    path: Path,
    keypoint_names: Sequence[str],
    preds: np.ndarray,
    index: Sequence[str] | Sequence[int],
    split: Sequence[str] | None = None,
    scorer: str = DEFAULT_SCORER,
) -> None:
    """Write predictions in the DLC / LP layout (three header rows), atomically.

    Args:
        path: Destination CSV.
        keypoint_names: K keypoint names.
        preds: ``[N, K, 3]`` x, y (original frame pixels) and likelihood; NaN = empty cell.
        index: N row labels (image paths or frame numbers).
        split: N split names for a right-most ``set`` column, or None for no such column.
        scorer: Value of the ``scorer`` header row.

    Raises:
        ValueError: Shapes or lengths are inconsistent.
        DataError: The file cannot be written (permissions, disk full).
    """
    preds = np.asarray(preds, dtype=np.float64)
    n_keypoints = len(keypoint_names)
    if preds.ndim != 3 or preds.shape[1:] != (n_keypoints, 3):
        raise ValueError(f"preds must have shape [N, {n_keypoints}, 3], got {preds.shape}.")
    _check_rows(preds.shape[0], index, split)
    header = prediction_header(keypoint_names, scorer, with_set=split is not None)
    body = format_rows(preds.reshape(preds.shape[0], -1), prediction_row_format(n_keypoints), index, split)
    atomic_write_text(path, header + body)


def write_error_csv(
    path: Path,
    keypoint_names: Sequence[str],
    errors: np.ndarray,
    index: Sequence[str] | Sequence[int],
    split: Sequence[str] | None = None,
) -> None:
    """Write a per-keypoint error table (one header row), atomically.

    Args:
        path: Destination CSV.
        keypoint_names: K keypoint names (one column each).
        errors: ``[N, K]`` errors in pixels; NaN = empty cell.
        index: N row labels.
        split: N split names for a right-most ``set`` column, or None.

    Raises:
        ValueError: Shapes or lengths are inconsistent.
        DataError: The file cannot be written (permissions, disk full).
    """
    errors = np.asarray(errors, dtype=np.float64)
    n_keypoints = len(keypoint_names)
    if errors.ndim != 2 or errors.shape[1] != n_keypoints:
        raise ValueError(f"errors must have shape [N, {n_keypoints}], got {errors.shape}.")
    _check_rows(errors.shape[0], index, split)
    header = error_header(keypoint_names, with_set=split is not None)
    atomic_write_text(path, header + format_rows(errors, error_row_format(n_keypoints), index, split))


# ----------------------------------------------------------------------- DeepLabCut-style files


def dlc_prediction_paths(csv_path: Path, scorer: str = DLC_SCORER) -> tuple[Path, Path]:
    """``(<stem><scorer>.h5, <stem><scorer>.csv)`` next to a video's ``<stem>.csv``.

    DeepLabCut names a video's predictions ``<video stem><scorer>.h5`` with a scorer starting
    with ``DLC_`` and finds them by that prefix (``auxiliaryfunctions.find_analyzed_data``).
    """
    stem = Path(csv_path).stem
    return csv_path.with_name(f"{stem}{scorer}.h5"), csv_path.with_name(f"{stem}{scorer}.csv")


def dlc_prediction_frame(keypoint_names: Sequence[str], preds: np.ndarray, scorer: str = DLC_SCORER) -> pd.DataFrame:
    """Predictions as DeepLabCut's DataFrame: columns scorer / bodyparts / coords, integer frame index.

    Args:
        keypoint_names: K names (DeepLabCut's bodyparts).
        preds: ``[N, K, 3]`` x, y (frame pixels) and likelihood.
        scorer: The ``scorer`` column level.

    Returns:
        The DataFrame DeepLabCut's ``analyze_videos`` writes (and ``pandas.read_hdf`` returns).
    """
    preds = np.asarray(preds, dtype=np.float64)
    if preds.ndim != 3 or preds.shape[1:] != (len(keypoint_names), 3):
        raise ValueError(f"preds must have shape [N, {len(keypoint_names)}, 3], got {preds.shape}.")
    columns = pd.MultiIndex.from_product(
        [[scorer], list(keypoint_names), list(COORDS)], names=["scorer", "bodyparts", "coords"]
    )
    return pd.DataFrame(preds.reshape(len(preds), -1), columns=columns, index=pd.RangeIndex(len(preds)))


def write_dlc_predictions(
    h5_path: Path, csv_path: Path, keypoint_names: Sequence[str], preds: np.ndarray, scorer: str = DLC_SCORER
) -> None:
    """Write a video's predictions as DeepLabCut does: ``.h5`` (key ``df_with_missing``, table format) and ``.csv``.

    Each file is written atomically (temporary file, then rename). ``pandas.read_hdf(h5_path)``
    and ``pandas.read_csv(csv_path, header=[0, 1, 2], index_col=0)`` read them back, as
    DeepLabCut's own tools do. The CSV is the layout ``DataFrame.to_csv`` writes (three header
    rows, frame number first), with the precision of :func:`write_predictions_csv`, which writes
    it about three times faster than pandas.

    Raises:
        DataError: A file cannot be written, or PyTables is missing (the ``.h5`` needs it).
    """
    frame = dlc_prediction_frame(keypoint_names, preds, scorer)
    write_predictions_csv(Path(csv_path), keypoint_names, preds, range(len(frame)), scorer=scorer)
    try:
        with atomic_write_path(Path(h5_path)) as tmp:
            frame.to_hdf(tmp, key=DLC_H5_KEY, format="table", mode="w")
    except ImportError as exc:
        raise DataError(
            f"Writing {h5_path} needs the PyTables package, which is not installed; run pip install tables "
            f"({csv_path} was written).",
            path=str(h5_path),
        ) from exc


# ---------------------------------------------------------------------------------- reading


def _read_header_rows(path: Path, n_rows: int) -> list[list[str]]:
    """Return the first ``n_rows`` CSV rows of ``path`` (DataError if missing or too short)."""
    if not path.is_file():
        raise DataError(f"CSV file {path} does not exist: check the path.", path=str(path))
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = [row for _, row in zip(range(n_rows), csv.reader(f), strict=False)]
    if len(rows) < n_rows:
        raise DataError(
            f"CSV file {path} has {len(rows)} header row(s) but needs {n_rows}: the file is "
            "empty, truncated or not in the expected layout.",
            path=str(path),
        )
    return [[cell.strip() for cell in row] for row in rows]


def _check_last_row(path: Path, n_columns: int) -> None:
    """Raise a DataError if the last data row has fewer cells than the header (truncation)."""
    with open(path, "rb") as f:
        f.seek(0, io.SEEK_END)
        f.seek(max(0, f.tell() - _TAIL_BYTES))
        tail = f.read().decode("utf-8", errors="replace")
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return
    cells = next(csv.reader([lines[-1]]))
    if len(cells) != n_columns:
        raise DataError(
            f"CSV file {path} is truncated: its last row has {len(cells)} cells instead of "
            f"{n_columns}; predict again to rewrite it.",
            path=str(path),
        )


def _column_label(column: int, labels: Sequence[str]) -> str:
    return f"column {column + 1} ({labels[column]})" if labels[column] else f"column {column + 1}"


def _find_non_numeric(path: Path, n_header_rows: int, numeric: Sequence[int]) -> str:
    """Describe the first non-numeric cell among ``numeric`` columns (for error messages)."""
    text = pd.read_csv(
        path,
        skiprows=n_header_rows,
        header=None,
        index_col=False,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    for column in numeric:
        cells = text[column].str.strip()
        missing = cells.str.lower().isin(["", "nan", "na", "n/a", "null", "none"])
        bad = (pd.to_numeric(cells, errors="coerce").isna() & ~missing).to_numpy(dtype=bool)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            return f"line {row + n_header_rows + 1}, column {column + 1}: {cells.iloc[row]!r}"
    return "a cell that is not a number"


def _read_body(path: Path, n_header_rows: int, n_columns: int, text_columns: Sequence[int]) -> pd.DataFrame:
    """Read data rows: column 0 and ``text_columns`` as text, every other column as float."""
    _check_last_row(path, n_columns)
    numeric = [c for c in range(1, n_columns) if c not in text_columns]
    dtypes: dict[int, str] = {c: "float64" for c in numeric}
    dtypes.update({c: "str" for c in (0, *text_columns)})
    try:
        body = pd.read_csv(
            path,
            skiprows=n_header_rows,
            header=None,
            names=list(range(n_columns)),
            index_col=False,
            dtype=dtypes,
            encoding="utf-8-sig",
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        raise DataError(
            f"CSV file {path} is malformed ({exc}); every row needs {n_columns} cells.",
            path=str(path),
        ) from exc
    except ValueError as exc:
        where = _find_non_numeric(path, n_header_rows, numeric)
        raise DataError(
            f"CSV file {path} has a non-numeric value at {where}: fix or delete that cell.",
            path=str(path),
        ) from exc
    for column in (0, *text_columns):
        body[column] = body[column].fillna("")
    return body


def _parse_index(labels: pd.Series) -> list[str] | list[int]:
    """Row labels as ints when all are integers (frame numbers), else as strings."""
    text = labels.astype(str).str.strip()
    if len(text) and bool(text.str.fullmatch(r"-?\d+").all()):
        return [int(value) for value in text]
    return text.tolist()


def _check_expected_rows(path: Path, n_rows: int, expected_rows: int | None) -> None:
    if expected_rows is not None and n_rows != expected_rows:
        raise DataError(
            f"CSV file {path} has {n_rows} rows but {expected_rows} were expected: it is "
            "truncated or belongs to other data; predict again to rewrite it.",
            path=str(path),
        )


def _is_set_column(header: list[list[str]], column: int) -> bool:
    return header[0][column].lower() == SET_COLUMN and not any(row[column] for row in header[1:])


def _prediction_columns(
    path: Path, header: list[list[str]]
) -> tuple[list[str], dict[tuple[str, str], int], int | None]:
    """Map ``(keypoint, coord)`` to column numbers; find the ``set`` column."""
    if header[1] and header[1][0].lower() == "individuals":
        raise DataError(
            f"CSV file {path} is a multi-animal file (has an 'individuals' header row): only "
            "single-animal predictions are supported.",
            path=str(path),
        )
    if len({len(row) for row in header}) != 1:
        raise DataError(
            f"CSV file {path}: its three header rows (scorer, bodyparts, coords) have different "
            "numbers of cells; the header is damaged.",
            path=str(path),
        )
    names: list[str] = []
    columns: dict[tuple[str, str], int] = {}
    set_column: int | None = None
    for column in range(1, len(header[0])):
        bodypart, coord = header[1][column], header[2][column].lower()
        if _is_set_column(header, column):
            set_column = column
            continue
        if coord in EKS_EXTRA_COORDS and bodypart:
            continue
        if coord not in COORDS or not bodypart:
            raise DataError(
                f"CSV file {path}: {_column_label(column, header[2])} is not an x, y or "
                "likelihood column of a named keypoint; is this a predictions file?",
                path=str(path),
            )
        if (bodypart, coord) in columns:
            raise DataError(
                f"CSV file {path} has two '{bodypart}' '{coord}' columns: remove one.",
                path=str(path),
            )
        columns[(bodypart, coord)] = column
        if bodypart not in names:
            names.append(bodypart)
    return names, columns, set_column


def _check_xy_columns(path: Path, names: list[str], columns: dict[tuple[str, str], int]) -> None:
    for name in names:
        for coord in ("x", "y"):
            if (name, coord) not in columns:
                raise DataError(
                    f"CSV file {path}: keypoint '{name}' has no '{coord}' column; every keypoint needs x and y.",
                    path=str(path),
                )


def read_predictions_csv(path: Path, expected_rows: int | None = None) -> PredictionTable:
    """Read a predictions CSV written by PoseDesk, Lightning Pose or DeepLabCut.

    Args:
        path: CSV file with three header rows (scorer, bodyparts, coords).
        expected_rows: If given, the number of rows the file must have (e.g. the video's
            frame count); a different number raises a DataError.

    Returns:
        The :class:`PredictionTable`. Keypoints without likelihood columns get NaN
        likelihoods.

    Raises:
        DataError: The file is missing, truncated, has a damaged header, a non-numeric cell,
            a keypoint without x or y, or not ``expected_rows`` rows.
    """
    path = Path(path)
    header = _read_header_rows(path, 3)
    names, columns, set_column = _prediction_columns(path, header)
    if not names:
        raise DataError(f"CSV file {path} has no keypoint columns.", path=str(path))
    _check_xy_columns(path, names, columns)
    text_columns = [] if set_column is None else [set_column]
    body = _read_body(path, 3, len(header[0]), text_columns)
    _check_expected_rows(path, len(body), expected_rows)
    preds = np.full((len(body), len(names), 3), np.nan)
    for (name, coord), column in columns.items():
        preds[:, names.index(name), COORDS.index(coord)] = body[column].to_numpy()
    split = None if set_column is None else body[set_column].astype(str).str.strip().tolist()
    scorer = header[0][1] if len(header[0]) > 1 else ""
    return PredictionTable(names, preds, _parse_index(body[0]), split, scorer)


def read_error_csv(path: Path, expected_rows: int | None = None) -> ErrorTable:
    """Read a per-keypoint error CSV (one header row, optional ``set`` column).

    Args:
        path: CSV file.
        expected_rows: If given, the number of rows the file must have.

    Returns:
        ``ErrorTable(keypoint_names, errors [N, K], index, split)``.

    Raises:
        DataError: The file is missing, truncated, has a non-numeric or duplicate column,
            or not ``expected_rows`` rows.
    """
    path = Path(path)
    header = _read_header_rows(path, 1)[0]
    set_columns = [c for c in range(1, len(header)) if header[c].lower() == SET_COLUMN]
    names = [header[c] for c in range(1, len(header)) if c not in set_columns]
    if not names or len(set(names)) != len(names) or "" in names or len(set_columns) > 1:
        raise DataError(
            f"CSV file {path}: the header row must name each keypoint column once (and at most "
            f"one 'set' column); got {header[1:]}.",
            path=str(path),
        )
    body = _read_body(path, 1, len(header), set_columns)
    _check_expected_rows(path, len(body), expected_rows)
    key_columns = [c for c in range(1, len(header)) if c not in set_columns]
    errors = body[key_columns].to_numpy(dtype=np.float64)
    split = body[set_columns[0]].astype(str).str.strip().tolist() if set_columns else None
    return ErrorTable(names, errors, _parse_index(body[0]), split)
