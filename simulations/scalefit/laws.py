"""Parametric scaling laws fitted by Huber regression on ``log L`` (approach 3 and relatives).

Every law is a prediction ``log L̂(θ; N, D, …)`` fitted by minimising ``Σ_i Huber_δ(log L̂_i −
log L_i)`` (δ = 1e−3 by default, Hoffmann et al. 2022, arXiv 2203.15556, App. D.2) with
``scipy.optimize.least_squares(loss="huber", f_scale=δ)``, whose robust cost is exactly that
Huber sum, from the best few points of a grid of starts.

* ``chinchilla``: ``L = E + A/N^α + B/D^β`` (Hoffmann et al. eq. (2)); the point estimate is
  :func:`simulations.chinchilla.fit_chinchilla` (their multi-start L-BFGS fit, which reproduces
  Besiroglu et al. 2024, arXiv 2404.10102), polished by the same Huber objective here.
  Compute-optimal ``N* ∝ C^a``, ``a = β/(α+β)``, ``D* ∝ C^b``, ``b = α/(α+β)`` (their eq. (4)).
* ``kaplan``: ``L = [(N_c/N)^(α_N/α_D) + D_c/D]^(α_D)`` (Kaplan et al. 2020, arXiv 2001.08361,
  eq. (1.5)); at ``C = 6ND`` the minimum over ``N`` is at
  ``N*^(p+1) = p·N_c^p·C/(6·D_c)``, ``p = α_N/α_D``, so ``a = α_D/(α_N+α_D)``.
* ``data-constrained``: Muennighoff et al. 2023 ("Scaling Data-Constrained Language Models",
  arXiv 2305.16264) eqs. (5)–(6): ``L = E + A/N'^α + B/D'^β`` with effective data
  ``D' = U_D + U_D·R_D*·(1 − exp(−R_D/R_D*))``, ``R_D = D/U_D − 1`` repetitions, and effective
  parameters ``N' = U_N + U_N·R_N*·(1 − exp(−R_N/R_N*))``, ``U_N = min(N, N*(U_D))``,
  ``R_N = N/U_N − 1``, where ``N*(U_D)`` is the Chinchilla-optimal size for ``U_D`` tokens.
  Its allocation exponents are those of the base law (unlimited data).
* ``saturating``: ``L = E + A·x^(−α)`` in one variable ``x`` (compute by default), started from
  :func:`simulations.powerlaw.fit_saturating`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from simulations.chinchilla import fit_chinchilla
from simulations.powerlaw import fit_saturating
from simulations.scalefit.data import FLOPS_PER_PARAM_TOKEN, RunTable

__all__ = [
    "LAWS",
    "Law",
    "LawFit",
    "compute_optimal",
    "fit_law",
    "huber_cost",
    "huber_refit",
    "law_features",
    "refit_law",
]

HUBER_DELTA = 1e-3


@dataclass(frozen=True)
class Law:
    """A parametric law: internal parameters ``theta`` and the names reported to users.

    Attributes:
        name: CLI name. theta_names: internal parameters (logs of positive prefactors).
        report: ``{reported name: function of theta}`` (e.g. ``E = exp(e)``).
        exponents: internal names of the exponents (profiled, checked for identifiability).
        log_predict: ``(theta, features) -> log L̂`` for a dict of log-feature arrays.
        allocation: ``theta -> a`` with ``N* ∝ C^a`` at ``C = 6ND`` (``None``: not defined).
        needs: feature keys the law reads (``lN``, ``lD``, ``lU``, ``lx``).
    """

    name: str
    theta_names: tuple[str, ...]
    report: dict[str, Callable]
    exponents: tuple[str, ...]
    log_predict: Callable
    needs: tuple[str, ...]
    allocation: Callable | None = None


@dataclass(frozen=True, eq=False)
class LawFit:
    """A fitted :class:`Law`.

    Attributes:
        law: the law. theta: ``(p,)`` internal parameters at the optimum.
        params: reported parameters (``{"E": …, "alpha": …}``).
        objective: ``Σ Huber_δ(log L̂ − log L)`` at the optimum. huber_delta: δ.
        residuals: ``(n,)`` ``log L̂ − log L``. jacobian: ``(n, p)`` of ``log L̂`` in ``theta``.
        n_points: rows used. method: how it was fitted.
    """

    law: Law
    theta: np.ndarray
    params: dict
    objective: float
    huber_delta: float
    residuals: np.ndarray
    jacobian: np.ndarray
    n_points: int
    method: str
    features: dict = field(default_factory=dict, repr=False)

    @property
    def a(self) -> float:
        """Exponent of ``N* ∝ C^a`` (NaN where the law defines no allocation)."""
        return math.nan if self.law.allocation is None else float(self.law.allocation(self.theta))

    def predict(self, features: dict) -> np.ndarray:
        """``L̂`` at the log-features of :func:`law_features`."""
        return np.exp(self.law.log_predict(self.theta, features))


def _exp(v) -> float:
    """``exp`` that overflows to ``inf`` instead of raising (far-out bootstrap refits)."""
    with np.errstate(over="ignore"):
        return float(np.exp(v))


def _lse(*terms):
    m = np.maximum.reduce([np.broadcast_to(t, np.broadcast(*terms).shape) for t in terms])
    return m + np.log(sum(np.exp(t - m) for t in terms))


def _chin_predict(t, f):
    return _lse(t[0] - t[3] * f["lN"], t[1] - t[4] * f["lD"], np.full_like(f["lN"], t[2]))


def _kaplan_predict(t, f):
    lnc, ldc, an, ad = t
    return ad * _lse((an / ad) * (lnc - f["lN"]), ldc - f["lD"])


def _dc_effective(t, f):
    """``log N'`` and ``log D'`` of Muennighoff et al. eqs. (5)-(6)."""
    la, lb, _, al, be, lrd, lrn = t
    lU = f["lU"]
    rd = np.maximum(np.exp(f["lD"] - lU) - 1.0, 0.0)
    Rd, Rn = math.exp(min(max(lrd, -30.0), 30.0)), math.exp(min(max(lrn, -30.0), 30.0))
    lDp = lU + np.log1p(Rd * -np.expm1(-rd / Rd))
    # N*(U_D): the Chinchilla-optimal size whose optimal token count is U_D
    lG = (math.log(al / be) + la - lb) / (al + be) if al > 0 and be > 0 else 0.0
    lnstar = lG + (be / al) * (lG + lU) if al > 0 else np.inf
    lUn = np.minimum(f["lN"], lnstar)
    rn = np.maximum(np.exp(f["lN"] - lUn) - 1.0, 0.0)
    lNp = lUn + np.log1p(Rn * -np.expm1(-rn / Rn))
    return lNp, lDp


def _dc_predict(t, f):
    lNp, lDp = _dc_effective(t, f)
    return _lse(t[0] - t[3] * lNp, t[1] - t[4] * lDp, np.full_like(lNp, t[2]))


def _sat_predict(t, f):
    return _lse(t[0], t[1] - t[2] * f["lx"])


def _chin_report():
    return {
        "E": lambda t: _exp(t[2]),
        "A": lambda t: _exp(t[0]),
        "B": lambda t: _exp(t[1]),
        "alpha": lambda t: float(t[3]),
        "beta": lambda t: float(t[4]),
    }


LAWS: dict[str, Law] = {
    "chinchilla": Law(
        "chinchilla",
        ("log_A", "log_B", "log_E", "alpha", "beta"),
        _chin_report(),
        ("alpha", "beta"),
        _chin_predict,
        ("lN", "lD"),
        lambda t: t[4] / (t[3] + t[4]),
    ),
    "kaplan": Law(
        "kaplan",
        ("log_Nc", "log_Dc", "alpha_N", "alpha_D"),
        {
            "N_c": lambda t: _exp(t[0]),
            "D_c": lambda t: _exp(t[1]),
            "alpha_N": lambda t: float(t[2]),
            "alpha_D": lambda t: float(t[3]),
        },
        ("alpha_N", "alpha_D"),
        _kaplan_predict,
        ("lN", "lD"),
        lambda t: t[3] / (t[2] + t[3]),
    ),
    "data-constrained": Law(
        "data-constrained",
        ("log_A", "log_B", "log_E", "alpha", "beta", "log_RD", "log_RN"),
        {
            **_chin_report(),
            "R_D_star": lambda t: _exp(t[5]),
            "R_N_star": lambda t: _exp(t[6]),
        },
        ("alpha", "beta"),
        _dc_predict,
        ("lN", "lD", "lU"),
        lambda t: t[4] / (t[3] + t[4]),
    ),
    "saturating": Law(
        "saturating",
        ("log_E", "log_A", "alpha"),
        {
            "E": lambda t: _exp(t[0]),
            "A": lambda t: _exp(t[1]),
            "alpha": lambda t: float(t[2]),
        },
        ("alpha",),
        _sat_predict,
        ("lx",),
    ),
}

SATURATING_VARIABLES = ("compute", "params", "tokens")


def law_features(table: RunTable, law: Law, x: str = "compute") -> dict:
    """The log-features a law reads, from a :class:`RunTable` (``x``: saturating variable)."""
    if x not in SATURATING_VARIABLES:
        raise ValueError(f"x must be one of {SATURATING_VARIABLES}, got {x!r}")
    f = {"lN": np.log(table.N), "lD": np.log(table.D)}
    if "lU" in law.needs:
        if table.unique is None:
            raise ValueError(
                "the data-constrained law needs a unique-tokens column (--unique-tokens)"
            )
        if (table.unique > table.D * (1 + 1e-12)).any():
            bad = int((table.unique > table.D * (1 + 1e-12)).sum())
            col = table.names.get("unique", "unique")
            raise ValueError(f"column {col!r} exceeds the tokens column in {bad} rows")
        f["lU"] = np.log(table.unique)
    if "lx" in law.needs:
        f["lx"] = np.log({"compute": table.C, "params": table.N, "tokens": table.D}[x])
    return f


def huber_cost(law: Law, theta, f, lL, delta: float) -> float:
    """``Σ Huber_δ(log L̂ − log L)`` at ``theta`` (``inf`` where the prediction is not finite)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r = np.abs(law.log_predict(theta, f) - lL)
    h = np.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta))
    s = float(h.sum())
    return s if math.isfinite(s) else math.inf


