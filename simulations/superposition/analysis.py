"""Measurements of superposition sweeps beside theory: exponents ``alpha_m`` and ``phi_1/2``.

Input: the tidy dataset of :func:`.experiment.run_config` / :func:`.experiment.tidy` (dims
``(setting, m, seed)``); output: :class:`simulations.compare.ComparisonRow` lists. Runs nothing.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import xarray as xr
from scipy import stats

from simulations import compare, fit
from simulations.convergence import (
    BudgetConvergence,
    budget_convergence,
    parse_exponent_by_budget,
)
from theory import superposition as theory

__all__ = [
    "PARAM_NAMES",
    "BudgetConvergence",
    "budget_convergence",
    "comparison_rows",
    "diverged_counts",
    "exponent_rows",
    "parse_exponent_by_budget",
]

PARAM_NAMES = ("law", "gamma", "alpha")
"""Parameter columns of the comparison table: one row pair per setting."""


def _fit(widths, ys, window, n_boot) -> tuple[float, float, float, str]:
    """``(exponent, ci_low, ci_high, window)`` of the seed-bootstrap fit (NaN: all diverged)."""
    try:
        with warnings.catch_warnings():  # one seed: the regression interval, knowingly
            warnings.filterwarnings("ignore", message="bootstrap_power_law: only one")
            res = fit.bootstrap_power_law(widths, ys, window=window, n_boot=n_boot)
    except ValueError:  # every run diverged
        return math.nan, math.nan, math.nan, ""
    return res.exponent, res.ci_low, res.ci_high, f"{res.window[0]:g}:{res.window[1]:g}"


def diverged_counts(data: xr.Dataset) -> np.ndarray:
    """Diverged seeds per ``(setting, m)`` of tidy data (int array): the engine's ``diverged``
    flag (non-finite or above :func:`.limits.is_diverged`'s bound), else non-``finite`` runs
    (data of an older store), else none; runs not ``complete`` are not counted."""
    shape = (data.sizes["setting"], data.sizes["m"])
    for name, bad in (("diverged", True), ("finite", False)):
        if name in data:
            flags = np.asarray(data[name].values, dtype=bool) == bad
            if "complete" in data:
                flags &= np.asarray(data["complete"].values, dtype=bool)
            return flags.reshape(*shape, -1).sum(axis=-1)
    return np.zeros(shape, dtype=int)


def comparison_rows(
    data: xr.Dataset,
    *,
    window: tuple[float | None, float | None] | None = None,
    n_boot: int = 1000,
    exp_scale: float = 400.0,
) -> list[compare.ComparisonRow]:
    """Measured ``alpha_m`` (and ``phi_half``) per setting beside theory's predictions.

    ``alpha_m``: seed-bootstrap power-law fit of the final loss over the widths in ``window``
    (:func:`simulations.fit.bootstrap_power_law`, mean over seeds). ``predicted`` is the
    prediction of the regime expected from ``gamma``
    (:func:`theory.superposition.predicted_regime`); the extras give both (``pred_weak``: exact
    finite-``n`` sum; ``pred_strong``), ``alpha - 1`` and the measured ``phi_half``.
    ``phi_half`` rows: mean over widths and seeds, predicted ``m/n`` averaged over the same widths
    (weak) or 1 (strong) (:func:`theory.superposition.predicted_phi_half`), interval a
    t-interval over seeds.

    Budgets: with several training budgets (``final_loss_by_budget`` in ``data``, see
    :func:`.experiment.tidy`) the ``alpha_m`` rows add ``exponent_by_budget`` (the same fit at
    every budget, ``"B:e[lo,hi];..."``), ``converged_at`` (the budget, or ``no``) and
    ``convergence`` (the verdict in words) of :func:`budget_convergence`; ``measured`` stays the
    exponent of the largest budget.

    Learning-rate sweeps (``lr_best`` in ``data``, see :func:`.sweeps.tidy`): every width and
    budget was measured at its best learning rate; the ``alpha_m`` rows add ``lr_best``
    (``"m:lr,..."`` at the largest budget) and a note when the best rate of some width or budget
    sits at an end of the rates tried (the optimum was not bracketed).

    Diverged runs (:func:`diverged_counts`; NaN in tidy data) never enter a fit or a mean: every
    row carries their number over the fitted widths in the extra ``n_diverged`` (``0``
    included), and a row built without some of its runs says so in ``note``.

    Args:
        data: tidy sweep data with attribute ``n``.
        window: inclusive ``(m_min, m_max)`` of the fit (``None`` ends are open).
        n_boot: bootstrap resamples.
        exp_scale: decay length of the exponential law the data was run with.
    """
    n = int(data.attrs["n"])
    widths = np.asarray(data["m"].values)
    lo, hi = window if window is not None else (None, None)
    inwin = (widths >= (lo or 0)) & (widths <= (hi or np.inf))
    counts = diverged_counts(data)
    rows = []
    for s in range(data.sizes["setting"]):
        n_div = int(counts[s][inwin].sum())
        flag = {"n_diverged": str(n_div)}
        if n_div:
            flag["note"] = f"{n_div} diverged runs left out"
        law = str(data["law"].values[s])
        gamma, alpha = float(data["gamma"].values[s]), float(data["alpha"].values[s])
        params = {"law": law, "gamma": gamma, "alpha": alpha}
        regime = theory.predicted_regime(gamma)
        pred = theory.predicted_exponents(n, widths[inwin].tolist(), law, alpha, exp_scale)
        phi = data["phi_half"].values[s][inwin]  # (m, seed); NaN where a run diverged
        with warnings.catch_warnings():  # every run diverged: NaN, and n_diverged says why
            warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
            phi_mean = float(np.nanmean(phi))
            per_seed = np.nanmean(phi, axis=0)
        ys = data["final_loss"].values[s].T  # (seed, m)
        measured, ci_low, ci_high, win = _fit(widths, ys, window, n_boot)
        budget_extras = {}
        if "final_loss_by_budget" in data:
            budgets = [int(b) for b in data["budget"].values]
            fits = [
                _fit(widths, data["final_loss_by_budget"].values[s, k].T, window, n_boot)
                for k in range(len(budgets) - 1)
            ]
            fits.append((measured, ci_low, ci_high, win))  # the largest budget: the main data
            conv = budget_convergence(budgets, *zip(*[f[:3] for f in fits], strict=True))
            budget_extras = {
                "exponent_by_budget": conv.by_budget(),
                "converged_at": str(conv.converged_at) if conv.converged else "no",
                "convergence": conv.verdict(),
            }
            short = int(data["diverged_by_budget"].values[s, :-1][:, inwin].sum())
            if short:
                note = f"{short} diverged runs at shorter budgets left out"
                budget_extras["note"] = "; ".join(filter(None, [flag.get("note"), note]))
        budget_extras.update(
            _lr_extras(data, s, widths, inwin, budget_extras.get("note", flag.get("note")))
        )
        predicted = {"strong": pred["strong"], "weak": pred["weak"]}.get(regime, math.nan)
        rows.append(
            compare.ComparisonRow(
                params=params,
                phase=regime,
                quantity="alpha_m",
                predicted=predicted,
                measured=measured,
                ci_low=ci_low,
                ci_high=ci_high,
                extras={
                    "pred_weak": f"{pred['weak']:.4f}",
                    "pred_strong": f"{pred['strong']:.4f}",
                    "alpha_minus_1": ""
                    if math.isnan(pred["weak_asymptotic"])
                    else f"{alpha - 1:g}",
                    "phi_half": f"{phi_mean:.3f}",
                    "window": win,
                    **flag,
                    **budget_extras,
                },
            )
        )
        per_seed = per_seed[np.isfinite(per_seed)]
        if per_seed.size >= 2:
            half = stats.t.ppf(0.975, per_seed.size - 1) * per_seed.std(ddof=1)
            half /= math.sqrt(per_seed.size)
        else:
            half = math.nan
        phi_pred = float(np.mean(theory.predicted_phi_half(n, widths[inwin], regime)))
        rows.append(
            compare.ComparisonRow(
                params=params,
                phase=regime,
                quantity="phi_half",
                predicted=phi_pred,
                measured=phi_mean,
                ci_low=phi_mean - half,
                ci_high=phi_mean + half,
                extras={"window": win, **flag},
            )
        )
    return rows


def _lr_extras(data: xr.Dataset, s: int, widths, inwin, note: str | None) -> dict[str, str]:
    """``lr_best`` and the not-bracketed note of setting ``s`` (empty without an lr sweep)."""
    if "lr_best" not in data:
        return {}
    best = data["lr_best"].values[s]
    extras = {"lr_best": ",".join(f"{m:g}:{lr:.4g}" for m, lr in zip(widths, best, strict=True))}
    swept = np.asarray(data.attrs.get("lr_swept", []), dtype=float)
    chosen = data["lr_best_by_budget"].values[s] if "lr_best_by_budget" in data else best[None]
    if swept.size > 1:
        chosen = chosen[:, inwin]
        edge = np.isclose(chosen, swept.min()) | np.isclose(chosen, swept.max())
        if edge.any():
            at = sorted({int(m) for m in np.asarray(widths)[inwin][edge.any(axis=0)]})
            msg = f"best lr at an end of the rates tried for widths {at}"
            extras["note"] = "; ".join(filter(None, [note, msg]))
    return extras


def exponent_rows(
    rows: list[compare.ComparisonRow],
) -> dict[tuple[str, float, float], compare.ComparisonRow]:
    """The ``alpha_m`` rows of :func:`comparison_rows`, keyed by ``(law, gamma, alpha)``."""
    return {
        (r.params["law"], r.params["gamma"], r.params["alpha"]): r
        for r in rows
        if r.quantity == "alpha_m"
    }
