"""Tests of ``pose-predict`` (pose_core.inference.cli.predict_main): outputs, skipping, progress
events, graceful stop, and one test per kind of bad input (exit 2, one line, nothing half-written)."""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from pose_core.events import read_events
from pose_core.inference.cli import predict_main
from pose_core.inference.pipeline import StreamingPredictionWriter
from pose_core.inference.predictor import Predictor
from pose_core.io.predictions import read_error_csv, read_predictions_csv
from pose_core.video.reader import probe_video
from tests.core.conftest import MIRROR_MOUSE_DIR, TinyRun, make_index_video, make_run_dir, save_tiny_checkpoint


@pytest.fixture()
def videos(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    make_index_video(folder / "a.mp4", 9)
    make_index_video(folder / "b.avi", 6, "MJPG")
    (folder / "notes.txt").write_text("not a video")
    return folder


def _error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("pose-predict: error:")]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _assert_user_error(code: int, capsys: pytest.CaptureFixture[str], pattern: str, out: Path) -> None:
    lines = _error_lines(capsys)
    assert code == 2
    assert len(lines) == 1 and "\n" not in lines[0]
    assert pattern.lower() in lines[0].lower(), lines[0]
    assert [name for name in _files(out) if name.endswith(".csv") or ".partial" in name] == []


