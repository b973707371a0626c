"""Build notebooks/superposition.ipynb with cleared outputs.

Run: ``python notebooks/_make_superposition.py``.
"""

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def _md(text: str):
    return new_markdown_cell(dedent(text).strip())


def _code(text: str):
    return new_code_cell(dedent(text).strip())


CELLS = [
    _md(
        """
        # Superposition yields robust neural scaling

        The toy model of Liu, Liu & Gore, *Superposition Yields Robust Neural Scaling*
        (arXiv 2505.10465; THEORY.md §3): `n` sparse features `x_i = u_i s_i`
        (`u_i ~ Bernoulli(p_i)`, `s_i ~ U(0, 2)`) are squeezed into `m < n` dimensions by
        `h = Wᵀx` (`W` is `n × m`, row `W_i` represents feature `i`) and read back by
        `y = ReLU(W h + b)`. AdamW's *signed* weight decay `γ` tunes superposition: `γ > 0` decays
        unused rows (weak superposition: only the most frequent features are represented),
        `γ < 0` pulls every row norm to 1 (strong superposition: every feature is represented and
        they interfere).

        `SOLVABLE_QUICK=1` selects a small, fast run (what the tests execute).
        """
    ),
    _code(
        """
        import os
        import tempfile
        from pathlib import Path

        import numpy as np
        from IPython.display import Image, display

        from simulations import compare
        from simulations import superposition as sp
        from theory import superposition as theory

        QUICK = os.environ.get("SOLVABLE_QUICK") == "1"
        QUICK
        """
    ),
    _md(
        """
        ## Theory: the weak-superposition loss

        If only the `k` most frequent features are represented (without interference) and the
        others are predicted by their mean through the bias, each ignored feature costs its
        variance: `L_weak(k) = Σ_(i>k) (⟨s²⟩p_i − ⟨s⟩²p_i²)`. With `k = m` and `p_i ∝ i^(−α)`
        this decays as `m^(−(α−1))` when `n ≫ m`. THEORY.md's check values at `n = 1000`,
        `α = 1`: `L(10) = 0.8099`, `L(100) = 0.4092`.
        """
    ),
    _code(
        """
        print(theory.weak_loss(1000, 10, 1.0), theory.weak_loss(1000, 100, 1.0))
        widths = (10, 15, 25, 39, 63, 100)
        for a in (1.0, 1.25, 1.5, 1.75, 2.0):
            finite = theory.finite_n_weak_exponent(1000, widths, a)
            weak, strong = theory.model_exponent(a, "weak"), theory.model_exponent(a, "strong")
            print(f"alpha={a}: exact-sum slope {finite:.3f}, alpha-1 = {weak:.2f}, "
                  f"max(1, 2(alpha-1)) = {strong:.2f}")
        """
    ),
    _md(
        """
        ## Theory: why strong superposition gives 1/m

        In strong superposition the loss is set by interference: squared overlaps of nearly
        random unit vectors in `R^m`, whose mean is `1/m` and variance `2(m−1)/(m²(m+2))`.
        """
    ),
    _code(
        """
        rng = np.random.default_rng(0)
        for m in (8, 32, 128):
            u, v = rng.standard_normal((2, 20000, m))
            c2 = (u * v).sum(1) ** 2 / ((u * u).sum(1) * (v * v).sum(1))
            mean, var = theory.random_overlap_moments(m)
            print(f"m={m}: MC mean {c2.mean():.5f} (1/m = {mean:.5f}), "
                  f"MC var {c2.var():.2e} (theory {var:.2e})")
        """
    ),
    _md(
        """
        ## Simulation: weak vs strong superposition

        One batched sweep over widths × (law, γ, α) × seeds on the sweep engine. The quick preset
        is tiny and short: it separates the regimes (φ½ ≈ m/n vs ≈ 1) and gives a strong-regime
        slope near 1, but it under-trains (weak slopes stay below the exact sum's).
        """
    ),
    _code(
        """
        config = sp.COMPARE_PRESETS["quick" if QUICK else "default"]
        print(config.describe())
        data = sp.run_config(config, progress=False)
        rows = sp.comparison_rows(
            data, window=config.window, n_boot=config.n_boot, exp_scale=config.scale
        )
        print(compare.format_comparison_table(rows, ["law", "gamma", "alpha"]))
        """
    ),
    _code(
        """
        tmp = Path(tempfile.mkdtemp())
        display(Image(sp.plot_loss_vs_m(data, rows, tmp / "loss.png", exp_scale=config.scale)))
        display(Image(sp.plot_exponents(rows, tmp / "exp.png", n=config.n, widths=config.widths)))
        display(Image(sp.plot_norm_histograms(data, tmp / "hist.png")))
        display(Image(sp.plot_overlaps(data, tmp / "overlap.png")))
        """
    ),
    _md(
        """
        ## Measured overlaps

        In the strong regime every row is represented; the mean squared overlap of the
        normalised rows is set beside `1/m` (random vectors) and the Welch bound
        `(n−m)/(m(n−1))`, the least any `n` unit vectors in `R^m` can achieve.
        """
    ),
    _code(
        """
        for s in range(data.sizes["setting"]):
            if data["gamma"].values[s] >= 0:
                continue
            overlaps = np.nanmean(data["overlap_sq_represented"].values[s], axis=1)
            label = f"{data['law'].values[s]} alpha={data['alpha'].values[s]:g}"
            for m, o in zip(data["m"].values, overlaps):
                welch = theory.welch_bound(config.n, int(m))
                print(f"{label} m={m}: overlap {o:.4f}, 1/m {1 / m:.4f}, Welch {welch:.4f}")
        """
    ),
]


def main() -> Path:
    nb = new_notebook(cells=CELLS)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = Path(__file__).with_name("superposition.ipynb")
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    print(main())
