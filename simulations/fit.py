"""Scaling-law measurement: exponents with confidence intervals and compute-optimal frontiers.

Every model of the library turns its loss curves into numbers here. Pure numpy/scipy, float64
throughout.

Conventions
-----------
* **Exponent sign.** A quantity ``Q ∝ X^(−e)`` has exponent ``e``, positive when ``Q`` falls
  (a decaying loss has a positive exponent). The only exception is the size of the compute-optimal
  frontier, which grows with compute: :func:`fit_frontier` reports ``ξ > 0`` for ``d* ∝ f^(+ξ)``
  and marks the result ``convention="growth"``.
* **Windows** are explicit and inclusive, ``(x_min, x_max)`` in the units of ``x`` (either end may
  be ``None`` for "unbounded"), and every result reports the window it used.
* **Bad points are never averaged in.** A non-finite or non-positive value cannot enter a log-log
  fit: in a single curve it is dropped (and counted in ``n_dropped``); across seeds
  (``ys[seed, point]``) it excludes that seed at that point only, and a seed with no usable value
  at all (a diverged run, e.g. one masked by :func:`simulations.sweep.mask_diverged`) is excluded
  from the resampling and counted in ``n_excluded_seeds``.
* **Confidence intervals.** Single-curve fits give the regression's t-interval (standard error of
  the slope; meaningful only if the residuals are independent noise, which smooth theory curves are
  not). Bootstrap fits resample *seeds* with replacement (or points, for a 1-D input), refit, and
  report percentile intervals, by default Hesterberg's expanded percentile interval that corrects
  the plain one's undercoverage with few seeds; this is the interval to quote for simulations.

Fitted forms
------------
* :func:`fit_power_law`, :func:`bootstrap_power_law`: ``y ≈ A·x^(−e)`` by least squares on
  ``log y = log A − e·log x``.
* :func:`fit_saturating`, :func:`bootstrap_saturating`: ``L = E + A·x^(−a)``, ``E ≥ 0``, least
  squares on ``log L`` from the best point of a grid over ``a``.
* :func:`fit_chinchilla`: ``L(N, D) = E + A/N^α + B/D^β`` by Hoffmann et al. 2022 ("Training
  Compute-Optimal Large Language Models", arXiv 2203.15556) approach 3, eq. (2) and App. D.2:
  Huber loss (δ = 1e−3) on ``log L`` against ``LSE(a − α log N, b − β log D, e)``, L-BFGS from a
  grid of starts, keep the best; as replicated by Besiroglu et al. 2024 (arXiv 2404.10102).
  :func:`chinchilla_compute_optimal` gives their eq. (4): ``N* = G (C/6)^(β/(α+β))``,
  ``G = (αA/(βB))^(1/(α+β))``, ``D* = (C/6)/N*``.
* :func:`compute_optimal_frontier`, :func:`fit_frontier`, :func:`bootstrap_frontier`: the IsoFLOP
  envelope ``P*(f) = min_d P(f, d)`` of the training curves (Hoffmann et al. approach 1) with
  its argmin ``d*(f)`` refined by a parabola in ``log d`` as in their IsoFLOP profiles (approach
  2); the exponents ``d* ∝ f^ξ``, ``P* ∝ f^(−η)`` are those of Paquette et al. 2024 (arXiv
  2405.15074) for PLRF.

This module is the public fitting API; the work is done in :mod:`simulations.powerlaw`,
:mod:`simulations.chinchilla` and :mod:`simulations.frontier` (built on
:mod:`simulations.regression`).
"""

from simulations.chinchilla import ChinchillaFit, chinchilla_compute_optimal, fit_chinchilla
from simulations.frontier import (
    Frontier,
    bootstrap_frontier,
    compute_optimal_frontier,
    fit_frontier,
)
from simulations.powerlaw import (
    PowerLawFit,
    SaturatingFit,
    bootstrap_power_law,
    bootstrap_saturating,
    fit_power_law,
    fit_saturating,
)
from simulations.regression import reduce_seeds

__all__ = [
    "ChinchillaFit",
    "Frontier",
    "PowerLawFit",
    "SaturatingFit",
    "bootstrap_frontier",
    "bootstrap_power_law",
    "bootstrap_saturating",
    "chinchilla_compute_optimal",
    "compute_optimal_frontier",
    "fit_chinchilla",
    "fit_frontier",
    "fit_power_law",
    "fit_saturating",
    "reduce_seeds",
]
