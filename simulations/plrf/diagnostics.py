"""Which terms set the PLRF compute-optimal loss: the term balance read off the W-free theory.

The phase table of Paquette, Paquette, Xiao, Pennington (arXiv 2405.15074, §3) follows from
balancing asymptotic terms of the loss, ``P ≈ F₀ + F_pp + F_ac + noise``
(:func:`theory.plrf.scaling_terms`, :func:`theory.plrf.asymptotic_terms`). Here the same split is
measured on the exact W-free dynamics at the compute-optimal point of each size, so a reader can
see which balance the dynamics actually follow at reachable ``d`` and how far each term still is
from its asymptotic form:

* ``capacity`` = ``P*(d)`` (the ``F₀`` term);
* ``forcing`` = ``F(r) − P*``: the deterministic part still decaying (``F_pp`` + ``F_ac``);
* ``noise`` = ``P(r) − F(r)``: the SGD-noise part, the Volterra convolution ``Σ_s K(r−1−s) P(s)``;

each beside its asymptotic form at the same ``(d, t = γBr)`` (``F_pp`` + ``F_ac`` for the
forcing, ``K_pp/(γB)`` for the noise; arXiv 2405.15074 §3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from simulations.plrf.limits import FRONTIER_SPECTRUM, WFreeCurves, curves_frontier
from theory import plrf as theory_plrf

__all__ = ["FrontierTerms", "frontier_terms"]


@dataclasses.dataclass(frozen=True, eq=False)
class FrontierTerms:
    """The loss at the compute-optimal point of each size, split into its terms.

    Attributes (``(n,)`` float64 arrays, one entry per size that is compute-optimal for some
    interior budget):
        d: the size; steps: the SGD steps ``r`` at which it is optimal; t: ``γBr``.
        loss: ``P(r)``; capacity: ``P*``; forcing: ``F(r) − P*``; noise: ``P(r) − F(r)``.
        forcing_asymptotic: ``F_pp + F_ac`` at ``(d, t)``; noise_asymptotic: ``K_pp/(γB)``.
    """

    alpha: float
    beta: float
    d: np.ndarray
    steps: np.ndarray
    t: np.ndarray
    loss: np.ndarray
    capacity: np.ndarray
    forcing: np.ndarray
    noise: np.ndarray
    forcing_asymptotic: np.ndarray
    noise_asymptotic: np.ndarray

    def local_exponents(self, name: str) -> np.ndarray:
        """``−d log(term)/d log d`` between consecutive sizes (decay convention)."""
        y = getattr(self, name)
        return -np.diff(np.log(y)) / np.diff(np.log(self.d))


def frontier_terms(curves: WFreeCurves, *, every: int = 1) -> FrontierTerms:
    """Split the W-free loss at the compute-optimal point of the sizes of ``curves``.

    The frontier of ``curves`` (:func:`simulations.plrf.limits.curves_frontier`) gives, for each
    size ``d`` on the ladder that is the discrete optimum of some interior budget ``f``, the
    budget closest to the one where ``d*(f) = d``; there ``r = f/(dB)``. The forcing
    ``F(r) = P* + Σ_i target_i q_i^r`` and the loss are evaluated on the same W-free spectrum
    (options of the curves' settings). ``every`` keeps every ``every``-th such size.
    """
    s = curves.settings
    batch, v_ratio, lr_scale = int(s["batch"]), float(s["v_ratio"]), float(s["lr_scale"])
    spectrum = dict(s.get("spectrum", FRONTIER_SPECTRUM))
    fr = curves_frontier(curves)
    ok = fr.interior & np.isfinite(fr.optimal_size)
    log_d_star, budgets = np.log(fr.optimal_size[ok]), fr.budgets[ok]
    rows = []
    sizes: Sequence[float] = curves.sizes
    for d in sizes:
        if not (log_d_star.min() <= np.log(d) <= log_d_star.max()):
            continue
        f = float(budgets[np.argmin(np.abs(log_d_star - np.log(d)))])
        rows.append((int(d), max(round(f / (d * batch)), 1)))
    rows = rows[::every]
    a, b = curves.alpha, curves.beta
    out = {k: [] for k in ("d", "steps", "t", "loss", "cap", "forc", "noise", "fa", "na")}
    for d, r in rows:
        v = max(round(v_ratio * d), d + 1)
        gamma = theory_plrf.learning_rate(a, v, lr_scale)
        spec = theory_plrf.continuum_spectrum(a, b, d, v, **spectrum)
        loss = float(theory_plrf.expected_loss(spec, gamma, batch, [r])[0])
        forcing = float(theory_plrf.forcing_function(spec, gamma, batch, np.float64(r)))
        t = gamma * batch * r
        asym = theory_plrf.asymptotic_terms(a, b, d, t, gamma, batch, v)
        p_star = float(spec.p_star)
        for key, value in (
            ("d", d),
            ("steps", r),
            ("t", t),
            ("loss", loss),
            ("cap", p_star),
            ("forc", forcing - p_star),
            ("noise", loss - forcing),
            ("fa", float(asym["F_pp"] + asym["F_ac"])),
            ("na", float(asym["K_pp"]) / (gamma * batch)),
        ):
            out[key].append(value)
    arr = {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
    return FrontierTerms(
        a,
        b,
        arr["d"],
        arr["steps"],
        arr["t"],
        arr["loss"],
        arr["cap"],
        arr["forc"],
        arr["noise"],
        arr["fa"],
        arr["na"],
    )
