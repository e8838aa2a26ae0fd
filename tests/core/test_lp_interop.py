"""Lightning Pose model folders: curves from tensorboard, run listing, checkpoints mapped layer by layer.

There is no real Lightning Pose model folder on this machine: :func:`make_lp_model_dir` writes one
as LP 1.x leaves it (``config.yaml`` or ``.hydra/config.yaml``, Lightning's tensorboard file with
LP's tags, ``predictions.csv`` and its pixel-error CSV, ``video_preds/``, a checkpoint holding LP's
state-dict layout and omegaconf hyper-parameters). The reference networks below rebuild LP's
layers from its source (``lightning_pose/models/backbones/torchvision.py``: children of the
torchvision model without the last two, or one for regression; ``heatmap_tracker.py`` /
``heads/heatmap.py``: PixelShuffle + transposed convolutions; ``regression_tracker.py``: one Linear).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from pose_core.data.codec import HeatmapCodec
from pose_core.data.labels import LabelSet, write_labels
from pose_core.errors import DataError, RunError
from pose_core.events import EventWriter
from pose_core.interop.lightning_pose import events_from_tensorboard, is_lp_model_dir, read_lp_model_dir
from pose_core.interop.lp_checkpoint import (
    LightningPoseModel,
    build_lp_model,
    load_lp_predictor,
    lp_state_dict_to_posedesk,
)
from pose_core.interop.lp_project import open_lp_model_folder
from pose_core.io.predictions import write_error_csv, write_predictions_csv
from pose_core.models.pose_model import PoseModel
from pose_core.project import Project
from pose_core.runs import list_runs
from pose_core.runs.lightning_pose import STATUS_FINISHED, STATUS_INCOMPLETE, STATUS_RUNNING, lp_status

KEYPOINTS = ["nose", "paw_l", "paw_r"]
INPUT_HW = (64, 64)
VAL_LOSS = [0.9, 0.5, 0.6]  # epochs 0, 1, 2
LR_HEAD = [1e-3, 1e-3, 5e-4]  # learning rate at the start of epochs 0, 1, 2
STEPS_PER_EPOCH = 4


# ----------------------------------------------------------------------------- LP's networks


def lp_backbone(arch: str, model_type: str = "heatmap") -> nn.Sequential:
    """LP's ``grab_layers_sequential``: the torchvision model's children up to -3 (heatmap) or -2 (regression)."""
    import torchvision

    base = getattr(torchvision.models, arch)(weights=None)
    last = -3 if model_type == "heatmap" else -2
    return nn.Sequential(*list(base.children())[: last + 1])


def randomize_(module: nn.Module) -> nn.Module:
    """Random weights and batch-norm statistics, so that a wrong mapping cannot go unnoticed."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.dtype.is_floating_point:
                values = torch.rand(tensor.shape, generator=gen) * 0.2 + (0.9 if "running_var" in name else -0.1)
                tensor.copy_(values)
    return module.eval()


class LPHeatmapNet(nn.Module):
    """LP's heatmap network: ``backbone`` + ``upsampling_layers`` (LP <= 1.6) or ``head.upsampling_layers``."""

    def __init__(self, n_keypoints: int, downsample_factor: int = 2, new_layout: bool = False) -> None:
        super().__init__()
        self.backbone = lp_backbone("resnet18")
        layers: list[nn.Module] = [nn.PixelShuffle(2)]
        channels = 512 // 4
        for _ in range(4 - downsample_factor):
            layers.append(nn.ConvTranspose2d(channels, n_keypoints, 3, stride=2, padding=1, output_padding=1))
            channels = n_keypoints
        upsampling = nn.Sequential(*layers)
        if new_layout:
            self.head = nn.Module()
            self.head.upsampling_layers = upsampling
        else:
            self.upsampling_layers = upsampling
        self.unnormalized_weights = nn.Parameter(torch.full((1, 5), 0.2), requires_grad=False)  # LP's context weights

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Heatmap logits (LP applies a spatial softmax to them)."""
        upsampling = self.head.upsampling_layers if hasattr(self, "head") else self.upsampling_layers
        return upsampling(self.backbone(images))


class LPRegressionNet(nn.Module):
    """LP's regression network: backbone with its average pool, then ``final_layer`` (x, y in input pixels)."""

    def __init__(self, n_keypoints: int) -> None:
        super().__init__()
        self.backbone = lp_backbone("resnet18", "regression")
        self.final_layer = nn.Linear(512, 2 * n_keypoints)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.backbone(images)
        return self.final_layer(features.reshape(features.shape[0], features.shape[1]))


