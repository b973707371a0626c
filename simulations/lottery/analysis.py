"""Sweep results of lottery-ticket nets -> measurements -> rows of ``solvable compare lottery``.

Runs nothing: :func:`n2_histogram`, :func:`wide_mirror_pairs` and :func:`ensemble_measurement`
measure the datasets of the mechanism runs, and :func:`measure` turns everything
:func:`simulations.lottery.experiment.run_compare` trained into :class:`CompareData` (fits,
diagnostics and the comparison rows). Rows: parameter columns ``activation,recipe,width``
(``width`` is a fit window ``"4-64"`` for exponent rows, a number for per-width rows), then the
common columns ``phase,quantity,predicted,measured,ci_low,ci_high``, then the extras
``window,n_seeds,n_diverged,note`` and, on the rows of the largest budget of a SiLU budget
ladder (:func:`budget_ladders`), ``exponent_by_budget,converged_at,convergence``.

Diverged runs (non-finite, or flagged by :func:`simulations.lottery.sweeps.diverged`) never
enter a fit or a statistic: they are NaN in every :class:`~simulations.lottery.sweeps.
WidthTable` and left out of the mechanism diagnostics. Every row counts the diverged runs behind
it in ``n_diverged``; a fit that left some out says so in its ``note``, and a width exponent with
fewer than two widths of usable runs in its window is not fitted (``measured`` NaN).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr

from simulations import fit
from simulations.compare import ComparisonRow
from simulations.lottery.diagnostics import (
    FINE_MIRROR_TOL,
    MIRROR_TOL,
    EnsembleCurve,
    LossMode,
    budget_convergence,
    ensemble_curve,
    fit_width_exponent,
    floor_ratios,
    loss_modes,
    median_ci,
    mirror_pairs,
    pair_asymmetry,
    predict,
    usable_widths,
    wilson_ci,
)
from simulations.lottery.experiment import CompareConfig, CompareRuns
from simulations.lottery.model import LONG_POLISHED_RECIPE, QUICK_RECIPE, midpoint_grid
from simulations.lottery.sweeps import WidthTable, net_params
from simulations.results import count_diverged, mask_diverged
from theory import lottery as theory

__all__ = [
    "PARAM_NAMES",
    "REFERENCE_PHASE",
    "CompareData",
    "EnsembleResult",
    "N2Histogram",
    "WideNets",
    "budget_ladders",
    "ensemble_measurement",
    "measure",
    "n2_histogram",
    "wide_mirror_pairs",
]

PARAM_NAMES = ("activation", "recipe", "width")
"""Parameter columns of ``comparison.csv``."""

REFERENCE_PHASE = "reference measurement"
"""Phase label of the rows that set a width exponent beside a reference measurement
(:data:`theory.lottery.REFERENCE_SILU_SLOPE`, :data:`theory.lottery.REFERENCE_POLISHED_SLOPE`).
Tables written before the redesign used another label for these rows (it named a file outside
the repository)."""


# --- the mechanism runs, measured ---------------------------------------------------------------
class N2Histogram(NamedTuple):
    """Width-2 nets (:func:`simulations.lottery.sweeps.run_n2`), measured.

    Attributes:
        mse: ``(n_seeds,)`` test MSE (NaN for diverged runs).
        w, b, v: ``(n_seeds, 2)``; c: ``(n_seeds,)``.
        asymmetry: ``(n_seeds,)`` :func:`pair_asymmetry`.
        modes: :func:`loss_modes` of ``mse`` (diverged runs are in none).
        n_diverged: diverged runs.
    """

    mse: np.ndarray
    w: np.ndarray
    b: np.ndarray
    v: np.ndarray
    c: np.ndarray
    asymmetry: np.ndarray
    modes: list[LossMode]
    n_diverged: int = 0


def _n_diverged(ds: xr.Dataset, point: int = 0) -> int:
    return int(count_diverged(ds)[point])


def n2_histogram(ds: xr.Dataset) -> N2Histogram:
    """Test MSE, parameters, mirror asymmetry and loss modes of a width-2 group."""
    w, b, v, c = net_params(ds)
    mse = mask_diverged(ds)["test_mse"].isel(point=0).values
    asymmetry = pair_asymmetry(w, b, v)
    return N2Histogram(mse, w, b, v, c, asymmetry, loss_modes(mse), _n_diverged(ds))


class WideNets(NamedTuple):
    """Wide SiLU nets (:func:`simulations.lottery.sweeps.run_wide`), measured.

    Attributes:
        w, b, v: ``(n_seeds, N)``; c: ``(n_seeds,)``; mse: ``(n_seeds,)`` test MSE.
        distance, fraction: :func:`mirror_pairs` (tol 0.1) of the trained nets:
            ``(n_seeds, N)`` and ``(n_seeds,)``.
        distance_init, fraction_init: the same for the nets at initialisation (the null).
        n_diverged: diverged nets, left out of every array above.
    """

    w: np.ndarray
    b: np.ndarray
    v: np.ndarray
    c: np.ndarray
    mse: np.ndarray
    distance: np.ndarray
    fraction: np.ndarray
    distance_init: np.ndarray
    fraction_init: np.ndarray
    n_diverged: int = 0


def wide_mirror_pairs(ds: xr.Dataset, tol: float = 0.1) -> WideNets:
    """Mirror-pair fractions of wide nets and of the same nets at initialisation.

    In a wide net the neurons fill the ``(w, b)`` square so densely that most have *some*
    neighbour within 0.1 of their mirror image by chance (about 80 % at ``N = 256``), so only the
    excess over the initial nets says that training made mirror pairs. Diverged nets are left
    out (their parameters are no trained net).

    Raises:
        ValueError: every net diverged.
    """
    sel = ds.isel(point=0)
    keep = np.isfinite(mask_diverged(ds)["test_mse"].isel(point=0).values)
    if not keep.any():
        raise ValueError(f"wide_mirror_pairs: all {keep.size} nets diverged, nothing to measure")
    w, b, v, c = (p[keep] for p in net_params(ds))
    pairs = mirror_pairs(w, b, v, tol=tol)
    init = [
        np.asarray(sel[k].values, dtype=np.float64)[keep] for k in ("w_init", "b_init", "v_init")
    ]
    null = mirror_pairs(*init, tol=tol)
    mse = sel["test_mse"].values[keep]
    distances = (pairs.distance, pairs.fraction, null.distance, null.fraction)
    return WideNets(w, b, v, c, mse, *distances, n_diverged=int((~keep).sum()))


class EnsembleResult(NamedTuple):
    """Explicit ensembles of narrow nets (:func:`ensemble_measurement`).

    Attributes:
        curve: the :class:`EnsembleCurve`.
        excluded: nets left out as stuck (test MSE > 100x the median).
        width: width of the ensembled nets.
        n_diverged: nets left out as diverged.
    """

    curve: EnsembleCurve
    excluded: int
    width: int
    n_diverged: int = 0


def ensemble_measurement(ds: xr.Dataset, ks: Sequence[int], n_x: int = 2048) -> EnsembleResult:
    """Explicit ensembles of the SiLU nets of ``ds`` (:func:`ensemble_curve` on ``x²``).

    Diverged nets, and nets stuck far above the rest (test MSE > 100x the median of the others:
    the constant solution with every ``w = 0``), are left out before ensembling; their numbers
    are ``n_diverged`` and ``excluded``.
    """
    w, b, v, c = net_params(ds)
    mse = mask_diverged(ds)["test_mse"].isel(point=0).values
    ok = np.isfinite(mse)
    keep = ok & (mse <= 100.0 * np.nanmedian(mse))
    x = midpoint_grid(n_x)
    pred = predict(w[keep], b[keep], v[keep], c[keep], x)
    curve = ensemble_curve(pred, x**2, ks)
    stuck = int((ok & ~keep).sum())
    return EnsembleResult(curve, stuck, int(ds.attrs["static.width"]), int((~ok).sum()))


# --- the comparison -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CompareData:
    """Everything :func:`measure` measured (for the table, figures and notebooks).

    Attributes:
        silu: one :class:`WidthTable` per SiLU recipe (the config's order).
        relu: the ReLU :class:`WidthTable`.
        silu_fits: width-exponent fits by recipe label (``label@lo-hi`` for the upper windows of
            polished recipes).
        relu_fits: ReLU fits by window label ``lo-hi`` (a window with fewer than two widths of
            usable runs has no fit, in either dict).
        n2, wide, ensemble: the mechanism diagnostics (``None`` without ``config.mechanism``).
        ensemble_single: the SiLU table of the ensembled nets' recipe (single nets of width
            ``width·K``), if the config sweeps it.
        rows: the comparison rows, in table order.
    """

    silu: tuple[WidthTable, ...]
    relu: WidthTable
    silu_fits: dict[str, fit.PowerLawFit]
    relu_fits: dict[str, fit.PowerLawFit]
    n2: N2Histogram | None = None
    wide: WideNets | None = None
    ensemble: EnsembleResult | None = None
    ensemble_single: WidthTable | None = None
    rows: tuple[ComparisonRow, ...] = ()


def _window(window) -> tuple[int, int]:
    lo, hi = window
    return int(lo), int(hi)


def _window_label(window) -> str:
    return f"{window[0]}-{window[1]}"


def _extras(n_seeds: int, n_diverged: int, note: str, **more: str) -> dict[str, str]:
    return {**more, "n_seeds": str(n_seeds), "n_diverged": str(int(n_diverged)), "note": note}


def _exponent_rows(table: WidthTable, window, n_boot: int, predictions):
    """Rows of one width-exponent fit; ``(rows, fit)`` with ``fit`` None when not fitted."""
    inside = (table.widths >= window[0]) & (table.widths <= window[1])
    n_div = int(table.diverged()[inside].sum())
    n_usable = int(usable_widths(table, window).sum())
    pf = fit_width_exponent(table, window, n_boot=n_boot) if n_usable >= 2 else None
    if pf is None:
        flag = f"; not fitted: {n_usable} width(s) with usable runs, {n_div} diverged runs"
    elif n_div:
        flag = f"; {n_div} diverged runs left out of the fit"
    else:
        flag = ""
    label = _window_label(window)
    params = {"activation": table.activation, "recipe": table.recipe, "width": label}
    measured = (math.nan,) * 3 if pf is None else (pf.exponent, pf.ci_low, pf.ci_high)
    rows = [
        ComparisonRow(
            params,
            phase,
            "width_exponent",
            predicted,
            *measured,
            extras=_extras(table.test_mse.shape[0], n_div, note + flag, window=label),
        )
        for phase, predicted, note in predictions
    ]
    return rows, pf


def _silu_rows(config: CompareConfig, tables: Sequence[WidthTable]):
    rows, fits = [], {}
    window = _window(config.silu_window)
    for run, table in zip(config.silu_recipes, tables, strict=True):
        preds = [
            ("lottery CLT", theory.LOTTERY_CLT_EXPONENT, "Liu & Tegmark: N^-1"),
            ("approximation", theory.approximation_exponent(1), "Sharma & Kaplan: N^-4/d"),
        ]
        if run.recipe == QUICK_RECIPE:
            preds.append((REFERENCE_PHASE, theory.REFERENCE_SILU_SLOPE, "reference, 32 seeds"))
        if run.recipe == LONG_POLISHED_RECIPE:
            note = "reference: Adam + L-BFGS, budget unstated"
            preds.append((REFERENCE_PHASE, theory.REFERENCE_POLISHED_SLOPE, note))
        r, pf = _exponent_rows(table, window, config.n_boot, preds)
        rows += r
        if pf is not None:
            fits[run.recipe.label] = pf
        upper = (max(window[0], window[1] // 4), window[1])
        inside = (table.widths >= upper[0]) & (table.widths <= upper[1])
        if run.recipe.lbfgs_steps and np.sum(inside) >= 2:
            # the polished slope bends with N: report the upper half of the window too
            pred = [("lottery CLT", 1.0, "upper half of the window (log scale)")]
            r, pf = _exponent_rows(table, upper, config.n_boot, pred)
            rows += r
            if pf is not None:
                fits[run.recipe.label + "@" + _window_label(upper)] = pf
    return _with_budget_verdicts(config, rows, fits), fits


def budget_ladders(config: CompareConfig) -> list[list[int]]:
    """The SiLU sweeps of ``config`` that form training-budget ladders: indices into
    ``config.silu_recipes`` of Adam-only recipes (no L-BFGS) that differ only in ``adam_steps``,
    at least two per ladder, fewest steps first. Each is its own run: the learning-rate schedule
    ends at the recipe's last Adam step, so a shorter budget is not a checkpoint of a longer
    one."""
    groups: dict[tuple, list[int]] = {}
    for i, run in enumerate(config.silu_recipes):
        r = run.recipe
        if r.lbfgs_steps == 0:
            groups.setdefault((r.lr, r.lr_end, r.schedule, r.n_train), []).append(i)
    steps = [run.recipe.adam_steps for run in config.silu_recipes]
    return [sorted(ix, key=steps.__getitem__) for ix in groups.values() if len(ix) >= 2]


def _with_budget_verdicts(config: CompareConfig, rows, fits) -> list[ComparisonRow]:
    """The SiLU exponent rows of each ladder's largest budget (:func:`budget_ladders`), with
    the extras ``exponent_by_budget``, ``converged_at`` and ``convergence``
    (:func:`~simulations.lottery.diagnostics.budget_convergence`, budgets in Adam steps)."""
    window = _window_label(_window(config.silu_window))
    for ladder in budget_ladders(config):
        recipes = [config.silu_recipes[i].recipe for i in ladder]
        found = [fits.get(r.label) for r in recipes]
        values = [
            (math.nan,) * 3 if f is None else (f.exponent, f.ci_low, f.ci_high) for f in found
        ]
        conv = budget_convergence([r.adam_steps for r in recipes], *zip(*values, strict=True))
        extras = {
            "exponent_by_budget": conv.by_budget(),
            "converged_at": str(conv.converged_at) if conv.converged else "no",
            "convergence": conv.verdict(),
        }
        top = recipes[-1].label
        rows = [
            dataclasses.replace(r, extras={**r.extras, **extras})
            if r.params["recipe"] == top and r.params["width"] == window
            else r
            for r in rows
        ]
    return rows


def _relu_rows(config: CompareConfig, relu: WidthTable):
    rows, fits = [], {}
    for window in map(_window, config.relu_windows):
        pred = [("approximation", theory.approximation_exponent(1), "Sharma & Kaplan: N^-4/d")]
        r, pf = _exponent_rows(relu, window, config.n_boot, pred)
        rows += r
        if pf is not None:
            fits[_window_label(window)] = pf
    ratios = floor_ratios(relu)
    n_div = relu.diverged()
    for k, n in enumerate(relu.widths):
        params = {"activation": "relu", "recipe": relu.recipe, "width": int(n)}
        ratio = relu.test_mse[:, k] / ratios["floor"][k]
        lo, hi = median_ci(ratio, config.n_boot)
        note = f"exact floor {ratios['floor'][k]:.4g}; seeds below: {int(ratios['below'][k])}"
        if n_div[k]:
            note += f"; {n_div[k]} diverged runs left out"
        extras = _extras(relu.test_mse.shape[0], n_div[k], note)
        rows.append(
            ComparisonRow(
                params, "floor", "best_seed/relu_floor", 1.0, ratios["best"][k], extras=extras
            )
        )
        rows.append(
            ComparisonRow(
                params,
                "floor",
                "median/relu_floor",
                1.0,
                ratios["median"][k],
                lo,
                hi,
                extras=extras,
            )
        )
    return rows, fits


def _n2_rows(n2: N2Histogram, recipe_label: str) -> list[ComparisonRow]:
    p2 = {"activation": "silu", "recipe": recipe_label, "width": 2}
    centers = ", ".join(f"{m.center:.2f} (n={m.count})" for m in n2.modes)
    flag = f"; {n2.n_diverged} diverged runs in no mode" if n2.n_diverged else ""
    rows = [
        ComparisonRow(
            p2,
            "mechanism",
            "n2_loss_modes",
            math.nan,
            len(n2.modes),
            extras=_extras(n2.mse.shape[0], n2.n_diverged, f"log10 MSE centres: {centers}{flag}"),
        )
    ]
    for rank, m in enumerate(n2.modes[:2]):
        k = int(np.sum(n2.asymmetry[m.members] < MIRROR_TOL))
        lo, hi = wilson_ci(k, m.count)
        note = f"mode at log10 MSE {m.center:.2f}; asymmetry < {MIRROR_TOL}"
        rows.append(
            ComparisonRow(
                p2,
                "mechanism",
                f"n2_mode{rank}_mirror_fraction",
                1.0 if rank == 0 else math.nan,
                k / m.count,
                lo,
                hi,
                extras=_extras(m.count, 0, note),
            )
        )
    return rows


def _spread_row(
    params, phase, quantity, predicted, values, n_seeds, n_diverged, note
) -> ComparisonRow:
    """A row measuring the mean over seeds, with min/max over seeds as its interval.

    ``values``: ``(n_seeds,)`` per-seed fractions, or a boolean ``(n_seeds, N)`` per neuron.
    """
    values = np.asarray(values)
    if values.ndim == 2:
        values = np.mean(values, axis=-1)
    return ComparisonRow(
        params,
        phase,
        quantity,
        predicted,
        float(np.mean(values)),
        float(np.min(values)),
        float(np.max(values)),
        extras=_extras(n_seeds, n_diverged, note),
    )


def _wide_rows(wide: WideNets, recipe_label: str) -> list[ComparisonRow]:
    width, n_seeds = wide.w.shape[1], wide.w.shape[0] + wide.n_diverged
    trained = {"activation": "silu", "recipe": recipe_label, "width": width}
    init = {"activation": "silu", "recipe": "init", "width": width}
    note = (
        "nearest (-w,b,v) partner within 0.1; CI = min/max over seeds; "
        f"same statistic at init: {np.mean(wide.fraction_init):.3f}"
    )
    null_note = "the same nets before training: pairs by chance in a dense net"
    if wide.n_diverged:
        note += f"; {wide.n_diverged} diverged nets left out"
    # a tolerance below the init's typical nearest-mirror distance (~0.04 at N = 1024)
    fine = f"mirror_fraction_tol{FINE_MIRROR_TOL:g}"
    fine_note = "trained vs init: pairing beyond chance"
    specs = [
        (trained, "mechanism", "mirror_fraction", 1.0, wide.fraction, note),
        (init, "mechanism (null)", "mirror_fraction", math.nan, wide.fraction_init, null_note),
        (trained, "mechanism", fine, math.nan, wide.distance < FINE_MIRROR_TOL, fine_note),
        (init, "mechanism (null)", fine, math.nan, wide.distance_init < FINE_MIRROR_TOL, fine_note),
    ]
    return [
        _spread_row(params, phase, quantity, predicted, values, n_seeds, wide.n_diverged, row_note)
        for params, phase, quantity, predicted, values, row_note in specs
    ]


def _ensemble_rows(
    ens: EnsembleResult, single: WidthTable | None, recipe_label: str, n_seeds: int
) -> list[ComparisonRow]:
    curve, rows = ens.curve, []
    for i, k in enumerate(curve.ks):
        total = ens.width * int(k)
        note = f"held-out half of {2 * curve.n_nets} nets ({ens.excluded} stuck nets left out)"
        if ens.n_diverged:
            note += f"; {ens.n_diverged} diverged nets left out"
        if single is not None and total in single.widths:
            mean_single = np.nanmean(single.test_mse[:, list(single.widths).index(total)])
            note += f"; one net of width {total}: mean MSE {mean_single:.3g}"
        rows.append(
            ComparisonRow(
                {"activation": "silu", "recipe": recipe_label, "width": f"{ens.width}x{int(k)}"},
                f"ensemble K={int(k)}",
                "ensemble_mse",
                float(curve.predicted[i]),
                float(curve.mse[i]),
                float(curve.mse_ci[0, i]),
                float(curve.mse_ci[1, i]),
                extras=_extras(n_seeds, ens.n_diverged, note),
            )
        )
    return rows


def measure(config: CompareConfig, runs: CompareRuns) -> CompareData:
    """Fits, diagnostics and comparison rows of what :func:`~simulations.lottery.experiment.
    run_compare` trained for ``config`` (runs nothing)."""
    if not isinstance(runs, CompareRuns):
        raise TypeError(
            "measure(config, runs) takes the CompareRuns of experiment.run_compare, got "
            f"{type(runs).__name__}"
        )
    rows, silu_fits = _silu_rows(config, runs.silu)
    relu_rows, relu_fits = _relu_rows(config, runs.relu)
    rows += relu_rows
    if not config.mechanism:
        return CompareData(runs.silu, runs.relu, silu_fits, relu_fits, rows=tuple(rows))
    if runs.n2 is None or runs.wide is None or runs.ensemble is None:
        raise ValueError("config.mechanism needs the n2, wide and ensemble runs, got None")
    n2 = n2_histogram(runs.n2)
    rows += _n2_rows(n2, config.n2_recipe.label)
    wide = wide_mirror_pairs(runs.wide)
    label = config.mechanism_recipe.label
    rows += _wide_rows(wide, label)
    ensemble = ensemble_measurement(runs.ensemble, config.ensemble_ks)
    recipes = [run.recipe for run in config.silu_recipes]
    single = (
        runs.silu[recipes.index(config.mechanism_recipe)]
        if config.mechanism_recipe in recipes
        else None
    )
    rows += _ensemble_rows(ensemble, single, label, runs.ensemble.sizes["seed"])
    return CompareData(
        runs.silu, runs.relu, silu_fits, relu_fits, n2, wide, ensemble, single, tuple(rows)
    )
