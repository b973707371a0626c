"""Command configs as typed options: frozen dataclasses ↔ CLI flags, TOML/JSON, ``config.json``.

Every command of every model is configured by one frozen dataclass (``CompareConfig``,
``PhaseDiagramConfig``, ``RunConfig``, ...) with a ``preset(name)`` classmethod for the presets
:data:`PRESETS`. This module turns such a class into command-line options and back:

* :func:`add_config_options` adds one ``--field-name`` option per field (nested dataclasses are
  flattened as ``--outer-inner``); help text comes from the class docstring's ``Attributes:``.
* :func:`resolve_config` builds the config a command runs: the preset, then the values of a
  ``--config FILE`` (TOML, or the ``config.json`` that every run writes), then explicit options.
* :func:`config_to_dict` / :func:`config_from_dict` round-trip a config through JSON, so
  ``solvable VERB MODEL --config results/.../config.json`` repeats a run exactly.

Field types understood: ``int``, ``float``, ``str``, ``bool``, ``X | None``, ``Literal[...]``,
``tuple[T, ...]`` and fixed ``tuple[T1, T2]`` (comma-separated on the command line), tuples of
tuples (groups separated by ``;``, e.g. ``--points "1,0.3;0.4,0.3"``), nested dataclasses, and
tuples of dataclasses (from a config file only). Written here rather than with ``tyro`` to keep
``solvable --help`` instant and the option names stable (``--preset``, ``--quick``, flattened
nested fields) without another dependency.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "PRESETS",
    "add_config_options",
    "cli_overrides",
    "config_from_dict",
    "config_to_dict",
    "field_help",
    "load_config_file",
    "replace_config",
    "resolve_config",
]

#: The preset names every model's configs accept.
PRESETS = ("quick", "default", "paper")

_NONE_WORDS = ("none", "null")


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _strip_optional(tp) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _type_name(tp) -> str:
    tp, optional = _strip_optional(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        name = "{" + ",".join(str(a) for a in typing.get_args(tp)) + "}"
    elif origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            nested = typing.get_origin(_strip_optional(args[0])[0]) is tuple
            name = f"{_type_name(args[0])};..." if nested else f"{_type_name(args[0])},..."
        else:
            name = ",".join(_type_name(a) for a in args)
    else:
        name = getattr(tp, "__name__", str(tp))
    return f"{name}|none" if optional else name


def _convert(tp, value: Any, where: str) -> Any:
    """``value`` (from JSON/TOML or already parsed) converted to field type ``tp``."""
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{where} must be {_type_name(tp)}, got None")
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ValueError(f"{where} must be one of {list(choices)}, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list ({_type_name(tp)}), got {value!r}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f"{where} must have {len(args)} entries, got {value!r}")
        return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if _is_dataclass_type(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} must be a table of {tp.__name__} fields, got {value!r}")
        return config_from_dict(tp, value, where=where)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError(f"{where} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {value!r}")
        return value
    return value


def _parse_scalar(tp, text: str, where: str) -> Any:
    tp, optional = _strip_optional(tp)
    if optional and text.strip().lower() in _NONE_WORDS:
        return None
    text = text.strip()
    if typing.get_origin(tp) is typing.Literal:
        for choice in typing.get_args(tp):
            if str(choice) == text:
                return choice
        raise ValueError(f"{where} must be one of {list(typing.get_args(tp))}, got {text!r}")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            try:
                x = float(text)
            except ValueError:
                raise ValueError(f"{where} must be an integer, got {text!r}") from None
            if not x.is_integer():
                raise ValueError(f"{where} must be an integer, got {text!r}") from None
            return int(x)
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{where} must be a number, got {text!r}") from None
    if tp is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{where} must be true or false, got {text!r}")
    return text


def _parse_text(tp, text: str, where: str) -> Any:
    """Parse one command-line value for a field of type ``tp``."""
    inner, optional = _strip_optional(tp)
    if optional and text.strip().lower() in _NONE_WORDS:
        return None
    if typing.get_origin(inner) is tuple:
        args = typing.get_args(inner)
        elem = args[0] if len(args) == 2 and args[1] is Ellipsis else None
        nested = elem is not None and typing.get_origin(_strip_optional(elem)[0]) is tuple
        sep = ";" if nested else ","
        parts = [p for p in text.split(sep) if p.strip()] if text.strip() else []
        if elem is None:
            if len(parts) != len(args):
                raise ValueError(f"{where} takes {len(args)} comma-separated values, got {text!r}")
            return tuple(_parse_scalar(a, p, where) for a, p in zip(args, parts))
        return tuple(_parse_text(elem, p, where) for p in parts)
    return _parse_scalar(inner, text, where)


def field_help(cls) -> dict[str, str]:
    """``{field: description}`` from the ``Attributes:`` section of ``cls``'s docstring."""
    doc = cls.__doc__ or ""
    out: dict[str, str] = {}
    in_attrs, current, indent = False, None, None
    for line in doc.splitlines():
        if line.strip() == "Attributes:":
            in_attrs, current = True, None
            continue
        if not in_attrs:
            continue
        if not line.strip():
            continue
        lead = len(line) - len(line.lstrip())
        m = re.match(r"^\s*(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
        if m and (indent is None or lead <= indent):
            indent = lead
            current = m.group(1)
            out[current] = m.group(2).strip()
        elif current is not None and indent is not None and lead > indent:
            out[current] += " " + line.strip()
        else:
            break
    return out


def _walk(cls, prefix: tuple[str, ...] = ()):
    """Yield ``(path, type, default_owner_cls)`` for every CLI-settable leaf field."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        inner, optional = _strip_optional(tp)
        if _is_dataclass_type(inner) and not optional:
            yield from _walk(inner, (*prefix, f.name))
            continue
        if typing.get_origin(inner) is tuple:
            args = typing.get_args(inner)
            if any(_is_dataclass_type(_strip_optional(a)[0]) for a in args if a is not Ellipsis):
                continue  # tuples of dataclasses: config file only
        yield (*prefix, f.name), tp, cls


def _metavar(tp) -> str | None:
    name = _type_name(tp)
    if typing.get_origin(_strip_optional(tp)[0]) is typing.Literal:
        return name
    return name.upper()


def add_config_options(parser: argparse.ArgumentParser, cls) -> None:
    """Add one ``--field-name`` option per (flattened) field of the dataclass ``cls``.

    Options default to ``None`` (= keep the preset's value); parsed values land in
    ``args.config_overrides`` as ``{("field",) or ("outer", "inner"): value}``.
    """
    group = parser.add_argument_group(f"{cls.__name__} options (override the preset)")
    helps: dict[tuple[str, ...], str] = {}

    def collect(c, prefix):
        for name, text in field_help(c).items():
            helps[(*prefix, name)] = text
        hints = _hints(c)
        for f in dataclasses.fields(c):
            inner, optional = _strip_optional(hints[f.name])
            if _is_dataclass_type(inner) and not optional:
                collect(inner, (*prefix, f.name))

    collect(cls, ())
    for path, tp, _ in _walk(cls):
        flag = "--" + "-".join(p.replace("_", "-") for p in path)
        where = flag

        def parse(text, tp=tp, where=where):
            try:
                return _parse_text(tp, text, where)
            except ValueError as err:
                raise argparse.ArgumentTypeError(str(err)) from None

        # A bool field alone is a switch (``--plane``); ``--plane false`` still parses.
        switch = {"nargs": "?", "const": True} if _strip_optional(tp)[0] is bool else {}
        group.add_argument(
            flag,
            dest="cfg__" + "__".join(path),
            type=parse,
            default=None,
            metavar=_metavar(tp),
            help=helps.get(path, ""),
            **switch,
        )


def cli_overrides(args: argparse.Namespace) -> dict[tuple[str, ...], Any]:
    """The config values given explicitly on the command line (``None`` = not given)."""
    out = {}
    for key, value in vars(args).items():
        if key.startswith("cfg__") and value is not None:
            out[tuple(key[len("cfg__") :].split("__"))] = value
    return out


def config_to_dict(cfg) -> dict[str, Any]:
    """A JSON-serialisable dict of a config (tuples become lists, nested configs dicts)."""

    def conv(v):
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [conv(x) for x in v]
        return v

    return conv(cfg)


def config_from_dict(cls, values: Mapping[str, Any], *, base=None, where: str = "config"):
    """``cls`` built from ``values`` (missing fields from ``base`` or the class defaults)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {unknown} for {cls.__name__}; valid: {sorted(names)}"
        )
    hints = _hints(cls)
    kwargs = {}
    for name, value in values.items():
        tp = hints[name]
        inner, _ = _strip_optional(tp)
        sub_base = getattr(base, name, None) if base is not None else None
        if _is_dataclass_type(inner) and isinstance(value, Mapping) and sub_base is not None:
            kwargs[name] = config_from_dict(inner, value, base=sub_base, where=f"{where}.{name}")
        else:
            kwargs[name] = _convert(tp, value, f"{where}.{name}")
    if base is not None:
        return dataclasses.replace(base, **kwargs)
    return cls(**kwargs)


def replace_config(cfg, overrides: Mapping[tuple[str, ...], Any]):
    """``cfg`` with the values at the given field paths replaced (nested paths allowed)."""
    nested: dict[str, dict[tuple[str, ...], Any]] = {}
    direct: dict[str, Any] = {}
    for path, value in overrides.items():
        if len(path) == 1:
            direct[path[0]] = value
        else:
            nested.setdefault(path[0], {})[path[1:]] = value
    for name, sub in nested.items():
        direct[name] = replace_config(getattr(cfg, name), sub)
    return dataclasses.replace(cfg, **direct)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Field values from a TOML file, or from a JSON file (a run's ``config.json`` included)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--config: no such file {str(path)!r}")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"--config: cannot parse {str(path)!r}: {err}") from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict) and "preset" in data:
        data = data["config"]  # a config.json written by a previous run
    if not isinstance(data, dict):
        raise ValueError(f"--config: {str(path)!r} must hold a table of fields")
    return data


def resolve_config(
    cls,
    preset: str = "default",
    config_file: str | Path | None = None,
    overrides: Mapping[tuple[str, ...], Any] | None = None,
):
    """The config a command runs: ``cls.preset(preset)``, then the file's values, then options."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {list(PRESETS)}, got {preset!r}")
    cfg = cls.preset(preset)
    if config_file is not None:
        cfg = config_from_dict(cls, load_config_file(config_file), base=cfg, where="--config")
    if overrides:
        cfg = replace_config(cfg, overrides)
    return cfg
