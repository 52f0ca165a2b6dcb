"""Coerce plain command-line values without pydantic (start-up time, issue #6).

Typer 0.29 coerces every parameter, defaults included, through a pydantic TypeAdapter: importing
pydantic (and its plugin loader, importlib.metadata, annotated_types) and building the adapters is
about 90 ms of the ~230 ms that `tokcli count -t char small.txt` takes. Every tokcli parameter is
plain (str, int, float, bool, an Enum, or a list of those), and most values are already of the
type or an exact spelling of it: a str, digits, an Enum's value. Those are converted here. Any other
value (a malformed number, an unknown choice, an exotic spelling) goes to the adapter Typer would
have built, built only then, so results and error messages stay Typer's own.

`install()` wraps Typer's `build_runtime_param`; if Typer's internals move, it leaves Typer alone.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass, field
from typing import Any

_INT_CHARS = frozenset("0123456789")


def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, str):
        digits = value[1:] if value[:1] == "-" else value
        if digits and len(digits) < 19 and set(digits) <= _INT_CHARS:
            return int(value)
    return _MISS


def _float(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if isinstance(value, str) and _int(value) is not _MISS:
        return float(value)
    if isinstance(value, str) and value.count(".") == 1:
        whole, _, frac = value.partition(".")
        if _int(whole or "0") is not _MISS and (not frac or set(frac) <= _INT_CHARS) and (whole or frac):
            return float(value)
    return _MISS


def _str(value: Any) -> Any:
    return value if isinstance(value, str) else _MISS


def _bool(value: Any) -> Any:
    return value if isinstance(value, bool) else _MISS


_MISS = object()  # "not a plain value: ask Typer's own adapter"
_LEAF = {str: _str, int: _int, float: _float, bool: _bool}


def _enum(cls: type[enum.Enum]) -> Any:
    by_value = {m.value: m for m in cls if isinstance(m.value, str)}

    def coerce(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        return by_value.get(value, _MISS) if isinstance(value, str) else _MISS

    return coerce


def _ranged(leaf: Any, low: Any, high: Any) -> Any:
    """`leaf`, for a value within [low, high] (either None: open); any other goes to Typer (its clamp or error)."""

    def coerce(value: Any) -> Any:
        out = leaf(value)
        if out is _MISS or (low is not None and out < low) or (high is not None and out > high):
            return _MISS
        return out

    return coerce


def _leaf(annotation: Any, info: Any) -> Any:
    """The coercer of one plain annotation, or None where Typer must do it (parsers, paths...)."""
    if info.parser is not None:
        return None
    if info.min is not None or info.max is not None:  # a number within its range is plain too (`check -n`)
        return _ranged(_LEAF[annotation], info.min, info.max) if annotation in (int, float) else None
    if annotation in _LEAF:
        return _LEAF[annotation]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum) and info.case_sensitive:
        return _enum(annotation)
    return None


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def install() -> None:
    try:
        from typer import _coercion, core
    except ImportError:
        return
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or getattr(original, "_tokcli", False):
        return

    @dataclass(frozen=True)
    class PlainRuntimeParam(base):  # type: ignore[misc,valid-type]
        leaf: Any = None
        many: bool = False
        descriptor: Any = None
        _typer: list[Any] = field(default_factory=list)  # Typer's own runtime param, built on first need

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.many and isinstance(value, (list, tuple)):
                out = [self.leaf(v) for v in value]
                if not any(v is _MISS for v in out):
                    return out
            elif not self.many:
                out = self.leaf(value)
                if out is not _MISS:
                    return out
            if not self._typer:
                assert original is not None  # install() returned early otherwise
                self._typer.append(original(self.descriptor))
            return self._typer[0]._coerce_value(value, param=param, ctx=ctx)

    def build_runtime_param(descriptor: Any) -> Any:
        try:
            info = descriptor.parameter_info
            annotation = _strip_optional(descriptor.annotation)
            if descriptor.file_annotation is None:
                many = typing.get_origin(annotation) is list
                leaf = _leaf(typing.get_args(annotation)[0] if many else annotation, info)
                if leaf is not None:
                    return PlainRuntimeParam(
                        parameter_info=info,
                        annotation=descriptor.annotation,
                        leaf=leaf,
                        many=many,
                        descriptor=descriptor,
                    )
        except (AttributeError, IndexError, TypeError):
            pass
        return original(descriptor)

    build_runtime_param._tokcli = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param  # type: ignore[attr-defined]  # typer.core's own name, not re-exported
