"""Tidy results of superposition sweeps: every run in one dataset, one learning rate per run.

:func:`tidy` turns the groups of a :class:`~simulations.results.SweepResult` of
:func:`.experiment.build` into one dataset with dims ``(setting, m, seed, ...)``; with several
training budgets it adds the final loss of every budget, and with a learning-rate sweep it keeps
the runs of the best learning rate of every (setting, width, budget) (:func:`best_lr_index`).
Runs nothing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from simulations.results import SweepResult, mask_diverged
from simulations.superposition.model import STATIC_DEFAULTS
from theory import superposition as theory

__all__ = ["best_lr_index", "tidy"]


def best_lr_index(losses: np.ndarray) -> int:
    """Index of the learning rate with the lowest mean final loss over seeds.

    ``losses`` has shape ``(learning rates, seeds)``, NaN where a run diverged or is missing. A
    learning rate with a diverged seed is never preferred to one whose seeds all finished (a
    rate that diverges for some seeds is not a usable optimum); if every rate lost a seed, the
    mean over the finished seeds decides; if no run finished, 0.
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 2 or losses.shape[0] == 0:
        raise ValueError(f"losses must have shape (learning rates, seeds), got {losses.shape}")
    complete = np.all(np.isfinite(losses), axis=1)
    if complete.any():
        score = np.where(
            complete, np.mean(np.where(complete[:, None], losses, 0.0), axis=1), np.inf
        )
        return int(np.argmin(score))
    finite = np.isfinite(losses)
    if not finite.any():
        return 0
    sums = np.where(finite, losses, 0.0).sum(axis=1)
    score = np.where(finite.any(axis=1), sums / np.maximum(finite.sum(axis=1), 1), np.inf)
    return int(np.argmin(score))


def _best_lr_entries(entries: list) -> tuple[list, dict]:
    """Keep one entry per (setting, m, steps): the learning rate of :func:`best_lr_index`.

    No choice (entries unchanged, nothing chosen) when every (setting, m, steps) has one rate: a
    rate swept per point (e.g. one rate per width) is a setting's recipe, not a sweep."""
    groups: dict[tuple, list] = {}
    for e in entries:
        groups.setdefault((e[0], e[1], e[4]), []).append(e)
    if all(len(group) == 1 for group in groups.values()):
        return entries, {}
    kept, chosen = [], {}
    for key, group in groups.items():
        group = sorted(group, key=lambda e: e[5])
        losses = np.stack([np.asarray(ds["final_loss"].values[i]) for _, _, ds, i, _, _ in group])
        best = group[best_lr_index(losses)]
        kept.append(best)
        chosen[key] = best[5]
    return kept, chosen


