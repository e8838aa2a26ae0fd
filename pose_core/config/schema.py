"""The one config schema: dataclasses with Lightning Pose key names and per-field metadata.

Every key PoseDesk reads is a field here. Its ``metadata`` (see :func:`meta`) carries what a
form needs: a title, a help line, bounds, choices, whether it is advanced, and which loss it
belongs to. The GUI's config editor is generated from it and :func:`schema_fields` walks it.

The defaults are chosen for an ordinary CPU: resnet18 at 128x128, batch 8, random
initialisation. Paths written in a config file are relative to that file's folder, except
``video_dir``, ``csv_file`` and ``eval.test_videos_directory``, which are relative to
``data_dir`` (see :mod:`pose_core.config.io`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pose_core.losses import known_heatmap_losses, known_unsupervised_losses
from pose_core.models.backbones import known_backbones

# The form's choices come from the registries (the one source of these names; validation asks
# them again, so a name registered later is accepted too).
BACKBONES = tuple(known_backbones())
# Lightning Pose backbones whose weights only come from the internet (or are not implemented).
INTERNET_ONLY_BACKBONES = (
    "resnet50_animal_apose",
    "resnet50_animal_ap10k",
    "resnet50_human_jhmdb",
    "resnet50_human_res_rle",
    "resnet50_human_top_res",
    "resnet50_human_hand",
    "vits_dino",
    "vitb_dino",
    "vitb_imagenet",
    "vitb_sam",
)
MODEL_TYPES = ("heatmap", "regression")
HEATMAP_LOSSES = tuple(known_heatmap_losses())
UNSUPERVISED_LOSSES = tuple(known_unsupervised_losses())
OPTIMIZERS = ("Adam", "AdamW")
LR_SCHEDULERS = ("multisteplr", "none")
AUGMENTATIONS = ("none", "default", "dlc", "dlc-lr", "dlc-top-down")
ACCELERATORS = ("auto", "cpu", "gpu")
COLORMAPS = (
    "cool", "viridis", "plasma", "magma", "inferno", "jet", "hsv", "rainbow", "turbo",
    "spring", "summer", "autumn", "winter", "bone", "ocean", "parula", "twilight",
)  # fmt: skip


def meta(
    title: str,
    help: str,
    *,
    min: float | None = None,
    max: float | None = None,
    step: float | None = None,
    choices: tuple[str, ...] | None = None,
    kind: str | None = None,
    advanced: bool = False,
    loss: str | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """Builds the metadata dict of one config field.

    Args:
        title: Short label shown next to the field.
        help: One or two sentences: what it does and how to choose it.
        min: Smallest allowed value (inclusive), for numbers.
        max: Largest allowed value (inclusive), for numbers.
        step: Suggested spin-box step.
        choices: Allowed values, for strings (or list items).
        kind: Special widget hint: ``dir``, ``file``, ``keypoints``, ``keypoint_indices``,
            ``keypoint_matches``, ``int_list``, ``number_or_list``, ``fraction_or_count``.
        advanced: Folded away in the form by default.
        loss: The unsupervised loss this field belongs to (shown only when it is enabled).
        unit: Unit shown after the value (``px``, ``epochs``...).

    Returns:
        The metadata dict, stored in ``dataclasses.field(metadata=...)``.
    """
    out: dict[str, Any] = {"title": title, "help": help, "advanced": advanced}
    for name, value in (
        ("min", min),
        ("max", max),
        ("step", step),
        ("choices", choices),
        ("kind", kind),
        ("loss", loss),
        ("unit", unit),
    ):
        if value is not None:
            out[name] = value
    return out


def _f(default: Any, **kwargs: Any) -> Any:
    """A dataclass field with a plain default and metadata (see :func:`meta`)."""
    title = kwargs.pop("title")
    help_text = kwargs.pop("help")
    if isinstance(default, list | dict):
        value = default
        return field(default_factory=lambda: list(value) if isinstance(value, list) else dict(value),
                     metadata=meta(title, help_text, **kwargs))  # fmt: skip
    return field(default=default, metadata=meta(title, help_text, **kwargs))


def _group(cls: type, title: str, help: str, advanced: bool = False) -> Any:
    """A nested dataclass field."""
    return field(default_factory=cls, metadata=meta(title, help, advanced=advanced))


@dataclass
class ImageResizeDims:
    """Size of the network input; frames are resized to it."""

    height: int = _f(
        128,
        title="Input height",
        help="Frames are resized to this height before the network. A multiple of 32; larger is more accurate and slower.",
        min=32,
        max=1024,
        step=32,
        unit="px",
    )
    width: int = _f(
        128,
        title="Input width",
        help="Frames are resized to this width before the network. A multiple of 32.",
        min=32,
        max=1024,
        step=32,
        unit="px",
    )


@dataclass
class DataConfig:
    """Where the labelled frames and videos are and what the keypoints are."""

    data_dir: str = _f(
        "",
        title="Data folder",
        help="Folder holding the labels CSV and the labelled images (image paths in the CSV are relative to it).",
        kind="dir",
    )
    video_dir: str = _f(
        "videos",
        title="Video folder",
        help="Folder of unlabelled videos (used by the unsupervised losses); relative to the data folder unless absolute.",
        kind="dir",
    )
    csv_file: str = _f(
        "CollectedData.csv",
        title="Labels CSV",
        help="The labels file in DeepLabCut/Lightning Pose layout, relative to the data folder unless absolute.",
        kind="file",
    )
    image_resize_dims: ImageResizeDims = _group(
        ImageResizeDims, "Network input size", "Frames are resized to this size."
    )
    num_keypoints: int | None = _f(
        None,
        title="Number of keypoints",
        help="How many keypoints the labels have; empty = read from the labels CSV.",
        min=1,
        max=500,
    )
    keypoint_names: list[str] | None = _f(
        None,
        title="Keypoint names",
        help="Names in the order of the labels CSV; empty = read from the CSV.",
        kind="keypoints",
    )
    mirrored_column_matches: list[list[int]] | None = _f(
        None,
        title="Keypoints matched across views",
        help="One list of keypoint indices per view; position i of every list is the same body part. Needed by the multiview PCA loss.",
        kind="keypoint_matches",
        loss="pca_multiview",
    )
    columns_for_singleview_pca: list[int] | None = _f(
        None,
        title="Keypoints for Pose PCA",
        help="Indices of the keypoints the single-view PCA loss uses; empty = all.",
        kind="keypoint_indices",
        loss="pca_singleview",
    )
    downsample_factor: int = _f(
        2,
        title="Heatmap downsampling",
        help="Heatmaps are input size / 2^factor. 2 is the usual choice; 1 is finer and slower.",
        min=1,
        max=3,
        advanced=True,
    )


@dataclass
class OptimizerParams:
    """Optimiser settings."""

    learning_rate: float = _f(
        1e-3, title="Learning rate", help="Initial learning rate of the optimiser.", min=1e-7, max=1.0, step=1e-4
    )


@dataclass
class MultiStepLR:
    """Multi-step learning-rate decay."""

    milestones: list[int] | None = _f(
        None,
        title="LR milestones",
        help="Epochs at which the learning rate is multiplied by gamma, each at most max_epochs; empty = at 50% and 75% of max_epochs.",
        kind="int_list",
        unit="epochs",
    )
    gamma: float = _f(
        0.5, title="LR decay factor", help="Multiplier applied at each milestone.", min=0.0, max=1.0, step=0.05
    )


@dataclass
class LRSchedulerParams:
    """Parameters of each learning-rate scheduler."""

    multisteplr: MultiStepLR = _group(MultiStepLR, "Multi-step decay", "Learning rate drops at milestones.")


@dataclass
class TrainingConfig:
    """How the network is trained."""

    imgaug: str = _f(
        "dlc",
        title="Augmentation",
        help="none/default = resize only; dlc = rotation, scale, blur, contrast and occlusion (better generalisation from few labels).",
        choices=AUGMENTATIONS,
    )
    imgaug_hflip: bool = _f(
        False,
        title="Horizontal flips",
        help="Random left-right flips; keypoints named *_left/*_right swap.",
        advanced=True,
    )
    train_batch_size: int = _f(
        8, title="Training batch size", help="Labelled frames per training step. 8 suits a CPU.", min=1, max=512
    )
    val_batch_size: int = _f(
        16, title="Validation batch size", help="Frames per validation step.", min=1, max=512, advanced=True
    )
    test_batch_size: int = _f(
        16,
        title="Test batch size",
        help="Frames per step when predicting the labelled frames.",
        min=1,
        max=512,
        advanced=True,
    )
    train_prob: float = _f(
        0.8, title="Training fraction", help="Fraction of labelled frames used to train.", min=0.0, max=1.0, step=0.05
    )
    val_prob: float = _f(
        0.1,
        title="Validation fraction",
        help="Fraction used to validate; the rest is the test split.",
        min=0.0,
        max=1.0,
        step=0.05,
    )
    train_frames: float = _f(
        1.0,
        title="Training frames used",
        help="At most 1: fraction of the training split used; above 1: that many frames.",
        min=0.0,
        advanced=True,
    )
    num_gpus: int = _f(
        1,
        title="GPUs (Lightning Pose)",
        help="Lightning Pose's name for training.devices: the same setting (0 and 1 both mean one process). A value other than 1 in either key is used; two different values above 1 are an error.",
        min=0,
        max=64,
        advanced=True,
    )
    accelerator: str = _f(
        "auto",
        title="Device",
        help="auto = CUDA when present, else CPU; gpu fails without CUDA; cpu also trains on a CUDA machine.",
        choices=ACCELERATORS,
        advanced=True,
    )
    devices: int = _f(
        1,
        title="Processes per node",
        help="Training processes per machine (one per GPU; on a CPU they share its cores). Above 1 (or with num_nodes above 1) training uses Lightning's DDP and every batch size stays the total: each process takes train_batch_size / (devices x num_nodes) frames per step.",
        min=1,
        max=64,
        advanced=True,
    )
    num_nodes: int = _f(
        1,
        title="Nodes",
        help="Machines training together, each running training.devices processes (launch with srun on SLURM; it must match the allocation's --nodes).",
        min=1,
        max=1024,
        advanced=True,
    )
    unfreezing_epoch: int = _f(
        0,
        title="Backbone unfreezing epoch",
        help="The backbone's weights stay fixed until this epoch (useful only with pretrained weights).",
        min=0,
        unit="epochs",
        advanced=True,
    )
    min_epochs: int = _f(
        1,
        title="Minimum epochs",
        help="Early stopping cannot stop before this many epochs (capped at max_epochs).",
        min=1,
        unit="epochs",
        advanced=True,
    )
    max_epochs: int = _f(
        20, title="Epochs", help="Number of passes over the training frames.", min=1, max=100000, unit="epochs"
    )
    log_every_n_steps: int = _f(
        5, title="Log every n steps", help="How often step losses are logged.", min=1, advanced=True
    )
    check_val_every_n_epoch: int = _f(
        1,
        title="Validate every n epochs",
        help="How often the validation loss is computed.",
        min=1,
        unit="epochs",
        advanced=True,
    )
    ckpt_every_n_epochs: int | None = _f(
        None,
        title="Checkpoint every n epochs",
        help="Keep a checkpoint every n epochs; empty = only the best and the last. Must be a multiple of the validation interval.",
        min=1,
        unit="epochs",
        advanced=True,
    )
    early_stopping: bool = _f(
        False,
        title="Early stopping",
        help="Stop when the validation loss has not improved for `early_stop_patience` validations.",
    )
    early_stop_patience: int = _f(
        3,
        title="Early-stopping patience",
        help="Validations without improvement before stopping.",
        min=1,
        advanced=True,
    )
    rng_seed_data_pt: int = _f(
        0, title="Data seed", help="Seed of the train/validation/test split and of augmentation.", min=0, advanced=True
    )
    rng_seed_model_pt: int = _f(0, title="Model seed", help="Seed of the weight initialisation.", min=0, advanced=True)
    optimizer: str = _f(
        "Adam",
        title="Optimiser",
        help="Adam for resnets; AdamW adds decoupled weight decay.",
        choices=OPTIMIZERS,
        advanced=True,
    )
    optimizer_params: OptimizerParams = _group(OptimizerParams, "Optimiser settings", "Learning rate.")
    lr_scheduler: str = _f(
        "multisteplr",
        title="LR schedule",
        help="multisteplr multiplies the learning rate by gamma at each milestone; none keeps it constant.",
        choices=LR_SCHEDULERS,
        advanced=True,
    )
    lr_scheduler_params: LRSchedulerParams = _group(
        LRSchedulerParams, "LR schedule settings", "Milestones and decay.", advanced=True
    )
    uniform_heatmaps_for_nan_keypoints: bool = _f(
        True,
        title="Uniform heatmaps for unlabelled keypoints",
        help="Unlabelled keypoints are trained towards a flat heatmap (better confidence values) instead of being ignored.",
        advanced=True,
    )
    unlabeled_sequence_length: int = _f(
        8,
        title="Unlabelled clip length",
        help="Consecutive video frames per training step for the unsupervised losses (Lightning Pose: dali.base.train.sequence_length). More = stronger and slower.",
        min=2,
        max=256,
        loss="any",
        advanced=True,
    )
    num_workers: int = _f(
        0,
        title="Data loader workers",
        help="Extra processes preparing batches; 0 = in the training process (fine: labelled frames are cached in memory).",
        min=0,
        max=32,
        advanced=True,
    )
    resume_from: str | None = _f(
        None,
        title="Resume from",
        help="A run folder or .ckpt file to continue training from (same epoch count, optimiser state kept).",
        kind="file",
        advanced=True,
    )
    ensemble_seeds: list[int] | None = _f(
        None,
        title="Ensemble seeds",
        help="Train one model per seed, one after another, each in its own run folder (e.g. [0,1,2]); seeds change the initialisation and data order, not the split. Empty = one model.",
        kind="int_list",
        advanced=True,
    )
    init_from: str | None = _f(
        None,
        title="Start from run",
        help="A finished run folder whose weights start this new run (new optimiser, new folder); keypoints and backbone must match.",
        kind="file",
        advanced=True,
    )


@dataclass
class ModelConfig:
    """The network."""

    model_type: str = _f(
        "heatmap",
        title="Model type",
        help="heatmap: one heatmap per keypoint (accurate, gives a confidence); regression: coordinates directly.",
        choices=MODEL_TYPES,
    )
    backbone: str = _f(
        "resnet18",
        title="Backbone",
        help="Feature extractor. resnet18 is the fast CPU choice; resnet50 is more accurate and ~4x slower.",
        choices=BACKBONES,
    )
    backbone_pretrained: bool = _f(
        False,
        title="ImageNet weights",
        help="Start from ImageNet weights (torchvision's local cache or `pretrained_weights_path`); off = random initialisation.",
    )
    pretrained_weights_path: str | None = _f(
        None,
        title="Backbone weights file",
        help="A torchvision state-dict file of the backbone's ImageNet weights, when they are not in torchvision's cache.",
        kind="file",
        advanced=True,
    )
    heatmap_loss_type: str = _f(
        "mse",
        title="Heatmap loss",
        help="mse is robust; kl/js compare heatmaps as distributions.",
        choices=HEATMAP_LOSSES,
        advanced=True,
    )
    losses_to_use: list[str] = _f(
        [],
        title="Unsupervised losses",
        help="Losses on unlabelled video frames: temporal (smooth motion), pca_singleview (plausible poses), pca_multiview (consistent views).",
        choices=UNSUPERVISED_LOSSES,
    )
    model_name: str = _f("posedesk", title="Model name", help="Name of the tensorboard run.")
    checkpoint: str | None = _f(
        None,
        title="Initial weights",
        help="A .ckpt file whose weights start the training (a fresh run; to continue a run use training.resume_from).",
        kind="file",
        advanced=True,
    )


@dataclass
class PCALossConfig:
    """A PCA loss (single-view or multiview)."""

    log_weight: float = _f(
        5.0,
        title="Log weight",
        help="Weight = 1 / (2 exp(log_weight)); larger = weaker.",
        min=-20.0,
        max=30.0,
        step=0.5,
    )
    components_to_keep: Any = _f(
        0.99,
        title="Components to keep",
        help="A fraction in (0, 1] of explained variance, or a whole number of components.",
        kind="fraction_or_count",
    )
    epsilon: float | None = _f(
        None,
        title="Epsilon",
        help="Error in pixels below which the loss is zero; empty = the 99th percentile of the labels' own error.",
        min=0.0,
        unit="px",
    )


@dataclass
class TemporalLossConfig:
    """The temporal smoothness loss."""

    log_weight: float = _f(
        5.0,
        title="Log weight",
        help="Weight = 1 / (2 exp(log_weight)); larger = weaker.",
        min=-20.0,
        max=30.0,
        step=0.5,
    )
    epsilon: Any = _f(
        20.0,
        title="Epsilon",
        help="Frame-to-frame movement in pixels that is free; one number or one per keypoint.",
        kind="number_or_list",
        unit="px",
    )
    prob_threshold: float = _f(
        0.05,
        title="Confidence threshold",
        help="Frames whose keypoint confidence is below this are ignored.",
        min=0.0,
        max=1.0,
        step=0.01,
    )


def _multiview_default() -> PCALossConfig:
    return PCALossConfig(components_to_keep=3)


@dataclass
class LossesConfig:
    """Settings of each unsupervised loss (used only when listed in model.losses_to_use)."""

    pca_multiview: PCALossConfig = field(
        default_factory=_multiview_default,
        metadata=meta("Multiview PCA", "Predictions of one body part in all views must agree.", loss="pca_multiview"),
    )
    pca_singleview: PCALossConfig = field(
        default_factory=PCALossConfig,
        metadata=meta("Pose PCA", "Predicted poses must look like labelled poses.", loss="pca_singleview"),
    )
    temporal: TemporalLossConfig = field(
        default_factory=TemporalLossConfig,
        metadata=meta("Temporal", "Keypoints must not jump between frames.", loss="temporal"),
    )


@dataclass
class EvalConfig:
    """What happens after training."""

    predict_vids_after_training: bool = _f(
        True,
        title="Predict videos after training",
        help="Run the model on every video of the test videos folder when training ends.",
    )
    test_videos_directory: str | None = _f(
        None, title="Test videos folder", help="Videos predicted after training; empty = the video folder.", kind="dir"
    )
    saved_vid_preds_dir: str | None = _f(
        None,
        title="Video predictions folder",
        help="Where video predictions go; empty = video_preds/ in the run folder.",
        kind="dir",
        advanced=True,
    )
    save_vids_after_training: bool = _f(
        False,
        title="Save labelled videos",
        help="Also write videos with the predicted keypoints drawn (video_preds/labeled_videos/).",
    )
    colormap: str = _f(
        "cool",
        title="Keypoint colours",
        help="OpenCV colormap the keypoint colours are taken from.",
        choices=COLORMAPS,
        advanced=True,
    )
    confidence_thresh_for_vid: float = _f(
        0.9,
        title="Confidence to draw",
        help="Keypoints below this confidence are not drawn in labelled videos.",
        min=0.0,
        max=1.0,
        step=0.05,
    )


@dataclass
class AnnealWeight:
    """Ramp of the weight of the unsupervised losses."""

    attr_name: str = _f(
        "total_unsupervised_importance",
        title="Logged name",
        help="Name under which the weight is logged.",
        advanced=True,
    )
    init_val: float = _f(
        0.0, title="Initial weight", help="Weight of the unsupervised losses at the start.", min=0.0, max=1.0, step=0.05
    )
    increase_factor: float = _f(
        0.1,
        title="Increase per epoch",
        help="Added to the weight at each epoch (0.1 = fully on after 10 epochs; Lightning Pose's 0.01 suits 300-epoch GPU runs).",
        min=0.0,
        max=1.0,
        step=0.01,
    )
    final_val: float = _f(1.0, title="Final weight", help="The weight stops growing here.", min=0.0, max=10.0, step=0.1)
    freeze_until_epoch: int = _f(
        0, title="Start epoch", help="The weight stays at its initial value until this epoch.", min=0, unit="epochs"
    )


@dataclass
class CallbacksConfig:
    """Training callbacks."""

    anneal_weight: AnnealWeight = _group(
        AnnealWeight, "Unsupervised weight ramp", "How the unsupervised losses are phased in."
    )


@dataclass
class PoseConfig:
    """The whole PoseDesk config (Lightning Pose key names)."""

    data: DataConfig = _group(DataConfig, "Data", "Labels, images, videos and keypoints.")
    training: TrainingConfig = _group(TrainingConfig, "Training", "How the network learns.")
    model: ModelConfig = _group(ModelConfig, "Model", "The network and its losses.")
    losses: LossesConfig = _group(LossesConfig, "Losses", "Unsupervised loss settings.")
    eval: EvalConfig = _group(EvalConfig, "Evaluation", "Predictions after training.")
    callbacks: CallbacksConfig = _group(CallbacksConfig, "Callbacks", "Weight ramps.")


@dataclass(frozen=True)
class SchemaField:
    """One leaf of the schema, as the config editor sees it.

    Attributes:
        key: Dotted key, e.g. ``training.max_epochs``.
        type: The annotation as written (a string such as ``int`` or ``Optional[list[int]]``).
        default: The default value.
        metadata: See :func:`meta`.
    """

    key: str
    type: str
    default: Any
    metadata: dict[str, Any]


def schema_fields(cls: type = PoseConfig, prefix: str = "") -> Iterator[SchemaField]:
    """Walks the schema depth-first and yields every leaf field.

    Args:
        cls: The dataclass to walk.
        prefix: Dotted prefix of ``cls`` inside the whole config.

    Yields:
        One :class:`SchemaField` per leaf key, in declaration order.
    """
    instance = cls()
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value):
            yield from schema_fields(type(value), prefix=f"{key}.")
        else:
            yield SchemaField(key=key, type=str(f.type), default=value, metadata=dict(f.metadata))


def schema_groups(cls: type = PoseConfig, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yields ``(dotted key, metadata)`` of every nested group (``data``, ``data.image_resize_dims``...)."""
    instance = cls()
    for f in dataclasses.fields(cls):
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value):
            key = f"{prefix}{f.name}"
            yield key, dict(f.metadata)
            yield from schema_groups(type(value), prefix=f"{key}.")


def schema_keys() -> list[str]:
    """Every leaf key of the schema, dotted."""
    return [f.key for f in schema_fields()]


# Keys Lightning Pose configs may carry that PoseDesk keeps (round trip) but does not use.
LP_IGNORED_KEYS = (
    "dali",
    "detector",
    "hydra",
    "data.image_orig_dims",
    "data.camera_names",
    "data.view_names",
    "training.profiler",
    "training.accumulate_grad_batches",
    "training.limit_train_batches",
    "training.unfreezing_step",
    "training.min_steps",
    "training.max_steps",
    "training.lr_scheduler_params.multisteplr.milestone_steps",
    "model.do_context",
    "model.head",
    "losses.unimodal_mse",
    "losses.unimodal_kl",
    "losses.unimodal_js",
    "eval.hydra_paths",
    "eval.fiftyone",
    "eval.conf_thresh",
)
