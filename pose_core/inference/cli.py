"""``pose-predict RUN_DIR VIDEO_OR_DIR...``: predict keypoints on every frame of videos.

Writes ``<output-dir>/<stem>.csv`` (three header rows, one row per frame, video pixels) and
``<stem>_temporal_norm.csv`` for each video, optionally ``labeled_videos/<stem>_labeled.mp4``,
with ``--dlc``, DeepLabCut's ``<stem>DLC_posedesk.h5`` and ``.csv`` and, with ``--nwb``, ``<stem>.nwb``
(:mod:`pose_core.io.nwb`); existing CSVs are kept unless
``--overwrite``. Progress goes to the terminal (a bar on a
terminal, a line every 10% otherwise) and, as JSON lines in the training events format
(``started`` with ``job="predict"``, ``phase``, ``progress``, ``finished`` / ``stopped`` /
``failed``), to ``<output-dir>/predict_events.jsonl`` or ``--events FILE`` (appended to). A file
named ``STOP`` next to the events file, SIGINT or SIGTERM stops after the current batch: the
current video's partial outputs are removed and the exit status is 130.

User errors print one line ``pose-predict: error: ...`` and exit with status 2. Heavy libraries
are imported inside functions (run it as ``python -m pose_core.inference.cli``).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from pose_core.cli_support import OneLineArgumentParser, UsageError, run_command
from pose_core.errors import DataError, PoseDeskError
from pose_core.events import EventWriter
from pose_core.inference.engines import ENGINE_CHOICES, EXPORT_DIRNAME
from pose_core.inference.pipeline import (
    DEFAULT_BATCH_SIZE,
    LabeledVideoOptions,
    PredictionStopped,
    VideoOutputs,
    VideoResult,
    plan_outputs,
    predict_video_outputs,
)
from pose_core.runs.layout import PREDICT_EVENTS_FILENAME, STOP_FILENAME, VIDEO_PREDS_DIRNAME

if TYPE_CHECKING:
    from pose_core.inference.pipeline import BatchPredictor
    from pose_core.inference.predictor import Predictor

PROG = "pose-predict"
EXIT_STOPPED = 130
MAX_BATCH_SIZE = 1024
EVENT_INTERVAL_S = 0.5  # progress events at most 2 Hz
BAR_INTERVAL_S = 0.1
BAR_WIDTH = 24


def build_parser() -> argparse.ArgumentParser:
    """The ``pose-predict`` argument parser."""
    parser = OneLineArgumentParser(
        prog=PROG,
        description="Predict keypoints on every frame of videos with a trained PoseDesk model.",
        epilog="Outputs: <output-dir>/<stem>.csv (one row per frame, video pixels), <stem>_temporal_norm.csv, "
        "labeled_videos/<stem>_labeled.mp4. Stop: create a file STOP next to the events file, or Ctrl+C.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="training run folder (written by pose-train)")
    parser.add_argument("videos", metavar="VIDEO_OR_DIR", type=Path, nargs="+", help="video files or folders of videos")
    parser.add_argument(
        "--output-dir", metavar="DIR", type=Path, default=None, help="where outputs go (default: RUN_DIR/video_preds)"
    )
    parser.add_argument(
        "--batch-size",
        metavar="N",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"frames per forward pass (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument("--overwrite", action="store_true", help="predict again videos that already have a CSV")
    parser.add_argument(
        "--labeled-video", action="store_true", help="also write labeled_videos/<stem>_labeled.mp4 (colours and "
        "threshold from the run's eval.colormap and eval.confidence_thresh_for_vid)"
    )  # fmt: skip
    parser.add_argument(
        "--dlc",
        action="store_true",
        help="also write <stem>DLC_posedesk.h5 and .csv in DeepLabCut's layout (read by DeepLabCut's tools)",
    )
    parser.add_argument(
        "--nwb",
        action="store_true",
        help="also write <stem>.nwb (Neurodata Without Borders, ndx-pose PoseEstimation; needs posedesk[formats]); "
        "an existing one is replaced only with --overwrite",
    )
    parser.add_argument(
        "--checkpoint", metavar="CKPT", type=Path, default=None, help="checkpoint to use (default: the run's best)"
    )
    parser.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        default="auto",
        help="what runs the model: auto (the fastest here: onnxruntime, then openvino, else torch), torch, "
        "onnxruntime or openvino (exported once per checkpoint to RUN_DIR/exported)",
    )
    parser.add_argument(
        "--eks",
        action="store_true",
        help="ensemble: give 2+ run folders before the videos (RUN1 RUN2 ... VIDEO); writes each member's predictions, "
        "the ensemble mean and variance and the Ensemble Kalman smoothed <stem>_eks.csv",
    )
    parser.add_argument(
        "--eks-smooth-param",
        metavar="S",
        type=_eks_param,
        default=None,
        help="EKS smoothing parameter (smaller = smoother; default: fitted per keypoint by eks)",
    )
    parser.add_argument(
        "--events",
        metavar="FILE",
        type=Path,
        default=None,
        help=f"progress events file (default: <output-dir>/{PREDICT_EVENTS_FILENAME})",
    )
    return parser


def _eks_param(text: str) -> float:
    from pose_core.ensemble.predict import eks_param

    return eks_param(text)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and check the arguments.

    Raises:
        UsageError: Unknown option, missing argument or bad value.
    """
    args = build_parser().parse_args(list(argv))
    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        raise UsageError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}, got {args.batch_size}.")
    return args


