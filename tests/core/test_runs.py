"""The run-folder owner: one place spells a run's file names, one set of status rules, loaders by kind."""

from __future__ import annotations

import ast
import json
import os
import re
import time
from pathlib import Path

import pytest

from pose_core.errors import RunError
from pose_core.events import EventWriter
from pose_core.inference.loaders import PREDICTOR_LOADERS, PredictorLoader, loader_for, register_predictor_loader
from pose_core.inference.predictor import Predictor
from pose_core.runs import RunLayout, RunStatus, list_runs, process_alive, read_run_info
from pose_core.runs.layout import new_run_dir

REPO = Path(__file__).resolve().parents[2]
# Names only the run layout spells (config.yaml and predictions.csv are also a project's and Lightning
# Pose's own file names, so they are not searched for).
RUN_FILE_NAMES = {
    "events.jsonl",
    "summary.json",
    "STOP",
    "train.log",
    "train.sh",
    "job.sbatch",
    "tb_logs",
    "last.ckpt",
    "video_preds",
    "predict_events.jsonl",
    "labeled_videos",
    "predictions_pixel_error.csv",
}
OWNERS = {"pose_core/runs/layout.py", "pose_core/interop/lightning_pose.py"}  # PoseDesk's layout; LP's own layout


def _spelled_run_file_names(path: Path) -> set[str]:
    """Run file names a module spells: a whole string, or a part of a path or glob (``tb_logs/*/...``)."""
    found = set()
    for text in _string_constants(path):
        parts = {text} if re.search(r"\s", text) else {text, *re.split(r"[/\\]", text)}
        found |= parts & RUN_FILE_NAMES
    return found


def _string_constants(path: Path) -> set[str]:
    """String literals of a module, docstrings excluded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


def test_only_the_layout_spells_a_run_file_name() -> None:
    spelled = {}
    for package in ("pose_core", "pose_gui"):
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel not in OWNERS and (found := _spelled_run_file_names(path)):
                spelled[rel] = sorted(found)
    assert spelled == {}


def test_no_module_imports_private_names_of_another() -> None:
    offenders = []
    for package in ("pose_core", "pose_gui"):
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("pose_core", "pose_gui")):
                    offenders += [
                        f"{path.name}: {a.name}"
                        for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")
                    ]
    assert offenders == []


def test_layout_paths_and_checkpoint_lookup(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    assert layout.events.name == "events.jsonl" and layout.stop.name == "STOP"
    assert layout.video_predictions(Path("/videos/mouse.avi")) == tmp_path / "video_preds" / "mouse.csv"
    assert layout.best_checkpoint() is None and layout.last_checkpoint() is None
    checkpoints = tmp_path / "tb_logs" / "model" / "version_0" / "checkpoints"
    checkpoints.mkdir(parents=True)
    last = checkpoints / "last.ckpt"
    last.write_bytes(b"")
    assert layout.best_checkpoint() == last == layout.last_checkpoint()  # no best yet: the last one
    best = checkpoints / "epoch=1-step=10.ckpt"
    best.write_bytes(b"")
    assert layout.best_checkpoint() == best and layout.last_checkpoint() == last


def test_new_run_dir_skips_an_existing_second(tmp_path: Path) -> None:
    from datetime import datetime

    stamp = datetime(2026, 1, 2, 3, 4, 5)
    first = new_run_dir(tmp_path, stamp)
    assert first == tmp_path / "outputs" / "2026-01-02" / "03-04-05"
    first.mkdir(parents=True)
    assert new_run_dir(tmp_path, stamp).name == "03-04-06"


def test_process_alive_refuses_a_reused_pid() -> None:
    assert process_alive(os.getpid(), time.time())
    # this process was created long after a run that started an hour ago: the pid was reused
    assert not process_alive(os.getpid(), time.time() - 3600)


def _run_with_events(run_dir: Path, *events: tuple[str, dict]) -> Path:
    writer = EventWriter(RunLayout(run_dir).events)
    for kind, data in events:
        writer.emit(kind, **data)
    writer.close()
    return run_dir


def test_status_rules(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs" / "2026-01-01"
    alive = _run_with_events(outputs / "10-00-00", ("started", {"pid": os.getpid()}))
    assert read_run_info(alive).status == RunStatus.RUNNING
    finished = _run_with_events(outputs / "11-00-00", ("started", {"pid": os.getpid()}), ("finished", {"epoch": 1}))
    assert read_run_info(finished).status == RunStatus.FINISHED
    not_started = outputs / "12-00-00"
    not_started.mkdir()
    RunLayout(not_started).summary.write_text(json.dumps({"status": "stopped"}))
    assert read_run_info(not_started).status == RunStatus.STOPPED  # no events: the summary says
    statuses = {r.path.name: r.status for r in list_runs(tmp_path)}
    assert statuses == {"10-00-00": "running", "11-00-00": "finished", "12-00-00": "stopped"}
    assert RunStatus.KILLED.is_terminal and not RunStatus.RUNNING.is_terminal


def test_predictor_loader_registry_contract(tmp_path: Path) -> None:
    folder = tmp_path / "other-tool-model"
    folder.mkdir()
    (folder / "other.marker").write_text("x")
    sentinel = object()
    loader = PredictorLoader("other-tool", lambda p: (p / "other.marker").is_file(), lambda *_: sentinel)  # type: ignore[arg-type, return-value]
    register_predictor_loader(loader)
    try:
        with pytest.raises(ValueError, match="already registered"):
            register_predictor_loader(loader)
        assert loader_for(folder) is loader
        assert Predictor.from_run(folder) is sentinel  # from_run asks the registry: no special case
        assert loader_for(tmp_path).name == "posedesk"  # nothing else recognises it
        with pytest.raises(RunError, match="has no config.yaml"):
            Predictor.from_run(tmp_path)
    finally:
        PREDICTOR_LOADERS._items.pop("other-tool")
    assert "lightning-pose" in PREDICTOR_LOADERS.names()


def _compared_status_literals(path: Path) -> set[str]:
    """Status values a module compares a status with as string literals (``status == "finished"``, ``in (...)``).

    Only comparisons where the other side names a status count (an event's ``kind`` or a process's
    ``how`` may share a word with a run status without being one).
    """
    values = {str(s) for s in RunStatus}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare) or "status" not in ast.unparse(node).replace("RunStatus", ""):
            continue
        for operand in (node.left, *node.comparators):
            items = operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [operand]
            found |= {i.value for i in items if isinstance(i, ast.Constant) and i.value in values}
    return found


def test_run_statuses_are_compared_as_run_status_members() -> None:
    offenders = {}
    for package in ("pose_core", "pose_gui"):
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel != "pose_core/runs/status.py" and (found := _compared_status_literals(path)):
                offenders[rel] = sorted(found)
    assert offenders == {}
