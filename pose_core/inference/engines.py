"""Inference engines: the same trained model run by torch, ONNX Runtime or OpenVINO.

``pose-predict --engine auto|torch|onnxruntime|openvino`` and prediction after training choose
here. A runtime engine runs the ONNX export of :mod:`pose_core.inference.export` (normalisation,
network and decode in one graph). The export is made once per checkpoint and kept in the run
folder (``<run_dir>/exported/<ckpt stem>-<path digest>-<H>x<W>.onnx`` with a ``.json`` record of
the checkpoint's size and modification time, the input size and the keypoint names): a later
prediction with the same checkpoint opens it without reading the checkpoint, building the torch
model or importing torchvision (which pulls in ``torch._dynamo``): several seconds of start-up on a
busy 2-core machine, nor torch itself (the frames are then resized with Pillow,
:func:`pose_core.data.preprocess.resize_frame`). A record that no longer matches its checkpoint is
rebuilt.

``auto`` takes ONNX Runtime (then OpenVINO) unless torch is measurably faster on this machine,
and torch whenever a GPU is present. Which is faster depends on the machine and its load (torch's
OpenMP threads are fastest on idle cores and collapse when the cores are shared; the runtimes' do
not), so it is measured where the model is used: when the export is made (the torch model is loaded
then anyway), both predict the same batch alternately a few times, and the frames/s go into the
export's record. ``auto`` then keeps the runtime unless torch ran more than :data:`TORCH_MARGIN`
times faster (torch also costs seconds of start-up), and says which it took and why. Whenever a
requested engine cannot be used (not installed, export failed, the runtime cannot load the export)
prediction falls back to torch and :attr:`EngineChoice.note` says why in one line.

Every engine implements :class:`pose_core.inference.pipeline.BatchPredictor`; outputs agree with
torch within 0.05 px and 0.001 likelihood (``tests/core/test_engines.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pose_core.errors import PoseDeskError, RunError
from pose_core.inference.pipeline import resized_batch
from pose_core.io.atomic import atomic_write_path, atomic_write_text

if TYPE_CHECKING:
    from pose_core.inference.pipeline import BatchPredictor
    from pose_core.inference.predictor import Predictor

ENGINE_CHOICES = ("auto", "torch", "onnxruntime", "openvino")
RUNTIME_ENGINES = ("onnxruntime", "openvino")  # the order ``auto`` tries them in
EXPORT_DIRNAME = "exported"
EXPORT_FORMAT_VERSION = 1  # bump when the exported graph changes: older exports are rebuilt
TORCH_MARGIN = 1.15  # auto takes torch only when it predicted this many times faster than the runtime
MEASURE_ROUNDS = 3  # batches per engine when an export is made (alternating)
MEASURE_BATCH = 16


@dataclass
class EngineChoice:
    """The engine that will predict, and why it is not the one asked for (if so).

    Attributes:
        predictor: The model, ready for :func:`pose_core.inference.pipeline.stream_video_predictions`.
        engine: ``torch``, ``onnxruntime`` or ``openvino``.
        note: One line for the user: why the requested engine was skipped, or that the model was
            exported now; None when there is nothing to say.
    """

    predictor: BatchPredictor
    engine: str
    note: str | None = None


@dataclass(frozen=True)
class ExportRecord:
    """What an exported model was made from (the ``.json`` next to the ``.onnx``).

    Attributes:
        onnx_file: File name of the export, in the same folder.
        checkpoint: The checkpoint it was exported from.
        checkpoint_size: Its size in bytes then.
        checkpoint_mtime_ns: Its modification time then.
        input_hw: Network input ``(height, width)``.
        keypoint_names: K names, in output order.
        format_version: :data:`EXPORT_FORMAT_VERSION` of the code that exported it.
        measured_fps: Frames/s each engine predicted when the export was made (``torch`` and the
            runtime), on this machine; empty when not measured.
        measured_load: The 1-minute load average then (None when not measured).
    """

    onnx_file: str
    checkpoint: str
    checkpoint_size: int
    checkpoint_mtime_ns: int
    input_hw: tuple[int, int]
    keypoint_names: list[str]
    format_version: int = EXPORT_FORMAT_VERSION
    measured_fps: dict[str, float] = field(default_factory=dict)
    measured_load: float | None = None

    def matches(self, checkpoint: Path) -> bool:
        """True when ``checkpoint`` is unchanged since the export and the format is current."""
        try:
            stat = Path(checkpoint).stat()
        except OSError:
            return False
        return (
            self.format_version == EXPORT_FORMAT_VERSION
            and stat.st_size == self.checkpoint_size
            and stat.st_mtime_ns == self.checkpoint_mtime_ns
        )


# ------------------------------------------------------------------------------------ runtimes


class RuntimeEngine:
    """A CPU runtime running an exported model; subclasses open the runtime's session.

    Args:
        onnx_path: The exported model.
        keypoint_names: K names, in output order.
        input_hw: Network input ``(height, width)``.

    Raises:
        RuntimeError: The runtime cannot load the file (corrupt or incompatible export).
    """

    name = ""

    def __init__(self, onnx_path: Path, keypoint_names: Sequence[str], input_hw: tuple[int, int]) -> None:
        self.keypoint_names = list(keypoint_names)
        self.input_hw = (int(input_hw[0]), int(input_hw[1]))
        self.device = "cpu"
        self._open(Path(onnx_path))

    @property
    def n_keypoints(self) -> int:
        """Number of keypoints K."""
        return len(self.keypoint_names)

    def _open(self, onnx_path: Path) -> None:
        raise NotImplementedError

    def _run(self, images_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def predict_resized(self, images_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the model on frames already resized to :attr:`input_hw`.

        Args:
            images_rgb: uint8 ``[B, height, width, 3]`` RGB.

        Returns:
            ``(xy [B, K, 2]`` float64 in network-input pixels, ``likelihood [B, K]`` float64``)``.

        Raises:
            ValueError: Wrong dtype or shape.
        """
        xy, likelihood = self._run(resized_batch(images_rgb, self.input_hw))
        return np.asarray(xy, dtype=np.float64), np.asarray(likelihood, dtype=np.float64)