# ----------------------------------------------------------------------------- checks and setup


def collect_videos(paths: Sequence[Path]) -> list[Path]:
    """The video files named by the arguments (folders expanded), each once, in order.

    Raises:
        DataError: A path is missing, not a video, or a folder with no videos.
    """
    from pose_core.video.reader import list_videos

    seen: set[Path] = set()
    videos = []
    for path in paths:
        for video in list_videos(path):
            if video.resolve() not in seen:
                seen.add(video.resolve())
                videos.append(video)
    return videos


def check_output_dir(output_dir: Path) -> None:
    """Create ``output_dir`` and check that files can be written in it.

    Raises:
        DataError: It cannot be created or written.
    """
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise DataError(
            f"Output directory {output_dir} is not writable ({exc.strerror or exc}): choose another "
            "--output-dir or fix the folder's permissions.",
            path=str(output_dir),
        ) from exc


def open_event_writer(path: Path) -> EventWriter:
    """Open the events file for appending.

    Raises:
        DataError: It cannot be created.
    """
    try:
        return EventWriter(path)
    except OSError as exc:
        raise DataError(
            f"Events file {path} cannot be written ({exc.strerror or exc}): give another --events path.", path=str(path)
        ) from exc


class StopRequest:
    """A stop asked for by a signal or by a ``STOP`` file; polled between batches.

    Args:
        stop_file: The file whose existence means "stop".
    """

    def __init__(self, stop_file: Path) -> None:
        self.stop_file = stop_file
        self.signalled = False

    def __call__(self) -> bool:
        """True once a stop was requested."""
        return self.signalled or self.stop_file.exists()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """First SIGINT/SIGTERM: stop after the current batch; a second SIGINT interrupts at once."""
        if self.signalled and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signalled = True
        print(f"\n{PROG}: stopping after the current batch...", file=sys.stderr, flush=True)


