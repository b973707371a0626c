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
from theory import superposition as theory

__all__ = ["PARAM_NAMES", "comparison_rows", "diverged_counts", "exponent_rows"]

PARAM_NAMES = ("law", "gamma", "alpha")
"""Parameter columns of the comparison table: one row pair per setting."""


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
        try:
            with warnings.catch_warnings():  # one seed: the regression interval, knowingly
                warnings.filterwarnings("ignore", message="bootstrap_power_law: only one")
                res = fit.bootstrap_power_law(widths, ys, window=window, n_boot=n_boot)
            measured, ci_low, ci_high = res.exponent, res.ci_low, res.ci_high
            win = f"{res.window[0]:g}:{res.window[1]:g}"
        except ValueError:  # every run diverged
            measured = ci_low = ci_high = math.nan
            win = ""
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


def exponent_rows(
    rows: list[compare.ComparisonRow],
) -> dict[tuple[str, float, float], compare.ComparisonRow]:
    """The ``alpha_m`` rows of :func:`comparison_rows`, keyed by ``(law, gamma, alpha)``."""
    return {
        (r.params["law"], r.params["gamma"], r.params["alpha"]): r
        for r in rows
        if r.quantity == "alpha_m"
    }
