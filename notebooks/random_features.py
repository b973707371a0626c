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
# # Random-feature regression: MRS, Bahri's four regimes, BAP dynamics
#
# * Maloney, Roberts & Sully, *A Solvable Model of Neural Scaling Laws* (arXiv 2210.16859)
# * Bahri, Dyer, Kaplan, Lee & Sharma, *Explaining Neural Scaling Laws* (arXiv 2102.06701)
# * Bordelon, Atanasov & Pehlevan, *A Dynamical Model of Neural Scaling Laws*
#   (arXiv 2402.01092)
#
# Latent data $x \sim N(0, \Lambda)$ with $\lambda_k = k^{-b}$ ($k \le M$), teacher
# $y = w\cdot x$ with target power $v_k^2 = \lambda_k E w_k^2 = k^{-a}/M$ (MRS:
# $a = b = 1+\alpha$), $N$ random features $\phi = Fx$, predictor
# $f = \beta\cdot\phi/\sqrt N$, trained on $T$ samples by ridge regression or gradient flow.
# Theory lives in `theory.random_features`, simulations in `simulations.random_features`.
#
# Every parameter is in the next cell. `PRESET` picks the sizes: `quick` (what the tests and the
# documentation site run, about a minute), `default` or `paper` (larger sizes); set it with the
# environment variable `SOLVABLE_PRESET`.

# %%
import dataclasses
import math
import os

import matplotlib.pyplot as plt
import numpy as np

from simulations import compare, fit
from simulations import random_features as rfs
from theory import random_features as rft

# Parameters
PRESET = os.environ.get("SOLVABLE_PRESET", "default")
QUICK = PRESET == "quick"
MRS_ALPHA, MRS_M = 1.0, 512  # section 2: closed form only (no simulation)
RIDGE_M = 128 if QUICK else 512  # section 3: latent dimension M
RIDGE_BA = 1.5  # b = a
RIDGE_NS = np.array([8, 16, 32, 48, 96, 128, 256]) * (1 if QUICK else 4)
RIDGE_SEEDS = 4 if QUICK else 16
REGIMES = (  # section 4: Bahri's four regimes
    dataclasses.replace(
        rfs.CompareConfig.preset("quick"),
        n_latent=256,
        big=512,
        res_sizes=(16, 32, 64),
        var_latent=128,
        var_small=8,
        var_sizes=(64, 128, 256),
        var_seeds=16,
        seeds=4,
        n_boot=200,
    )
    if QUICK
    else dataclasses.replace(
        rfs.CompareConfig.preset("default"),
        n_latent=1024,
        big=2048,
        res_sizes=(16, 32, 64, 128, 256),
        var_latent=512,
    )
)
FLOW_M = 512 if QUICK else 2048  # sections 5-6: gradient flow, b = a = 2
FLOW_SIZES = [8, 16, 32, 64] if QUICK else [16, 32, 64, 128, 256, 512]
FLOW_TIME = 200_000 if QUICK else 2_000_000
FLOW_SEEDS = 4 if QUICK else 16
REUSE_N, REUSE_T = (64, 64) if QUICK else (256, 256)  # section 6: features, samples
SPECTRUM_M, SPECTRUM_N = (16, 128) if QUICK else (64, 512)  # section 7
print(f"preset: {PRESET}")

# %% [markdown]
# ## 1. Exponents
# Loss $\propto X^{-e}$: time $e_t = (a-1)/b$, data $e_P = \min(a-1, 2b)$, features
# $e_N = \min(a-1, b)$; with compute $C = Nt$ the optimum has
# $N^* \propto C^{(a-1)/(a-1+b e_N)}$.

# %%
cols = ("b", "a", "e_t", "e_P", "e_N", "N*", "t*", "E*")
print(" ".join(f"{c:>6}" for c in cols))
keys = ("e_t", "e_P", "e_N", "compute_N", "compute_t", "compute_loss")
for b, a in [(2, 2), (1.5, 1.5), (1.5, 2), (1.5, 4)]:
    e = rft.exponents(b, a)
    print(" ".join(f"{v:6.3f}" for v in [b, a, *(e[k] for k in keys)]))

# %% [markdown]
# ## 2. MRS: the ridgeless closed form, duality, the peak and the plateau
# $E(N,T) = (\sigma_w^2/M)\, n\kappa_n/(1-n/n')$ with $n = \min(N,T)$,
# $n' = \max(N,T)$, $\mathrm{df}(\kappa_n) = n$; asymptotically
# $(\sigma_w^2\lambda_+/M) C_\alpha n^{-\alpha}/(1-n/n')$.

