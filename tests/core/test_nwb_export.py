"""NWB out: ``pose-predict --nwb`` and ``posedesk export-nwb`` write ndx-pose files that pynwb and sleap-io read back."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

pynwb = pytest.importorskip("pynwb", reason="pynwb is not installed (pip install 'posedesk[formats]')")
pytest.importorskip("ndx_pose", reason="ndx-pose is not installed (pip install 'posedesk[formats]')")

from pose_core import __version__  # noqa: E402
from pose_core.data.labels import LabelSet, write_labels  # noqa: E402
from pose_core.errors import DataError  # noqa: E402
from pose_core.inference.cli import predict_main  # noqa: E402
from pose_core.interop.nwb_export import export_nwb_main  # noqa: E402
from pose_core.io.nwb import PoseSkeleton, write_predictions_nwb  # noqa: E402
from pose_core.io.predictions import read_predictions_csv, write_predictions_csv  # noqa: E402
from tests.core.conftest import INDEX_FPS, TinyRun, make_index_video  # noqa: E402


def _read_behavior(path: Path) -> tuple[dict, dict]:
    """``(pose estimations {name: {keypoint: (data, confidence, rate, start)}}, attributes)`` of an NWB file."""
    with pynwb.NWBHDF5IO(str(path), mode="r") as io:
        nwbfile = io.read()
        behavior = nwbfile.processing["behavior"]
        estimations, attrs = {}, {}
        for name, interface in behavior.data_interfaces.items():
            if type(interface).__name__ != "PoseEstimation":
                continue
            estimations[name] = {
                key: (s.data[:], s.confidence[:], s.rate, s.starting_time)
                for key, s in interface.pose_estimation_series.items()
            }
            attrs[name] = {
                "software": interface.source_software,
                "version": interface.source_software_version,
                "videos": list(interface.source_video.external_file[:]),
                "nodes": list(interface.skeleton.nodes[:]),
                "edges": [] if interface.skeleton.edges is None else interface.skeleton.edges[:].tolist(),
            }
        return estimations, attrs


def test_pose_predict_nwb_holds_the_csv_positions_likelihoods_and_timing(
    tiny_run: TinyRun, tmp_path: Path, capsys
) -> None:
    video = make_index_video(tmp_path / "a.mp4", 9)
    out = tmp_path / "out"
    assert predict_main([str(tiny_run.run_dir), str(video), "--output-dir", str(out), "--nwb"]) == 0
    assert "a.mp4: NWB a.nwb" in capsys.readouterr().out
    table = read_predictions_csv(out / "a.csv", expected_rows=9)
    estimations, attrs = _read_behavior(out / "a.nwb")
    series = estimations["PoseEstimation"]
    assert list(series) == sorted(tiny_run.keypoint_names) or set(series) == set(tiny_run.keypoint_names)
    for k, name in enumerate(table.keypoint_names):
        data, confidence, rate, start = series[name]
        np.testing.assert_allclose(data, table.preds[:, k, :2])
        np.testing.assert_allclose(confidence, table.preds[:, k, 2])
        assert rate == pytest.approx(INDEX_FPS) and start == 0.0
    info = attrs["PoseEstimation"]
    assert info["software"] == "PoseDesk" and info["version"] == __version__
    assert info["videos"] == [str(video.absolute())] and info["nodes"] == table.keypoint_names


def test_existing_nwb_is_refused_before_predicting_unless_overwrite(tiny_run: TinyRun, tmp_path: Path, capsys) -> None:
    video = make_index_video(tmp_path / "a.mp4", 5)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.nwb").write_bytes(b"an earlier export")
    assert predict_main([str(tiny_run.run_dir), str(video), "--output-dir", str(out), "--nwb"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("pose-predict: error:")]
    assert len(err) == 1 and "a.nwb already exists" in err[0] and "--overwrite" in err[0]
    assert (out / "a.nwb").read_bytes() == b"an earlier export" and not (out / "a.csv").exists()
    # --overwrite passes overwrite=True down to the writer, which then replaces the file.
    skeleton = PoseSkeleton(tiny_run.keypoint_names)
    write_predictions_nwb(out / "a.nwb", skeleton, np.zeros((5, 3, 3)), INDEX_FPS, video, overwrite=True)
    assert set(_read_behavior(out / "a.nwb")[0]["PoseEstimation"]) == set(tiny_run.keypoint_names)


@pytest.mark.parametrize("bad", ["paw/left", "tail:base"])
def test_keypoint_names_nwb_cannot_hold_are_refused_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    skeleton = PoseSkeleton(["nose", bad])
    with pytest.raises(DataError, match=r"cannot be written to NWB.*rename them"):
        write_predictions_nwb(tmp_path / "x.nwb", skeleton, np.zeros((3, 2, 3)), 30.0, tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []


def test_unknown_frame_rate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="frame rate"):
        write_predictions_nwb(tmp_path / "x.nwb", PoseSkeleton(["nose"]), np.zeros((3, 1, 3)), 0.0, tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []


def test_without_pynwb_the_message_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(DataError, match=r"pip install 'posedesk\[formats\]'"):
        write_predictions_nwb(tmp_path / "x.nwb", PoseSkeleton(["nose"]), np.zeros((3, 1, 3)), 30.0, tmp_path / "v.mp4")


@pytest.fixture()
def small_project(tmp_path: Path) -> tuple[Path, LabelSet, np.ndarray]:
    """A project folder: 3 labelled images, a skeleton record, a video and a run's predictions of it."""
    root = tmp_path / "proj"
    names = ["nose", "ear_l", "ear_r"]
    images = [f"labeled-data/s1/img{i:03d}.png" for i in range(3)]
    for image in images:
        (root / image).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / image), np.full((40, 50, 3), 90, np.uint8))
    keypoints = np.array([[[10.0, 12.0], [20.0, 22.0], [np.nan, np.nan]]] * 3) + np.arange(3)[:, None, None]
    labels = LabelSet(images, names, keypoints, scorer="alice")
    write_labels(labels, root / "CollectedData.csv")
    (root / "sleap_import.yaml").write_text(yaml.safe_dump({"skeleton": [["nose", "ear_l"], ["nose", "ear_r"]]}))
    (root / "videos").mkdir()
    make_index_video(root / "videos" / "a.mp4", 6)
    run = root / "outputs" / "2026-01-01" / "10-00-00"
    preds = np.random.default_rng(0).uniform(0, 40, (6, 3, 3))
    preds[..., 2] /= 40
    write_predictions_csv(run / "video_preds" / "a.csv", names, preds, range(6))
    return root, labels, preds


