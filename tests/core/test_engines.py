"""Tests of the inference engines (pose_core.inference.engines): ONNX Runtime and OpenVINO agree with
torch, the export is made once per checkpoint and rebuilt when stale or damaged, and every way an
engine cannot be used falls back to torch with one line saying why."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pose_core.errors import RunError
from pose_core.inference import engines
from pose_core.inference.cli import predict_main
from pose_core.inference.engines import EngineChoice, choose_engine
from pose_core.inference.predictor import Predictor
from pose_core.io.predictions import read_predictions_csv
from pose_core.models.checkpoint import load_pose_model
from tests.core.conftest import TinyRun, make_index_video

XY_TOLERANCE_PX = 0.05
LIKELIHOOD_TOLERANCE = 0.001


class TorchLoads:
    """``load_torch`` for choose_engine: a confident copy of the tiny model, counting the loads."""

    def __init__(self, checkpoint: Path) -> None:
        self.checkpoint = checkpoint
        self.n_loads = 0

    def __call__(self) -> Predictor:
        self.n_loads += 1
        loaded = load_pose_model(self.checkpoint)
        with torch.no_grad():  # sharp heatmaps, as a trained model's: the peak is never a near-tie
            last = [m for m in loaded.model.head.modules() if isinstance(m, torch.nn.ConvTranspose2d)][-1]
            last.weight.mul_(40.0)
        return Predictor(loaded.model, loaded.keypoint_names, loaded.input_hw, torch.device("cpu"), self.checkpoint)


@pytest.fixture()
def checkpoint(tmp_path: Path, tiny_checkpoint: Path) -> Path:
    path = tmp_path / "run" / "best.ckpt"
    path.parent.mkdir()
    path.write_bytes(tiny_checkpoint.read_bytes())
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> tuple[Path, Path]:
    """A checkpoint and a cache folder holding its export, made once (do not change them: copy the cache)."""
    folder = tmp_path_factory.mktemp("exported")
    ckpt = folder / "best.ckpt"
    ckpt.write_bytes(tiny_checkpoint.read_bytes())
    choose_engine("onnxruntime", ckpt, TorchLoads(ckpt), folder / "exported")
    return ckpt, folder / "exported"


@pytest.fixture()
def cache(exported: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the module's export cache (for the module's checkpoint ``exported[0]``)."""
    return Path(shutil.copytree(exported[1], tmp_path / "exported"))


def _images(n: int = 6) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_runtime_engines_agree_with_torch(engine: str, exported: tuple[Path, Path], cache: Path) -> None:
    pytest.importorskip(engine, reason=f"{engine} is not installed (optional engine: pip install {engine})")
    loads = TorchLoads(exported[0])
    choice = choose_engine(engine, exported[0], loads, cache)
    assert choice.engine == engine and loads.n_loads == 0
    images = _images()
    xy, likelihood = choice.predictor.predict_resized(images)
    xy_ref, likelihood_ref = loads().predict_resized(images)
    assert xy.shape == xy_ref.shape == (6, 3, 2) and xy.dtype == np.float64
    assert np.abs(xy - xy_ref).max() < XY_TOLERANCE_PX
    assert np.abs(likelihood - likelihood_ref).max() < LIKELIHOOD_TOLERANCE
    assert likelihood_ref.max() > 0.5, "the test model is confident, so the comparison means something"


