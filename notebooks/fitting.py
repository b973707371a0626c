# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Fitting scaling laws you can trust: Chinchilla three ways, then solvable ground truth
#
# `solvable fit` (and `simulations.scalefit`) fits a table of training runs by Hoffmann et
# al.'s three approaches (arXiv 2203.15556): the envelope of training curves (1), IsoFLOP
# parabolas (2) and a parametric law $L = E + A/N^\alpha + B/D^\beta$ (3), and says how far each
# can be trusted: bootstrap and profile-likelihood intervals, a correlation matrix and an
# identifiability verdict, and the error made predicting the largest budget from the others.
# The solvable models are the one source of runs whose true exponents are known, so they check
# the fitters.
#
# Every parameter is in the next cell. `PRESET` (environment variable `SOLVABLE_PRESET`):
# `quick` (what the tests and the documentation site run: few bootstrap replicates, few sizes)
# or `default`.

# %%
# %matplotlib inline
import os
from pathlib import Path

import matplotlib.pyplot as plt  # noqa: F401  (pyplot sets up inline display of figures)
import numpy as np

import simulations
from simulations.fit import compute_optimal_frontier, fit_frontier
from simulations.scalefit import (
    approaches,
    format_report,
    load_table,
    make_table,
    plots,
    run_fit,
    validate,
)

# Parameters
PRESET = os.environ.get("SOLVABLE_PRESET", "default")
QUICK = PRESET == "quick"
N_BOOT = 30 if QUICK else 200  # bootstrap replicates per fit
DATA = Path(simulations.__file__).resolve().parents[1] / "tests/data/chinchilla_figure4_points.csv"
BUDGETS = [6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21]  # Hoffmann et al.'s IsoFLOPs
C_TARGET = 5.76e23  # Chinchilla's compute: where N*, D* are reported
PLRF_POINT = (1.0, 0.7)  # phase II
PLRF_TOP = 10 if QUICK else 12  # PLRF sizes d = 2^6 .. 2^TOP
N_COVERAGE, COVERAGE_BOOT = (5, 0) if QUICK else (100, 100)  # synthetic replicates, bootstrap
print(f"preset {PRESET}: {N_BOOT} bootstrap replicates")

# %% [markdown]
# ## 1. The Chinchilla points three ways
# The 245 points of Hoffmann et al.'s Fig. 4 as digitised by Besiroglu et al. 2024 (arXiv
# 2404.10102), the 5 highest losses dropped as they did. Each point is one finished run, so
# approach 1 (which needs training curves) does not apply; approach 2 applies once the runs are
# snapped to the paper's nine IsoFLOP budgets (digitised compute scatters by ~0.1 decade).

# %%
table = load_table(DATA, params="Model Size", compute="Training FLOP", loss="loss")
table = table.subset(np.argsort(-table.L, kind="stable")[5:])
rep = run_fit(table, n_boot=N_BOOT, budgets=BUDGETS, budget_tol=0.1, c_target=C_TARGET)
print(format_report(rep))

# %% [markdown]
# Approach 3 reproduces Besiroglu et al. ($E = 1.817$, $\alpha = 0.348$, $\beta = 0.366$,
# $a = \beta/(\alpha+\beta) = 0.513 \pm 0.020$). Approach 2 refuses the largest budget: its
# lowest loss is at its smallest size, so its optimum may lie off the grid.

# %%
plots.plot_isoflop(rep)

# %%
plots.plot_frontier(rep)

# %%
plots.plot_pairs(rep)

# %% [markdown]
# The Kaplan form $L = [(N_c/N)^{\alpha_N/\alpha_D} + D_c/D]^{\alpha_D}$ on the same points:

# %%
kaplan = run_fit(table, law="kaplan", method="3", n_boot=N_BOOT, c_target=C_TARGET)
print(format_report(kaplan))

# %% [markdown]
# ## 2. A design that cannot separate the exponents
# Six sizes spanning one decade, every run at 20 tokens per parameter: $N^{-\alpha}$ and
# $D^{-\beta}$ are then both powers of $N$, and the verdict says so.

# %%
N = np.repeat(np.geomspace(1e8, 1e9, 6), 3)
rng = np.random.default_rng(0)
L = (1.69 + 406.4 * N**-0.34 + 410.7 * (20 * N) ** -0.28) * np.exp(0.003 * rng.standard_normal(18))
bad = run_fit(make_table(N, 20 * N, L), method="3", n_boot=0)
print(bad.verdict)

# %% [markdown]
# ## 3. Solvable ground truth
# **Random features** (Maloney, Roberts & Sully, arXiv 2210.16859): ridgeless loss
# $\propto N^{-\alpha}/(1 - N^2/C)$ on IsoFLOP budgets $C = N T$ has its optimum at
# $N^* = \sqrt{\alpha/(\alpha+2)}\,C^{1/2}$: approach 2 must find $a = 1/2$.

# %%
rf = approaches.isoflop_fit(validate.random_feature_table(alpha=0.5))
print(f"random features: a = {rf.a:.6f} (truth 0.5)")

# %% [markdown]
# **PLRF** (Paquette et al., arXiv 2405.15074) in phase II, $(\alpha, \beta) = (1.0, 0.7)$:
# expected SGD loss curves from the deterministic equivalent, compute $f = d \cdot r$. At finite
# $d$ the compute-optimal exponent is not yet its asymptotic value, so the truth is the exponent
# of the noise-free curves on a dense size grid (4 sizes per octave); at this point it is also
# close to the asymptotic $\xi = 7/17 = 0.412$ (0.415 at the quick preset's sizes). The fit sees
# 2 sizes per octave, 6 seeds, 1 % noise, and resamples whole seeds.

# %%
steps = np.unique(np.geomspace(1, 2 ** (PLRF_TOP + 8), 70).astype(np.int64))
ks = np.arange(6, PLRF_TOP + 0.01, 0.25)
curves = validate.plrf_curves(*PLRF_POINT, ks, steps)
sizes = np.round(2.0**ks)
fr = compute_optimal_frontier(sizes, sizes[:, None] * steps[None, :], curves)
truth = fit_frontier(fr)[0].exponent
runs = validate.plrf_table(*PLRF_POINT, ks[::2], steps, noise=0.01, n_seeds=6, curves=curves[::2])
plrf_rep = run_fit(runs, method="1", n_boot=N_BOOT)
a = plrf_rep.get("a", "1")
print(f"PLRF truth xi = {truth:.4f}; approach 1: a = {a.estimate:.4f}")
print(f"  95 % interval [{a.ci_low:.4f}, {a.ci_high:.4f}]")
plots.plot_isoflop(plrf_rep)

# %%
plots.plot_frontier(plrf_rep)

# %% [markdown]
# Coverage of the intervals over many synthetic replicates (`validate.coverage`): the fraction
# of 95 % intervals that contain the true $a$, $\alpha$, $\beta$. The quick preset runs 5
# replicates, so its fractions (1.0) say only that nothing broke; over 200 replicates (the slow
# tests) the coverage is 93 % (approach 2's t-interval), 100 % (delta method of $a$), 95 % and
# 92.5 % (profile intervals of $\alpha$, $\beta$).

# %%
print(validate.coverage(N_COVERAGE, n_boot=COVERAGE_BOOT))
