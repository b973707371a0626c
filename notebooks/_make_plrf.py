"""Generate notebooks/plrf.ipynb (run: python notebooks/_make_plrf.py). Outputs are not stored."""

from pathlib import Path

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell(
        "# Power-law random features (PLRF): the 4+3 phases of compute-optimal scaling\n\n"
        "Paquette, Paquette, Xiao, Pennington, *4+3 Phases of Compute-Optimal Neural Scaling "
        "Laws* (NeurIPS 2024, arXiv 2405.15074).\n\n"
        "Data $x \\sim N(0, D)$, $D = \\mathrm{diag}(j^{-2\\alpha})$, target $y = \\langle x, b "
        "\\rangle$ with $b_j = j^{-\\beta}$, features $W^\\top x$ with $W \\in \\mathbb{R}^{v "
        "\\times d}$, one-pass SGD. Loss $P(\\theta) = \\|D^{1/2}(W\\theta - b)\\|^2$; compute "
        "$f = d \\cdot B \\cdot r$. This notebook walks from the theory (phases, exponents) to "
        "simulations (SGD against the Volterra equation) to a measured compute-optimal "
        "frontier.\n\n"
        "Set `SOLVABLE_QUICK=1` for small sizes (this is how the tests run it)."
    ),
    nbf.v4.new_code_cell(
        "import os\n\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "from IPython.display import Image\n\n"
        "from simulations import plrf as plrf_sim\n"
        "from simulations import plrf_commands, plrf_plots\n"
        "from theory import plrf\n\n"
        "QUICK = os.environ.get('SOLVABLE_QUICK') == '1'\n"
        "print('quick mode' if QUICK else 'full mode')"
    ),
    nbf.v4.new_markdown_cell(
        "## 1. Theory: phases and compute-optimal exponents\n"
        "$d^*(f) \\propto f^{\\xi}$ and $P(f/d^*, d^*) \\propto f^{-\\eta}$. One reference point "
        "per phase:"
    ),
    nbf.v4.new_code_cell(
        "print(f\"{'alpha':>6} {'beta':>5} {'phase':>5} {'xi':>7} {'eta':>7}\")\n"
        "for a, b in plrf_commands.PHASE_POINTS:\n"
        "    xi, eta = plrf.compute_optimal_exponents(a, b)\n"
        "    print(f'{a:>6} {b:>5} {plrf.phase(a, b):>5} {xi:7.4f} {eta:7.4f}')"
    ),
    nbf.v4.new_code_cell(
        "n = 60 if QUICK else 200\n"
        "alphas, betas = np.linspace(0.02, 2, n), np.linspace(-0.2, 2, n)\n"
        "eta = np.array([[plrf.compute_optimal_exponents(a, b)[1] if 2*a + 2*b > 1 else np.nan\n"
        "                 for a in alphas] for b in betas])\n"
        "fig, ax = plt.subplots(figsize=(6, 4.5))\n"
        "im = ax.pcolormesh(alphas, betas, eta, shading='auto')\n"
        "plrf_plots.draw_phase_boundaries(ax)\n"
        "fig.colorbar(im, label='predicted η')\n"
        "ax.set_title('compute-optimal loss exponent η');"
    ),
    nbf.v4.new_markdown_cell(
        "## 2. One configuration: SGD against theory\n"
        "The mean of SGD runs (eigenbasis path, $O(d)$ per sample) beside the exact expected loss "
        "of the same embeddings (Volterra recursion) and the deterministic equivalent (no $W$)."
    ),
    nbf.v4.new_code_cell(
        "alpha, beta = 0.7, 1.0\n"
        "d = 32 if QUICK else 256\n"
        "v = 4 * d\n"
        "gamma = plrf.default_learning_rate(alpha, v, 0.5)\n"
        "steps = int(min(2e4 if QUICK else 1e6, 4 * d ** (2 * alpha) / gamma))\n"
        "ds = plrf_sim.simulate(alpha, beta, d, max_steps=steps, seeds=8 if QUICK else 32,\n"
        "                       n_checkpoints=30, expected=True)\n"
        "det = plrf.expected_loss(plrf.deterministic_equivalent_spectrum(alpha, beta, d, v),\n"
        "                         gamma, 1, ds['step'].values)\n"
        "sgd = ds['loss'].values\n"
        "plrf_plots.loss_curves(ds['step'].values, sgd.mean(0),\n"
        "                       sgd.std(0, ddof=1) / np.sqrt(sgd.shape[0]),\n"
        "                       ds['expected_loss'].values.mean(0), det, 'sgd_vs_theory.png',\n"
        "                       title=f'α={alpha}, β={beta}, d={d}')\n"
        "Image('sgd_vs_theory.png')"
    ),
    nbf.v4.new_markdown_cell(
        "## 3. A measured compute-optimal frontier\n"
        "Expected-loss curves for several $d$ (several $W$ each), IsoFLOP envelope, fitted "
        "$\\xi$ and $\\eta$ with seed-bootstrap intervals."
    ),
    nbf.v4.new_code_cell(
        "sizes = plrf_commands._sqrt2_sizes(32, 128 if QUICK else 1024)\n"
        "cfg = plrf_commands.PhaseDiagramConfig(sizes=sizes, seeds=2 if QUICK else 4,\n"
        "                                       n_boot=50, n_checkpoints=100)\n"
        "res = plrf_commands.run_phase_sweep([(alpha, beta)], cfg, progress=False)\n"
        "m = plrf_commands.measure_point(res, 0, n_boot=cfg.n_boot)\n"
        "xi_pred, eta_pred = plrf.compute_optimal_exponents(alpha, beta)\n"
        "print(f'xi : measured {m.xi.exponent:.3f} [{m.xi.ci_low:.3f}, {m.xi.ci_high:.3f}]'\n"
        "      f'  predicted {xi_pred:.3f}')\n"
        "print(f'eta: measured {m.eta.exponent:.3f} [{m.eta.ci_low:.3f}, {m.eta.ci_high:.3f}]'\n"
        "      f'  predicted {eta_pred:.3f}')\n"
        "plrf_plots.isoflop_grid([m], 'isoflop.png')\n"
        "Image('isoflop.png')"
    ),
    nbf.v4.new_markdown_cell(
        "Small sizes bias the measured exponents (THEORY.md §1, 'What finite sizes give'); run "
        "`solvable phase-diagram plrf` for the full comparison across all phases."
    ),
]

nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, Path(__file__).with_name("plrf.ipynb"))