# %%
alpha, M = MRS_ALPHA, MRS_M
N = np.unique(np.round(np.geomspace(4, 4 * M, 300)))
fig, ax = plt.subplots(figsize=(6, 4))
for T in (32, 128, 2048):
    E = rft.ridgeless_loss(alpha, M, N[N != T], T)
    ax.loglog(N[N != T], np.where(E > 0, E, np.nan), label=f"T = {T}")
asym = rft.ridgeless_asymptote(alpha, M, N, math.inf)
ax.loglog(N, asym, "k:", label="asymptote, T = ∞")
ax.axvline(M, color="k", lw=0.6)
ax.set(xlabel="N", ylabel="test loss")
ax.legend()
print("C_alpha:", {a: round(rft.c_alpha(a), 4) for a in (0.5, 1, 2)})
print(
    "duality E(100, 300) == E(300, 100):",
    rft.ridgeless_loss(alpha, M, 100, 300),
    rft.ridgeless_loss(alpha, M, 300, 100),
)
plt.show()

# %% [markdown]
# ## 3. Ridge regression: simulation against the deterministic equivalent
# Batched float64 simulations (`simulate_ridge`, one compilation per padded sweep) against
# `ridge_loss`, which solves $z(g) + \delta N/(g(N - z(g))) = T$ for the renormalised ridge;
# `optimal_ridge` gives the ridge $\delta^*$ that minimises it.

# %%
m = RIDGE_M
b = a = RIDGE_BA
T = m // 2
Ns = RIDGE_NS[RIDGE_NS != T]
noise = 1e-2 / m
r = rfs.simulate_ridge(
    m,
    Ns,
    [T],
    b=b,
    a=a,
    ridge=[0.0, 0.1],
    noise=noise,
    seeds=RIDGE_SEEDS,
    pad="features",
    teacher_average=True,
)
lam, v2 = rft.latent_spectrum(m, b), rft.target_power(m, a)
grid = np.unique(np.round(np.geomspace(Ns[0], Ns[-1], 200)))
grid = grid[grid != T]
fig, ax = plt.subplots(figsize=(6, 4))
for k, ridge in enumerate(r["ridge"]):
    sim = r["test_loss_avg"][:, 0, k]
    ax.errorbar(
        Ns,
        sim.mean(1),
        2 * sim.std(1) / math.sqrt(sim.shape[1]),
        fmt="o",
        color=f"C{k}",
        label=f"simulation, ridge {ridge:g}",
    )
    ax.plot(grid, rft.ridge_loss(lam, v2, grid, T, ridge, noise), "-", color=f"C{k}")
ax.set(xscale="log", yscale="log", xlabel="N", ylabel="test loss", title=f"T = {T}, M = {m}")
ax.legend()
print(f"optimal ridge at N = T = {T}: {rft.optimal_ridge(lam, v2, T, T, noise):.3g}")
plt.show()

# %% [markdown]
# The simulation's mean follows the deterministic equivalent for both ridges; the ridge removes
# the interpolation peak at $N = T$. Next to the peak (ridgeless, $N = 32, 48$) the points sit
# slightly above the curve: with 4 seeds in the quick preset, the fluctuations there are large.
#
# ## 4. Bahri et al.'s four regimes
# Resolution-limited exponents in $N$ and $T$ (equal by duality), variance-limited corrections
# $\propto 1/T$ and $\propto 1/N$; measured with seed-bootstrap intervals and set beside the
# theory at the same sizes, as in `solvable compare random-features`: the sweeps run in
# `run_scaling_regimes` (data), the fits in `measure_scaling_regimes` (rows and curves).

# %%
cfg = REGIMES
sweeps = rfs.run_scaling_regimes(cfg, 2.0, 2.0)
regimes = rfs.measure_scaling_regimes(cfg, sweeps)
print(compare.format_comparison_table(regimes.rows, rfs.PARAM_NAMES))
rfs.regimes_figure(
    regimes,
    big=cfg.big,
    var_small=cfg.var_small,
    n_latent=cfg.n_latent,
    var_latent=cfg.var_latent,
)

# %% [markdown]
# Every prediction is the theory at the same finite sizes (the `asymptote` column is the
# papers' exponent 1). In the quick preset all four measured exponents contain their prediction,
# with intervals 0.4–0.6 wide; `default` uses more sizes and seeds.
#
# The same measurement from the command line, for another $(b, a)$ grid, sizes and seeds (options
# only; `--config FILE.toml` takes the same fields):
#
# ```
# solvable compare random-features --preset quick --settings "2,2;1.5,3" --seeds 16
# ```
#
# and in Python: `rfs.compare(dataclasses.replace(rfs.CompareConfig.preset("quick"),
# settings=((2.0, 2.0), (1.5, 3.0)), seeds=16), out_dir)`.

