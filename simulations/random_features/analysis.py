"""Random-feature measurements: sweep results -> exponents -> comparison rows (runs nothing).

:func:`measure_scaling_regimes` turns the sweeps of Bahri et al.'s four regimes
(:class:`~simulations.random_features.experiment.RegimeSweeps`) into four comparison rows,
:func:`measure_flow_scaling` the gradient-flow curves
(:class:`~simulations.random_features.experiment.FlowSweeps`) into ``e_t`` and the
compute-optimal exponents. Each measured exponent (seed bootstrap) is set beside the theory
evaluated at the *same finite sizes* (``predicted``); the asymptotic exponent is the
``asymptote`` column. Both return typed results holding the rows and the curves that figures
draw (:class:`ScalingRegimes`, :class:`FlowScaling`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from simulations import compare, fit
from simulations.random_features.experiment import (
    CompareConfig,
    FlowSweeps,
    RegimeSweeps,
    RunConfig,
)
from theory import random_features as rf_theory

__all__ = [
    "FlowScaling",
    "RegimeCurve",
    "RunSummary",
    "ScalingRegimes",
    "bootstrap_mean_power_law",
    "drop_diverged",
    "flow_theory",
    "measure_flow_scaling",
    "measure_scaling_regimes",
    "summarize_run",
]


def bootstrap_mean_power_law(x, ys, *, n_boot: int, seed: int = 0) -> fit.PowerLawFit:
    """Power-law exponent of the seed mean of *signed* per-seed values, seed-bootstrap interval.

    :func:`simulations.fit.bootstrap_power_law` drops non-positive values seed by seed, which
    biases a mean whose per-seed terms fluctuate around a small positive value (the
    variance-limited excess ``E(N, T) − E(∞, T)``); here the mean is taken first, then fitted.
    Replicates whose mean is not positive everywhere are skipped (counted in ``method``).
    """
    x = np.asarray(x, dtype=np.float64)
    point = fit.fit_power_law(x, np.nanmean(ys, axis=0))
    rng = np.random.default_rng(seed)
    n_seeds = ys.shape[0]
    means = np.nanmean(ys[rng.integers(0, n_seeds, size=(n_boot, n_seeds))], axis=1)
    ok = (means > 0).all(axis=1)
    lx = np.log(x) - np.log(x).mean()
    slopes = (np.log(means[ok]) @ lx) / (lx @ lx)
    lo, hi = np.percentile(-slopes, [2.5, 97.5]) if ok.sum() > 1 else (np.nan, np.nan)
    return dataclasses.replace(
        point,
        ci_low=float(lo),
        ci_high=float(hi),
        n_boot=int(ok.sum()),
        method=f"bootstrap-seeds(mean of signed values, {n_boot - ok.sum()} skipped), percentile",
    )


def _theory_fit(x, y, window=None) -> float:
    return fit.fit_power_law(np.asarray(x, float), np.asarray(y, float), window=window).exponent


def drop_diverged(ys: np.ndarray) -> tuple[np.ndarray, int]:
    """``(ys without diverged seeds, how many were dropped)``.

    The drivers return a diverged run (non-finite, or past
    :func:`~simulations.random_features.limits.train_loss_blowup`) as NaN
    (:func:`simulations.results.mask_diverged`), so a seed is diverged when any of its values
    along the trailing axes is NaN; it never enters a fit.
    """
    ys = np.asarray(ys, dtype=np.float64)
    bad = np.isnan(ys.reshape(ys.shape[0], -1)).any(axis=1)
    return ys[~bad], int(bad.sum())


def _flagged(note: str, n_diverged: int) -> str:
    if not n_diverged:
        return note
    return f"{note}; {n_diverged} diverged run(s): their seeds left out of the fit"


def _no_fit(x, why: str) -> fit.PowerLawFit:
    """A fit refused for lack of converged seeds: NaN exponent and interval."""
    x = np.asarray(x, dtype=np.float64)
    nan = math.nan
    return fit.PowerLawFit(
        nan, nan, nan, nan, nan, (float(x.min()), float(x.max())), 0, 0, f"no fit: {why}"
    )


class RegimeCurve(NamedTuple):
    """One measured size curve beside the theory at the same sizes.

    Attributes:
        quantity: ``"e_N"``, ``"e_T"``, ``"variance exponent in T"`` or ``"variance exponent in
            N"``. x: ``(n,)`` swept sizes. sim: ``(seeds, n)`` per-seed values. theory: ``(n,)``.
        fit: the measured power-law fit (seed bootstrap).
    """

    quantity: str
    x: np.ndarray
    sim: np.ndarray
    theory: np.ndarray
    fit: fit.PowerLawFit


class ScalingRegimes(NamedTuple):
    """Bahri et al.'s four regimes at one ``(b, a)``: rows and curves, in the same order."""

    b: float
    a: float
    rows: tuple[compare.ComparisonRow, ...]
    curves: tuple[RegimeCurve, ...]