@contextmanager
def _signals_handled(stop: StopRequest) -> Iterator[None]:
    """Route SIGINT/SIGTERM to ``stop`` (main thread only), restoring the handlers afterwards."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, stop.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ------------------------------------------------------------------------------------ progress


@dataclass
class _Stage:
    video_idx: int
    video: str
    stage: str
    start_s: float


class ProgressReporter:
    """Shows progress on the terminal and writes ``progress`` events (at most 2 Hz).

    Args:
        writer: The events file.
        n_videos: Number of videos in the job.
        frames_to_predict: Frames of the videos that will be predicted (for the ETA).
        stream: Terminal stream (a bar when it is a terminal, a line every 10% otherwise).
    """

    def __init__(self, writer: EventWriter, n_videos: int, frames_to_predict: int, stream: TextIO) -> None:
        self.writer = writer
        self.n_videos = n_videos
        self.frames_left = frames_to_predict
        self.stream = stream
        self.is_tty = stream.isatty()
        self._stage = _Stage(0, "", "", 0.0)
        self._last_event_s = 0.0
        self._last_bar_s = 0.0
        self._last_decile = -1
        self._last_call_s = 0.0

    def start(self, video_idx: int, video: Path) -> None:
        """A new video begins."""
        self._last_call_s = time.perf_counter()
        self._stage = _Stage(video_idx, str(video), "", self._last_call_s)

    def __call__(self, stage: str, frames_done: int, n_frames: int) -> None:
        """Report ``frames_done`` of ``n_frames`` of the current video's ``stage`` (predict / render)."""
        now = time.perf_counter()
        if stage != self._stage.stage:  # a stage starts where the previous one (or start()) ended
            self._stage = _Stage(self._stage.video_idx, self._stage.video, stage, self._last_call_s)
            self._last_decile = -1
        self._last_call_s = now
        elapsed_s = max(now - self._stage.start_s, 1e-9)
        fps = frames_done / elapsed_s
        remaining = (n_frames - frames_done) + (self.frames_left - n_frames if stage == "predict" else 0)
        eta_s = remaining / fps if fps > 0 else math.nan
        last = frames_done >= n_frames
        if last or now - self._last_event_s >= EVENT_INTERVAL_S:
            self._last_event_s = now
            self.writer.emit(
                "progress", job="predict", stage=stage, video=self._stage.video, video_idx=self._stage.video_idx,
                n_videos=self.n_videos, frames_done=frames_done, n_frames=n_frames, frames_per_s=fps, eta_s=eta_s,
            )  # fmt: skip
        self._show(stage, frames_done, n_frames, fps, eta_s, last, now)
        if last and stage == "predict":
            self.frames_left -= n_frames

    def _show(self, stage: str, done: int, total: int, fps: float, eta_s: float, last: bool, now: float) -> None:
        name = Path(self._stage.video).name
        prefix = f"[{self._stage.video_idx + 1}/{self.n_videos}] {name} {stage}"
        if self.is_tty:
            if not last and now - self._last_bar_s < BAR_INTERVAL_S:
                return
            self._last_bar_s = now
            filled = round(BAR_WIDTH * done / max(total, 1))
            eta = f"ETA {eta_s:.0f} s" if math.isfinite(eta_s) else ""
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            line = f"\r{prefix} |{bar}| {done}/{total} {fps:.1f} frames/s {eta}"
            self.stream.write(line + ("\n" if last else ""))
        else:
            decile = 10 * done // max(total, 1)
            if decile == self._last_decile and not last:
                return
            self._last_decile = decile
            self.stream.write(f"{prefix}: {done}/{total} frames, {fps:.1f} frames/s\n")
        self.stream.flush()


# ---------------------------------------------------------------------------------------- job


@dataclass
class PredictJob:
    """Everything checked before the model is loaded."""

    run_dir: Path
    config_path: Path
    checkpoint: Path
    plans: list[VideoOutputs]
    n_frames: list[int]
    output_dir: Path
    events_path: Path
    batch_size: int
    overwrite: bool
    labeled_video: bool
    dlc: bool = False
    engine: str = "auto"
    nwb: bool = False


def prepare_job(args: argparse.Namespace) -> PredictJob:
    """Check the run, the videos and the output folder (cheap checks, before loading the model).

    Raises:
        RunError: No run directory, config or checkpoint.
        DataError: Missing, empty or unreadable videos; colliding names; unwritable output.
    """
    from pose_core.inference.run_files import find_run_files
    from pose_core.video.reader import probe_video

    config_path, checkpoint = find_run_files(args.run_dir, args.checkpoint)
    videos = collect_videos(args.videos)
    n_frames = [probe_video(video).n_frames for video in videos]
    output_dir = args.output_dir if args.output_dir is not None else args.run_dir / VIDEO_PREDS_DIRNAME
    plans = plan_outputs(videos, output_dir)
    check_output_dir(output_dir)
    events_path = args.events if args.events is not None else output_dir / PREDICT_EVENTS_FILENAME
    if args.nwb:
        _check_nwb_targets(config_path, plans, args.overwrite)
    return PredictJob(
        args.run_dir, config_path, checkpoint, plans, n_frames, output_dir, events_path,
        args.batch_size, args.overwrite, args.labeled_video, args.dlc, args.engine, args.nwb,
    )  # fmt: skip


