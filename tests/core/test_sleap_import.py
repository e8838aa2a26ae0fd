"""posedesk import-sleap: a SLEAP project (made with sleap-io from the mirror-mouse data) becomes a PoseDesk project."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("sleap_io", reason="sleap-io is not installed (pip install 'posedesk[formats]')")

from pose_core.data.labels import read_labels  # noqa: E402
from pose_core.errors import DataError  # noqa: E402
from pose_core.interop.sleap import import_sleap_main, import_sleap_project  # noqa: E402
from pose_core.project import Project  # noqa: E402
from tests.core.sleap_fixture import MIRROR_MOUSE_DIR, USER_FRAME, SleapFixture, make_sleap_project  # noqa: E402

pytestmark = pytest.mark.skipif(not MIRROR_MOUSE_DIR.is_dir(), reason="../shared/data/mirror-mouse-example is absent")


@pytest.fixture(scope="module")
def sleap(tmp_path_factory: pytest.TempPathFactory) -> SleapFixture:
    return make_sleap_project(tmp_path_factory.mktemp("sleap") / "src", embed=True)


@pytest.fixture
def own_sleap(tmp_path: Path) -> SleapFixture:
    """A fixture this test may damage (move its video, add animals)."""
    return make_sleap_project(tmp_path / "src", n_images=3, embed=True)


def _gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None, path
    return image


def test_import_writes_labels_images_videos_and_a_trainable_config(sleap: SleapFixture, tmp_path: Path, capsys) -> None:
    assert import_sleap_main([str(sleap.slp), str(tmp_path / "proj")]) == 0
    out = capsys.readouterr().out
    assert "9 labelled frames" in out and "Left out 1 frame(s) with predictions only" in out
    project = Project.open(tmp_path / "proj")
    labels = project.labels
    assert labels.keypoint_names == sleap.keypoint_names
    n = len(sleap.image_names)
    assert labels.image_paths[:n] == [f"labeled-data/frames/{name}" for name in sleap.image_names]
    np.testing.assert_array_equal(labels.keypoints_px[:n], sleap.image_keypoints)  # NaN where unlabelled too
    # The video frame labelled by a user *and* predicted: the user's instance wins.
    assert labels.image_paths[n] == f"labeled-data/test_vid/img{USER_FRAME:06d}.png"
    np.testing.assert_allclose(labels.keypoints_px[n], sleap.user_keypoints)
    assert labels.n_frames == n + 1  # the prediction-only frame is left out
    for i, name in enumerate(sleap.image_names):  # image-list frames are copied as they are
        assert (project.root / labels.image_paths[i]).read_bytes() == (sleap.folder / "frames" / name).read_bytes()
    frame = _gray(project.root / labels.image_paths[n])
    assert frame.shape == (406, 396) and frame.std() > 5  # a real decoded frame of the video
    assert [v.name for v in project.videos] == ["test_vid.mp4"]
    assert (project.root / "videos" / "test_vid.mp4").is_symlink()
    record = yaml.safe_load((project.root / "sleap_import.yaml").read_text())
    assert [tuple(e) for e in record["skeleton"]] == sleap.edges
    from pose_core.config.io import load_config

    cfg = load_config(project.config_path).cfg
    assert list(cfg.data.keypoint_names) == sleap.keypoint_names and cfg.model.model_name == "project"


def test_embedded_frames_of_a_labels_package_are_the_labelled_images(sleap: SleapFixture, tmp_path: Path) -> None:
    assert sleap.pkg_slp is not None
    project = import_sleap_project(sleap.pkg_slp, tmp_path / "pkg")
    plain = import_sleap_project(sleap.slp, tmp_path / "plain")
    assert project.labels.image_paths == plain.labels.image_paths
    np.testing.assert_array_equal(project.labels.keypoints_px, plain.labels.keypoints_px)
    for image in project.labels.image_paths[: len(sleap.image_names)]:
        np.testing.assert_array_equal(_gray(project.root / image), _gray(plain.root / image))
    assert [v.name for v in project.videos] == ["test_vid.mp4"]  # the original video is linked


def test_include_predicted_imports_the_best_prediction(sleap: SleapFixture, tmp_path: Path) -> None:
    project = import_sleap_project(sleap.slp, tmp_path / "proj", include_predicted=True)
    row = project.labels.image_paths.index("labeled-data/test_vid/img000010.png")
    np.testing.assert_allclose(project.labels.keypoints_px[row], sleap.predicted_keypoints)
    record = yaml.safe_load((project.root / "sleap_import.yaml").read_text())
    assert record["frames"]["predicted"] == 1


def test_missing_video_is_named_with_the_fixes(own_sleap: SleapFixture, tmp_path: Path, capsys) -> None:
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    own_sleap.video.rename(moved / own_sleap.video.name)
    assert import_sleap_main([str(own_sleap.slp), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(own_sleap.video) in err and "--video-dir" in err
    assert not (tmp_path / "proj").exists()
    # A labels package embeds the frames: the message offers them, and the flag imports them.
    assert import_sleap_main([str(own_sleap.pkg_slp), str(tmp_path / "proj")]) == 2
    assert "--embedded-frames" in capsys.readouterr().err
    assert import_sleap_main([str(own_sleap.pkg_slp), str(tmp_path / "proj"), "--embedded-frames"]) == 0
    assert "its embedded frames were imported" in capsys.readouterr().out
    assert Project.open(tmp_path / "proj").videos == []
    # --video-dir finds it by name.
    assert import_sleap_main([str(own_sleap.slp), str(tmp_path / "proj2"), "--video-dir", str(moved)]) == 0
    assert [v.name for v in Project.open(tmp_path / "proj2").videos] == ["test_vid.mp4"]


def test_multi_animal_file_is_refused(tmp_path: Path, capsys) -> None:
    fixture = make_sleap_project(tmp_path / "src", n_images=3, two_animals=True)
    assert import_sleap_main([str(fixture.slp), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err
    assert "multi-animal" in err and "frame 2 (2 instances)" in err
    assert not (tmp_path / "proj").exists()


@pytest.mark.parametrize("content", [b"", b"not an hdf5 file" * 20])
def test_corrupt_slp_is_one_line_and_nothing_is_written(tmp_path: Path, capsys, content: bytes) -> None:
    bad = tmp_path / "broken.slp"
    bad.write_bytes(content)
    assert import_sleap_main([str(bad), str(tmp_path / "proj")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("posedesk import-sleap: error: ") and str(bad) in err and "not a readable SLEAP file" in err
    assert not (tmp_path / "proj").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken.slp"]


def test_without_sleap_io_the_message_says_what_to_install(sleap: SleapFixture, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sleap_io", None)
    with pytest.raises(DataError, match=r"pip install 'posedesk\[formats\]'"):
        import_sleap_project(sleap.slp, tmp_path / "proj")


def test_posedesk_dispatches_import_sleap_without_qt(sleap: SleapFixture, tmp_path: Path) -> None:
    from pose_gui.__main__ import main

    assert main(["import-sleap", str(sleap.slp), str(tmp_path / "proj")]) == 0
    assert read_labels(tmp_path / "proj" / "CollectedData.csv").n_frames == len(sleap.image_names) + 1
