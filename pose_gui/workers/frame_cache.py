"""The decoded images a :class:`~pose_gui.workers.frame_loader.FrameLoader` keeps: exact frames and keyframe previews.

* :class:`FrameCache`: a least-recently-used cache of exact frames, bounded in frames.
* :class:`KeyframePreviews`: every keyframe's image, scaled down so that all of them fit a memory
  budget; while the slider is dragged, the keyframe before any frame can be shown at once.
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict

import numpy as np

PREVIEW_BUDGET_BYTES = 64 * 2**20  # all keyframe previews of one video together
MIN_PREVIEW_WIDTH_PX = 160


class FrameCache:
    """A least-recently-used cache of decoded frames, bounded in frames."""

    def __init__(self, max_frames: int) -> None:
        self.max_frames = max(1, max_frames)
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, frame_idx: int) -> bool:
        return frame_idx in self._frames

    def get(self, frame_idx: int) -> np.ndarray | None:
        """The cached frame (now most recently used), or None."""
        image = self._frames.get(frame_idx)
        if image is not None:
            self._frames.move_to_end(frame_idx)
        return image

    def put(self, frame_idx: int, image: np.ndarray) -> None:
        """Store a frame, evicting the least recently used ones beyond the bound."""
        self._frames[frame_idx] = image
        self._frames.move_to_end(frame_idx)
        while len(self._frames) > self.max_frames:
            self._frames.popitem(last=False)

    def keys(self) -> list[int]:
        """The cached frame indices."""
        return list(self._frames)

    def nearest(self, frame_idx: int) -> int | None:
        """The cached frame index closest to ``frame_idx`` (None when the cache is empty)."""
        return min(self._frames, key=lambda idx: abs(idx - frame_idx), default=None)

    def nbytes(self) -> int:
        """Memory held by the cached frames."""
        return sum(image.nbytes for image in self._frames.values())


class KeyframePreviews:
    """Scaled-down images of a video's keyframes (filled in idle time; see the module docstring).

    Args:
        keyframes: The keyframes' frame indices, sorted.
        width: Frame width in pixels.
        height: Frame height in pixels.
        budget_bytes: Memory for all previews together.
    """

    def __init__(
        self, keyframes: tuple[int, ...], width: int, height: int, budget_bytes: int = PREVIEW_BUDGET_BYTES
    ) -> None:
        self.keyframes = keyframes
        per_keyframe = budget_bytes / max(1, len(keyframes))
        scale = min(1.0, math.sqrt(per_keyframe / max(1, width * height * 3)))
        scale = max(scale, min(1.0, MIN_PREVIEW_WIDTH_PX / max(1, width)))
        self.size_wh = (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))
        self._images: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._images)

    def __contains__(self, keyframe: int) -> bool:
        return keyframe in self._images

    def put(self, keyframe: int, image: np.ndarray) -> None:
        """Store keyframe ``keyframe``'s preview."""
        image.flags.writeable = False
        self._images[keyframe] = image

    def get(self, keyframe: int) -> np.ndarray | None:
        """The preview of ``keyframe``, or None when not decoded yet."""
        return self._images.get(keyframe)

    def keyframe_before(self, frame_idx: int) -> int:
        """The keyframe at or before ``frame_idx`` (the first keyframe for frames before it)."""
        pos = bisect.bisect_right(self.keyframes, frame_idx) - 1
        return self.keyframes[max(0, pos)]

    def missing_near(self, frame_idx: int) -> int | None:
        """The keyframe nearest ``frame_idx`` without a preview yet (None when all are done)."""
        missing = (kf for kf in self.keyframes if kf not in self._images)
        return min(missing, key=lambda kf: abs(kf - frame_idx), default=None)

    def nbytes(self) -> int:
        """Memory held by the previews."""
        return sum(image.nbytes for image in self._images.values())
