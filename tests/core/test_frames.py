"""Frames to label: exact extraction, uniform / k-means choice away from labelled frames, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from pose_core.errors import DataError
from pose_core.frames import (
    Thumbnails,
    extract_frames,
    extract_frames_main,
    frame_image_path,
    parse_frame_image_path,
    read_thumbnails,
    select_kmeans,
    select_uniform,
    taken_frames,
)
from tests.core.conftest import decode_frame_index, make_index_video


def test_frame_image_path_uses_the_lightning_pose_naming_and_parses_back() -> None:
    path = frame_image_path(Path("/x/videos/mouse 1.mp4"), 42)
    assert path == "labeled-data/mouse 1/img00000042.png"
    assert parse_frame_image_path(path) == ("mouse 1", 42)
    assert parse_frame_image_path("labeled-data/img0001.png") is None
    assert taken_frames([path, "labeled-data/other/img00000007.png"], "mouse 1") == {42}


def test_uniform_spreads_frames_and_keeps_two_frames_away_from_taken_ones() -> None:
    chosen = select_uniform(100, 5, taken=[50])
    assert len(chosen) == 5
    assert all(abs(c - 50) > 2 for c in chosen)
    assert max(np.diff(chosen)) < 30
    assert select_uniform(5, 10, taken=[2]) == []  # every frame is within 2 of frame 2


def test_kmeans_picks_one_frame_per_appearance_and_skips_taken_neighbours() -> None:
    rng = np.random.default_rng(0)
    looks = rng.normal(size=(3, 16)).astype(np.float32) * 5
    frame_idx = np.arange(0, 300, 2)
    features = np.stack([looks[i // 100] + rng.normal(size=16).astype(np.float32) * 0.01 for i in frame_idx])
    thumbs = Thumbnails(frame_idx, features, 300, 300)
    chosen = select_kmeans(thumbs, 3, taken=[150])
    assert sorted(c // 100 for c in chosen) == [0, 1, 2]
    assert all(abs(c - 150) > 2 for c in chosen)


def test_extract_writes_exactly_the_asked_frames_as_png(tmp_path: Path) -> None:
    video = make_index_video(tmp_path / "vid.mp4", 40)
    paths = extract_frames(video, [0, 17, 39], tmp_path)
    assert paths == [frame_image_path(video, i) for i in (0, 17, 39)]
    for frame_idx, rel in zip((0, 17, 39), paths, strict=True):
        image = cv2.imread(str(tmp_path / rel))
        assert decode_frame_index(image) == frame_idx
    with pytest.raises(DataError, match="beyond the end"):
        extract_frames(video, [40], tmp_path)


def test_thumbnails_cover_the_video(tmp_path: Path) -> None:
    video = make_index_video(tmp_path / "vid.mp4", 60)
    thumbs = read_thumbnails(video)
    assert thumbs.n_frames == 60
    assert thumbs.frame_idx.min() == 0 and thumbs.frame_idx.max() >= 50


def test_corrupt_video_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(DataError, match="cannot be decoded"):
        read_thumbnails(bad)


def test_cli_extracts_new_frames_and_prints_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "proj"
    (project / "videos").mkdir(parents=True)
    video = make_index_video(project / "videos" / "vid.mp4", 50)
    (project / "CollectedData.csv").write_text(
        "scorer,me,me\nbodyparts,nose,nose\ncoords,x,y\nlabeled-data/vid/img00000025.png,1,2\n"
    )
    assert extract_frames_main([str(project), str(video), "--n", "4", "--method", "uniform"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    frames = [int(line.split("\t")[1]) for line in lines]
    assert len(frames) == 4 and all(abs(f - 25) > 2 for f in frames)
    for line in lines:
        assert (project / line.split("\t")[2]).is_file()
    assert extract_frames_main([str(project), str(video), "--n", "3", "--method", "kmeans"]) == 0
    again = [int(line.split("\t")[1]) for line in capsys.readouterr().out.strip().splitlines()]
    assert not set(again) & set(frames)
    assert extract_frames_main([str(project), str(tmp_path / "missing.mp4")]) == 2
    assert "does not exist" in capsys.readouterr().err
    shutil.rmtree(project / "labeled-data")
