"""LabelsDocument: edits keep every untouched byte, saves are atomic, a backup once, external changes refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose_core.data.labels import read_labels
from pose_core.data.labels_edit import LabelsChangedOnDiskError, LabelsDocument, backup_path
from pose_core.errors import DataError

LP_TEXT = (
    "scorer,me,me,me,me\r\n"
    "bodyparts,nose,nose,tail,tail\r\n"
    "coords,x,y,x,y\r\n"
    "labeled-data/a/img00000001.png,10.5000,20.2500,,\r\n"
    '"labeled-data/a,b/img00000002.png",1.0000,2.0000,3.0000,4.0000\r\n'
    "labeled-data/a/img00000003.png,5.1230,6.0000,7.0000,8.0000\r\n"
)
DLC_TEXT = (
    "scorer,,,dlc,dlc,dlc,dlc\n"
    "bodyparts,,,nose,nose,tail,tail\n"
    "coords,,,x,y,x,y\n"
    "labeled-data,vid,img00000001.png,10.123456789,20.5,,\n"
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "CollectedData.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_editing_one_row_leaves_every_other_byte_unchanged(tmp_path: Path) -> None:
    path = _write(tmp_path, LP_TEXT)
    doc = LabelsDocument.open(path)
    doc.set_point("labeled-data/a/img00000001.png", 1, (30.123456, 40.0))
    assert doc.save()
    lines = path.read_bytes().decode().split("\r\n")
    old = LP_TEXT.split("\r\n")
    assert lines[4:] == old[4:] and lines[:3] == old[:3]
    assert lines[3] == "labeled-data/a/img00000001.png,10.5000,20.2500,30.1235,40.0000"
    labels = read_labels(path)
    assert labels.keypoints_px[0, 1].tolist() == [30.1235, 40.0]
    assert np.array_equal(labels.keypoints_px[0], doc.points("labeled-data/a/img00000001.png"))


def test_editing_a_row_keeps_the_finer_values_of_its_other_keypoints(tmp_path: Path) -> None:
    """Mixed precision (the mirror-mouse labels: quarter pixels and one 101.900392541708): none is rounded away."""
    path = _write(tmp_path, DLC_TEXT.replace("20.5,,", "20.5,3.25,4.75"))
    doc = LabelsDocument.open(path)
    doc.set_point("labeled-data/vid/img00000001.png", 1, (30.123456, 40.0))  # tail moves; nose stays as it was
    assert doc.save()
    assert path.read_text().splitlines()[3] == "labeled-data,vid,img00000001.png,10.123456789,20.5,30.12,40.0"
    assert read_labels(path).keypoints_px[0, 0].tolist() == [10.123456789, 20.5]
    doc.set_points("labeled-data/vid/img00000001.png", np.array([[10.1, 20.5], [30.12, 40.0]]))  # a real move
    assert doc.points("labeled-data/vid/img00000001.png")[0].tolist() == [10.1, 20.5]


def test_new_image_is_appended_and_removed_again_when_emptied(tmp_path: Path) -> None:
    path = _write(tmp_path, LP_TEXT)
    doc = LabelsDocument.open(path)
    new = "labeled-data/vid/img00000042.png"
    doc.set_point(new, 0, (1.0, 2.0))
    doc.save()
    assert path.read_bytes().decode().endswith(f"{new},1.0000,2.0000,,\r\n")
    assert read_labels(path).image_paths[-1] == new
    doc.set_point(new, 0, None)
    doc.save()
    assert path.read_bytes() == LP_TEXT.encode()


def test_clearing_a_keypoint_of_an_opened_row_keeps_the_row_with_empty_cells(tmp_path: Path) -> None:
    path = _write(tmp_path, LP_TEXT)
    doc = LabelsDocument.open(path)
    doc.set_point("labeled-data/a/img00000001.png", 0, None)
    doc.save()
    assert "labeled-data/a/img00000001.png,,,,\r\n" in path.read_bytes().decode()
    assert read_labels(path).n_frames == 3


def test_three_index_columns_and_shortest_floats_are_kept(tmp_path: Path) -> None:
    path = _write(tmp_path, DLC_TEXT)
    doc = LabelsDocument.open(path)
    doc.set_point("labeled-data/vid/img00000009.png", 1, (3.14159, 2.5))
    doc.save()
    text = path.read_text()
    assert text.startswith(DLC_TEXT)
    assert text.endswith("labeled-data,vid,img00000009.png,,,3.14,2.5\n")
    assert read_labels(path).image_paths == ["labeled-data/vid/img00000001.png", "labeled-data/vid/img00000009.png"]


def test_first_save_writes_the_backup_of_the_file_as_opened_once(tmp_path: Path) -> None:
    path = _write(tmp_path, LP_TEXT)
    doc = LabelsDocument.open(path)
    assert not doc.save()  # nothing changed: nothing written
    assert not backup_path(path).exists()
    doc.set_point("labeled-data/a/img00000001.png", 1, (1, 1))
    doc.save()
    doc.set_point("labeled-data/a/img00000001.png", 1, (2, 2))
    doc.save()
    assert backup_path(path).read_bytes() == LP_TEXT.encode()
    assert backup_path(path).name == "CollectedData.csv.bak"


def test_a_file_changed_by_another_program_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    path = _write(tmp_path, LP_TEXT)
    doc = LabelsDocument.open(path)
    other = LP_TEXT.replace("5.1230", "9.9990")
    path.write_text(other, newline="")
    assert doc.changed_on_disk()
    doc.set_point("labeled-data/a/img00000001.png", 1, (1, 1))
    with pytest.raises(LabelsChangedOnDiskError, match="Reload"):
        doc.save()
    assert path.read_bytes().decode() == other
    assert doc.save(overwrite_external_changes=True)
    assert not doc.changed_on_disk()
    assert read_labels(path).keypoints_px[0, 1].tolist() == [1.0, 1.0]


def test_touching_the_file_without_changing_it_is_not_a_change(tmp_path: Path) -> None:
    path = _write(tmp_path, LP_TEXT)
    doc = LabelsDocument.open(path)
    path.write_bytes(path.read_bytes())
    assert not doc.changed_on_disk()


def test_read_only_folder_save_fails_with_a_data_error_and_keeps_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, LP_TEXT)
    doc = LabelsDocument.open(path)
    doc.set_point("labeled-data/a/img00000001.png", 1, (1, 1))
    tmp_path.chmod(0o500)
    try:
        if path.parent.stat().st_mode & 0o200 or __import__("os").geteuid() == 0:
            pytest.skip("the superuser can write anywhere")
        with pytest.raises(DataError, match="not writable"):
            doc.save()
        assert path.read_bytes() == LP_TEXT.encode()
        assert doc.is_modified
    finally:
        tmp_path.chmod(0o700)


def test_bad_keypoint_index_and_values_are_refused(tmp_path: Path) -> None:
    doc = LabelsDocument.open(_write(tmp_path, LP_TEXT))
    with pytest.raises(IndexError):
        doc.set_point("x.png", 2, (1, 1))
    with pytest.raises(ValueError):
        doc.set_point("x.png", 0, (float("nan"), 1))
