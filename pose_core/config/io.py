"""Loading, overriding, validating and saving configs (YAML + hydra override syntax + OmegaConf).

:func:`load_config` is what ``pose-train`` and the GUI call: it reads a YAML file (PoseDesk's or
Lightning Pose's), applies command-line overrides written in hydra's grammar
(``training.max_epochs=11``, ``model.losses_to_use=[temporal]``, ``~key``), sorts the keys into
schema keys, Lightning Pose keys PoseDesk keeps but does not use, and unknown keys (an error with
close matches), merges onto the typed schema, resolves ``${...}`` interpolations and relative
paths, and validates.

Relative paths: ``data.data_dir`` written in a file is relative to the file's folder, given on the
command line it is relative to the current folder. ``video_dir``, ``csv_file`` and
``eval.test_videos_directory`` are relative to ``data_dir``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pose_core.config.schema import LP_IGNORED_KEYS, PoseConfig, schema_fields, schema_keys
from pose_core.config.validate import validate_config
from pose_core.errors import ConfigError
from pose_core.io.atomic import atomic_write_text

_REQUIRED_SECTIONS = ("data", "model", "training")  # empty = a mistake, not "all defaults"
DEFAULT_RUN_DIR = "outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}"
PATH_KEYS_FROM_DATA_DIR = ("data.video_dir", "data.csv_file", "eval.test_videos_directory")
"""Path keys relative to ``data.data_dir``."""
PATH_KEYS_CWD = (
    "data.data_dir",
    "training.resume_from",
    "training.init_from",
    "model.checkpoint",
    "model.pretrained_weights_path",
    "eval.saved_vid_preds_dir",
)


@dataclass
class LoadedConfig:
    """A validated config and what came with it.

    Attributes:
        cfg: The typed config (``OmegaConf.structured(PoseConfig)`` merged with the file and the
            overrides), interpolations resolved, paths absolute.
        ignored: The Lightning Pose keys PoseDesk keeps but does not use (nested dict).
        ignored_keys: Their dotted names, for a one-time notice.
        source: The YAML file it came from, if any.
        run_dir: ``hydra.run.dir`` from the file or the overrides (may contain ``${now:...}``).
    """

    cfg: DictConfig
    ignored: dict[str, Any] = field(default_factory=dict)
    ignored_keys: list[str] = field(default_factory=list)
    source: Path | None = None
    run_dir: str = DEFAULT_RUN_DIR

    def to_yaml(self) -> str:
        """The config as YAML: every schema key, then the kept Lightning Pose keys."""
        merged = OmegaConf.merge(OmegaConf.create(self.ignored), self.cfg)
        return OmegaConf.to_yaml(merged, sort_keys=False)

    def save(self, path: Path) -> None:
        """Writes :meth:`to_yaml` to ``path`` atomically (:func:`pose_core.io.atomic.atomic_write_text`).

        Raises:
            DataError: The folder is not writable or the disk is full (names the file).
        """
        atomic_write_text(path, self.to_yaml())


def read_config_text(path: Path) -> str:
    """Reads a config file's text (UTF-8; a byte-order mark is dropped).

    Every config read (``pose-train``, the GUI's config editor, a DeepLabCut or Lightning Pose
    ``config.yaml``) goes through here, so each failure is one message naming the file.

    Raises:
        ConfigError: The file is missing, a folder, unreadable, or not UTF-8 text (names the
            line of the first bad byte).
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"{path} is a folder, not a config file; give the YAML file inside it (e.g. {path / 'config.yaml'})."
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist: check --config-path and --config-name.") from None
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the config file {path} ({exc.strerror or exc}); check its permissions."
        ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{path}: line {line}, column {column} has the byte 0x{data[exc.start]:02x}, which is not UTF-8 text; "
            "save the file as UTF-8 (or retype the character) and try again."
        ) from None


