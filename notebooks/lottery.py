# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lottery-ticket ensembles: width scaling of one-hidden-layer nets
#
# Liu & Tegmark, *A Neural Scaling Law from Lottery Ticket Ensembling* (arXiv 2310.02258).
# Nets $f(x) = \sum_i v_i \sigma(w_i x + b_i) + c$ of width $N$ regress $y = x^2$ on
# $x \sim U[-2, 2]$. Approximation theory predicts MSE $\propto N^{-4}$ (piecewise-linear
# fits); the paper observes $N^{-1}$ for SiLU and explains it as a central limit theorem over
# $\propto N$ *lottery tickets* (mirror pairs of neurons). The authors later flagged the theory
# as questionable, so this notebook tests the measurements and the mechanism: (1) the exact ReLU
# floor, (2) the SiLU slope and its dependence on the training budget, (3) mirror pairs and the
# $N = 2$ loss histogram, (4) explicit ensembles.
#
# `PRESET` picks the sizes: `quick` (what the tests run, about a minute), `default` (tens of
# minutes on 2 CPU cores) or `paper` (accelerators). Set it with the environment variable
# `SOLVABLE_PRESET`.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from simulations import lottery as lot
from theory import lottery as theory

PRESET = os.environ.get("SOLVABLE_PRESET", "default")
QUICK = PRESET == "quick"
CFG = lot.CompareConfig.preset(PRESET)
print(f"preset: {PRESET}")

# %% [markdown]
# ## 1. The ReLU floor
# A width-$N$ ReLU net is continuous piecewise linear with at most $N$ knots. The best
# continuous fit of $x^2$ with $K$ pieces has equal pieces and MSE $h^4/180$, $h = 4/K$; the
# classic bound takes $K = N + 1$. But a ReLU net's leftmost slope is minus a sum of slope
# changes, which forces one **flat** piece: the equal $(N+1)$-piece fit has one only for even
# $N$. For odd $N$ the exact floor is higher:

# %%
print(f"{'N':>4} {'exact floor':>12} {'1.4222/(N+1)^4':>15} {'ratio':>7}")
for n in (1, 2, 3, 4, 5, 7, 8, 15, 16):
    f, b = theory.relu_floor(n), theory.relu_floor_bound(n)
    print(f"{n:>4} {f:12.4e} {b:15.4e} {f / b:7.3f}")
best = theory.relu_best_fit(3)
x = lot.midpoint_grid(400)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(x, x**2, "k", lw=1, label="x²")
ax.plot(x, lot.predict(best.w, best.b, best.v, best.c, x, "relu"), label="best N = 3 net")
ax.plot(best.knots, best.knots**2, "o", ms=3)
ax.set_title(f"N = 3: flat piece {best.flat_piece}, MSE {best.mse:.4g}")
ax.legend()
plt.show()

# %% [markdown]
# Trained ReLU nets never go below the exact floor; the best seeds reach it at small $N$ (the
# exact population MSE of each net is computed piecewise, `relu_net_mse`).

# %%
relu_widths = (2, 3) if QUICK else (2, 3, 4, 8, 16)
relu_recipe = lot.Recipe(adam_steps=2000) if QUICK else lot.RELU_RECIPE
res = lot.train(relu_widths, activation="relu", recipe=relu_recipe, seeds=8 if QUICK else 32)
for ds in res.groups:
    n = int(ds.attrs["static.width"])
    exact = theory.relu_net_mse(*lot.net_params(ds))
    print(
        f"N = {n:3d}: best / floor = {exact.min() / theory.relu_floor(n):.4f}, "
        f"median / floor = {np.median(exact) / theory.relu_floor(n):.2f}"
    )

# %% [markdown]
# ## 2. SiLU: the slope depends on the training budget
# With Adam for 3000 steps (lr 3e−2 cosine to 1e−5) the median MSE falls as $N^{-1.1}$
# (`theory.REFERENCE_SILU_SLOPE`, a measurement); other budgets give other slopes, and an
# L-BFGS polish makes it much steeper. Every slope below names its recipe.

