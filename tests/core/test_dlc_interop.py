"""DeepLabCut interop: importing DLC projects (CSV / h5, both index forms, bad input) and DLC-style predictions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from pose_core.config.io import load_config
from pose_core.data.labels import read_labels
from pose_core.errors import DataError
from pose_core.inference import pipeline
from pose_core.inference.cli import predict_main
from pose_core.interop import dlc_labels
from pose_core.interop.dlc import IMPORT_RECORD_FILENAME, import_dlc_main, import_dlc_project, read_dlc_project
from pose_core.io.predictions import (
    dlc_prediction_paths,
    read_predictions_csv,
    write_dlc_predictions,
)
from pose_core.project import Project
from tests.core.conftest import TinyRun, make_index_video

REPO = Path(__file__).resolve().parents[2]
BODYPARTS = ["snout", "leftear", "tailbase"]
FOLDERS = {"mouse1": 4, "mouse2": 3}


def _coords(folder: str, n_frames: int) -> np.ndarray:
    """Distinct, reproducible coordinates per folder; one unlabelled keypoint."""
    base = 10.0 if folder == "mouse1" else 100.0
    values = base + np.arange(n_frames * len(BODYPARTS) * 2, dtype=np.float64).reshape(n_frames, len(BODYPARTS), 2)
    values[0, 2] = np.nan
    return values + 0.25


def _frame(
    folder: str, n_frames: int, scorer: str, multi_index: bool, bodyparts: list[str] = BODYPARTS
) -> pd.DataFrame:
    """A label table as DeepLabCut saves it (CollectedData_<scorer>.h5 / .csv)."""
    names = [f"img{i:03d}.png" for i in range(n_frames)]
    if multi_index:
        index: pd.Index = pd.MultiIndex.from_tuples([("labeled-data", folder, n) for n in names])
    else:
        index = pd.Index([f"labeled-data/{folder}/{n}" for n in names])
    columns = pd.MultiIndex.from_product([[scorer], bodyparts, ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    return pd.DataFrame(_coords(folder, n_frames).reshape(n_frames, -1), index=index, columns=columns)


def make_dlc(
    root: Path,
    fmt: str = "csv",
    multi_index: bool = False,
    scorer: str = "alice",
    config: dict | None = None,
    video: Path | None = None,
) -> Path:
    """A single-animal DeepLabCut project: config.yaml, labeled-data/<folder>/{images, CollectedData_<scorer>}."""
    root.mkdir(parents=True)
    video_sets = {str(video): {"crop": "0, 80, 0, 60"}} if video else {}
    video_sets[str(root / "videos" / "gone.mp4")] = {"crop": "0, 80, 0, 60"}
    cfg = {
        "Task": "openfield",
        "scorer": scorer,
        "date": "Jan1",
        "multianimalproject": False,
        "project_path": str(root),
        "video_sets": video_sets,
        "bodyparts": BODYPARTS,
        "skeleton": [["snout", "leftear"], ["leftear", "tailbase"], ["bodypart1", "bodypart2"]],
        **(config or {}),
    }
    (root / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    for folder, n_frames in FOLDERS.items():
        add_folder(root, folder, n_frames, fmt, multi_index, scorer)
    return root


def add_folder(
    root: Path, folder: str, n_frames: int, fmt: str, multi_index: bool, scorer: str, bodyparts: list[str] = BODYPARTS
) -> Path:
    path = root / "labeled-data" / folder
    path.mkdir(parents=True, exist_ok=True)
    for i in range(n_frames):
        cv2.imwrite(str(path / f"img{i:03d}.png"), np.full((60, 80, 3), 40 * i, np.uint8))
    if fmt == "none":
        return path
    frame = _frame(folder, n_frames, scorer, multi_index, bodyparts)
    if fmt in ("csv", "both"):
        frame.to_csv(path / f"CollectedData_{scorer}.csv")
    if fmt in ("h5", "both"):
        frame.to_hdf(path / f"CollectedData_{scorer}.h5", key="df_with_missing", mode="w")
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def expected_keypoints() -> np.ndarray:
    return np.concatenate([_coords(folder, n) for folder, n in FOLDERS.items()])


def run_import(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    code = import_dlc_main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, [line for line in captured.err.splitlines() if line.strip()]


def assert_user_error(argv: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    code, _, err = run_import(argv, capsys)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("posedesk import-dlc: error: "), err
    for fragment in fragments:
        assert fragment in err[0], err[0]
    return err[0]


# ----------------------------------------------------------------------------- importing


@pytest.mark.parametrize(("fmt", "multi_index"), [("csv", False), ("csv", True), ("h5", False), ("h5", True)], ids=str)
def test_import_reads_every_layout_and_leaves_the_dlc_folder_alone(tmp_path: Path, fmt: str, multi_index: bool) -> None:
    dlc = make_dlc(tmp_path / "dlc", fmt, multi_index)
    before = snapshot(dlc)
    project = import_dlc_project(dlc, tmp_path / "imported")
    assert snapshot(dlc) == before, "nothing in the DeepLabCut folder is written"
    dest = tmp_path / "imported"
    assert project.root == dest and project.kind == "lightning-pose"
    labels = read_labels(dest / "CollectedData.csv")
    assert labels.keypoint_names == BODYPARTS
    assert labels.image_paths[0] == "labeled-data/mouse1/img000.png"
    assert labels.image_paths[-1] == "labeled-data/mouse2/img002.png"
    np.testing.assert_array_equal(labels.keypoints_px, expected_keypoints())
    for image in labels.image_paths:
        copied = dest / image
        assert copied.is_file() and not copied.is_symlink()
        assert copied.read_bytes() == (dlc / image).read_bytes()
    cfg = load_config(dest / "config.yaml").cfg  # validates, and finds data_dir and the CSV
    assert list(cfg.data.keypoint_names) == BODYPARTS and cfg.data.num_keypoints == 3
    assert Path(str(cfg.data.data_dir)) == dest and cfg.model.model_name == "openfield"
    assert Project.open(dest).n_labeled_frames == 7
    record = yaml.safe_load((dest / IMPORT_RECORD_FILENAME).read_text(encoding="utf-8"))
    assert record["skeleton"] == [["snout", "leftear"], ["leftear", "tailbase"]]
    assert record["label_files"]["labeled-data/mouse1"] == {
        "scorer": "alice",
        "file": f"labeled-data/mouse1/CollectedData_alice.{fmt}",
    }
    assert not list(tmp_path.glob(".imported*")), "no temporary folder is left behind"


def test_h5_is_read_when_both_files_exist(tmp_path: Path) -> None:
    dlc = make_dlc(tmp_path / "dlc", "both")
    csv_path = dlc / "labeled-data" / "mouse1" / "CollectedData_alice.csv"
    csv_path.write_text(csv_path.read_text().replace("10.25", "99.5"), encoding="utf-8")  # a stale CSV
    labels = read_dlc_project(dlc).labels
    assert labels.keypoints_px[0, 0, 0] == 10.25
    assert [f.path.suffix for f in read_dlc_project(dlc).label_files] == [".h5", ".h5"]


def test_videos_are_linked_or_copied_and_missing_ones_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "recordings").mkdir()
    video = make_index_video(tmp_path / "recordings" / "session1.mp4", 4)
    dlc = make_dlc(tmp_path / "dlc", video=video)
    code, out, err = run_import([str(dlc), str(tmp_path / "linked")], capsys)
    assert code == 0 and err == []
    linked = tmp_path / "linked" / "videos" / "session1.mp4"
    assert linked.is_symlink() and linked.resolve() == video
    assert "note: Video" in out and "gone.mp4" in out and "Train it: pose-train --config-path" in out
    code, _, _ = run_import([str(dlc), str(tmp_path / "copied"), "--copy-videos"], capsys)
    copied = tmp_path / "copied" / "videos" / "session1.mp4"
    assert code == 0 and copied.is_file() and not copied.is_symlink()
    assert Project.open(tmp_path / "copied").videos == [copied]


def test_open_in_place_reads_an_h5_only_project(tmp_path: Path) -> None:
    dlc = make_dlc(tmp_path / "dlc", "h5", multi_index=True)
    add_folder(dlc, "unlabelled", 0, "none", False, "alice")  # an empty folder is not an error
    project = Project.open(dlc)
    assert project.kind == "deeplabcut" and project.n_labeled_frames == 7
    assert [p.name for p in project.csv_paths] == ["CollectedData_alice.h5"] * 2
    assert project.problems() == []


def test_posedesk_import_dlc_runs_without_qt(tmp_path: Path) -> None:
    dlc = make_dlc(tmp_path / "dlc")
    script = (
        "import sys\n"
        "from pose_gui.__main__ import main\n"
        f"code = main(['import-dlc', {str(dlc)!r}, {str(tmp_path / 'new')!r}])\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'pyqtgraph')))\n"
        "print('QT', qt)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "QT []" in done.stdout
    assert (tmp_path / "new" / "CollectedData.csv").is_file()


# ----------------------------------------------------------------------------- bad input


def test_different_scorer_per_folder_is_refused_then_merged_with_scorer_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dlc = make_dlc(tmp_path / "dlc")
    (dlc / "labeled-data" / "mouse2" / "CollectedData_alice.csv").unlink()
    add_folder(dlc, "mouse2", 3, "csv", False, "bob")
    dest = tmp_path / "new"
    line = assert_user_error(
        [str(dlc), str(dest)], capsys, "labeled-data/mouse2 (bob), none by alice", "--scorer alice --scorer bob"
    )
    assert "mouse1" not in line
    assert not dest.exists()
    code, out, _ = run_import([str(dlc), str(dest), "--scorer", "alice", "--scorer", "bob"], capsys)
    assert code == 0 and "mouse2 (bob, csv)" in out
    np.testing.assert_array_equal(read_labels(dest / "CollectedData.csv").keypoints_px, expected_keypoints())


def test_folder_labelled_by_two_scorers_uses_the_first_requested(tmp_path: Path) -> None:
    dlc = make_dlc(tmp_path / "dlc")
    add_folder(dlc, "mouse1", 4, "csv", False, "bob")
    bob_csv = dlc / "labeled-data" / "mouse1" / "CollectedData_bob.csv"
    bob_csv.write_text(bob_csv.read_text().replace("10.25", "11.5"), encoding="utf-8")
    assert read_dlc_project(dlc).labels.keypoints_px[0, 0, 0] == 10.25  # config scorer alice
    labels = read_dlc_project(dlc, scorers=["bob", "alice"]).labels
    assert labels.keypoints_px[0, 0, 0] == 11.5 and labels.n_frames == 7


def test_folder_without_labels_is_an_error_unless_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dlc = make_dlc(tmp_path / "dlc")
    (dlc / "labeled-data" / "mouse2" / "CollectedData_alice.csv").unlink()
    assert_user_error(
        [str(dlc), str(tmp_path / "new")],
        capsys,
        "labeled-data/mouse2 (3 images)",
        "no CollectedData_<scorer>.h5 or .csv",
        "--skip-unlabeled",
    )
    code, out, _ = run_import([str(dlc), str(tmp_path / "new"), "--skip-unlabeled"], capsys)
    assert code == 0 and "note: Skipped labeled-data/mouse2" in out
    assert read_labels(tmp_path / "new" / "CollectedData.csv").n_frames == 4


def test_keypoints_that_differ_between_folders_name_the_file_and_keypoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dlc = make_dlc(tmp_path / "dlc")
    add_folder(dlc, "mouse2", 3, "csv", False, "alice", bodyparts=["snout", "rightear", "tailbase"])
    assert_user_error(
        [str(dlc), str(tmp_path / "new")],
        capsys,
        "labeled-data/mouse2/CollectedData_alice.csv",
        "missing leftear",
        "not in bodyparts rightear",
    )


def test_keypoints_in_another_order_are_reordered(tmp_path: Path) -> None:
    dlc = make_dlc(tmp_path / "dlc")
    folder = dlc / "labeled-data" / "mouse2"
    frame = pd.read_csv(folder / "CollectedData_alice.csv", header=[0, 1, 2], index_col=0)
    frame.iloc[:, [4, 5, 0, 1, 2, 3]].to_csv(folder / "CollectedData_alice.csv")  # tailbase first
    np.testing.assert_array_equal(read_dlc_project(dlc).labels.keypoints_px, expected_keypoints())


def test_multi_animal_project_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dlc = make_dlc(tmp_path / "dlc", config={"multianimalproject": True})
    assert_user_error([str(dlc), str(tmp_path / "new")], capsys, "multi-animal DeepLabCut project", "config.yaml")


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"bodyparts": None}, ("has no bodyparts list", "add 'bodyparts:'")),
        ({"scorer": None}, ("has no scorer", "--scorer NAME")),
        ({"video_sets": ["a.mp4"]}, ("video_sets must map each video path",)),
    ],
    ids=["bodyparts", "scorer", "video_sets"],
)
def test_missing_or_bad_config_fields_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict, fragments: tuple[str, ...]
) -> None:
    dlc = make_dlc(tmp_path / "dlc", config=change)
    assert_user_error([str(dlc), str(tmp_path / "new")], capsys, str(dlc / "config.yaml"), *fragments)


def test_missing_config_and_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert_user_error([str(tmp_path / "empty"), str(tmp_path / "new")], capsys, "has no config.yaml")
    assert_user_error([str(tmp_path / "nowhere"), str(tmp_path / "new")], capsys, "is not a folder")
    assert_user_error([str(tmp_path / "empty")], capsys, "the following arguments are required: DEST_DIR")


def test_referenced_images_that_are_missing_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dlc = make_dlc(tmp_path / "dlc", "h5")
    (dlc / "labeled-data" / "mouse2" / "img001.png").unlink()
    assert_user_error(
        [str(dlc), str(tmp_path / "new")],
        capsys,
        "labeled-data/mouse2/CollectedData_alice.h5 lists 1 image(s)",
        "(img001.png)",
        "restore them",
    )
    assert not (tmp_path / "new").exists()


def test_h5_without_pytables_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dlc = make_dlc(tmp_path / "dlc", "h5")

    def no_tables(*args: object, **kwargs: object) -> None:
        raise ImportError("Missing optional dependency 'pytables'.")

    monkeypatch.setattr(dlc_labels.pd, "read_hdf", no_tables)
    with pytest.raises(DataError, match=r"needs the PyTables package.*pip install tables.*CollectedData_alice\.csv"):
        read_dlc_project(dlc)
    monkeypatch.setattr(dlc_labels, "h5_supported", lambda: False)
    add_folder(dlc, "mouse1", 4, "csv", False, "alice")
    add_folder(dlc, "mouse2", 3, "csv", False, "alice")
    assert [f.path.suffix for f in read_dlc_project(dlc).label_files] == [".csv", ".csv"]  # CSV beside the h5


def test_corrupt_h5_and_predictions_file_are_named(tmp_path: Path) -> None:
    dlc = make_dlc(tmp_path / "dlc", "h5")
    h5 = dlc / "labeled-data" / "mouse1" / "CollectedData_alice.h5"
    h5.write_bytes(b"not hdf5")
    with pytest.raises(DataError, match=r"CollectedData_alice\.h5 is not a readable DeepLabCut label file"):
        read_dlc_project(dlc)
    columns = pd.MultiIndex.from_product([["a"], ["snout"], ["x", "y", "likelihood"]])
    pd.DataFrame(np.zeros((1, 3)), columns=columns).to_hdf(h5, key="df_with_missing", mode="w")
    with pytest.raises(DataError, match="coords 'likelihood'"):
        read_dlc_project(dlc)


def test_destination_inside_the_dlc_project_or_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dlc = make_dlc(tmp_path / "dlc")
    before = snapshot(dlc)
    assert_user_error([str(dlc), str(dlc / "posedesk")], capsys, "is inside the DeepLabCut project")
    assert snapshot(dlc) == before
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    assert_user_error([str(dlc), str(tmp_path / "full")], capsys, "already exists and is not empty")


# ----------------------------------------------------------------------------- DLC-style predictions


def test_dlc_prediction_files_round_trip_with_pandas(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    preds = rng.uniform(0, 100, (6, 3, 3))
    preds[2, 1] = np.nan
    h5_path, csv_path = dlc_prediction_paths(tmp_path / "session1.csv")
    assert (h5_path.name, csv_path.name) == ("session1DLC_posedesk.h5", "session1DLC_posedesk.csv")
    write_dlc_predictions(h5_path, csv_path, BODYPARTS, preds)
    frame = pd.read_hdf(h5_path, key="df_with_missing")
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns.names == ["scorer", "bodyparts", "coords"]
    assert list(frame.columns.get_level_values(0).unique()) == ["DLC_posedesk"]
    assert list(frame.columns.get_level_values(1).unique()) == BODYPARTS
    assert list(frame.columns.get_level_values(2)[:3]) == ["x", "y", "likelihood"]
    assert list(frame.index) == list(range(6)) and pd.api.types.is_integer_dtype(frame.index)
    np.testing.assert_array_equal(frame.to_numpy().reshape(6, 3, 3), preds)
    from_csv = pd.read_csv(csv_path, header=[0, 1, 2], index_col=0)  # how DeepLabCut reads its CSVs
    np.testing.assert_allclose(from_csv.to_numpy().reshape(6, 3, 3), preds, rtol=0, atol=5e-5)  # 4 decimals
    assert list(from_csv.columns) == list(frame.columns)
    table = read_predictions_csv(csv_path)  # PoseDesk's review pane can read it too
    assert table.keypoint_names == BODYPARTS and table.index == list(range(6))
    assert sorted(p.name for p in tmp_path.iterdir()) == [csv_path.name, h5_path.name], "no temporary files"


class ConstantPredictor:
    """A stand-in model: keypoint k of every frame at input pixel (8 k, 4 k), likelihood 0.5."""

    keypoint_names = BODYPARTS
    input_hw = (32, 32)

    def predict_resized(self, images_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(images_rgb)
        xy = np.tile(np.array([[0.0, 0.0], [8.0, 4.0], [16.0, 8.0]]), (n, 1, 1))
        return xy, np.full((n, 3), 0.5)


def test_predict_video_outputs_writes_dlc_files_and_rebuilds_missing_ones(tmp_path: Path) -> None:
    video = make_index_video(tmp_path / "clip.mp4", 5)
    outputs = pipeline.VideoOutputs.for_video(video, tmp_path / "preds")
    result = pipeline.predict_video_outputs(ConstantPredictor(), outputs, batch_size=2, dlc=True)
    h5_path, csv_path = dlc_prediction_paths(outputs.csv_path)
    assert result.written == [outputs.csv_path, outputs.temporal_norm_path, h5_path, csv_path]
    ours = read_predictions_csv(outputs.csv_path, expected_rows=5).preds
    np.testing.assert_array_equal(pd.read_hdf(h5_path).to_numpy().reshape(5, 3, 3), ours)
    h5_path.unlink()
    again = pipeline.predict_video_outputs(ConstantPredictor(), outputs, dlc=True)
    assert not again.predicted and again.written == [h5_path, csv_path]
    assert pipeline.predict_video_outputs(ConstantPredictor(), outputs, dlc=True).written == []


def test_pose_predict_dlc_flag(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = make_index_video(tmp_path / "mouse.avi", 6, "MJPG")
    out = tmp_path / "out"
    assert predict_main([str(tiny_run.run_dir), str(video), "--output-dir", str(out), "--dlc"]) == 0
    assert "DeepLabCut-style mouseDLC_posedesk.h5, mouseDLC_posedesk.csv" in capsys.readouterr().out
    frame = pd.read_hdf(out / "mouseDLC_posedesk.h5", key="df_with_missing")
    assert isinstance(frame, pd.DataFrame) and frame.shape == (6, 3 * len(tiny_run.keypoint_names))
    assert list(frame.columns.get_level_values(1).unique()) == tiny_run.keypoint_names
    assert predict_main([str(tiny_run.run_dir), str(video), "--output-dir", str(out)]) == 0
    assert os.path.getsize(out / "mouseDLC_posedesk.csv") > 0