def read_yaml_file(path: Path) -> DictConfig:
    """Reads a YAML config file.

    Raises:
        ConfigError: Missing file, not UTF-8, YAML syntax error (with line and column), a key
            written twice, not a mapping.
    """
    return parse_yaml_text(read_config_text(path), str(path))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key written twice in one mapping is an error.

    PyYAML silently keeps the last value, so an edit of the first copy of a duplicated key does nothing.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key '{key}' appears twice (lines {seen[key]} and {line}); keep one of them",
                    key_node.start_mark,
                )
            if isinstance(key, str | int | float | bool):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str) -> Any:
    """``yaml.safe_load`` that refuses a key written twice in one mapping.

    Raises:
        yaml.YAMLError: A syntax error or a duplicated key (with its line).
    """
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def load_yaml_file(path: Path) -> Any:
    """Reads and parses any YAML file (a DeepLabCut or Lightning Pose ``config.yaml``).

    Raises:
        ConfigError: Unreadable, not UTF-8, a syntax error or a duplicated key (with the line).
    """
    text = read_config_text(path)
    try:
        return load_yaml_text(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, str(path)) from exc


def _yaml_error(exc: yaml.YAMLError, origin: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ConfigError(f"{origin}: YAML syntax error{where}: {problem}. Fix the file's syntax.")


def parse_yaml_text(text: str, origin: str = "<text>") -> DictConfig:
    """Parses YAML text into a DictConfig, reporting syntax errors with line and column.

    Args:
        text: The YAML document.
        origin: Name used in error messages (a file path).

    Raises:
        ConfigError: The text is not valid YAML (or writes a key twice) or not a mapping at the top.
    """
    try:
        data = load_yaml_text(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, origin) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: a config must be a mapping of keys (data:, training:, ...), not a {type(data).__name__}."
        )
    try:
        cfg = OmegaConf.create(data)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{origin}: {exc}") from exc
    assert isinstance(cfg, DictConfig)
    return cfg


def _leaf_keys(node: Any, prefix: str = "") -> list[str]:
    """Dotted keys of every leaf of a nested DictConfig (lists are leaves)."""
    if not isinstance(node, DictConfig):
        return [prefix.rstrip(".")]
    keys: list[str] = []
    for key in node:
        k = str(key)
        child = node._get_node(k)  # noqa: SLF001 - keeps interpolations unresolved
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_interpolation():  # noqa: SLF001
            sub = _leaf_keys(child, f"{prefix}{k}.")
            keys.extend(sub if sub else [f"{prefix}{k}"])
        else:
            keys.append(f"{prefix}{k}")
    return keys


def _is_ignored(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in LP_IGNORED_KEYS)


def _is_group(key: str) -> bool:
    return any(k.startswith(key + ".") for k in schema_keys())


def close_matches(key: str, candidates: Sequence[str] | None = None) -> list[str]:
    """Close matches of a misspelt dotted key among the schema's keys."""
    candidates = list(candidates) if candidates is not None else schema_keys()
    leaf = key.rsplit(".", 1)[-1]
    by_full = difflib.get_close_matches(key, candidates, n=3, cutoff=0.75)
    by_leaf = [
        c
        for c in candidates
        if c.rsplit(".", 1)[-1]
        in difflib.get_close_matches(leaf, [x.rsplit(".", 1)[-1] for x in candidates], n=3, cutoff=0.8)
    ]
    out: list[str] = []
    for c in by_full + by_leaf:
        if c not in out:
            out.append(c)
    return out[:3]


def unknown_key_error(key: str, origin: str) -> ConfigError:
    """The error for a key neither PoseDesk nor Lightning Pose knows."""
    matches = close_matches(key)
    hint = f" Did you mean {' or '.join(matches)}?" if matches else " See the config keys in the README."
    return ConfigError(f"Unknown config key '{key}' ({origin}).{hint}", key=key)


def apply_overrides(raw: DictConfig, overrides: Sequence[str]) -> tuple[DictConfig, str | None]:
    """Applies hydra-style overrides to a raw (untyped) config.

    Args:
        raw: The config read from YAML; modified in place.
        overrides: Strings such as ``training.max_epochs=11``, ``+new.key=1``, ``~dali``.

    Returns:
        The config and the ``hydra.run.dir`` override if one was given.

    Raises:
        ConfigError: An override that does not parse, or names an unknown key.
    """
    run_dir: str | None = None
    if not overrides:
        return raw, run_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    for text in overrides:
        try:
            (override,) = parser.parse_overrides([text])
        except OverrideParseException as exc:
            msg = str(exc).splitlines()[0]
            raise ConfigError(
                f"Cannot parse the override '{text}': {msg}. Write it as key=value, e.g. training.max_epochs=10."
            ) from exc
        key = override.key_or_group
        if key == "hydra.run.dir":
            run_dir = str(override.value())
            continue
        if override.is_delete():
            _delete_key(raw, key)
            continue
        known = key in schema_keys() or _is_group(key) or _is_ignored(key)
        in_file = _has_key(raw, key)
        if not (known or in_file):
            raise unknown_key_error(key, f"command-line override '{text}'")
        value = override.value()
        OmegaConf.update(raw, key, _to_plain(value), merge=False, force_add=True)
    return raw, run_dir