# %% [markdown]
# ## 5. BAP: gradient-flow dynamics and compute-optimal scaling
# Population gradient flow ($T = \infty$) for several $N$: exact curves in the eigenbasis of
# each realised feature matrix (teacher-averaged) against the large-size theory
# `gradient_flow_loss` (the Laplace transform of the flow is the ridge estimator at ridge $s$;
# two-ridge deterministic equivalent, inverted on a Talbot contour). The lower envelope over $N$
# at fixed compute $C = Nt$ is the compute-optimal frontier.

# %%
m = FLOW_M
b = a = 2.0
sizes = FLOW_SIZES
g = rfs.simulate_gradient_descent(
    m,
    sizes,
    math.inf,
    FLOW_TIME,
    b=b,
    a=a,
    learning_rate=1.0,
    flow=True,
    seeds=FLOW_SEEDS,
    n_checkpoints=30,
    pad=True,
)
lam, v2 = rft.latent_spectrum(m, b), rft.target_power(m, a)
theory = np.stack([rft.gradient_flow_loss(lam, v2, n, math.inf, g["times"]).test for n in sizes])
sim = g["test_loss_avg"].mean(1)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for i, n in enumerate(sizes):
    axes[0].loglog(g["times"], sim[i], "o", ms=3, color=f"C{i}", label=f"N = {n}")
    axes[0].loglog(g["times"], theory[i], "-", color=f"C{i}")
    axes[1].loglog(n * g["times"], theory[i], "-", color="0.7")
front = fit.compute_optimal_frontier(sizes, np.outer(sizes, g["times"]), sim)
axes[1].loglog(
    front.budgets[front.interior],
    front.optimal_loss[front.interior],
    "ro",
    ms=3,
    label="simulated frontier",
)
axes[0].set(xlabel="t", ylabel="test loss")
axes[0].legend(fontsize=8)
axes[1].set(xlabel="C = N t")
axes[1].legend(fontsize=8)
size_fit, loss_fit = fit.fit_frontier(front)
ex = rft.exponents(b, a)
print(
    f"N* ~ C^{size_fit.exponent:.3f}, E* ~ C^-{loss_fit.exponent:.3f}; "
    f"asymptotic {ex['compute_N']:.3f}, {ex['compute_loss']:.3f}"
)
plt.show()

# %% [markdown]
# The simulated curves follow the theory: at $N = 32$ and 64 they lie on it, at $N = 8$ and 16
# they differ by up to about 10 % (the theory is a large-$N$ deterministic equivalent). The
# frontier's exponents need many sizes far from the cutoff $M$: in the quick preset (four sizes
# $N = 8 \dots 64$, $M = 512$) the loss exponent comes out near 0.32 (asymptote 1/3) but the
# size exponent near 0.43 (asymptote 1/3), biased by the few sizes that make up the envelope.
# `solvable compare random-features` measures both with intervals, beside the theory at the
# same sizes.

# %% [markdown]
# ## 6. Data reuse: the train–test gap
# With $T$ samples reused at every step the training loss keeps falling while the test loss
# stalls; the theory gives both.

# %%
n, T = REUSE_N, REUSE_T
g = rfs.simulate_gradient_descent(
    m,
    [n],
    T,
    100_000,
    b=b,
    a=a,
    learning_rate=1.0,
    flow=True,
    seeds=FLOW_SEEDS,
    n_checkpoints=30,
)
th = rft.gradient_flow_loss(lam, v2, n, T, g["times"])
fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(g["times"], g["test_loss_avg"][0].mean(0), "o", ms=3, label="test (sim)")
ax.loglog(g["times"], g["train_loss"][0].mean(0), "^", ms=3, label="train (sim)")
ax.loglog(g["times"], th.test, "C0-", label="test (theory)")
ax.loglog(g["times"], th.train, "C1--", label="train (theory)")
ax.set(xlabel="t", title=f"N = {n}, T = {T}")
ax.legend()
plt.show()

# %% [markdown]
# ## 7. Nonlinear features extend the spectrum past M
# Linear features have a rank-$M$ covariance; ReLU features continue the power law.

# %%
m, n = SPECTRUM_M, SPECTRUM_N
spectra = {
    "linear": rfs.simulate_spectrum(m, n, math.inf, b=1.5)[0],
    "relu": rfs.simulate_spectrum(m, n, 16 * n, b=1.5, features="relu")[0],
}
rfs.spectrum_figure(m=m, n=n, t=16 * n, b=1.5, spectra=spectra)
