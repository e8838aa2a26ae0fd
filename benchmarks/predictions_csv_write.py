"""How long saving a long video's predictions takes (target: 100,000 frames x 17 keypoints in < 6 s of CPU).

Writes the predictions CSV of 100,000 frames x 17 keypoints with
:func:`pose_core.io.predictions.write_predictions_csv` and, as the reference measured in the same
run, the same numbers with ``numpy.savetxt`` (no header, no NaN handling); prints both CPU times,
their ratio and the machine's load. Was a timed assertion in tests/core/test_predictions_io.py.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/predictions_csv_write.py [--frames N]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_CPU_S = 6.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    args = parser.parse_args()
    from pose_core.io.predictions import read_predictions_csv, write_predictions_csv

    names = [f"kp{i}" for i in range(17)]
    preds = np.random.default_rng(1).uniform(0, 500, (args.frames, 17, 3))
    with tempfile.TemporaryDirectory() as tmp:
        start_s = time.process_time()
        np.savetxt(Path(tmp) / "ref.csv", preds.reshape(args.frames, -1), fmt="%.4f", delimiter=",")
        reference_s = time.process_time() - start_s
        start_s = time.process_time()
        write_predictions_csv(Path(tmp) / "long.csv", names, preds, range(args.frames))
        posedesk_s = time.process_time() - start_s
        assert read_predictions_csv(Path(tmp) / "long.csv").preds.shape == preds.shape
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.frames} frames x 17 keypoints, load average {load}")
    print(f"numpy.savetxt (reference)   {reference_s:6.2f} s CPU")
    print(f"write_predictions_csv       {posedesk_s:6.2f} s CPU  = {posedesk_s / reference_s:.2f} x reference")
    verdict = "within" if posedesk_s < TARGET_CPU_S else "OVER"
    print(f"target < {TARGET_CPU_S:.0f} s CPU: {verdict}")


if __name__ == "__main__":
    main()
