"""Sweeps of lottery-ticket nets: ``build`` for the sweep engine, the divergence bound, the runners.

Sweep interface (:func:`build`): static (shape/loop-defining) parameters ``width``,
``activation``, ``target``, ``adam_steps``, ``lbfgs_steps``, ``schedule``, ``n_train``, ``n_test``,
``n_checkpoints`` (defaults: :data:`~simulations.lottery.model.STATIC_DEFAULTS`); swept (traced)
``lr`` and ``lr_end``.
Outputs per run (:func:`simulations.lottery.model.train_one`): ``train_mse``, ``test_mse``,
``test_mse_adam`` (test MSE after the Adam phase, before any polish), ``curve`` (training MSE at
log-spaced steps, coordinate ``step``), the trained parameters ``w``, ``b``, ``v`` (dimension
``neuron``, positions without a coordinate) and ``c``, and the initial ``w_init``, ``b_init``,
``v_init`` (the null of the mirror-pair statistics).

Every run is checked before anything compiles (:func:`~simulations.lottery.model.resolve_static`
when the group is built, :func:`~simulations.lottery.model.check_point` for every point, and the
engine's memory pre-flight with :func:`~simulations.lottery.model.run_bytes`), and a run whose
loss blew up is flagged ``diverged`` (:func:`diverged`) and masked out of every measurement.

The runners (:func:`train`, :func:`run_n2`, :func:`run_wide`, :func:`run_ensemble`) return data
only (sweep results, datasets, :class:`WidthTable`); the measurements are
:mod:`simulations.lottery.analysis`'s, the command configs :mod:`simulations.lottery.experiment`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from simulations.grid import Experiment, Grid, loss_blowup
from simulations.lottery.model import (
    ACTIVATIONS,
    N_CHECKPOINTS,
    N_TEST,
    QUICK_RECIPE,
    STATIC_DEFAULTS,
    TARGETS,
    Recipe,
    check_point,
    check_recipe,
    check_widths,
    checkpoint_steps,
    resolve_static,
    run_bytes,
    train_one,
)
from simulations.results import SweepResult, count_diverged, mask_diverged
from simulations.sweep import run_sweep
from theory.checks import check_choice, check_int

__all__ = [
    "DIVERGENCE_FACTOR",
    "WidthTable",
    "build",
    "diverged",
    "net_params",
    "run_ensemble",
    "run_n2",
    "run_wide",
    "train",
    "width_table",
]


# --- one sweep ----------------------------------------------------------------------------------
DIVERGENCE_FACTOR = 1e3
"""A run has diverged when a recorded loss reaches this multiple of its initial training MSE.

