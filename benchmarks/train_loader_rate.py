"""Images/s of the mirror-mouse training loader (128x128, dlc augmentation), epoch 1 and 2 (prints figures).

Training runs at ~10 images/s on 2 cores; the loader must stay far above that (goal > 100 images/s
once the decoded images are cached) so data never limits training.

    python benchmarks/train_loader_rate.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

MIRROR_MOUSE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mirror-mouse-example"
GOAL_IMAGES_PER_S = 100.0


def main() -> int:
    from pose_core.data.dataset import PoseDataModule
    from pose_core.data.labels import read_labels

    csv_path = MIRROR_MOUSE / "CollectedData.csv"
    if not csv_path.is_file():
        print(f"mirror-mouse example data not found at {MIRROR_MOUSE.resolve()}", file=sys.stderr)
        return 1
    labels = read_labels(csv_path)
    module = PoseDataModule(
        MIRROR_MOUSE, labels, (128, 128), train_prob=0.8, val_prob=0.1, seed=0, imgaug="dlc", train_batch_size=8
    )
    rates = []
    for _ in range(2):
        start = time.perf_counter()
        n_images = sum(len(batch["index"]) for batch in module.train_dataloader())
        rates.append(n_images / (time.perf_counter() - start))
    verdict = "met" if rates[1] > GOAL_IMAGES_PER_S else "MISSED"
    print(
        f"mirror-mouse train loader, 128x128, dlc: {rates[0]:.0f} images/s (epoch 1, decoding), "
        f"{rates[1]:.0f} images/s (epoch 2, cached; goal > {GOAL_IMAGES_PER_S:.0f}: {verdict}; "
        f"load {os.getloadavg()[0]:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
