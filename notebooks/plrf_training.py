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
# # Training procedures on PLRF: schedules, momentum (DANA) and batch size
#
# The PLRF model of Paquette, Paquette, Xiao, Pennington (arXiv 2405.15074) trained by one-pass
# SGD has an exact expected-loss recursion per eigenmode of $\hat K = W^\top D W$. It stays exact
# when the learning rate changes from step to step ($q_r(\lambda) = 1 - 2\gamma_r B\lambda +
# \gamma_r^2 B(B+1)\lambda^2$, forcing $\gamma_r^2 B\lambda P(r)$), and, with two more second
# moments per mode, under momentum (heavy ball, Nesterov, and the dimension-adapted DANA of
# Paquette et al., arXiv 2505.16098). This notebook checks the recursion against SGD, then asks
# three practitioner questions: which schedule, does momentum change the exponents, and how
# large a batch.
#
# Every parameter is in the next cell; `SOLVABLE_PRESET` picks the sizes (`quick`: what the
# tests run, well under a minute).

# %%
# %matplotlib inline
import dataclasses
import os
import warnings

import jax
import matplotlib.pyplot as plt
import numpy as np

from simulations.plrf import training, training_analysis, training_plots
from theory import plrf
from theory import plrf_training as T

warnings.filterwarnings("ignore", message="IProgress not found")

# Parameters
PRESET = os.environ.get("SOLVABLE_PRESET", "default")
QUICK = PRESET == "quick"
CFG = training.TrainingConfig.preset(PRESET)
if QUICK:  # the notebook's quick run: fewer SGD seeds and a short W-free ladder
    CFG = dataclasses.replace(CFG, sgd_seeds=8, wfree_sizes=(5.0, 8.0), n_budgets=10)
D_DEMO = 256 if QUICK else 1024  # W-free size of the single-size demonstrations
print(f"preset {PRESET}: alpha={CFG.alpha}, beta={CFG.beta}, SGD d={CFG.sgd_d}")

# %% [markdown]
# ## 1. Schedules: the same recursion with a step-dependent learning rate
#
# The W-free spectrum of size $d$ (no $W$ drawn) and the base rate $\gamma = c/\sum_j j^{-2\alpha}$;
# every schedule runs to the same horizon $n = d^{2\alpha}/\gamma$ steps.

# %%
spec = plrf.continuum_spectrum(CFG.alpha, CFG.beta, D_DEMO)
gamma = CFG.gamma(D_DEMO)
n = CFG.steps(D_DEMO, 1.0)
steps = np.unique(np.geomspace(1, n, 60).astype(int))
fig, ax = plt.subplots(figsize=(5, 3.5))
for spec_name in CFG.schedules:
    sched = training.parse_schedule(spec_name)
    loss = T.expected_loss_trained(spec, gamma, 1, steps, schedule=sched)
    ax.loglog(steps, loss, label=sched.label())
ax.set(xlabel="step", ylabel="expected loss", title=f"W-free d = {D_DEMO}, horizon {n} steps")
ax.legend()
plt.show()

# %% [markdown]
# A constant schedule reproduces the existing exact curve to the last bit, and SGD means agree
# with the recursion on each seed's own $W$ (the paired difference in standard errors):

# %%
ref = plrf.expected_loss(spec, gamma, 1, steps[steps <= 20000], method="exact")
same = T.expected_loss_trained(spec, gamma, 1, steps[steps <= 20000])
print("constant schedule == exact recursion:", np.array_equal(ref, same))
data = training.run_study(CFG, "schedules", progress=False)
for (_, z, n_ok), p in zip(
    training_analysis.sgd_agreement(data["sgd"].groups[0]), data["procedures"]
):
    print(f"{p.label():>14}: max |z| = {z:.2f} over {n_ok} seeds")
training_plots.procedure_curves(data["sgd"].groups[0], [p.label() for p in data["procedures"]])

# %% [markdown]
# Which decay fraction of warmup–stable–decay is best, and does it move with the horizon? And
# does the schedule change the compute-optimal exponents, or only the constant?

