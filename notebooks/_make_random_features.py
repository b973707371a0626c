"""Generate notebooks/random_features.ipynb (run: python notebooks/_make_random_features.py).

Outputs are not stored; the tests execute the notebook with SOLVABLE_QUICK=1.
"""

from pathlib import Path

import nbformat as nbf

md = nbf.v4.new_markdown_cell
code = nbf.v4.new_code_cell

cells = [
    md(
        "# Random-feature regression: MRS, Bahri's four regimes, BAP dynamics\n\n"
        "* Maloney, Roberts & Sully, *A Solvable Model of Neural Scaling Laws* (arXiv 2210.16859)\n"
        "* Bahri, Dyer, Kaplan, Lee & Sharma, *Explaining Neural Scaling Laws* (arXiv 2102.06701)\n"
        "* Bordelon, Atanasov & Pehlevan, *A Dynamical Model of Neural Scaling Laws* "
        "(arXiv 2402.01092)\n\n"
        "Latent data $x \\sim N(0, \\Lambda)$ with $\\lambda_k = k^{-b}$ ($k \\le M$), teacher "
        "$y = w\\cdot x$ with target power $v_k^2 = \\lambda_k E w_k^2 = k^{-a}/M$ (MRS: "
        "$a = b = 1+\\alpha$), $N$ random features $\\phi = Fx$, predictor "
        "$f = \\beta\\cdot\\phi/\\sqrt N$, trained on $T$ samples by ridge regression or gradient "
        "flow. Theory lives in `theory.random_features`, simulations in "
        "`simulations.random_features`.\n\n"
        "Set `SOLVABLE_QUICK=1` for small sizes (this is how the tests run it)."
    ),
    code(
        "import math, os\n"
        "import numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from theory import random_features as rft\n"
        "from simulations import fit, compare\n"
        "from simulations import random_features as rfs\n\n"
        "QUICK = os.environ.get('SOLVABLE_QUICK') == '1'\n"
        "print('quick mode' if QUICK else 'full mode')"
    ),
    md(
        "## 1. Exponents (THEORY.md §2)\n"
        "Loss $\\propto X^{-e}$: time $e_t = (a-1)/b$, data $e_P = \\min(a-1, 2b)$, features "
        "$e_N = \\min(a-1, b)$; with compute $C = Nt$ the optimum has "
        "$N^* \\propto C^{(a-1)/(a-1+b e_N)}$."
    ),
    code(
        "cols = ('b', 'a', 'e_t', 'e_P', 'e_N', 'N*', 't*', 'E*')\n"
        "print(' '.join(f'{c:>6}' for c in cols))\n"
        "for b, a in [(2, 2), (1.5, 1.5), (1.5, 2), (1.5, 4)]:\n"
        "    e = rft.exponents(b, a)\n"
        "    vals = [b, a] + [e[k] for k in ('e_t', 'e_P', 'e_N', 'compute_N', 'compute_t',\n"
        "                                     'compute_loss')]\n"
        "    print(' '.join(f'{v:6.3f}' for v in vals))"
    ),
    md(
        "## 2. MRS: the ridgeless closed form, duality, the peak and the plateau\n"
        "$E(N,T) = (\\sigma_w^2/M)\\, n\\kappa_n/(1-n/n')$ with $n = \\min(N,T)$, "
        "$n' = \\max(N,T)$, $\\mathrm{df}(\\kappa_n) = n$; asymptotically "
        "$(\\sigma_w^2\\lambda_+/M) C_\\alpha n^{-\\alpha}/(1-n/n')$."
    ),
    code(
        "alpha, M = 1.0, 512\n"
        "N = np.unique(np.round(np.geomspace(4, 4 * M, 300)))\n"
        "fig, ax = plt.subplots(figsize=(6, 4))\n"
        "for T in (32, 128, 2048):\n"
        "    E = rft.ridgeless_loss(alpha, M, N[N != T], T)\n"
        "    ax.loglog(N[N != T], np.where(E > 0, E, np.nan), label=f'T = {T}')\n"
        "asym = rft.ridgeless_asymptote(alpha, M, N, math.inf)\n"
        "ax.loglog(N, asym, 'k:', label='asymptote, T = ∞')\n"
        "ax.axvline(M, color='k', lw=0.6); ax.set(xlabel='N', ylabel='test loss'); ax.legend()\n"
        "print('C_alpha:', {a: round(rft.c_alpha(a), 4) for a in (0.5, 1, 2)})\n"
        "print('duality E(100, 300) == E(300, 100):', rft.ridgeless_loss(alpha, M, 100, 300),\n"
        "      rft.ridgeless_loss(alpha, M, 300, 100))"
    ),
    md(
        "## 3. Ridge regression: simulation against the deterministic equivalent\n"
        "Batched float64 simulations (`simulate_ridge`, one compilation per padded sweep) against "
        "`ridge_loss`, which solves $z(g) + \\delta N/(g(N - z(g))) = T$ for the renormalised "
        "ridge."
    ),
    code(
        "m = 128 if QUICK else 512\n"
        "b = a = 1.5\n"
        "T = m // 2\n"
        "Ns = np.array([8, 16, 32, 48, 96, 128, 256]) * (1 if QUICK else 4) // 1\n"
        "Ns = Ns[Ns != T]\n"
        "noise = 1e-2 / m\n"
        "r = rfs.simulate_ridge(m, Ns, [T], b=b, a=a, ridge=[0.0, 0.1], noise=noise,\n"
        "                       seeds=4 if QUICK else 16, pad='features', teacher_average=True)\n"
        "lam, v2 = rft.latent_spectrum(m, b), rft.target_power(m, a)\n"
        "grid = np.unique(np.round(np.geomspace(Ns[0], Ns[-1], 200)))\n"
        "fig, ax = plt.subplots(figsize=(6, 4))\n"
        "for k, ridge in enumerate(r['ridge']):\n"
        "    sim = r['test_loss_avg'][:, 0, k]\n"
        "    ax.errorbar(Ns, sim.mean(1), 2 * sim.std(1) / math.sqrt(sim.shape[1]), fmt='o',\n"
        "                color=f'C{k}', label=f'simulation, ridge {ridge:g}')\n"
        "    g = grid[grid != T]\n"
        "    ax.plot(g, rft.ridge_loss(lam, v2, g, T, ridge, noise), '-', color=f'C{k}')\n"
        "ax.set(xscale='log', yscale='log', xlabel='N', ylabel='test loss',\n"
        "       title=f'T = {T}, M = {m}')\n"
        "ax.legend();"
    ),
    md(
        "## 4. Bahri et al.'s four regimes\n"
        "Resolution-limited exponents in $N$ and $T$ (equal by duality), variance-limited "
        "corrections $\\propto 1/T$ and $\\propto 1/N$; measured with seed-bootstrap intervals and "
        "set beside the theory at the same sizes (`measure_scaling_regimes`, as in "
        "`solvable compare random-features`)."
    ),
    code(
        "import dataclasses\n"
        "cfg = dataclasses.replace(rfs.QUICK, n_latent=256, big=512, res_sizes=(16, 32, 64),\n"
        "                          var_latent=128, var_small=8, var_sizes=(64, 128, 256),\n"
        "                          var_seeds=16, seeds=4, n_boot=200)\n"
        "if not QUICK:\n"
        "    cfg = dataclasses.replace(rfs.DEFAULT, n_latent=1024, big=2048,\n"
        "                              res_sizes=(16, 32, 64, 128, 256), var_latent=512)\n"
        "rows = rfs.measure_scaling_regimes(cfg, 2.0, 2.0)\n"
        "print(compare.format_comparison_table(rows, rfs.PARAM_NAMES))"
    ),
    md(
        "## 5. BAP: gradient-flow dynamics and compute-optimal scaling\n"
        "Population gradient flow ($T = \\infty$) for several $N$: exact curves in the eigenbasis "
        "of each realised feature matrix (teacher-averaged) against the large-size theory "
        "`gradient_flow_loss` (the Laplace transform of the flow is the ridge estimator at ridge "
        "$s$; two-ridge deterministic equivalent, inverted on a Talbot contour). The lower "
        "envelope over $N$ at fixed compute $C = Nt$ is the compute-optimal frontier."
    ),
    code(
        "m = 512 if QUICK else 2048\n"
        "b = a = 2.0\n"
        "sizes = [8, 16, 32, 64] if QUICK else [16, 32, 64, 128, 256, 512]\n"
        "g = rfs.simulate_gradient_descent(m, sizes, math.inf, 200_000 if QUICK else 2_000_000,\n"
        "                                  b=b, a=a, learning_rate=1.0, flow=True,\n"
        "                                  seeds=4 if QUICK else 16, n_checkpoints=30, pad=True)\n"
        "lam, v2 = rft.latent_spectrum(m, b), rft.target_power(m, a)\n"
        "theory = np.stack([rft.gradient_flow_loss(lam, v2, n, math.inf, g['times']).test\n"
        "                   for n in sizes])\n"
        "sim = g['test_loss_avg'].mean(1)\n"
        "fig, axes = plt.subplots(1, 2, figsize=(11, 4))\n"
        "for i, n in enumerate(sizes):\n"
        "    axes[0].loglog(g['times'], sim[i], 'o', ms=3, color=f'C{i}', label=f'N = {n}')\n"
        "    axes[0].loglog(g['times'], theory[i], '-', color=f'C{i}')\n"
        "    axes[1].loglog(n * g['times'], theory[i], '-', color='0.7')\n"
        "front = fit.compute_optimal_frontier(sizes, np.outer(sizes, g['times']), sim)\n"
        "axes[1].loglog(front.budgets[front.interior], front.optimal_loss[front.interior], 'ro',\n"
        "               ms=3, label='simulated frontier')\n"
        "axes[0].set(xlabel='t', ylabel='test loss'); axes[0].legend(fontsize=8)\n"
        "axes[1].set(xlabel='C = N t'); axes[1].legend(fontsize=8)\n"
        "size_fit, loss_fit = fit.fit_frontier(front)\n"
        "print(f'N* ~ C^{size_fit.exponent:.3f}, E* ~ C^-{loss_fit.exponent:.3f}; '\n"
        "      f\"asymptotic {rft.exponents(b, a)['compute_N']:.3f}, \"\n"
        "      f\"{rft.exponents(b, a)['compute_loss']:.3f}\")"
    ),
    md(
        "## 6. Data reuse: the train–test gap\n"
        "With $T$ samples reused at every step the training loss keeps falling while the test "
        "loss stalls; the theory gives both."
    ),
    code(
        "n, T = (64, 64) if QUICK else (256, 256)\n"
        "g = rfs.simulate_gradient_descent(m, [n], T, 100_000, b=b, a=a, learning_rate=1.0,\n"
        "                                  flow=True, seeds=4 if QUICK else 16, n_checkpoints=30)\n"
        "th = rft.gradient_flow_loss(lam, v2, n, T, g['times'])\n"
        "fig, ax = plt.subplots(figsize=(6, 4))\n"
        "ax.loglog(g['times'], g['test_loss_avg'][0].mean(0), 'o', ms=3, label='test (sim)')\n"
        "ax.loglog(g['times'], g['train_loss'][0].mean(0), '^', ms=3, label='train (sim)')\n"
        "ax.loglog(g['times'], th.test, 'C0-', label='test (theory)')\n"
        "ax.loglog(g['times'], th.train, 'C1--', label='train (theory)')\n"
        "ax.set(xlabel='t', title=f'N = {n}, T = {T}'); ax.legend();"
    ),
    md(
        "## 7. Nonlinear features extend the spectrum past $M$\n"
        "Linear features have a rank-$M$ covariance; ReLU features continue the power law."
    ),
    code(
        "m, n = (16, 128) if QUICK else (64, 512)\n"
        "lin = rfs.simulate_spectrum(m, n, math.inf, b=1.5)[0]\n"
        "relu = rfs.simulate_spectrum(m, n, 16 * n, b=1.5, features='relu')[0]\n"
        "k = np.arange(1, n + 1)\n"
        "fig, ax = plt.subplots(figsize=(6, 4))\n"
        "ax.loglog(k, np.where(lin > 0, lin, np.nan) / lin[1], label='linear')\n"
        "ax.loglog(k, relu / relu[1], label='ReLU')\n"
        "ax.axvline(m, color='k', lw=0.6); ax.set(xlabel='k', ylabel='eigenvalue / eigenvalue_2')\n"
        "ax.set_ylim(1e-6, 10); ax.legend();"
    ),
]

nb = nbf.v4.new_notebook()
nb["cells"] = cells
nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
path = Path(__file__).resolve().parent / "random_features.ipynb"
nbf.write(nb, path)
print(f"wrote {path}")