def test_predicts_every_frame_into_csvs_labeled_videos_and_events(
    tiny_run: TinyRun, videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = [str(tiny_run.run_dir), str(videos), "--output-dir", str(out), "--batch-size", "4", "--labeled-video"]
    assert predict_main(args) == 0
    for stem, n_frames in (("a", 9), ("b", 6)):
        table = read_predictions_csv(out / f"{stem}.csv", expected_rows=n_frames)
        assert table.keypoint_names == tiny_run.keypoint_names and table.index == list(range(n_frames))
        x, y = table.preds[..., 0], table.preds[..., 1]
        assert ((x > -0.5) & (x < 79.5) & (y > -0.5) & (y < 59.5)).all(), "coordinates are in video pixels"
        assert read_error_csv(out / f"{stem}_temporal_norm.csv", expected_rows=n_frames).keypoint_names
        assert probe_video(out / "labeled_videos" / f"{stem}_labeled.mp4").n_frames == n_frames
    events = read_events(out / "predict_events.jsonl")
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and events[0].data["job"] == "predict" and kinds[-1] == "finished"
    progress = [e.data for e in events if e.kind == "progress" and e.data["stage"] == "predict"]
    assert {(p["video_idx"], p["frames_done"]) for p in progress} >= {(0, 9), (1, 6)}
    assert all(p["frames_per_s"] > 0 for p in progress)
    assert "a.mp4: 9 frames" in capsys.readouterr().out


def test_existing_outputs_are_kept_unless_overwrite(
    tiny_run: TinyRun, videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    video = videos / "b.avi"
    assert predict_main([str(tiny_run.run_dir), str(video), "--output-dir", str(out)]) == 0
    (out / "b.csv").write_text((out / "b.csv").read_text().replace("posedesk", "kept"))
    (out / "b_temporal_norm.csv").unlink()
    assert predict_main([str(tiny_run.run_dir), str(video), "--output-dir", str(out)]) == 0
    assert "kept existing" in capsys.readouterr().out
    assert read_predictions_csv(out / "b.csv").scorer == "kept"
    assert (out / "b_temporal_norm.csv").is_file(), "a missing temporal norm is rebuilt from the CSV"
    assert predict_main([str(tiny_run.run_dir), str(video), "--output-dir", str(out), "--overwrite"]) == 0
    assert read_predictions_csv(out / "b.csv").scorer == "posedesk"


def test_default_output_is_the_run_video_preds_and_checkpoint_option(
    tmp_path: Path, tiny_checkpoint: Path, videos: Path
) -> None:
    run_dir = make_run_dir(tmp_path / "run", None)
    assert predict_main([str(run_dir), str(videos / "b.avi"), "--checkpoint", str(tiny_checkpoint)]) == 0
    assert read_predictions_csv(run_dir / "video_preds" / "b.csv", expected_rows=6)


def _stop_after_first_batch(monkeypatch: pytest.MonkeyPatch, action: object) -> None:
    original = Predictor.predict_resized

    def predict_then_act(self: Predictor, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = original(self, images)
        action()  # type: ignore[operator]
        return result

    monkeypatch.setattr(Predictor, "predict_resized", predict_then_act)


@pytest.mark.parametrize("how", ["stop_file", "sigint"])
def test_graceful_stop_exits_130_and_removes_partial_outputs(
    how: str, tiny_run: TinyRun, videos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    events = tmp_path / "events" / "ev.jsonl"
    if how == "stop_file":
        _stop_after_first_batch(monkeypatch, lambda: (events.parent / "STOP").touch())
    else:
        _stop_after_first_batch(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGINT))
    args = [str(tiny_run.run_dir), str(videos / "a.mp4"), "--output-dir", str(out), "--batch-size", "2"]
    assert predict_main([*args, "--events", str(events), "--engine", "torch"]) == 130
    assert [n for n in _files(out) if n.endswith(".csv") or ".partial" in n] == []
    assert read_events(events)[-1].kind == "stopped"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "the handler is restored"


def test_missing_path(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = predict_main([str(tiny_run.run_dir), str(tmp_path / "nope.mp4"), "--output-dir", str(tmp_path / "o")])
    _assert_user_error(code, capsys, "does not exist", tmp_path / "o")


def test_directory_without_videos(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    code = predict_main([str(tiny_run.run_dir), str(tmp_path / "empty"), "--output-dir", str(tmp_path / "o")])
    _assert_user_error(code, capsys, "contains no video files", tmp_path / "o")


def test_corrupt_video(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    code = predict_main([str(tiny_run.run_dir), str(bad), "--output-dir", str(tmp_path / "o")])
    _assert_user_error(code, capsys, "bad.mp4", tmp_path / "o")


def test_zero_frame_video(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = make_index_video(tmp_path / "empty.avi", 0, "MJPG")
    code = predict_main([str(tiny_run.run_dir), str(empty), "--output-dir", str(tmp_path / "o")])
    _assert_user_error(code, capsys, "empty.avi", tmp_path / "o")


def test_run_dir_without_checkpoint(tmp_path: Path, videos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run_dir(tmp_path / "run", None)
    code = predict_main([str(run_dir), str(videos)])
    _assert_user_error(code, capsys, "holds no checkpoint", run_dir)


def test_run_dir_without_config(
    tmp_path: Path, tiny_checkpoint: Path, videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = make_run_dir(tmp_path / "run", tiny_checkpoint, config_keypoints=None)
    code = predict_main([str(run_dir), str(videos)])
    _assert_user_error(code, capsys, "has no config.yaml", run_dir)


def test_checkpoint_of_another_keypoint_set(
    tmp_path: Path, tiny_run: TinyRun, videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = save_tiny_checkpoint(tmp_path / "other.ckpt", ["head", "tail"])
    out = tmp_path / "o"
    code = predict_main([str(tiny_run.run_dir), str(videos), "--checkpoint", str(other), "--output-dir", str(out)])
    _assert_user_error(code, capsys, "other keypoints (2: head, tail)", out)
    assert read_events(out / "predict_events.jsonl")[-1].kind == "failed"


def test_unwritable_output_dir(
    tiny_run: TinyRun, videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_file").write_text("x")
    code = predict_main([str(tiny_run.run_dir), str(videos), "--output-dir", str(tmp_path / "a_file" / "out")])
    _assert_user_error(code, capsys, "is not writable", tmp_path)


def test_full_disk_leaves_no_half_written_csv(
    tiny_run: TinyRun, videos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = StreamingPredictionWriter.write_batch

    def fill_disk(self: StreamingPredictionWriter, start_idx: int, preds: np.ndarray) -> None:
        if start_idx > 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, start_idx, preds)

    monkeypatch.setattr(StreamingPredictionWriter, "write_batch", fill_disk)
    out = tmp_path / "o"
    code = predict_main([str(tiny_run.run_dir), str(videos / "a.mp4"), "--output-dir", str(out), "--batch-size", "4"])
    _assert_user_error(code, capsys, "disk full", out)
    assert _files(out) == ["predict_events.jsonl"]


def test_bad_batch_size_is_a_usage_error(tiny_run: TinyRun, videos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = predict_main([str(tiny_run.run_dir), str(videos), "--batch-size", "0"])
    _assert_user_error(code, capsys, "--batch-size must be between 1", videos)


@pytest.mark.slow
def test_mirror_mouse_video_gets_one_row_per_frame(tiny_run: TinyRun, tmp_path: Path) -> None:
    video = MIRROR_MOUSE_DIR / "videos" / "test_vid.mp4"
    if not video.is_file():
        pytest.skip(f"the mirror-mouse example data is not at {MIRROR_MOUSE_DIR}")
    out = tmp_path / "out"
    assert predict_main([str(tiny_run.run_dir), str(video), "--output-dir", str(out)]) == 0
    table = read_predictions_csv(out / "test_vid.csv", expected_rows=994)
    assert table.index == list(range(994))
    assert (table.preds[..., 0] < 396).all() and (table.preds[..., 1] < 406).all()


def test_progress_reports_rate_and_eta_per_stage(tmp_path: Path) -> None:
    import io
    import time

    from pose_core.events import EventWriter
    from pose_core.inference.cli import ProgressReporter

    writer = EventWriter(tmp_path / "ev.jsonl")
    stream = io.StringIO()
    reporter = ProgressReporter(writer, n_videos=2, frames_to_predict=30, stream=stream)
    reporter.start(0, Path("a.mp4"))
    time.sleep(0.05)
    reporter("predict", 10, 10)
    time.sleep(0.05)
    reporter("render", 10, 10)
    writer.close()
    predict, render = (e.data for e in read_events(tmp_path / "ev.jsonl"))
    assert predict["stage"] == "predict" and 10 / 1.0 < predict["frames_per_s"] < 10 / 0.05 + 1
    assert predict["eta_s"] == pytest.approx(20 / predict["frames_per_s"]), "the ETA counts the next video's frames"
    assert render["stage"] == "render" and render["frames_per_s"] < 10 / 0.05 + 1, "a stage is timed from its start"
    assert "[1/2] a.mp4 predict: 10/10 frames" in stream.getvalue()