def _cpu_threads() -> int:
    """Threads for a runtime: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class OnnxRuntimeEngine(RuntimeEngine):
    """ONNX Runtime's CPU execution provider (threads do not spin between batches: the decoding thread needs the cores)."""

    name = "onnxruntime"

    def _open(self, onnx_path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = _cpu_threads()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only
        try:
            self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - any load failure means "this export cannot be used"
            raise RuntimeError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        self._input_name = self._session.get_inputs()[0].name

    def _run(self, images_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xy, likelihood = self._session.run(None, {self._input_name: images_rgb})
        return xy, likelihood


class OpenVinoEngine(RuntimeEngine):
    """OpenVINO on the CPU, one synchronous request using every core (latency hint)."""

    name = "openvino"

    def _open(self, onnx_path: Path) -> None:
        import openvino as ov

        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": _cpu_threads()}
        try:
            core = ov.Core()
            compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", config)
        except Exception as exc:  # noqa: BLE001 - any load failure means "this export cannot be used"
            raise RuntimeError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        self._request = compiled.create_infer_request()
        self._outputs = compiled.outputs

    def _run(self, images_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = self._request.infer({0: images_rgb})
        return np.array(result[self._outputs[0]]), np.array(result[self._outputs[1]])


RUNTIME_CLASSES: dict[str, type[RuntimeEngine]] = {
    OnnxRuntimeEngine.name: OnnxRuntimeEngine,
    OpenVinoEngine.name: OpenVinoEngine,
}


def runtime_installed(engine: str) -> bool:
    """True when the runtime's Python package can be imported (checked without importing it)."""
    return importlib.util.find_spec(engine) is not None


def gpu_present() -> bool:
    """True when an NVIDIA driver is loaded (cheap: torch is not imported); ``auto`` then keeps torch on CUDA."""
    return Path("/proc/driver/nvidia/version").exists()


# ------------------------------------------------------------------------------------- exports


def export_stem(checkpoint: Path) -> str:
    """``<ckpt stem>-<digest of its absolute path>``: one export per checkpoint file."""
    digest = hashlib.sha1(str(Path(checkpoint).resolve()).encode("utf-8")).hexdigest()[:10]
    return f"{Path(checkpoint).stem}-{digest}"


def read_export_record(cache_dir: Path, checkpoint: Path) -> ExportRecord | None:
    """The record of a current export of ``checkpoint`` in ``cache_dir``, or None (missing, stale or unreadable)."""
    record_path = Path(cache_dir) / f"{export_stem(checkpoint)}.json"
    try:
        data = json.loads(record_path.read_text(encoding="utf-8"))
        record = ExportRecord(**{**data, "input_hw": tuple(data["input_hw"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not record.matches(checkpoint) or not (Path(cache_dir) / record.onnx_file).is_file():
        return None
    return record


def write_export(predictor: Predictor, checkpoint: Path, cache_dir: Path) -> ExportRecord:
    """Export ``predictor`` to ``cache_dir`` (atomically: the record is written last).

    Raises:
        DataError: ``cache_dir`` cannot be written.
        RuntimeError: torch cannot export the model.
    """
    from pose_core.inference.export import export_onnx

    stat = Path(checkpoint).stat()
    height, width = predictor.input_hw
    stem = export_stem(checkpoint)
    onnx_path = Path(cache_dir) / f"{stem}-{height}x{width}.onnx"
    with atomic_write_path(onnx_path) as tmp_path:
        export_onnx(predictor, tmp_path)
    record = ExportRecord(
        onnx_path.name, str(checkpoint), stat.st_size, stat.st_mtime_ns, (height, width), list(predictor.keypoint_names)
    )
    atomic_write_text(Path(cache_dir) / f"{stem}.json", json.dumps(asdict(record), indent=1) + "\n")
    return record


def measure_rates(
    predictors: dict[str, BatchPredictor], input_hw: tuple[int, int], rounds: int = MEASURE_ROUNDS
) -> dict[str, float]:
    """Frames/s of each predictor on the same batch, run alternately (so a load change hits all alike)."""
    images = np.random.default_rng(0).integers(0, 256, (MEASURE_BATCH, *input_hw, 3), dtype=np.uint8)
    for predictor in predictors.values():
        predictor.predict_resized(images)  # warm-up: first-call allocations, lazy initialisation
    elapsed_s = dict.fromkeys(predictors, 0.0)
    names = list(predictors)
    for round_idx in range(rounds):
        for name in names if round_idx % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            predictors[name].predict_resized(images)
            elapsed_s[name] += time.perf_counter() - start
    return {name: round(rounds * MEASURE_BATCH / max(s, 1e-9), 1) for name, s in elapsed_s.items()}


def store_measurement(cache_dir: Path, checkpoint: Path, record: ExportRecord, rates: dict[str, float]) -> ExportRecord:
    """``record`` with the engines' measured frames/s, written back next to the export (a failure only loses it)."""
    load = round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None
    measured = replace(record, measured_fps=rates, measured_load=load)
    with contextlib.suppress(OSError, PoseDeskError):
        atomic_write_text(
            Path(cache_dir) / f"{export_stem(checkpoint)}.json", json.dumps(asdict(measured), indent=1) + "\n"
        )
    return measured


def remove_export(cache_dir: Path, checkpoint: Path) -> None:
    """Delete the export of ``checkpoint`` in ``cache_dir`` (an unusable one), ignoring errors."""
    for path in Path(cache_dir).glob(f"{export_stem(checkpoint)}*"):
        with contextlib.suppress(OSError):
            path.unlink()


# ------------------------------------------------------------------------------------- choosing


class _Loader:
    """Loads the torch predictor at most once (the export and the fallback share it)."""

    def __init__(self, load_torch: Callable[[], Predictor]) -> None:
        self._load_torch = load_torch
        self._predictor: Predictor | None = None

    def torch(self) -> Predictor:
        if self._predictor is None:
            self._predictor = self._load_torch()
        return self._predictor


def _check_names(record: ExportRecord, checkpoint: Path, expected: Sequence[str] | None) -> None:
    if expected is not None and list(expected) != record.keypoint_names:
        raise RunError(
            f"Checkpoint {checkpoint} was trained on other keypoints ({len(record.keypoint_names)}: "
            f"{', '.join(record.keypoint_names[:6])}) than the run's config lists ({len(expected)}: "
            f"{', '.join(list(expected)[:6])}): give a checkpoint of this run or the run it came from."
        )


def _open_runtime(
    engine: str, checkpoint: Path, cache_dir: Path, loader: _Loader, expected: Sequence[str] | None
) -> tuple[RuntimeEngine, str | None, ExportRecord]:
    """Open ``engine`` on the current export (made, and the engines measured, as needed); the note says what was done.

    Raises:
        RuntimeError: The export cannot be made or loaded (the caller falls back to torch).
        RunError: The checkpoint's keypoints differ from ``expected``.
    """
    runtime = RUNTIME_CLASSES[engine]
    record = read_export_record(cache_dir, checkpoint)
    if record is not None:
        _check_names(record, checkpoint, expected)
        try:
            return runtime(cache_dir / record.onnx_file, record.keypoint_names, record.input_hw), None, record
        except RuntimeError:
            remove_export(cache_dir, checkpoint)  # a damaged export: make it again below
    predictor = loader.torch()
    try:
        record = write_export(predictor, checkpoint, cache_dir)
    except PoseDeskError:  # the run folder is read-only: export for this prediction only
        with tempfile.TemporaryDirectory(prefix="posedesk-export-") as tmp:
            record = write_export(predictor, checkpoint, Path(tmp))
            opened = runtime(Path(tmp) / record.onnx_file, record.keypoint_names, record.input_hw)
        return opened, f"{cache_dir} is not writable: exported {checkpoint.name} for this prediction only", record
    except (RuntimeError, OSError, ValueError, ImportError) as exc:
        raise RuntimeError(f"exporting {checkpoint.name} failed ({type(exc).__name__}: {exc})") from exc
    opened = runtime(cache_dir / record.onnx_file, record.keypoint_names, record.input_hw)
    rates = measure_rates({engine: opened, "torch": predictor}, record.input_hw)
    record = store_measurement(cache_dir, checkpoint, record, rates)
    return opened, f"exported {checkpoint.name} once to {cache_dir / record.onnx_file}", record


def _auto_verdict(name: str, record: ExportRecord) -> tuple[bool, str]:
    """``(torch is faster, the reason in words)`` from the rates measured when the export was made."""
    runtime_fps, torch_fps = record.measured_fps.get(name), record.measured_fps.get("torch")
    if runtime_fps is None or torch_fps is None:
        return False, f"auto: {name} (not measured against torch on this machine; the default)"
    when = f"when this model was exported here, load {record.measured_load}" if record.measured_load is not None else (
        "when this model was exported here"
    )  # fmt: skip
    rates = f"{name} {runtime_fps:.0f} frames/s, torch {torch_fps:.0f} {when}"
    if torch_fps > TORCH_MARGIN * runtime_fps:
        return True, f"auto: torch, measured faster ({rates}; delete {EXPORT_DIRNAME}/ to measure again)"
    return False, f"auto: {name}, measured as fast or faster ({rates})"


def choose_engine(
    engine: str,
    checkpoint: Path,
    load_torch: Callable[[], Predictor],
    cache_dir: Path,
    expected_keypoints: Sequence[str] | None = None,
) -> EngineChoice:
    """The predictor to use for ``engine``, falling back to torch with a one-line reason.

    Args:
        engine: One of :data:`ENGINE_CHOICES`.
        checkpoint: The checkpoint to predict with (the export is keyed by it).
        load_torch: Loads the torch :class:`~pose_core.inference.predictor.Predictor` on the CPU
            (called only when an export must be made, or for torch itself).
        cache_dir: Where exports are kept (``<run_dir>/exported``).
        expected_keypoints: Keypoint names the checkpoint must have (None = no check).

    Raises:
        ValueError: Unknown engine name.
        RunError: The checkpoint is unreadable or its keypoints differ from ``expected_keypoints``.
    """
    if engine not in ENGINE_CHOICES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINE_CHOICES)}")
    loader = _Loader(load_torch)
    if engine == "torch":
        return EngineChoice(loader.torch(), "torch")
    if engine == "auto" and gpu_present():
        return EngineChoice(loader.torch(), "torch", "a GPU is present: predicting with torch")
    candidates = RUNTIME_ENGINES if engine == "auto" else (engine,)
    installed = [name for name in candidates if runtime_installed(name)]
    if not installed:
        missing = " and ".join(candidates)
        return EngineChoice(
            loader.torch(), "torch", f"{missing} not installed (pip install {candidates[0]}): predicting with torch"
        )
    name = installed[0]
    try:
        opened, note, record = _open_runtime(name, Path(checkpoint), Path(cache_dir), loader, expected_keypoints)
    except RuntimeError as exc:
        return EngineChoice(loader.torch(), "torch", f"{name} cannot run this model ({exc}): predicting with torch")
    if engine != "auto":
        return EngineChoice(opened, name, note)
    torch_faster, verdict = _auto_verdict(name, record)
    note = f"{note}; {verdict}" if note else verdict
    if torch_faster:
        return EngineChoice(loader.torch(), "torch", note)
    return EngineChoice(opened, name, note)


def expected_device(engine: str) -> str:
    """The device ``engine`` will predict on, known before anything is loaded: ``cuda`` or ``cpu``."""
    return "cuda" if engine in ("auto", "torch") and gpu_present() else "cpu"


def run_keypoint_names(config_path: Path) -> list[str] | None:
    """``data.keypoint_names`` of a PoseDesk run's config (None when unset, or for a Lightning Pose folder).

    Raises:
        ConfigError: The config cannot be read.
    """
    from pose_core.config.io import load_config
    from pose_core.interop.lightning_pose import is_lp_model_dir

    if is_lp_model_dir(Path(config_path).parent):
        return None  # its loader checks the checkpoint against its own config
    names = load_config(Path(config_path), check_paths=False).cfg.data.keypoint_names
    return [str(name) for name in names] if names is not None else None


def describe(choice: EngineChoice) -> str:
    """One line for the terminal: the engine in use, and the note if any."""
    return f"engine: {choice.engine}" + (f" ({choice.note})" if choice.note else "")


def engine_summary(choice: EngineChoice) -> dict[str, Any]:
    """The fields of a ``phase`` event describing the engine."""
    return {"engine": choice.engine, "engine_note": choice.note}