def measure_scaling_regimes(cfg: CompareConfig, data: RegimeSweeps) -> ScalingRegimes:
    """Bahri et al.'s four regimes at one ``(b, a)``: four comparison rows with their curves.

    Resolution-limited ``e_N`` (``N < T = cfg.big``) and ``e_T`` (``T < N = cfg.big``), and the
    variance-limited exponents in ``T`` (``T ≫ N = cfg.var_small``) and ``N``
    (``N ≫ T = cfg.var_small``) of the loss minus the same seed's limit of the unlimited
    resource, each measured (seed bootstrap) and predicted by
    :func:`theory.random_features.ridge_loss` at the same sizes.
    """
    b, a = data.b, data.a
    ex = rf_theory.exponents(b, a)
    res = np.asarray(cfg.res_sizes)
    var = np.asarray(cfg.var_sizes)
    rows, curves = [], []

    def add(phase, quantity, sizes, x, ys, theory, asymptote, note, signed=False):
        """One row; ``sizes`` = ``(n_latent, n_features, n_samples)``, one of them "swept"."""
        kept, n_diverged = drop_diverged(ys)
        if len(kept) < 2:
            fitted = _no_fit(x, f"{n_diverged} of {ys.shape[0]} seeds diverged")
        elif signed:
            fitted = bootstrap_mean_power_law(x, kept, n_boot=cfg.n_boot)
        else:
            fitted = fit.bootstrap_power_law(x, kept, n_boot=cfg.n_boot, seed=0)
        curves.append(RegimeCurve(quantity, x, ys, np.asarray(theory), fitted))
        params = dict(zip(("b", "a", "n_latent", "n_features", "n_samples"), (b, a, *sizes)))
        rows.append(
            compare.ComparisonRow.from_fit(
                params,
                phase,
                quantity,
                _theory_fit(x, theory),
                fitted,
                asymptote=f"{asymptote:.4g}",
                seeds=str(ys.shape[0]),
                note=_flagged(note, n_diverged),
                n_diverged=str(n_diverged),
            )
        )

    # resolution-limited in N (N < T = big) and in T (T < N = big)
    m, big = cfg.n_latent, cfg.big
    lam, v2 = rf_theory.latent_spectrum(m, b), rf_theory.target_power(m, a)
    th = [rf_theory.ridge_loss(lam, v2, n, big) for n in res]
    note = "ridgeless; predicted = theory at the same N, T, M"
    add(
        "resolution-limited (N < T)", "e_N", (m, "swept", big), res, data.res_n, th, ex["e_N"], note
    )
    th = [rf_theory.ridge_loss(lam, v2, big, t) for t in res]
    note = "ridgeless; asymptote e_P = min(a-1, 2b)"
    add(
        "resolution-limited (T < N)", "e_T", (m, big, "swept"), res, data.res_t, th, ex["e_P"], note
    )
    # variance-limited: loss minus the same seed's limit of the unlimited resource
    mv, small = cfg.var_latent, cfg.var_small
    lam_v, v2_v = rf_theory.latent_spectrum(mv, b), rf_theory.target_power(mv, a)
    ys = data.var_t - data.var_t_limit
    lim = rf_theory.ridge_loss(lam_v, v2_v, small, math.inf)
    th = [rf_theory.ridge_loss(lam_v, v2_v, small, t) - lim for t in var]
    note = "E(N,T) - E(N,inf) per seed (same features)"
    add(
        "variance-limited (T >> N)",
        "variance exponent in T",
        (mv, small, "swept"),
        var,
        ys,
        th,
        1.0,
        note,
    )
    ys = data.var_n - data.var_n_limit - data.var_n_control
    lim = rf_theory.ridge_loss(lam_v, v2_v, math.inf, small)
    th = [rf_theory.ridge_loss(lam_v, v2_v, n, small) - lim for n in var]
    note = "E(N,T) - E(inf,T) per seed (same data), minus a zero-mean control variate"
    add(
        "variance-limited (N >> T)",
        "variance exponent in N",
        (mv, "swept", small),
        var,
        ys,
        th,
        1.0,
        note,
        signed=True,
    )
    return ScalingRegimes(b, a, tuple(rows), tuple(curves))