The initial net is nearly the zero function (``|v|, |c| <= 1/√N``), so its MSE is about
``E[y²]`` (3.2 for ``x²`` on ``[−2, 2]``; the best constant, ``Var(x²)``, reaches 1.42), and a
net 10³ times worse than that has been thrown off by its optimiser; no recipe that trains lets
the loss rise above its start (:data:`QUICK_RECIPE` and the polished recipes fall monotonically
by 4–10 decades). Measured with Adam 3000 steps at N = 4–64: at ``lr = 1`` the curve rises to at
most ~10³ times its start and recovers (none of 80 runs flagged); at ``lr >= 10`` every run
peaks 8·10³–10¹⁵ times above it and ends at the constant solution or at MSEs of 10²–10⁷; at
``lr = 1e3`` all 80 runs are flagged."""

_curve_blowup = loss_blowup("curve", factor=DIVERGENCE_FACTOR)


def diverged(outputs: Mapping[str, Any], params: Mapping[str, Any]):
    """Whether one run blew up (traced per run by the sweep engine; non-finite runs are flagged
    by the engine itself).

    True when a point of the training curve, or the final test MSE (after Adam or after the
    polish), is at least :data:`DIVERGENCE_FACTOR` times the run's initial training MSE (the
    curve's first point, recorded at step 0).
    """
    final = outputs["test_mse"], outputs["test_mse_adam"]
    bound = DIVERGENCE_FACTOR * outputs["curve"][0]
    return _curve_blowup(outputs, params) | (final[0] >= bound) | (final[1] >= bound)


def build(static: Mapping[str, Any]) -> Experiment:
    """The sweep-engine experiment of one static group (see the module docstring).

    Args:
        static: ``width`` (required) and any of
            :data:`~simulations.lottery.model.STATIC_DEFAULTS`.

    Returns:
        :class:`simulations.grid.Experiment` with ``x64=True``; ``run(key, params)`` needs the
        traced scalars ``params["lr"]`` and ``params["lr_end"]``; its ``validate`` is
        :func:`~simulations.lottery.model.check_point`, its ``diverged`` :func:`diverged` and its
        ``bytes_per_run`` :func:`~simulations.lottery.model.run_bytes` of the group.

    Raises:
        ValueError, TypeError: a bad static value (one line naming it), before anything else.
    """
    s = resolve_static(static)
    width = s["width"]
    recipe = Recipe(
        adam_steps=s["adam_steps"],
        lbfgs_steps=s["lbfgs_steps"],
        schedule=s["schedule"],
        n_train=s["n_train"],
    )
    steps = checkpoint_steps(recipe.total_steps, s["n_checkpoints"])

    def run(key, params):
        return train_one(
            key,
            width,
            recipe,
            activation=s["activation"],
            target=s["target"],
            n_test=s["n_test"],
            n_checkpoints=s["n_checkpoints"],
            lr=params["lr"],
            lr_end=params["lr_end"],
        )

    dims = {"curve": ("step",)}
    dims.update({k: ("neuron",) for k in ("w", "b", "v", "w_init", "b_init", "v_init")})
    # no coordinate for "neuron" (positions 0..N-1): building a group costs nothing at any width,
    # so a width that cannot fit is refused by the engine's memory check, not by this allocation
    coords = {"step": steps}
    return Experiment(
        run=run,
        dims=dims,
        coords=coords,
        x64=True,
        validate=check_point,
        diverged=diverged,
        bytes_per_run=run_bytes(s),
    )


def train(
    widths,
    *,
    activation: str = "silu",
    recipe: Recipe = QUICK_RECIPE,
    seeds: int = 32,
    target: str = "square",
    n_test: int = N_TEST,
    n_checkpoints: int = N_CHECKPOINTS,
    store: str | Path | None = None,
    name: str | None = None,
    base_seed: int = 0,
    chunk_size: int | None = None,
    progress: bool = False,
) -> SweepResult:
    """Train ``seeds`` nets of every width with one recipe (one static group per width).

    Args:
        widths: hidden widths ``N`` (distinct integers >= 1).
        activation: a key of :data:`simulations.lottery.model.ACTIVATIONS`.
        recipe: the :class:`Recipe`.
        seeds: nets per width (vmapped together).
        target: a key of :data:`simulations.lottery.model.TARGETS`.
        n_test: test-grid points.
        n_checkpoints: points of the training curve.
        store: directory of the resumable store (``None``: in memory).
        name: sweep name (default ``lottery-<activation>-<recipe label>``).
        base_seed: root seed of the sweep.
        chunk_size: runs per compiled call (default: all seeds of a width, at most 256).
        progress: show a progress bar.

    Returns:
        :class:`simulations.results.SweepResult` (one dataset per width; see :func:`width_table`).
    """
    widths = check_widths(widths)
    check_recipe("recipe", recipe)
    seeds = check_int("seeds", seeds, 1)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("target", target, TARGETS)
    static = {
        "width": widths,
        "activation": activation,
        "target": target,
        **recipe.static(),
        "n_test": check_int("n_test", n_test, 2),
        "n_checkpoints": check_int("n_checkpoints", n_checkpoints, 2),
    }
    grid = Grid.product(static=static, swept=recipe.swept(), seeds=seeds)
    name = name or f"lottery-{activation}-{recipe.label}"
    chunk = chunk_size if chunk_size is not None else min(seeds, 256)
    return run_sweep(
        build,
        grid,
        name=name,
        store=None if store is None else str(store),
        chunk_size=chunk,
        base_seed=base_seed,
        progress=progress,
        config={"recipe": recipe.label, "activation": activation, "target": target},
    )


class WidthTable(NamedTuple):
    """Test MSE per seed and width, the input of the width-scaling fits.

    Attributes:
        widths: ``(n_widths,)`` int, ascending.
        test_mse: ``(n_seeds, n_widths)`` float64 (NaN for diverged runs).
        train_mse: ``(n_seeds, n_widths)``.
        test_mse_adam: ``(n_seeds, n_widths)`` (after the Adam phase).
        activation, recipe: labels.
        n_diverged: ``(n_widths,)`` int, diverged runs per width (their MSEs are NaN above);
            ``None``: not counted (tables built by hand), read as zeros by :meth:`diverged`.
    """

    widths: np.ndarray
    test_mse: np.ndarray
    train_mse: np.ndarray
    test_mse_adam: np.ndarray
    activation: str
    recipe: str
    n_diverged: np.ndarray | None = None

    def diverged(self) -> np.ndarray:
        """Diverged runs per width: ``(n_widths,)`` int (zeros when not counted)."""
        if self.n_diverged is None:
            return np.zeros(len(self.widths), dtype=int)
        return np.asarray(self.n_diverged, dtype=int)


def width_table(result: SweepResult, recipe: Recipe | str = "", point: int = 0) -> WidthTable:
    """Collect ``test_mse`` over the width groups of a :func:`train` result at one sweep point.

    Diverged runs (non-finite, or flagged by :func:`diverged`) are NaN in the table and counted
    in ``n_diverged``.
    """
    groups = sorted(result.groups, key=lambda ds: int(ds.attrs["static.width"]))
    names = ("test_mse", "train_mse", "test_mse_adam")
    flags = ("finite", "diverged")
    masked = [mask_diverged(ds[[v for v in (*names, *flags) if v in ds]]) for ds in groups]
    masked = [ds.isel(point=point) for ds in masked]
    cols = {var: np.stack([ds[var].values for ds in masked], axis=1) for var in names}
    label = recipe.label if isinstance(recipe, Recipe) else str(recipe)
    return WidthTable(
        widths=np.array([int(ds.attrs["static.width"]) for ds in groups]),
        activation=str(groups[0].attrs.get("static.activation", STATIC_DEFAULTS["activation"])),
        recipe=label,
        n_diverged=np.array([int(count_diverged(ds)[point]) for ds in groups]),
        **cols,
    )


def net_params(ds: xr.Dataset, point: int = 0) -> tuple[np.ndarray, ...]:
    """``(w, b, v, c)`` of every seed of a width group: ``(n_seeds, N)`` x3 and ``(n_seeds,)``."""
    sel = ds.isel(point=point)
    return tuple(np.asarray(sel[k].values, dtype=np.float64) for k in ("w", "b", "v", "c"))


# --- the mechanism runs -------------------------------------------------------------------------
def _silu_group(width: int, recipe: Recipe, seeds: int, store, progress: bool, name: str):
    res = train([width], recipe=recipe, seeds=seeds, store=store, name=name, progress=progress)
    return res.groups[0]


def run_n2(recipe: Recipe, seeds: int, store=None, progress: bool = False) -> xr.Dataset:
    """Train ``seeds`` width-2 SiLU nets; their dataset (see
    :func:`simulations.lottery.analysis.n2_histogram`)."""
    return _silu_group(2, recipe, seeds, store, progress, f"lottery-n2-{recipe.label}")


def run_wide(
    width: int, recipe: Recipe, seeds: int, store=None, progress: bool = False
) -> xr.Dataset:
    """Train ``seeds`` wide SiLU nets; their dataset, initial parameters included (see
    :func:`simulations.lottery.analysis.wide_mirror_pairs`)."""
    name = f"lottery-wide{width}-{recipe.label}"
    return _silu_group(width, recipe, seeds, store, progress, name)


def run_ensemble(
    width: int, recipe: Recipe, seeds: int, store=None, progress: bool = False
) -> xr.Dataset:
    """Train ``seeds`` narrow SiLU nets to ensemble; their dataset (see
    :func:`simulations.lottery.analysis.ensemble_measurement`)."""
    name = f"lottery-ensemble{width}-{recipe.label}"
    return _silu_group(width, recipe, seeds, store, progress, name)
