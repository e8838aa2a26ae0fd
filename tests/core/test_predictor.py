"""Tests of pose_core.inference: Predictor, the streaming pipeline and prediction after training."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pose_core.config.io import load_config
from pose_core.data.preprocess import resize_frame, scale_keypoints, to_tensor_normalized
from pose_core.errors import DataError, RunError
from pose_core.events import EventWriter, read_events
from pose_core.inference import pipeline
from pose_core.inference.after_training import predict_videos_after_training
from pose_core.inference.pipeline import (
    PREFETCH_BATCHES,
    PredictionStopped,
    StreamingPredictionWriter,
    VideoOutputs,
    plan_outputs,
    predict_video_to_csv,
)
from pose_core.inference.predictor import Predictor
from pose_core.io.predictions import (
    read_error_csv,
    read_predictions_csv,
    write_error_csv,
    write_predictions_csv,
)
from pose_core.metrics import temporal_norm
from pose_core.training.module import load_module
from pose_core.video.reader import VideoReader, probe_video
from tests.core.conftest import (
    INDEX_VIDEO_WH,
    TinyRun,
    decode_frame_index,
    make_index_video,
    make_run_dir,
    tiny_config_overrides,
)


class IndexPredictor:
    """A stand-in model reading the frame index from the pixels.

    Keypoint ``idx`` is at input pixel (31.5, index) with likelihood index / 1000; keypoint
    ``other`` stays at input pixel (40, 40) with likelihood 0.5.
    """

    keypoint_names = ["idx", "other"]
    input_hw = (64, 64)

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def predict_resized(self, images_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert images_rgb.dtype == np.uint8 and images_rgb.shape[1:] == (64, 64, 3)
        self.batch_sizes.append(len(images_rgb))
        indices = np.array([decode_frame_index(image) for image in images_rgb], dtype=np.float64)
        xy = np.full((len(images_rgb), 2, 2), 40.0)
        xy[:, 0, 0] = 31.5  # the input's centre column -> the video's centre column
        xy[:, 0, 1] = indices  # moves down by 1 input pixel per frame
        return xy, np.stack([indices / 1000.0, np.full(len(indices), 0.5)], axis=1)


@pytest.fixture(scope="module")
def predictor(tiny_run: TinyRun) -> Predictor:
    return Predictor.from_run(tiny_run.run_dir, device="cpu")


def _outputs(tmp_path: Path, video: Path) -> VideoOutputs:
    return VideoOutputs.for_video(video, tmp_path / "preds")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_from_run_loads_names_input_size_and_device(predictor: Predictor, tiny_run: TinyRun) -> None:
    assert predictor.keypoint_names == tiny_run.keypoint_names
    assert predictor.input_hw == (64, 64)
    assert predictor.device == torch.device("cpu")
    assert predictor.checkpoint == tiny_run.checkpoint


def test_from_run_refuses_a_checkpoint_of_other_keypoints(tmp_path: Path, tiny_checkpoint: Path) -> None:
    run_dir = make_run_dir(tmp_path / "run", tiny_checkpoint, config_keypoints=["nose", "tail", "paw"])
    with pytest.raises(RunError, match=r"other keypoints.*ear_l.*tail"):
        Predictor.from_run(run_dir, device="cpu")


def test_prediction_loads_the_model_without_lightning(tiny_run: TinyRun) -> None:
    """Prediction start-up skips pytorch_lightning's ~2 s import: the checkpoint is plain data."""
    import subprocess
    import sys

    code = (
        "import sys; from pose_core.inference.predictor import Predictor; "
        f"p = Predictor.from_run({str(tiny_run.run_dir)!r}, device='cpu'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytorch_lightning', 'lightning', 'torchmetrics')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", "torch-dict"])
def test_a_file_that_is_not_a_posedesk_checkpoint_is_refused(
    tmp_path: Path, content: bytes | str, tiny_run: TinyRun
) -> None:
    ckpt = tmp_path / "model.ckpt"
    if content == "torch-dict":
        torch.save({"state_dict": {}}, ckpt)  # readable, but not ours
    else:
        ckpt.write_bytes(content)  # type: ignore[arg-type]
    with pytest.raises(RunError, match=r"model\.ckpt.*(not a readable PoseDesk|not a PoseDesk) checkpoint"):
        Predictor.from_run(tiny_run.run_dir, checkpoint=ckpt, device="cpu")