def save_lp_checkpoint(path: Path, net: nn.Module) -> Path:
    """A Lightning checkpoint as LP writes it: omegaconf hyper-parameters (refused by a weights-only load)."""
    from omegaconf import OmegaConf

    path.parent.mkdir(parents=True, exist_ok=True)
    hparams = {"num_keypoints": len(KEYPOINTS), "lr_scheduler_params": OmegaConf.create({"milestones": [5]})}
    torch.save({"state_dict": net.state_dict(), "hyper_parameters": hparams, "epoch": 2, "global_step": 12}, path)
    return path


# ----------------------------------------------------------------------------- an LP model folder


def write_lp_tensorboard(version_dir: Path, t0: float = 1_700_000_000.0) -> None:
    """Three epochs of 4 steps as Lightning writes LP's scalars (train every 2 steps, LR at each epoch start)."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(version_dir))
    for epoch in range(3):
        writer.add_scalar("lr-Adam/backbone", 0.0 if epoch < 2 else 1e-4, epoch * STEPS_PER_EPOCH, t0 + 10 * epoch)
        writer.add_scalar("lr-Adam/upsampling", LR_HEAD[epoch], epoch * STEPS_PER_EPOCH, t0 + 10 * epoch)
        for step in (epoch * STEPS_PER_EPOCH + 2, epoch * STEPS_PER_EPOCH + 4):
            wall = t0 + 10 * epoch + step % STEPS_PER_EPOCH + 1
            for tag, value in (
                ("train_supervised_loss", 1.0 / step),
                ("train_supervised_rmse", 20.0 / step),
                ("train_heatmap_mse_loss", 1.0 / step),
                ("heatmap_mse_weight", 1.0),
                ("train_pca_singleview_loss", 2.0),
                ("pca_singleview_weight", 0.5),
                ("total_unsupervised_importance", 0.1 * (epoch + 1)),
                ("total_loss", 1.0 / step + 0.1),
                ("epoch", float(epoch)),
            ):
                writer.add_scalar(tag, value, step, wall)
        val_step = (epoch + 1) * STEPS_PER_EPOCH
        for tag, value in (("val_supervised_loss", VAL_LOSS[epoch]), ("val_supervised_rmse", 10 * VAL_LOSS[epoch])):
            writer.add_scalar(tag, value, val_step, t0 + 10 * epoch + 9)
        writer.add_scalar("epoch", float(epoch), val_step, t0 + 10 * epoch + 9)
    writer.close()


def make_lp_model_dir(
    run_dir: Path,
    *,
    model_type: str = "heatmap",
    backbone: str = "resnet18",
    data_dir: Path | None = None,
    predictions: bool = True,
    hydra_config_only: bool = False,
    extra_model: dict[str, object] | None = None,
) -> Path:
    """An LP model folder (tensorboard file, config, predictions, video predictions; no checkpoint)."""
    config = {
        "data": {
            "data_dir": str(data_dir or run_dir / "nowhere"), "video_dir": "videos", "csv_file": "CollectedData.csv",
            "image_resize_dims": {"height": INPUT_HW[0], "width": INPUT_HW[1]}, "downsample_factor": 2,
            "num_keypoints": len(KEYPOINTS), "keypoint_names": KEYPOINTS,
        },
        "model": {"model_type": model_type, "backbone": backbone, "model_name": "lp", **(extra_model or {})},
        "training": {"max_epochs": 3, "check_val_every_n_epoch": 1},
        "dali": {"base": {"train": {"sequence_length": 32}}},
    }  # fmt: skip
    config_path = run_dir / (".hydra/config.yaml" if hydra_config_only else "config.yaml")
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    write_lp_tensorboard(run_dir / "tb_logs" / "lp" / "version_0")
    if predictions:
        rng = np.random.default_rng(0)
        split = ["train"] * 6 + ["validation", "test", "test", "test"]
        index = [f"labeled-data/s/img{i:03d}.png" for i in range(10)]
        write_predictions_csv(run_dir / "predictions.csv", KEYPOINTS, rng.uniform(0, 60, (10, 3, 3)), index, split)
        errors = np.arange(30, dtype=float).reshape(10, 3)
        errors[9, 2] = np.nan
        write_error_csv(run_dir / "predictions_pixel_error.csv", KEYPOINTS, errors, index, split)
        write_predictions_csv(run_dir / "video_preds" / "vid.csv", KEYPOINTS, rng.uniform(0, 60, (5, 3, 3)), range(5))
        write_error_csv(run_dir / "video_preds" / "vid_temporal_norm.csv", KEYPOINTS, np.zeros((5, 3)), range(5))
    return run_dir


@pytest.fixture
def lp_dir(tmp_path: Path) -> Path:
    return make_lp_model_dir(tmp_path / "lp-project" / "outputs" / "2024-05-01" / "10-00-00")


def make_lp_project(root: Path) -> Path:
    """A Lightning Pose project folder: CollectedData.csv and a videos folder."""
    labels = LabelSet([f"labeled-data/s/img{i:03d}.png" for i in range(4)], KEYPOINTS, np.full((4, 3, 2), 10.0))
    root.mkdir(parents=True, exist_ok=True)
    write_labels(labels, root / "CollectedData.csv")
    (root / "videos").mkdir(exist_ok=True)
    return root


# ----------------------------------------------------------------------------- curves


def test_tensorboard_scalars_become_the_events_posedesk_writes(lp_dir: Path) -> None:
    events = events_from_tensorboard(lp_dir)
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("epoch_end") == 3
    assert events[0].data["max_epochs"] == 3 and events[0].data["steps_per_epoch"] == STEPS_PER_EPOCH
    ends = [e for e in events if e.kind == "epoch_end"]
    assert [e.data["epoch"] for e in ends] == [0, 1, 2]
    assert [e.data["global_step"] for e in ends] == [4, 8, 12]
    assert [e.data["metrics"]["val_supervised_loss"] for e in ends] == pytest.approx(VAL_LOSS)
    # the LR logged at step 4 is epoch 1's (logged at its start), not epoch 0's like the validation at step 4
    assert [e.data["metrics"]["learning_rate"] for e in ends] == pytest.approx(LR_HEAD)
    assert [e.data["metrics"]["lr_backbone"] for e in ends] == pytest.approx([0.0, 0.0, 1e-4])
    assert ends[1].data["metrics"]["train_supervised_loss"] == pytest.approx((1 / 6 + 1 / 8) / 2)
    progress = [e for e in events if e.kind == "progress"]
    assert [e.data["global_step"] for e in progress] == [2, 4, 6, 8, 10, 12]
    assert [(e.data["epoch"], e.data["step"]) for e in progress[2:4]] == [(1, 2), (1, 4)]
    # PoseDesk's weighted unsupervised loss: raw x weight x annealed importance
    assert progress[4].data["metrics"]["train_pca_singleview_loss_weighted"] == pytest.approx(2.0 * 0.5 * 0.3)
    assert "train_heatmap_mse_loss" not in progress[4].data["metrics"]  # = train_supervised_loss, shown once


def test_a_folder_without_predictions_has_no_finished_event_and_a_time_based_status(tmp_path: Path) -> None:
    run_dir = make_lp_model_dir(tmp_path / "outputs" / "2024-05-01" / "10-00-00", predictions=False)
    assert events_from_tensorboard(run_dir)[-1].kind == "epoch_end"
    lp = read_lp_model_dir(run_dir)
    assert lp_status(lp) == STATUS_RUNNING  # the tensorboard file was just written
    assert lp_status(lp, now_s=time.time() + 3600) == STATUS_INCOMPLETE


# ----------------------------------------------------------------------------- listing


def test_lp_folders_are_listed_among_the_project_runs(tmp_path: Path) -> None:
    project = make_lp_project(tmp_path / "proj")
    make_lp_model_dir(project / "outputs" / "2024-05-01" / "10-00-00", hydra_config_only=True)
    make_lp_model_dir(project / "models" / "2024-05-02" / "09-00-00", model_type="heatmap_mhcrnn", predictions=False)
    ours = project / "outputs" / "2024-05-03" / "08-00-00"
    writer = EventWriter(ours / "events.jsonl")
    writer.emit("started", pid=1, job="train")
    writer.emit("finished", epoch=0, global_step=1)
    writer.close()
    runs = {run.name: run for run in list_runs(project)}
    assert set(runs) == {"2024-05-01/10-00-00", "2024-05-02/09-00-00", "2024-05-03/08-00-00"}
    lp = runs["2024-05-01/10-00-00"]
    assert (lp.status, lp.source, lp.epochs, lp.best_val_loss) == (STATUS_FINISHED, "Lightning Pose", 3, 0.5)
    assert lp.test_error_px == pytest.approx(np.nanmean([21, 22, 23, 24, 25, 26, 27, 28]))  # test rows, NaN skipped
    assert lp.started is not None and lp.started.timestamp() == pytest.approx(1_700_000_000.0)
    assert runs["2024-05-02/09-00-00"].status == STATUS_RUNNING
    assert (runs["2024-05-03/08-00-00"].status, runs["2024-05-03/08-00-00"].source) == ("finished", "PoseDesk")


def test_a_model_folder_is_not_opened_as_a_project(lp_dir: Path) -> None:
    with pytest.raises(DataError, match="Lightning Pose model folder.*Open Model Folder"):
        Project.open(lp_dir)
    assert not is_lp_model_dir(lp_dir.parents[2])


def test_other_folders_are_not_model_folders(tmp_path: Path) -> None:
    from pose_core.config.io import load_config

    with pytest.raises(DataError, match="not a Lightning Pose model folder"):
        read_lp_model_dir(make_lp_project(tmp_path / "proj"))
    # a PoseDesk run that has no events.jsonl yet: its config (every key, PoseDesk's own included) says whose it is
    ours = tmp_path / "outputs" / "2024-05-01" / "11-00-00"
    ours.mkdir(parents=True)
    load_config(None, ["data.data_dir=/x", "data.keypoint_names=[a,b]"], check_paths=False).save(ours / "config.yaml")
    write_lp_tensorboard(ours / "tb_logs" / "posedesk" / "version_0")
    assert not is_lp_model_dir(ours)


def test_open_finds_the_enclosing_project_or_says_what_is_missing(tmp_path: Path) -> None:
    project = make_lp_project(tmp_path / "proj")
    inside = make_lp_model_dir(project / "outputs" / "2024-05-01" / "10-00-00")
    opening = open_lp_model_folder(inside)
    assert opening.in_project and opening.project is not None and opening.project.root == project
    assert opening.problems == [] and opening.model.video_preds == [inside / "video_preds" / "vid.csv"]

    elsewhere = make_lp_model_dir(tmp_path / "copied" / "10-00-00", data_dir=tmp_path / "gone")
    opening = open_lp_model_folder(elsewhere)
    assert opening.project is None and not opening.in_project
    messages = [str(p) for p in opening.problems]
    assert any("data.data_dir" in m and "not on this machine" in m for m in messages)
    assert any("data.video_dir" in m for m in messages)

    with_data = make_lp_model_dir(tmp_path / "copied2" / "10-00-00", data_dir=project)
    opening = open_lp_model_folder(with_data)
    assert opening.project is not None and opening.project.keypoint_names == KEYPOINTS and opening.problems == []


# ----------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("new_layout", [False, True], ids=["lp-1.6-keys", "lp-head-keys"])
def test_heatmap_checkpoint_maps_layer_by_layer(new_layout: bool) -> None:
    lp_net = randomize_(LPHeatmapNet(len(KEYPOINTS), new_layout=new_layout))
    model = build_lp_model(lp_net.state_dict(), "heatmap", "resnet18", KEYPOINTS, HeatmapCodec(INPUT_HW, 2))
    images = torch.randn(2, 3, *INPUT_HW, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(model(images), lp_net(images), atol=1e-5)


def test_regression_checkpoint_gives_lp_input_pixels() -> None:
    lp_net = randomize_(LPRegressionNet(len(KEYPOINTS)))
    model = build_lp_model(lp_net.state_dict(), "regression", "resnet18", KEYPOINTS, HeatmapCodec(INPUT_HW, 2))
    images = torch.randn(2, 3, *INPUT_HW, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        xy, _likelihood = model.predict(images)
        expected = lp_net(images).view(2, len(KEYPOINTS), 2)
    assert torch.allclose(xy + 0.5, expected, atol=1e-4)  # LP's x_input, in PoseDesk's centre convention


def test_efficientnet_keys_lose_lp_extra_level() -> None:
    import torchvision

    lp_backbone_net = nn.Sequential(*list(torchvision.models.efficientnet_b0(weights=None).children())[:-2])
    state = {f"backbone.{k}": v for k, v in randomize_(lp_backbone_net).state_dict().items()}
    mapped = lp_state_dict_to_posedesk(state, "heatmap", "efficientnet_b0", INPUT_HW)
    assert all(k.startswith("backbone.") and not k.startswith("backbone.0.0.0") for k in mapped)
    model = PoseModel("efficientnet_b0", len(KEYPOINTS), HeatmapCodec(INPUT_HW, 2))
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    assert unexpected == [] and all(k.startswith("head.") for k in missing)


def test_decoded_heatmap_peak_follows_lp_coordinates() -> None:
    codec = HeatmapCodec(INPUT_HW, 2)  # 16x16 heatmaps, stride 4
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    logits = (-((xs - 5) ** 2 + (ys - 7) ** 2) / (2 * 1.25**2)).expand(1, 1, 16, 16)
    ours = PoseModel("resnet18", 1, codec).decode(logits)[0][0, 0]
    lp = LightningPoseModel("resnet18", 1, codec).decode(logits)[0][0, 0]
    assert ours.tolist() == pytest.approx([4 * 5 + 1.5, 4 * 7 + 1.5], abs=0.01)
    # LP puts heatmap pixel j at input 4j; PoseDesk's centre convention then needs -0.5
    assert lp.tolist() == pytest.approx([4 * 5 - 0.5, 4 * 7 - 0.5], abs=0.01)


def test_model_folder_predicts_through_predictor_from_run(lp_dir: Path) -> None:
    from pose_core.inference.predictor import Predictor

    lp_net = randomize_(LPHeatmapNet(len(KEYPOINTS)))
    ckpt = save_lp_checkpoint(
        lp_dir / "tb_logs" / "lp" / "version_0" / "checkpoints" / "epoch=2-step=12-best.ckpt", lp_net
    )
    predictor = Predictor.from_run(lp_dir, device="cpu")
    assert predictor.checkpoint == ckpt and predictor.keypoint_names == KEYPOINTS
    assert predictor.input_hw == INPUT_HW and isinstance(predictor.model, LightningPoseModel)
    images = torch.randn(1, 3, *INPUT_HW, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(predictor.model(images), lp_net(images), atol=1e-4)
    frames = np.random.default_rng(0).integers(0, 255, (2, 48, 80, 3), dtype=np.uint8)
    preds = predictor.predict_frames(frames)
    assert preds.shape == (2, len(KEYPOINTS), 3) and np.isfinite(preds).all()


@pytest.mark.parametrize(
    ("model_type", "backbone", "extra", "named"),
    [
        ("heatmap_mhcrnn", "resnet50", None, "model type heatmap_mhcrnn"),
        ("regression", "vit_b_sam", None, "backbone vit_b_sam"),
        ("heatmap", "resnet50", {"head": "heatmap_multiview_transformer"}, "head heatmap_multiview_transformer"),
    ],
)
def test_unsupported_models_are_refused_naming_what_is_supported(
    tmp_path: Path, model_type: str, backbone: str, extra: dict[str, object] | None, named: str
) -> None:
    from pose_core.inference.predictor import Predictor

    run_dir = make_lp_model_dir(
        tmp_path / "m" / "10-00-00", model_type=model_type, backbone=backbone, extra_model=extra
    )
    save_lp_checkpoint(run_dir / "tb_logs" / "lp" / "version_0" / "checkpoints" / "best.ckpt", nn.Linear(1, 1))
    for load in (lambda: load_lp_predictor(run_dir), lambda: Predictor.from_run(run_dir)):
        with pytest.raises(RunError) as caught:
            load()
        message = str(caught.value)
        assert "\n" not in message and "cannot run its checkpoint" in message and named in message
        assert "supported: model.model_type heatmap or regression" in message and "resnet18" in message
    assert len(events_from_tensorboard(run_dir)) > 3  # its curves are still there


def test_weights_of_another_shape_are_refused(lp_dir: Path) -> None:
    save_lp_checkpoint(lp_dir / "tb_logs" / "lp" / "version_0" / "checkpoints" / "best.ckpt", LPHeatmapNet(5))
    with pytest.raises(RunError, match="do not fit Lightning Pose's heatmap network on resnet18 with 3 keypoints"):
        load_lp_predictor(lp_dir)


def test_a_folder_without_checkpoint_says_so(lp_dir: Path) -> None:
    with pytest.raises(RunError, match="holds no checkpoint"):
        load_lp_predictor(lp_dir)
