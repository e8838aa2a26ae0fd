"""Ensembles and init_from: the bad inputs each get one clear message, and nothing is half-written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from pose_core.config.io import load_config
from pose_core.ensemble.members import load_member_predictions, open_members
from pose_core.ensemble.predict import split_runs_and_videos
from pose_core.ensemble.suggest import labeled_frames
from pose_core.errors import ConfigError, DataError, RunError
from pose_core.events import EventWriter
from pose_core.inference.cli import predict_main
from pose_core.io.predictions import write_predictions_csv
from pose_core.training.ensemble import apply_init_from, member_config, parent_run, plan_members
from tests.core.conftest import TINY_KEYPOINTS, make_index_video, make_run_dir, tiny_config_overrides


def _finished_run(path: Path, checkpoint: Path, keypoints: list[str] = TINY_KEYPOINTS) -> Path:
    run = make_run_dir(path, checkpoint, keypoints)
    (run / "summary.json").write_text(json.dumps({"status": "finished", "epochs_completed": 1}))
    return run


def _cfg(tmp_path: Path, *extra: str, keypoints: list[str] = TINY_KEYPOINTS):
    return load_config(None, [*tiny_config_overrides(tmp_path / "data", keypoints), *extra], check_paths=False).cfg


# ------------------------------------------------------------------------------------ init_from


def test_init_from_points_the_new_run_at_the_parents_best_weights(tmp_path: Path, tiny_checkpoint: Path) -> None:
    parent = _finished_run(tmp_path / "parent", tiny_checkpoint)
    cfg = _cfg(tmp_path, f"training.init_from={parent}")
    ckpt = apply_init_from(cfg)
    assert ckpt is not None and ckpt.is_file() and parent in ckpt.parents
    assert cfg.model.checkpoint == str(ckpt)
    assert cfg.training.init_from == str(parent)  # the saved config records the parent


def test_init_from_refuses_other_keypoints_naming_them(tmp_path: Path, tiny_checkpoint: Path) -> None:
    parent = _finished_run(tmp_path / "parent", tiny_checkpoint)
    cfg = _cfg(tmp_path, f"training.init_from={parent}", keypoints=["nose", "ear_l", "tail"])
    with pytest.raises(ConfigError) as err:
        apply_init_from(cfg)
    assert "new here: tail" in str(err.value) and "only in the parent: ear_r" in str(err.value)
    assert err.value.key == "training.init_from"
    assert not cfg.model.checkpoint


def test_init_from_refuses_another_backbone(tmp_path: Path, tiny_checkpoint: Path) -> None:
    parent = _finished_run(tmp_path / "parent", tiny_checkpoint)
    cfg = _cfg(tmp_path, f"training.init_from={parent}", "model.backbone=resnet34")
    with pytest.raises(ConfigError, match="model.backbone: the parent has resnet18, this config has resnet34"):
        apply_init_from(cfg)


def test_init_from_a_run_still_training_is_refused(tmp_path: Path, tiny_checkpoint: Path) -> None:
    parent = make_run_dir(tmp_path / "parent", tiny_checkpoint)  # no summary.json yet
    with pytest.raises(ConfigError, match="has not finished training"):
        apply_init_from(_cfg(tmp_path, f"training.init_from={parent}"))


def test_parent_run_is_read_back_from_the_childs_config(tmp_path: Path, tiny_checkpoint: Path) -> None:
    parent = _finished_run(tmp_path / "parent", tiny_checkpoint)
    child = tmp_path / "child"
    child.mkdir()
    load_config(None, [*tiny_config_overrides(tmp_path), f"training.init_from={parent}"], check_paths=False).save(
        child / "config.yaml"
    )
    assert parent_run(child) == parent
    assert parent_run(parent) is None


def test_pose_train_init_from_other_keypoints_exits_2_and_writes_nothing(
    tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pose_core.cli import train_main
    from pose_core.example import generate_example_project

    project = tmp_path / "project"
    generate_example_project(project, seed=3, n_labeled=12, n_video_frames=10, n_videos=1)
    parent = _finished_run(tmp_path / "parent", tiny_checkpoint)
    run_dir = tmp_path / "run"
    code = train_main(
        [
            "--config-path",
            str(project),
            f"training.init_from={parent}",
            f"hydra.run.dir={run_dir}",
            "training.max_epochs=1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "training.init_from" in err and "keypoints differ" in err and "nose_top" in err
    assert not run_dir.exists()


# ------------------------------------------------------------------------------------ ensembles


def test_ensemble_members_differ_in_model_seed_only(tmp_path: Path) -> None:
    loaded = load_config(None, [*tiny_config_overrides(tmp_path), "training.ensemble_seeds=[0,1,2]"], check_paths=False)
    members = plan_members(tmp_path / "12-00-00", [0, 1, 2])
    assert [m.run_dir.name for m in members] == ["12-00-00-seed0", "12-00-00-seed1", "12-00-00-seed2"]
    cfg1 = member_config(loaded, 1).cfg
    assert cfg1.training.rng_seed_model_pt == 1 and cfg1.training.ensemble_seeds is None
    assert cfg1.training.rng_seed_data_pt == loaded.cfg.training.rng_seed_data_pt  # same split
    assert loaded.cfg.training.ensemble_seeds == [0, 1, 2]  # the original is untouched
    with pytest.raises(ConfigError, match="repeats a seed"):
        plan_members(tmp_path / "x", [0, 0])


def test_retraining_an_ensemble_starts_each_member_from_its_own_seed(tmp_path: Path) -> None:
    from pose_core.training.ensemble import record_ensemble

    parents = plan_members(tmp_path / "09-00-00", [0, 1, 2])
    for member in parents:
        member.run_dir.mkdir(parents=True)
        record_ensemble(member.run_dir, "09-00-00", member.seed, parents)
    loaded = load_config(
        None,
        [
            *tiny_config_overrides(tmp_path),
            "training.ensemble_seeds=[0,1,2,3]",
            f"training.init_from={parents[0].run_dir}",
        ],
        check_paths=False,
    )
    starts = [Path(str(member_config(loaded, seed).cfg.training.init_from)) for seed in (0, 1, 2, 3)]
    assert starts == [parents[0].run_dir, parents[1].run_dir, parents[2].run_dir, parents[0].run_dir]  # no seed 3


def test_runs_with_different_keypoints_cannot_form_an_ensemble(tmp_path: Path, tiny_checkpoint: Path) -> None:
    a = _finished_run(tmp_path / "a", tiny_checkpoint)
    b = _finished_run(tmp_path / "b", tiny_checkpoint, ["nose", "ear_l", "tail"])
    with pytest.raises(DataError, match=r"only .*a has ear_r; only .*b has tail"):
        open_members([a, b])


def test_a_run_still_training_cannot_join_an_ensemble(tmp_path: Path, tiny_checkpoint: Path) -> None:
    a = _finished_run(tmp_path / "a", tiny_checkpoint)
    b = make_run_dir(tmp_path / "b", tiny_checkpoint)
    writer = EventWriter(b / "events.jsonl")
    writer.emit("started", pid=os.getpid())
    writer.close()
    with pytest.raises(RunError, match=r"is still training \(status: running\)"):
        open_members([a, b])


def test_member_predictions_must_have_one_row_per_frame(tmp_path: Path, tiny_checkpoint: Path) -> None:
    runs = [_finished_run(tmp_path / name, tiny_checkpoint) for name in ("a", "b")]
    members = open_members(runs)
    video = tmp_path / "v.mp4"
    write_predictions_csv(members[0].predictions_csv(video), TINY_KEYPOINTS, np.zeros((10, 3, 3)), list(range(10)))
    with pytest.raises(DataError, match=r"b.*no predictions of v\.mp4"):
        load_member_predictions(members, video, 10)
    write_predictions_csv(members[1].predictions_csv(video), TINY_KEYPOINTS, np.zeros((8, 3, 3)), list(range(8)))
    with pytest.raises(DataError, match=r"has 8 rows but v\.mp4 has 10 frames.*--overwrite"):
        load_member_predictions(members, video, 10)


def test_eks_with_one_member_is_a_usage_error(
    tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _finished_run(tmp_path / "a", tiny_checkpoint)
    make_index_video(tmp_path / "v.mp4", 5)
    assert predict_main([str(run), str(tmp_path / "v.mp4"), "--eks"]) == 2
    err = capsys.readouterr().err
    assert "--eks needs the runs of an ensemble (2 or more run folders)" in err and "Traceback" not in err
    assert not (run / "video_preds").exists()


def test_eks_with_runs_of_other_keypoints_writes_nothing(
    tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _finished_run(tmp_path / "a", tiny_checkpoint)
    b = _finished_run(tmp_path / "b", tiny_checkpoint, ["nose", "ear_l", "tail"])
    make_index_video(tmp_path / "v.mp4", 5)
    assert predict_main([str(a), str(b), str(tmp_path / "v.mp4"), "--eks"]) == 2
    assert "predict different keypoints" in capsys.readouterr().err
    assert not (a / "video_preds").exists() and not (b / "video_preds").exists()
    assert not list(tmp_path.glob("*-ensemble"))


def test_runs_and_videos_are_told_apart(tmp_path: Path, tiny_checkpoint: Path) -> None:
    a, b = (_finished_run(tmp_path / n, tiny_checkpoint) for n in "ab")
    videos = tmp_path / "videos"
    videos.mkdir()
    assert split_runs_and_videos([a, b, videos]) == ([a, b], [videos])


def test_labelled_and_queued_frames_are_known_per_video(tmp_path: Path) -> None:
    video = tmp_path / "videos" / "session1.mp4"
    queued = tmp_path / "labeled-data" / "session1" / "img00000420.png"
    queued.parent.mkdir(parents=True)
    queued.write_bytes(b"")
    labeled = labeled_frames(
        tmp_path, ["labeled-data/session1/img00000012.png", "labeled-data/other/img00000013.png"], [video]
    )
    assert labeled == {video: {12, 420}}


def test_run_listing_knows_the_ensemble_and_the_parent(tmp_path: Path, tiny_checkpoint: Path) -> None:
    from pose_core.runs import read_run_info
    from pose_core.training.ensemble import record_ensemble

    members = plan_members(tmp_path / "10-00-00", [0, 1])
    for member in members:
        _finished_run(member.run_dir, tiny_checkpoint)
        record_ensemble(member.run_dir, "10-00-00", member.seed, members)
    info = read_run_info(members[1].run_dir)
    assert info.ensemble_id == "10-00-00" and info.status == "finished" and info.parent is None
    child = tmp_path / "child"
    child.mkdir()
    overrides = [*tiny_config_overrides(tmp_path), f"training.init_from={members[0].run_dir}"]
    load_config(None, overrides, check_paths=False).save(child / "config.yaml")
    assert read_run_info(child).parent == members[0].run_dir


def test_train_ensemble_trains_members_one_after_another_and_records_the_group(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from pose_core.training.ensemble import ensemble_info, train_ensemble

    loaded = load_config(None, [*tiny_config_overrides(tmp_path), "training.ensemble_seeds=[3,5,7]"], check_paths=False)
    calls = []

    def fake_train(cfg, run_dir: Path):
        calls.append((int(cfg.cfg.training.rng_seed_model_pt), run_dir.name))
        run_dir.mkdir(parents=True)
        (run_dir / "summary.json").write_text(json.dumps({"status": "finished"}))
        status = "stopped" if len(calls) == 2 else "finished"  # the user stops the second member
        return SimpleNamespace(status=status, global_rank=0, run_dir=run_dir)

    lines: list[str] = []
    results = train_ensemble(loaded, tmp_path / "09-30-00", fake_train, lines.append)
    assert calls == [(3, "09-30-00-seed3"), (5, "09-30-00-seed5")]  # the third is not started after a stop
    assert len(results) == 2 and "the remaining members are not trained" in lines[-1]
    info = ensemble_info(tmp_path / "09-30-00-seed5")
    assert info is not None and info["id"] == "09-30-00" and info["seed"] == 5 and len(info["members"]) == 3
    assert json.loads((tmp_path / "09-30-00-seed3" / "summary.json").read_text())["status"] == "finished"


def test_add_extracts_exactly_the_picked_frames_and_lists_their_reasons(tmp_path: Path) -> None:
    import cv2

    from pose_core.ensemble.ranking import Pick
    from pose_core.ensemble.suggest import add_to_queue, read_suggestions
    from tests.core.conftest import decode_frame_index

    (tmp_path / "videos").mkdir()
    video = make_index_video(tmp_path / "videos" / "session1.mp4", 40)
    picks = [
        Pick(video, idx, 5.0 - i, "disagreement", "nose", 9.0, f"3 models disagree by 9 px on nose ({idx})")
        for i, idx in enumerate((31, 7))
    ]
    written = add_to_queue(tmp_path, picks)
    assert [p.name for p in written] == ["img00000031.png", "img00000007.png"]
    for path, idx in zip(written, (31, 7), strict=True):
        assert decode_frame_index(cv2.imread(str(path))) == idx
    rows = read_suggestions(tmp_path / "labeled-data" / "suggested_frames.csv")
    assert [(r["image"], r["frame_idx"]) for r in rows] == [
        ("labeled-data/session1/img00000031.png", "31"),
        ("labeled-data/session1/img00000007.png", "7"),
    ]
    assert rows[0]["reason"] == "3 models disagree by 9 px on nose (31)"
    add_to_queue(tmp_path, picks[:1])  # adding again keeps one row per frame
    assert len(read_suggestions(tmp_path / "labeled-data" / "suggested_frames.csv")) == 2
    assert labeled_frames(tmp_path, [], [video]) == {video: {7, 31}}  # queued frames are never suggested again
