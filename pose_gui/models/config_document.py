"""ConfigDocument: the config file the config editor edits, as YAML text and as a plain nested dict.

No Qt here. The document keeps the text exactly as written (comments, Lightning Pose keys,
interpolations such as ``${data.video_dir}``); a value changed in the form is changed in place in
the text (:func:`pose_core.config.yaml_edit.edit_yaml_value`), so comments and layout survive too.
Only when that cannot be done (a block-style list, a removed key) is the text regenerated from the
dict, which keeps every key and value but not the comments. :meth:`ConfigDocument.check` builds the
typed config the way :func:`pose_core.config.io.load_config` does (unknown keys, types,
interpolations, relative paths) and collects every problem as a :class:`ConfigIssue` per key,
plus the disagreements between the config's keypoints and the project's labels.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from pose_core.config.io import (
    merge_with_schema,
    parse_yaml_text,
    read_config_text,
    resolve_file_config,
    split_known,
)
from pose_core.config.schema import schema_fields
from pose_core.config.validate import ConfigIssue, validate_config
from pose_core.config.yaml_edit import edit_yaml_value
from pose_core.errors import ConfigError
from pose_core.io.atomic import atomic_write_text

MAX_TYPE_ERRORS = 50  # stop collecting wrong-typed keys after this many (a file that is not a config)
YAML_KEY = "<yaml>"  # the key of issues that belong to the YAML text itself (syntax, unknown keys)


class _ConfigDumper(yaml.SafeDumper):
    """Block-style mappings, lists of plain values on one line (``milestones: [150, 200]``)."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=False)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(v, dict | list) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_ConfigDumper.add_representer(dict, _represent_dict)
_ConfigDumper.add_representer(list, _represent_list)


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML text of a plain nested dict: keys in their order, lists of plain values on one line."""
    return yaml.dump(data, Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True, width=100)


def get_value(data: dict[str, Any], key: str, default: Any = None) -> Any:
    """The value at a dotted key of a nested dict (``default`` if a part is missing)."""
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def has_value(data: dict[str, Any], key: str) -> bool:
    """Whether a dotted key exists in a nested dict."""
    sentinel = object()
    return get_value(data, key, sentinel) is not sentinel


def set_value(data: dict[str, Any], key: str, value: Any) -> None:
    """Sets the value at a dotted key, creating missing (or null) parent mappings."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def leaf_values(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value for every non-mapping value of a nested dict (lists are values)."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and value:
            out.update(leaf_values(value, key + "."))
        else:
            out[key] = value
    return out


def unified_diff(old_text: str, new_text: str, name: str) -> str:
    """A unified diff between two versions of a file (empty when equal)."""
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"{name} (on disk)",
        tofile=f"{name} (edited)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass
class CheckResult:
    """What :meth:`ConfigDocument.check` found.

    Attributes:
        issues: Every problem, one per key (several keys may have one each).
        cfg: The typed config (resolved, paths absolute) when it could be built, else None.
        ignored_keys: The Lightning Pose keys PoseDesk keeps but does not use.
    """

    issues: list[ConfigIssue] = field(default_factory=list)
    cfg: DictConfig | None = None
    ignored_keys: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        """True when there is no problem at all."""
        return not self.issues

    def by_key(self) -> dict[str, list[str]]:
        """Messages grouped by dotted key."""
        out: dict[str, list[str]] = {}
        for issue in self.issues:
            out.setdefault(issue.key, []).append(issue.message)
        return out