class FlowScaling(NamedTuple):
    """Population gradient flow at one ``(b, a)``: curves, frontiers, fits and four rows.

    Attributes:
        b, a: the setting. rows: ``e_t``, ``compute_N``, ``compute_t``, ``compute_loss``.
        times: ``(n_t,)``. sizes: ``(n_sizes,)`` the ``N``. compute: ``(n_sizes, n_t)`` ``C = N t``.
        sim: ``(seeds, n_sizes, n_t)`` teacher-averaged test loss.
        theory: ``(n_sizes, n_t)`` :func:`theory.random_features.gradient_flow_loss`.
        e_t_fit: fit of ``e_t`` on the largest ``N`` over ``gf_window``.
        size_fit, loss_fit: bootstrap fits of ``N* ∝ C^…`` and ``E* ∝ C^…`` (simulated frontier).
        theory_frontier: the theory's compute-optimal frontier.
        sim_frontier: the frontier of the seed-mean simulated curves.
    """

    b: float
    a: float
    rows: tuple[compare.ComparisonRow, ...]
    times: np.ndarray
    sizes: np.ndarray
    compute: np.ndarray
    sim: np.ndarray
    theory: np.ndarray
    e_t_fit: fit.PowerLawFit
    size_fit: fit.PowerLawFit
    loss_fit: fit.PowerLawFit
    theory_frontier: fit.Frontier
    sim_frontier: fit.Frontier


def flow_theory(cfg: CompareConfig, data: FlowSweeps) -> np.ndarray:
    """:func:`theory.random_features.gradient_flow_loss` (test, ``T = ∞``, ``M = gf_latent``) at
    the sizes and times of ``data``: ``(n_sizes, n_t)``."""
    lam = rf_theory.latent_spectrum(cfg.gf_latent, data.b)
    v2 = rf_theory.target_power(cfg.gf_latent, data.a)
    return np.stack(
        [
            rf_theory.gradient_flow_loss(lam, v2, int(n), math.inf, data.times).test
            for n in data.sizes
        ]
    )


