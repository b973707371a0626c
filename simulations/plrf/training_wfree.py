"""W-free tables of the PLRF training-procedure studies (layer between :mod:`.training` and
:mod:`.sweeps`): final losses per (size, budget) under a schedule, loss curves per size under an
optimizer, long runs at one huge size for the time exponents, and the long DANA frontier.

Every function takes the study's :class:`~simulations.plrf.training.TrainingConfig` as
``config`` (its sizes, learning rate, run lengths) and uses the W-free spectrum of
:func:`theory.plrf.continuum_spectrum` (:data:`simulations.plrf.limits.FRONTIER_SPECTRUM`),
whose cost does not depend on ``d``.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from simulations.plrf import checks, limits
from theory import plrf as theory_plrf
from theory import plrf_longrun as longrun
from theory import plrf_training as T

__all__ = [
    "check_procedure",
    "long_frontier_tables",
    "wfree_budget_table",
    "wfree_curve_table",
    "wfree_spectrum",
    "wfree_time_curve",
]


def check_procedure(spec, gamma, procedure, n: int, batch: int = 1) -> None:
    """Raise ValueError if ``procedure`` (a schedule and an optimizer) is unstable on ``spec``
    at base learning rate ``gamma`` over ``n`` steps (SGD: at the schedule's peak; momentum: its
    frozen coefficients on a log grid of steps)."""
    m = procedure.schedule.values(n)
    if procedure.optimizer.kind == "sgd":
        T.check_schedule(spec, gamma, batch, m)
    else:
        T.check_momentum(spec, batch, procedure.optimizer.coefficients(gamma, m))


@functools.lru_cache(maxsize=256)
def wfree_spectrum(alpha, beta, d, v):
    """The W-free spectrum of :data:`simulations.plrf.limits.FRONTIER_SPECTRUM` (cached)."""
    return theory_plrf.continuum_spectrum(alpha, beta, d, v, **limits.FRONTIER_SPECTRUM)


@jax.jit
def _curves_at(spec, coeff_rows, steps):
    """``vmap`` over rows of ``(4, n)`` coefficients: the loss at ``steps`` of each."""
    fn = lambda c: T.momentum_loss_curve(spec, 1.0, *c)[steps]  # noqa: E731
    return jax.vmap(fn)(coeff_rows)


_loss_at = jax.jit(T.scheduled_loss_at)


def wfree_budget_table(config, procedure, alpha=None, beta=None):
    """Final loss of ``procedure`` on the W-free spectrum for every (size, budget): the schedule
    runs to each budget's last step. Returns ``(sizes, compute (n_s, n_b), loss (n_s, n_b))``;
    budgets ``f = d·r`` log-spaced over ``[d_min·100, d_max·r_max(d_max)]``, NaN outside a
    size's range ``[100, r_max(d)]`` steps."""
    a = config.alpha if alpha is None else alpha
    b = config.beta if beta is None else beta
    sizes = config.sizes()
    f_lo = sizes[0] * 100.0
    f_hi = sizes[-1] * config.steps(sizes[-1], config.horizon, a)
    budgets = np.geomspace(f_lo, f_hi, config.n_budgets * 2)
    loss = np.full((len(sizes), budgets.size), np.nan)
    with jax.enable_x64(True):
        for i, d in enumerate(sizes):
            r_max = config.steps(d, config.horizon, a)
            n_k = np.round(budgets / d).astype(np.int64)
            ok = (n_k >= 100) & (n_k <= r_max)
            if not ok.any():
                continue
            n_max = int(n_k[ok].max())
            spec = wfree_spectrum(a, b, d, config.v(d))
            gamma = config.gamma(d, a) * config.lr_factor(procedure.optimizer)
            check_procedure(spec, gamma, procedure, n_max)
            spec_j = theory_plrf.Spectrum(*(jnp.asarray(np.asarray(x, np.float64)) for x in spec))

            def padded(n, n_max=n_max):
                m = np.zeros(n_max)
                m[:n] = procedure.schedule.values(int(n))
                return procedure.optimizer.coefficients(gamma, m)

            if procedure.optimizer.kind == "sgd":  # one budget at a time, each its own steps
                final = [_loss_at(spec_j, jnp.asarray(padded(n)[1]), 1.0, int(n)) for n in n_k[ok]]
            else:
                rows = jnp.asarray(np.stack([np.stack(padded(n)) for n in n_k[ok]]))
                final = _curves_at(spec_j, rows, jnp.asarray([n_max]))[:, 0]
            loss[i, ok] = np.asarray(final)
    compute = np.broadcast_to(budgets, loss.shape)
    return np.asarray(sizes, np.float64), np.where(np.isfinite(loss), compute, np.nan), loss


