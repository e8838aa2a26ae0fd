"""Label CSV reading/writing, checks against config and images, and train/val/test splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose_core.data.labels import (
    LabelSet,
    check_images,
    check_keypoint_names,
    read_labels,
    split_indices,
    write_labels,
)
from pose_core.errors import ConfigError, DataError

MIRROR_MOUSE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirror-mouse-example"

HEADER = "scorer,me,me,me,me\nbodyparts,nose,nose,paw_l,paw_l\ncoords,x,y,x,y\n"


def _write(tmp_path: Path, text: str, name: str = "CollectedData.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- reading


def test_reads_mirror_mouse_example() -> None:
    csv_path = MIRROR_MOUSE / "CollectedData.csv"
    if not csv_path.is_file():
        pytest.skip(f"mirror-mouse example data not found at {MIRROR_MOUSE}")
    labels = read_labels(csv_path)
    assert labels.n_frames == 90
    assert labels.n_keypoints == 17
    assert labels.keypoint_names[0] == "paw1LH_top"
    assert labels.keypoint_names[-1] == "obsLow_bot"
    assert labels.scorer == "rick"
    assert labels.image_paths[0] == "labeled-data/img01.png"
    assert labels.keypoints_px.dtype == np.float64
    np.testing.assert_allclose(labels.keypoints_px[0, 0], [77.25, 36.25])
    assert np.isnan(labels.keypoints_px[0, 4]).all()  # tailBase_top is empty in img01
    check_images(labels, MIRROR_MOUSE)


def test_reads_simple_file_with_empty_cells(tmp_path: Path) -> None:
    csv_path = _write(tmp_path, HEADER + "labeled-data/a.png,1.5,2.5,,\nlabeled-data/b.png,3,4,5.25,6\n")
    labels = read_labels(csv_path)
    assert labels.image_paths == ["labeled-data/a.png", "labeled-data/b.png"]
    assert labels.keypoint_names == ["nose", "paw_l"]
    np.testing.assert_array_equal(labels.keypoints_px[0, 0], [1.5, 2.5])
    assert np.isnan(labels.keypoints_px[0, 1]).all()
    np.testing.assert_array_equal(labels.keypoints_px[1], [[3, 4], [5.25, 6]])


def test_all_empty_first_data_row_is_kept_as_a_frame(tmp_path: Path) -> None:
    # pandas header=[0,1,2] folds such a row into the header; we must not lose the frame.
    csv_path = _write(tmp_path, HEADER + "labeled-data/a.png,,,,\nlabeled-data/b.png,3,4,5,6\n")
    labels = read_labels(csv_path)
    assert labels.n_frames == 2
    assert labels.image_paths[0] == "labeled-data/a.png"
    assert np.isnan(labels.keypoints_px[0]).all()
    np.testing.assert_array_equal(labels.keypoints_px[1], [[3, 4], [5, 6]])


def test_reads_dlc_three_index_columns_and_round_trips(tmp_path: Path) -> None:
    text = (
        "scorer,,,me,me\nbodyparts,,,nose,nose\ncoords,,,x,y\n"
        "labeled-data,session1,img00012.png,77.25,36.25\n"
        "labeled-data,session1,img00013.png,,\n"
    )
    labels = read_labels(_write(tmp_path, text))
    assert labels.image_paths == ["labeled-data/session1/img00012.png", "labeled-data/session1/img00013.png"]
    np.testing.assert_array_equal(labels.keypoints_px[0, 0], [77.25, 36.25])
    out_path = tmp_path / "out" / "CollectedData.csv"
    write_labels(labels, out_path)
    again = read_labels(out_path)
    assert again.image_paths == labels.image_paths
    np.testing.assert_array_equal(again.keypoints_px, labels.keypoints_px)


def test_write_then_read_round_trips_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 400, size=(4, 3, 2))
    keypoints[1, 2] = np.nan
    labels = LabelSet(
        image_paths=["labeled-data/s1/a.png", "labeled-data/s1/b.png", "x/c.png", "x/d.png"],
        keypoint_names=["nose", "ear_left", "ear_right"],
        keypoints_px=keypoints,
        scorer="alice",
    )
    csv_path = tmp_path / "CollectedData.csv"
    csv_path.write_text("old content that must be replaced\n")
    write_labels(labels, csv_path)
    again = read_labels(csv_path)
    assert again.image_paths == labels.image_paths
    assert again.keypoint_names == labels.keypoint_names
    assert again.scorer == "alice"
    np.testing.assert_array_equal(again.keypoints_px, labels.keypoints_px)  # bit-exact, NaN equal
    assert [p.name for p in tmp_path.iterdir()] == ["CollectedData.csv"]  # no temp file left
    assert csv_path.read_text().splitlines()[0].startswith("scorer,alice")


def test_labelset_rejects_inconsistent_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        LabelSet(["a.png"], ["nose", "tail"], np.zeros((1, 3, 2)))


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        (HEADER, "no data rows"),
        ("bodyparts,nose,nose\ncoords,x,y\nimg.png,1,2\n", "expected 'scorer'"),
        ("scorer,me,me\ncoords,x,y\nbodyparts,nose,nose\nimg.png,1,2\n", "expected 'bodyparts'"),
        ("scorer,me,me\nbodyparts,nose,nose\ncoords,x,likelihood\nimg.png,1,2\n", "only x and y"),
        (
            "scorer,me,me\nindividuals,m1,m1\nbodyparts,nose,nose\ncoords,x,y\nimg.png,1,2\n",
            "multi-animal",
        ),
        (
            HEADER + "labeled-data/a.png,1,2,3,4\nlabeled-data/b.png,1,abc,3,4\n",
            "'labeled-data/b.png', keypoint 'nose'",
        ),
        (
            "scorer,me,me,me,me\nbodyparts,nose,nose,nose,nose\ncoords,x,y,x,y\nimg.png,1,2,3,4\n",
            "'nose' appears more than once",
        ),
        ("scorer,me,me,me\nbodyparts,nose,tail,tail\ncoords,x,x,y\nimg.png,1,2,3\n", "'nose' has only an x column"),
        ("scorer,me,me,me\nbodyparts,nose,nose,tail\ncoords,x,y,y\nimg.png,1,2,3\n", "'tail' has only a y column"),
        (HEADER + ",1,2,3,4\n", "no image path"),
    ],
)
def test_malformed_files_raise_data_error_naming_the_file(tmp_path: Path, text: str, expected: str) -> None:
    csv_path = _write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_labels(csv_path)
    message = str(info.value)
    assert expected in message
    assert str(csv_path) in message
    assert info.value.path == str(csv_path)


def test_missing_file_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist.*data.csv_file"):
        read_labels(tmp_path / "nope.csv")


def test_unreadable_file_raises_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    csv_path = tmp_path / "CollectedData.csv"
    csv_path.write_text("scorer,me,me\nbodyparts,nose,nose\ncoords,x,y\nimg.png,1,2\n", encoding="utf-8")

    def denied(*_args: object, **_kwargs: object) -> None:  # chmod does not stop root, who runs CI
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(DataError, match=r"Cannot read the label file .*CollectedData.csv \(Permission denied\); check"):
        read_labels(csv_path)


def test_non_numeric_message_names_the_bad_value(tmp_path: Path) -> None:
    csv_path = _write(tmp_path, HEADER + "labeled-data/a.png,1,2,3,12.5px\n")
    with pytest.raises(DataError, match="keypoint 'paw_l' y is '12.5px'"):
        read_labels(csv_path)


# ----------------------------------------------------------------------------- checks


def _labels(names: list[str]) -> LabelSet:
    return LabelSet(["a.png", "b.png"], names, np.zeros((2, len(names), 2)))


def test_check_keypoint_names_accepts_matching_or_unset_config(tmp_path: Path) -> None:
    labels = _labels(["nose", "tail"])
    check_keypoint_names(labels, ["nose", "tail"], tmp_path / "c.csv", num_keypoints=2)
    check_keypoint_names(labels, None, tmp_path / "c.csv")


def test_check_keypoint_names_lists_missing_and_extra(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check_keypoint_names(_labels(["nose", "tail"]), ["nose", "ear"], tmp_path / "c.csv")
    message = str(info.value)
    assert "'ear'] missing from the CSV" in message
    assert "['tail'] not in data.keypoint_names" in message
    assert "c.csv" in message


def test_check_keypoint_names_says_order_must_match(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="different order.*CSV's order \\(nose, tail\\)"):
        check_keypoint_names(_labels(["nose", "tail"]), ["tail", "nose"], tmp_path / "c.csv")


def test_check_keypoint_names_count_mismatch(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="has 2 keypoints but data.num_keypoints is 3"):
        check_keypoint_names(_labels(["nose", "tail"]), None, tmp_path / "c.csv", num_keypoints=3)


def test_check_images_names_the_missing_ones(tmp_path: Path) -> None:
    (tmp_path / "labeled-data").mkdir()
    (tmp_path / "labeled-data" / "a.png").write_bytes(b"x")
    paths = ["labeled-data/a.png"] + [f"labeled-data/m{i}.png" for i in range(7)]
    labels = LabelSet(paths, ["nose"], np.zeros((8, 1, 2)))
    with pytest.raises(DataError) as info:
        check_images(labels, tmp_path)
    message = str(info.value)
    assert message.startswith("7 of 8 labelled images are missing")
    assert "labeled-data/m0.png" in message
    assert "and 2 more" in message
    check_images(LabelSet(paths[:1], ["nose"], np.zeros((1, 1, 2))), tmp_path)


def test_check_images_accepts_windows_separators(tmp_path: Path) -> None:
    (tmp_path / "labeled-data").mkdir()
    (tmp_path / "labeled-data" / "a.png").write_bytes(b"x")
    check_images(LabelSet(["labeled-data\\a.png"], ["nose"], np.zeros((1, 1, 2))), tmp_path)


def test_check_images_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data.data_dir"):
        check_images(_labels(["nose"]), tmp_path / "absent")


# ----------------------------------------------------------------------------- splits


def test_split_sizes_on_90_frames() -> None:
    splits = split_indices(90, 0.8, 0.1, seed=0)
    assert {name: len(rows) for name, rows in splits.items()} == {"train": 72, "validation": 9, "test": 9}
    everything = np.concatenate(list(splits.values()))
    assert sorted(everything.tolist()) == list(range(90))
    assert all(rows.dtype == np.int64 for rows in splits.values())


def test_split_is_deterministic_per_seed() -> None:
    first, again, other = (split_indices(90, 0.8, 0.1, seed=s) for s in (42, 42, 7))
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["validation"], other["validation"])


@pytest.mark.parametrize(
    ("n_frames", "train_prob", "val_prob", "sizes"),
    [
        (10, 0.8, 0.1, (9, 1, 0)),  # test of 1 < 5 joins train
        (20, 0.9, 0.0, (19, 1, 0)),  # no validation frame -> one moves from train
        (2, 0.5, 0.5, (1, 1, 0)),
        (100, 0.29, 0.1, (29, 10, 61)),  # floor(0.29 * 100) is 29 despite float fuzz
    ],
)
def test_split_size_rules(n_frames: int, train_prob: float, val_prob: float, sizes: tuple[int, int, int]) -> None:
    splits = split_indices(n_frames, train_prob, val_prob, seed=0)
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == sizes


def test_train_frames_fraction_and_count() -> None:
    full = split_indices(90, 0.8, 0.1, seed=3)
    half = split_indices(90, 0.8, 0.1, seed=3, train_frames=0.5)
    ten = split_indices(90, 0.8, 0.1, seed=3, train_frames=10)
    too_many = split_indices(90, 0.8, 0.1, seed=3, train_frames=500)
    assert len(half["train"]) == 36
    assert len(ten["train"]) == 10
    assert len(too_many["train"]) == 72
    assert set(ten["train"]) <= set(full["train"])
    np.testing.assert_array_equal(half["validation"], full["validation"])
    np.testing.assert_array_equal(half["test"], full["test"])


@pytest.mark.parametrize(
    ("n_frames", "train_prob", "val_prob", "key", "expected"),
    [
        (90, 0.9, 0.2, "training.train_prob", "above 1"),
        (1, 0.8, 0.1, "training.train_prob", "Only 1 labelled frame"),
        (10, 0.05, 0.5, "training.train_prob", "With 10 labelled frames"),
        (90, 0.0, 0.1, "training.train_prob", "fraction in \\(0, 1\\]"),
        (90, 0.8, -0.1, "training.val_prob", "fraction in \\[0, 1\\)"),
    ],
)
def test_split_config_errors(n_frames: int, train_prob: float, val_prob: float, key: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        split_indices(n_frames, train_prob, val_prob, seed=0)
    assert info.value.key == key


def test_train_frames_must_be_positive() -> None:
    with pytest.raises(ConfigError) as info:
        split_indices(90, 0.8, 0.1, seed=0, train_frames=0)
    assert info.value.key == "training.train_frames"


# ------------------------------------------------------------------ malformed rows (issue 16.16, 16.19)


@pytest.mark.parametrize(
    ("row", "what"),
    [("labeled-data/b.png,1,2,3\n", "is missing 1 cell"), ("labeled-data/b.png,1,2,3,4,5\n", "has extra 1 cell")],
)
def test_a_row_with_cells_missing_or_extra_is_the_same_error(tmp_path: Path, row: str, what: str) -> None:
    csv_path = _write(tmp_path, HEADER + "labeled-data/a.png,1,2,3,4\n" + row)
    with pytest.raises(DataError, match=f"line 5 has .* cells but the header has 5: it {what}"):
        read_labels(csv_path)


def test_trailing_empty_cells_and_short_unlabelled_rows_are_fine(tmp_path: Path) -> None:
    csv_path = _write(tmp_path, HEADER + "labeled-data/a.png,1,2,3,4,,\nlabeled-data/b.png,1,2,,\n")
    labels = read_labels(csv_path)
    assert labels.n_frames == 2 and np.isnan(labels.keypoints_px[1, 1]).all()


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_a_semicolon_or_tab_separated_file_says_so(tmp_path: Path, sep: str, name: str) -> None:
    csv_path = _write(tmp_path, (HEADER + "labeled-data/a.png,1,2,3,4\n").replace(",", sep))
    with pytest.raises(DataError, match=f"is {name}-separated; PoseDesk reads comma-separated"):
        read_labels(csv_path)


def test_a_non_utf8_label_file_names_the_line(tmp_path: Path) -> None:
    csv_path = tmp_path / "CollectedData.csv"
    csv_path.write_bytes((HEADER + "labeled-data/caf\xe9.png,1,2,3,4\n").encode("latin-1"))
    with pytest.raises(DataError, match="line 4 has the byte 0xe9"):
        read_labels(csv_path)