# %%
widths = (4, 16) if QUICK else (4, 8, 16, 32, 64)
seeds = 8 if QUICK else 16
recipes = (
    [lot.Recipe(adam_steps=1000)]
    if QUICK
    else [lot.Recipe(adam_steps=1000), lot.QUICK_RECIPE, lot.POLISHED_RECIPE]
)
tables = []
for recipe in recipes:
    table = lot.width_table(lot.train(widths, recipe=recipe, seeds=seeds), recipe)
    tables.append(table)
    f = lot.fit_width_exponent(table, n_boot=500)
    print(
        f"{recipe.label:40s} exponent {f.exponent:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]"
        f" ({table.diverged().sum()} diverged runs left out)"
    )
lot.plot_width_scaling(tables, None)

# %% [markdown]
# A single mirror pair $v[\sigma(wx+b) + \sigma(-wx+b)]$ already fits $x^2$ with an error
# $\propto w^4$ as $w \to 0$: width is not what limits a SiLU net, the optimiser is.

# %%
for w in (1.0, 0.3, 0.1, 0.03):
    print(f"w = {w:5}: best mirror-pair MSE {theory.mirror_pair_mse(w, 0.5):.3e}")

# %% [markdown]
# ## 3. Mechanism: the $N = 2$ histogram and mirror pairs
# Width-2 nets over many seeds: the losses fall into separated modes; the lowest one is made of
# mirror pairs $(w, b, v), (-w, b, v)$ (small `pair_asymmetry`). In a wide net, compare the
# paired fraction with the same nets at initialisation: dense nets have chance partners.

# %%
n2_recipe = lot.Recipe(adam_steps=1000, lbfgs_steps=300) if QUICK else CFG.n2_recipe
n2 = lot.n2_histogram(lot.run_n2(n2_recipe, 48 if QUICK else CFG.n2_seeds))
for m in n2.modes:
    frac = np.mean(n2.asymmetry[m.members] < lot.MIRROR_TOL)
    print(f"mode at log10 MSE {m.center:6.2f}: {m.count:4d} seeds, {frac:.0%} mirror pairs")
lot.plot_n2_histogram(n2)

# %%
wide_recipe = lot.Recipe(adam_steps=300) if QUICK else CFG.mechanism_recipe
wide = lot.wide_mirror_pairs(lot.run_wide(256 if QUICK else CFG.wide_width, wide_recipe, 1))
print(
    f"mirror-paired fraction (tolerance 0.1): {wide.fraction[0]:.1%}, "
    f"the same nets at init: {wide.fraction_init[0]:.1%}"
)
lot.plot_mirror_pairs(wide)

# %% [markdown]
# ## 4. Explicit ensembles
# Averaging $K$ independently trained nets gives bias² + variance/$K$ exactly (estimated on one
# half of the nets, measured on the other). A single net of width $4K$ can do better than an
# ensemble of $K$ width-4 nets: its tickets are trained jointly.

# %%
ens_recipe = recipes[0] if QUICK else lot.QUICK_RECIPE
ks = (1, 2, 4, 8) if QUICK else CFG.ensemble_ks
ens = lot.ensemble_measurement(lot.run_ensemble(4, ens_recipe, 32 if QUICK else 256), ks)
print("excluded stuck nets:", ens.excluded)
for k, m, p in zip(ens.curve.ks, ens.curve.mse, ens.curve.predicted, strict=True):
    print(f"K = {k:3d}: measured {m:.3e}, bias² + variance/K = {p:.3e}")
# single nets of width 4K under the same recipe (from section 2)
single = tables[[t.recipe for t in tables].index(ens_recipe.label)]
lot.plot_ensembles(ens.curve, ens.width, single)

# %% [markdown]
# ## 5. The comparison table
# `solvable compare lottery --preset quick|default|paper` runs all of this and writes
# `comparison.csv` (columns `activation,recipe,width,phase,quantity,predicted,measured,`
# `ci_low,ci_high,window,n_seeds,n_diverged,note`). A run whose loss rises to $10^3$ times its
# initial value (`lot.DIVERGENCE_FACTOR`, e.g. Adam at `lr = 1e3`) is flagged `diverged`, left
# out of every fit and figure, and counted in `n_diverged`. Other grids need options only, e.g.
# `solvable compare lottery --preset quick --silu-widths 4,8,16,32 --relu-seeds 32`; in Python
# the same is `lot.compare(dataclasses.replace(lot.CompareConfig.preset("quick"),
# silu_widths=(4, 8, 16, 32), relu_seeds=32), out)`, and `solvable run lottery --widths 4,8,16
# --seeds 8 --adam-steps 1000` trains one recipe (`lot.run(lot.RunConfig(...), out)`).
