"""Editing one value of a YAML config in place keeps its comments and layout."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from pose_core.config.yaml_edit import edit_yaml_value, format_flow_value, key_line

CONFIG = """\
# My mouse experiment, reviewed by J.
data:
  data_dir: /lab/mouse   # where the images are
  keypoint_names:
  - nose
  - tail
  image_resize_dims:
    height: 128
    width: 256

# long runs only on the cluster
training:
  max_epochs: 20  # 300 on the GPU box
  milestones: [150, 200]
  resume_from:
model:
  backbone: resnet18
eval: {colormap: cool, conf: {a: 1}}  # flow style
"""


def _apply(key: str, value: Any) -> str:
    edited = edit_yaml_value(CONFIG, key, value)
    assert edited is not None
    return edited


def _expected(key: str, value: Any) -> dict[str, Any]:
    data = yaml.safe_load(CONFIG)
    node = data
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return data


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("training.max_epochs", 3),
        ("model.backbone", "resnet34"),
        ("training.milestones", [5, 8, 9]),
        ("training.resume_from", "/runs/a"),
        ("data.image_resize_dims.height", 96),
        ("data.data_dir", "C:/data with spaces: yes"),
        ("training.learning_rate", 0.0005),
        ("eval.colormap", "viridis"),
        ("eval.conf.a", 2),
        ("eval.conf.b", [1, 2]),
        ("eval.save_vids_after_training", True),
        ("eval.deeper.still", "x"),
        ("losses.temporal.epsilon", 12.5),
        ("data.image_resize_dims.depth", 3),
    ],
)
def test_one_value_changes_and_every_comment_stays(key: str, value: Any) -> None:
    edited = _apply(key, value)
    assert yaml.safe_load(edited) == _expected(key, value)
    for comment in (
        "# flow style",
        "# My mouse experiment",
        "# where the images are",
        "# long runs only",
        "# 300 on the GPU box",
    ):
        assert comment in edited
    changed = [line for line in edited.splitlines() if line not in CONFIG.splitlines()]
    assert len(changed) <= 3, changed  # only the edited or added lines differ


def test_an_inserted_key_goes_into_its_section_before_the_next_sections_comment() -> None:
    edited = _apply("data.video_dir", "/lab/videos")
    lines = edited.splitlines()
    assert lines.index("  video_dir: /lab/videos") < lines.index("# long runs only on the cluster")
    assert lines.index("  video_dir: /lab/videos") > lines.index("    width: 256")


def test_edits_that_cannot_be_made_in_place_say_so() -> None:
    assert edit_yaml_value(CONFIG, "data.keypoint_names", ["a", "b"]) is None  # block list
    assert edit_yaml_value(CONFIG, "data.image_resize_dims", {"height": 1}) is None  # whole mapping
    assert edit_yaml_value(CONFIG, "data.data_dir.sub", 1) is None  # a scalar is not a section
    assert edit_yaml_value(CONFIG, "eval.colormap.sub", 1) is None
    assert edit_yaml_value("[1, 2]", "a", 1) is None  # top level is not a mapping
    assert edit_yaml_value("a: [1\n", "a", 1) is None  # not YAML


def test_an_empty_text_gets_the_key() -> None:
    assert yaml.safe_load(edit_yaml_value("", "training.max_epochs", 4) or "") == {"training": {"max_epochs": 4}}
    assert yaml.safe_load(edit_yaml_value("a: 1", "b", 2) or "") == {"a": 1, "b": 2}
    assert yaml.safe_load(edit_yaml_value("a: {}", "a.b", 2) or "") == {"a": {"b": 2}}


@pytest.mark.parametrize("value", [None, True, 1e-5, "yes", "123", "", [1, "x"], "a: b"])
def test_flow_values_read_back_as_themselves(value: Any) -> None:
    assert yaml.safe_load(f"k: {format_flow_value(value)}")["k"] == value


def test_key_line_finds_the_dotted_key_not_a_namesake() -> None:
    lines = CONFIG.splitlines()
    assert key_line(CONFIG, "data.image_resize_dims.height") == lines.index("    height: 128") + 1
    assert key_line(CONFIG, "eval.conf.a") == len(lines)
    assert key_line(CONFIG, "training.nope") is None
    assert key_line("a: [1\n", "a") is None


def test_a_repeated_key_is_found_where_it_counts() -> None:
    text = "training:\n  max_epochs: 3\ntraining:\n  max_epoch: 3\n"
    assert key_line(text, "training.max_epoch") == 4