def _has_key(cfg: DictConfig, key: str) -> bool:
    """Whether a dotted key exists, without resolving interpolations."""
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return False
        node = node._get_node(part)  # noqa: SLF001
    return True


def _to_plain(value: Any) -> Any:
    """Hydra override values to plain Python (lists and dicts)."""
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    return value


def _delete_key(cfg: DictConfig, key: str) -> None:
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    if isinstance(parent, DictConfig) and leaf in parent:
        del parent[leaf]


def split_known(raw: DictConfig, origin: str) -> tuple[DictConfig, dict[str, Any], list[str]]:
    """Separates schema keys from kept Lightning Pose keys; unknown keys raise.

    Returns:
        The schema part, the ignored part (nested dict) and the ignored dotted keys.

    Raises:
        ConfigError: A key neither PoseDesk nor Lightning Pose knows (with close matches).
    """
    known_keys = set(schema_keys())
    known = OmegaConf.create({})
    ignored = OmegaConf.create({})
    ignored_keys: list[str] = []
    for key in _leaf_keys(raw):
        node = OmegaConf.select(raw, key, throw_on_resolution_failure=False)
        raw_node = _select_node(raw, key)
        if key in known_keys:
            OmegaConf.update(known, key, raw_node, merge=False, force_add=True)
        elif _is_ignored(key):
            OmegaConf.update(ignored, key, raw_node, merge=False, force_add=True)
            top = next(k for k in LP_IGNORED_KEYS if key == k or key.startswith(k + "."))
            if top not in ignored_keys and top != "hydra":
                ignored_keys.append(top)
        elif _is_group(key) and node is None:
            if key in _REQUIRED_SECTIONS:
                raise ConfigError(
                    f"'{key}:' is empty (null) in {origin}, which would silently mean every {key}.* default; "
                    f"list its keys below it, or delete the '{key}:' line to use the defaults.",
                    key=key,
                )
            continue  # e.g. `losses: null` in a file: keep the defaults
        else:
            raise unknown_key_error(key, origin)
    plain_ignored = OmegaConf.to_container(ignored, resolve=False)
    assert isinstance(plain_ignored, dict)
    return known, {str(k): v for k, v in plain_ignored.items()}, ignored_keys


def _select_node(cfg: DictConfig, key: str) -> Any:
    """The value at ``key`` with interpolations kept as strings."""
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key, throw_on_resolution_failure=False) if parent_key else cfg
    assert isinstance(parent, DictConfig)
    node = parent._get_node(leaf)  # noqa: SLF001
    if node is None:
        return None
    if node._is_interpolation():  # noqa: SLF001
        return node._value()  # noqa: SLF001
    value = node._value()  # noqa: SLF001
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=False)
    return value


def _type_error(key: str, exc: OmegaConfBaseException) -> ConfigError:
    """Turns an OmegaConf validation error into a message naming the key and the fix."""
    fields = {f.key: f for f in schema_fields()}
    full_key = getattr(exc, "full_key", None) or key
    f = fields.get(str(full_key))
    detail = str(exc).splitlines()[0]
    expected = f" It must be of type {f.type}" if f is not None else ""
    example = f" (default: {f.default!r})" if f is not None else ""
    return ConfigError(f"Bad value for '{full_key}': {detail}.{expected}{example}; fix the value.", key=str(full_key))


def merge_with_schema(known: DictConfig, origin: str) -> DictConfig:
    """Merges the schema part of a config onto the typed defaults.

    Raises:
        ConfigError: A value of the wrong type (names the key, the type and the default).
    """
    base = OmegaConf.structured(PoseConfig)
    try:
        merged = OmegaConf.merge(base, known)
    except OmegaConfBaseException as exc:
        raise _type_error(str(getattr(exc, "full_key", "") or origin), exc) from exc
    assert isinstance(merged, DictConfig)
    return merged