def huber_refit(law: Law, theta0, f, lL, delta: float, fixed: dict | None = None):
    """Huber fit from one start: ``(theta, cost)``.

    ``f``: log-features (:func:`law_features`), ``lL``: log losses, ``fixed``: ``{index: value}``
    of parameters held fixed (profile likelihood).
    """
    from scipy import optimize  # imported here: slow to import

    fixed = fixed or {}
    free = np.array([i for i in range(len(theta0)) if i not in fixed], dtype=int)
    full = np.array(theta0, dtype=np.float64)
    for i, v in fixed.items():
        full[i] = v

    def unpack(z):
        t = full.copy()
        t[free] = z
        return t

    def resid(z):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            r = law.log_predict(unpack(z), f) - lL
        return np.where(np.isfinite(r), r, 1e3)

    res = optimize.least_squares(
        resid,
        full[free],
        loss="huber",
        f_scale=delta,
        method="trf",
        x_scale="jac",
        ftol=1e-15,
        xtol=1e-15,
        gtol=1e-15,
        max_nfev=4000,
    )
    t = unpack(res.x)
    return t, huber_cost(law, t, f, lL, delta)


def _numeric_jacobian(law: Law, theta, f) -> np.ndarray:
    """Central differences of ``log L̂`` in ``theta`` (step 1e-6 relative)."""
    cols = []
    for i in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[i]))
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        cols.append((law.log_predict(tp, f) - law.log_predict(tm, f)) / (2 * h))
    return np.stack(cols, axis=1)


