"""posedesk export-job: a self-contained run directory (config.yaml, train.sh, job.sbatch) that trains elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from pose_core.config.io import load_config
from pose_core.errors import ConfigError, DataError
from pose_core.example import generate_example_project
from pose_core.jobs import (
    SLURM_SCRIPT,
    TRAIN_SCRIPT,
    SlurmOptions,
    export_job,
    export_job_main,
    job_layout,
    parse_remaps,
    remap_path,
)

TINY = [
    "data.image_resize_dims.height=64",
    "data.image_resize_dims.width=128",
    "training.max_epochs=1",
    "training.train_prob=0.7",
    "training.imgaug=none",
    "eval.predict_vids_after_training=false",
]


@pytest.fixture(scope="module")
def source_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("jobs") / "project"
    generate_example_project(folder, seed=3, n_labeled=20, n_video_frames=10, n_videos=1)
    return folder


@pytest.fixture
def project(source_project: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source_project, tmp_path / "lab" / "project"))


def test_export_writes_three_files_whose_relative_paths_load_to_the_same_data(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "runs" / "job1"
    files = export_job(project, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["config.yaml", "job.sbatch", "train.sh"]
    assert os.access(dest / TRAIN_SCRIPT, os.X_OK) and os.access(dest / SLURM_SCRIPT, os.X_OK)
    yaml_lines = [line for line in (dest / "config.yaml").read_text().splitlines() if not line.startswith("#")]
    assert "  data_dir: ../../lab/project" in yaml_lines  # relative to the run directory
    assert not any(str(project) in line for line in yaml_lines)
    cfg = load_config(dest / "config.yaml").cfg  # validates: the data is found from the run directory
    assert Path(cfg.data.data_dir) == project.resolve()
    assert Path(cfg.data.csv_file) == project.resolve() / "CollectedData.csv"
    assert Path(cfg.data.video_dir) == project.resolve() / "videos"
    assert files.cluster_run_dir == str(dest) and files.nodes == 1 and files.devices == 1


def test_remapped_paths_name_the_cluster_folders_and_the_run_dir_too(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "runs" / "job2"
    remap = parse_remaps([f"{project}=/cluster/data/mouse", f"{tmp_path / 'runs'}/=/scratch/me/runs"])
    files = export_job(project, dest, remap=remap, slurm=SlurmOptions(time="2-00:00:00", partition="gpu-a100"))
    cfg = load_config(dest / "config.yaml", check_paths=False).cfg
    assert cfg.data.data_dir == "/cluster/data/mouse"
    assert cfg.data.csv_file == "/cluster/data/mouse/CollectedData.csv"
    assert cfg.data.video_dir == "/cluster/data/mouse/videos"
    sbatch = (dest / SLURM_SCRIPT).read_text()
    assert files.cluster_run_dir == "/scratch/me/runs/job2"
    for line in (
        "#SBATCH --chdir=/scratch/me/runs/job2",
        "#SBATCH --output=/scratch/me/runs/job2/slurm-%j.out",
        "#SBATCH --time=2-00:00:00",
        "#SBATCH --partition=gpu-a100",
        "RUN_DIR=/scratch/me/runs/job2",
    ):
        assert line in sbatch.splitlines()


def test_remap_matches_whole_path_components_and_the_longest_prefix() -> None:
    remap = {"/home/me/data": "/c/data", "/home/me/data/videos": "/fast/videos"}
    assert remap_path("/home/me/data/CollectedData.csv", remap) == "/c/data/CollectedData.csv"
    assert remap_path("/home/me/data/videos/a.mp4", remap) == "/fast/videos/a.mp4"
    assert remap_path("/home/me/data2/x.csv", remap) is None
    with pytest.raises(ConfigError, match="two absolute paths"):
        parse_remaps(["data=/cluster/data"])


def test_slurm_layout_follows_devices_nodes_and_accelerator() -> None:
    def layout(**training: object) -> tuple[int, int, int]:
        return job_layout(OmegaConf.create({"training": training}))

    assert layout(accelerator="gpu", devices=4, num_nodes=2) == (2, 4, 4)
    assert layout(accelerator="cpu", devices=2) == (1, 2, 0)
    assert layout(accelerator="gpu", num_gpus=2) == (1, 2, 2)  # LP's key when the schema has no devices
    assert layout(accelerator="auto", devices="auto") == (1, 1, 0)


def test_scripts_parse_and_run_the_exact_training_command(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "job3"
    export_job(
        project, dest, overrides=["training.accelerator=gpu", "training.num_gpus=2"], python="/opt/venv/bin/python"
    )
    for name in (TRAIN_SCRIPT, SLURM_SCRIPT):
        result = subprocess.run(["bash", "-n", str(dest / name)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    train_sh = (dest / TRAIN_SCRIPT).read_text()
    command = '-m pose_core.cli train --config-path "$RUN_DIR" --config-name config.yaml "hydra.run.dir=$RUN_DIR"'
    assert "set -euo pipefail" in train_sh and command in train_sh and 'RUN_DIR="$(cd "$(dirname' in train_sh
    sbatch = (dest / SLURM_SCRIPT).read_text().splitlines()
    assert "#SBATCH --ntasks-per-node=2" in sbatch and "#SBATCH --gres=gpu:2" in sbatch
    assert any(line.startswith("srun ") and command in line for line in sbatch)
    assert "DEFAULT_PYTHON=/opt/venv/bin/python" in sbatch


def test_train_sh_without_posedesk_says_so_in_one_line(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "job4"
    export_job(project, dest)
    env = {**os.environ, "PYTHON": str(tmp_path / "no-python")}
    result = subprocess.run(["bash", str(dest / TRAIN_SCRIPT)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "cannot import pose_core" in result.stderr
    assert not (dest / "events.jsonl").exists()


def test_train_sh_on_the_exporting_machine_finds_posedesk_without_python_set(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "job4b"
    export_job(project, dest)  # default interpreter "python"
    bin_dir = tmp_path / "bin"  # a PATH with no python at all: only what the script itself calls
    bin_dir.mkdir()
    for tool in ("dirname", "tee"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"} | {"PATH": str(bin_dir)}
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run(
        [bash, str(dest / TRAIN_SCRIPT), "training.max_epochs=0"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    # PoseDesk's own interpreter ran the training command, which refused the bad value before training
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pose-train: error:" in result.stdout and "training.max_epochs" in result.stdout
    assert "cannot import pose_core" not in result.stderr


def test_an_existing_destination_is_refused_unless_forced(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="already exists and is not empty"):
        export_job(project, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]
    export_job(project, dest, force=True)
    assert (dest / "notes.txt").read_text() == "mine" and (dest / TRAIN_SCRIPT).is_file()
    with pytest.raises(DataError, match="folder of config.yaml itself"):
        export_job(project, project, force=True)


def test_a_folder_without_a_posedesk_config_is_refused(project: Path, tmp_path: Path) -> None:
    (project / "config.yaml").unlink()
    with pytest.raises(DataError, match="no PoseDesk config.yaml"):
        export_job(project, tmp_path / "job5")
    assert not (tmp_path / "job5").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--time", "tomorrow"], "is not a SLURM time"),
        (["--remap", "relative=/x"], "two absolute paths"),
        (["--set", "training.max_epoch=3"], "Did you mean training.max_epochs"),
        (["--partition", "gpu; rm -rf /"], "is not a SLURM partition name"),
    ],
)
def test_cli_errors_are_one_line_with_exit_2(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert export_job_main([str(project), str(tmp_path / "job6"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("posedesk export-job: error:") and err.count("\n") == 1 and expected in err
    assert not (tmp_path / "job6").exists()


def test_cli_needs_project_and_destination(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert export_job_main([str(tmp_path / "only-dest")]) == 2
    assert "give the project folder (or --config FILE) and DEST" in capsys.readouterr().err


def test_cli_through_posedesk_without_qt(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "job7"
    code = (
        "import sys\nfrom pose_gui.__main__ import main\n"
        f"rc = main(['export-job', '--config', {str(project / 'config.yaml')!r}, {str(dest)!r}, '--time', '01:00:00'])\n"
        "assert 'PySide6' not in sys.modules, 'export-job imported Qt'\nsys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"bash {dest / TRAIN_SCRIPT}" in result.stdout
    assert "#SBATCH --time=01:00:00" in (dest / SLURM_SCRIPT).read_text()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr


@pytest.mark.slow
def test_exported_train_sh_trains_from_any_folder(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "cluster" / "job8"
    export_job(project, dest, overrides=TINY)
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(dest / TRAIN_SCRIPT)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    events = [json.loads(line) for line in (dest / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events].count("started") == 1 and events[-1]["event"] == "finished"
    assert "Training finished" in (dest / "train.log").read_text()
    assert list(dest.glob("tb_logs/*/version_0/checkpoints/*.ckpt"))
    assert json.loads((dest / "summary.json").read_text())["status"] == "finished"
