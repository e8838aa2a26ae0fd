"""Video prediction throughput and memory of ``pose-predict`` (not a test: prints numbers).

On ``../shared/data/mirror-mouse-example/videos/test_vid.mp4`` (994 frames, 396x406) with a
random-init resnet18 128x128 heatmap model (17 keypoints, as the example's labels):

* whole process: ``python -m pose_core.inference.cli RUN VIDEO`` timed from start to exit, in
  frames/s, with its peak RSS (``/usr/bin/time``'s maximum resident set size);
* the prediction loop: frames/s from the first decoded frame to the last CSV row (the
  ``finished`` event's ``loop_s``);
* the limit, in the same run: the bare model's forward + soft-argmax decode on random
  channels-last tensors at the same batch size, measured before and after the CLI runs;
* memory: peak RSS on a generated 20,000-frame video vs a generated 1,000-frame one (same size
  and model; a smaller model input keeps it short, see ``--memory-input-size``).

Ratios are printed against Lightning Pose's figures on the same machine kind
(../shared/REFERENCE.md) and against the measured limit. The machine is shared: run it when it
is quiet, or compare only ratios measured close together.

Engines (``--engines torch,onnxruntime,openvino``): each repeat runs ``pose-predict --engine E``
for every engine in turn (alternating, so the shared machine's load hits all alike) and prints
each engine's loop and whole-process figures, the time from the command's start to the first
predicted frame (the first ``progress`` event), and the ratio to torch eager *in the same repeat*.
The export is made before the first repeat (once per checkpoint, as a user's first prediction does).

Usage: ``python benchmarks/predict_throughput.py [--batch-size 16] [--memory-frames 20000]
[--engines torch,onnxruntime,openvino] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "mirror-mouse-example"
LP_WHOLE_FPS = 20.7  # batch 64; 23.3 at batch 16
LP_WHOLE_FPS_B16 = 23.3
LP_LOOP_FPS = 40.5  # batch 16
LP_PEAK_RSS_MIB = 1682
LP_BARE_FPS = 48.3  # resnet18 128x128 forward + soft-argmax, batch 16


def keypoint_names() -> list[str]:
    """The example's keypoint names (17), or placeholders when the data is absent."""
    csv_path = DATA / "CollectedData.csv"
    if csv_path.is_file():
        with open(csv_path) as f:
            f.readline()
            parts = f.readline().strip().split(",")[1:]
        return list(dict.fromkeys(parts))
    return [f"kp{i}" for i in range(17)]


def make_run(run_dir: Path, names: list[str], input_size: int) -> Path:
    """A run directory (config.yaml + Lightning checkpoint) of a random-init resnet18 heatmap model."""
    import pytorch_lightning as pl
    import torch

    from pose_core.config.io import load_config
    from pose_core.training.module import PoseLightningModule

    torch.manual_seed(0)
    module = PoseLightningModule(keypoint_names=names, backbone="resnet18", input_hw=(input_size, input_size))
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, accelerator="cpu")
    trainer.strategy.connect(module)
    ckpt = run_dir / "tb_logs" / "bench" / "version_0" / "checkpoints" / "best.ckpt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(str(ckpt))
    overrides = [
        f"data.data_dir={run_dir}",
        f"data.keypoint_names=[{','.join(names)}]",
        f"data.num_keypoints={len(names)}",
        f"data.image_resize_dims.height={input_size}",
        f"data.image_resize_dims.width={input_size}",
    ]
    load_config(None, overrides, check_paths=False).save(run_dir / "config.yaml")
    return run_dir


def bare_limit(names: list[str], input_size: int, batch_size: int, seconds: float, fused: bool) -> float:
    """Images/s of the bare model's forward + decode on random channels-last tensors.

    ``fused``: with BatchNorm folded into the convolutions, as pose-predict runs it.
    """
    import torch

    from pose_core.inference.predictor import fuse_batchnorm
    from pose_core.training.module import PoseLightningModule

    model = PoseLightningModule(keypoint_names=names, input_hw=(input_size, input_size)).model.eval()
    if fused:
        model = fuse_batchnorm(model)
    images = torch.randn(batch_size, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)
    model.predict(images)
    n_images, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.predict(images)
        n_images += batch_size
    return n_images / (time.perf_counter() - start)


