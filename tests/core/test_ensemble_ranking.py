"""Frame ranking: scores from ensemble disagreement / likelihood / jumps, a diverse greedy pick, reasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pose_core.ensemble.ranking import jump_px, pick_frames, score_frames, video_signals

NAMES = ["nose", "paw1LH_top", "tail"]
VIDEO = Path("session1.mp4")


def _steady_members(n_members: int = 3, n_frames: int = 200, seed: int = 0) -> np.ndarray:
    """Members that agree within ~0.3 px on a slowly moving animal, likelihood 0.95."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[:, None]
    truth = np.stack([50 + 10 * np.sin(t / 30 + np.arange(3)), 40 + 5 * np.cos(t / 25 + np.arange(3))], axis=-1)
    preds = np.empty((n_members, n_frames, 3, 3))
    preds[..., :2] = truth[None] + rng.normal(0, 0.3, (n_members, n_frames, 3, 2))
    preds[..., 2] = 0.95
    return preds


def test_the_frame_the_models_disagree_on_ranks_first_with_its_reason() -> None:
    preds = _steady_members()
    preds[1, 120, 1, 0] += 14.0  # one member puts paw1LH_top 14 px off at frame 120
    scores = score_frames([video_signals(VIDEO, NAMES, preds)])
    picks = pick_frames(scores, 3, keypoint_names=NAMES, n_members={VIDEO: 3})
    assert picks[0].frame_idx == 120
    assert picks[0].signal == "disagreement" and picks[0].keypoint == "paw1LH_top"
    assert picks[0].reason.startswith("3 models disagree by ") and picks[0].reason.endswith(" px on paw1LH_top")
    assert 8 <= picks[0].value <= 12  # farthest member from the mean of 3: 2/3 of 14 px
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)


def test_one_run_is_enough_low_likelihood_and_spikes_are_found() -> None:
    preds = _steady_members(n_members=1)
    preds[0, 60, 2, 2] = 0.1  # tail: low confidence
    preds[0, 150, 0, 1] += 25.0  # nose: out and back in one frame
    signals = video_signals(VIDEO, NAMES, preds)
    assert "disagreement" not in signals.signals
    picks = pick_frames(score_frames([signals]), 2, keypoint_names=NAMES)
    assert {(p.frame_idx, p.signal, p.keypoint) for p in picks} == {(60, "likelihood", "tail"), (150, "jump", "nose")}
    jump = next(p for p in picks if p.signal == "jump")
    assert "jumps 25 px" in jump.reason


def test_jump_ignores_steady_fast_motion_but_not_a_spike() -> None:
    xy = np.zeros((10, 1, 2))
    xy[:, 0, 0] = np.arange(10) * 8.0  # fast but steady: 8 px per frame
    xy[5, 0, 1] = 30.0  # a spike out and back
    jumps = jump_px(xy)[:, 0]
    assert jumps[5] > 25 and np.all(jumps[[0, 1, 2, 3, 7, 8, 9]] <= 8.0 + 1e-9)


def test_picks_keep_away_from_labelled_and_from_each_other() -> None:
    preds = _steady_members(n_frames=300)
    for frame in (100, 103, 108, 200, 250):
        preds[2, frame, 0, :2] += 20.0
    scores = score_frames([video_signals(VIDEO, NAMES, preds)])
    picks = pick_frames(scores, 5, {VIDEO: {248}}, min_gap_frames=10, keypoint_names=NAMES)
    frames = [p.frame_idx for p in picks]
    assert 100 in frames or 103 in frames or 108 in frames
    assert sum(f in frames for f in (100, 103, 108)) == 1  # within 10 frames of each other: one of them
    assert 250 not in frames  # 2 frames from a labelled frame
    assert 200 in frames
    assert all(abs(a - b) > 10 for a in frames for b in frames if a != b)
    assert all(abs(f - 248) > 10 for f in frames)


