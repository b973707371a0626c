"""Generate notebooks/lottery.ipynb (run: python notebooks/_make_lottery.py). Outputs are not
stored."""

from pathlib import Path

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell(
        "# Lottery-ticket ensembles: width scaling of one-hidden-layer nets\n\n"
        "Liu & Tegmark, *A Neural Scaling Law from Lottery Ticket Ensembling* (arXiv 2310.02258). "
        "Nets $f(x) = \\sum_i v_i \\sigma(w_i x + b_i) + c$ of width $N$ regress $y = x^2$ on "
        "$x \\sim U[-2, 2]$. Approximation theory predicts MSE $\\propto N^{-4}$ (piecewise-linear "
        "fits); the paper observes $N^{-1}$ for SiLU and explains it as a central limit theorem "
        "over $\\propto N$ *lottery tickets* (mirror pairs of neurons). The authors later flagged "
        "the theory as questionable, so this notebook tests the measurements and the mechanism: "
        "(1) the exact ReLU floor, (2) the SiLU slope and its dependence on the training budget, "
        "(3) mirror pairs and the $N = 2$ loss histogram, (4) explicit ensembles.\n\n"
        "Set `SOLVABLE_QUICK=1` for small sizes (this is how the tests run it)."
    ),
    nbf.v4.new_code_cell(
        "import os\n\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n\n"
        "from simulations import lottery as lot\n"
        "from theory import lottery as theory\n\n"
        "QUICK = os.environ.get('SOLVABLE_QUICK') == '1'\n"
        "print('quick mode' if QUICK else 'full mode')"
    ),
    nbf.v4.new_markdown_cell(
        "## 1. The ReLU floor\n"
        "A width-$N$ ReLU net is continuous piecewise linear with at most $N$ knots. The best "
        "continuous fit of $x^2$ with $K$ pieces has equal pieces and MSE $h^4/180$, "
        "$h = 4/K$; THEORY.md's bound is $K = N + 1$. But a ReLU net's leftmost slope is minus "
        "a sum of slope changes, which forces one **flat** piece: the equal $(N+1)$-piece fit has "
        "one only for even $N$. For odd $N$ the exact floor is higher:"
    ),
    nbf.v4.new_code_cell(
        "print(f\"{'N':>4} {'exact floor':>12} {'1.4222/(N+1)^4':>15} {'ratio':>7}\")\n"
        "for n in (1, 2, 3, 4, 5, 7, 8, 15, 16):\n"
        "    f, b = theory.relu_floor(n), theory.relu_floor_bound(n)\n"
        "    print(f'{n:>4} {f:12.4e} {b:15.4e} {f / b:7.3f}')\n"
        "best = theory.relu_best_fit(3)\n"
        "x = lot.midpoint_grid(400)\n"
        "fig, ax = plt.subplots(figsize=(5, 3.5))\n"
        "ax.plot(x, x**2, 'k', lw=1, label='x²')\n"
        "fit = lot.predict(best.w, best.b, best.v, best.c, x, 'relu')\n"
        "ax.plot(x, fit, label='best N = 3 net')\n"
        "ax.plot(best.knots, best.knots**2, 'o', ms=3)\n"
        "ax.set_title(f'N = 3: flat piece {best.flat_piece}, MSE {best.mse:.4g}')\n"
        "ax.legend();"
    ),
    nbf.v4.new_markdown_cell(
        "Trained ReLU nets never go below the exact floor; the best seeds reach it at small $N$ "
        "(the exact population MSE of each net is computed piecewise, `relu_net_mse`)."
    ),
    nbf.v4.new_code_cell(
        "relu_widths = (2, 3) if QUICK else (2, 3, 4, 8, 16)\n"
        "relu_recipe = lot.Recipe(adam_steps=2000) if QUICK else lot.RELU_RECIPE\n"
        "res = lot.train(relu_widths, activation='relu', recipe=relu_recipe, "
        "seeds=8 if QUICK else 32)\n"
        "for ds in res.groups:\n"
        "    n = int(ds.attrs['static.width'])\n"
        "    exact = theory.relu_net_mse(*lot.net_params(ds))\n"
        "    print(f'N = {n:3d}: best / floor = {exact.min() / theory.relu_floor(n):.4f}, '\n"
        "          f'median / floor = {np.median(exact) / theory.relu_floor(n):.2f}')"
    ),
    nbf.v4.new_markdown_cell(
        "## 2. SiLU: the slope depends on the training budget\n"
        "THEORY.md §4: with Adam for 3000 steps (lr 3e−2 cosine to 1e−5) the median MSE falls as "
        "$N^{-1.1}$; other budgets give other slopes, and an L-BFGS polish makes it much steeper. "
        "Every slope below names its recipe."
    ),
    nbf.v4.new_code_cell(
        "widths = (4, 16) if QUICK else (4, 8, 16, 32, 64)\n"
        "seeds = 8 if QUICK else 16\n"
        "recipes = ([lot.Recipe(adam_steps=1000)] if QUICK\n"
        "           else [lot.Recipe(adam_steps=1000), lot.QUICK_RECIPE, lot.POLISHED_RECIPE])\n"
        "tables = []\n"
        "for recipe in recipes:\n"
        "    table = lot.width_table(lot.train(widths, recipe=recipe, seeds=seeds), recipe)\n"
        "    tables.append(table)\n"
        "    f = lot.fit_width_exponent(table, n_boot=500)\n"
        "    print(f'{recipe.label:40s} exponent {f.exponent:.2f} '\n"
        "          f'[{f.ci_low:.2f}, {f.ci_high:.2f}]')\n"
        "lot.plot_width_scaling(tables, None, 'lottery_width_scaling.png')\n"
        "from IPython.display import Image\n"
        "Image('lottery_width_scaling.png')"
    ),
    nbf.v4.new_markdown_cell(
        "A single mirror pair $v[\\sigma(wx+b) + \\sigma(-wx+b)]$ already fits $x^2$ with an "
        "error $\\propto w^4$ as $w \\to 0$: width is not what limits a SiLU net, the optimiser is."
    ),
    nbf.v4.new_code_cell(
        "for w in (1.0, 0.3, 0.1, 0.03):\n"
        "    print(f'w = {w:5}: best mirror-pair MSE {theory.mirror_pair_mse(w, 0.5):.3e}')"
    ),
    nbf.v4.new_markdown_cell(
        "## 3. Mechanism: the $N = 2$ histogram and mirror pairs\n"
        "Width-2 nets over many seeds: the losses fall into separated modes; the lowest one is "
        "made of mirror pairs $(w, b, v), (-w, b, v)$ (small `pair_asymmetry`). In a wide net, "
        "compare the paired fraction with the same nets at initialisation: dense nets have "
        "chance partners."
    ),
    nbf.v4.new_code_cell(
        "n2_recipe = lot.Recipe(adam_steps=1000, lbfgs_steps=300) if QUICK "
        "else lot.FULL_CONFIG.n2_recipe\n"
        "n2 = lot.run_n2(n2_recipe, 48 if QUICK else 256)\n"
        "n2['modes'] = lot.loss_modes(n2['mse'])\n"
        "for m in n2['modes']:\n"
        "    frac = np.mean(n2['asymmetry'][m.members] < lot.MIRROR_TOL)\n"
        "    print(f'mode at log10 MSE {m.center:6.2f}: {m.count:4d} seeds, '\n"
        "          f'{frac:.0%} mirror pairs')\n"
        "lot.plot_n2_histogram(n2, 'lottery_n2.png')\n"
        "Image('lottery_n2.png')"
    ),
    nbf.v4.new_code_cell(
        "wide = lot.run_wide(256 if QUICK else 1024, lot.Recipe(adam_steps=300) if QUICK "
        "else lot.QUICK_RECIPE, 1)\n"
        "print(f\"mirror-paired fraction (tolerance 0.1): {wide['fraction'][0]:.1%}, \"\n"
        "      f\"the same nets at init: {wide['fraction_init'][0]:.1%}\")\n"
        "lot.plot_mirror_pairs(wide, 'lottery_wide.png')\n"
        "Image('lottery_wide.png')"
    ),
    nbf.v4.new_markdown_cell(
        "## 4. Explicit ensembles\n"
        "Averaging $K$ independently trained nets gives bias² + variance/$K$ exactly (estimated "
        "on one half of the nets, measured on the other). A single net of width $4K$ can do "
        "better than an ensemble of $K$ width-4 nets: its tickets are trained jointly."
    ),
    nbf.v4.new_code_cell(
        "ens_recipe = recipes[0] if QUICK else lot.QUICK_RECIPE\n"
        "curve, excluded = lot.run_ensemble(4, ens_recipe, 32 if QUICK else 256,\n"
        "                                   (1, 2, 4, 8) if QUICK else (1, 2, 4, 8, 16, 32))\n"
        "print('excluded stuck nets:', excluded)\n"
        "for k, m, p in zip(curve.ks, curve.mse, curve.predicted):\n"
        "    print(f'K = {k:3d}: measured {m:.3e}, bias² + variance/K = {p:.3e}')\n"
        "# single nets of width 4K under the same recipe (from section 2)\n"
        "single = tables[[t.recipe for t in tables].index(ens_recipe.label)]\n"
        "lot.plot_ensembles(curve, 4, single, 'lottery_ensembles.png')\n"
        "Image('lottery_ensembles.png')"
    ),
    nbf.v4.new_markdown_cell(
        "## 5. The comparison table\n"
        "`solvable compare lottery [--quick]` runs all of this at full size and writes "
        "`comparison.csv` (columns `activation,recipe,width,phase,quantity,predicted,measured,"
        "ci_low,ci_high,window,n_seeds,note`)."
    ),
]

nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, Path(__file__).with_name("lottery.ipynb"))
