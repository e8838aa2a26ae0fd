"""Tests of pose_core.example: the generated example project a first-time user trains on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

import pose_core.example as example
from pose_core.errors import DataError
from pose_core.example import (
    EXAMPLE_VERSION,
    KEYPOINT_PARTS,
    MARKER_NAME,
    default_example_dir,
    ensure_example_project,
    generate_example_project,
    is_example_project,
    main,
)

N_LABELED = 24
N_VIDEO_FRAMES = 60
N_PARTS = len(KEYPOINT_PARTS)
FRAME_HEIGHT_PX, FRAME_WIDTH_PX, VIEW_PX = 128, 256, 128


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("example") / "project"
    return generate_example_project(out_dir, seed=0, n_labeled=N_LABELED, n_video_frames=N_VIDEO_FRAMES, n_videos=1)


def read_keypoint_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, header=[0, 1, 2], index_col=0)


def xy_array(df: pd.DataFrame) -> np.ndarray:
    """(N, K, 2) keypoint coordinates of a labels or ground-truth table."""
    coords = df.columns.get_level_values("coords")
    xy = df.loc[:, np.isin(coords, ["x", "y"])].to_numpy(dtype=float)
    return xy.reshape(len(df), -1, 2)


def small_generator(calls: list[Path]) -> Callable[..., Path]:
    real = generate_example_project

    def generate(out_dir: Path, seed: int = 0, **_: int) -> Path:
        calls.append(Path(out_dir))
        return real(out_dir, seed=seed, n_labeled=3, n_video_frames=4, n_videos=1)

    return generate


def test_same_seed_gives_identical_labels_and_images(tmp_path: Path) -> None:
    counts = {"n_labeled": 3, "n_video_frames": 5, "n_videos": 1}
    first = generate_example_project(tmp_path / "a", seed=7, **counts)
    second = generate_example_project(tmp_path / "b", seed=7, **counts)
    other = generate_example_project(tmp_path / "c", seed=8, **counts)
    names = ["CollectedData.csv", "videos/example_0_ground_truth.csv"]
    names += [f"labeled-data/img{i:04d}.png" for i in range(3)]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "CollectedData.csv").read_bytes() != (other / "CollectedData.csv").read_bytes()
    assert (first / "labeled-data/img0000.png").read_bytes() != (other / "labeled-data/img0000.png").read_bytes()


def test_labels_csv_has_dlc_layout_and_matching_images(project: Path) -> None:
    lines = (project / "CollectedData.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == ["scorer", "bodyparts", "coords"]
    df = read_keypoint_csv(project / "CollectedData.csv")
    expected_names = [f"{p}_top" for p in KEYPOINT_PARTS] + [f"{p}_side" for p in KEYPOINT_PARTS]
    assert set(df.columns.get_level_values(0)) == {"posedesk-example"}
    assert list(df.columns.get_level_values(1)) == [n for n in expected_names for _ in range(2)]
    assert list(df.columns.get_level_values(2)) == ["x", "y"] * len(expected_names)
    assert list(df.index) == [f"labeled-data/img{i:04d}.png" for i in range(N_LABELED)]
    for name in df.index:
        image = cv2.imread(str(project / name))
        assert image is not None and image.shape == (FRAME_HEIGHT_PX, FRAME_WIDTH_PX, 3)


def test_some_but_few_keypoints_are_unlabelled(project: Path) -> None:
    xy = xy_array(read_keypoint_csv(project / "CollectedData.csv"))
    nan_x, nan_y = np.isnan(xy[..., 0]), np.isnan(xy[..., 1])
    assert np.array_equal(nan_x, nan_y)
    assert 0.01 <= nan_x.mean() <= 0.12


def test_labelled_keypoints_lie_inside_their_own_view(project: Path) -> None:
    xy = xy_array(read_keypoint_csv(project / "CollectedData.csv"))
    top, side = xy[:, :N_PARTS], xy[:, N_PARTS:]
    for view_xy, u_min in ((top, 0), (side, VIEW_PX)):
        labelled = view_xy[~np.isnan(view_xy[..., 0])]
        assert labelled[:, 0].min() >= u_min and labelled[:, 0].max() <= u_min + VIEW_PX - 1
        assert labelled[:, 1].min() >= 0 and labelled[:, 1].max() <= FRAME_HEIGHT_PX - 1


def test_video_reads_back_with_the_requested_frame_count(project: Path) -> None:
    capture = cv2.VideoCapture(str(project / "videos" / "example_0.mp4"))
    shapes = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        shapes.append(frame.shape)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    assert len(shapes) == N_VIDEO_FRAMES
    assert set(shapes) == {(FRAME_HEIGHT_PX, FRAME_WIDTH_PX, 3)}
    assert fps == pytest.approx(30.0)


def test_ground_truth_is_complete_and_temporally_smooth(project: Path) -> None:
    df = read_keypoint_csv(project / "videos" / "example_0_ground_truth.csv")
    assert list(df.index) == list(range(N_VIDEO_FRAMES))
    assert list(df.columns.get_level_values(2)[:3]) == ["x", "y", "likelihood"]
    assert not df.isna().any().any()
    likelihood = df.loc[:, df.columns.get_level_values(2) == "likelihood"].to_numpy()
    assert np.all(likelihood == 1.0)
    step_px = np.linalg.norm(np.diff(xy_array(df), axis=0), axis=2)
    assert np.median(step_px) < 0.03 * VIEW_PX
    assert step_px.max() < 0.15 * VIEW_PX  # no jumps between consecutive frames
    assert np.median(step_px) > 0.05  # the animal does move


def multiview_svd(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Singular values and right vectors of centred (x_top, y_top, x_side, y_side) rows (one per part, frame)."""
    rows = np.concatenate([xy[:, :N_PARTS], xy[:, N_PARTS:]], axis=2).reshape(-1, 4)
    rows = rows[~np.isnan(rows).any(axis=1)]
    _, singular, right = np.linalg.svd(rows - rows.mean(axis=0), full_matrices=False)
    return singular, right


