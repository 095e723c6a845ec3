"""Typed settings from untyped values: one coercer for config files, query strings and ``--set``.

A settings class is a frozen dataclass whose field annotations say what each setting takes
(``float``, ``int``, ``bool``, ``str``, a ``Literal``, ``tuple[str, ...]``, or one of these
``| None``). From those annotations, :func:`field_options` derives for every field:

- :meth:`Option.coerce`: a typed value (TOML, JSON, Python keywords) checked and normalized
  (an int for a float setting becomes a float, a list of strings a tuple, a comma-separated
  string a tuple); a value of the wrong type is a :class:`SettingsError` naming the setting;
- :meth:`Option.from_query`: the strings of a query string (``?k=v&k=w``) parsed into a typed
  value (``true``/``false``, numbers, ``none`` for an optional setting, comma-separated lists);
- :attr:`Option.schema`: its OpenAPI schema.

Ranges and combinations (``half_life_days`` positive, ``only_older`` and ``only_newer`` apart)
are checked by the dataclass itself in ``__post_init__``, which calls :func:`coerce_fields`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from recommender.errors import SettingsError

NULLS = ("", "none", "null")


def _truth(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def split_list(values: Iterable[str]) -> tuple[str, ...]:
    """``["a,b", " c"]`` -> ``("a", "b", "c")``: repeated and comma-separated values alike."""
    return tuple(p.strip() for v in values for p in v.split(",") if p.strip())


# ---------------------------------------------------------------------------- typed values
def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{name} must be true or false, got {value!r}")
    return value


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{name} must be a whole number, got {value!r}")
    return value


def _check_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SettingsError(f"{name} must be a string, got {value!r}")
    return value


def _check_strings(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return split_list([value])
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{name} must be a list of strings")
    return tuple(value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "bool": _check_bool,
    "int": _check_int,
    "float": _check_float,
    "list": _check_strings,
}
_PARSERS: dict[str, Callable[[str], Any]] = {"bool": _truth, "int": int, "float": float}
_SCHEMAS: dict[str, dict[str, Any]] = {
    "bool": {"type": "boolean"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "str": {"type": "string"},
    "list": {"type": "array", "items": {"type": "string"}},
}


# ---------------------------------------------------------------------------- one setting
@dataclass(frozen=True)
class Option:
    """How one setting is read: from a typed value, from query strings, and its schema."""

    name: str
    kind: str
    """``bool``, ``int``, ``float``, ``str``, ``choice`` or ``list``."""
    nullable: bool = False
    choices: tuple[str, ...] = ()

    @property
    def schema(self) -> dict[str, Any]:
        """The OpenAPI schema of the query parameter."""
        schema: dict[str, Any] = (
            {"type": "string", "enum": list(self.choices)}
            if self.kind == "choice"
            else dict(_SCHEMAS[self.kind])
        )
        return {**schema, "nullable": True} if self.nullable else schema

    def coerce(self, value: Any) -> Any:
        """A typed value (TOML, JSON, keyword argument) checked and normalized."""
        if value is None and self.nullable:
            return None
        return _CHECKS.get(self.kind, _check_str)(self.name, value)

    def from_query(self, values: list[str]) -> Any:
        """The value of ``?name=...`` (given ``values``, one per occurrence), typed."""
        try:
            parsed = self._parse(values)
        except ValueError as exc:
            raise SettingsError(f"parameter {self.name!r}: {exc}") from None
        return self.coerce(parsed)  # the checks (and words) of config files and the CLI

    def _parse(self, values: list[str]) -> Any:
        if self.nullable and values[-1].strip().lower() in NULLS:
            return None
        if self.kind == "list":
            return split_list(values)
        if len(values) > 1:
            raise ValueError("given more than once")
        text = values[0]
        if self.kind == "choice" and text not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {text!r}")
        return _PARSERS.get(self.kind, str)(text)


def option_for(name: str, annotation: Any) -> Option:
    """The :class:`Option` of a field annotated ``annotation`` (a resolved type)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        inner = option_for(name, next(a for a in args if a is not type(None)))
        return dataclasses.replace(inner, nullable=True)
    if origin in (tuple, list, frozenset, set):
        return Option(name, "list")
    if origin is typing.Literal:
        return Option(name, "choice", choices=tuple(map(str, args)))
    kinds = {bool: "bool", int: "int", float: "float"}
    return Option(name, kinds.get(annotation, "str"))


_OPTIONS: dict[type, dict[str, Option]] = {}


def field_options(cls: type) -> dict[str, Option]:
    """Every field of the dataclass ``cls``, by name, as an :class:`Option` (read once)."""
    if cls not in _OPTIONS:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        _OPTIONS[cls] = {f.name: option_for(f.name, hints[f.name]) for f in fields}
    return _OPTIONS[cls]


# ---------------------------------------------------------------------------- many settings
def coerce_fields(instance: Any) -> None:
    """Check and normalize every field of a frozen dataclass instance in place.

    For ``__post_init__``: what config files and JSON give is untyped.
    """
    for name, option in field_options(type(instance)).items():
        object.__setattr__(instance, name, option.coerce(getattr(instance, name)))


def check_names(cls: type, names: Iterable[str], what: str = "ranking option(s)") -> None:
    """A :class:`SettingsError` listing the names that are not fields of ``cls``."""
    unknown = sorted(set(names) - set(field_options(cls)))
    if unknown:
        raise SettingsError(f"unknown {what}: {', '.join(unknown)}")


def coerce_options(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for some fields of ``cls`` (``--set``, JSON, TOML): the CLI's entry point.

    Unknown names and values of the wrong type are a :class:`SettingsError` naming the setting.
    Ranges and combinations are checked when the settings object is built from them.
    """
    check_names(cls, values)
    options = field_options(cls)
    return {name: options[name].coerce(value) for name, value in values.items()}


def parse_query(
    cls: type, params: Mapping[str, list[str]], *, reserved: Iterable[str] = ()
) -> dict[str, Any]:
    """Typed values for some fields of ``cls`` from a query string's ``{name: [values]}``.

    Names in ``reserved`` (the route's own parameters) are skipped; any other name that is not a
    field is a :class:`SettingsError`.
    """
    options = field_options(cls)
    parsed: dict[str, Any] = {}
    for name, values in params.items():
        if name in reserved:
            continue
        if name not in options:
            raise SettingsError(f"unknown parameter {name!r}")
        parsed[name] = options[name].from_query(values)
    return parsed


def query_schemas(cls: type) -> dict[str, dict[str, Any]]:
    """The OpenAPI schema of every field of ``cls`` as a query parameter."""
    return {name: option.schema for name, option in field_options(cls).items()}
