"""Learning-rate schedules as per-step multipliers of a base learning rate (numpy float64).

A schedule ``s`` gives the multipliers ``m_r = s.values(num_steps)[r]`` of step ``r = 0 ..
num_steps − 1``: step ``r`` of SGD uses the learning rate ``γ_r = γ · m_r``. Multipliers are finite
and ``>= 0``; the peak ``max_r m_r`` is what a stability check must see (see
:func:`theory.plrf_training.check_schedule`). Every schedule depends on the horizon
``num_steps`` (the decay ends at the last step), as in Bordelon & Mori (arXiv 2602.04774) and
Li et al., "Functional Scaling Laws" (arXiv 2509.19189), whose schedule families these are:

* :class:`Constant` ``m_r = 1``;
* :class:`Cosine` ``m_r = f + (1 − f)(1 + cos(π u))/2``, ``u = r/(n − 1)`` (``f`` = ``final``);
* :class:`LinearDecay` ``m_r = 1 − (1 − f) u``;
* :class:`PowerDecay` ``m_r = (1 + r/r₀)^(−p)`` (``p`` = ``exponent``, ``r₀`` = ``timescale``);
* :class:`WSD` warmup–stable–decay: linear warmup over ``warmup`` steps, constant 1, then a
  decay over the last ``decay_fraction · n`` steps to ``final`` (``shape`` linear, cosine or
  ``1 − sqrt``);
* :class:`Optax` any ``optax`` schedule (a callable of the step count), read as multipliers.

Each class validates its parameters at construction (one-line ``ValueError``/``TypeError`` naming
the parameter, its value and the valid range).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from theory.checks import check_choice, check_float, check_int

__all__ = [
    "WSD",
    "Constant",
    "Cosine",
    "LinearDecay",
    "Optax",
    "PowerDecay",
    "Schedule",
    "as_multipliers",
]


def _unit_time(num_steps: int) -> np.ndarray:
    """``u = r/(n − 1)`` in ``[0, 1]`` for ``r = 0..n−1`` (``[0]`` when ``n = 1``)."""
    if num_steps == 1:
        return np.zeros(1)
    return np.arange(num_steps, dtype=np.float64) / (num_steps - 1)


def _check_final(final) -> float:
    return check_float("final", final, low=0.0, high=1.0)


class Schedule:
    """Base class: ``values(num_steps)`` returns the float64 multipliers (checked)."""

    name = "schedule"

    def _values(self, num_steps: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def values(self, num_steps: int) -> np.ndarray:
        """The ``(num_steps,)`` float64 multipliers ``m_r`` (finite, ``>= 0``)."""
        num_steps = check_int("num_steps", num_steps, 1)
        m = np.asarray(self._values(num_steps), dtype=np.float64)
        if m.shape != (num_steps,):
            raise ValueError(
                f"{self.name}: multipliers must have shape ({num_steps},), got {m.shape}"
            )
        if not np.all(np.isfinite(m)):
            raise ValueError(f"{self.name}: multipliers must be finite, got a non-finite value")
        if np.any(m < 0.0):
            raise ValueError(f"{self.name}: multipliers must be >= 0, got min {m.min():.6g}")
        return m

    def label(self) -> str:
        """A short label for tables and legends."""
        return self.name


@dataclasses.dataclass(frozen=True)
class Constant(Schedule):
    """``m_r = 1`` (plain SGD)."""

    name = "constant"

    def _values(self, num_steps: int) -> np.ndarray:
        return np.ones(num_steps)


@dataclasses.dataclass(frozen=True)
class Cosine(Schedule):
    """Cosine decay from 1 to ``final`` over the horizon (after ``warmup`` linear steps)."""

    final: float = 0.0
    warmup: int = 0
    name = "cosine"

    def __post_init__(self):
        _check_final(self.final)
        check_int("warmup", self.warmup, 0)

    def _values(self, num_steps: int) -> np.ndarray:
        w = min(self.warmup, num_steps - 1)
        u = _unit_time(num_steps - w)
        decay = self.final + (1.0 - self.final) * 0.5 * (1.0 + np.cos(math.pi * u))
        return np.concatenate([(np.arange(w) + 1.0) / (w + 1.0), decay])


@dataclasses.dataclass(frozen=True)
class LinearDecay(Schedule):
    """Linear decay from 1 to ``final`` over the horizon."""

    final: float = 0.0
    name = "linear"

    def __post_init__(self):
        _check_final(self.final)

    def _values(self, num_steps: int) -> np.ndarray:
        return 1.0 - (1.0 - self.final) * _unit_time(num_steps)


@dataclasses.dataclass(frozen=True)
class PowerDecay(Schedule):
    """``m_r = (1 + r/r₀)^(−p)``: ``exponent`` ``p >= 0``, ``timescale`` ``r₀ > 0`` (steps)."""

    exponent: float = 0.5
    timescale: float = 1.0
    name = "power"

    def __post_init__(self):
        check_float("exponent", self.exponent, low=0.0, high=4.0)
        check_float("timescale", self.timescale, low=0.0, strict=True)

    def _values(self, num_steps: int) -> np.ndarray:
        r = np.arange(num_steps, dtype=np.float64)
        return np.exp(-self.exponent * np.log1p(r / self.timescale))

    def label(self) -> str:
        return f"power p={self.exponent:g}"


_WSD_SHAPES = ("linear", "cosine", "sqrt")


@dataclasses.dataclass(frozen=True)
class WSD(Schedule):
    """Warmup–stable–decay: ``warmup`` linear steps, 1, then a decay to ``final`` over the last
    ``decay_fraction`` of the horizon (``shape``: linear, cosine, or ``1 − sqrt``)."""

    decay_fraction: float = 0.2
    final: float = 0.0
    warmup: int = 0
    shape: str = "linear"
    name = "wsd"

    def __post_init__(self):
        check_float("decay_fraction", self.decay_fraction, low=0.0, high=1.0)
        _check_final(self.final)
        check_int("warmup", self.warmup, 0)
        check_choice("shape", self.shape, _WSD_SHAPES)

    def _values(self, num_steps: int) -> np.ndarray:
        m = np.ones(num_steps)
        w = min(self.warmup, num_steps)
        m[:w] = (np.arange(w) + 1.0) / (w + 1.0)
        n_decay = min(num_steps - w, round(self.decay_fraction * num_steps))
        if n_decay > 0:
            u = (np.arange(n_decay) + 1.0) / n_decay  # ends exactly at `final`
            if self.shape == "linear":
                g = 1.0 - u
            elif self.shape == "cosine":
                g = 0.5 * (1.0 + np.cos(math.pi * u))
            else:
                g = 1.0 - np.sqrt(u)
            m[num_steps - n_decay :] = self.final + (1.0 - self.final) * g
        return m

    def label(self) -> str:
        return f"wsd {self.decay_fraction:g}"


@dataclasses.dataclass(frozen=True)
class Optax(Schedule):
    """Any ``optax`` schedule (``step -> value``), its values read as multipliers of ``γ``.

    ``fn`` is called once on ``np.arange(num_steps)`` (optax schedules are vectorised); build it
    with peak 1 (e.g. ``optax.warmup_cosine_decay_schedule(0.0, 1.0, 100, n)``) so the base
    learning rate keeps its meaning.
    """

    fn: Callable = dataclasses.field(default=None, compare=False)
    name = "optax"

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"fn must be a callable schedule (step -> value), got {self.fn!r}")

    def _values(self, num_steps: int) -> np.ndarray:
        return np.asarray(self.fn(np.arange(num_steps)), dtype=np.float64).reshape(num_steps)


def as_multipliers(schedule, num_steps: int) -> np.ndarray:
    """Multipliers of a :class:`Schedule`, or of an array given directly (checked alike)."""
    if isinstance(schedule, Schedule):
        return schedule.values(num_steps)
    num_steps = check_int("num_steps", num_steps, 1)
    if callable(schedule):
        return Optax(schedule).values(num_steps)
    m = np.asarray(schedule, dtype=np.float64)
    if m.shape != (num_steps,):
        raise ValueError(f"schedule must have shape ({num_steps},), got {m.shape}")
    if not np.all(np.isfinite(m)) or np.any(m < 0.0):
        raise ValueError("schedule multipliers must be finite and >= 0")
    return m