def tidy(result: SweepResult) -> xr.Dataset:
    """Every run of a sweep of :func:`build` in one dataset with dims ``(setting, m, seed, ...)``.

    A *setting* is one ``(law, gamma, alpha)`` triple (coordinates along ``setting``); ``m`` is the
    width, whether it was static (one group per width) or swept (padded widths). Runs flagged
    ``diverged`` (non-finite, or above the bound of :func:`.limits.is_diverged`) are NaN
    (:func:`simulations.results.mask_diverged`) and stay flagged in the boolean ``diverged``;
    missing runs are NaN too (not flagged), and so are the overlaps of runs with fewer than two
    rows above the threshold.

    A sweep over learning rates (swept ``lr``, see :attr:`.experiment.SweepConfig.lr_factors`)
    keeps, for every (setting, width, budget), the runs of the learning rate with the lowest mean
    final loss over seeds (:func:`best_lr_index`): the measurement is the loss *at the optimum*
    of the learning rate, per budget. ``lr_best`` (dims ``(setting, m)``; the largest budget) and,
    with budgets, ``lr_best_by_budget`` record the choice; the attribute ``lr_swept`` lists the
    rates tried (empty without a sweep).

    A sweep over several budgets (static ``steps``, see :func:`make_grid`) gives the runs of the
    largest budget in the variables above, and every budget's final loss and divergence flags in
    ``final_loss_by_budget`` and ``diverged_by_budget`` (dims ``(setting, budget, m, seed)``,
    coordinate ``budget``: steps, increasing).
    """
    entries = []
    for ds in result.groups:
        ds = mask_diverged(ds)
        steps = int(ds.attrs.get("static.steps", 0))
        for i in range(ds.sizes["point"]):
            m = int(ds["m"].values[i]) if ds["m"].ndim == 1 else int(ds["m"].values)
            if "law_code" in ds.coords:
                law = theory.LAWS[int(ds["law_code"].values[i])]
            else:
                law = str(ds.attrs.get("static.law", STATIC_DEFAULTS["law"]))
            gamma = float(ds["gamma"].values[i])
            alpha = float(ds["alpha"].values[i]) if "alpha" in ds.coords else 0.0
            swept_lr = "lr" in ds.coords and ds["lr"].ndim == 1  # else static (0-d) or absent
            lr = float(ds["lr"].values[i]) if swept_lr else math.nan
            entries.append(((law, gamma, alpha), m, ds, i, steps, lr))
    swept = sorted({e[5] for e in entries if not math.isnan(e[5])})
    chosen: dict[tuple, float] = {}
    if len(swept) > 1:
        entries, chosen = _best_lr_entries(entries)
    budgets = sorted({e[4] for e in entries})
    data = _tidy_entries([e[:4] for e in entries if e[4] == budgets[-1]])
    if len(budgets) > 1:
        keys = zip(data["law"].values, data["gamma"].values, data["alpha"].values, strict=True)
        s_index = {(str(law), float(g), float(a)): k for k, (law, g, a) in enumerate(keys)}
        m_index = {int(m): k for k, m in enumerate(data["m"].values)}
        shape = (data.sizes["setting"], len(budgets), data.sizes["m"], data.sizes["seed"])
        loss = np.full(shape, np.nan)
        diverged = np.zeros(shape, dtype=bool)
        for setting, m, ds, i, steps, _ in entries:
            where = (s_index[setting], budgets.index(steps), m_index[m])
            loss[where] = ds["final_loss"].values[i]
            if "diverged" in ds:
                diverged[where] = ds["diverged"].values[i]
        dims = ("setting", "budget", "m", "seed")
        data = data.assign(
            final_loss_by_budget=(dims, loss), diverged_by_budget=(dims, diverged)
        ).assign_coords(budget=np.asarray(budgets, dtype=np.int64))
    if chosen:
        keys = list(
            zip(data["law"].values, data["gamma"].values, data["alpha"].values, strict=True)
        )
        widths = [int(m) for m in data["m"].values]

        def lr_at(steps: int) -> np.ndarray:
            return np.array(
                [
                    [
                        chosen.get(((str(s[0]), float(s[1]), float(s[2])), m, steps), np.nan)
                        for m in widths
                    ]
                    for s in keys
                ]
            )

        data = data.assign(lr_best=(("setting", "m"), lr_at(budgets[-1])))
        if len(budgets) > 1:
            by_budget = np.stack([lr_at(b) for b in budgets], axis=1)
            data = data.assign(lr_best_by_budget=(("setting", "budget", "m"), by_budget))
    data.attrs["lr_swept"] = swept if chosen else []
    return data


def _tidy_entries(entries: list[tuple[tuple[str, float, float], int, xr.Dataset, int]]):
    """The dataset of :func:`tidy` from ``(setting, m, group dataset, point index)`` entries."""
    settings = list(dict.fromkeys(e[0] for e in entries))
    widths = sorted({e[1] for e in entries})
    s_index = {s: k for k, s in enumerate(settings)}
    m_index = {m: k for k, m in enumerate(widths)}
    first = entries[0][2]
    n_seeds = first.sizes["seed"]
    data = {}
    for name, var in first.data_vars.items():
        extra_dims = var.dims[2:]
        shape = (len(settings), len(widths), n_seeds, *var.shape[2:])
        fill = False if var.dtype == bool else np.nan
        dtype = bool if var.dtype == bool else np.float64
        arr = np.full(shape, fill, dtype=dtype)
        for setting, m, ds, i in entries:
            arr[s_index[setting], m_index[m]] = ds[name].values[i]
        data[name] = (("setting", "m", "seed", *extra_dims), arr)
    coords: dict[str, Any] = {
        "setting": np.arange(len(settings)),
        "law": ("setting", [s[0] for s in settings]),
        "gamma": ("setting", [s[1] for s in settings]),
        "alpha": ("setting", [s[2] for s in settings]),
        "m": widths,
        "seed": np.arange(n_seeds),
    }
    for dim in ("step", "norm_bin"):
        if dim in first.coords:
            coords[dim] = first[dim].values
    if "feature" in first.dims:
        coords["feature"] = np.arange(1, first.sizes["feature"] + 1)
    for name, count in (
        ("overlap_sq_strong", "count_strong"),
        ("overlap_sq_represented", "count_represented"),
    ):
        if name in data and count in data:
            value = data[name][1]
            data[name] = (data[name][0], np.where(data[count][1] >= 2, value, np.nan))
    n = int(first.attrs.get("static.n", first["n"].values if "n" in first.coords else 0))
    return xr.Dataset(data, coords=coords, attrs={"n": n})
