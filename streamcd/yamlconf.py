"""YAML loading that keeps line numbers, ``--set`` overrides, and readable validation errors."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ConfigError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[Any, ...]

MAX_CONFIG_BYTES = 1 << 20


def load_validated(schema: type[M], path: Path, overrides: typing.Sequence[str] = ()) -> M:
    """Parse ``path``, apply overrides, validate against ``schema``; raise ConfigError on any fault."""
    try:
        with open(path, "rb") as f:  # bounded: /dev/zero or a wrong big file must not hang
            data = f.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: larger than {MAX_CONFIG_BYTES >> 20} MiB; is it a pipeline YAML?"
            )
        text = data.decode("utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: config file not found") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config file: {e}") from e
    tree, lines = parse_yaml(text, str(path))
    origins: dict[Loc, str] = {}
    for item in overrides:
        tree = apply_override(tree, item)
        origins[_override_loc(item)] = item
    return validate(schema, tree, lines, str(path), origins)


def parse_yaml(text: str, name: str = "<config>") -> tuple[Any, dict[Loc, int]]:
    """Return the plain data and a map from key path to 1-based line number."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{name}:{where}: YAML syntax error: {problem}") from e
    if node is None:
        raise ConfigError(f"{name}: the file is empty; it needs at least a 'streams:' list")
    lines: dict[Loc, int] = {}
    _record_lines(node, (), lines, name)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: the top level must be a mapping with a 'streams:' key")
    return data, lines