# %%
training_plots.schedule_shape(data["scan"], data["scan_d"])

# %%
rows = training_analysis.rows_for("schedules", data, CFG)
print(training_analysis.format_rows([r for r in rows if r.quantity != "sgd_max_z"]))

# %% [markdown]
# ## 2. Momentum and DANA
#
# Zero momentum is SGD (to rounding); heavy ball at $\gamma(1-\mu)$ follows SGD at $\gamma$.
# DANA-decaying (arXiv 2505.16098; the form of the authors' reference code) keeps a momentum
# $y_r = (1-\Delta_r)y_{r-1} + g_r$ with $\Delta_r = \delta/(\delta + r)$, so $y$ sums the last
# $\sim r/\delta$ gradients, and steps $\theta_{r+1} = \theta_r - \gamma g_r - \gamma_3(r) y_r$
# with $\gamma_3(r) = \tilde\gamma_3\gamma(1+r)^{-1/(2\alpha)}$: its effective step grows like
# $r^{1-1/(2\alpha)}$.

# %%
sgd = T.expected_loss_trained(spec, gamma, 1, steps)
opts = CFG.optimizers(CFG.alpha, CFG.beta)
hb0 = T.expected_loss_trained(spec, gamma, 1, steps, optimizer=T.Optimizer("heavy_ball", 0.0))
print("max relative difference, zero momentum vs SGD:", np.max(np.abs(hb0 / sgd - 1)))
fig, ax = plt.subplots(figsize=(5, 3.5))
for opt in opts.values():
    g = gamma * CFG.lr_factor(opt)
    ax.loglog(steps, T.expected_loss_trained(spec, g, 1, steps, optimizer=opt), label=opt.label())
ax.set(xlabel="step", ylabel="expected loss", title=f"W-free d = {D_DEMO}")
ax.legend()
plt.show()

# %% [markdown]
# Does DANA change the compute-optimal exponent? The measured gain $\eta - \eta_{SGD}$ on
# W-free IsoFLOP tables beside the predicted one. The prediction is our reading of the paper:
# SGD's loss terms with time $t \to t^{2-1/(2\alpha)}$ (`theory.plrf_training.dana_exponents`).
# Over the sizes that fit here the measured gain is far below the prediction: the momentum
# overtakes the plain step only after $\sim((\delta+1)/\tilde\gamma_3)^{2\alpha/(2\alpha-1)}$
# steps, and at these sizes the compute-optimal runs are not much longer than that.

# %%
mdata = training.run_study(CFG, "momentum", progress=False)
mrows = training_analysis.rows_for("momentum", mdata, CFG)
print(training_analysis.format_rows([r for r in mrows if r.quantity == "eta_gain"]))
training_plots.exponent_gain_map(mrows)

# %% [markdown]
# The prediction can be tested without the size-limited terms: on one long run at
# $d = 2^{40}$ (W-free, `theory.plrf_longrun.momentum_loss_at`, memory independent of the run
# length) the loss falls as $r^{-\text{exponent}}$ with SGD's exponent (dotted, blue) and, for
# DANA, that exponent times $2 - 1/(2\alpha)$ (dotted, orange). The local slope of DANA climbs
# toward its asymptote; how long it takes is the onset above.

# %%
print(training_analysis.format_rows([r for r in mrows if r.quantity.startswith("time_")]))
training_plots.time_exponents_figure(mdata["times"])

# %% [markdown]
# ## 3. Batch size: steps to a target and the critical batch $B^*$
#
# Per batch the learning rate is tuned (a grid below the stability limit, which falls with $B$);
# $B^*$ is the smallest batch within a factor 2 of the fewest steps. SGD at a small $d$ (one
# learning rate per batch, half its stability limit) measures $B^*$ directly; the exact
# recursion on the same seeds' $W$ predicts it (right panel: steps to target per batch).

# %%
bdata = training.run_study(CFG, "batch", progress=False)
training_plots.batch_figure(bdata, CFG.factor)

# %%
print(training_analysis.format_rows(training_analysis.rows_for("batch", bdata, CFG)))
jax.clear_caches()