def run_cli(run_dir: Path, video: Path, out_dir: Path, batch_size: int, engine: str = "torch") -> dict[str, float]:
    """Run pose-predict as a separate process; wall time, peak RSS, the loop's frames/s, time to the first frame."""
    shutil.rmtree(out_dir, ignore_errors=True)
    rss_file = out_dir.parent / f"{out_dir.name}.rss"
    cmd = [sys.executable, "-m", "pose_core.inference.cli", str(run_dir), str(video)]
    cmd += ["--output-dir", str(out_dir), "--batch-size", str(batch_size), "--engine", engine]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start_epoch = time.time()
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd], env=env, capture_output=True, text=True
    )
    wall_s = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"pose-predict --engine {engine} failed:\n{done.stderr[-2000:]}")
    used = [line for line in done.stderr.splitlines() if "engine:" in line]
    events = [json.loads(line) for line in (out_dir / "predict_events.jsonl").read_text().splitlines()]
    summary = next(e for e in events if e["event"] == "finished")["videos"][0]
    first_progress = next(e for e in events if e["event"] == "progress")
    return {
        "n_frames": summary["n_frames"],
        "wall_s": wall_s,
        "whole_fps": summary["n_frames"] / wall_s,
        "loop_fps": summary["frames_per_s"],
        "first_frame_s": first_progress["time"] - start_epoch,  # after the first batch (batch-size frames)
        "peak_rss_mib": int(rss_file.read_text().split()[-1]) / 1024,
        "engine_line": used[0] if used else "",
    }