def wfree_curve_table(config, optimizer: T.Optimizer, alpha=None, beta=None):
    """Loss curves (constant schedule) of ``optimizer`` on the W-free spectrum of every size:
    ``(sizes, compute (n_s, K), loss (n_s, K))`` at log-spaced steps up to ``r_max(d)``. Sizes
    whose run would exceed ``config.max_curve_steps`` steps are left out (at α = 1 the run
    length grows as d²)."""
    a = config.alpha if alpha is None else alpha
    b = config.beta if beta is None else beta
    sizes = tuple(
        d for d in config.sizes() if config.steps(d, config.horizon, a) <= config.max_curve_steps
    )
    if len(sizes) < 4:
        raise ValueError(
            f"max_curve_steps={config.max_curve_steps} leaves {len(sizes)} sizes at alpha={a}; "
            "need >= 4: raise it or lower wfree_sizes"
        )
    K = 60
    loss = np.full((len(sizes), K), np.nan)
    compute = np.full((len(sizes), K), np.nan)
    with jax.enable_x64(True):
        for i, d in enumerate(sizes):
            n = config.steps(d, config.horizon, a)
            steps = checks.log_checkpoints(n, K)[1:]
            spec = wfree_spectrum(a, b, d, config.v(d))
            gamma = config.gamma(d, a) * config.lr_factor(optimizer)
            coeffs = optimizer.coefficients(gamma, np.ones(n))
            if optimizer.kind != "sgd":
                T.check_momentum(spec, 1, coeffs)
            spec_j = theory_plrf.Spectrum(*(jnp.asarray(np.asarray(x, np.float64)) for x in spec))
            row = np.asarray(_curves_at(spec_j, jnp.asarray(np.stack(coeffs))[None], steps))[0]
            loss[i, : steps.size] = row
            compute[i, : steps.size] = d * steps
    return np.asarray(sizes, np.float64), compute, loss


def wfree_time_curve(config, optimizer: T.Optimizer, alpha, beta):
    """``(steps, P(steps) − P*)`` of ``optimizer`` on the W-free spectrum at
    ``d = 2^time_log2_d`` up to ``time_steps``, 20 checkpoints per decade
    (:func:`theory.plrf_longrun.momentum_loss_at`: memory independent of the run length)."""
    d = round(2.0**config.time_log2_d)
    spec = wfree_spectrum(alpha, beta, d, config.v(d))
    n = config.time_steps
    steps = np.unique(np.round(np.geomspace(1, n, int(20 * math.log10(n)) + 1)).astype(np.int64))
    gamma = config.gamma(d, alpha) * config.lr_factor(optimizer)
    loss = longrun.momentum_loss_at(spec, gamma, steps, optimizer)
    return steps, loss - float(spec.p_star)


def long_frontier_tables(config, alpha, beta) -> dict[str, tuple[np.ndarray, ...]]:
    """IsoFLOP tables ``{"sgd": …, "dana": …}`` (each ``(sizes, compute, loss)``) over
    ``config.dana_sizes`` (two per octave), sizes far beyond those of the other tables.

    SGD: :func:`simulations.plrf.limits.wfree_curves` (the Volterra solution, any ``d``, runs to
    ``horizon·d^(2α)/γ``). DANA-decaying: :func:`theory.plrf_longrun.momentum_loss_at` to
    ``n(d) = min(horizon·(d^(2α)/γ)^(1/k), dana_max_steps)`` steps, ``k`` =
    :func:`theory.plrf_longrun.dana_time_power`: the relaxation time of the smallest eigenvalue
    in DANA's accelerated time. Sizes cut short by the cap are kept: a budget counts only where
    the sizes on both sides of its optimum have data (the frontier's interior rule), so a cut
    run can hide a budget but not bias one.
    """
    sizes = limits.size_ladder(*config.dana_sizes, 2)  # two per octave: the runs are long
    sgd = limits.wfree_curves(alpha, beta, sizes, v_ratio=config.v_ratio,
                              lr_scale=config.lr_scale, horizon=config.horizon)  # fmt: skip
    opt = config.optimizers(alpha, beta)["dana"]
    k = longrun.dana_time_power(alpha)
    K = 100
    loss = np.full((len(sizes), K), np.nan)
    compute = np.full((len(sizes), K), np.nan)
    for i, d in enumerate(sizes):
        gamma = config.gamma(d, alpha)
        n = int(min(config.horizon * (d ** (2 * alpha) / gamma) ** (1 / k), config.dana_max_steps))
        steps = np.unique(np.geomspace(1, max(n, 100), K).astype(np.int64))
        spec = wfree_spectrum(alpha, beta, d, config.v(d))
        loss[i, : steps.size] = longrun.momentum_loss_at(spec, gamma, steps, opt)
        compute[i, : steps.size] = d * steps
    sgd_compute = np.where(sgd.compute > 0, sgd.compute, np.nan)
    return {
        "sgd": (np.asarray(sgd.sizes, np.float64), sgd_compute, sgd.loss),
        "dana": (np.asarray(sizes, np.float64), compute, loss),
    }