def _resolve(cfg: DictConfig, origin: str) -> None:
    for key in _leaf_keys(cfg):
        try:
            OmegaConf.select(cfg, key)
        except OmegaConfBaseException as exc:
            raw = _select_node(cfg, key)
            hint = ""
            if isinstance(raw, str) and "LP_ROOT_PATH" in raw:
                hint = f" ${{LP_ROOT_PATH:}} is a Lightning Pose resolver: give the path instead, e.g. {key}=/path/to/data."
            raise ConfigError(
                f"Cannot resolve '{key}: {raw}' ({origin}): {str(exc).splitlines()[0]}.{hint}", key=key
            ) from exc
    OmegaConf.resolve(cfg)


def _absolutize(cfg: DictConfig, file_dir: Path | None, from_file: set[str]) -> None:
    """Makes path keys absolute (see the module docstring)."""
    cwd = Path.cwd()
    for key in PATH_KEYS_CWD:
        value = OmegaConf.select(cfg, key)
        if value and not Path(str(value)).expanduser().is_absolute():
            base = file_dir if (key in from_file and file_dir is not None) else cwd
            OmegaConf.update(cfg, key, str((base / str(value)).resolve()))
        elif value:
            OmegaConf.update(cfg, key, str(Path(str(value)).expanduser()))
    data_dir = Path(str(cfg.data.data_dir)) if cfg.data.data_dir else None
    for key in PATH_KEYS_FROM_DATA_DIR:
        value = OmegaConf.select(cfg, key)
        if value and data_dir is not None and not Path(str(value)).expanduser().is_absolute():
            OmegaConf.update(cfg, key, str(data_dir / str(value)))


def load_config(
    path: Path | None = None,
    overrides: Sequence[str] = (),
    *,
    check_paths: bool = True,
) -> LoadedConfig:
    """Loads, overrides, types, resolves and validates a config.

    Args:
        path: A YAML file (PoseDesk or Lightning Pose); None = schema defaults only.
        overrides: Hydra-style overrides, applied after the file.
        check_paths: Also check that ``data_dir`` and the labels CSV exist.

    Returns:
        The validated config.

    Raises:
        ConfigError: Any problem, with a message naming the key, the value and the fix.
    """
    origin = str(path) if path is not None else "defaults"
    raw = read_yaml_file(path) if path is not None else OmegaConf.create({})
    file_run_dir = OmegaConf.select(raw, "hydra.run.dir", default=None, throw_on_resolution_failure=False)
    from_file = {k for k in PATH_KEYS_CWD if OmegaConf.select(raw, k, default=None, throw_on_resolution_failure=False)}
    raw, cli_run_dir = apply_overrides(raw, overrides)
    from_file -= {o.split("=", 1)[0].lstrip("+") for o in overrides}
    known, ignored, ignored_keys = split_known(raw, origin)
    cfg = merge_with_schema(known, origin)
    _resolve(cfg, origin)
    _absolutize(cfg, path.parent.resolve() if path is not None else None, from_file)
    issues = validate_config(cfg, check_paths=check_paths)
    if issues:
        first = issues[0]
        more = (
            f" (and {len(issues) - 1} more: " + "; ".join(i.message for i in issues[1:]) + ")"
            if len(issues) > 1
            else ""
        )
        raise ConfigError(first.message + more, key=first.key)
    run_dir = cli_run_dir or (str(file_run_dir) if file_run_dir else DEFAULT_RUN_DIR)
    return LoadedConfig(cfg=cfg, ignored=ignored, ignored_keys=ignored_keys, source=path, run_dir=run_dir)


def resolve_file_config(cfg: DictConfig, config_dir: Path | None, origin: str) -> None:
    """Resolves interpolations and makes path keys absolute, as :func:`load_config` does for a file.

    For a config whose values all come from a file in ``config_dir`` (the config editor's case):
    ``data_dir`` and the other file paths are relative to ``config_dir``.

    Args:
        cfg: A config merged onto the schema (:func:`merge_with_schema`); changed in place.
        config_dir: The folder of the config file (None = the current folder).
        origin: Name used in error messages (the file path).

    Raises:
        ConfigError: An interpolation that cannot be resolved (names the key and the fix).
    """
    _resolve(cfg, origin)
    _absolutize(cfg, config_dir, set(PATH_KEYS_CWD))
