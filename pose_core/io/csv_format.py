"""The text of PoseDesk's CSV files: header rows, number formats and rows, shared by every writer.

Predictions CSVs (DLC / Lightning Pose layout: ``scorer``, ``bodyparts``, ``coords`` header rows,
then ``label, x, y, likelihood, ...``, optionally a right-most ``set`` column) and error CSVs (one
header row: a column per keypoint) are written by :mod:`pose_core.io.predictions` (whole tables)
and streamed by :mod:`pose_core.inference.pipeline` (a video batch by batch) with these helpers,
so both write the same bytes. NaN becomes an empty cell. No pandas here (the streaming writer is
on the prediction hot path).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COORDS = ("x", "y", "likelihood")
SET_COLUMN = "set"
DEFAULT_SCORER = "posedesk"
XY_FORMAT = "%.4f"
"""Pixels (coordinates, errors): 1/10000 px."""
LIKELIHOOD_FORMAT = "%.5f"


def csv_cell(text: str) -> str:
    """Quote a text cell the way the csv module does, only when needed."""
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(cells: Sequence[str]) -> str:
    """One CSV line (with its newline) of text cells."""
    return ",".join(csv_cell(cell) for cell in cells) + "\n"


def prediction_header(keypoint_names: Sequence[str], scorer: str = DEFAULT_SCORER, with_set: bool = False) -> str:
    """The three header rows (scorer, bodyparts, coords) of a predictions CSV, ``set`` column optional."""
    n_keypoints = len(keypoint_names)
    extra, blank = ([SET_COLUMN], [""]) if with_set else ([], [])
    return (
        csv_line(["scorer"] + [scorer] * (3 * n_keypoints) + extra)
        + csv_line(["bodyparts"] + [name for name in keypoint_names for _ in COORDS] + blank)
        + csv_line(["coords"] + list(COORDS) * n_keypoints + blank)
    )


def error_header(keypoint_names: Sequence[str], with_set: bool = False) -> str:
    """The one header row of an error CSV: an empty cell, the keypoint names, ``set`` optional."""
    return csv_line([""] + list(keypoint_names) + ([SET_COLUMN] if with_set else []))


def prediction_row_format(n_keypoints: int) -> str:
    """``%`` format of the values of one predictions row (x, y, likelihood per keypoint)."""
    return ",".join([f"{XY_FORMAT},{XY_FORMAT},{LIKELIHOOD_FORMAT}"] * n_keypoints)


def error_row_format(n_keypoints: int) -> str:
    """``%`` format of the values of one error row (pixels per keypoint)."""
    return ",".join([XY_FORMAT] * n_keypoints)


def format_rows(
    values: np.ndarray,
    row_format: str,
    index: Sequence[str] | Sequence[int],
    split: Sequence[str] | None = None,
) -> str:
    """Rows ``label, values..., [split]``; NaN becomes an empty cell.

    Args:
        values: ``[N, C]`` numbers, formatted with ``row_format``.
        row_format: From :func:`prediction_row_format` or :func:`error_row_format`.
        index: N row labels (image paths or frame numbers).
        split: N ``set`` values, or None for no such column.
    """
    index_cells = [csv_cell(str(label)) for label in index]
    tails = ["\n"] * len(index_cells) if split is None else ["," + csv_cell(str(name)) + "\n" for name in split]
    return "".join(
        f"{label},{(row_format % tuple(row)).replace('nan', '')}{tail}"
        for label, row, tail in zip(index_cells, values.tolist(), tails, strict=True)
    )