def _check_nwb_targets(config_path: Path, plans: Sequence[VideoOutputs], overwrite: bool) -> None:
    """Before predicting: pynwb is installed, the keypoint names fit NWB, no ``.nwb`` would be replaced unasked.

    Raises:
        DataError: One of these fails.
    """
    from pose_core.config.io import load_config
    from pose_core.io.nwb import check_nwb_names, check_target, nwb_modules, nwb_path_for

    nwb_modules()
    check_nwb_names(
        [str(n) for n in load_config(config_path, check_paths=False).cfg.data.keypoint_names], str(config_path)
    )
    for plan in plans:
        check_target(nwb_path_for(plan.csv_path), overwrite)


def _write_nwb(job: PredictJob, result: VideoResult) -> Path:
    """``--nwb``: write ``<stem>.nwb`` from the video's predictions CSV (skeleton from the project's import record)."""
    from pose_core.config.io import load_config
    from pose_core.io.nwb import project_skeleton, write_nwb_from_csv

    cfg = load_config(job.config_path, check_paths=False).cfg
    skeleton = project_skeleton(Path(str(cfg.data.data_dir)), [str(n) for n in cfg.data.keypoint_names])
    return write_nwb_from_csv(
        result.outputs.csv_path, result.outputs.video_path, skeleton, overwrite=job.overwrite,
        scorer=f"posedesk run {job.run_dir.absolute().name}",
    )  # fmt: skip


def _load_predictor(job: PredictJob, writer: EventWriter) -> BatchPredictor:
    """The model on the engine asked for (see :mod:`pose_core.inference.engines`); says which on stderr."""
    from pose_core.inference.engines import choose_engine, describe, expected_device, run_keypoint_names

    def load_torch() -> Predictor:
        from pose_core.inference.predictor import Predictor, resolve_device

        device = resolve_device() if expected_device(job.engine) == "cuda" or job.engine == "torch" else "cpu"
        return Predictor.from_run(job.run_dir, job.checkpoint, device)

    choice = choose_engine(
        job.engine, job.checkpoint, load_torch, job.run_dir / EXPORT_DIRNAME, run_keypoint_names(job.config_path)
    )
    print(f"{PROG}: {describe(choice)}", file=sys.stderr, flush=True)
    writer.emit("phase", phase="building_model", message=describe(choice), engine=choice.engine)
    return choice.predictor


def _labeled_options(job: PredictJob) -> LabeledVideoOptions | None:
    """Colours and threshold from the run's config when ``--labeled-video`` was given."""
    if not job.labeled_video:
        return None
    from pose_core.config.io import load_config

    cfg = load_config(job.config_path, check_paths=False).cfg
    return LabeledVideoOptions(str(cfg.eval.colormap), float(cfg.eval.confidence_thresh_for_vid))


def _report_video(result: VideoResult) -> dict[str, Any]:
    """Print one line about a finished video; return its summary for the ``finished`` event."""
    name = result.outputs.video_path.name
    if result.stats is None:
        print(f"{name}: kept existing {result.outputs.csv_path} (use --overwrite to predict again)", flush=True)
    else:
        stats = result.stats
        print(
            f"{name}: {stats.n_frames} frames in {stats.loop_s:.1f} s ({stats.frames_per_s:.1f} frames/s) "
            f"-> {result.outputs.csv_path}",
            flush=True,
        )
    dlc_files = [p.name for p in result.written if p.suffix == ".h5" or p.with_suffix(".h5") in result.written]
    if dlc_files:
        print(f"{name}: DeepLabCut-style {', '.join(dlc_files)}", flush=True)
    nwb_files = [p.name for p in result.written if p.suffix == ".nwb"]
    if nwb_files:
        print(f"{name}: NWB {', '.join(nwb_files)}", flush=True)
    return {
        "video": str(result.outputs.video_path),
        "csv": str(result.outputs.csv_path),
        "predicted": result.predicted,
        "n_frames": result.stats.n_frames if result.stats else None,
        "frames_per_s": result.stats.frames_per_s if result.stats else None,
        "loop_s": result.stats.loop_s if result.stats else None,
        "written": [str(p) for p in result.written],
    }