class ConfigDocument:
    """A config file being edited: its text, the parsed dict, and the text last read or written.

    Args:
        path: The config file.
        label_keypoints: The keypoint names of the project's labels CSV, to check the config against.
        labels_csv: That labels CSV (the check applies when the config names this file).
    """

    def __init__(self, path: Path, label_keypoints: list[str] | None = None, labels_csv: Path | None = None) -> None:
        self.path = Path(path)
        self.label_keypoints = list(label_keypoints) if label_keypoints else None
        self.labels_csv = labels_csv
        self.saved_text = ""
        self.text = ""
        self.data: dict[str, Any] = {}
        self.syntax_error: ConfigError | None = None

    def copy(self) -> ConfigDocument:
        """An independent copy (for checking in a thread while editing goes on)."""
        other = ConfigDocument(self.path, self.label_keypoints, self.labels_csv)
        other.saved_text, other.text = self.saved_text, self.text
        other.data = copy.deepcopy(self.data)
        other.syntax_error = self.syntax_error
        return other

    # ------------------------------------------------------------------ reading and writing

    def read_disk_text(self) -> str:
        """The file's current text on disk.

        Raises:
            ConfigError: The file cannot be read or is not UTF-8 text (names the line).
        """
        return read_config_text(self.path)

    def load(self) -> None:
        """Reads the file; it becomes the saved text and the edited text.

        Raises:
            ConfigError: The file cannot be read (a YAML error is kept in :attr:`syntax_error` instead).
        """
        text = self.read_disk_text()
        self.saved_text = text
        self.set_text(text)

    def save(self) -> None:
        """Writes the edited text atomically (temporary file, then rename).

        Raises:
            ConfigError: The config is invalid (nothing is written).
            DataError: The folder is not writable or the disk is full (the file is untouched).
        """
        result = self.check()
        if not result.is_valid:
            first = result.issues[0]
            raise ConfigError(f"Not saved: {first.message}", key=first.key)
        atomic_write_text(self.path, self.text)
        self.saved_text = self.text

    @property
    def is_dirty(self) -> bool:
        """True when the edited text differs from the file as last read or written."""
        return self.text != self.saved_text

    def diff(self) -> str:
        """Unified diff from the saved text to the edited text."""
        return unified_diff(self.saved_text, self.text, self.path.name)

    # ------------------------------------------------------------------ editing

    def set_text(self, text: str) -> ConfigError | None:
        """Replaces the text (the raw YAML tab); the dict follows when the text parses.

        Returns:
            The YAML syntax error (with line and column), or None.
        """
        self.text = text
        try:
            parsed = parse_yaml_text(text, str(self.path))
        except ConfigError as error:
            self.syntax_error = error
            return error
        plain = OmegaConf.to_container(parsed, resolve=False)
        assert isinstance(plain, dict)
        self.data = {str(k): v for k, v in plain.items()}
        self.syntax_error = None
        return None

    def set_value(self, key: str, value: Any) -> None:
        """Sets one key (from the form); the text is regenerated from the dict.

        Raises:
            ConfigError: The text has a syntax error (the form cannot edit it until it is fixed).
        """
        if self.syntax_error is not None:
            raise ConfigError(f"Fix the YAML syntax error first: {self.syntax_error}", key=key)
        if get_value(self.data, key, object()) == value and has_value(self.data, key):
            return
        set_value(self.data, key, copy.deepcopy(value))
        self.text = self.text_for(self.data, {key: value})

    def set_data(self, data: dict[str, Any]) -> None:
        """Replaces the whole dict (a preset applied); the text follows (see :meth:`text_for`)."""
        new_text = self.text_for(data)
        self.data = copy.deepcopy(data)
        self.syntax_error = None
        self.text = new_text

    def text_for(self, data: dict[str, Any], changes: dict[str, Any] | None = None) -> str:
        """The text that holds ``data``, keeping the file's comments where it can.

        The saved text when the values are back to it; else the current text with the changed
        values edited in place (comments kept); else ``data`` dumped.

        Args:
            data: The whole new dict.
            changes: The dotted keys that changed and their values; None = compare with :attr:`data`.
        """
        if self._parses_to(self.saved_text, data):
            return self.saved_text
        if changes is None:
            old, new = leaf_values(self.data), leaf_values(data)
            changes = {key: value for key, value in new.items() if key not in old or old[key] != value}
            if any(key not in new for key in old):
                changes = None
        text: str | None = self.text if changes is not None and self.syntax_error is None else None
        for key, value in (changes or {}).items():
            text = edit_yaml_value(text, key, value) if text is not None else None
        if text is not None and self._parses_to(text, data):
            return text
        return dump_yaml(data)

    def _parses_to(self, text: str, data: dict[str, Any]) -> bool:
        try:
            parsed = OmegaConf.to_container(parse_yaml_text(text, str(self.path)), resolve=False)
        except ConfigError:
            return False
        return parsed == data

    def value(self, key: str, default: Any = None) -> Any:
        """The value written at ``key`` (``default`` when the file does not set it)."""
        return get_value(self.data, key, default)

    # ------------------------------------------------------------------ checking

    def check(self) -> CheckResult:
        """Builds the typed config as ``load_config`` would and collects every problem.

        Returns:
            The problems (syntax, unknown keys, wrong types, unresolvable interpolations, the core
            validator's messages, keypoints that disagree with the labels) and the typed config.
        """
        if self.syntax_error is not None:
            return CheckResult([ConfigIssue(YAML_KEY, str(self.syntax_error))])
        origin = str(self.path)
        raw = OmegaConf.create(self.data)
        try:
            known, _ignored, ignored_keys = split_known(raw, origin)
        except ConfigError as error:
            return CheckResult([ConfigIssue(error.key or YAML_KEY, str(error))])
        issues: list[ConfigIssue] = []
        cfg = self._typed(known, origin, issues)
        issues.extend(validate_config(cfg, check_paths=True))
        issues.extend(self._label_issues(cfg))
        return CheckResult(_dedupe(issues), cfg, ignored_keys)

    def _typed(self, known: DictConfig, origin: str, issues: list[ConfigIssue]) -> DictConfig:
        """Merges onto the schema, resolves and absolutizes; a bad key is reported and reset to its default."""
        defaults = {f.key: f.default for f in schema_fields()}
        for _ in range(MAX_TYPE_ERRORS):
            try:
                cfg = merge_with_schema(known, origin)
                resolve_file_config(cfg, self.path.parent.resolve(), origin)
                return cfg
            except ConfigError as error:
                key = error.key or YAML_KEY
                issues.append(ConfigIssue(key, str(error)))
                if key not in defaults:
                    break
                OmegaConf.update(known, key, defaults[key], merge=False, force_add=True)
        cfg = OmegaConf.structured(_schema_class())
        resolve_file_config(cfg, self.path.parent.resolve(), origin)
        return cfg

    def _label_issues(self, cfg: DictConfig) -> list[ConfigIssue]:
        """The config's keypoints against the project's labels CSV (when the config uses that CSV)."""
        names = self.label_keypoints
        if names is None or self.labels_csv is None or Path(str(cfg.data.csv_file)) != self.labels_csv:
            return []
        issues = []
        written = list(cfg.data.keypoint_names) if cfg.data.keypoint_names is not None else None
        if written is not None and written != names:
            issues.append(
                ConfigIssue(
                    "data.keypoint_names",
                    f"data.keypoint_names {written} disagree with the labels in {self.labels_csv.name} ({names}); "
                    "use the names of the labels CSV in its order (button 'From labels').",
                )
            )
        if cfg.data.num_keypoints is not None and cfg.data.num_keypoints != len(names):
            issues.append(
                ConfigIssue(
                    "data.num_keypoints",
                    f"data.num_keypoints={cfg.data.num_keypoints} but {self.labels_csv.name} has {len(names)} "
                    f"keypoints; set it to {len(names)} (or leave it empty).",
                )
            )
        return issues


def _schema_class() -> type:
    from pose_core.config.schema import PoseConfig

    return PoseConfig


def _dedupe(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    out: list[ConfigIssue] = []
    for issue in issues:
        if issue not in out:
            out.append(issue)
    return out