def test_predict_frames_matches_training_preprocessing_in_frame_pixels(predictor: Predictor, tiny_run: TinyRun) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (90, 120, 3), dtype=np.uint8), rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)]
    got = predictor.predict_frames(frames)
    module = load_module(tiny_run.checkpoint)
    for frame, row in zip(frames, got, strict=True):
        image = to_tensor_normalized(resize_frame(frame, 64, 64))[None]
        xy, likelihood = module.model.predict(image.contiguous(memory_format=torch.channels_last))
        expected_xy = scale_keypoints(xy[0].double().numpy(), (64, 64), frame.shape[:2])
        np.testing.assert_allclose(row[:, :2], expected_xy, atol=1e-3)
        np.testing.assert_allclose(row[:, 2], likelihood[0].double().numpy(), atol=1e-5)
    assert got.shape == (2, 3, 3)
    # a single frame and a batch array give the same numbers
    np.testing.assert_allclose(predictor.predict_frames(frames[0]), got[:1], atol=1e-4)


def test_predict_video_row_i_is_frame_i(predictor: Predictor, tmp_path: Path) -> None:
    video = make_index_video(tmp_path / "clip.avi", 21, "MJPG")
    preds = predictor.predict_video(video, batch_size=4)
    with VideoReader(video) as reader:
        frames = [frame for _, frame in reader.iter_frames()]
    expected = predictor.predict_frames(frames)
    assert preds.shape == (21, 3, 3)
    np.testing.assert_allclose(preds, expected, atol=1e-4)
    shifted = np.abs(preds[1:] - expected[:-1]).max()
    assert shifted > 1e-3, "rows shifted by one frame must differ, or this test proves nothing"


def test_csv_rows_are_exact_frames_with_partial_last_batch(tmp_path: Path) -> None:
    video = make_index_video(tmp_path / "clip.mp4", 50)
    model = IndexPredictor()
    out = _outputs(tmp_path, video)
    stats = predict_video_to_csv(model, video, out.csv_path, out.temporal_norm_path, batch_size=7)
    assert stats.n_frames == 50 and model.batch_sizes == [7] * 7 + [1]
    table = read_predictions_csv(out.csv_path, expected_rows=50)
    assert table.index == list(range(50))
    np.testing.assert_allclose(table.preds[:, 0, 2], np.arange(50) / 1000)
    width, height = INDEX_VIDEO_WH
    np.testing.assert_allclose(table.preds[:, 0, 0], (width - 1) / 2)  # input pixels -> video pixels
    np.testing.assert_allclose(table.preds[:, 0, 1], (np.arange(50) + 0.5) * height / 64 - 0.5, atol=1e-4)
    norms = read_error_csv(out.temporal_norm_path, expected_rows=50)
    assert np.isnan(norms.errors[0]).all()
    np.testing.assert_allclose(norms.errors[1:, 0], height / 64, atol=1e-3)
    np.testing.assert_allclose(norms.errors[1:, 1], 0.0, atol=1e-4)


