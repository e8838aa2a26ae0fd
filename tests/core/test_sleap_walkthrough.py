"""The walk-through of issue 20 as a new user does it: a SLEAP project in, a model trained, a video predicted, NWB out.

A small SLEAP project is made with sleap-io from the mirror-mouse data (in tmp_path), imported with
``posedesk import-sleap``, trained for 2 epochs at 64x64, used to predict a 30-frame clip of the
mirror-mouse video with ``pose-predict --nwb``, exported with ``posedesk export-nwb``, and both NWB
files are read back with pynwb (and the export with sleap-io).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("sleap_io", reason="sleap-io is not installed (pip install 'posedesk[formats]')")
pynwb = pytest.importorskip("pynwb", reason="pynwb is not installed (pip install 'posedesk[formats]')")

from pose_core.cli import train_main  # noqa: E402
from pose_core.inference.cli import predict_main  # noqa: E402
from pose_core.interop.nwb_export import export_nwb_main  # noqa: E402
from pose_core.interop.sleap import import_sleap_main  # noqa: E402
from pose_core.io.predictions import read_predictions_csv  # noqa: E402
from tests.core.sleap_fixture import MIRROR_MOUSE_DIR, make_sleap_project  # noqa: E402

CLIP_FRAMES = 30


def _clip(source: Path, target: Path, n_frames: int) -> float:
    """The first ``n_frames`` of ``source`` as a new mp4; returns its fps."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(n_frames):
        ok, frame = capture.read()
        assert ok
        if writer is None:
            height, width = frame.shape[:2]
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
        writer.write(frame)
    assert writer is not None
    writer.release()
    capture.release()
    return float(fps)


@pytest.mark.slow
@pytest.mark.skipif(not MIRROR_MOUSE_DIR.is_dir(), reason="../shared/data/mirror-mouse-example is absent")
def test_sleap_project_to_trained_model_to_nwb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sleap = make_sleap_project(tmp_path / "sleap", n_images=24, embed=True)
    project = tmp_path / "mice"
    assert import_sleap_main([str(sleap.pkg_slp), str(project)]) == 0
    fps = _clip(MIRROR_MOUSE_DIR / "videos" / "test_vid.mp4", project / "videos" / "clip.mp4", CLIP_FRAMES)
    run = project / "outputs" / "2026-12-03" / "walk"
    train = [
        "--config-path", str(project), "--config-name", "config.yaml", "data.image_resize_dims.height=64",
        "data.image_resize_dims.width=64", "training.max_epochs=2", "training.train_batch_size=8",
        "training.imgaug=none", "eval.predict_vids_after_training=false", f"hydra.run.dir={run}",
    ]  # fmt: skip
    assert train_main(train) == 0
    assert predict_main([str(run), str(project / "videos" / "clip.mp4"), "--nwb"]) == 0
    table = read_predictions_csv(run / "video_preds" / "clip.csv", expected_rows=CLIP_FRAMES)
    with pynwb.NWBHDF5IO(str(run / "video_preds" / "clip.nwb"), mode="r") as io:
        estimation = io.read().processing["behavior"]["PoseEstimation"]
        assert estimation.source_software == "PoseDesk"
        names = list(estimation.skeleton.nodes[:])
        assert names == sleap.keypoint_names
        assert [(names[a], names[b]) for a, b in estimation.skeleton.edges[:]] == sleap.edges  # from the .slp
        for k, name in enumerate(names):
            series = estimation.pose_estimation_series[name]
            np.testing.assert_allclose(series.data[:], table.preds[:, k, :2])
            np.testing.assert_allclose(series.confidence[:], table.preds[:, k, 2])
            assert series.rate == pytest.approx(fps)
    export = tmp_path / "mice.nwb"
    assert export_nwb_main([str(project), str(export)]) == 0  # the newest run that predicted a project video
    assert "25 labelled frames, predictions of clip.mp4" in capsys.readouterr().out
    with pynwb.NWBHDF5IO(str(export), mode="r") as io:
        behavior = io.read().processing["behavior"]
        assert len(behavior["PoseTraining"].training_frames.training_frames) == 25
        assert behavior["PoseEstimation"].pose_estimation_series["nose_top"].data.shape == (CLIP_FRAMES, 2)
    import sleap_io as sio

    labels = sio.load_nwb(str(export))
    assert len(labels.labeled_frames) == 25 and labels.skeletons[0].node_names == sleap.keypoint_names
