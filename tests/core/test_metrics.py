"""Tests of pose_core.metrics: pixel error, temporal norm and per-split summaries."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pose_core.metrics import pixel_error, summarize_errors, summary_to_jsonable, temporal_norm


def test_pixel_error_is_euclidean_distance_with_nan_for_unlabelled() -> None:
    pred = np.array([[[3.0, 4.0], [10.0, 10.0]], [[0.0, 0.0], [1.0, 1.0]]])
    true = np.array([[[0.0, 0.0], [10.0, 10.0]], [[np.nan, np.nan], [1.0, np.nan]]])
    error_px = pixel_error(pred, true)
    assert error_px.shape == (2, 2)
    assert error_px[0].tolist() == [5.0, 0.0]
    assert np.isnan(error_px[1]).all()


def test_pixel_error_nan_prediction_gives_nan() -> None:
    pred = np.array([[[np.nan, 1.0]]])
    assert np.isnan(pixel_error(pred, np.zeros((1, 1, 2))))[0, 0]


def test_pixel_error_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="differ"):
        pixel_error(np.zeros((2, 3, 2)), np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match=r"\[N, K, 2\]"):
        pixel_error(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)))


def test_temporal_norm_measures_frame_to_frame_motion() -> None:
    xy = np.array([[[0.0, 0.0]], [[3.0, 4.0]], [[3.0, 4.0]], [[np.nan, 4.0]], [[0.0, 0.0]]])
    norm_px = temporal_norm(xy)
    assert norm_px.shape == (5, 1)
    assert np.isnan(norm_px[0, 0])
    assert norm_px[1:3, 0].tolist() == [5.0, 0.0]
    assert np.isnan(norm_px[3:, 0]).all()  # NaN on either side of the step
    assert temporal_norm(np.zeros((0, 2, 2))).shape == (0, 2)


def test_summary_per_split_ignores_unlabelled_cells() -> None:
    error_px = np.array(
        [
            [1.0, 3.0],  # train
            [np.nan, np.nan],  # train, unlabelled frame
            [10.0, np.nan],  # validation
            [2.0, 4.0],  # test
            [100.0, 100.0],  # unused: counts only in "all"
        ]
    )
    split = ["train", "train", "validation", "test", "unused"]
    summary = summarize_errors(error_px, split)

    assert set(summary) == {"all", "train", "validation", "test"}
    assert summary["train"]["mean_px"] == 2.0
    assert summary["train"]["n_frames"] == 1
    assert summary["train"]["n_keypoints_labelled"] == 2
    assert summary["validation"] == {
        "mean_px": 10.0,
        "median_px": 10.0,
        "p90_px": 10.0,
        "n_frames": 1,
        "n_keypoints_labelled": 1,
    }
    assert summary["test"]["median_px"] == 3.0
    assert summary["test"]["p90_px"] == pytest.approx(3.8)
    assert summary["all"]["n_frames"] == 4
    assert summary["all"]["n_keypoints_labelled"] == 7
    assert summary["all"]["mean_px"] == pytest.approx(220.0 / 7)


def test_empty_split_gives_nan_serialised_as_null() -> None:
    summary = summarize_errors(np.array([[1.0], [2.0]]), ["train", "train"])
    assert math.isnan(summary["test"]["mean_px"])
    assert summary["test"]["n_frames"] == 0
    text = json.dumps(summary_to_jsonable(summary), allow_nan=False)
    decoded = json.loads(text)
    assert decoded["test"]["mean_px"] is None
    assert decoded["train"]["mean_px"] == 1.5
    assert decoded["validation"]["n_keypoints_labelled"] == 0


def test_summary_without_split_fills_only_all() -> None:
    summary = summarize_errors(np.array([[1.0, 2.0], [3.0, np.nan]]), None)
    assert summary["all"]["mean_px"] == 2.0 and summary["all"]["n_frames"] == 2
    assert math.isnan(summary["train"]["median_px"])


def test_summary_rejects_split_of_wrong_length() -> None:
    with pytest.raises(ValueError, match="split"):
        summarize_errors(np.zeros((3, 2)), ["train"])
