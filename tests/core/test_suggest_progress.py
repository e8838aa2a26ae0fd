"""suggest(): progress per video and a stop between videos; picks survive a JSON round trip (the GUI reads them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pose_core.ensemble.members import MemberRun
from pose_core.ensemble.suggest import SuggestCancelled, pick_from_record, pick_record, suggest
from pose_core.errors import DataError
from pose_core.io.predictions import write_predictions_csv
from tests.core.conftest import make_index_video

NAMES = ["nose", "ear_l", "ear_r"]


def _members(tmp_path: Path, videos: list[Path], n_frames: int) -> list[MemberRun]:
    rng = np.random.default_rng(0)
    base = rng.uniform(10, 50, size=(1, len(NAMES), 2)) + np.arange(n_frames)[:, None, None] * 0.1
    members = []
    for seed in range(2):
        run = tmp_path / f"run{seed}"
        for video in videos:
            preds = np.concatenate([base + 0.2 * seed, np.full((n_frames, len(NAMES), 1), 0.9)], axis=2)
            if seed == 1:
                preds[25, 1, :2] += 30.0
            write_predictions_csv(run / "video_preds" / f"{video.stem}.csv", NAMES, preds, list(range(n_frames)))
        members.append(MemberRun(run, NAMES, None))
    return members


def test_progress_is_reported_per_video_and_a_stop_ends_before_the_next(tmp_path: Path) -> None:
    videos = [make_index_video(tmp_path / f"v{i}.mp4", 40) for i in range(2)]
    members = _members(tmp_path, videos, 40)
    calls: list[tuple[int, int, str]] = []
    picks = suggest(members, videos, 2, {v: set() for v in videos}, eks=False, progress=lambda *a: calls.append(a))
    assert [(d, t) for d, t, _ in calls] == [(0, 3), (1, 3), (2, 3)]
    assert "v0.mp4" in calls[0][2] and "v1.mp4" in calls[1][2] and calls[2][2] == "Picking 2 frames"
    assert picks[0].frame_idx == 25 and "2 models disagree" in picks[0].reason
    with pytest.raises(SuggestCancelled):
        suggest(members, videos, 2, {v: set() for v in videos}, eks=False, should_stop=lambda: len(calls) > 3,
                progress=lambda *a: calls.append(a))  # fmt: skip
    assert len(calls) == 4  # stopped after the first video, before scoring the second


def test_a_pick_survives_the_events_file_and_a_damaged_record_is_one_message(tmp_path: Path) -> None:
    videos = [make_index_video(tmp_path / "v.mp4", 40)]
    pick = suggest(_members(tmp_path, videos, 40), videos, 1, {videos[0]: set()}, eks=False)[0]
    assert pick_from_record(json.loads(json.dumps(pick_record(pick)))) == pick
    with pytest.raises(DataError, match="damaged"):
        pick_from_record({"video": "v.mp4", "frame_idx": "x"})
