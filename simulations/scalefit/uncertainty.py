"""How far a fit can be trusted: bootstrap, profile likelihood, identifiability, held-out error.

* :func:`bootstrap_estimates`: refit on resampled rows, or on resampled whole groups (curves,
  seeds) when rows of a group share their errors; percentile intervals, Hesterberg-expanded for
  the number of resampled units (:func:`simulations.regression.percentile_ci`).
* :func:`law_covariance`: the asymptotic covariance of a Huber M-estimator (Huber 1981,
  *Robust Statistics*, §7.6, eq. (6.5)): ``K² · [Σψ²/(n−p)] / (mean ψ')² · (JᵀJ)⁻¹`` with
  ``K = 1 + (p/n)·var(ψ')/(mean ψ')²``, ``ψ`` the Huber score of the log residuals and ``J`` the
  Jacobian of ``log L̂``; its correlation matrix and the condition number of the scaled
  Hessian ``JᵀJ`` (unit diagonal) measure how well the design separates the parameters.
* :func:`profile_interval`: the robust likelihood-ratio interval of Schrader & Hettmansperger
  1980 (Biometrika 67, 93–101): ``{v : 2·(min_{θ_k=v} ρ − min ρ)·mean ψ'/mean ψ² ≤ χ²₁(ci)}``
  with ``ρ`` the Huber objective (for least squares this is the usual profile likelihood);
  the threshold is the ``F(1, n − p)`` quantile, its small-sample form.
* :func:`identifiability_verdict`: a sentence saying which parameters the data cannot separate.
* :func:`largest_budget_rows`: the rows held out to measure extrapolation error.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from simulations.regression import percentile_ci
from simulations.scalefit.approaches import isoflop_budgets
from simulations.scalefit.data import RunTable
from simulations.scalefit.laws import LawFit, huber_refit

__all__ = [
    "CORRELATION_LIMIT",
    "PREFACTORS",
    "bootstrap_estimates",
    "delta_se",
    "identifiability_verdict",
    "interval",
    "largest_budget_rows",
    "law_covariance",
    "profile_interval",
]

#: Internal names of prefactors, left out of the verdict (see :func:`identifiability_verdict`).
PREFACTORS = ("log_A", "log_B", "log_Nc", "log_Dc")

#: |correlation| above which two parameters are called inseparable by the data.
CORRELATION_LIMIT = 0.95


def bootstrap_estimates(
    estimate, table: RunTable, *, n_boot: int = 200, by_group: bool = False, seed: int = 0
):
    """Refit ``estimate(table) -> {name: value}`` on ``n_boot`` resampled tables.

    Args:
        estimate: the fit, returning a dict of point estimates (a ValueError skips a replicate).
        table: the runs. n_boot: replicates (>= 1). seed: resampling seed.
        by_group: resample whole groups (``table.group``) instead of rows.

    Returns:
        ``(samples, n_units, n_failed)``: ``{name: (n_boot,) array}`` (NaN where a replicate
        failed), the number of resampled units, the number of failed replicates.
    """
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    units = table.units(by_group)
    labels = np.unique(units)
    members = [np.flatnonzero(units == u) for u in labels]
    rng = np.random.default_rng(seed)
    samples: dict[str, np.ndarray] = {}
    failed = 0
    for r in range(int(n_boot)):
        pick = rng.integers(0, labels.size, size=labels.size)
        rows = np.concatenate([members[i] for i in pick])
        try:
            est = estimate(table.subset(rows))
        except (ValueError, OverflowError, FloatingPointError, np.linalg.LinAlgError):
            failed += 1
            continue
        for k, v in est.items():
            samples.setdefault(k, np.full(int(n_boot), np.nan))[r] = v
    return samples, int(labels.size), failed


def interval(samples: np.ndarray, ci: float, n_units: int) -> tuple[float, float]:
    """Expanded percentile interval of bootstrap ``samples`` (``n_units`` resampled units)."""
    return percentile_ci(np.asarray(samples, dtype=np.float64), ci, n_units)


def _psi(fit: LawFit):
    """Huber scores ``ψ(r)`` and a smoothed estimate of ``E ψ'(r) = P(|r| ≤ δ)``.

    When δ is small against the residuals (δ = 1e−3 on log losses with percent-level noise) only
    a handful of residuals fall inside ``[−δ, δ]``, and counting them is noisy; ``P(|r| ≤ δ)`` is
    then ``δ/w · P(|r| ≤ w)`` for a window ``w = max(δ, 1.06·σ̂·n^(−1/5))`` (Silverman's
    bandwidth, ``σ̂ = 1.4826·MAD``), i.e. a box-kernel density at 0 times ``2δ``, leaving out
    the ``p`` residuals that the fit sets to zero.
    """
    r, d = fit.residuals, fit.huber_delta
    n, p = fit.jacobian.shape
    sigma = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    w = max(d, 1.06 * sigma * n ** (-0.2))
    inside = float((np.abs(r) <= w).sum())
    if w > d and n > p:
        # a Huber fit with small δ passes (nearly) through p points, like least absolute
        # deviations: their residuals are 0 by construction, not draws of the error density
        inside = max(inside - p, 0.0) * n / (n - p)
    mean_dpsi = inside / n * d / w
    return np.clip(r, -d, d), (np.abs(r) <= d).astype(np.float64), mean_dpsi


def law_covariance(fit: LawFit) -> dict:
    """Huber covariance of ``theta``, its correlation matrix and the design's conditioning.

    Returns:
        ``{"cov", "corr", "se", "condition"}``: ``(p, p)`` covariance and correlation of the
        internal parameters, ``(p,)`` standard errors, and the condition number of ``JᵀJ``
        scaled to unit diagonal (scale-free: 1 for orthogonal directions, ∞ for a direction the
        data do not constrain at all).
    """
    J = fit.jacobian
    n, p = J.shape
    H = J.T @ J
    d = np.sqrt(np.maximum(np.diag(H), 1e-300))
    Hs = H / np.outer(d, d)
    condition = float(np.linalg.cond(Hs))
    psi, dpsi, m = _psi(fit)
    with np.errstate(divide="ignore", invalid="ignore"):
        K = 1.0 + (p / n) * dpsi.var() / (m * m)
        scale = K * K * (psi @ psi) / max(n - p, 1) / (m * m)
        inv = np.linalg.pinv(H)
        cov = scale * inv if m > 0 else np.full((p, p), np.nan)
        sd = np.sqrt(np.maximum(np.diag(inv), 0.0))
        corr = inv / np.outer(sd, sd)
    return {
        "cov": cov,
        "corr": corr,
        "se": np.sqrt(np.maximum(np.diag(cov), 0.0)),
        "condition": condition,
    }


def delta_se(grad: np.ndarray, cov: np.ndarray) -> float:
    """Delta-method standard error ``sqrt(gᵀ Σ g)`` of a smooth function with gradient ``g``."""
    v = float(grad @ cov @ grad)
    return math.sqrt(v) if v >= 0 else math.nan


def _robust_scale(fit: LawFit) -> float:
    psi, _, mp = _psi(fit)
    m2 = (psi * psi).mean()
    return mp / m2 if m2 > 0 and mp > 0 else math.nan


def profile_interval(fit: LawFit, name: str, *, ci: float = 0.95, se: float | None = None):
    """Robust profile-likelihood interval of one internal parameter (see the module docstring).

    Args:
        fit: a :class:`LawFit`. name: an entry of ``fit.law.theta_names``.
        ci: level. se: step scale (default: the Huber standard error, or 5 % of the value).

    Returns:
        ``(lo, hi)``; an end is ``±inf`` when the statistic stays below the threshold as far as
        64 standard errors out (the data do not bound it).
    """
    k = fit.law.theta_names.index(name)
    n, p = fit.jacobian.shape
    # F(1, n − p) rather than χ²₁: exact for least squares with Gaussian errors, → χ²₁ as n grows
    crit = float(stats.f.ppf(ci, 1, max(n - p, 1)))
    scale = _robust_scale(fit)
    lL = fit.features["lL"]
    if not math.isfinite(scale):
        return (math.nan, math.nan)
    if se is None or not (math.isfinite(se) and se > 0):
        s_ = law_covariance(fit)["se"][k]
        se = s_ if math.isfinite(s_) and s_ > 0 else 0.05 * max(abs(fit.theta[k]), 1e-3)
    base = fit.objective

    def stat(v, warm):
        t, c = huber_refit(fit.law, warm, fit.features, lL, fit.huber_delta, fixed={k: v})
        return 2.0 * (c - base) * scale - crit, t

    ends = []
    for sign in (-1.0, 1.0):
        warm, prev, end = fit.theta.copy(), fit.theta[k], sign * math.inf
        for mult in (0.5, 1, 2, 4, 8, 16, 32, 64):
            v = fit.theta[k] + sign * mult * se
            g, t = stat(v, warm)
            if g > 0:
                end = optimize.brentq(lambda x, w=warm: stat(x, w)[0], prev, v, xtol=1e-6 * se)
                break
            warm, prev = t, v
        ends.append(end)
    return (float(ends[0]), float(ends[1]))


def _span(x: np.ndarray) -> str:
    n = np.unique(x).size
    dec = math.log10(x.max() / x.min()) if n > 1 else 0.0
    return f"{n} values spanning {dec:.1f} decades"


def identifiability_verdict(
    fit: LawFit,
    table: RunTable,
    *,
    limit: float = CORRELATION_LIMIT,
    loose: float = 0.1,
    cov: dict | None = None,
) -> str:
    """A plain-language verdict on which exponents (and floor, repetition constants) the data can
    separate.

    Pairs among the parameters other than prefactors whose correlation exceeds ``limit`` in
    absolute value are named, with the design that fails to separate them, e.g. "alpha and beta
    cannot be separated with sizes: 6 values spanning 1.0 decades ...: their correlation is
    0.98". The verdict starts with

    * ``NOT IDENTIFIED`` when such a pair also has a loose parameter (Huber standard error above
      ``loose`` relative to the value; for a log-parameter, above ``loose`` itself), when a
      correlation is not estimable, or when the scaled Hessian is singular;
    * ``CORRELATED`` when the pairs are tight all the same (the data measure each parameter
      well despite the ridge; quote the intervals, not the point estimates alone);
    * ``identified`` otherwise, with the largest correlation.

    Prefactor–exponent correlations are left out: they only say the data sit far from ``N = 1``.
    """
    cov = cov or law_covariance(fit)
    corr, names = cov["corr"], fit.law.theta_names
    keys = [n for n in names if n not in PREFACTORS]
    design = []
    if "lN" in fit.law.needs:
        design.append(f"sizes: {_span(table.N)}")
    if "lD" in fit.law.needs:
        design.append(f"tokens: {_span(table.D)}")
    if "lx" in fit.law.needs:
        design.append(f"x: {_span(np.exp(fit.features['lx']))}")
    with_design = "; ".join(design)

    def rel_se(name):
        k = names.index(name)
        se = cov["se"][k]
        return se if name.startswith("log_") else se / max(abs(fit.theta[k]), 1e-12)

    bad, tight = [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            c = corr[names.index(a), names.index(b)]
            if not math.isfinite(c):
                bad.append(
                    f"{a} and {b} cannot be separated: their correlation is not even "
                    "estimable (a parameter has no effect on the fit)"
                )
            elif abs(c) > limit:
                loose_pair = not max(rel_se(a), rel_se(b)) <= loose
                (bad if loose_pair else tight).append(
                    f"{a} and {b} cannot be separated: their correlation is {c:.3f}"
                    if loose_pair
                    else f"{a} and {b} are strongly correlated ({c:.3f}) but each is tight"
                )
    if not math.isfinite(cov["condition"]) or cov["condition"] > 1e12:
        bad.append(
            f"the scaled Hessian is singular to working precision (condition number "
            f"{cov['condition']:.2g}): some combination of parameters is not identified"
        )
    if bad:
        return f"NOT IDENTIFIED with {with_design}: " + "; ".join(bad + tight)
    if tight:
        return f"CORRELATED with {with_design}: " + "; ".join(tight)
    off = [
        (abs(corr[names.index(a), names.index(b)]), a, b)
        for i, a in enumerate(keys)
        for b in keys[i + 1 :]
    ]
    if not off:
        return f"identified ({with_design}); condition number {cov['condition']:.2g}"
    c, a, b = max(off)
    return (
        f"identified: largest |correlation| among non-prefactors is {c:.2f} ({a}, {b}) "
        f"with {with_design}; condition number {cov['condition']:.2g}"
    )


def largest_budget_rows(table: RunTable, *, budget_tol: float = 1e-6, budgets=None) -> np.ndarray:
    """Boolean mask of the rows of the largest compute budget (the held-out rows).

    The budgets are those of approach 2 (:func:`simulations.scalefit.approaches.isoflop_budgets`);
    when the largest one has fewer than 3 rows (continuous compute), the tenth of the rows with
    the largest compute (at least 3) is taken instead.
    """
    labels = isoflop_budgets(table.C, budget_tol, budgets)
    top = labels == labels.max()
    if top.sum() >= 3 and top.sum() < table.n:
        return top
    k = max(3, table.n // 10)
    return table.C >= np.sort(table.C)[-k]