def test_export_is_reused_then_rebuilt_when_the_checkpoint_changes(checkpoint: Path, tmp_path: Path) -> None:
    cache = tmp_path / "exported"
    loads = TorchLoads(checkpoint)
    first = choose_engine("onnxruntime", checkpoint, loads, cache)
    assert loads.n_loads == 1 and len(list(cache.glob("*.onnx"))) == 1
    again = choose_engine("onnxruntime", checkpoint, loads, cache)
    assert loads.n_loads == 1 and again.note is None, "the cached export opens without loading the torch model"
    images = _images(2)
    assert np.array_equal(first.predictor.predict_resized(images)[0], again.predictor.predict_resized(images)[0])
    stat = checkpoint.stat()
    os.utime(checkpoint, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new checkpoint at the same path
    rebuilt = choose_engine("onnxruntime", checkpoint, loads, cache)
    assert loads.n_loads == 2 and "exported" in (rebuilt.note or "")


def test_damaged_export_is_rebuilt(exported: tuple[Path, Path], cache: Path) -> None:
    loads = TorchLoads(exported[0])
    onnx_file = next(cache.glob("*.onnx"))
    onnx_file.write_bytes(b"not an onnx model")
    choice = choose_engine("onnxruntime", exported[0], loads, cache)
    assert choice.engine == "onnxruntime" and loads.n_loads == 1
    assert choice.predictor.predict_resized(_images(1))[0].shape == (1, 3, 2)


def test_runtime_not_installed_falls_back_to_torch_saying_why(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "runtime_installed", lambda name: False)
    choice = choose_engine("auto", checkpoint, TorchLoads(checkpoint), tmp_path / "exported")
    assert choice.engine == "torch" and isinstance(choice.predictor, Predictor)
    assert choice.note == "onnxruntime and openvino not installed (pip install onnxruntime): predicting with torch"


def test_runtime_that_cannot_load_the_export_falls_back_to_torch(
    exported: tuple[Path, Path], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: engines.RuntimeEngine, onnx_path: Path) -> None:
        raise RuntimeError("Fail: unsupported operator")

    monkeypatch.setattr(engines.OnnxRuntimeEngine, "_open", refuse)
    choice = choose_engine("onnxruntime", exported[0], TorchLoads(exported[0]), cache)
    assert choice.engine == "torch"
    assert choice.note is not None and "\n" not in choice.note
    assert choice.note.startswith("onnxruntime cannot run this model") and "predicting with torch" in choice.note


def test_failed_export_falls_back_to_torch(checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pose_core.inference import export

    def fail(predictor: Predictor, onnx_path: Path) -> Path:
        raise RuntimeError("Exporting the operator 'aten::foo' to ONNX opset version 17 is not supported")

    monkeypatch.setattr(export, "export_onnx", fail)
    choice = choose_engine("auto", checkpoint, TorchLoads(checkpoint), tmp_path / "exported")
    assert choice.engine == "torch" and "exporting best.ckpt failed" in (choice.note or "")
    assert list((tmp_path / "exported").glob("*")) == [], "no half-written export is left"


def test_unwritable_run_folder_exports_for_this_prediction_only(checkpoint: Path, tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("the cache folder cannot be created under a file")
    cache = tmp_path / "a_file" / "exported"
    choice = choose_engine("onnxruntime", checkpoint, TorchLoads(checkpoint), cache)
    assert choice.engine == "onnxruntime" and "not writable" in (choice.note or "")
    assert choice.predictor.predict_resized(_images(1))[0].shape == (1, 3, 2)


def test_cached_export_of_other_keypoints_is_refused(exported: tuple[Path, Path], cache: Path) -> None:
    with pytest.raises(RunError, match="other keypoints"):
        choose_engine("onnxruntime", exported[0], TorchLoads(exported[0]), cache, ["nose", "tail"])


def test_torch_engine_is_the_torch_predictor(checkpoint: Path, tmp_path: Path) -> None:
    choice = choose_engine("torch", checkpoint, TorchLoads(checkpoint), tmp_path / "exported")
    assert isinstance(choice, EngineChoice) and choice.engine == "torch" and choice.note is None
    assert not (tmp_path / "exported").exists()


def test_cli_engines_write_the_same_predictions(
    tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_bytes((tiny_run.run_dir / "config.yaml").read_bytes())
    ckpt = run_dir / tiny_run.checkpoint.relative_to(tiny_run.run_dir)
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(tiny_run.checkpoint.read_bytes())
    video = make_index_video(tmp_path / "v.mp4", 12)
    tables = {}
    for engine in ("torch", "onnxruntime"):
        out = tmp_path / engine
        assert predict_main([str(run_dir), str(video), "--output-dir", str(out), "--engine", engine]) == 0
        assert f"pose-predict: engine: {engine}" in capsys.readouterr().err
        tables[engine] = read_predictions_csv(out / "v.csv", expected_rows=12).preds
    assert list((run_dir / "exported").glob("*.onnx")), "the export is kept in the run folder"
    a, b = tables["torch"], tables["onnxruntime"]
    close = np.linalg.norm(a[..., :2] - b[..., :2], axis=-1) < XY_TOLERANCE_PX
    # a random-init model has near-flat heatmaps: allow one near-tie peak among the 36 keypoints
    assert close.mean() >= 35 / 36
    assert (np.abs(a[..., 2] - b[..., 2])[close] < LIKELIHOOD_TOLERANCE).all()


def test_cli_refuses_an_unknown_engine(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = make_index_video(tmp_path / "v.mp4", 3)
    code = predict_main([str(tiny_run.run_dir), str(video), "--engine", "tensorrt"])
    err = capsys.readouterr().err
    assert code == 2 and "--engine" in err and "Traceback" not in err


def test_cached_export_predicts_without_importing_torch(tiny_run: TinyRun, tmp_path: Path) -> None:
    """The first frame does not wait for ``import torch``: with the export cached, a process that cannot import
    torch predicts the same keypoints (frames resized with Pillow's filter instead of torch's)."""
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run.run_dir, run_dir)
    video = make_index_video(tmp_path / "v.mp4", 12)
    args = [str(run_dir), str(video), "--engine", "onnxruntime"]
    assert predict_main([*args, "--output-dir", str(tmp_path / "with_torch")]) == 0  # exports, in this process
    code = (
        "import sys; sys.modules['torch'] = None  # import torch fails\n"
        "from pose_core.inference.cli import predict_main\n"
        f"sys.exit(predict_main({[*args, '--output-dir', str(tmp_path / 'no_torch')]!r}))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "engine: onnxruntime" in done.stderr and "torch" not in done.stderr.replace("engine: onnxruntime", "")
    a = read_predictions_csv(tmp_path / "with_torch" / "v.csv", expected_rows=12).preds
    b = read_predictions_csv(tmp_path / "no_torch" / "v.csv", expected_rows=12).preds
    close = np.linalg.norm(a[..., :2] - b[..., :2], axis=-1) < XY_TOLERANCE_PX
    assert close.mean() >= 35 / 36  # a random-init model: one near-tie peak allowed, as above


def test_export_measures_both_engines_on_this_machine(exported: tuple[Path, Path]) -> None:
    record = engines.read_export_record(exported[1], exported[0])
    assert record is not None and set(record.measured_fps) == {"onnxruntime", "torch"}
    assert all(fps > 0 for fps in record.measured_fps.values())


@pytest.mark.parametrize(("torch_fps", "picked"), [(300.0, "torch"), (110.0, "onnxruntime"), (None, "onnxruntime")])
def test_auto_takes_torch_only_when_it_was_measured_faster_here(
    exported: tuple[Path, Path], cache: Path, torch_fps: float | None, picked: str
) -> None:
    import json

    record_path = next(cache.glob("*.json"))
    data = json.loads(record_path.read_text())
    data["measured_fps"] = {"onnxruntime": 100.0} | ({"torch": torch_fps} if torch_fps is not None else {})
    data["measured_load"] = 1.5
    record_path.write_text(json.dumps(data))
    loads = TorchLoads(exported[0])
    choice = choose_engine("auto", exported[0], loads, cache)
    assert choice.engine == picked and loads.n_loads == (1 if picked == "torch" else 0)
    assert choice.note is not None and choice.note.startswith(f"auto: {picked}")
    if torch_fps is not None:
        assert f"onnxruntime 100 frames/s, torch {torch_fps:.0f}" in choice.note and "load 1.5" in choice.note
    explicit = choose_engine("onnxruntime", exported[0], TorchLoads(exported[0]), cache)
    assert explicit.engine == "onnxruntime" and explicit.note is None, "an engine asked for by name is used"
