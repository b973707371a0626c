"""Argument checks shared by every module (theory, simulators, commands): one copy.

Each check raises a one-line ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind,
outside the valid range) that names the parameter, its value and the valid range, *before* any
tracing or compilation, e.g. ``ValueError("alpha must be > 0, got -1.0")``. Each returns the
value converted to a plain Python type, so callers write ``d = check_int("d", d, 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np

__all__ = [
    "check_choice",
    "check_float",
    "check_int",
    "check_interval",
    "check_size",
]


def check_int(name: str, value: Any, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]`` (bools and floats are refused)."""
    rng = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer {rng}, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    strict: bool = False,
    allow_inf: bool = False,
) -> float:
    """``value`` as a finite ``float`` with ``low <= value <= high`` (``<`` when ``strict``).

    ``allow_inf`` admits ``+inf``/``-inf`` (still checked against the bounds); NaN never passes.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}")
    op_lo, op_hi = (">", "<") if strict else (">=", "<=")
    if low is not None and (x <= low if strict else x < low):
        raise ValueError(f"{name} must be {op_lo} {low:g}, got {value!r}")
    if high is not None and (x >= high if strict else x > high):
        raise ValueError(f"{name} must be {op_hi} {high:g}, got {value!r}")
    return x


def check_size(name: str, value: Any, *, allow_inf: bool = True) -> float:
    """A size (number of samples, features, ...) in ``(0, inf]`` (or ``(0, inf)``) as a float."""
    rng = "(0, inf]" if allow_inf else "(0, inf)"
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number in {rng}, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in {rng}, got {value!r}") from None
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    return v


def check_choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_interval(name: str, value: Any) -> tuple[float, float]:
    """A pair ``(lo, hi)`` of finite reals with ``lo < hi``."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lo, hi) of reals, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be finite with lo < hi, got {value!r}")
    return lo, hi
