"""PLRF training procedures: cost of schedules and momentum relative to the constant-step path.

Usage: ``python benchmarks/plrf_training.py [--json PATH] [--quick]``

Ratios (time of the constant-step path / time of the variant; 1 = as fast, < 1 = slower):

* ``curves_schedule_realised`` / ``curves_schedule_wfree``: expected-loss curves per second of
  :func:`theory.plrf_training.scheduled_loss_curve` (per-step γ_r, WSD) over
  :func:`theory.plrf.expected_loss_curve_exact` (constant γ), every step of ``n`` steps, on a
  realised spectrum (d modes) and on the W-free spectrum (:func:`theory.plrf.continuum_spectrum`,
  the frontier options of :mod:`simulations.plrf.limits`);
* ``curves_momentum_realised`` / ``curves_momentum_wfree``: the same for
  :func:`theory.plrf_training.momentum_loss_curve` (heavy ball; three second moments per mode);
* ``curves_longrun_realised`` / ``curves_longrun_wfree``: DANA-decaying by
  :func:`theory.plrf_longrun.momentum_loss_at` (coefficients computed in the loop, 20 checkpoints,
  stability check included) over :func:`theory.plrf_training.momentum_loss_curve` (coefficient
  arrays in, every step out): the price of memory independent of the run length (the array path
  holds ``40·n`` bytes: 4 GB at 10⁸ steps); fixed costs (the stability check, ~35 ms) dominate
  short runs, so ``curves_longrun_wfree_1e6`` repeats it at 10⁶ steps;
* ``sgd_momentum``: SGD samples per second of :func:`simulations.plrf.dynamics.sgd_momentum`
  (heavy ball, cosine schedule) over :func:`simulations.plrf.model.sgd_eigenbasis` (constant),
  one jitted run each, float32, compile excluded;
* ``sgd_momentum_explicit``: the same for :func:`simulations.plrf.dynamics.sgd_momentum_explicit`
  (explicit samples ``x ∈ R^v``, ``O(v·d)`` per sample) over
  :func:`simulations.plrf.model.sgd_explicit` (constant).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peak import best_time

from simulations.plrf import checks, dynamics, limits, model
from theory import plrf as theory_plrf
from theory import plrf_longrun as longrun
from theory import plrf_training as T
from theory.schedules import WSD, Cosine


def _curves(spec, gamma, n):
    """(constant, schedule, momentum) wall times of one curve of n steps."""
    m = WSD(0.2).values(n)
    coeffs = T.Optimizer("heavy_ball", 0.9).coefficients(gamma * 0.1, np.ones(n))
    with jax.enable_x64(True):
        s = theory_plrf.Spectrum(*(jnp.asarray(np.asarray(x, np.float64)) for x in spec))
        const = jax.jit(lambda: theory_plrf.expected_loss_curve_exact(s, gamma, 1.0, n))
        sched = jax.jit(lambda g: T.scheduled_loss_curve(s, g, 1.0))
        mom = jax.jit(lambda c: T.momentum_loss_curve(s, 1.0, *c))
        g = jnp.asarray(gamma * m)
        c = tuple(jnp.asarray(x) for x in coeffs)
        return (
            best_time(lambda: const().block_until_ready()),
            best_time(lambda: sched(g).block_until_ready()),
            best_time(lambda: mom(c).block_until_ready()),
        )


def _longrun_ratio(spec, gamma, n):
    """(array path time) / (in-loop path time) for one DANA-decaying curve of n steps."""
    opt = T.Optimizer("dana", delta=T.dana_delta(0.7, 1.0), gamma3=0.2, decay=1 / 1.4)
    steps = checks.log_checkpoints(n, 20)
    with jax.enable_x64(True):
        s = theory_plrf.Spectrum(*(jnp.asarray(np.asarray(x, np.float64)) for x in spec))
        arrays = jax.jit(lambda c: T.momentum_loss_curve(s, 1.0, *c))
        c = tuple(jnp.asarray(x) for x in opt.coefficients(gamma, np.ones(n)))
        t_a = best_time(lambda: arrays(c).block_until_ready())
    t_l = best_time(lambda: longrun.momentum_loss_at(spec, gamma, steps, opt))
    return t_a / t_l


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    d, n = (128, 5_000) if args.quick else (512, 50_000)
    v = 4 * d
    gamma = theory_plrf.learning_rate(0.7, v, 0.5)
    out: dict[str, float] = {"d": d, "steps": n}
    with jax.enable_x64(True):
        w = model.sample_embedding(jax.random.key(0), v, d, jnp.float64)
        realised = theory_plrf.realised_spectrum(w, 0.7, 1.0)
    wfree = theory_plrf.continuum_spectrum(0.7, 1.0, d, v, **limits.FRONTIER_SPECTRUM)
    for name, spec in (("realised", realised), ("wfree", wfree)):
        t_c, t_s, t_m = _curves(spec, gamma, n)
        out[f"curves_per_s_constant_{name}"] = 1.0 / t_c
        out[f"curves_schedule_{name}"] = t_c / t_s
        out[f"curves_momentum_{name}"] = t_c / t_m
        out[f"curves_longrun_{name}"] = _longrun_ratio(spec, gamma, n)
    if not args.quick:
        out["curves_longrun_wfree_1e6"] = _longrun_ratio(wfree, gamma, 10**6)
    # SGD samples per second
    ck = checks.log_checkpoints(n, 20)
    with jax.enable_x64(True):
        kw, ks = model.split_run_key(jax.random.key(1))
        problem = model.eigenbasis_problem(kw, 0.7, 1.0, v, d)
    coeffs = T.Optimizer("heavy_ball", 0.9).coefficients(gamma * 0.1, Cosine().values(n))
    coeffs = tuple(jnp.asarray(x, jnp.float32) for x in coeffs)
    base = jax.jit(lambda: model.sgd_eigenbasis(ks, problem, gamma, batch=1, checkpoints=ck))
    mom = jax.jit(lambda c: dynamics.sgd_momentum(ks, problem, c, batch=1, checkpoints=ck))
    t_b = best_time(lambda: base().block_until_ready(), repeats=3)
    t_m = best_time(lambda: mom(coeffs).block_until_ready(), repeats=3)
    out["sgd_samples_per_s_constant"] = n / t_b
    out["sgd_momentum"] = t_b / t_m
    w32 = w.astype(jnp.float32)
    base_x = jax.jit(lambda: model.sgd_explicit(ks, w32, 0.7, 1.0, gamma, batch=1, checkpoints=ck))
    mom_x = jax.jit(
        lambda c: dynamics.sgd_momentum_explicit(ks, w32, 0.7, 1.0, c, batch=1, checkpoints=ck)
    )
    t_bx = best_time(lambda: base_x().block_until_ready(), repeats=3)
    t_mx = best_time(lambda: mom_x(coeffs).block_until_ready(), repeats=3)
    out["sgd_samples_per_s_constant_explicit"] = n / t_bx
    out["sgd_momentum_explicit"] = t_bx / t_mx
    for k, val in out.items():
        print(f"{k:>36}: {val:.4g}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