def make_long_video(path: Path, n_frames: int, width: int = 160, height: int = 120) -> Path:
    """A generated mp4 with a moving blob (small frames, fast to write)."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, (width, height))
    frame = np.zeros((height, width, 3), np.uint8)
    for i in range(n_frames):
        frame[:] = 40
        cv2.circle(frame, (20 + (i * 3) % (width - 40), height // 2), 10, (200, 180, 60), -1)
        writer.write(frame)
    writer.release()
    return path


def load_average() -> str:
    """The 1-minute load average (how busy the shared machine was)."""
    return f"{os.getloadavg()[0]:.2f}"


def limits(names: list[str], args: argparse.Namespace) -> dict[str, float]:
    """Bare-model images/s, as trained and with BatchNorm folded (what pose-predict runs)."""
    return {
        "plain": bare_limit(names, 128, args.batch_size, args.limit_seconds, fused=False),
        "fused": bare_limit(names, 128, args.batch_size, args.limit_seconds, fused=True),
    }


def one_repeat(args: argparse.Namespace, run_dir: Path, work: Path, names: list[str]) -> dict[str, float]:
    """Limits before, the CLI, limits after: one set of figures measured close together."""
    before = limits(names, args)
    cli = run_cli(run_dir, Path(args.video), work / "out128", args.batch_size, "torch")
    after = limits(names, args)
    row = {
        **cli,
        "plain": (before["plain"] + after["plain"]) / 2,
        "fused": (before["fused"] + after["fused"]) / 2,
        "load": os.getloadavg()[0],
    }
    print(
        f"  repeat: limit as trained {row['plain']:.1f} (before {before['plain']:.1f}, after {after['plain']:.1f}), "
        f"folded {row['fused']:.1f} (before {before['fused']:.1f}, after {after['fused']:.1f}) images/s; "
        f"whole {cli['whole_fps']:.1f} frames/s ({cli['wall_s']:.1f} s); loop {cli['loop_fps']:.1f} frames/s; "
        f"RSS {cli['peak_rss_mib']:.0f} MiB; load {row['load']:.2f}",
        flush=True,
    )
    return row


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0]:.2f} / {statistics.median(ordered):.2f} / {ordered[-1]:.2f}"


def throughput(args: argparse.Namespace, work: Path, names: list[str]) -> None:
    run_dir = make_run(work / "run128", names, 128)
    print(f"\n== {Path(args.video).name}, resnet18 128x128, batch {args.batch_size}, {args.repeats} repeat(s) ==")
    rows = [one_repeat(args, run_dir, work, names) for _ in range(args.repeats)]
    col = {key: [row[key] for row in rows] for key in rows[0]}
    print("min / median / max over repeats:")
    print(
        f"limit as trained (images/s): {_stats(col['plain'])}; vs LP's bare {LP_BARE_FPS}: x{_stats([v / LP_BARE_FPS for v in col['plain']])}"
    )
    print(f"limit, BatchNorm folded (what pose-predict runs): {_stats(col['fused'])}")
    print(
        f"whole process (frames/s): {_stats(col['whole_fps'])}; vs LP {LP_WHOLE_FPS} (batch 64): "
        f"x{_stats([v / LP_WHOLE_FPS for v in col['whole_fps']])}; vs LP {LP_WHOLE_FPS_B16} (batch 16): "
        f"x{_stats([v / LP_WHOLE_FPS_B16 for v in col['whole_fps']])}  (goal x2)"
    )
    print(
        f"prediction loop (frames/s): {_stats(col['loop_fps'])}; vs LP loop {LP_LOOP_FPS}: x{_stats([v / LP_LOOP_FPS for v in col['loop_fps']])}"
    )
    loop_vs_fused = [loop / limit for loop, limit in zip(col["loop_fps"], col["fused"], strict=True)]
    loop_vs_plain = [loop / limit for loop, limit in zip(col["loop_fps"], col["plain"], strict=True)]
    print(
        f"loop / folded limit: {_stats(loop_vs_fused)}; loop / as-trained limit: {_stats(loop_vs_plain)}  (goal 0.90)"
    )
    print(f"peak RSS (MiB): {_stats(col['peak_rss_mib'])}  (LP {LP_PEAK_RSS_MIB})")
    # The machine's speed varies with other users' load: scale LP's figures by how fast the bare
    # model runs now compared with LP's reference run (limit as trained / LP's bare figure).
    speed = [plain / LP_BARE_FPS for plain in col["plain"]]
    whole_norm = [whole / (LP_WHOLE_FPS * s) for whole, s in zip(col["whole_fps"], speed, strict=True)]
    loop_norm = [loop / (LP_LOOP_FPS * s) for loop, s in zip(col["loop_fps"], speed, strict=True)]
    print(
        f"scaled to the machine's speed now: whole process x{_stats(whole_norm)} vs LP, loop x{_stats(loop_norm)} vs LP"
    )


def engines(args: argparse.Namespace, work: Path, names: list[str]) -> None:
    """pose-predict with each engine in turn, repeated; ratios to torch eager within each repeat."""
    engine_names = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "torch" not in engine_names:
        engine_names.insert(0, "torch")
    run_dir = make_run(work / "run_engines", names, 128)
    video = Path(args.video)
    print(f"\n== engines on {video.name}, resnet18 128x128, batch {args.batch_size}: {', '.join(engine_names)} ==")
    for engine in engine_names[1:]:  # the one-time export, as a user's first prediction makes it
        first = run_cli(run_dir, video, work / f"first_{engine}", args.batch_size, engine)
        print(
            f"  first run ({engine}, export included): whole {first['wall_s']:.1f} s; {first['engine_line']}",
            flush=True,
        )
    rows: list[dict[str, dict[str, float]]] = []
    for repeat in range(args.repeats):
        order = engine_names if repeat % 2 == 0 else engine_names[::-1]  # alternate the order too
        row = {engine: run_cli(run_dir, video, work / f"out_{engine}", args.batch_size, engine) for engine in order}
        rows.append(row)
        load = os.getloadavg()
        figures = "; ".join(
            f"{e} loop {row[e]['loop_fps']:.1f} fr/s (x{row[e]['loop_fps'] / row['torch']['loop_fps']:.2f}), "
            f"whole {row[e]['wall_s']:.1f} s (x{row['torch']['wall_s'] / row[e]['wall_s']:.2f}), "
            f"first frame {row[e]['first_frame_s']:.1f} s, RSS {row[e]['peak_rss_mib']:.0f} MiB"
            for e in engine_names
        )
        print(f"  repeat {repeat + 1}: {figures}; load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}", flush=True)
    print("min / median / max over repeats (ratios are to torch eager in the same repeat):")
    for engine in engine_names:
        loop_ratio = [r[engine]["loop_fps"] / r["torch"]["loop_fps"] for r in rows]
        whole_ratio = [r["torch"]["wall_s"] / r[engine]["wall_s"] for r in rows]
        print(
            f"{engine:12s} loop {_stats([r[engine]['loop_fps'] for r in rows])} frames/s (x{_stats(loop_ratio)} torch; goal x2); "
            f"whole {_stats([r[engine]['wall_s'] for r in rows])} s (x{_stats(whole_ratio)} torch); "
            f"first frame {_stats([r[engine]['first_frame_s'] for r in rows])} s (goal < 3); "
            f"peak RSS {_stats([r[engine]['peak_rss_mib'] for r in rows])} MiB"
        )
    print_auto_verdict(run_dir, engine_names, rows)
    # Lightning Pose is not installed here: scale its recorded whole-process time by how fast the
    # bare torch model runs now vs LP's recorded bare figure (the same method as throughput()).
    limit = bare_limit(names, 128, args.batch_size, args.limit_seconds, fused=False)
    lp_whole_s = rows[0]["torch"]["n_frames"] / (LP_WHOLE_FPS_B16 * limit / LP_BARE_FPS)
    for engine in engine_names:
        print(
            f"{engine:12s} whole process vs Lightning Pose scaled to now ({lp_whole_s:.1f} s for the video): "
            f"x{_stats([lp_whole_s / r[engine]['wall_s'] for r in rows])} (goal x3)"
        )
    print(f"  (bare torch model now {limit:.1f} images/s vs LP's recorded {LP_BARE_FPS}; load {load_average()})")


def print_auto_verdict(run_dir: Path, engine_names: list[str], rows: list[dict[str, dict[str, float]]]) -> None:
    """What ``--engine auto`` takes for this run (measured when the export was made) against this run's loop ratios."""
    from pose_core.inference.engines import EXPORT_DIRNAME, _auto_verdict, read_export_record

    checkpoint = next(run_dir.glob("tb_logs/*/version_*/checkpoints/*.ckpt"))
    record = read_export_record(run_dir / EXPORT_DIRNAME, checkpoint)
    if record is None or "onnxruntime" not in engine_names:
        return
    torch_faster, verdict = _auto_verdict("onnxruntime", record)
    ratios = [r["onnxruntime"]["loop_fps"] / r["torch"]["loop_fps"] for r in rows]
    agrees = all(ratio < 1 for ratio in ratios) if torch_faster else all(ratio >= 1 / 1.15 for ratio in ratios)
    print(f"--engine auto: {verdict}; this run's onnxruntime/torch loop ratios {', '.join(f'x{r:.2f}' for r in ratios)}: "
          f"{'consistent with' if agrees else 'NOT consistent with'} that choice")  # fmt: skip