def test_near_duplicate_images_are_not_picked_twice() -> None:
    preds = _steady_members(n_frames=300)
    for frame in (50, 150, 250):
        preds[0, frame, 1, :2] += 20.0
    rng = np.random.default_rng(1)
    still, other = rng.integers(0, 255, (40, 60, 3)), rng.integers(0, 255, (40, 60, 3))
    images = {50: still, 150: still + 1, 250: other}  # 50 and 150 show the same picture
    read = []

    def read_frame(video: Path, frame_idx: int) -> np.ndarray:
        read.append(frame_idx)
        return images.get(frame_idx, rng.integers(0, 255, (40, 60, 3)))

    scores = score_frames([video_signals(VIDEO, NAMES, preds)])
    picks = pick_frames(scores, 3, keypoint_names=NAMES, read_frame=read_frame)
    frames = {p.frame_idx for p in picks}
    assert 250 in frames and len(frames & {50, 150}) == 1
    assert len(picks) == 3


def test_scores_are_comparable_across_videos() -> None:
    calm, busy = _steady_members(seed=1), _steady_members(seed=2)
    busy[0, 80, 2, :2] += 18.0
    scores = score_frames([video_signals(Path("calm.mp4"), NAMES, calm), video_signals(Path("busy.mp4"), NAMES, busy)])
    picks = pick_frames(scores, 1, keypoint_names=NAMES)
    assert (picks[0].video.name, picks[0].frame_idx) == ("busy.mp4", 80)


def test_posterior_and_pca_signals_give_their_own_reasons() -> None:
    preds = _steady_members()
    posterior = np.full((200, 3, 2), 0.5)
    posterior[30, 2] = 60.0
    pca = np.full((200, 3), 1.0)
    pca[170, 0] = 40.0
    signals = video_signals(VIDEO, NAMES, preds, posterior_var_px2=posterior, pca_error_px=pca)
    picks = pick_frames(score_frames([signals]), 2, keypoint_names=NAMES, n_members={VIDEO: 3})
    reasons = {p.frame_idx: p.reason for p in picks}
    assert "smoother is unsure by ±11.0 px on tail" in reasons[30]
    assert "unusual pose: nose is 40 px" in reasons[170]


def test_pose_groups_spread_the_picks_over_poses_instead_of_one_rare_pose() -> None:
    preds = _steady_members(n_frames=300)
    preds[:, 240:, 2, 1] += 30.0  # frames 240-299: a rare pose (tail far from the rest) ...
    rng = np.random.default_rng(3)
    preds[:, 240:, 2, :2] += rng.normal(0, 6.0, (3, 60, 2))  # ... on which the models disagree everywhere
    for frame in (40, 110, 180):
        preds[1, frame, 2, :2] += 7.0  # the common pose: a few frames the models disagree on
    scores = score_frames([video_signals(VIDEO, NAMES, preds)])
    by_score = pick_frames(scores, 4, min_gap_frames=5, keypoint_names=NAMES)
    assert all(p.frame_idx >= 240 for p in by_score)  # all four: variants of the rare pose
    by_pose = pick_frames(scores, 4, min_gap_frames=5, keypoint_names=NAMES, pose_clusters=4)
    frames = [p.frame_idx for p in by_pose]
    assert sum(f >= 240 for f in frames) in (1, 2) and len(frames) == 4
    assert {40, 110, 180} & set(frames)  # the common pose's unsure frames get their turn
    assert by_pose[0].frame_idx == by_score[0].frame_idx  # the most unsure frame still comes first


def test_a_keypoint_unsure_everywhere_does_not_outrank_frames_where_another_is_unusually_unsure() -> None:
    # The tail: one member 15-25 px off on every frame, smoothly (a thin part never learnt); the
    # nose: the members agree within ~0.5 px except on frames 75-85, where one is 9 px off. Those
    # frames are the unusual ones; pooled over keypoints, the tail's worst frame won instead.
    preds = _steady_members()
    t = np.arange(preds.shape[1])
    preds[1, :, 2, 0] += 20.0 + 5.0 * np.sin(t / 20.0)
    preds[2, 75:86, 0, 1] += 9.0
    scores = score_frames([video_signals(VIDEO, NAMES, preds)])
    picks = pick_frames(scores, 1, keypoint_names=NAMES, n_members={VIDEO: 3})
    assert 75 <= picks[0].frame_idx <= 85 and picks[0].keypoint == "nose"
