"""Random-feature experiments: command configs and presets, and the sweeps of ``compare``.

* :class:`CompareConfig` (``solvable compare random-features``) and :class:`RunConfig`
  (``solvable run random-features``), each with the presets ``quick``, ``default`` and ``paper``;
* :func:`run_scaling_regimes` and :func:`run_flow_scaling`: the sweeps behind one ``(b, a)``
  setting of ``compare``, returning the per-seed losses (:class:`RegimeSweeps`,
  :class:`FlowSweeps`); :mod:`simulations.random_features.analysis` turns them into exponents;
* the builders and drivers of :mod:`simulations.random_features.sweeps`, re-exported
  (``build_ridge``, ``simulate_ridge``, ...).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path
from typing import Literal, NamedTuple, Self

import numpy as np

from simulations.random_features import limits as checks
from simulations.random_features.sweeps import (
    FEATURES,
    build_gradient_descent,
    build_nested_ridge,
    build_ridge,
    build_spectrum,
    simulate_gradient_descent,
    simulate_nested_ridge,
    simulate_ridge,
    simulate_spectrum,
)
from simulations.steps import geometric_sizes
from theory import random_features as rf_theory
from theory.checks import check_choice, check_float, check_int, check_interval

__all__ = [
    "DEFAULT",
    "FEATURES",
    "PARAM_NAMES",
    "QUICK",
    "CompareConfig",
    "FlowSweeps",
    "RegimeSweeps",
    "RunConfig",
    "build_gradient_descent",
    "build_nested_ridge",
    "build_ridge",
    "build_spectrum",
    "run_flow_scaling",
    "run_scaling_regimes",
    "setting_tag",
    "simulate_gradient_descent",
    "simulate_nested_ridge",
    "simulate_ridge",
    "simulate_spectrum",
]

PARAM_NAMES = ("b", "a", "n_latent", "n_features", "n_samples")
"""Parameter columns of ``comparison.csv`` (the swept resource is written ``swept``)."""


def _check_sizes(name: str, value, *, increasing: bool = True) -> tuple[int, ...]:
    sizes = tuple(value)
    ok = bool(sizes) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in sizes
    )
    if ok and increasing:
        ok = all(b > a for a, b in itertools.pairwise(sizes))
    if not ok:
        raise ValueError(f"{name} must be increasing integers >= 1, got {value!r}")
    return tuple(int(v) for v in sizes)


def _check_settings(settings, n_latent: int) -> None:
    if not settings:
        raise ValueError(f"settings must hold at least one (b, a) pair, got {settings!r}")
    for pair in settings:
        if len(pair) != 2:
            raise ValueError(f"settings must be (b, a) pairs with b > 1, a > 1, got {pair!r}")
        rf_theory.exponents(*pair)  # b > 1, a > 1
        checks.check_teacher_tilt(*pair, n_latent)


# --------------------------------------------------------------------------------------------
# solvable compare random-features
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """Sizes of ``solvable compare random-features`` (field defaults: the ``default`` preset).

    Presets (:meth:`preset`): ``quick`` (one setting, MRS α = 1, small sizes: well under a
    minute on 2 cores), ``default`` (α = 1 and α = 0.5 at M = 4096: ≈ 5 minutes on 2 idle cores)
    and ``paper`` (both settings at twice the latent dimension, wider size ranges and more seeds,
    closer to the asymptotic regime of the papers' figures; accelerator-scale: float64 solves of
    up to 8192 × 8192 systems, hours on a CPU).

    Attributes:
        settings: ``(b, a)`` pairs (MRS: ``a = b = 1 + α``); on the command line ``"2,2;1.5,3"``.
        n_latent: ``M`` of the ridge sweeps.
        big: the fixed large resource of the resolution-limited sweeps (``T`` when ``N`` is
            swept and vice versa); larger than every size in ``res_sizes``.
        res_sizes: swept resource of the resolution-limited sweeps (increasing).
        var_latent: ``M`` of the variance-limited sweeps (they need no large ``M``).
        var_small: the fixed small resource of the variance-limited sweeps.
        var_sizes: swept resource of the variance-limited sweeps (increasing, ``≥ 8 ×
            var_small`` for the ``1/n`` regime).
        var_seeds: seeds of the variance-limited sweeps (their signal is a small difference).
        seeds: seeds per resolution-limited configuration.
        gf_latent: ``M`` of the gradient-flow sweep (population, ``T = ∞``).
        gf_sizes: ``N`` of the gradient-flow sweep (compute-optimal frontier; increasing).
        gf_max_time: last time of the flow curves (``t = 1 … gf_max_time``, log-spaced).
        gf_checkpoints: number of times per curve.
        gf_window: ``(lo, hi)`` fit window in ``t`` for ``e_t`` (on the curve of the largest
            ``N``), chosen so that ``t^(1/b) ≪ N`` and ``t ≫ 1``.
        gf_seeds: seeds per ``N`` of the flow sweep.
        pad: compile the flow sweep once by zero-padding ``N`` (quick mode: compilation
            dominates); the ridge sweeps always use nested sizes (one compilation each).
        n_boot: bootstrap replicates.
    """

    settings: tuple[tuple[float, ...], ...] = ((2.0, 2.0), (1.5, 1.5))
    n_latent: int = 4096
    big: int = 4096
    res_sizes: tuple[int, ...] = geometric_sizes(32, 512)
    var_latent: int = 1024
    var_small: int = 32
    var_sizes: tuple[int, ...] = geometric_sizes(256, 4096, 2.0)
    var_seeds: int = 64
    seeds: int = 16
    gf_latent: int = 4096
    gf_sizes: tuple[int, ...] = geometric_sizes(16, 1024)
    gf_max_time: int = 10_000_000
    gf_checkpoints: int = 60
    gf_window: tuple[float, float] = (10.0, 10_000.0)
    gf_seeds: int = 8
    pad: bool = False
    n_boot: int = 1000

    @classmethod
    def preset(cls, name: str) -> Self:
        """The config of preset ``name``: ``"quick"``, ``"default"`` or ``"paper"``."""
        check_choice("preset", name, ("quick", "default", "paper"))
        if name == "quick":
            return cls(
                settings=((2.0, 2.0),),
                n_latent=512,
                big=1024,
                res_sizes=(16, 32, 64, 128),
                var_latent=256,
                var_small=16,
                var_sizes=(128, 256, 512, 1024),
                var_seeds=32,
                seeds=8,
                gf_latent=1024,
                gf_sizes=(16, 32, 64, 128, 256),
                gf_max_time=1_000_000,
                gf_checkpoints=40,
                gf_window=(3.0, 300.0),
                gf_seeds=8,
                pad=True,
                n_boot=400,
            )
        if name == "paper":
            return cls(
                n_latent=8192,
                big=8192,
                res_sizes=geometric_sizes(32, 1024),
                var_latent=2048,
                var_sizes=geometric_sizes(256, 8192, 2.0),
                var_seeds=128,
                seeds=32,
                gf_latent=8192,
                gf_sizes=geometric_sizes(16, 2048),
                gf_max_time=100_000_000,
                gf_checkpoints=80,
                gf_window=(10.0, 100_000.0),
                gf_seeds=16,
            )
        return cls()

    def validate(self) -> None:
        """Raise a one-line ``ValueError``/``TypeError`` naming the first bad field."""
        for name in ("n_latent", "big", "var_latent", "var_small", "gf_latent", "gf_max_time"):
            check_int(name, getattr(self, name), 1)
        _check_settings(self.settings, max(self.n_latent, self.var_latent, self.gf_latent))
        for name in ("seeds", "var_seeds", "gf_seeds", "gf_checkpoints"):
            check_int(name, getattr(self, name), 2)
        check_int("n_boot", self.n_boot, 1)
        res = _check_sizes("res_sizes", self.res_sizes)
        if res[-1] >= self.big:
            raise ValueError(f"res_sizes must stay below big = {self.big}, got {self.res_sizes!r}")
        var = _check_sizes("var_sizes", self.var_sizes)
        if var[0] <= self.var_small:
            raise ValueError(
                f"var_sizes must exceed var_small = {self.var_small}, got {self.var_sizes!r}"
            )
        _check_sizes("gf_sizes", self.gf_sizes)
        lo, hi = check_interval("gf_window", self.gf_window)
        if lo <= 0 or hi > self.gf_max_time:
            raise ValueError(
                f"gf_window must be (lo, hi) with 0 < lo < hi <= gf_max_time = "
                f"{self.gf_max_time}, got {self.gf_window!r}"
            )
        check_choice("pad", self.pad, (True, False))


QUICK = CompareConfig.preset("quick")
"""Quick mode: one setting (MRS α = 1), small sizes (well under a minute on 2 cores)."""

DEFAULT = CompareConfig.preset("default")
"""Default: MRS α = 1 and α = 0.5 at M = 4096 (≈ 5 minutes on 2 idle cores)."""


def setting_tag(b: float, a: float) -> str:
    """Label of one ``(b, a)`` setting, e.g. ``"b2-a2"`` (sweep names, figure titles)."""
    return f"b{b:g}-a{a:g}"


class RegimeSweeps(NamedTuple):
    """Per-seed losses of the four ridgeless sweeps of Bahri's regimes at one ``(b, a)``.

    Attributes:
        b, a: the setting.
        res_n: ``(seeds, len(res_sizes))`` test loss vs ``N`` at ``T = big`` (``M = n_latent``).
        res_t: the same vs ``T`` at ``N = big``.
        var_t: ``(var_seeds, len(var_sizes))`` test loss vs ``T`` at ``N = var_small``
            (``M = var_latent``); var_t_limit: the same seed's ``T = ∞`` loss.
        var_n: test loss vs ``N`` at ``T = var_small``; var_n_limit: the same seed's ``N = ∞``
            loss; var_n_control: its zero-mean control variate.
    """

    b: float
    a: float
    res_n: np.ndarray
    res_t: np.ndarray
    var_t: np.ndarray
    var_t_limit: np.ndarray
    var_n: np.ndarray
    var_n_limit: np.ndarray
    var_n_control: np.ndarray


def run_scaling_regimes(
    cfg: CompareConfig, b: float, a: float, store: Path | None = None, *, progress: bool = False
) -> RegimeSweeps:
    """The four nested-size ridgeless sweeps of Bahri's regimes at ``(b, a)`` (store resumable)."""
    tag = setting_tag(b, a)
    res = np.asarray(cfg.res_sizes)
    var = np.asarray(cfg.var_sizes)
    common = dict(b=b, a=a, seeds=cfg.seeds, store=store, progress=progress)
    m = cfg.n_latent
    r_n = simulate_nested_ridge(m, res, cfg.big, nested="features", name=f"res-N-{tag}", **common)
    r_t = simulate_nested_ridge(m, res, cfg.big, nested="samples", name=f"res-T-{tag}", **common)
    mv = cfg.var_latent
    common_v = {**common, "seeds": cfg.var_seeds}
    v_t = simulate_nested_ridge(
        mv, var, cfg.var_small, nested="samples", limits="samples", name=f"var-T-{tag}", **common_v
    )
    v_n = simulate_nested_ridge(
        mv,
        var,
        cfg.var_small,
        nested="features",
        limits="features",
        name=f"var-N-{tag}",
        **common_v,
    )
    return RegimeSweeps(
        b=b,
        a=a,
        res_n=r_n["test_loss"],
        res_t=r_t["test_loss"],
        var_t=v_t["test_loss"],
        var_t_limit=v_t["test_loss_inf_samples"],
        var_n=v_n["test_loss"],
        var_n_limit=v_n["test_loss_inf_features"],
        var_n_control=v_n["control_inf_features"],
    )


