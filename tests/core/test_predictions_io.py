"""Tests of pose_core.io.predictions (prediction / error CSVs) and pose_core.io.atomic."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pose_core.errors import DataError
from pose_core.io.atomic import atomic_write_path, atomic_write_text
from pose_core.io.predictions import (
    read_error_csv,
    read_predictions_csv,
    write_error_csv,
    write_predictions_csv,
)

NAMES = ["nose", "paw_l", "tail"]
LP_PREDICTIONS = """\
scorer,heatmap_tracker,heatmap_tracker,heatmap_tracker,heatmap_tracker,heatmap_tracker,heatmap_tracker,set
bodyparts,nose,nose,nose,paw,paw,paw,
coords,x,y,likelihood,x,y,likelihood,
labeled-data/img01.png,77.25,36.25,0.97,253.5,101.900392541708,0.5,train
labeled-data/img02.png,,,0.01,285.75,104.75,0.99,unused
labeled-data/img03.png,12.0,13.5,0.88,1.0,2.0,0.7,test
"""
LP_ERRORS = """\
,nose,paw,set
labeled-data/img01.png,1.5,,train
labeled-data/img02.png,0.25,3.0,validation
"""


def _preds(n_frames: int = 5) -> np.ndarray:
    rng = np.random.default_rng(0)
    preds = rng.uniform(0, 400, (n_frames, len(NAMES), 3))
    preds[..., 2] = rng.uniform(0, 1, (n_frames, len(NAMES)))
    preds[1 % n_frames, 0, :] = np.nan  # whole keypoint missing
    preds[3 % n_frames, 2, 1] = np.nan  # single cell missing
    return preds


def test_predictions_round_trip_with_nan_and_set_column(tmp_path: Path) -> None:
    path = tmp_path / "predictions.csv"
    preds = _preds()
    index = [f"labeled-data/s1/img{i:03d}.png" for i in range(5)]
    split = ["train", "train", "validation", "test", "train"]
    write_predictions_csv(path, NAMES, preds, index, split, scorer="me")

    table = read_predictions_csv(path)
    assert table.keypoint_names == NAMES
    assert table.index == index
    assert table.split == split
    assert table.scorer == "me"
    np.testing.assert_allclose(table.preds, preds, atol=1e-4, equal_nan=True)
    assert np.isnan(table.preds[1, 0]).all() and np.isnan(table.preds[3, 2, 1])


def test_video_predictions_have_int_index_and_no_set_column(tmp_path: Path) -> None:
    path = tmp_path / "video_preds" / "clip.csv"  # parent folder is created
    write_predictions_csv(path, NAMES, _preds(4), range(4))
    table = read_predictions_csv(path, expected_rows=4)
    assert table.index == [0, 1, 2, 3]
    assert table.split is None
    assert path.read_text().splitlines()[2] == "coords," + ",".join(["x,y,likelihood"] * 3)


def test_written_predictions_read_by_pandas_like_lightning_pose(tmp_path: Path) -> None:
    path = tmp_path / "predictions.csv"
    preds = _preds()
    write_predictions_csv(path, NAMES, preds, [f"img{i}.png" for i in range(5)], ["test"] * 5)
    df = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    assert df.shape == (5, 3 * len(NAMES) + 1)
    assert df.columns[-1][0] == "set"
    assert (df.iloc[:, -1] == "test").all()
    np.testing.assert_allclose(df.loc[:, ("posedesk", "tail", "likelihood")].to_numpy(), preds[:, 2, 2], atol=1e-5)
    assert df.index[1] == "img1.png"


def test_written_precision_is_4_decimals_for_xy_and_5_for_likelihood(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    preds = np.array([[[123.456789, 7.0, 0.987654321]]])
    write_predictions_csv(path, ["nose"], preds, ["a.png"])
    assert path.read_text().splitlines()[3] == "a.png,123.4568,7.0000,0.98765"


def test_reads_lightning_pose_layout(tmp_path: Path) -> None:
    path = tmp_path / "lp_predictions.csv"
    path.write_text(LP_PREDICTIONS)
    table = read_predictions_csv(path)
    assert table.keypoint_names == ["nose", "paw"]
    assert table.scorer == "heatmap_tracker"
    assert table.split == ["train", "unused", "test"]
    assert table.index[0] == "labeled-data/img01.png"
    np.testing.assert_allclose(table.preds[0, 1], [253.5, 101.900392541708, 0.5])
    assert np.isnan(table.preds[1, 0, :2]).all() and table.preds[1, 0, 2] == pytest.approx(0.01)


def test_file_with_only_xy_gets_nan_likelihood(tmp_path: Path) -> None:
    path = tmp_path / "xy.csv"
    path.write_text(
        "scorer,rick,rick,rick,rick\nbodyparts,nose,nose,paw,paw\ncoords,x,y,x,y\nimg1.png,1,2,3,4\nimg2.png,5,6,,\n"
    )
    table = read_predictions_csv(path)
    np.testing.assert_array_equal(table.preds[0, :, :2], [[1, 2], [3, 4]])
    assert np.isnan(table.preds[..., 2]).all()
    assert np.isnan(table.preds[1, 1, :2]).all()


def test_index_with_comma_is_quoted_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    index = ['dir,with,commas/a "b".png', "plain.png"]
    write_predictions_csv(path, NAMES, _preds(2), index, ["train", "test"])
    assert read_predictions_csv(path).index == index


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    write_predictions_csv(path, NAMES, _preds(5), range(5))
    text = path.read_text()
    path.write_text(text[: len(text) - 25])  # cut inside the last row
    with pytest.raises(DataError, match="truncated") as info:
        read_predictions_csv(path)
    assert info.value.path == str(path)


def test_fewer_rows_than_expected_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    write_predictions_csv(path, NAMES, _preds(5), range(5))
    with pytest.raises(DataError, match="5 rows but 6 were expected"):
        read_predictions_csv(path, expected_rows=6)


def test_non_numeric_cell_is_located(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(LP_PREDICTIONS.replace("285.75", "oops"))
    with pytest.raises(DataError, match=r"line 5, column 5: 'oops'"):
        read_predictions_csv(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "0 header row"),
        ("scorer,a,a\nbodyparts,nose,nose\n", "2 header row"),
        ("scorer,a,a\nbodyparts,nose,nose\ncoords,x,likelihood\nimg,1,2\n", "no 'y' column"),
        ("scorer,a,a\nbodyparts,nose,nose\ncoords,x,z\nimg,1,2\n", "column 3 \\(z\\)"),
        ("scorer,a\nindividuals,m1\nbodyparts,nose\ncoords,x\n", "multi-animal"),
    ],
    ids=["empty", "short-header", "missing-y", "bad-coord", "multi-animal"],
)
def test_malformed_prediction_files_raise_data_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_predictions_csv(path)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_predictions_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="does not exist"):
        read_error_csv(tmp_path / "nope.csv")


def test_error_csv_round_trip_keeps_nan_empty(tmp_path: Path) -> None:
    path = tmp_path / "predictions_pixel_error.csv"
    errors = np.array([[1.25, np.nan, 3.0], [np.nan, np.nan, np.nan], [0.5, 2.0, 0.0]])
    index = ["a.png", "b.png", "c.png"]
    write_error_csv(path, NAMES, errors, index, ["train", "validation", "test"])
    lines = path.read_text().splitlines()
    assert lines[0] == ",nose,paw_l,tail,set"
    assert lines[2] == "b.png,,,,validation"

    names, read_errors, read_index, split = read_error_csv(path)
    assert names == NAMES and read_index == index
    assert split == ["train", "validation", "test"]
    np.testing.assert_allclose(read_errors, errors, equal_nan=True)


def test_error_csv_without_set_and_lightning_pose_layout(tmp_path: Path) -> None:
    path = tmp_path / "clip_temporal_norm.csv"
    write_error_csv(path, NAMES, np.ones((3, 3)), range(3))
    table = read_error_csv(path, expected_rows=3)
    assert table.split is None and table.index == [0, 1, 2]

    lp_path = tmp_path / "lp_error.csv"
    lp_path.write_text(LP_ERRORS)
    names, errors, index, split = read_error_csv(lp_path)
    assert names == ["nose", "paw"] and split == ["train", "validation"]
    assert np.isnan(errors[0, 1]) and errors[1, 1] == 3.0


def test_error_csv_with_duplicate_columns_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(",nose,nose\na.png,1,2\n")
    with pytest.raises(DataError, match="name each keypoint column once"):
        read_error_csv(path)


def test_writers_reject_inconsistent_shapes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shape"):
        write_predictions_csv(tmp_path / "p.csv", NAMES, np.zeros((2, 2, 3)), range(2))
    with pytest.raises(ValueError, match="index"):
        write_predictions_csv(tmp_path / "p.csv", NAMES, np.zeros((2, 3, 3)), range(3))
    with pytest.raises(ValueError, match="split"):
        write_error_csv(tmp_path / "e.csv", NAMES, np.zeros((2, 3)), range(2), ["train"])
    assert not list(tmp_path.iterdir())


def test_a_long_video_round_trips(tmp_path: Path) -> None:
    """10,000 frames x 17 keypoints write and read back (the time is benchmarks/predictions_csv_write.py's)."""
    n_frames, names = 10_000, [f"kp{i}" for i in range(17)]
    preds = np.random.default_rng(1).uniform(0, 500, (n_frames, 17, 3))
    write_predictions_csv(tmp_path / "long.csv", names, preds, range(n_frames))
    table = read_predictions_csv(tmp_path / "long.csv")
    assert table.preds.shape == (n_frames, 17, 3) and table.index[-1] == n_frames - 1
    assert np.allclose(table.preds, preds, atol=1e-4)


def test_streamed_and_whole_table_csvs_are_the_same_bytes(tmp_path: Path) -> None:
    """The video writer (batch by batch) and the table writer share one set of CSV helpers."""
    import io

    from pose_core.inference.pipeline import StreamingPredictionWriter
    from pose_core.metrics import temporal_norm

    preds = _preds(7)
    preds[2, 1] = np.nan
    csv_text, norm_text = io.StringIO(), io.StringIO()
    writer = StreamingPredictionWriter(csv_text, norm_text, NAMES)
    writer.write_batch(0, preds[:3])
    writer.write_batch(3, preds[3:])
    write_predictions_csv(tmp_path / "p.csv", NAMES, preds, range(7))
    write_error_csv(tmp_path / "n.csv", NAMES, temporal_norm(preds[..., :2]), range(7))
    assert csv_text.getvalue() == (tmp_path / "p.csv").read_text()
    assert norm_text.getvalue() == (tmp_path / "n.csv").read_text()


def test_keypoints_of_a_batch_map_to_each_frames_size() -> None:
    from pose_core.data.preprocess import scale_keypoints

    xy = np.array([[[10.0, 20.0]], [[10.0, 20.0]]])
    frames_hw = np.array([[128.0, 256.0], [64.0, 64.0]])
    batch = scale_keypoints(xy, (64, 128), frames_hw)
    for i in range(2):
        assert np.array_equal(batch[i], scale_keypoints(xy[i], (64, 128), tuple(frames_hw[i])))


# ------------------------------------------------------------------------ atomic writes


def test_atomic_write_replaces_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.yaml"
    atomic_write_text(path, "a: 1\n")
    atomic_write_text(path, "a: 2\n")
    assert path.read_text() == "a: 2\n"
    assert [p.name for p in path.parent.iterdir()] == ["config.yaml"]


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4"
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]


@pytest.mark.parametrize(
    ("code", "message"),
    [(errno.ENOSPC, "disk full"), (errno.EROFS, "is not writable"), (errno.EACCES, "not writable")],
)
def test_atomic_write_turns_os_errors_into_data_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, message: str
) -> None:
    def failing_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "replace", failing_replace)
    path = tmp_path / "out.csv"
    with pytest.raises(DataError, match=message) as info:
        atomic_write_text(path, "x")
    assert info.value.path == str(path)
    assert not list(tmp_path.iterdir())


def test_atomic_write_below_a_file_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "run").write_text("I am a file, not a folder")
    with pytest.raises(DataError, match="Could not write .*run/out.csv"):
        atomic_write_text(tmp_path / "run" / "out.csv", "x")