def measure_flow_scaling(
    cfg: CompareConfig, data: FlowSweeps, *, theory: np.ndarray | None = None
) -> FlowScaling:
    """``e_t`` and the compute-optimal exponents of population gradient flow: four rows.

    Flow curves (teacher-averaged, ``cfg.gf_seeds`` seeds) at each ``N`` of ``cfg.gf_sizes``
    beside :func:`theory.random_features.gradient_flow_loss` at the same sizes and times
    (:func:`flow_theory`; pass ``theory`` if already evaluated); ``e_t`` is fitted on the
    largest ``N`` over ``cfg.gf_window``, the frontier over ``C = N t``.
    """
    b, a = data.b, data.a
    m = cfg.gf_latent
    ex = rf_theory.exponents(b, a)
    sizes, times = data.sizes, data.times
    losses = np.transpose(data.test_loss_avg, (1, 0, 2))  # (seeds, sizes, times)
    theory = flow_theory(cfg, data) if theory is None else np.asarray(theory)
    params = dict(b=b, a=a, n_latent=m)
    seeds = str(losses.shape[0])
    # diverged runs (NaN) never enter a fit: e_t uses the seeds converged at the largest N, the
    # frontier the seeds converged at every N
    largest, n_div_largest = drop_diverged(losses[:, -1, :])
    if len(largest) < 2:
        fitted = _no_fit(times, f"{n_div_largest} of {losses.shape[0]} seeds diverged")
    else:
        fitted = fit.bootstrap_power_law(
            times, largest, window=cfg.gf_window, n_boot=cfg.n_boot, seed=0
        )
    rows = [
        compare.ComparisonRow.from_fit(
            {**params, "n_features": int(sizes[-1]), "n_samples": "inf"},
            "gradient flow (T = inf, t^(1/b) << N)",
            "e_t",
            _theory_fit(times, theory[-1], cfg.gf_window),
            fitted,
            asymptote=f"{ex['e_t']:.4g}",
            seeds=seeds,
            note=_flagged("predicted = BAP theory at the same N, M, window", n_div_largest),
            n_diverged=str(n_div_largest),
        )
    ]
    compute = sizes[:, None] * times[None, :]
    converged, _ = drop_diverged(losses)
    n_div_runs = int(np.isnan(losses).any(axis=2).sum())  # (seed, N) runs
    if len(converged) < 2:
        size_fit = loss_fit = _no_fit(compute, f"{n_div_runs} runs diverged")
    else:
        size_fit, loss_fit = fit.bootstrap_frontier(
            sizes, compute, converged, n_boot=min(cfg.n_boot, 200), seed=0
        )
    th_front = fit.compute_optimal_frontier(sizes, compute, theory)
    th_size, th_loss = fit.fit_frontier(th_front)
    front_params = {**params, "n_features": "swept", "n_samples": "inf"}
    extras = dict(
        window=f"{size_fit.window[0]:.3g}:{size_fit.window[1]:.3g}",
        seeds=seeds,
        note=_flagged(
            "C = N t; frontier over interior budgets; predicted = BAP theory, same sizes",
            n_div_runs,
        ),
    )
    # signed powers of C: N* ∝ C^compute_N, t* = C/N* ∝ C^(1 − compute_N), E* ∝ C^compute_loss
    s, sl = size_fit, loss_fit
    frontier = {  # quantity: (predicted, measured, ci_low, ci_high)
        "compute_N": (th_size.exponent, s.exponent, s.ci_low, s.ci_high),
        "compute_t": (1 - th_size.exponent, 1 - s.exponent, 1 - s.ci_high, 1 - s.ci_low),
        "compute_loss": (-th_loss.exponent, -sl.exponent, -sl.ci_high, -sl.ci_low),
    }
    for quantity, (pred, meas, lo, hi) in frontier.items():
        rows.append(
            compare.ComparisonRow(
                params=front_params,
                phase="compute-optimal (T = inf)",
                quantity=quantity,
                predicted=pred,
                measured=meas,
                ci_low=lo,
                ci_high=hi,
                extras=dict(
                    window=extras["window"],
                    asymptote=f"{ex[quantity]:.4g}",
                    seeds=extras["seeds"],
                    note=extras["note"],
                    n_diverged=str(n_div_runs),
                ),
            )
        )
    sim_front = fit.compute_optimal_frontier(
        sizes, compute, np.nanmean(converged if len(converged) else losses, axis=0)
    )
    return FlowScaling(
        b,
        a,
        tuple(rows),
        times,
        sizes,
        compute,
        losses,
        theory,
        fitted,
        size_fit,
        loss_fit,
        th_front,
        sim_front,
    )


class RunSummary(NamedTuple):
    """Mean ± standard error over seeds of one ridge configuration, beside the theory.

    Attributes:
        test_mean, test_se, train_mean, train_se: simulated losses.
        theory_test, theory_train: the deterministic equivalent (NaN for nonlinear features).
        seeds: number of seeds. n_diverged: seeds left out because their run diverged.
    """

    test_mean: float
    test_se: float
    train_mean: float
    train_se: float
    theory_test: float
    theory_train: float
    seeds: int
    n_diverged: int = 0


def summarize_run(config: RunConfig, result: dict[str, np.ndarray]) -> RunSummary:
    """Seed means of a :func:`~simulations.random_features.experiment.simulate_ridge` result
    (one ``N``, ``T``, ridge) and the deterministic equivalent (linear features)."""
    test = result["test_loss"][0, 0, 0]
    train = result["train_loss"][0, 0, 0]
    n_diverged = int(np.asarray(result["diverged"][0, 0, 0]).sum())
    se = math.sqrt(max(config.seeds - n_diverged, 1))
    th_test = th_train = math.nan
    if config.features == "linear":
        sol = rf_theory.ridge_solution(
            rf_theory.latent_spectrum(config.n_latent, config.b),
            rf_theory.target_power(config.n_latent, config.source),
            config.n_features,
            config.n_samples,
            config.ridge,
            config.noise,
        )
        th_test, th_train = sol.test_loss, sol.train_loss
    return RunSummary(
        float(np.nanmean(test)),
        float(np.nanstd(test) / se),
        float(np.nanmean(train)),
        float(np.nanstd(train) / se),
        th_test,
        th_train,
        config.seeds,
        n_diverged,
    )