def run_job(job: PredictJob, writer: EventWriter, stop: StopRequest) -> list[dict[str, Any]]:
    """Load the model and predict every video; returns the per-video summaries.

    Raises:
        PoseDeskError: Checkpoint of another keypoint set, unreadable video, unwritable output.
        PredictionStopped: A stop was requested.
    """
    from pose_core.inference.engines import expected_device

    device = expected_device(job.engine)
    to_predict = [
        n for plan, n in zip(job.plans, job.n_frames, strict=True) if job.overwrite or not plan.csv_path.is_file()
    ]
    writer.emit(
        "started", pid=os.getpid(), job="predict", run_dir=str(job.run_dir), device=str(device),
        checkpoint=str(job.checkpoint), output_dir=str(job.output_dir), videos=[str(p.video_path) for p in job.plans],
        n_videos=len(job.plans), total_frames=sum(job.n_frames),
    )  # fmt: skip
    writer.emit("phase", phase="building_model", message=f"Loading {job.checkpoint}")
    predictor = _load_predictor(job, writer)
    options = _labeled_options(job)
    reporter = ProgressReporter(writer, len(job.plans), sum(to_predict), sys.stderr)
    summaries = []
    for video_idx, plan in enumerate(job.plans):
        writer.emit(
            "phase", phase="predicting_videos", message=f"Video {video_idx + 1}/{len(job.plans)}: {plan.video_path}"
        )
        reporter.start(video_idx, plan.video_path)
        result = predict_video_outputs(
            predictor, plan, batch_size=job.batch_size, overwrite=job.overwrite, labeled_video=options,
            progress=reporter, should_stop=stop, dlc=job.dlc,
        )  # fmt: skip
        if job.nwb:
            result.written.append(_write_nwb(job, result))
        summaries.append(_report_video(result))
    return summaries


def _finish(job: PredictJob, writer: EventWriter, stop: StopRequest) -> int:
    """Run the job, writing the terminal event; returns the exit status."""
    start_s = time.perf_counter()
    try:
        summaries = run_job(job, writer, stop)
    except PredictionStopped as exc:
        writer.emit("stopped", job="predict", message=str(exc))
        print(f"{PROG}: stopped ({exc}); the unfinished video's outputs were removed.", file=sys.stderr, flush=True)
        return EXIT_STOPPED
    except PoseDeskError as exc:
        writer.emit("failed", job="predict", error=str(exc).splitlines()[0], traceback=traceback.format_exc())
        raise
    except BaseException as exc:
        kind = "stopped" if isinstance(exc, KeyboardInterrupt) else "failed"
        writer.emit(kind, job="predict", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        raise
    writer.emit("finished", job="predict", elapsed_s=time.perf_counter() - start_s, videos=summaries)
    print(f"Predictions in {job.output_dir}", flush=True)
    return 0


finish_job = _finish  # the ensemble form (pose_core.ensemble.predict) runs each member's job with it


def run_predict(argv: Sequence[str]) -> int:
    """Run ``pose-predict``; returns the exit status (user errors raise PoseDeskError)."""
    args = parse_args(argv)
    if args.eks:  # an ensemble: RUN1 RUN2 ... VIDEO...
        from pose_core.ensemble.predict import run_ensemble_predict

        return run_ensemble_predict(args)
    job = prepare_job(args)
    stop = StopRequest(job.events_path.parent / STOP_FILENAME)
    stop.stop_file.unlink(missing_ok=True)
    writer = open_event_writer(job.events_path)
    try:
        with _signals_handled(stop):
            return _finish(job, writer, stop)
    finally:
        writer.close()


def predict_main(argv: Sequence[str] | None = None) -> int:
    """Console entry point of ``pose-predict``; returns the exit status."""
    try:
        return run_command(PROG, lambda: run_predict(list(sys.argv[1:] if argv is None else argv)))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return EXIT_STOPPED


if __name__ == "__main__":
    sys.exit(predict_main())