def test_export_nwb_writes_labelled_frames_and_predictions_that_pynwb_and_sleap_io_read(
    small_project: tuple[Path, LabelSet, np.ndarray], tmp_path: Path, capsys
) -> None:
    root, labels, preds = small_project
    out = tmp_path / "export.nwb"
    run = root / "outputs" / "2026-01-01" / "10-00-00"
    assert export_nwb_main([str(root), str(out), "--run", str(run)]) == 0
    assert "3 labelled frames, predictions of a.mp4" in capsys.readouterr().out
    estimations, attrs = _read_behavior(out)
    np.testing.assert_allclose(estimations["PoseEstimation"]["ear_l"][0], preds[:, 1, :2], rtol=0, atol=1e-4)
    assert attrs["PoseEstimation"]["edges"] == [[0, 1], [0, 2]]
    with pynwb.NWBHDF5IO(str(out), mode="r") as io:
        training = io.read().processing["behavior"]["PoseTraining"]
        frames = training.training_frames.training_frames
        assert len(frames) == 3
        instance = frames["frame_00001"].skeleton_instances.skeleton_instances["instance_0"]
        np.testing.assert_array_equal(instance.node_locations[:], labels.keypoints_px[1])
        assert instance.node_visibility[:].tolist() == [True, True, False]
        assert frames["frame_00001"].annotator == "alice"
    sio = pytest.importorskip("sleap_io", reason="sleap-io is not installed")
    read = sio.load_nwb(str(out))
    assert read.skeletons[0].node_names == labels.keypoint_names and len(read.labeled_frames) == 3
    np.testing.assert_array_equal(read.labeled_frames[2].instances[0].numpy(), labels.keypoints_px[2])


def test_export_nwb_refuses_an_existing_file_and_a_run_of_other_keypoints(
    small_project: tuple[Path, LabelSet, np.ndarray], tmp_path: Path, capsys
) -> None:
    root, _, preds = small_project
    out = tmp_path / "export.nwb"
    out.write_bytes(b"keep me")
    assert export_nwb_main([str(root), str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"keep me"
    other = tmp_path / "other_run"
    write_predictions_csv(other / "video_preds" / "a.csv", ["a", "b", "c"], preds, range(6))
    assert export_nwb_main([str(root), str(out), "--run", str(other), "--overwrite"]) == 2
    assert "predicts other keypoints" in capsys.readouterr().err and out.read_bytes() == b"keep me"


def test_pose_predict_nwb_refuses_keypoint_names_nwb_cannot_hold_before_predicting(
    tiny_checkpoint: Path, tmp_path: Path, capsys
) -> None:
    from tests.core.conftest import make_run_dir

    run = make_run_dir(tmp_path / "run", tiny_checkpoint, ["nose", "ear:left", "ear_r"])
    video = make_index_video(tmp_path / "a.mp4", 4)
    out = tmp_path / "out"
    assert predict_main([str(run), str(video), "--output-dir", str(out), "--nwb"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("pose-predict: error:")]
    assert len(err) == 1 and "'ear:left'" in err[0] and "cannot be written to NWB" in err[0]
    assert not any(p.suffix in (".csv", ".nwb") for p in out.rglob("*"))
