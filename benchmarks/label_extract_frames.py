"""``posedesk extract-frames --method kmeans --n 50`` on a 10-minute 1280x1024 long-GOP H.264 video (prints figures).

The video is generated here with ffmpeg (never committed; kept in /tmp between runs): five scenes
of different appearance and unequal length (300, 120, 90, 60 and 30 s: testsrc2, HD colour bars,
RGB test pattern, inverted testsrc2, a noisy red field), 30 frames/s, x264 ``-g 250`` without
scene-cut keyframes (a keyframe every 8.3 s, as lab cameras write).

Printed: the wall time of the real command (goal < 30 s on the shared 2-core machine), the
reference time to decode 600 frames with PyAV in the same run (and the full-decode time it
implies, what a tool decoding every frame would need), the frames decoded by k-means, and how
the chosen frames spread over the video's appearance: frames per scene for k-means and for
uniform choice, and the mean distance of every candidate thumbnail to its nearest chosen frame
(lower = the chosen frames cover more of the video's looks).

Usage: ``python benchmarks/label_extract_frames.py [--n 50] [--minutes 10]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCENES_S = (300, 120, 90, 60, 30)
SCENE_NAMES = ("testsrc2", "hd bars", "rgb pattern", "inverted testsrc2", "noisy red")
FPS = 30
SIZE = "1280x1024"
CACHE_DIR = Path(tempfile.gettempdir()) / "posedesk-bench"


def make_video(path: Path, scale: float) -> Path:
    """Generate the long-GOP test video (once; kept in /tmp)."""
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    d = [max(1, round(s * scale)) for s in SCENES_S]
    inputs = [
        f"testsrc2=s={SIZE}:r={FPS}:d={d[0]}", f"smptehdbars=s={SIZE}:r={FPS}:d={d[1]}",
        f"rgbtestsrc=s={SIZE}:r={FPS}:d={d[2]}", f"testsrc2=s={SIZE}:r={FPS}:d={d[3]}",
        f"color=c=0x902020:s={SIZE}:r={FPS}:d={d[4]}",
    ]  # fmt: skip
    cmd = ["ffmpeg", "-v", "error", "-y"]
    for source in inputs:
        cmd += ["-f", "lavfi", "-i", source]
    graph = "[3]negate[n];[4]noise=alls=25:allf=t[c];[0][1][2][n][c]concat=n=5:v=1:a=0,format=yuv420p[v]"
    tmp = path.with_suffix(".partial.mp4")
    cmd += ["-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "250"]
    cmd += ["-keyint_min", "250", "-sc_threshold", "0", str(tmp)]
    print(f"generating {path} ({sum(d)} s at {SIZE}, GOP 250) with ffmpeg…", flush=True)
    subprocess.run(cmd, check=True)
    tmp.rename(path)
    return path


def reference_decode_s(video: Path, n_frames: int = 600) -> float:
    """Seconds to decode the first ``n_frames`` frames with PyAV (threads on)."""
    import av

    start = time.perf_counter()
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, _frame in enumerate(container.decode(stream)):
            if i + 1 >= n_frames:
                break
    return time.perf_counter() - start


def scene_of(frame_idx: int, scale: float) -> int:
    edges = np.cumsum([max(1, round(s * scale)) * FPS for s in SCENES_S])
    return int(np.searchsorted(edges, frame_idx, side="right"))


def coverage(features: np.ndarray, frame_idx: np.ndarray, chosen: list[int]) -> float:
    """Mean distance of every candidate to its nearest chosen candidate (thumbnail space)."""
    rows = [int(np.argmin(np.abs(frame_idx - c))) for c in chosen]
    dist = np.linalg.norm(features[:, None, :] - features[None, rows, :], axis=2)
    return float(dist.min(axis=1).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("this benchmark needs ffmpeg (apt-get install ffmpeg)")
    scale = args.minutes / 10.0
    video = make_video(CACHE_DIR / f"label_long_gop_{SIZE}_{args.minutes:g}min.mp4", scale)
    from pose_core.frames import read_thumbnails, select_kmeans, select_uniform

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "proj"
        project.mkdir()
        (project / "CollectedData.csv").write_text(
            "scorer,b,b\nbodyparts,nose,nose\ncoords,x,y\nlabeled-data/x/img00000000.png,1,2\n"
        )
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        load = os.getloadavg()
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "pose_gui", "extract-frames", str(project), str(video), "--n", str(args.n)]
        result = subprocess.run([*cmd, "--method", "kmeans"], capture_output=True, text=True, env=env)
        wall_s = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"extract-frames failed: {result.stderr}")
        chosen = [int(line.split("\t")[1]) for line in result.stdout.strip().splitlines()]
        written = len(list((project / "labeled-data").rglob("*.png")))
    ref_s = reference_decode_s(video)
    thumbs = read_thumbnails(video)
    n_frames = thumbs.n_frames
    uniform = select_uniform(n_frames, args.n)
    again = select_kmeans(thumbs, args.n)
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print(f"video: {video.name}, {n_frames} frames, {SIZE}, GOP 250 (x264 ultrafast)")
    print(f"extract-frames --method kmeans --n {args.n}: {wall_s:.1f} s wall (goal < 30 s), {written} PNG written")
    full_s = ref_s * n_frames / 600
    print(
        f"reference: PyAV decodes 600 frames in {ref_s:.2f} s -> decoding every frame would take ~{full_s:.0f} s; "
        f"k-means decoded {thumbs.n_decoded} frames ({thumbs.n_decoded / n_frames:.0%}), "
        f"{len(thumbs.frame_idx)} candidates; command / full decode = {wall_s / full_s:.2f}"
    )
    for name, frames in (("k-means", chosen), ("uniform", uniform)):
        per_scene = np.bincount([scene_of(f, scale) for f in frames], minlength=len(SCENES_S))
        shares = ", ".join(f"{s}: {c}" for s, c in zip(SCENE_NAMES, per_scene.tolist(), strict=True))
        print(f"{name:8s} frames per scene ({'/'.join(str(s) for s in SCENES_S)} s): {shares}")
    print(
        f"appearance coverage (mean distance of candidates to the nearest chosen frame; lower is better): "
        f"k-means {coverage(thumbs.features, thumbs.frame_idx, again):.3f}, "
        f"uniform {coverage(thumbs.features, thumbs.frame_idx, uniform):.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