@pytest.mark.parametrize("csv_name", ["videos/example_0_ground_truth.csv", "CollectedData.csv"])
def test_both_views_see_the_same_3d_body_parts(project: Path, csv_name: str) -> None:
    singular, right = multiview_svd(xy_array(read_keypoint_csv(project / csv_name)))
    assert singular[2] > 0.05 * singular[0]  # really three dimensions, not a flat animal
    assert singular[3] < 1e-3 * singular[2]  # and no fourth: the views agree
    # The one linear relation ties all four numbers: no coordinate merely copies another, so a
    # multiview PCA loss constrains every coordinate.
    assert np.all(np.abs(right[3]) > 0.05)


def test_paws_and_nose_are_drawn_at_their_labels(project: Path) -> None:
    df = read_keypoint_csv(project / "CollectedData.csv")
    xy = xy_array(df)
    parts = list(KEYPOINT_PARTS)
    colour_excess: dict[str, list[float]] = {"left paw": [], "right paw": [], "nose": []}
    for frame_idx, name in enumerate(df.index):
        rgb = cv2.cvtColor(cv2.imread(str(project / name)), cv2.COLOR_BGR2RGB).astype(float)
        checks = [("nose", parts.index("nose"), 0), ("nose", N_PARTS + parts.index("nose"), 0)]
        checks += [("left paw", parts.index(p), 0) for p in ("paw_front_left", "paw_back_left")]
        checks += [("right paw", parts.index(p), 2) for p in ("paw_front_right", "paw_back_right")]
        for label, keypoint_idx, channel in checks:
            x, y = xy[frame_idx, keypoint_idx]
            if np.isnan(x):
                continue
            patch = rgb[round(y) - 1 : round(y) + 2, round(x) - 1 : round(x) + 2].reshape(-1, 3).mean(axis=0)
            colour_excess[label].append(patch[channel] - patch[1])  # red or blue above green
    for label, excess in colour_excess.items():
        assert np.median(excess) > 50, f"{label} is not drawn at its keypoint"


