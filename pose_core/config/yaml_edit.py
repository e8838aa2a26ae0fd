"""Change one value in a YAML text in place, keeping its comments, order and layout.

The config editor's form changes values one at a time; regenerating the whole file from a dict
would drop every comment a scientist wrote in it. :func:`edit_yaml_value` finds the value's
position with PyYAML's composer (nodes carry their start and end offsets) and replaces just that
span, or inserts a missing key at the end of its parent mapping (block or flow style). It returns
None whenever an edit cannot be done safely in place (block-style lists, whole mappings): the caller
then falls back to regenerating the text, and should always check that the edited text parses
to the values it expects.
"""

from __future__ import annotations

from typing import Any

import yaml

_INDENT_STEP = 2


def format_flow_value(value: Any) -> str:
    """One-line YAML for a scalar or a list of scalars (``resnet34``, ``0.001``, ``[150, 200]``, ``null``)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    return text.removesuffix("\n...\n").rstrip("\n")


def _child(mapping: yaml.MappingNode, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The entry ``name`` of a mapping; the last one when the key is repeated (the one that counts)."""
    found = None
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == name:
            found = key_node, value_node
    return found


def _is_editable_in_place(node: yaml.Node) -> bool:
    """A scalar, or a flow-style collection (``[a, b]``): its span is exactly the value."""
    if isinstance(node, yaml.ScalarNode):
        return True
    return isinstance(node, yaml.SequenceNode | yaml.MappingNode) and bool(node.flow_style)


def _replace(text: str, node: yaml.Node, value: Any) -> str | None:
    if isinstance(value, dict) or not _is_editable_in_place(node):
        return None
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        return None
    start, end = node.start_mark.index, node.end_mark.index
    new = format_flow_value(value)
    if start == end and start > 0 and text[start - 1] == ":":  # ``key:`` with an empty value
        new = " " + new
    return text[:start] + new + text[end:]


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _insertion_point(text: str, mapping: yaml.MappingNode) -> int:
    """Start of the line after the mapping's last entry (before trailing blank and comment lines)."""
    last_value = mapping.value[-1][1]
    pos = last_value.end_mark.index
    if pos == 0 or text[pos - 1] != "\n":  # a scalar or flow value: move past its line
        newline = text.find("\n", pos)
        pos = len(text) if newline < 0 else newline + 1
    while pos > 0:  # give back the blank and comment lines that belong to what follows
        prev_start = _line_start(text, pos - 1)
        stripped = text[prev_start : pos - 1].strip()
        if stripped and not stripped.startswith("#"):
            break
        if prev_start <= last_value.start_mark.index:
            break
        pos = prev_start
    return pos


def _insert_flow(text: str, mapping: yaml.MappingNode, parts: list[str], value: Any) -> str:
    """Add ``parts: value`` inside a flow mapping (``{a: 1}`` -> ``{a: 1, b: 2}``)."""
    entry = format_flow_value(value)
    for part in reversed(parts[1:]):
        entry = f"{{{part}: {entry}}}"
    entry = f"{parts[0]}: {entry}"
    close = mapping.end_mark.index - 1  # the closing brace
    return text[:close] + (", " if mapping.value else "") + entry + text[close:]


def _insert(text: str, mapping: yaml.MappingNode, parts: list[str], value: Any, indent: int) -> str | None:
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value)):
        return None
    if mapping.flow_style:
        return _insert_flow(text, mapping, parts, value)
    if mapping.value:
        indent = mapping.value[0][0].start_mark.column
        pos = _insertion_point(text, mapping)
    else:
        pos = len(text)
    lines = [" " * (indent + _INDENT_STEP * depth) + f"{part}:" for depth, part in enumerate(parts[:-1])]
    lines.append(" " * (indent + _INDENT_STEP * (len(parts) - 1)) + f"{parts[-1]}: {format_flow_value(value)}")
    block = "\n".join(lines) + "\n"
    if pos == len(text) and text and not text.endswith("\n"):
        block = "\n" + block
    return text[:pos] + block + text[pos:]


def _find(root: yaml.Node | None, parts: list[str]) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key node, value node) of a dotted key in a composed document, or None."""
    found = None
    node = root
    for part in parts:
        if not isinstance(node, yaml.MappingNode):
            return None
        found = _child(node, part)
        if found is None:
            return None
        node = found[1]
    return found


def key_line(text: str, key: str) -> int | None:
    """The 1-based line where the dotted ``key`` is written in a YAML text (None: absent or unparsable)."""
    try:
        found = _find(yaml.compose(text, Loader=yaml.SafeLoader), key.split("."))
    except yaml.YAMLError:
        return None
    return None if found is None else found[0].start_mark.line + 1


def edit_yaml_value(text: str, key: str, value: Any) -> str | None:
    """The YAML ``text`` with the dotted ``key`` set to ``value``, everything else untouched.

    Args:
        text: A YAML document whose top level is a mapping.
        key: Dotted key, e.g. ``training.max_epochs``.
        value: A scalar or a list of scalars.

    Returns:
        The edited text, or None when the edit cannot be made in place (not a mapping, a
        block-style list or a mapping value to replace, a flow-style or non-mapping parent, an
        unparsable text): regenerate the text instead.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if root is None:
        root = yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    parts = key.split(".")
    node: yaml.MappingNode = root
    indent = 0
    for depth, part in enumerate(parts):
        found = _child(node, part)
        if found is None:
            return _insert(text, node, parts[depth:], value, indent)
        key_node, value_node = found
        if depth == len(parts) - 1:
            return _replace(text, value_node, value)
        if not isinstance(value_node, yaml.MappingNode):
            return None
        indent = key_node.start_mark.column + _INDENT_STEP
        node = value_node
    return None
