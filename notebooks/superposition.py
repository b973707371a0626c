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
# # Superposition yields robust neural scaling
#
# The toy model of Liu, Liu & Gore, *Superposition Yields Robust Neural Scaling*
# (arXiv 2505.10465): `n` sparse features `x_i = u_i s_i` (`u_i ~ Bernoulli(p_i)`,
# `s_i ~ U(0, 2)`) are squeezed into `m < n` dimensions by `h = Wᵀx` (`W` is `n × m`, row `W_i`
# represents feature `i`) and read back by `y = ReLU(W h + b)`. AdamW's *signed* weight decay
# `γ` tunes superposition: `γ > 0` decays unused rows (weak superposition: only the most
# frequent features are represented), `γ < 0` pulls every row norm to 1 (strong superposition:
# every feature is represented and they interfere).
#
# `PRESET` picks the sizes: `quick` (what the tests run, well under a minute), `default`
# (~10-15 min on 2 CPU cores) or `paper` (accelerators). Set it with the environment variable
# `SOLVABLE_PRESET`.

# %%
# %matplotlib inline
import os

import numpy as np

from simulations import compare
from simulations import superposition as sp
from simulations.plotting import QUICK_NOTE
from theory import superposition as theory

PRESET = os.environ.get("SOLVABLE_PRESET", "default")
NOTE = QUICK_NOTE if PRESET == "quick" else ""
print(f"preset: {PRESET}")

# %% [markdown]
# ## Theory: the weak-superposition loss
#
# If only the `k` most frequent features are represented (without interference) and the others
# are predicted by their mean through the bias, each ignored feature costs its variance:
# `L_weak(k) = Σ_(i>k) (⟨s²⟩p_i − ⟨s⟩²p_i²)`. With `k = m` and `p_i ∝ i^(−α)` this decays as
# `m^(−(α−1))` when `n ≫ m`. Check values at `n = 1000`, `α = 1`: `L(10) = 0.8099`,
# `L(100) = 0.4092`. At finite `n` the slope fitted over the paper's small-run widths differs
# from `α − 1`.

# %%
print(theory.weak_loss(1000, 10, 1.0), theory.weak_loss(1000, 100, 1.0))
widths = (10, 15, 25, 39, 63, 100)
for a in (1.0, 1.25, 1.5, 1.75, 2.0):
    finite = theory.finite_n_weak_exponent(1000, widths, a)
    weak, strong = theory.model_exponent(a, "weak"), theory.model_exponent(a, "strong")
    print(
        f"alpha={a}: exact-sum slope {finite:.3f}, alpha-1 = {weak:.2f}, "
        f"max(1, 2(alpha-1)) = {strong:.2f}"
    )

# %% [markdown]
# ## Theory: why strong superposition gives 1/m
#
# In strong superposition the loss is set by interference: squared overlaps of nearly random
# unit vectors in `R^m`, whose mean is `1/m` and variance `2(m−1)/(m²(m+2))`.

# %%
rng = np.random.default_rng(0)
for m in (8, 32, 128):
    u, v = rng.standard_normal((2, 20000, m))
    c2 = (u * v).sum(1) ** 2 / ((u * u).sum(1) * (v * v).sum(1))
    mean, var = theory.random_overlap_moments(m)
    print(
        f"m={m}: MC mean {c2.mean():.5f} (1/m = {mean:.5f}), "
        f"MC var {c2.var():.2e} (theory {var:.2e})"
    )

# %% [markdown]
# ## Simulation: weak vs strong superposition
#
# One batched sweep over widths × (law, γ, α) × seeds on the sweep engine: the sweep of
# `solvable compare superposition --preset PRESET`. The quick preset is tiny and short: it
# separates the regimes (φ½ ≈ m/n vs ≈ 1) and gives a strong-regime slope near 1, but it
# under-trains (weak slopes stay below the exact sum's). Any field of the config can be changed
# with `dataclasses.replace`, e.g. other `alphas`, `widths` or `seeds`. Runs whose final loss is
# ≥ 10³ × the zero-model loss Σᵢ Var(xᵢ) (or non-finite) count as diverged: they are never
# fitted, and the column `n_diverged` counts them per row; `~` marks an interval wider than the
# prediction itself (not determined).

# %%
config = sp.CompareConfig.preset(PRESET)
config.validate()
print(config.describe())
data = sp.run_config(config, progress=False)
rows = sp.comparison_rows(
    data, window=config.window, n_boot=config.n_boot, exp_scale=config.exp_scale
)
print(compare.format_comparison_table(rows, list(sp.PARAM_NAMES), note=NOTE))

# %%
sp.plot_loss_vs_m(data, rows, exp_scale=config.exp_scale)

# %%
sp.plot_exponents(rows, n=config.n, widths=config.widths)

# %%
sp.plot_norm_histograms(data)

# %% [markdown]
# ## Measured overlaps
#
# In the strong regime every row is represented; the mean squared overlap of the normalised rows
# is set beside `1/m` (random vectors) and the Welch bound `(n−m)/(m(n−1))`, the least any `n`
# unit vectors in `R^m` can achieve.

# %%
for s in range(data.sizes["setting"]):
    if data["gamma"].values[s] >= 0:
        continue
    overlaps = np.nanmean(data["overlap_sq_represented"].values[s], axis=1)
    label = f"{data['law'].values[s]} alpha={data['alpha'].values[s]:g}"
    for m, o in zip(data["m"].values, overlaps, strict=True):
        welch = theory.welch_bound(config.n, int(m))
        print(f"{label} m={m}: overlap {o:.4f}, 1/m {1 / m:.4f}, Welch {welch:.4f}")

# %%
sp.plot_overlaps(data)