def test_config_describes_the_project(project: Path) -> None:
    config = yaml.safe_load((project / "config.yaml").read_text())
    data = config["data"]
    names = [f"{p}_top" for p in KEYPOINT_PARTS] + [f"{p}_side" for p in KEYPOINT_PARTS]
    assert data["keypoint_names"] == names
    assert data["num_keypoints"] == 2 * N_PARTS
    assert data["mirrored_column_matches"] == [list(range(N_PARTS)), list(range(N_PARTS, 2 * N_PARTS))]
    assert data["columns_for_singleview_pca"] == list(range(2 * N_PARTS))
    assert data["image_resize_dims"] == {"height": FRAME_HEIGHT_PX, "width": FRAME_WIDTH_PX}
    data_dir = project / data["data_dir"]
    assert (data_dir / data["csv_file"]).is_file()
    assert sorted(p.name for p in (data_dir / data["video_dir"]).glob("*.mp4")) == ["example_0.mp4"]
    assert config["model"] == {"model_name": "example"}
    assert config["training"] == {"max_epochs": 12}
    marker = json.loads((project / MARKER_NAME).read_text())
    assert marker["version"] == EXAMPLE_VERSION and marker["seed"] == 0
    assert "seed 0" in (project / "README.md").read_text()


def test_ensure_reuses_a_complete_project_and_regenerates_an_incomplete_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(example, "generate_example_project", small_generator(calls))
    path = tmp_path / "example-project"
    assert ensure_example_project(path) == path and len(calls) == 1
    assert is_example_project(path)
    assert ensure_example_project(path) == path and len(calls) == 1
    (path / MARKER_NAME).unlink()  # as if generation had been interrupted
    assert not is_example_project(path)
    ensure_example_project(path)
    assert len(calls) == 2 and is_example_project(path)
    marker = json.loads((path / MARKER_NAME).read_text())
    (path / MARKER_NAME).write_text(json.dumps({**marker, "version": EXAMPLE_VERSION - 1}))
    ensure_example_project(path)
    assert len(calls) == 3 and is_example_project(path)
    assert [p.name for p in tmp_path.iterdir()] == ["example-project"]  # no temporary folders left


def test_ensure_uses_the_data_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSEDESK_DATA_DIR", str(tmp_path / "data"))
    assert default_example_dir() == tmp_path / "data" / "example-project"
    calls: list[Path] = []
    monkeypatch.setattr(example, "generate_example_project", small_generator(calls))
    assert ensure_example_project() == tmp_path / "data" / "example-project"
    assert (tmp_path / "data" / "example-project" / "config.yaml").is_file()


@pytest.mark.parametrize(
    "user_files",
    [["notes.txt"], ["CollectedData.csv", "config.yaml", "labeled-data/img0001.png"]],
    ids=["other-files", "lightning-pose-project"],
)
def test_generation_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path: Path, user_files: list[str]) -> None:
    out_dir = tmp_path / "my-experiment"
    for name in user_files:
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_text("precious")
    with pytest.raises(DataError, match="not part of a PoseDesk example") as info:
        generate_example_project(out_dir, n_labeled=2, n_video_frames=2, n_videos=1)
    assert info.value.path == str(out_dir)
    assert all((out_dir / name).read_text() == "precious" for name in user_files)
    assert [p.name for p in tmp_path.iterdir()] == ["my-experiment"]


def test_generation_replaces_an_earlier_example(tmp_path: Path) -> None:
    out_dir = generate_example_project(tmp_path / "example", seed=1, n_labeled=3, n_video_frames=2, n_videos=2)
    generate_example_project(out_dir, seed=2, n_labeled=2, n_video_frames=2, n_videos=1)
    assert json.loads((out_dir / MARKER_NAME).read_text())["seed"] == 2
    assert len(read_keypoint_csv(out_dir / "CollectedData.csv")) == 2
    assert sorted(p.name for p in (out_dir / "videos").glob("*.mp4")) == ["example_0.mp4"]


def test_command_line_generates_and_prints_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(example, "generate_example_project", small_generator(calls))
    out_dir = tmp_path / "cli-example"
    assert main([str(out_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(out_dir)
    assert is_example_project(out_dir)
    assert main([str(out_dir)]) == 0 and len(calls) == 1  # already there: reused
    assert main([str(out_dir), "--force"]) == 0 and len(calls) == 2