def memory(args: argparse.Namespace, work: Path, names: list[str]) -> None:
    size = args.memory_input_size
    run_dir = make_run(work / f"run{size}", names, size)
    short = make_long_video(work / "gen_1000.mp4", 1000)
    long = make_long_video(work / f"gen_{args.memory_frames}.mp4", args.memory_frames)
    rss_short = run_cli(run_dir, short, work / "out_short", args.batch_size, "auto")
    rss_long = run_cli(run_dir, long, work / "out_long", args.batch_size, "auto")
    growth = rss_long["peak_rss_mib"] - rss_short["peak_rss_mib"]
    print(f"\n== memory: generated 160x120 videos, resnet18 {size}x{size}, batch {args.batch_size} ==")
    print(f"1,000 frames: peak RSS {rss_short['peak_rss_mib']:.0f} MiB ({rss_short['loop_fps']:.0f} frames/s)")
    print(
        f"{args.memory_frames:,} frames: peak RSS {rss_long['peak_rss_mib']:.0f} MiB "
        f"({rss_long['loop_fps']:.0f} frames/s, {rss_long['wall_s']:.0f} s)"
    )
    print(f"growth: {growth:+.0f} MiB (goal: at most +50 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=str(DATA / "videos" / "test_vid.mp4"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit-seconds", type=float, default=10.0, help="duration of each bare-model measurement")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of (limits, pose-predict, limits)")
    parser.add_argument("--memory-frames", type=int, default=20000, help="0 skips the memory check")
    parser.add_argument("--memory-input-size", type=int, default=64, help="model input of the memory check")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one under /tmp)")
    parser.add_argument("--engines", default="torch,onnxruntime,openvino", help="engines to compare ('' skips)")
    parser.add_argument("--skip-throughput", action="store_true", help="only the engines (and memory) parts")
    args = parser.parse_args()
    if not Path(args.video).is_file():
        sys.exit(f"video {args.video} not found: the mirror-mouse example data is missing (or give --video).")
    names = keypoint_names()
    with tempfile.TemporaryDirectory(prefix="predict_bench_", dir=args.workdir) as tmp:
        work = Path(tmp)
        print(f"load average at start: {load_average()} (2 cores shared with others: figures are noisy)")
        if not args.skip_throughput:
            throughput(args, work, names)
        if args.engines:
            engines(args, work, names)
        if args.memory_frames > 0:
            memory(args, work, names)
        print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