def test_streamed_files_equal_the_whole_file_writers(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    preds = rng.uniform(-5, 500, (23, 2, 3))
    preds[3, 1] = np.nan
    names = ["nose", 'tail "base", left']
    csv_path, norm_path = tmp_path / "s.csv", tmp_path / "s_tn.csv"
    with open(csv_path, "w", newline="") as f_csv, open(norm_path, "w", newline="") as f_norm:
        writer = StreamingPredictionWriter(f_csv, f_norm, names)
        for start in range(0, 23, 5):
            writer.write_batch(start, preds[start : start + 5])
    write_predictions_csv(tmp_path / "w.csv", names, preds, list(range(23)))
    write_error_csv(tmp_path / "w_tn.csv", names, temporal_norm(preds[..., :2]), list(range(23)))
    assert csv_path.read_text() == (tmp_path / "w.csv").read_text()
    assert norm_path.read_text() == (tmp_path / "w_tn.csv").read_text()


def test_decoding_runs_at_most_a_few_batches_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = make_index_video(tmp_path / "clip.avi", 120, "MJPG")
    decoded = [0]
    original = VideoReader.iter_frames

    def counting(self: VideoReader, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for item in original(self, *args, **kwargs):  # type: ignore[arg-type]
            decoded[0] += 1
            yield item

    monkeypatch.setattr(VideoReader, "iter_frames", counting)
    leads: list[int] = []
    model = IndexPredictor()

    def slow_predict(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import time

        time.sleep(0.01)
        leads.append(decoded[0] - sum(model.batch_sizes))
        return IndexPredictor.predict_resized(model, images)

    monkeypatch.setattr(model, "predict_resized", slow_predict)
    out = _outputs(tmp_path, video)
    predict_video_to_csv(model, video, out.csv_path, out.temporal_norm_path, batch_size=4)
    assert max(leads) <= (PREFETCH_BATCHES + 2) * 4, "the decoder must not run ahead without bound"


def test_stop_removes_partial_files_and_keeps_the_old_ones(tmp_path: Path) -> None:
    video = make_index_video(tmp_path / "clip.mp4", 40)
    out = _outputs(tmp_path, video)
    out.csv_path.parent.mkdir()
    out.csv_path.write_text("old predictions\n")
    model = IndexPredictor()
    with pytest.raises(PredictionStopped):
        predict_video_to_csv(
            model,
            video,
            out.csv_path,
            out.temporal_norm_path,
            batch_size=8,
            should_stop=lambda: len(model.batch_sizes) >= 2,
        )
    assert model.batch_sizes == [8, 8]
    assert _leftovers(out.csv_path.parent) == ["clip.csv"]
    assert out.csv_path.read_text() == "old predictions\n"


def test_decode_error_mid_video_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video = make_index_video(tmp_path / "clip.mp4", 40)
    original = VideoReader.iter_frames

    def truncated(self: VideoReader, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for frame_idx, frame in original(self, *args, **kwargs):  # type: ignore[arg-type]
            if frame_idx == 25:
                raise DataError(f"Frame 25 of video {self.path} cannot be decoded.", path=str(self.path))
            yield frame_idx, frame

    monkeypatch.setattr(VideoReader, "iter_frames", truncated)
    out = _outputs(tmp_path, video)
    with pytest.raises(DataError, match="Frame 25"):
        predict_video_to_csv(IndexPredictor(), video, out.csv_path, out.temporal_norm_path, batch_size=8)
    assert _leftovers(out.csv_path.parent) == []


def test_plan_outputs_refuses_two_videos_with_one_stem(tmp_path: Path) -> None:
    plans = plan_outputs([tmp_path / "a.mp4", tmp_path / "b.mp4"], tmp_path / "out")
    assert [p.labeled_video_path for p in plans][1] == tmp_path / "out" / "labeled_videos" / "b_labeled.mp4"
    with pytest.raises(DataError, match=r"a\.avi.*both write"):
        plan_outputs([tmp_path / "a.mp4", tmp_path / "a.avi"], tmp_path / "out")


def _after_training_cfg(run_dir: Path, *extra: str) -> object:
    return load_config(None, [*tiny_config_overrides(run_dir / "data"), *extra], check_paths=False).cfg


def test_after_training_writes_csvs_and_labeled_videos(tmp_path: Path, tiny_run: TinyRun) -> None:
    video_dir = tmp_path / "data" / "videos"
    video_dir.mkdir(parents=True)
    make_index_video(video_dir / "mouse.avi", 12, "MJPG")
    cfg = _after_training_cfg(tmp_path, "eval.save_vids_after_training=true", "eval.colormap=jet")
    writer = EventWriter(tmp_path / "events.jsonl")
    written = predict_videos_after_training(cfg, tmp_path, tiny_run.checkpoint, writer)  # type: ignore[arg-type]
    writer.close()
    phases = [e.data["phase"] for e in read_events(tmp_path / "events.jsonl")]
    assert phases == ["predicting_videos", "rendering_videos"]
    preds_dir = tmp_path / "video_preds"
    labeled = preds_dir / "labeled_videos" / "mouse_labeled.mp4"
    assert written == [preds_dir / "mouse.csv", preds_dir / "mouse_temporal_norm.csv", labeled]
    assert read_predictions_csv(preds_dir / "mouse.csv", expected_rows=12).keypoint_names == tiny_run.keypoint_names
    assert probe_video(labeled).n_frames == 12


def test_after_training_honours_the_eval_keys(tmp_path: Path, tiny_run: TinyRun) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    make_index_video(other / "test.mp4", 5)
    cfg = _after_training_cfg(
        tmp_path, f"eval.test_videos_directory={other}", f"eval.saved_vid_preds_dir={tmp_path / 'p'}"
    )
    written = predict_videos_after_training(cfg, tmp_path, tiny_run.checkpoint, None)  # type: ignore[arg-type]
    assert written == [tmp_path / "p" / "test.csv", tmp_path / "p" / "test_temporal_norm.csv"]
    off = _after_training_cfg(tmp_path, "eval.predict_vids_after_training=false")
    assert predict_videos_after_training(off, tmp_path / "r2", tiny_run.checkpoint, None) == []  # type: ignore[arg-type]
    assert not (tmp_path / "r2").exists()


def test_after_training_without_videos_is_a_message_not_a_failure(tmp_path: Path, tiny_run: TinyRun) -> None:
    writer = EventWriter(tmp_path / "events.jsonl")
    cfg = _after_training_cfg(tmp_path)  # data/videos does not exist
    assert predict_videos_after_training(cfg, tmp_path, tiny_run.checkpoint, writer) == []  # type: ignore[arg-type]
    writer.close()
    messages = [e.data["message"] for e in read_events(tmp_path / "events.jsonl")]
    assert any("Skipping video predictions" in m and "does not exist" in m for m in messages)


def test_labeled_video_has_dots_where_predictions_are_confident(tmp_path: Path) -> None:
    video = make_index_video(tmp_path / "clip.avi", 6, "MJPG")
    out = _outputs(tmp_path, video)
    model = IndexPredictor()  # keypoint "other" has likelihood 0.5, "idx" at most 0.005
    pipeline.predict_video_outputs(model, out, labeled_video=pipeline.LabeledVideoOptions("jet", 0.4), batch_size=4)
    with VideoReader(out.labeled_video_path) as drawn, VideoReader(video) as source:
        assert (drawn.n_frames, drawn.fps) == (6, source.fps)
        frame_idx = 3
        diff = cv2.absdiff(drawn.read(frame_idx), source.read(frame_idx)).max(axis=2)
    video_hw = (INDEX_VIDEO_WH[1], INDEX_VIDEO_WH[0])
    x_other, y_other = scale_keypoints(np.array([40.0, 40.0]), (64, 64), video_hw)
    x_idx, y_idx = scale_keypoints(np.array([31.5, float(frame_idx)]), (64, 64), video_hw)
    assert diff[round(y_other), round(x_other)] > 60, "a confident keypoint is drawn"
    assert diff[round(y_idx), round(x_idx)] < 30, "a keypoint below the threshold is not drawn"


@pytest.mark.parametrize(
    ("shape", "size_hw"), [((406, 396, 3), (128, 128)), ((60, 80, 3), (64, 64)), ((48, 40, 1), (96, 64))]
)
def test_pillow_resize_of_torch_free_processes_matches_torchs_filter(
    shape: tuple[int, ...], size_hw: tuple[int, int]
) -> None:
    """Prediction without torch (a cached ONNX export) resizes with Pillow: the same antialiased bilinear
    filter as torch's, pixel for pixel except rare one-grey-level roundings."""
    from pose_core.data.preprocess import _resize_pillow

    image = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8), (0, 0), 2)
    image = image.reshape(shape)
    by_torch = resize_frame(image, *size_hw).astype(int)  # torch is imported in the test process
    by_pillow = _resize_pillow(image, *size_hw).astype(int)
    assert by_pillow.shape == by_torch.shape == (*size_hw, shape[2])
    assert np.abs(by_pillow - by_torch).max() <= 1 and (by_pillow != by_torch).mean() < 0.05
