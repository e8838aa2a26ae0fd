"""pose-train on bad input: exit status 2, one line naming the file or key and the fix, nothing written."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pose_core.cli import train_main
from pose_core.example import generate_example_project


@pytest.fixture(scope="module")
def source_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "project"
    generate_example_project(folder, seed=5, n_labeled=12, n_video_frames=10, n_videos=1)
    return folder


@pytest.fixture
def project(source_project: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(source_project, folder)
    return folder


def _csv_lines(project: Path) -> list[str]:
    return (project / "CollectedData.csv").read_text().splitlines()


def _write_csv(project: Path, lines: list[str]) -> None:
    (project / "CollectedData.csv").write_text("\n".join(lines) + "\n")


def wrong_header(project: Path) -> list[str]:
    lines = _csv_lines(project)
    _write_csv(project, [lines[0], *lines[2:]])  # bodyparts row missing
    return []


def non_numeric(project: Path) -> list[str]:
    lines = _csv_lines(project)
    cells = lines[4].split(",")
    cells[1] = "twelve"
    lines[4] = ",".join(cells)
    _write_csv(project, lines)
    return []


def empty_csv(project: Path) -> list[str]:
    (project / "CollectedData.csv").write_text("")
    return []


def missing_image(project: Path) -> list[str]:
    next((project / "labeled-data").glob("*.png")).unlink()
    return []


def names_mismatch(project: Path) -> list[str]:
    return ["data.keypoint_names=[a,b,c]", "data.num_keypoints=null"]


def another_datasets_labels(project: Path) -> list[str]:
    """The config names one keypoint more than the labels have (a config used with another dataset)."""
    _write_csv(project, [",".join(line.split(",")[:-2]) for line in _csv_lines(project)])
    return []


CASES: dict[str, tuple[Callable[[Path], list[str]], list[str], tuple[str, ...]]] = {
    "csv wrong header rows": (wrong_header, [], ("CollectedData.csv",)),
    "csv non-numeric coordinate": (non_numeric, [], ("CollectedData.csv", "twelve")),
    "csv empty": (empty_csv, [], ("CollectedData.csv", "empty")),
    "image missing": (missing_image, [], ("labeled-data",)),
    "keypoint names differ from csv": (names_mismatch, [], ("keypoint_names",)),
    "labels of another dataset": (
        another_datasets_labels,
        [],
        ("data.num_keypoints=", "CollectedData.csv", "data.num_keypoints=null data.keypoint_names=null"),
    ),
    "data_dir missing": (lambda p: [], ["data.data_dir=/no/such/folder"], ("data.data_dir", "/no/such/folder")),
    "unknown key": (lambda p: [], ["training.max_epoch=3"], ("training.max_epoch", "training.max_epochs")),
    "internet backbone": (
        lambda p: [],
        ["model.backbone=resnet50_animal_ap10k"],
        ("resnet50_animal_ap10k", "internet"),
    ),
    "wrong type": (lambda p: [], ["training.max_epochs=abc"], ("training.max_epochs", "abc")),
    "out of range": (lambda p: [], ["training.train_prob=1.5"], ("training.train_prob", "1.5")),
    "milestones past max_epochs": (
        lambda p: [],
        ["training.max_epochs=5", "training.lr_scheduler_params.multisteplr.milestones=[3,8]"],
        ("milestones", "max_epochs"),
    ),
    "too few frames to split": (lambda p: [], ["training.train_prob=0.05", "training.val_prob=0.0"], ("train_prob",)),
    "unknown backbone": (lambda p: [], ["model.backbone=resnet9"], ("resnet9", "resnet18")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(
    case: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    breaker, overrides, expected = CASES[case]
    overrides = overrides + breaker(project)
    run_dir = tmp_path / "run"
    args = ["--config-path", str(project), "--config-name", "config.yaml", f"hydra.run.dir={run_dir}", *overrides]
    assert train_main(args) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("pose-train: error: ")
    assert "Traceback" not in captured.err + captured.out
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert not run_dir.exists(), "bad input must not leave a half-written run directory"


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["--help"]) == 0
    assert "--config-path" in capsys.readouterr().out


def test_unknown_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["--epochs", "3"]) == 2
    assert "--epochs" in capsys.readouterr().err