def _grid_starts(law: Law, f, lL) -> np.ndarray:
    if law.name == "kaplan":
        lc = np.log([1e6, 1e9, 1e12, 1e15])
        ex = [0.05, 0.1, 0.2, 0.4]
        g = np.meshgrid(lc, lc, ex, ex, indexing="ij")
        return np.stack([m.ravel() for m in g], axis=1)
    if law.name == "saturating":
        x = np.exp(f["lx"])
        try:
            s = fit_saturating(x, np.exp(lL))
            first = [
                [math.log(max(s.floor, 1e-3 * np.exp(lL).min())), math.log(s.prefactor), s.exponent]
            ]
        except ValueError:
            first = []
        le = np.log(np.exp(lL).min()) + np.log([0.3, 0.6, 0.9])
        g = np.meshgrid(le, np.log([1.0, 1e2, 1e4]) + lL.mean(), [0.05, 0.2, 0.5, 1.0])
        rest = np.stack([m.ravel() for m in g], axis=1)
        return np.vstack([np.array(first).reshape(-1, 3), rest])
    raise ValueError(f"no start grid for law {law.name!r}")


def _chinchilla_start(f, lL, delta: float) -> np.ndarray:
    fc = fit_chinchilla(
        np.exp(f["lN"]), np.exp(f["lD"]), np.exp(lL), huber_delta=delta, optimizer="BFGS"
    )
    return np.array([math.log(fc.A), math.log(fc.B), math.log(fc.E), fc.alpha, fc.beta])


