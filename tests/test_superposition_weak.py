"""The weak regime (signed weight decay gamma > 0) beside the exact finite-n weak loss, and the
settings matched to the paper authors' code (issue: budget convergence, items 2 and 3).

Findings these tests pin (measured; see README, "The weak regime is a state of the budget and
the decay, not a fixed point"):

* With gamma > 0, AdamW's decoupled decay does not fix the number ``k = phi_1/2 n`` of
  represented features at ``m``: ``k`` grows with the training budget at every gamma tried, and
  the stronger the decay the smaller it starts. The weak regime's defining property (``k ~ m``,
  the loss near the exact weak loss ``sum_{i>m} Var x_i``) holds only around a gamma- and
  budget-dependent point. At n = 64, alpha = 1.5, gamma = 1 that point is ~3000 steps (batch
  256): there ``k / m`` is 0.85-1.2 and the loss 1.09-1.30 x the exact weak loss width by width
  (above it: the decay holds the represented rows' norms below 1); by 10 000 steps ``k / m`` is
  ~1.5 (superposition returns).
* At the authors' settings (n = 512, m = 16-64, batch 2048, 2000 steps, p ~ i^-1.2, gamma = +1)
  only ``k ~ m / 3`` features are represented: that is not the weak regime, and its exponent
  depends on batch, budget and decay (0.14-0.79 across the settings measured).

All of these are slow (minutes on 2 CPU cores): ``pytest -m slow tests/test_superposition_weak.py``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

from simulations import superposition as sp
from simulations import sweep
from theory import superposition as theory

WEAK = {"n": 64, "widths": [4, 8, 16], "batch": 256, "gammas": [1.0], "alphas": [1.5]}
SEEDS = 4


@functools.cache
def _weak_run(steps: int):
    grid = sp.make_grid(steps=steps, seeds=SEEDS, eval_batches=8, **WEAK)
    data = sp.tidy(sweep.run_sweep(sp.build, grid, progress=False, name=f"weak-{steps}"))
    widths = np.asarray(data["m"].values)
    loss = data["final_loss"].values[0]  # (m, seed)
    k = data["phi_half"].values[0] * WEAK["n"]  # represented features, (m, seed)
    exact = theory.weak_loss(WEAK["n"], widths, WEAK["alphas"][0])
    return widths, loss, k, exact


@pytest.mark.slow
def test_weak_regime_at_small_n_is_the_exact_weak_loss_at_its_budget():
    """At n = 64, gamma = 1, 3000 steps, every width represents ~m features and its loss sits
    1.0-1.45 x above the exact weak loss (measured 1.13, 1.30, 1.09; per-width seed standard
    errors ~3-6 %, so the band is the measured range widened by ~3 standard errors). A bug in the
    decay, the sampler or the loss would move k or the loss by far more (gamma = 0.3 at the same
    budget gives k / m = 1.5-2.1 and loss 0.5-0.9 x the weak loss)."""
    widths, loss, k, exact = _weak_run(3000)
    ratio = loss.mean(axis=1) / exact
    k_over_m = k.mean(axis=1) / widths
    assert np.all((k_over_m > 0.7) & (k_over_m < 1.45)), k_over_m
    assert np.all((ratio > 1.0) & (ratio < 1.45)), ratio


@pytest.mark.slow
def test_weak_regime_is_left_with_more_training():
    """Training on (10 000 steps, same gamma = 1), more features get represented: mean k / m up
    by > 0.2 over the 3000-step runs (measured 1.0 -> 1.6 with an independent seed set;
    per-width k varies by ~1 feature between seeds, i.e. ~0.1 in mean k / m): the weak regime was a
    transient of the budget, not a fixed point."""
    widths, _, k3, _ = _weak_run(3000)
    widths, _, k10, _ = _weak_run(10000)
    gain = np.mean(k10.mean(axis=1) / widths) - np.mean(k3.mean(axis=1) / widths)
    assert gain > 0.2, gain


# Matched to the authors' code (Liu, Liu & Gore 2025, their public PyTorch experiments, read
# for their protocol, not copied): n = 512, m in {16, 32, 64}, batch 2048, 2000 steps,
# p_i ~ i^-1.2, lr 1e-2 with cosine decay to 0.05 lr and *no* warm-up (their 2000-step warm-up
# applies only to runs longer than 2000 steps), loss averaged over the n outputs (PyTorch's
# MSELoss; Adam is scale invariant but for eps, so this is eps = n * 1e-8 here), signed decay on W
# applied to the pre-update weights with the scheduled lr (the same as this library's).
MATCHED = {
    "n": 512,
    "widths": [16, 32, 64],
    "batch": 2048,
    "alphas": [1.2],
    "warmup": 0,
    "adam_eps": 512 * 1e-8,
}
# Reference per-width mean losses of this library under that protocol (3 seeds, measured
# 2026-11-30) and their seed standard errors (relative).
MATCHED_REFERENCE = {
    1.0: ([0.7322, 0.5820, 0.4646], [0.112, 0.070, 0.049]),
    -1.0: ([0.4111, 0.1811, 0.0962], [0.034, 0.020, 0.032]),
}


@pytest.mark.slow
@pytest.mark.parametrize("gamma", [1.0, -1.0])
def test_matched_settings_regression(gamma):
    """Per-width losses at the authors' settings agree with this library's reference: a Welch
    two-sample t-test per width (reference and new run, three seeds each, independent keys) at
    the 0.3 % level (|t| below the t quantile for Welch-Satterthwaite degrees of freedom, ~4).
    Three seeds estimate a standard error poorly, hence t, not 3 sigma: the strong regime at
    2000 steps is far from converged and its m = 64 loss moved by 21 % (t = 3.3) between two
    seed sets. The test still catches a protocol change: dropping the warm-up moves the strong
    losses by ~30 % (t ~ 10 at m = 32). The strong regime agrees with the authors' code within
    +-6 %; the weak (gamma = +1) one is not the weak regime (k ~ m / 3)."""
    ref, se = MATCHED_REFERENCE[gamma]
    grid = sp.make_grid(steps=2000, seeds=3, gammas=[gamma], eval_batches=8, **MATCHED)
    data = sp.tidy(sweep.run_sweep(sp.build, grid, progress=False, name="matched"))
    runs = data["final_loss"].values[0]  # (m, seed)
    loss = runs.mean(axis=1)
    se_ref = np.asarray(se) * np.asarray(ref)  # absolute standard errors
    se_new = runs.std(axis=1, ddof=1) / np.sqrt(runs.shape[1])
    t = (loss - np.asarray(ref)) / np.sqrt(se_ref**2 + se_new**2)
    dof = (se_ref**2 + se_new**2) ** 2 / (se_ref**4 / 2 + se_new**4 / 2)
    np.testing.assert_array_less(np.abs(t), stats.t.ppf(1 - 0.003 / 2, dof))
    if gamma > 0:
        k = data["phi_half"].values[0].mean(axis=1) * MATCHED["n"]
        assert np.all(k < 0.6 * np.asarray(MATCHED["widths"])), k
