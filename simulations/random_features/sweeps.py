"""Random-feature experiments for the sweep engine: the builders and one driver per sweep.

Three experiments plug into the sweep engine (:mod:`simulations.sweep`), all with the swept,
traced parameters ``b`` and ``a`` (plus ``ridge``, ``noise`` or ``learning_rate``) and the
shape-defining static parameters ``n_latent`` (``M``), ``n_features`` (``N``), ``n_samples``
(``T``; ``math.inf`` = population):

* :func:`build_ridge`: ridge(less) regression on ``T`` samples, solved in closed form in the
  smaller of the ``N×N`` (primal) and ``T×T`` (dual) systems by Cholesky; the ridgeless solution is
  the min-norm limit, reached with a relative jitter (``1e−11`` of the mean eigenvalue in float64),
  far below the smallest non-zero eigenvalue of the sizes used. Outputs ``test_loss``,
  ``train_loss`` and optionally the same seed's ``T = ∞`` and ``N = ∞`` limits (``limits``);
  :func:`build_nested_ridge` solves several nested sizes of one draw.
* :func:`build_gradient_descent`: gradient descent on ``½ ×`` training MSE from ``β = 0``, on a
  fixed training set (data reuse) or on the population (``T = ∞``), losses at log-spaced
  checkpoints; ``method="scan"`` runs explicit steps, ``method="eigen"`` evaluates the same
  iteration (or gradient flow, ``flow=1``) exactly in the eigenbasis of the realised feature
  covariance (the theory's :func:`theory.random_features.eigenbasis_curves`).
* :func:`build_spectrum`: the eigenvalues of the (empirical) feature covariance ``E[φφ^T]/N``.

Variance reduction: linear-feature runs can also output the test loss averaged exactly over
the teacher (``test_loss_avg``), and the ``N = ∞`` limit comes with a zero-mean control variate
(:func:`~simulations.random_features.model.kernel_limit`). Sweeps over sizes may zero-pad to one
shape (``features_used`` / ``samples_used``, ``pad=``) so that they compile once. Builders hand
the engine point checks, a divergence bound and memory per run (:mod:`.limits`). ``simulate_*``
drivers run one sweep each and return numpy arrays; :mod:`.experiment` re-exports every name.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulations import sweep
from simulations.grid import Experiment, Grid
from simulations.random_features import limits as checks
from simulations.random_features import model
from simulations.results import diverged_runs, mask_diverged
from simulations.steps import log_steps
from theory.checks import check_choice, check_float, check_int

__all__ = [
    "FEATURES",
    "build_gradient_descent",
    "build_nested_ridge",
    "build_ridge",
    "build_spectrum",
    "simulate_gradient_descent",
    "simulate_nested_ridge",
    "simulate_ridge",
    "simulate_spectrum",
]

FEATURES = model.FEATURES

_LIMITS = ("none", "samples", "features", "both")
_METHODS = ("scan", "eigen")
_MEMORY_BUDGET = 1.5e9  # bytes of live arrays per compiled chunk
_RIDGE_SWEPT = ("b", "a", "ridge", "noise")
_DESCENT_SWEPT = ("b", "a", "noise", "learning_rate")
_PADDED = ("features_used", "samples_used")


# --------------------------------------------------------------------------------------------
# experiments
# --------------------------------------------------------------------------------------------


def build_ridge(static: Mapping[str, Any]) -> Experiment:
    """Ridge(less) regression with random features, for :func:`simulations.sweep.run_sweep`.

    Static parameters:
        n_latent (int ``M``), n_features (int ``N``), n_samples (int ``T``);
        features: ``"linear"`` (default), ``"relu"`` or ``"tanh"``;
        n_test: fresh test samples for nonlinear features (required > 0 for them; ignored for
        linear features, whose test loss is exact);
        limits: ``"none"`` (default), ``"samples"`` (also the ``T = ∞`` loss with the same
        features and teacher), ``"features"`` (also the ``N = ∞`` kernel loss on the same data;
        linear only) or ``"both"``; used to measure variance-limited corrections per seed;
        teacher_average: 1 to also output ``test_loss_avg``, the test loss averaged exactly over
        the teacher given the features and data (linear only; costs ``O(M² N)`` more);
        x64: 1 (default, float64) or 0 (float32).

    Swept (traced) parameters: ``b``, ``a``, ``ridge`` (``δ ≥ 0``), ``noise`` (``σ² ≥ 0``), and
    optionally ``features_used`` (``≤ n_features``) and ``samples_used`` (``≤ n_samples``): the
    run then uses only that many features/samples, the rest zero-padded, so that a sweep over
    sizes compiles once (at the cost of running every size at the padded shape; worth it when
    compilation dominates, as in quick mode).

    Outputs (scalars per run): ``test_loss``, ``train_loss`` and, with limits,
    ``test_loss_inf_samples`` / ``test_loss_inf_features`` plus ``control_inf_features`` (a
    zero-mean control variate: ``test_loss − test_loss_inf_features − control_inf_features``
    estimates the variance-limited excess ``E(N, T) − E(∞, T)`` with far less noise; see
    :func:`simulations.random_features.model.kernel_limit`). ``test_loss − test_loss_inf_samples
    ≥ 0`` needs no control (the ``T = ∞`` solution is the optimum the finite-``T`` one deviates
    from).
    """
    m = checks.static_size(static, "n_latent")
    n = checks.static_size(static, "n_features")
    t_f = checks.static_samples(static)
    if math.isinf(t_f):
        raise ValueError("n_samples must be finite for ridge regression (use limits='samples')")
    kind = checks.static_choice(static, "features", FEATURES, "linear")
    limits = checks.static_choice(static, "limits", _LIMITS, "none")
    x64 = checks.static_flag(static, "x64", 1)
    n_test = checks.static_size(static, "n_test", 0, default=0)
    if kind != "linear" and n_test < 1:
        raise ValueError(f"n_test must be >= 1 for {kind} features, got {n_test}")
    if kind != "linear" and limits in ("features", "both"):
        raise ValueError(
            "limits='features' (the N = ∞ kernel) is only available for linear features"
        )
    teacher_average = checks.static_flag(static, "teacher_average", 0)
    if teacher_average and kind != "linear":
        raise ValueError("teacher_average=1 is only available for linear features")
    run = functools.partial(
        model.ridge_run,
        n_latent=m,
        n_features=n,
        n_samples=int(t_f),
        features=kind,
        limits=limits,
        n_test=n_test,
        teacher_average=teacher_average,
        x64=x64,
    )
    group = dict(n_latent=m, n_features=n, n_samples=t_f, x64=x64)
    return Experiment(
        run=run,
        x64=x64,
        validate=checks.point_validator(
            "build_ridge", required=_RIDGE_SWEPT, optional=_PADDED, **group
        ),
        diverged=checks.train_loss_blowup(m),
        bytes_per_run=checks.ridge_bytes(
            m,
            n,
            int(t_f),
            n_test=n_test,
            features=kind,
            limits=limits,
            teacher_average=teacher_average,
            x64=x64,
        ),
    )


def build_nested_ridge(static: Mapping[str, Any]) -> Experiment:
    """Ridgeless/ridge regression at several nested sizes per run (linear features).

    One run draws the teacher, ``N`` features and ``T`` samples once and solves the problem for
    each size in ``nested_sizes`` using the first ``n`` features (``nested="features"``) or the
    first ``n`` samples (``nested="samples"``): ``Z = X F^T`` is formed once, every size reuses
    its prefix. The sizes of one seed share their random numbers (common random numbers: the
    seed bootstrap of an exponent keeps that correlation), and a sweep over sizes costs one
    draw and one product instead of one per size — drawing the data dominates these runs.

    Static parameters: n_latent, n_features, n_samples (the largest sizes), nested
    (``"features"`` or ``"samples"``), nested_sizes (comma-separated increasing integers, e.g.
    ``"32,64,128"``), limits (``"none"``, ``"samples"``: the ``T = ∞`` loss of the same
    features, or ``"features"``: the ``N = ∞`` kernel loss of the same data with the control
    variate of :func:`build_ridge`), x64.

    Swept (traced) parameters: ``b``, ``a``, ``ridge``, ``noise``.

    Outputs: ``test_loss``, ``train_loss`` (and the limits) of shape ``(n_sizes,)`` (dimension
    ``size``, coordinate = the sizes).
    """
    m = checks.static_size(static, "n_latent")
    n = checks.static_size(static, "n_features")
    t_f = checks.static_samples(static)
    if math.isinf(t_f):
        raise ValueError("n_samples must be finite for ridge regression")
    t = int(t_f)
    nested = checks.static_choice(static, "nested", ("features", "samples"), "features")
    sizes = checks.parse_sizes(static.get("nested_sizes", ""), n if nested == "features" else t)
    limits = checks.static_choice(static, "limits", ("none", "samples", "features"), "none")
    x64 = checks.static_flag(static, "x64", 1)
    run = functools.partial(
        model.nested_ridge_run,
        n_latent=m,
        n_features=n,
        n_samples=t,
        nested=nested,
        sizes=sizes,
        limits=limits,
        x64=x64,
    )
    names = (
        "test_loss",
        "train_loss",
        "test_loss_inf_samples",
        "test_loss_inf_features",
        "control_inf_features",
    )
    group = dict(n_latent=m, n_features=n, n_samples=t_f, x64=x64)
    return Experiment(
        run=run,
        dims={k: ("size",) for k in names},
        coords={"size": np.asarray(sizes)},
        x64=x64,
        validate=checks.point_validator("build_nested_ridge", required=_RIDGE_SWEPT, **group),
        diverged=checks.train_loss_blowup(m),
        bytes_per_run=checks.nested_ridge_bytes(m, n, t, limits=limits, x64=x64),
    )


def build_gradient_descent(static: Mapping[str, Any]) -> Experiment:
    """Gradient descent (or flow) with linear random features, for the sweep engine.

    Static parameters:
        n_latent, n_features (ints), n_samples (int ``T`` or ``math.inf`` for the population);
        max_steps, n_checkpoints: losses are recorded at
        ``simulations.steps.log_steps(max_steps, n_checkpoints, zero=False)`` (log-spaced
        integer steps from 1; default 40 checkpoints);
        method: ``"eigen"`` (default; exact in the eigenbasis of the realised feature covariance)
        or ``"scan"`` (explicit steps ``β ← β − η(Ŝβ − b̂)`` in a loop);
        flow: 1 for gradient flow at times ``η × checkpoints`` (``"eigen"`` only), 0 (default)
        for gradient descent with step ``η``;
        x64: 1 (default) or 0.

    Swept (traced) parameters: ``b``, ``a``, ``noise``, ``learning_rate`` (``η``), and optionally
    ``features_used`` / ``samples_used`` (zero-padding, as in :func:`build_ridge`).

    Outputs: ``test_loss`` and ``train_loss`` of shape ``(n_checkpoints,)`` (dimension
    ``checkpoint``, coordinate = step counts); for the population the train loss is the
    population objective, i.e. equal to the test loss. ``method="eigen"`` also outputs
    ``test_loss_avg``, the test loss averaged exactly over the teacher given the features and
    data (same mean, much smaller seed-to-seed variance at early times).
    """
    m = checks.static_size(static, "n_latent")
    n = checks.static_size(static, "n_features")
    t = checks.static_samples(static)
    method = checks.static_choice(static, "method", _METHODS, "eigen")
    flow = checks.static_flag(static, "flow", 0)
    x64 = checks.static_flag(static, "x64", 1)
    max_steps = checks.static_size(static, "max_steps")
    n_ckpt = checks.static_size(static, "n_checkpoints", default=40)
    steps = tuple(int(s) for s in log_steps(max_steps, n_ckpt, zero=False))
    if flow and method != "eigen":
        raise ValueError("flow=1 requires method='eigen'")
    group = dict(n_latent=m, n_features=n, n_samples=t, x64=x64)
    common = dict(steps=steps, **group)
    if method == "eigen":
        run = functools.partial(model.descent_eigen_run, flow=flow, **common)
    else:
        run = functools.partial(model.descent_scan_run, **common)
    return Experiment(
        run=run,
        dims={k: ("checkpoint",) for k in ("test_loss", "train_loss", "test_loss_avg")},
        coords={"checkpoint": np.asarray(steps, dtype=np.int64)},
        x64=x64,
        validate=checks.point_validator(
            "build_gradient_descent",
            required=_DESCENT_SWEPT,
            optional=_PADDED,
            descent=not flow,
            **group,
        ),
        diverged=checks.train_loss_blowup(m),
        bytes_per_run=checks.descent_bytes(
            m, n, t, n_checkpoints=len(steps), method=method, x64=x64
        ),
    )


def build_spectrum(static: Mapping[str, Any]) -> Experiment:
    """Eigenvalues of the feature covariance ``E[φφ^T]/N``, for the sweep engine.

    Static parameters: n_latent, n_features, n_samples (``math.inf``: the exact covariance,
    linear features only; else the empirical covariance of ``n_samples`` samples), features,
    x64. Swept: ``b``, ``a`` (``a`` is unused but kept for a uniform grid).

    Output: ``eigenvalues`` of shape ``(n_features,)`` (dimension ``mode``), descending. The
    linear features' covariance ``FΛF^T/N`` has rank ``min(N, M)``: its spectrum ends at ``M``;
    nonlinear features continue the power law past ``M``.
    """
    m = checks.static_size(static, "n_latent")
    n = checks.static_size(static, "n_features")
    t = checks.static_samples(static)
    kind = checks.static_choice(static, "features", FEATURES, "linear")
    x64 = checks.static_flag(static, "x64", 1)
    if math.isinf(t) and kind != "linear":
        raise ValueError(
            "the exact covariance (n_samples=inf) is only available for linear features"
        )
    run = functools.partial(
        model.spectrum_run, n_latent=m, n_features=n, n_samples=t, features=kind, x64=x64
    )
    return Experiment(
        run=run,
        dims={"eigenvalues": ("mode",)},
        coords={"mode": np.arange(1, n + 1)},
        x64=x64,
        validate=checks.point_validator(
            "build_spectrum", required=("b", "a"), n_latent=m, n_features=n, n_samples=t, x64=x64
        ),
        diverged=checks.spectrum_blowup(m, kind),
        bytes_per_run=checks.spectrum_bytes(m, n, t, x64=x64),
    )


# --------------------------------------------------------------------------------------------
# convenience drivers (numpy arrays out)
# --------------------------------------------------------------------------------------------


def _chunk(grid: Grid, build, budget: float = _MEMORY_BUDGET) -> int:
    """Rows per chunk: all of a group's, or fewer to keep its runs under ``budget`` bytes."""
    per_run = max(build(static).bytes_per_run for static in grid.static_combinations())
    return int(max(1, min(grid.n_points * grid.seeds, budget // max(per_run, 1.0))))


def _store(store, name):
    return None if store is None else str(Path(store) / name)


def _outputs(ds) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Floating outputs of a group, diverged runs NaN, and the ``(point, seed)`` flags."""
    flags = diverged_runs(ds).values
    ds = mask_diverged(ds)
    skip = ("finite", "complete", "diverged")
    return {k: ds[k].values for k in ds.data_vars if k not in skip}, flags


def simulate_ridge(
    n_latent: int,
    n_features: Sequence[int],
    n_samples: Sequence[int],
    *,
    b: float,
    a: float,
    ridge: Sequence[float] | float = 0.0,
    noise: float = 0.0,
    features: str = "linear",
    seeds: int = 8,
    limits: str = "none",
    n_test: int = 0,
    pad: bool | str = False,
    teacher_average: bool = False,
    x64: bool = True,
    store: str | Path | None = None,
    name: str = "rf-ridge",
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Ridge sweep over the outer product ``n_features × n_samples × ridge`` (× seeds).

    Runs :func:`build_ridge` through :func:`simulations.sweep.run_sweep`: one compilation per
    ``(N, T)``, or fewer with zero-padding: ``pad=True`` pads both sizes to their largest value
    (one compilation), ``pad="features"`` (``"samples"``) only ``N`` (``T``), so the other size
    keeps its true cost. The ridges and seeds are batched with ``jit(vmap)`` in chunks sized to
    stay under ~1.5 GB. With ``store``, results go to ``store/name`` and a rerun resumes. Values
    are checked before anything is compiled.

    Returns:
        ``{output: array (len(n_features), len(n_samples), len(ridge), seeds)}`` (diverged runs
        NaN), ``diverged`` (bool, same shape: non-finite or beyond
        :func:`~simulations.random_features.limits.train_loss_blowup`), plus the coordinates
        ``n_features``, ``n_samples``, ``ridge``.
    """
    ridges = [check_float("ridge", r) for r in np.atleast_1d(np.asarray(ridge, dtype=object))]
    nf = checks.int_list("n_features", n_features)
    ns = checks.int_list("n_samples", n_samples)
    seeds = check_int("seeds", seeds)
    if pad not in (True, False, "features", "samples"):
        raise ValueError(f"pad must be True, False, 'features' or 'samples', got {pad!r}")
    common = {
        "n_latent": [checks.as_int("n_latent", n_latent)],
        "features": [features],
        "limits": [limits],
        "n_test": [checks.as_int("n_test", n_test, 0)],
        "teacher_average": [int(bool(teacher_average))],
        "x64": [int(bool(x64))],
    }
    pad_n = pad is True or pad == "features"
    pad_t = pad is True or pad == "samples"
    swept: dict[str, Any] = {"b": [check_float("b", b)], "a": [check_float("a", a)]}
    static = {**common, "n_features": [max(nf)] if pad_n else nf}
    static["n_samples"] = [max(ns)] if pad_t else ns
    if pad_n:
        swept["features_used"] = [float(v) for v in nf]
    if pad_t:
        swept["samples_used"] = [float(v) for v in ns]
    swept.update(ridge=ridges, noise=[check_float("noise", noise)])
    grid = Grid.product(static=static, swept=swept, seeds=seeds)
    res = sweep.run_sweep(
        build_ridge,
        grid,
        name=name,
        store=_store(store, name),
        chunk_size=_chunk(grid, build_ridge),
        progress=progress,
    )
    shape = (len(nf), len(ns), len(ridges), seeds)
    out: dict[str, np.ndarray] = {}
    for ds in res.groups:
        values, flags = _outputs(ds)
        values["diverged"] = flags
        for var, v in values.items():
            if var not in out:
                out[var] = np.zeros(shape, bool) if var == "diverged" else np.full(shape, np.nan)
            # point order of Grid.product: features_used, samples_used, ridge (last fastest)
            vals = v.reshape(len(nf) if pad_n else 1, len(ns) if pad_t else 1, len(ridges), seeds)
            i = slice(None) if pad_n else nf.index(int(ds.attrs["static.n_features"]))
            j = slice(None) if pad_t else ns.index(int(ds.attrs["static.n_samples"]))
            if pad_n and pad_t:
                out[var][...] = vals
            elif pad_n:
                out[var][:, j] = vals[:, 0]
            elif pad_t:
                out[var][i, :] = vals[0]
            else:
                out[var][i, j] = vals[0, 0]
    out.update(n_features=np.array(nf), n_samples=np.array(ns, dtype=float), ridge=np.array(ridges))
    return out


def simulate_nested_ridge(
    n_latent: int,
    sizes: Sequence[int],
    fixed: int,
    *,
    nested: str,
    b: float,
    a: float,
    ridge: float = 0.0,
    noise: float = 0.0,
    seeds: int = 8,
    limits: str = "none",
    x64: bool = True,
    store: str | Path | None = None,
    name: str = "rf-nested",
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Loss vs ``N`` (``nested="features"``, ``T = fixed``) or vs ``T`` (``"samples"``, ``N =
    fixed``) with nested sizes per seed (:func:`build_nested_ridge`): one compilation, one data
    draw per seed.

    Returns:
        ``{output: (seeds, len(sizes))}`` (diverged runs NaN), ``diverged`` (``(seeds,)``
        bool) and ``sizes``.
    """
    sizes = sorted(checks.int_list("sizes", sizes))
    fixed = checks.as_int("fixed", fixed)
    m = checks.as_int("n_latent", n_latent)
    check_choice("nested", nested, ("features", "samples"))
    n, t = (sizes[-1], fixed) if nested == "features" else (fixed, sizes[-1])
    grid = Grid.product(
        static=dict(
            n_latent=[m],
            n_features=[n],
            n_samples=[t],
            nested=[nested],
            nested_sizes=[",".join(map(str, sizes))],
            limits=[limits],
            x64=[int(bool(x64))],
        ),
        swept=dict(
            b=[check_float("b", b)],
            a=[check_float("a", a)],
            ridge=[check_float("ridge", ridge)],
            noise=[check_float("noise", noise)],
        ),
        seeds=check_int("seeds", seeds),
    )
    res = sweep.run_sweep(
        build_nested_ridge,
        grid,
        name=name,
        store=_store(store, name),
        chunk_size=_chunk(grid, build_nested_ridge),
        progress=progress,
    )
    values, flags = _outputs(res.groups[0])
    out = {k: v[0] for k, v in values.items()}  # (seeds, sizes)
    out["diverged"] = flags[0]
    out["sizes"] = np.asarray(sizes)
    return out


def simulate_gradient_descent(
    n_latent: int,
    n_features: Sequence[int],
    n_samples: float,
    max_steps: int,
    *,
    b: float,
    a: float,
    n_checkpoints: int = 40,
    learning_rate: float = 0.2,
    noise: float = 0.0,
    seeds: int = 8,
    method: str = "eigen",
    flow: bool = False,
    pad: bool = False,
    x64: bool = True,
    store: str | Path | None = None,
    name: str = "rf-gd",
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Gradient descent/flow curves for each ``N`` in ``n_features`` (``T = n_samples``).

    Losses are recorded at ``log_steps(max_steps, n_checkpoints, zero=False)``; see
    :func:`build_gradient_descent` for the methods. Gradient descent needs ``learning_rate``
    below :func:`theory.random_features.max_learning_rate` (``2/e``, ``e ≈ λ₁ + Σλ (1/N +
    1/T)`` the typical top eigenvalue of the feature covariance; checked before running, and a
    draw whose own top eigenvalue is larger is flagged ``diverged``); for gradient flow
    (``flow=True``) it only sets the time unit. ``pad=True`` compiles once for all ``N``
    (zero-padding to the largest).

    Returns:
        ``{"test_loss", "train_loss": (len(n_features), seeds, n_checkpoints)}`` (and
        ``"test_loss_avg"``, the teacher-averaged test loss, for ``method="eigen"``; diverged
        runs NaN), ``diverged`` (``(len(n_features), seeds)`` bool), plus
        ``times = learning_rate × checkpoints`` and ``n_features``.
    """
    learning_rate = check_float("learning_rate", learning_rate, low=0.0, strict=True)
    nf = checks.int_list("n_features", n_features)
    m = checks.as_int("n_latent", n_latent)
    max_steps = checks.as_int("max_steps", max_steps)
    n_checkpoints = checks.as_int("n_checkpoints", n_checkpoints)
    seeds = check_int("seeds", seeds)
    ckpt = log_steps(max_steps, n_checkpoints, zero=False)
    common = {
        "n_latent": [m],
        "n_samples": [checks.static_samples({"n_samples": n_samples})],
        "max_steps": [max_steps],
        "n_checkpoints": [n_checkpoints],
        "method": [method],
        "flow": [int(bool(flow))],
        "x64": [int(bool(x64))],
    }
    swept: dict[str, Any] = {
        "b": [check_float("b", b)],
        "a": [check_float("a", a)],
        "noise": [check_float("noise", noise)],
        "learning_rate": [learning_rate],
    }
    if pad:
        static = {**common, "n_features": [max(nf)]}
        swept["features_used"] = [float(v) for v in nf]
    else:
        static = {**common, "n_features": nf}
    grid = Grid.product(static=static, swept=swept, seeds=seeds)
    res = sweep.run_sweep(
        build_gradient_descent,
        grid,
        name=name,
        store=_store(store, name),
        chunk_size=_chunk(grid, build_gradient_descent),
        progress=progress,
    )
    names = ("test_loss", "train_loss") + (("test_loss_avg",) if method == "eigen" else ())
    out = {k: np.full((len(nf), seeds, len(ckpt)), np.nan) for k in names}
    out["diverged"] = np.zeros((len(nf), seeds), dtype=bool)
    for ds in res.groups:
        values, flags = _outputs(ds)
        values["diverged"] = flags
        for k in out:
            if pad:
                out[k][...] = values[k]
            else:
                out[k][nf.index(int(ds.attrs["static.n_features"]))] = values[k][0]
    out["times"] = learning_rate * np.asarray(ckpt, dtype=np.float64)
    out["n_features"] = np.array(nf)
    return out


def simulate_spectrum(
    n_latent: int,
    n_features: int,
    n_samples: float,
    *,
    b: float,
    features: str = "linear",
    seeds: int = 1,
    x64: bool = True,
    name: str = "rf-spectrum",
) -> np.ndarray:
    """Eigenvalues of the feature covariance, ``(seeds, n_features)``, descending (a diverged
    draw NaN)."""
    b = check_float("b", b)
    grid = Grid.product(
        static={
            "n_latent": [checks.as_int("n_latent", n_latent)],
            "n_features": [checks.as_int("n_features", n_features)],
            "n_samples": [checks.static_samples({"n_samples": n_samples})],
            "features": [features],
            "x64": [int(bool(x64))],
        },
        swept={"b": [b], "a": [b]},
        seeds=check_int("seeds", seeds),
    )
    res = sweep.run_sweep(build_spectrum, grid, name=name, chunk_size=1, progress=False)
    return _outputs(res.groups[0])[0]["eigenvalues"][0]
