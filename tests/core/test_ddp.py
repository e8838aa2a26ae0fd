"""Distributed training (Lightning DDP): device settings, batch shares, SLURM checks, one run folder.

The fast tests cover the pure logic. The slow ones (``make test-slow``: a second process costs
~20 s on 2 cores) train with 2 CPU processes (gloo) through the real CLI: one epoch, written once
by rank 0; and a SIGTERM to the command, which stops both processes at the same step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pose_core.cli import expand_run_dir, train_main
from pose_core.config.io import load_config
from pose_core.errors import ConfigError
from pose_core.events import read_events
from pose_core.example import generate_example_project
from pose_core.training.distributed import (
    PARENT_PID_ENV,
    RUN_DIR_ENV,
    is_secondary_process,
    launched_by_lightning,
    plan_devices,
    resolve_accelerator,
    resolve_devices,
    run_dir_for_children,
    shared_run_dir,
    split_batch,
)
from tests.core.conftest import wait_for_events

SLURM_ENV = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "train", "SLURM_STEP_ID": "0", "SLURM_PROCID": "0"}


def _cfg(*overrides: str):
    return load_config(None, ["data.data_dir=/nowhere", *overrides], check_paths=False).cfg


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ddp") / "project"
    generate_example_project(folder, seed=3, n_labeled=24, n_video_frames=20, n_videos=1)  # 12 train frames
    return folder


def _train_args(project: Path, *extra: str) -> list[str]:
    return [
        "--config-path", str(project), "--config-name", "config.yaml",
        "data.image_resize_dims.height=32", "data.image_resize_dims.width=32", "training.max_epochs=1",
        "training.train_batch_size=8", "training.imgaug=none", "training.accelerator=cpu", "training.train_prob=0.5",
        "eval.predict_vids_after_training=false", *extra,
    ]  # fmt: skip


def test_num_gpus_is_the_same_setting_as_devices() -> None:
    assert resolve_devices(1, 1) == 1
    assert resolve_devices(2, 1) == 2
    assert resolve_devices(1, 2) == 2  # a Lightning Pose config's num_gpus
    assert resolve_devices(1, 0) == 1  # LP's 0 = one process
    assert resolve_devices(3, 3) == 3
    with pytest.raises(ConfigError, match=r"training.devices=2 and training.num_gpus=4") as info:
        resolve_devices(2, 4)
    assert info.value.key == "training.devices"


def test_plan_divides_the_batches_over_the_processes() -> None:
    plan = plan_devices(_cfg("training.devices=2", "training.num_nodes=2", "training.train_batch_size=16"), env={})
    assert (plan.accelerator, plan.world_size, plan.strategy) == ("cpu", 4, "ddp")
    assert plan.train_batch_size == 4 and plan.val_batch_size == 4  # 16 / 4 each
    assert plan.unlabeled_sequence_length == 8  # no unsupervised loss: untouched
    semi = plan_devices(_cfg("training.devices=2", "model.losses_to_use=[temporal]"), env={})
    assert semi.unlabeled_sequence_length == 4
    single = plan_devices(_cfg("training.num_gpus=1", "training.val_batch_size=5"), env={})
    assert (single.world_size, single.strategy, single.train_batch_size, single.val_batch_size) == (1, "auto", 8, 5)
    assert plan_devices(_cfg("training.devices=3", "training.val_batch_size=16", "training.train_batch_size=9"), env={}).val_batch_size == 6  # fmt: skip


def test_batches_that_do_not_split_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"training.train_batch_size=6 .* 4 training processes.*e.g. 4 or 8") as info:
        plan_devices(_cfg("training.devices=4", "training.train_batch_size=6"), env={})
    assert info.value.key == "training.train_batch_size"
    with pytest.raises(ConfigError, match=r"training.train_batch_size=2 .* 4 training processes.*e.g. 4\.") as info:
        plan_devices(_cfg("training.devices=4", "training.train_batch_size=2"), env={})
    with pytest.raises(ConfigError, match=r"unlabeled_sequence_length=8 .* at least 2 each") as info:
        plan_devices(
            _cfg("training.devices=8", "model.losses_to_use=[temporal]", "training.train_batch_size=8"), env={}
        )
    assert info.value.key == "training.unlabeled_sequence_length"
    assert split_batch(7, 1, "k") == 7


def test_accelerator_choice_and_missing_gpus() -> None:
    assert resolve_accelerator("auto", 2, 0) == "cpu"
    assert resolve_accelerator("auto", 2, 2) == "gpu"
    assert resolve_accelerator("cpu", 4, 8) == "cpu"
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        resolve_accelerator("gpu", 1, 0)
    with pytest.raises(ConfigError, match=r"training.devices=4 but this node has 2 CUDA GPU") as info:
        resolve_accelerator("gpu", 4, 2)
    assert info.value.key == "training.devices"


def test_slurm_allocation_must_match_the_config() -> None:
    env = {**SLURM_ENV, "SLURM_NTASKS": "4", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NNODES": "2"}
    plan = plan_devices(_cfg("training.devices=2", "training.num_nodes=2"), env=env)
    assert plan.world_size == 4
    with pytest.raises(ConfigError, match=r"^training.num_nodes=1 but the SLURM allocation has 2 node\(s\) .*set training.num_nodes=2 or submit with --nodes=1\.$") as info:  # fmt: skip
        plan_devices(_cfg("training.devices=2"), env=env)
    assert info.value.key == "training.num_nodes"
    with pytest.raises(ConfigError, match=r"^training.devices=1 but SLURM runs 2 task\(s\) per node .*set training.devices=2") as info:  # fmt: skip
        plan_devices(_cfg("training.num_nodes=2"), env=env)
    assert info.value.key == "training.devices"
    job_env = {**SLURM_ENV, "SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "1", "SLURM_JOB_NUM_NODES": "2"}
    with pytest.raises(ConfigError, match=r"SLURM_JOB_NUM_NODES=2"):
        plan_devices(_cfg(), env=job_env)
    with pytest.raises(ConfigError, match=r"without --ntasks-per-node"):
        plan_devices(_cfg(), env={**SLURM_ENV, "SLURM_NTASKS": "2"})
    # an interactive allocation (job name bash) is not used by Lightning: nothing to compare
    plan_devices(_cfg(), env={**env, "SLURM_JOB_NAME": "bash"})


def test_slurm_mismatch_stops_the_cli_before_anything_is_written(
    tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**SLURM_ENV, "SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "1", "SLURM_NNODES": "2"}.items():
        monkeypatch.setenv(name, value)
    run_dir = tmp_path / "run"
    assert train_main(_train_args(tiny_project, f"hydra.run.dir={run_dir}")) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("pose-train: error: training.num_nodes=1 but the SLURM")
    assert not run_dir.exists()


def test_every_process_agrees_on_the_run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clock = "outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}"
    assert shared_run_dir(clock, expand_run_dir, env={RUN_DIR_ENV: "/runs/a"}) == Path("/runs/a")
    assert shared_run_dir("fixed/run", expand_run_dir, env={}) == tmp_path / "fixed" / "run"
    slurm = {**SLURM_ENV, "SLURM_NTASKS": "4", "SLURM_STEP_ID": "3"}
    assert shared_run_dir(clock, expand_run_dir, env=slurm) == tmp_path / "outputs" / "slurm-4242.3"
    with pytest.raises(ConfigError, match="hydra.run.dir") as info:
        shared_run_dir(clock, expand_run_dir, env={"TORCHELASTIC_RUN_ID": "x"})
    assert info.value.key == "hydra.run.dir"
    assert shared_run_dir(clock, expand_run_dir, env={}).parent.parent == tmp_path / "outputs"
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)
    monkeypatch.delenv(PARENT_PID_ENV, raising=False)
    with run_dir_for_children(tmp_path / "r"):
        assert os.environ[RUN_DIR_ENV] == str(tmp_path / "r")
        assert os.environ[PARENT_PID_ENV] == str(os.getpid())
    assert RUN_DIR_ENV not in os.environ and PARENT_PID_ENV not in os.environ


def test_secondary_processes_are_recognised() -> None:
    assert not is_secondary_process({})
    assert not is_secondary_process({"LOCAL_RANK": "0", "NODE_RANK": "0", "WORLD_SIZE": "2"})
    assert is_secondary_process({"LOCAL_RANK": "1"})
    assert is_secondary_process({"NODE_RANK": "1", "LOCAL_RANK": "0"})
    assert is_secondary_process({**SLURM_ENV, "SLURM_NTASKS": "2", "SLURM_PROCID": "1"})
    assert not is_secondary_process({**SLURM_ENV, "SLURM_JOB_NAME": "bash", "SLURM_NTASKS": "2", "SLURM_PROCID": "1"})


@pytest.mark.slow
def test_two_cpu_processes_write_one_run(tiny_project: Path, tmp_path: Path) -> None:
    """1 epoch, 2 CPU processes (DDP, gloo), default clock-based run folder: written once, by rank 0."""
    env = {k: v for k, v in os.environ.items() if k != RUN_DIR_ENV and not k.startswith("SLURM_")}
    cmd = [sys.executable, "-m", "pose_core.cli", "train", *_train_args(tiny_project, "training.devices=2")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "Starting with 2 processes" in out and out.count("Results in ") == 1, out
    assert "Tip: " not in out  # Lightning's advertisement is not shown
    run_dirs = [p for p in (tmp_path / "outputs").glob("*/*") if p.is_dir()]
    assert len(run_dirs) == 1, run_dirs
    run_dir = run_dirs[0]
    assert [p.name for p in (run_dir / "tb_logs" / "example").iterdir()] == ["version_0"]
    ckpts = sorted(p.name for p in (run_dir / "tb_logs" / "example" / "version_0" / "checkpoints").iterdir())
    assert len(ckpts) == 2 and ckpts[1] == "last.ckpt" and ckpts[0].startswith("best-"), ckpts
    tb_files = list(run_dir.glob("tb_logs/example/version_0/events.out.tfevents.*"))
    assert len(tb_files) == 1 and tb_files[0].name.split(".")[-2] == str(proc.pid)  # written by rank 0
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    assert len(lines) == len(set(lines))
    events = read_events(run_dir / "events.jsonl")
    kinds = [e.kind for e in events]
    assert kinds.count("started") == 1 and kinds.count("finished") == 1 and kinds.count("epoch_end") == 1
    started = next(e for e in events if e.kind == "started")
    assert started.data["pid"] == proc.pid and started.data["world_size"] == 2
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["world_size"] == 2
    config = (run_dir / "config.yaml").read_text()
    assert "devices: 2" in config and "train_batch_size: 8" in config  # the effective batch is what is saved


def test_a_launched_child_ends_when_its_parent_is_killed() -> None:
    import psutil

    child = "from pose_core.training.distributed import exit_with_parent; import time; exit_with_parent(0.05); print('watching', flush=True); time.sleep(60)"
    parent_code = (
        "import os, subprocess, sys, time\n"
        f"os.environ[{PARENT_PID_ENV!r}] = str(os.getpid())\n"
        f"p = subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == "watching"  # the child runs, its watcher started
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        psutil.Process(child_pid).kill()
        raise AssertionError("the child outlived its parent by 10 s")
    assert launched_by_lightning({RUN_DIR_ENV: "/r", "LOCAL_RANK": "1"})
    assert not launched_by_lightning({RUN_DIR_ENV: "/r", "LOCAL_RANK": "0"})
    assert not launched_by_lightning({"LOCAL_RANK": "1"})  # torchrun-like: no run folder from a parent


@pytest.mark.slow
def test_sigterm_stops_both_processes_at_one_step_with_a_checkpoint(tiny_project: Path, tmp_path: Path) -> None:
    """A cluster's time limit: SIGTERM to the command; both processes stop, rank 0 saves where they stopped."""
    env = {k: v for k, v in os.environ.items() if k != RUN_DIR_ENV and not k.startswith("SLURM_")}
    run_dir = tmp_path / "run"
    args = _train_args(tiny_project, "training.devices=2", "training.max_epochs=50", "training.train_batch_size=4")
    cmd = [sys.executable, "-m", "pose_core.cli", "train", *args, f"hydra.run.dir={run_dir}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_events(run_dir, lambda ev: any(e.kind == "progress" for e in ev), proc, timeout_s=300.0)
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 143, out
    assert out.count("Received SIGTERM") == 2 and "Traceback" not in out, out  # Lightning passed it to rank 1
    assert f"continue with training.resume_from={run_dir}" in out
    assert read_events(run_dir / "events.jsonl")[-1].kind == "stopped"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["epochs_completed"] < 50
    assert Path(summary["last_checkpoint"]).is_file()