def _starts(law: Law, f, lL, delta: float, n_local: int) -> np.ndarray:
    if law.name == "chinchilla":
        return _chinchilla_start(f, lL, delta)[None, :]
    if law.name == "data-constrained":
        base = _chinchilla_start(f, lL, delta)
        rs = np.log([5.0, 15.0, 50.0])
        return np.array([[*base, a, b] for a in rs for b in rs])
    grid = _grid_starts(law, f, lL)
    cost = np.array([huber_cost(law, t, f, lL, delta) for t in grid])
    return grid[np.argsort(cost, kind="stable")[:n_local]]


def _finish(law: Law, theta, cost, f, lL, delta: float, method: str) -> LawFit:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r = law.log_predict(theta, f) - lL
    return LawFit(
        law=law,
        theta=theta,
        params={k: fn(theta) for k, fn in law.report.items()},
        objective=cost,
        huber_delta=delta,
        residuals=r,
        jacobian=_numeric_jacobian(law, theta, f),
        n_points=int(lL.size),
        method=method,
        features={**f, "lL": lL},
    )


def fit_law(
    table: RunTable,
    law: str | Law = "chinchilla",
    *,
    huber_delta: float = HUBER_DELTA,
    x: str = "compute",
    n_local: int = 5,
) -> LawFit:
    """Fit a parametric law to every row of ``table`` (Huber on ``log L``, multi-start).

    Args:
        table: the runs. law: a name of :data:`LAWS` or a :class:`Law`.
        huber_delta: δ of the Huber loss (> 0). x: variable of the saturating law
            (``"compute"``, ``"params"`` or ``"tokens"``). n_local: grid starts refined.

    Returns:
        :class:`LawFit`.
    """
    if isinstance(law, str):
        if law not in LAWS:
            raise ValueError(f"law must be one of {tuple(LAWS)}, got {law!r}")
        law = LAWS[law]
    if not (math.isfinite(huber_delta) and huber_delta > 0):
        raise ValueError(f"huber_delta must be > 0, got {huber_delta}")
    p = len(law.theta_names)
    if table.n <= p:
        raise ValueError(
            f"column {table.names.get('L', 'L')!r}: {table.n} rows cannot fit the {p} "
            f"parameters of the {law.name} law (need > {p})"
        )
    f = law_features(table, law, x)
    lL = np.log(table.L)
    best_t, best_c = None, math.inf
    try:
        starts = _starts(law, f, lL, huber_delta, n_local)
    except OverflowError:
        raise ValueError(f"{law.name} fit failed: the start search overflowed") from None
    for t0 in starts:
        if law.name == "chinchilla" and huber_cost(law, t0, f, lL, huber_delta) == 0.0:
            t, c = t0, 0.0  # exact data: nothing to polish
        else:
            t, c = huber_refit(law, t0, f, lL, huber_delta)
            c0 = huber_cost(law, t0, f, lL, huber_delta)
            if c0 < c:
                t, c = np.asarray(t0, dtype=np.float64), c0
        if c < best_c:
            best_t, best_c = t, c
    if best_t is None:
        raise ValueError(f"{law.name} fit failed: no start reached a finite objective")
    return _finish(law, best_t, best_c, f, lL, huber_delta, f"huber(δ={huber_delta:g})")


def refit_law(point: LawFit, table: RunTable, x: str = "compute") -> LawFit:
    """Refit ``point``'s law on other rows (a bootstrap replicate), started at ``point``."""
    f = law_features(table, point.law, x)
    lL = np.log(table.L)
    t, c = huber_refit(point.law, point.theta, f, lL, point.huber_delta)
    return _finish(point.law, t, c, f, lL, point.huber_delta, point.method)


def compute_optimal(fit: LawFit, C, flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN):
    """``(N*, D*)`` at compute ``C`` under a fitted law with an allocation (``C = 6·N·D``)."""
    C = np.asarray(C, dtype=np.float64)
    t = fit.theta
    c6 = C / flops_per_param_token
    if fit.law.name in ("chinchilla", "data-constrained"):
        al, be = t[3], t[4]
        lG = (math.log(al / be) + t[0] - t[1]) / (al + be)
        n_opt = _exp(lG) * c6 ** (be / (al + be))
    elif fit.law.name == "kaplan":
        p = t[2] / t[3]
        n_opt = (p * _exp(p * t[0] - t[1]) * c6) ** (1.0 / (p + 1.0))
    else:
        raise ValueError(f"the {fit.law.name} law defines no compute-optimal allocation")
    return n_opt, c6 / n_opt