class FlowSweeps(NamedTuple):
    """Teacher-averaged population gradient-flow curves at one ``(b, a)``.

    Attributes:
        b, a: the setting.
        times: ``(n_t,)`` flow times. sizes: ``(n_sizes,)`` the ``N`` of ``gf_sizes``.
        test_loss_avg: ``(n_sizes, gf_seeds, n_t)`` teacher-averaged test loss.
    """

    b: float
    a: float
    times: np.ndarray
    sizes: np.ndarray
    test_loss_avg: np.ndarray


def run_flow_scaling(
    cfg: CompareConfig, b: float, a: float, store: Path | None = None, *, progress: bool = False
) -> FlowSweeps:
    """Population gradient flow at each ``N`` of ``cfg.gf_sizes`` (exact eigenbasis curves)."""
    sizes = np.asarray(cfg.gf_sizes)
    g = simulate_gradient_descent(
        cfg.gf_latent,
        sizes,
        math.inf,
        cfg.gf_max_time,
        b=b,
        a=a,
        n_checkpoints=cfg.gf_checkpoints,
        learning_rate=1.0,
        seeds=cfg.gf_seeds,
        method="eigen",
        flow=True,
        pad=cfg.pad,
        store=store,
        name=f"flow-{setting_tag(b, a)}",
        progress=progress,
    )
    return FlowSweeps(b, a, g["times"], sizes, g["test_loss_avg"])