def _record_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], name: str) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{name}: line {line}: a key must be a plain name, not a list or mapping")
            key = key_node.value
            if loc + (key,) in lines:  # PyYAML keeps the last one silently; YAML forbids it
                raise ConfigError(
                    f"{name}: line {line}: duplicate key {_format_loc(loc + (key,))!r} "
                    f"(first at line {lines[loc + (key,)]}); keep one of them"
                )
            lines[loc + (key,)] = line
            _record_lines(value_node, loc + (key,), lines, name)
            lines[loc + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_lines(item, loc + (i,), lines, name)


_INDEX = re.compile(r"\[(\d+)\]")


def apply_override(data: dict[str, Any], item: str) -> dict[str, Any]:
    """Set ``a.b[0].c=value`` (or ``a.b.0.c=value``) in a copy-free way; value is parsed as YAML."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. model.provider=cpu")
    raw = item.split("=", 1)[1]
    parts = _key_parts(item)
    if not parts:
        raise ConfigError(f"--set {item!r}: empty key")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {item!r}: value is not valid YAML: {e}") from e
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = _format_loc(_as_loc(parts[:depth]))
        if isinstance(node, list):
            index = _list_index(node, part, where, item)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            elif part in node:
                node = node[part]
            elif parts[depth + 1].isdigit():  # a list that is not in the file has no items
                raise ConfigError(
                    f"--set {item!r}: {_format_loc(_as_loc(parts[: depth + 1]))} is not in the "
                    f"config, so it has no item {parts[depth + 1]}; add the list to the YAML "
                    "(--set changes existing list items, it does not add them)"
                )
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"--set {item!r}: {where} is a value, not a mapping or list")
    return data


def _list_index(node: list[Any], part: str, where: str, item: str) -> int:
    """``part`` as an index of the list ``node`` at ``where``, or ConfigError saying what is valid."""
    n = len(node)
    valid = "it is empty" if n == 0 else f"valid index{'es' * (n > 1)}: {'0' if n == 1 else f'0..{n - 1}'}"
    if not part.isdigit():
        raise ConfigError(f"--set {item!r}: {where} is a list; {part!r} is not an item index ({valid})")
    if int(part) >= n:
        raise ConfigError(
            f"--set {item!r}: index {part} is out of range: {where} has {n} item{'s' * (n != 1)} "
            f"({valid}); --set changes existing list items, it does not add them"
        )
    return int(part)


def _key_parts(item: str) -> list[str]:
    """The key path of a ``KEY=VALUE`` override: ``a.b[0].c`` -> ``["a", "b", "0", "c"]``."""
    key = item.split("=", 1)[0]
    parts = [p for p in _INDEX.sub(r".\1", key.strip()).split(".") if p]
    for part in parts:
        if "[" in part or "]" in part:
            raise ConfigError(
                f"--set {item!r}: {part!r} is not a key; write list items as name[0] or name.0"
            )
    return parts


def _as_loc(parts: typing.Sequence[str]) -> Loc:
    return tuple(int(p) if p.isdigit() else p for p in parts)


def _override_loc(item: str) -> Loc:
    return _as_loc(_key_parts(item))


def validate(schema: type[M], data: Any, lines: dict[Loc, int], name: str,
             origins: dict[Loc, str] | None = None) -> M:
    """Validate ``data``; errors name the key path and its YAML line, or the ``--set`` that set it
    (``origins`` maps an overridden key path to its ``KEY=VALUE`` string)."""
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        messages = [_describe(schema, err, data, lines, origins or {}) for err in e.errors()]
        head = f"{name}: invalid configuration ({len(messages)} problem{'s' * (len(messages) > 1)})"
        raise ConfigError("\n  ".join([head, *messages])) from None


def _data_loc(loc: Loc, data: Any) -> Loc:
    """Drop the union-tag parts pydantic puts into error locations (``source.video.path``)."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and node.get("type") == part:
            continue  # discriminator tag
        else:
            out.append(part)
            node = None
    return tuple(out)


def _format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _origin_of(loc: Loc, origins: dict[Loc, str]) -> str | None:
    """The ``--set`` item that wrote ``loc`` or one of its parents (the deepest such)."""
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in origins:
            return origins[loc[:cut]]
    return None


def _describe(schema: type[BaseModel], err: dict[str, Any], data: Any, lines: dict[Loc, int],
              origins: dict[Loc, str]) -> str:
    kind = err["type"]
    loc = _data_loc(tuple(err["loc"]), data)
    if kind == "union_tag_invalid":
        loc += ("type",)  # point at the bad `type:` line, not at the mapping holding it
    origin = _origin_of(loc, origins)
    line = _line_of(loc, lines)
    if origin is not None:  # the YAML line would point at a value the override replaced
        where = f"{_format_loc(loc)} (from --set {origin})"
    else:
        where = f"{_format_loc(loc)} (line {line})" if line else _format_loc(loc)
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(schema, loc[:-1], data)
        msg = f"unknown key {loc[-1]!r}" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
    elif kind == "union_tag_invalid":
        msg = f"unknown type {err['input'].get('type')!r}; allowed: {err['ctx']['expected_tags']}"
    elif kind == "union_tag_not_found":
        tags = _union_tags(schema, loc, data)
        msg = "missing key 'type'" + (f"; allowed types: {', '.join(tags)}" if tags else "")
    elif kind == "missing":
        msg = "required key is missing"
    elif not kind.startswith("value_error"):
        msg = f"{msg} (got {err.get('input')!r})"
    return f"{where}: {msg}"


def _walk(schema: type[BaseModel], loc: Loc, data: Any) -> Any:
    """The schema type that sits at ``loc`` (a model class, a ``list[...]``), or None."""
    cls: Any = schema
    node = data
    for part in loc:
        try:
            node = node[part] if isinstance(node, (dict, list)) else None
        except (KeyError, IndexError, TypeError):
            node = None
        cls = _unwrap(cls, part, node)
        if cls is None:
            return None
    return cls


def _allowed_keys(schema: type[BaseModel], loc: Loc, data: Any) -> list[str]:
    """Field names of the model that sits at ``loc`` in the schema (for unknown-key errors)."""
    cls = _walk(schema, loc, data)
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return list(cls.model_fields)
    return []


def _union_tags(schema: type[BaseModel], loc: Loc, data: Any) -> list[str]:
    """The ``type`` values a discriminated union at ``loc`` accepts (for a missing ``type``)."""
    if not loc:
        return []
    parent, part = _walk(schema, loc[:-1], data), loc[-1]
    if isinstance(parent, type) and issubclass(parent, BaseModel) and part in parent.model_fields:
        annotation = parent.model_fields[part].annotation
    elif typing.get_origin(parent) is list:
        annotation = typing.get_args(parent)[0]
    else:
        return []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    members = [getattr(m, "model_fields", {}).get("type") for m in typing.get_args(annotation)]
    return [f.default for f in members if f is not None and isinstance(f.default, str)]


def _unwrap(cls: Any, part: Any, node: Any) -> Any:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        field = cls.model_fields.get(part) if isinstance(part, str) else None
        return _pick(field.annotation, node) if field else None
    origin = typing.get_origin(cls)
    if origin is list and isinstance(part, int):
        return _pick(typing.get_args(cls)[0], node)
    return None


def _pick(annotation: Any, node: Any) -> Any:
    """Resolve Annotated/Optional/discriminated unions to the class that applies to ``node``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _pick(typing.get_args(annotation)[0], node)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        tag = node.get("type") if isinstance(node, dict) else None
        for member in members:
            field = getattr(member, "model_fields", {}).get("type")
            if field is not None and field.default == tag:
                return member
        return members[0] if len(members) == 1 else None
    return annotation