# --------------------------------------------------------------------------------------------
# solvable run random-features
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One ridge configuration of ``solvable run random-features`` (defaults: ``default`` preset).

    Presets (:meth:`preset`): ``quick`` (M = 256, seconds), ``default`` (M = 1024) and ``paper``
    (M = 4096, N = 512, T = 1024, 32 seeds: a minute or two on a CPU).

    Attributes:
        b: capacity exponent ``b > 1`` (MRS: ``1 + α``).
        a: source exponent ``a > 1`` (None: ``a = b``, MRS's teacher).
        n_latent: latent dimension ``M``.
        n_features: random features ``N``.
        n_samples: training samples ``T``.
        ridge: ridge ``δ ≥ 0`` (kernel scale).
        noise: label-noise variance ``σ² ≥ 0``.
        features: feature map: ``linear`` (solvable), ``relu`` or ``tanh``.
        n_test: test samples for nonlinear features.
        seeds: independent draws of teacher, features and data.
    """

    b: float = 2.0
    a: float | None = None
    n_latent: int = 1024
    n_features: int = 128
    n_samples: int = 256
    ridge: float = 0.0
    noise: float = 0.0
    features: Literal["linear", "relu", "tanh"] = "linear"
    n_test: int = 4096
    seeds: int = 16

    @classmethod
    def preset(cls, name: str) -> Self:
        """The config of preset ``name``: ``"quick"``, ``"default"`` or ``"paper"``."""
        check_choice("preset", name, ("quick", "default", "paper"))
        if name == "quick":
            return cls(n_latent=256, n_features=32, n_samples=64, n_test=1024, seeds=4)
        if name == "paper":
            return cls(n_latent=4096, n_features=512, n_samples=1024, seeds=32)
        return cls()

    @property
    def source(self) -> float:
        """The source exponent ``a`` actually used (``b`` when ``a`` is None)."""
        return self.b if self.a is None else self.a

    def validate(self) -> None:
        """Raise a one-line ``ValueError``/``TypeError`` naming the first bad field."""
        check_float("b", self.b, low=1.0, strict=True)
        if self.a is not None:
            check_float("a", self.a, low=1.0, strict=True)
        for name in ("n_latent", "n_features", "n_samples", "n_test", "seeds"):
            check_int(name, getattr(self, name), 1)
        check_float("ridge", self.ridge, low=0.0)
        check_float("noise", self.noise, low=0.0)
        check_choice("features", self.features, FEATURES)
        checks.check_teacher_tilt(self.b, self.source, self.n_latent)
