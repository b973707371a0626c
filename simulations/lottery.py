"""Lottery-ticket ensembles (Liu & Tegmark, arXiv 2310.02258): width scaling of 1-hidden-layer nets.

Model (THEORY.md §4; theory in :mod:`theory.lottery`), shapes for one run (one seed):

* data: a midpoint grid of ``n_train`` points on ``[−2, 2]`` (full batch, the same every step),
  targets ``y = target(x)`` (:data:`TARGETS`; ``x²`` by default). Test error: the MSE on a
  midpoint grid of ``n_test`` points (default 8192, disjoint from the training grid), i.e. the
  midpoint-rule value of the population MSE over ``U[−2, 2]`` (deterministic, no sampling noise;
  THEORY.md's numerics used 20 000 uniform draws).
* net: ``f(x) = Σ_i v_i σ(w_i x + b_i) + c`` with ``w, b, v`` of shape ``(N,)`` and ``c`` scalar,
  ``σ`` from :data:`ACTIVATIONS`; PyTorch-default init (``nn.Linear``): ``w, b ~ U(−1, 1)``
  (fan-in 1), ``v, c ~ U(−1/√N, 1/√N)``.
* loss: ``MSE = mean over the grid of (f(x) − y)²`` (no ½), float64 throughout.
* training recipe (:class:`Recipe`, recorded beside every result): ``adam_steps`` of Adam
  (optax defaults ``β = (0.9, 0.999)``, ``ε = 1e−8``) with a schedule from ``lr`` to ``lr_end``
  (cosine, exponential or constant), then optionally ``lbfgs_steps`` iterations of L-BFGS
  (memory 20, a fixed-cost parallel backtracking line search that vmaps well: see
  :func:`_lbfgs_polish`) as a second-order polish. THEORY.md §4: the SiLU slope
  depends on this budget, so every slope is reported with its recipe.

Sweep interface (:func:`build`): static (shape/loop-defining) parameters ``width``,
``activation``, ``target``, ``adam_steps``, ``lbfgs_steps``, ``schedule``, ``n_train``, ``n_test``,
``n_checkpoints`` (defaults: :data:`STATIC_DEFAULTS`); swept (traced) ``lr`` and ``lr_end``.
Outputs per run: ``train_mse``, ``test_mse``, ``test_mse_adam`` (test MSE after the Adam phase,
before any polish), ``curve`` (training MSE at log-spaced steps, coordinate ``step``), the
trained parameters ``w``, ``b``, ``v`` (coordinate ``neuron``) and ``c``, and the initial
``w_init``, ``b_init``, ``v_init`` (the null of the mirror-pair statistics).

Diagnostics: median and quantiles of the test MSE over seeds (:func:`width_table`,
:func:`mse_quantiles`), width exponents with bootstrap intervals (:func:`fit_width_exponent`),
the exact ReLU floor ratio (:func:`floor_ratios`), mirror pairs (:func:`mirror_pairs`), loss modes
of the ``N = 2`` histogram (:func:`loss_modes`), explicit ensembles of ``K`` independent nets
(:func:`ensemble_curve`).

``solvable compare lottery`` (:func:`compare_command`) writes ``comparison.csv`` with the
parameter columns ``activation,recipe,width`` (``width`` is a fit window ``"4-64"`` for exponent
rows, a number for per-width rows), then the common columns
``phase,quantity,predicted,measured,ci_low,ci_high``, then the extras ``window,n_seeds,note``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from jax.flatten_util import ravel_pytree

from simulations import compare, fit, sweep
from theory import lottery as theory

__all__ = [
    "ACTIVATIONS",
    "BUDGET_RECIPES",
    "FINE_MIRROR_TOL",
    "FULL_CONFIG",
    "INTERVAL",
    "LONG_POLISHED_RECIPE",
    "MIRROR_TOL",
    "PARAM_NAMES",
    "POLISHED_RECIPE",
    "QUICK_CONFIG",
    "QUICK_RECIPE",
    "RELU_RECIPE",
    "SCHEDULES",
    "STATIC_DEFAULTS",
    "TARGETS",
    "THEORY_MD_POLISHED_SLOPE",
    "THEORY_MD_SILU_SLOPE",
    "CompareConfig",
    "CompareData",
    "EnsembleCurve",
    "LossMode",
    "MirrorPairs",
    "Recipe",
    "WidthTable",
    "build",
    "checkpoint_steps",
    "compare_command",
    "ensemble_curve",
    "fit_width_exponent",
    "floor_ratios",
    "init_params",
    "loss_modes",
    "measure",
    "midpoint_grid",
    "mirror_pairs",
    "mse_quantiles",
    "net_params",
    "pair_asymmetry",
    "plot_ensembles",
    "plot_mirror_pairs",
    "plot_n2_histogram",
    "plot_width_scaling",
    "predict",
    "run_command",
    "run_ensemble",
    "run_n2",
    "run_wide",
    "train",
    "width_table",
]

INTERVAL = (-2.0, 2.0)
"""The input interval ``[lo, hi]`` (inputs uniform on it)."""

ACTIVATIONS = {
    "silu": jax.nn.silu,
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "gelu": lambda z: jax.nn.gelu(z, approximate=False),
    "softplus": jax.nn.softplus,
    "sigmoid": jax.nn.sigmoid,
}
"""Hidden-layer nonlinearities ``σ`` (JAX)."""

TARGETS = {
    "square": lambda x: x**2,
    "cube": lambda x: x**3,
    "abs": jnp.abs,
    "sin": lambda x: jnp.sin(jnp.pi * x / 2.0),
    "exp": jnp.exp,
    "gauss": lambda x: jnp.exp(-(x**2)),
}
"""Target functions of ``x`` (``square`` = ``x²`` is the paper's)."""

SCHEDULES = ("cosine", "exponential", "constant")

STATIC_DEFAULTS: dict[str, Any] = {
    "activation": "silu",
    "target": "square",
    "adam_steps": 3000,
    "lbfgs_steps": 0,
    "schedule": "cosine",
    "n_train": 256,
    "n_test": 8192,
    "n_checkpoints": 24,
}
"""Defaults of the static parameters of :func:`build` (``width`` has none)."""

_LBFGS_MEMORY = 20
_TEST_BLOCK = 1024


# --- validation ---------------------------------------------------------------------------------
def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


# --- recipes ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Recipe:
    """A training recipe: Adam with a schedule, optionally polished by L-BFGS.

    Attributes:
        adam_steps: Adam steps (>= 1).
        lr: initial learning rate (> 0).
        lr_end: final learning rate (> 0; ignored by ``"constant"``).
        schedule: ``"cosine"`` (``lr_end + (lr − lr_end)(1 + cos(π t/T))/2``), ``"exponential"``
            (``lr (lr_end/lr)^(t/T)``) or ``"constant"``.
        lbfgs_steps: L-BFGS iterations after Adam (>= 0; 0 = no polish).
        n_train: training grid points on ``[−2, 2]``.
    """

    adam_steps: int = 3000
    lr: float = 3e-2
    lr_end: float = 1e-5
    schedule: str = "cosine"
    lbfgs_steps: int = 0
    n_train: int = 256

    def __post_init__(self):
        _check_int("adam_steps", self.adam_steps, 1)
        _check_int("lbfgs_steps", self.lbfgs_steps, 0)
        _check_int("n_train", self.n_train, 2)
        for name in ("lr", "lr_end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a positive real, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite positive real, got {value!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")

    @property
    def label(self) -> str:
        """Short unique name, e.g. ``adam3000-cos3e-02>1e-05`` or ``...+lbfgs2000``."""
        sched = {"cosine": "cos", "exponential": "exp", "constant": "const"}[self.schedule]
        lrs = (
            f"{self.lr:.0e}" if self.schedule == "constant" else f"{self.lr:.0e}>{self.lr_end:.0e}"
        )
        s = f"adam{self.adam_steps}-{sched}{lrs}"
        if self.lbfgs_steps:
            s += f"+lbfgs{self.lbfgs_steps}"
        if self.n_train != 256:
            s += f"-grid{self.n_train}"
        return s

    @property
    def total_steps(self) -> int:
        return self.adam_steps + self.lbfgs_steps

    def static(self) -> dict[str, Any]:
        """The static parameters of :func:`build` this recipe sets."""
        return {
            "adam_steps": self.adam_steps,
            "lbfgs_steps": self.lbfgs_steps,
            "schedule": self.schedule,
            "n_train": self.n_train,
        }

    def swept(self) -> dict[str, float]:
        """The traced parameters of :func:`build` this recipe sets."""
        return {"lr": float(self.lr), "lr_end": float(self.lr_end)}


QUICK_RECIPE = Recipe(adam_steps=3000, lr=3e-2, lr_end=1e-5)
"""THEORY.md §4's SiLU recipe: Adam 3000 steps, lr 3e−2 cosine to 1e−5."""
RELU_RECIPE = Recipe(adam_steps=5000, lr=3e-2, lr_end=1e-5)
"""THEORY.md §4's ReLU recipe: Adam 5000 steps (same schedule)."""
POLISHED_RECIPE = Recipe(adam_steps=3000, lr=3e-2, lr_end=1e-5, lbfgs_steps=2000)
"""The quick recipe followed by 2000 L-BFGS iterations."""
LONG_POLISHED_RECIPE = Recipe(adam_steps=3000, lr=3e-2, lr_end=1e-5, lbfgs_steps=8000)
"""The quick recipe followed by 8000 L-BFGS iterations (wide nets need > 2000 to converge)."""
BUDGET_RECIPES = (
    Recipe(adam_steps=1000),
    QUICK_RECIPE,
    Recipe(adam_steps=10000),
    POLISHED_RECIPE,
    LONG_POLISHED_RECIPE,
)
"""The budget sweep of ``solvable compare lottery`` (full mode), shortest first."""


def _check_widths(widths) -> tuple[int, ...]:
    if isinstance(widths, (int, np.integer)):
        widths = (widths,)
    try:
        widths = tuple(widths)
    except TypeError:
        raise TypeError(f"widths must be integers >= 1, got {widths!r}") from None
    if not widths:
        raise ValueError("widths must be non-empty")
    out = tuple(_check_int("width", w, 1) for w in widths)
    if len(set(out)) != len(out):
        raise ValueError(f"widths must be distinct, got {widths!r}")
    return out


def _resolve_static(static: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(static) - set(STATIC_DEFAULTS) - {"width"}
    if unknown:
        raise ValueError(f"unknown static parameters {sorted(unknown)}")
    if "width" not in static:
        raise ValueError("static must contain 'width'")
    s = {**STATIC_DEFAULTS, **static}
    _check_int("width", s["width"], 1)
    _check_choice("activation", s["activation"], ACTIVATIONS)
    _check_choice("target", s["target"], TARGETS)
    _check_choice("schedule", s["schedule"], SCHEDULES)
    _check_int("adam_steps", s["adam_steps"], 1)
    _check_int("lbfgs_steps", s["lbfgs_steps"], 0)
    _check_int("n_train", s["n_train"], 2)
    _check_int("n_test", s["n_test"], 2)
    _check_int("n_checkpoints", s["n_checkpoints"], 2)
    return s


# --- the model ----------------------------------------------------------------------------------
def midpoint_grid(n: int, interval=INTERVAL) -> np.ndarray:
    """Midpoints of ``n`` equal cells of ``[lo, hi]``: ``(n,)`` float64."""
    n = _check_int("n", n, 1)
    lo, hi = interval
    return lo + (np.arange(n) + 0.5) * (hi - lo) / n


def checkpoint_steps(total_steps: int, n_checkpoints: int) -> np.ndarray:
    """Log-spaced step counts ``0 = s_0 < ... < s_k = total_steps`` (at most ``n_checkpoints``).

    The training curve records the MSE after ``s_j`` optimiser steps.
    """
    total = _check_int("total_steps", total_steps, 1)
    n = _check_int("n_checkpoints", n_checkpoints, 2)
    steps = np.unique(np.round(np.logspace(0, np.log10(total), n - 1)).astype(np.int64))
    return np.concatenate([[0], steps[steps < total], [total]])


def init_params(key: jax.Array, width: int, dtype=jnp.float64) -> tuple[jax.Array, ...]:
    """PyTorch-default init of ``nn.Linear(1, N)`` then ``nn.Linear(N, 1)``.

    Returns ``(w, b, v, c)``: ``w, b ~ U(−1, 1)`` of shape ``(N,)`` (fan-in 1),
    ``v ~ U(−1/√N, 1/√N)`` of shape ``(N,)``, ``c ~ U(−1/√N, 1/√N)`` scalar.
    """
    kw, kb, kv, kc = jax.random.split(key, 4)
    bound = 1.0 / math.sqrt(width)
    w = jax.random.uniform(kw, (width,), dtype, -1.0, 1.0)
    b = jax.random.uniform(kb, (width,), dtype, -1.0, 1.0)
    v = jax.random.uniform(kv, (width,), dtype, -bound, bound)
    c = jax.random.uniform(kc, (), dtype, -bound, bound)
    return w, b, v, c


def _forward(params, x, act):
    w, b, v, c = params
    return act(x[:, None] * w + b) @ v + c


def _schedule(kind: str, steps: int, lr, lr_end):
    def sched(count):
        frac = jnp.minimum(count, steps) / steps
        if kind == "cosine":
            return lr_end + (lr - lr_end) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac))
        if kind == "exponential":
            return lr * (lr_end / lr) ** frac
        return lr * jnp.ones_like(frac)

    return sched


def _lbfgs_polish(loss, theta, slots, curve, memory: int = _LBFGS_MEMORY, n_trials: int = 10):
    """L-BFGS with a fixed-cost line search, for many seeds under ``vmap``.

    Direction: the two-loop recursion over the last ``memory`` curvature pairs (Nocedal & Wright,
    *Numerical Optimization*, Alg. 7.4) with the initial scaling ``sᵀy/yᵀy``. Step: the largest
    of ``1, 1/2, ..., 2^(1−n_trials)`` satisfying Armijo's condition (``c₁ = 1e−4``), all
    ``n_trials`` losses evaluated at once; failing that, the trial with the lowest loss if it
    improves, else no step and the memory is cleared. Pairs with ``sᵀy <= 1e−10 |s||y|`` are not
    stored. Unlike a zoom line search (``optax.lbfgs``), whose ``while_loop`` makes every vmapped
    seed wait for the slowest one (10x slower at ``N = 2`` with 256 seeds), every iteration costs
    ``n_trials`` forward passes and one gradient.
    """
    flat0, unravel = ravel_pytree(theta)
    size = flat0.size
    dtype = flat0.dtype

    def f_flat(z):
        return loss(unravel(z))

    value_and_grad = jax.value_and_grad(f_flat)
    alphas = 0.5 ** jnp.arange(n_trials, dtype=dtype)

    def steepest(g):
        # first step (empty memory): length 1e-2 at most in parameter space
        return -g * jnp.minimum(1.0, 1e-2 / (jnp.linalg.norm(g) + 1e-300))

    def direction(g, s_mem, y_mem, rho, valid, ptr):
        order = (ptr - 1 - jnp.arange(memory)) % memory  # newest first

        def first(q, i):
            a = jnp.where(valid[i], rho[i] * (s_mem[i] @ q), 0.0)
            return q - a * y_mem[i], a

        q, a = jax.lax.scan(first, g, order)
        newest = order[0]
        yy = y_mem[newest] @ y_mem[newest]
        have = valid[newest] & (yy > 0)
        gamma = jnp.where(have, (s_mem[newest] @ y_mem[newest]) / jnp.where(have, yy, 1.0), 0.0)

        def second(r, item):
            i, ai = item
            bi = jnp.where(valid[i], rho[i] * (y_mem[i] @ r), 0.0)
            return r + jnp.where(valid[i], ai - bi, 0.0) * s_mem[i], None

        r, _ = jax.lax.scan(second, gamma * q, (order[::-1], a[::-1]))
        return jnp.where(have, -r, steepest(g))

    def step(carry, sl):
        z, f, g, s_mem, y_mem, rho, valid, ptr, curve = carry
        curve = curve.at[sl].set(f, mode="drop")
        d = direction(g, s_mem, y_mem, rho, valid, ptr)
        d = jnp.where(g @ d < 0, d, steepest(g))  # not a descent direction: restart
        slope = g @ d
        trial = jax.vmap(lambda a: f_flat(z + a * d))(alphas)
        trial = jnp.where(jnp.isfinite(trial), trial, jnp.inf)
        armijo = trial <= f + 1e-4 * alphas * slope
        j = jnp.where(jnp.any(armijo), jnp.argmax(armijo), jnp.argmin(trial))
        take = jnp.any(armijo) | (trial[j] < f)
        z_new = jnp.where(take, z + alphas[j] * d, z)
        f_new, g_new = value_and_grad(z_new)
        s, y = z_new - z, g_new - g
        sy = s @ y
        ok = take & (sy > 1e-10 * jnp.sqrt((s @ s) * (y @ y)))
        s_mem = jnp.where(ok, s_mem.at[ptr].set(s), s_mem)
        y_mem = jnp.where(ok, y_mem.at[ptr].set(y), y_mem)
        rho = jnp.where(ok, rho.at[ptr].set(1.0 / jnp.where(ok, sy, 1.0)), rho)
        valid = jnp.where(ok, valid.at[ptr].set(True), valid & take)
        ptr = jnp.where(ok, (ptr + 1) % memory, ptr)
        return (z_new, f_new, g_new, s_mem, y_mem, rho, valid, ptr, curve), None

    f0, g0 = value_and_grad(flat0)
    zeros = jnp.zeros((memory, size), dtype)
    init = (
        flat0,
        f0,
        g0,
        zeros,
        zeros,
        jnp.zeros(memory, dtype),
        jnp.zeros(memory, bool),
        jnp.zeros((), jnp.int32),
        curve,
    )
    (z, *_, curve), _ = jax.lax.scan(step, init, slots)
    return unravel(z), curve


def build(static: Mapping[str, Any]) -> sweep.Experiment:
    """The sweep-engine experiment of one static group (see the module docstring).

    Args:
        static: ``width`` (required) and any of :data:`STATIC_DEFAULTS`.

    Returns:
        :class:`simulations.sweep.Experiment` with ``x64=True``; ``run(key, params)`` needs the
        traced scalars ``params["lr"]`` and ``params["lr_end"]``.
    """
    s = _resolve_static(static)
    width, act, tgt = s["width"], ACTIVATIONS[s["activation"]], TARGETS[s["target"]]
    adam_steps, lbfgs_steps = s["adam_steps"], s["lbfgs_steps"]
    total = adam_steps + lbfgs_steps
    steps = checkpoint_steps(total, s["n_checkpoints"])
    n_ckpt = steps.size
    # slot of step t in the curve, n_ckpt (dropped) if t is not a checkpoint
    slot = np.full(total, n_ckpt, dtype=np.int32)
    slot[steps[:-1]] = np.arange(n_ckpt - 1, dtype=np.int32)
    x_train_np = midpoint_grid(s["n_train"])
    n_test = s["n_test"]
    n_blocks = -(-n_test // _TEST_BLOCK)
    x_test_np = midpoint_grid(n_test)
    pad = n_blocks * _TEST_BLOCK - n_test
    x_test_pad = np.concatenate([x_test_np, np.zeros(pad)]).reshape(n_blocks, _TEST_BLOCK)
    mask_np = (np.arange(n_blocks * _TEST_BLOCK) < n_test).reshape(n_blocks, _TEST_BLOCK)

    def run(key, params):
        x_train = jnp.asarray(x_train_np)
        y_train = tgt(x_train)
        x_test = jnp.asarray(x_test_pad)
        mask = jnp.asarray(mask_np)

        def loss(theta):
            r = _forward(theta, x_train, act) - y_train
            return jnp.mean(r * r)

        def test_mse(theta):
            # blocks keep the (batch, N, n_test) activations small for wide nets
            def block(acc, xs):
                xb, mb = xs
                r = _forward(theta, xb, act) - tgt(xb)
                return acc + jnp.sum(jnp.where(mb, r * r, 0.0)), None

            total_sq, _ = jax.lax.scan(block, jnp.zeros((), x_train.dtype), (x_test, mask))
            return total_sq / n_test

        theta = init_params(key, width, x_train.dtype)
        w_init, b_init, v_init, _ = theta
        curve = jnp.full((n_ckpt,), jnp.nan, x_train.dtype)
        opt = optax.adam(_schedule(s["schedule"], adam_steps, params["lr"], params["lr_end"]))

        def adam_step(carry, sl):
            theta, state, curve = carry
            value, grad = jax.value_and_grad(loss)(theta)
            updates, state = opt.update(grad, state, theta)
            curve = curve.at[sl].set(value, mode="drop")
            return (optax.apply_updates(theta, updates), state, curve), None

        (theta, _, curve), _ = jax.lax.scan(
            adam_step, (theta, opt.init(theta), curve), jnp.asarray(slot[:adam_steps])
        )
        mse_adam = test_mse(theta)
        if lbfgs_steps:
            theta, curve = _lbfgs_polish(loss, theta, jnp.asarray(slot[adam_steps:]), curve)
        final = loss(theta)
        curve = curve.at[n_ckpt - 1].set(final)
        w, b, v, c = theta
        return {
            "train_mse": final,
            "test_mse": test_mse(theta),
            "test_mse_adam": mse_adam,
            "curve": curve,
            "w": w,
            "b": b,
            "v": v,
            "c": c,
            "w_init": w_init,
            "b_init": b_init,
            "v_init": v_init,
        }

    dims = {"curve": ("step",)}
    dims.update({k: ("neuron",) for k in ("w", "b", "v", "w_init", "b_init", "v_init")})
    coords = {"step": steps, "neuron": np.arange(width)}
    return sweep.Experiment(run=run, dims=dims, coords=coords, x64=True)


def train(
    widths,
    *,
    activation: str = "silu",
    recipe: Recipe = QUICK_RECIPE,
    seeds: int = 32,
    target: str = "square",
    n_test: int = STATIC_DEFAULTS["n_test"],
    n_checkpoints: int = STATIC_DEFAULTS["n_checkpoints"],
    store: str | Path | None = None,
    name: str | None = None,
    base_seed: int = 0,
    chunk_size: int | None = None,
    progress: bool = False,
) -> sweep.SweepResult:
    """Train ``seeds`` nets of every width with one recipe (one static group per width).

    Args:
        widths: hidden widths ``N`` (distinct integers >= 1).
        activation: a key of :data:`ACTIVATIONS`.
        recipe: the :class:`Recipe`.
        seeds: nets per width (vmapped together).
        target: a key of :data:`TARGETS`.
        n_test: test-grid points.
        n_checkpoints: points of the training curve.
        store: directory of the resumable store (``None``: in memory).
        name: sweep name (default ``lottery-<activation>-<recipe label>``).
        base_seed: root seed of the sweep.
        chunk_size: runs per compiled call (default: all seeds of a width, at most 256).
        progress: show a progress bar.

    Returns:
        :class:`simulations.sweep.SweepResult` (one dataset per width; see :func:`width_table`).
    """
    widths = _check_widths(widths)
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    seeds = _check_int("seeds", seeds, 1)
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("target", target, TARGETS)
    static = {
        "width": widths,
        "activation": activation,
        "target": target,
        **recipe.static(),
        "n_test": _check_int("n_test", n_test, 2),
        "n_checkpoints": _check_int("n_checkpoints", n_checkpoints, 2),
    }
    grid = sweep.Grid.product(static=static, swept=recipe.swept(), seeds=seeds)
    name = name or f"lottery-{activation}-{recipe.label}"
    chunk = chunk_size if chunk_size is not None else min(seeds, 256)
    return sweep.run_sweep(
        build,
        grid,
        name=name,
        store=None if store is None else str(store),
        chunk_size=chunk,
        base_seed=base_seed,
        progress=progress,
        config={"recipe": recipe.label, "activation": activation, "target": target},
    )


# --- measurement --------------------------------------------------------------------------------
class WidthTable(NamedTuple):
    """Test MSE per seed and width, the input of the width-scaling fits.

    Attributes:
        widths: ``(n_widths,)`` int, ascending.
        test_mse: ``(n_seeds, n_widths)`` float64 (NaN for diverged runs).
        train_mse: ``(n_seeds, n_widths)``.
        test_mse_adam: ``(n_seeds, n_widths)`` (after the Adam phase).
        activation, recipe: labels.
    """

    widths: np.ndarray
    test_mse: np.ndarray
    train_mse: np.ndarray
    test_mse_adam: np.ndarray
    activation: str
    recipe: str


def width_table(result: sweep.SweepResult, recipe: Recipe | str = "") -> WidthTable:
    """Collect ``test_mse`` over the width groups of a :func:`train` result (first point only)."""
    groups = sorted(result.groups, key=lambda ds: int(ds.attrs["static.width"]))
    cols = {}
    for var in ("test_mse", "train_mse", "test_mse_adam"):
        cols[var] = np.stack(
            [sweep.mask_diverged(ds)[var].isel(point=0).values for ds in groups], axis=1
        )
    label = recipe.label if isinstance(recipe, Recipe) else str(recipe)
    return WidthTable(
        widths=np.array([int(ds.attrs["static.width"]) for ds in groups]),
        activation=str(groups[0].attrs["static.activation"]),
        recipe=label,
        **cols,
    )


def mse_quantiles(mse, q: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9)) -> np.ndarray:
    """Quantiles over seeds (axis 0) of ``mse`` ``(n_seeds, ...)``, NaN ignored.

    Returns ``(len(q), ...)`` float64.
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 1 or np.any((q < 0) | (q > 1)):
        raise ValueError(f"q must be a 1-D sequence of values in [0, 1], got {q!r}")
    return np.nanquantile(np.asarray(mse, dtype=np.float64), q, axis=0)


def fit_width_exponent(
    table: WidthTable, window=None, *, n_boot: int = 2000, seed: int = 0
) -> fit.PowerLawFit:
    """Exponent ``e`` of ``median_seeds(test MSE) ∝ N^(−e)`` with a bootstrap-over-seeds interval.

    Uses :func:`simulations.fit.bootstrap_power_law` (``reducer="median"``, expanded percentile
    interval) over the widths inside ``window`` (inclusive ``(N_min, N_max)``).
    """
    return fit.bootstrap_power_law(
        table.widths.astype(np.float64),
        table.test_mse,
        window=window,
        n_boot=n_boot,
        seed=seed,
        reducer="median",
    )


def floor_ratios(table: WidthTable) -> dict[str, np.ndarray]:
    """Test MSE of ReLU nets over :func:`theory.lottery.relu_floor` per width.

    Returns ``{"floor", "best", "median", "below"}``: the exact floor ``(n_widths,)``, the best
    seed's and the median's ratio, and the count of seeds below the floor (should be 0 up to the
    test grid's quadrature error, below 1e−5 relative; :func:`theory.lottery.relu_net_mse` gives
    the exact value from the stored parameters).
    """
    floor = np.array([theory.relu_floor(int(n)) for n in table.widths])
    ratio = table.test_mse / floor
    return {
        "floor": floor,
        "best": np.nanmin(ratio, axis=0),
        "median": np.nanmedian(ratio, axis=0),
        "below": np.sum(ratio < 1.0, axis=0),
    }


def net_params(ds: xr.Dataset, point: int = 0) -> tuple[np.ndarray, ...]:
    """``(w, b, v, c)`` of every seed of a width group: ``(n_seeds, N)`` x3 and ``(n_seeds,)``."""
    sel = ds.isel(point=point)
    return tuple(np.asarray(sel[k].values, dtype=np.float64) for k in ("w", "b", "v", "c"))


def predict(w, b, v, c, x, activation: str = "silu") -> np.ndarray:
    """Outputs of nets at ``x`` ``(n_x,)``: ``(..., n_x)``, numpy float64.

    ``w, b, v`` have shape ``(..., N)`` and ``c`` shape ``(...)`` (used for ensembles and plots;
    training runs in JAX).
    """
    act = theory.ACTIVATIONS[_check_choice("activation", activation, ACTIVATIONS)]
    w, b, v = (np.asarray(a, dtype=np.float64) for a in (w, b, v))
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        h = act(x[..., :, None] * w[..., None, :] + b[..., None, :])
    return np.einsum("...xn,...n->...x", h, v) + np.asarray(c, dtype=np.float64)[..., None]


class MirrorPairs(NamedTuple):
    """Nearest mirror partner of every neuron.

    Attributes:
        partner: ``(..., N)`` int, the index ``j ≠ i`` minimising
            ``|(w_j, b_j, v_j) − (−w_i, b_i, v_i)|``.
        distance: ``(..., N)`` that Euclidean distance.
        paired: ``(..., N)`` bool, ``distance < tol``.
        fraction: ``(...)`` fraction of paired neurons.
    """

    partner: np.ndarray
    distance: np.ndarray
    paired: np.ndarray
    fraction: np.ndarray


def mirror_pairs(w, b, v, tol: float = 0.1) -> MirrorPairs:
    """Mirror-pair detection (Liu & Tegmark §3: tickets for an even target are ``(w, b, v)`` and
    ``(−w, b, v)``): for each neuron the nearest ``(−w, b, v)`` partner among the others.

    Args:
        w, b, v: ``(..., N)`` with ``N >= 2`` (leading axes: several nets).
        tol: distance below which a neuron counts as paired (THEORY.md uses 0.1).

    Returns:
        :class:`MirrorPairs`.
    """
    w, b, v = (np.asarray(a, dtype=np.float64) for a in (w, b, v))
    if w.shape != b.shape or w.shape != v.shape or w.ndim == 0 or w.shape[-1] < 2:
        raise ValueError(f"w, b, v must share a shape (..., N) with N >= 2, got {w.shape}")
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise ValueError(f"tol must be > 0, got {tol!r}")
    pts = np.stack([w, b, v], axis=-1)  # (..., N, 3)
    mirrored = np.stack([-w, b, v], axis=-1)
    d = np.linalg.norm(mirrored[..., :, None, :] - pts[..., None, :, :], axis=-1)
    n = w.shape[-1]
    d[..., np.arange(n), np.arange(n)] = np.inf
    partner = np.argmin(d, axis=-1)
    dist = np.take_along_axis(d, partner[..., None], axis=-1)[..., 0]
    paired = dist < tol
    return MirrorPairs(partner, dist, paired, paired.mean(axis=-1))


class LossMode(NamedTuple):
    """One mode of a loss histogram (in ``log10`` MSE).

    Attributes:
        center: median ``log10`` MSE of its members.
        low, high: range of its members' ``log10`` MSE.
        count: members.
        members: indices into the input array.
    """

    center: float
    low: float
    high: float
    count: int
    members: np.ndarray


def loss_modes(mse, gap: float = 0.5, min_fraction: float = 0.02) -> list[LossMode]:
    """Split a sample of losses into modes separated by empty gaps in ``log10`` MSE.

    Sorted ``log10`` values are cut wherever two neighbours differ by more than ``gap`` decades;
    clusters holding less than ``min_fraction`` of the finite values are merged into their nearer
    neighbour (isolated outliers are not modes).

    Args:
        mse: ``(n,)`` losses (NaN/inf and non-positive values are ignored).
        gap: minimal empty gap between two modes, in decades.
        min_fraction: smallest mode, as a fraction of the finite values.

    Returns:
        Modes sorted by ``center`` (lowest loss first).
    """
    mse = np.asarray(mse, dtype=np.float64).ravel()
    if not (gap > 0 and 0 <= min_fraction < 1):
        raise ValueError(f"gap must be > 0 and min_fraction in [0, 1), got {gap}, {min_fraction}")
    idx = np.flatnonzero(np.isfinite(mse) & (mse > 0))
    if idx.size == 0:
        return []
    logs = np.log10(mse[idx])
    order = np.argsort(logs)
    ls = logs[order]
    cuts = np.flatnonzero(np.diff(ls) > gap) + 1
    clusters = [list(c) for c in np.split(np.arange(ls.size), cuts)]
    min_count = max(1, math.ceil(min_fraction * ls.size))
    while len(clusters) > 1:
        small = [i for i, c in enumerate(clusters) if len(c) < min_count]
        if not small:
            break
        i = min(small, key=lambda k: len(clusters[k]))
        if i == 0:
            j = 1
        elif i == len(clusters) - 1:
            j = i - 1
        else:
            left_gap = ls[clusters[i][0]] - ls[clusters[i - 1][-1]]
            right_gap = ls[clusters[i + 1][0]] - ls[clusters[i][-1]]
            j = i - 1 if left_gap <= right_gap else i + 1
        lo, hi = sorted((i, j))
        clusters[lo] = clusters[lo] + clusters[hi]
        del clusters[hi]
    modes = []
    for c in clusters:
        vals = ls[c]
        modes.append(
            LossMode(
                center=float(np.median(vals)),
                low=float(vals.min()),
                high=float(vals.max()),
                count=len(c),
                members=np.sort(idx[order[c]]),
            )
        )
    return modes


class EnsembleCurve(NamedTuple):
    """Error of explicit ensembles of ``K`` independently trained nets.

    Attributes:
        ks: ``(n_k,)`` ensemble sizes.
        mse: ``(n_k,)`` mean over ensembles of the ensemble average's MSE, measured on the
            held-out half of the nets (random partitions into disjoint groups of ``K``).
        mse_ci: ``(2, n_k)`` 95 % bootstrap interval of ``mse`` (nets of the held-out half
            resampled).
        bias_sq, variance: ``E_x (f̄ − y)²`` and ``E_x Var f`` estimated (unbiased) on the other
            half of the nets.
        predicted: ``(n_k,)`` :func:`theory.lottery.ensemble_mse` ``= bias_sq + variance/K``.
        predicted_ci: ``(2, n_k)`` its bootstrap interval (estimation half resampled).
        n_nets: nets per half.
    """

    ks: np.ndarray
    mse: np.ndarray
    mse_ci: np.ndarray
    bias_sq: float
    variance: float
    predicted: np.ndarray
    predicted_ci: np.ndarray
    n_nets: int


def _bias_variance(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    m = pred.shape[0]
    var = float(np.mean(np.var(pred, axis=0, ddof=1)))
    bias_sq = float(np.mean((pred.mean(axis=0) - y) ** 2)) - var / m
    return max(bias_sq, 0.0), var


def _ensemble_mse(held: np.ndarray, y: np.ndarray, k: int, rng, n_partitions: int) -> float:
    n = held.shape[0]
    total = 0.0
    for _ in range(n_partitions):
        groups = rng.permutation(n)[: (n // k) * k].reshape(-1, k)
        total += float(np.mean((held[groups].mean(axis=1) - y) ** 2))
    return total / n_partitions


def ensemble_curve(
    pred, y, ks: Sequence[int], *, n_partitions: int = 20, n_boot: int = 200, seed: int = 0
) -> EnsembleCurve:
    """Explicit ensembles: average ``K`` nets' outputs, measure the MSE, compare with
    ``bias² + variance/K`` (:func:`theory.lottery.ensemble_mse`).

    The nets are split at random into two halves: the bias and variance are estimated on one and
    the ensembles are drawn from the other, so the prediction is tested on nets it was not
    estimated from (within one set of nets, ``bias² + variance/K`` holds identically).

    Args:
        pred: ``(n_nets, n_x)`` outputs of independently trained nets on a uniform grid.
        y: ``(n_x,)`` target on that grid.
        ks: ensemble sizes (each ``<= n_nets // 2``).
        n_partitions: random partitions averaged per ``K``.
        n_boot: bootstrap replicates of the intervals.
        seed: seed of the split, partitions and bootstrap.

    Returns:
        :class:`EnsembleCurve`.
    """
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if pred.ndim != 2 or y.shape != pred.shape[1:]:
        raise ValueError(f"pred must be (n_nets, n_x) and y (n_x,), got {pred.shape}, {y.shape}")
    pred = pred[np.all(np.isfinite(pred), axis=1)]
    half = pred.shape[0] // 2
    ks = np.asarray([_check_int("k", k, 1) for k in ks])
    if half < 2 or ks.size == 0 or np.any(ks > half):
        raise ValueError(f"ks must be in [1, n_nets // 2 = {half}], got {ks.tolist()}")
    _check_int("n_partitions", n_partitions, 1)
    _check_int("n_boot", n_boot, 1)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(pred.shape[0])
    est, held = pred[perm[:half]], pred[perm[half : 2 * half]]
    bias_sq, variance = _bias_variance(est, y)
    mse = np.array([_ensemble_mse(held, y, int(k), rng, n_partitions) for k in ks])
    boot_mse = np.empty((n_boot, ks.size))
    boot_pred = np.empty((n_boot, ks.size))
    for i in range(n_boot):
        held_b = held[rng.integers(0, half, half)]
        boot_mse[i] = [_ensemble_mse(held_b, y, int(k), rng, 1) for k in ks]
        b_sq, var = _bias_variance(est[rng.integers(0, half, half)], y)
        boot_pred[i] = b_sq + var / ks
    predicted = theory.ensemble_mse(ks, bias_sq, variance)
    return EnsembleCurve(
        ks=ks,
        mse=mse,
        mse_ci=np.quantile(boot_mse, [0.025, 0.975], axis=0),
        bias_sq=bias_sq,
        variance=variance,
        predicted=np.atleast_1d(predicted),
        predicted_ci=np.quantile(boot_pred, [0.025, 0.975], axis=0),
        n_nets=half,
    )


def pair_asymmetry(w, b, v) -> np.ndarray:
    """How far width-2 nets are from an exact mirror pair ``(w, b, v), (−w, b, v)``.

    The largest of the relative differences ``|w₁ + w₂|/(|w₁| + |w₂|)``,
    ``|b₁ − b₂|/(|b₁| + |b₂|)``, ``|v₁ − v₂|/(|v₁| + |v₂|)``: 0 for an exact pair, 1 when a
    component has opposite signs. Relative, because trained pairs drift along the valley
    ``w → 0, v → ∞`` (:func:`theory.lottery.mirror_pair_mse`), where absolute distances mislead.

    Args:
        w, b, v: ``(..., 2)``.

    Returns:
        ``(...)`` float64 in ``[0, 1]``.
    """
    w, b, v = (np.asarray(a, dtype=np.float64) for a in (w, b, v))
    if w.shape != b.shape or w.shape != v.shape or w.ndim == 0 or w.shape[-1] != 2:
        raise ValueError(
            f"w, b, v must share a shape (..., 2), got {w.shape}, {b.shape}, {v.shape}"
        )

    def rel(p, q):
        den = np.abs(p) + np.abs(q)
        return np.where(den > 0, np.abs(p - q) / np.where(den > 0, den, 1.0), 0.0)

    return np.maximum.reduce(
        [rel(w[..., 0], -w[..., 1]), rel(b[..., 0], b[..., 1]), rel(v[..., 0], v[..., 1])]
    )


# --- compare command ----------------------------------------------------------------------------
PARAM_NAMES = ("activation", "recipe", "width")
"""Parameter columns of ``comparison.csv``."""

THEORY_MD_SILU_SLOPE = 1.14
"""THEORY.md §4's measured SiLU exponent under :data:`QUICK_RECIPE` over N = 4–64 (CI
[1.04, 1.24], 32 seeds): a reference measurement, not a prediction."""

THEORY_MD_POLISHED_SLOPE = 1.9
"""THEORY.md §4's SiLU exponent after Adam + L-BFGS ("≈ −1.9 and steepening"; its L-BFGS budget
is not stated): a reference measurement."""

MIRROR_TOL = 0.25
"""Largest :func:`pair_asymmetry` of a width-2 net counted as a mirror pair."""

FINE_MIRROR_TOL = 0.02
"""A second mirror-pair tolerance for wide nets: at 0.1 (THEORY.md's) nearly every neuron of a
dense N = 1024 net is paired by chance already at initialisation."""


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """Sizes of ``solvable compare lottery``.

    Attributes:
        silu_widths, relu_widths: widths swept.
        silu_recipes: ``(recipe, seeds, widths or None)``; ``None`` widths = ``silu_widths``.
        relu_recipe, relu_seeds: the ReLU recipe and seeds.
        silu_window, relu_windows: fit windows (inclusive).
        n_boot: bootstrap replicates.
        mechanism: also run the N = 2 histogram, the wide net and the ensembles.
        n2_seeds, n2_recipe: the N = 2 histogram.
        wide_width, wide_seeds: the wide SiLU net of the mirror-pair diagnostic.
        ensemble_width, ensemble_seeds, ensemble_ks: explicit ensembles of narrow SiLU nets.
    """

    silu_widths: tuple[int, ...]
    silu_recipes: tuple[tuple[Recipe, int, tuple[int, ...] | None], ...]
    relu_widths: tuple[int, ...]
    relu_recipe: Recipe
    relu_seeds: int
    silu_window: tuple[int, int]
    relu_windows: tuple[tuple[int, int], ...]
    n_boot: int = 2000
    mechanism: bool = False
    n2_seeds: int = 256
    n2_recipe: Recipe = Recipe(adam_steps=3000, lbfgs_steps=4000)
    wide_width: int = 1024
    wide_seeds: int = 4
    ensemble_width: int = 4
    ensemble_seeds: int = 256
    ensemble_ks: tuple[int, ...] = (1, 2, 4, 8, 16, 32)


QUICK_CONFIG = CompareConfig(
    silu_widths=(4, 8, 16, 32, 64),
    silu_recipes=((QUICK_RECIPE, 16, None),),
    relu_widths=(4, 8, 16),
    relu_recipe=RELU_RECIPE,
    relu_seeds=16,
    silu_window=(4, 64),
    relu_windows=((4, 16),),
)
"""``--quick``: THEORY.md §4's recipes with 16 seeds instead of 32 (the interval widens by about
``√2``), no budget sweep, no mechanism diagnostics."""

FULL_CONFIG = CompareConfig(
    silu_widths=(4, 8, 16, 32, 64, 128),
    silu_recipes=(
        (BUDGET_RECIPES[0], 16, (4, 8, 16, 32, 64)),
        (QUICK_RECIPE, 32, None),
        (BUDGET_RECIPES[2], 16, (4, 8, 16, 32, 64)),
        (POLISHED_RECIPE, 8, (4, 16, 64)),
        (LONG_POLISHED_RECIPE, 8, (4, 16, 64)),
    ),
    relu_widths=(4, 8, 16, 32, 64, 128),
    relu_recipe=RELU_RECIPE,
    relu_seeds=32,
    silu_window=(4, 64),
    relu_windows=((4, 16), (16, 128)),
    mechanism=True,
)
"""Default: the quick recipe with 32 seeds over N = 4–128, the budget sweep (1000 and 10 000 Adam
steps with 16 seeds over N = 4–64; Adam + 2000 or 8000 L-BFGS iterations with 8 seeds at
N = 4, 16, 64), ReLU over 4–128, and the mechanism diagnostics."""


def _bootstrap_median_ci(values: np.ndarray, n_boot: int, seed: int = 0) -> tuple[float, float]:
    vals = values[np.isfinite(values)]
    if vals.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    meds = np.median(vals[rng.integers(0, vals.size, (n_boot, vals.size))], axis=1)
    lo, hi = np.quantile(meds, [0.025, 0.975])
    return float(lo), float(hi)


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    z, p = 1.959964, k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(mid - half, 0.0), min(mid + half, 1.0)


def _window_label(window) -> str:
    return f"{window[0]}-{window[1]}"


def _exponent_rows(table: WidthTable, window, n_boot: int, n_seeds: int, predictions):
    pf = fit_width_exponent(table, window, n_boot=n_boot)
    rows = []
    for phase, predicted, note in predictions:
        rows.append(
            compare.ComparisonRow(
                params={
                    "activation": table.activation,
                    "recipe": table.recipe,
                    "width": _window_label(window),
                },
                phase=phase,
                quantity="width_exponent",
                predicted=predicted,
                measured=pf.exponent,
                ci_low=pf.ci_low,
                ci_high=pf.ci_high,
                extras={"window": _window_label(window), "n_seeds": str(n_seeds), "note": note},
            )
        )
    return rows, pf


@dataclasses.dataclass
class CompareData:
    """Everything :func:`compare_command` measured (for figures and notebooks)."""

    silu: list[WidthTable]
    relu: WidthTable
    silu_fits: dict[str, fit.PowerLawFit]
    relu_fits: dict[str, fit.PowerLawFit]
    n2: dict[str, np.ndarray] | None = None
    wide: dict[str, np.ndarray] | None = None
    ensemble: EnsembleCurve | None = None
    ensemble_single: WidthTable | None = None
    rows: list[compare.ComparisonRow] = dataclasses.field(default_factory=list)


def run_n2(recipe: Recipe, seeds: int, store=None, progress: bool = False) -> dict[str, np.ndarray]:
    """Train ``seeds`` width-2 SiLU nets; return their test MSE, parameters, asymmetry
    (:func:`pair_asymmetry`) and the sweep's dataset (``"dataset"``)."""
    res = train(
        [2],
        activation="silu",
        recipe=recipe,
        seeds=seeds,
        store=store,
        name=f"lottery-n2-{recipe.label}",
        progress=progress,
    )
    ds = res.groups[0]
    w, b, v, c = net_params(ds)
    mse = sweep.mask_diverged(ds)["test_mse"].isel(point=0).values
    asym = pair_asymmetry(w, b, v)
    return {"mse": mse, "w": w, "b": b, "v": v, "c": c, "asymmetry": asym, "dataset": ds}


def run_wide(width: int, recipe: Recipe, seeds: int, store=None, progress: bool = False):
    """Train wide SiLU nets; return parameters, test MSE and mirror-pair fractions (tol 0.1).

    ``fraction_init`` is the same statistic for the nets at initialisation: in a wide net the
    neurons fill the ``(w, b)`` square so densely that most have *some* neighbour within 0.1 of
    their mirror image by chance (about 80 % at ``N = 256``), so only the excess over this null
    says that training made mirror pairs.
    """
    res = train(
        [width],
        activation="silu",
        recipe=recipe,
        seeds=seeds,
        store=store,
        name=f"lottery-wide{width}-{recipe.label}",
        progress=progress,
    )
    ds = res.groups[0]
    w, b, v, c = net_params(ds)
    pairs = mirror_pairs(w, b, v, tol=0.1)
    sel = ds.isel(point=0)
    init = [np.asarray(sel[k].values, dtype=np.float64) for k in ("w_init", "b_init", "v_init")]
    null = mirror_pairs(*init, tol=0.1)
    return {
        "w": w,
        "b": b,
        "v": v,
        "c": c,
        "mse": sel["test_mse"].values,
        "distance": pairs.distance,
        "fraction": pairs.fraction,
        "distance_init": null.distance,
        "fraction_init": null.fraction,
    }


def run_ensemble(width: int, recipe: Recipe, seeds: int, ks, store=None, progress=False):
    """Train ``seeds`` narrow SiLU nets and measure explicit ensembles (:func:`ensemble_curve`).

    Nets stuck far above the rest (test MSE > 100x the median: the constant solution with every
    ``w = 0``) are left out before ensembling; their number is returned as ``excluded``.
    """
    res = train(
        [width],
        activation="silu",
        recipe=recipe,
        seeds=seeds,
        store=store,
        name=f"lottery-ensemble{width}-{recipe.label}",
        progress=progress,
    )
    ds = res.groups[0]
    w, b, v, c = net_params(ds)
    mse = ds["test_mse"].isel(point=0).values
    keep = np.isfinite(mse) & (mse <= 100.0 * np.nanmedian(mse))
    x = midpoint_grid(2048)
    pred = predict(w[keep], b[keep], v[keep], c[keep], x)
    curve = ensemble_curve(pred, x**2, ks)
    return curve, int((~keep).sum())


def measure(config: CompareConfig, store_dir=None, progress: bool = False) -> CompareData:
    """Run every sweep of ``config`` and build the comparison rows (see :func:`compare_command`)."""

    def store(name):
        return None if store_dir is None else Path(store_dir) / name

    rows: list[compare.ComparisonRow] = []
    silu_tables, silu_fits = [], {}
    for recipe, seeds, widths in config.silu_recipes:
        res = train(
            widths or config.silu_widths,
            activation="silu",
            recipe=recipe,
            seeds=seeds,
            store=store(f"silu-{recipe.label}"),
            progress=progress,
        )
        table = width_table(res, recipe)
        silu_tables.append(table)
        preds = [
            ("lottery CLT", theory.LOTTERY_CLT_EXPONENT, "Liu & Tegmark: N^-1"),
            ("approximation", theory.approximation_exponent(1), "Sharma & Kaplan: N^-4/d"),
        ]
        if recipe == QUICK_RECIPE:
            preds.append(("THEORY.md numerics", THEORY_MD_SILU_SLOPE, "reference, 32 seeds"))
        if recipe == LONG_POLISHED_RECIPE:
            preds.append(
                (
                    "THEORY.md numerics",
                    THEORY_MD_POLISHED_SLOPE,
                    "reference: Adam + L-BFGS, budget unstated",
                )
            )
        r, pf = _exponent_rows(table, config.silu_window, config.n_boot, seeds, preds)
        rows += r
        silu_fits[recipe.label] = pf
        if recipe.lbfgs_steps:
            # the polished slope bends with N: report the upper half of the window too
            upper = (max(config.silu_window[0], config.silu_window[1] // 4), config.silu_window[1])
            r, pf_hi = _exponent_rows(
                table,
                upper,
                config.n_boot,
                seeds,
                [("lottery CLT", 1.0, "upper half of the window (log scale)")],
            )
            rows += r
            silu_fits[recipe.label + "@" + _window_label(upper)] = pf_hi
    res = train(
        config.relu_widths,
        activation="relu",
        recipe=config.relu_recipe,
        seeds=config.relu_seeds,
        store=store(f"relu-{config.relu_recipe.label}"),
        progress=progress,
    )
    relu = width_table(res, config.relu_recipe)
    relu_fits = {}
    for window in config.relu_windows:
        r, pf = _exponent_rows(
            relu,
            window,
            config.n_boot,
            config.relu_seeds,
            [("approximation", theory.approximation_exponent(1), "Sharma & Kaplan: N^-4/d")],
        )
        rows += r
        relu_fits[_window_label(window)] = pf
    ratios = floor_ratios(relu)
    for k, n in enumerate(relu.widths):
        params = {"activation": "relu", "recipe": relu.recipe, "width": int(n)}
        ratio = relu.test_mse[:, k] / ratios["floor"][k]
        lo, hi = _bootstrap_median_ci(ratio, config.n_boot)
        extras = {
            "n_seeds": str(config.relu_seeds),
            "note": f"exact floor {ratios['floor'][k]:.4g}; seeds below: {int(ratios['below'][k])}",
        }
        rows.append(
            compare.ComparisonRow(
                params, "floor", "best_seed/relu_floor", 1.0, ratios["best"][k], extras=extras
            )
        )
        rows.append(
            compare.ComparisonRow(
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
    data = CompareData(silu_tables, relu, silu_fits, relu_fits)
    if config.mechanism:
        n2 = run_n2(config.n2_recipe, config.n2_seeds, store("n2"), progress)
        modes = loss_modes(n2["mse"])
        n2["modes"] = modes
        data.n2 = n2
        p2 = {"activation": "silu", "recipe": config.n2_recipe.label, "width": 2}
        centers = ", ".join(f"{m.center:.2f} (n={m.count})" for m in modes)
        rows.append(
            compare.ComparisonRow(
                p2,
                "mechanism",
                "n2_loss_modes",
                math.nan,
                len(modes),
                extras={"n_seeds": str(config.n2_seeds), "note": f"log10 MSE centres: {centers}"},
            )
        )
        for rank, m in enumerate(modes[:2]):
            k = int(np.sum(n2["asymmetry"][m.members] < MIRROR_TOL))
            lo, hi = _wilson(k, m.count)
            rows.append(
                compare.ComparisonRow(
                    p2,
                    "mechanism",
                    f"n2_mode{rank}_mirror_fraction",
                    1.0 if rank == 0 else math.nan,
                    k / m.count,
                    lo,
                    hi,
                    extras={
                        "n_seeds": str(m.count),
                        "note": f"mode at log10 MSE {m.center:.2f}; asymmetry < {MIRROR_TOL}",
                    },
                )
            )
        wide = run_wide(config.wide_width, QUICK_RECIPE, config.wide_seeds, store("wide"), progress)
        data.wide = wide
        frac = wide["fraction"]
        rows.append(
            compare.ComparisonRow(
                {"activation": "silu", "recipe": QUICK_RECIPE.label, "width": config.wide_width},
                "mechanism",
                "mirror_fraction",
                1.0,
                float(np.mean(frac)),
                float(np.min(frac)),
                float(np.max(frac)),
                extras={
                    "n_seeds": str(config.wide_seeds),
                    "note": "nearest (-w,b,v) partner within 0.1; CI = min/max over seeds; "
                    f"same statistic at init: {np.mean(wide['fraction_init']):.3f}",
                },
            )
        )
        rows.append(
            compare.ComparisonRow(
                {"activation": "silu", "recipe": "init", "width": config.wide_width},
                "mechanism (null)",
                "mirror_fraction",
                math.nan,
                float(np.mean(wide["fraction_init"])),
                float(np.min(wide["fraction_init"])),
                float(np.max(wide["fraction_init"])),
                extras={
                    "n_seeds": str(config.wide_seeds),
                    "note": "the same nets before training: pairs by chance in a dense net",
                },
            )
        )
        # a tolerance below the init's typical nearest-mirror distance (~0.04 at N = 1024)
        fine = {
            k: np.mean(np.asarray(wide[k]) < FINE_MIRROR_TOL, axis=-1)
            for k in ("distance", "distance_init")
        }
        for recipe_label, phase, key in (
            (QUICK_RECIPE.label, "mechanism", "distance"),
            ("init", "mechanism (null)", "distance_init"),
        ):
            rows.append(
                compare.ComparisonRow(
                    {"activation": "silu", "recipe": recipe_label, "width": config.wide_width},
                    phase,
                    f"mirror_fraction_tol{FINE_MIRROR_TOL:g}",
                    math.nan,
                    float(np.mean(fine[key])),
                    float(np.min(fine[key])),
                    float(np.max(fine[key])),
                    extras={
                        "n_seeds": str(config.wide_seeds),
                        "note": "trained vs init: pairing beyond chance",
                    },
                )
            )
        curve, excluded = run_ensemble(
            config.ensemble_width,
            QUICK_RECIPE,
            config.ensemble_seeds,
            config.ensemble_ks,
            store("ensemble"),
            progress,
        )
        data.ensemble = curve
        single = silu_tables[[r[0] for r in config.silu_recipes].index(QUICK_RECIPE)]
        data.ensemble_single = single
        for i, k in enumerate(curve.ks):
            total = config.ensemble_width * int(k)
            note = f"held-out half of {2 * curve.n_nets} nets ({excluded} stuck nets left out)"
            if total in single.widths:
                mean_single = np.nanmean(single.test_mse[:, list(single.widths).index(total)])
                note += f"; one net of width {total}: mean MSE {mean_single:.3g}"
            rows.append(
                compare.ComparisonRow(
                    {
                        "activation": "silu",
                        "recipe": QUICK_RECIPE.label,
                        "width": f"{config.ensemble_width}x{int(k)}",
                    },
                    f"ensemble K={int(k)}",
                    "ensemble_mse",
                    float(curve.predicted[i]),
                    float(curve.mse[i]),
                    float(curve.mse_ci[0, i]),
                    float(curve.mse_ci[1, i]),
                    extras={"n_seeds": str(config.ensemble_seeds), "note": note},
                )
            )
    data.rows = rows
    return data


def compare_command(
    out_dir: Path, quick: bool = False, *, progress: bool = False
) -> list[compare.ComparisonRow]:
    """``solvable compare lottery``: width exponents of SiLU and ReLU nets beside 1 and 4.

    Writes ``comparison.csv`` (parameter columns ``activation,recipe,width``; see the module
    docstring), ``width_scaling.png`` and, in full mode, ``n2_histogram.png``,
    ``mirror_pairs.png`` and ``ensembles.png``; the sweeps are stored under ``out_dir/sweep``
    (a rerun resumes). ``quick``: :data:`QUICK_CONFIG`, else :data:`FULL_CONFIG`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = QUICK_CONFIG if quick else FULL_CONFIG
    t0 = time.perf_counter()
    data = measure(config, out_dir / "sweep", progress=progress)
    compare.write_comparison_csv(data.rows, out_dir / "comparison.csv", list(PARAM_NAMES))
    plot_width_scaling(data.silu, data.relu, out_dir / "width_scaling.png")
    if data.n2 is not None:
        plot_n2_histogram(data.n2, out_dir / "n2_histogram.png")
        plot_mirror_pairs(data.wide, out_dir / "mirror_pairs.png")
        plot_ensembles(
            data.ensemble, config.ensemble_width, data.ensemble_single, out_dir / "ensembles.png"
        )
    print(compare.format_comparison_table(data.rows, list(PARAM_NAMES)))
    print(f"lottery compare ({'quick' if quick else 'full'}): {time.perf_counter() - t0:.0f} s")
    return data.rows


def run_command(argv: list[str]) -> int:
    """``solvable run lottery``: train one activation/recipe over widths, print the table."""
    import argparse

    p = argparse.ArgumentParser(prog="solvable run lottery", description=run_command.__doc__)
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="silu")
    p.add_argument("--target", choices=sorted(TARGETS), default="square")
    p.add_argument("--widths", default="4,8,16,32,64", help="comma-separated widths")
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--adam-steps", type=int, default=3000)
    p.add_argument("--lr", type=float, default=3e-2)
    p.add_argument("--lr-end", type=float, default=1e-5)
    p.add_argument("--schedule", choices=SCHEDULES, default="cosine")
    p.add_argument("--lbfgs-steps", type=int, default=0)
    p.add_argument("--n-train", type=int, default=256)
    p.add_argument("--store", type=Path, default=None)
    args = p.parse_args(argv)
    recipe = Recipe(
        adam_steps=args.adam_steps,
        lr=args.lr,
        lr_end=args.lr_end,
        schedule=args.schedule,
        lbfgs_steps=args.lbfgs_steps,
        n_train=args.n_train,
    )
    widths = tuple(int(w) for w in args.widths.split(","))
    res = train(
        widths,
        activation=args.activation,
        recipe=recipe,
        seeds=args.seeds,
        target=args.target,
        store=args.store,
        progress=True,
    )
    table = width_table(res, recipe)
    q = mse_quantiles(table.test_mse, (0.1, 0.5, 0.9))
    print(f"{args.activation}, {args.target}, recipe {recipe.label}, {args.seeds} seeds")
    print("   N   q10 MSE   median    q90 MSE   train/test")
    for k, n in enumerate(table.widths):
        ratio = np.nanmedian(table.train_mse[:, k] / table.test_mse[:, k])
        print(f"{n:4d}  {q[0, k]:.3e}  {q[1, k]:.3e}  {q[2, k]:.3e}  {ratio:.4f}")
    if len(widths) >= 2:
        print(fit_width_exponent(table, n_boot=1000))
    return 0


# --- plots (matplotlib imported lazily) -----------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_width_scaling(silu: Sequence[WidthTable], relu: WidthTable | None, path) -> Path:
    """Median test MSE vs width (quartile band) for SiLU (one curve per recipe) and ReLU, with the
    reference slopes N^-1 and N^-4 and the exact ReLU floor."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.8), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, max(len(silu), 1)))
    for table, color in zip(silu, colors, strict=False):
        q = mse_quantiles(table.test_mse, (0.25, 0.5, 0.75))
        ax.loglog(table.widths, q[1], "o-", color=color, label=f"SiLU, {table.recipe}")
        ax.fill_between(table.widths, q[0], q[2], color=color, alpha=0.15)
    if relu is not None:
        q = mse_quantiles(relu.test_mse, (0.25, 0.5, 0.75))
        ax.loglog(relu.widths, q[1], "s-", color="C3", label=f"ReLU, {relu.recipe}")
        ax.fill_between(relu.widths, q[0], q[2], color="C3", alpha=0.15)
        ns = np.arange(relu.widths.min(), relu.widths.max() + 1)
        ax.loglog(ns, theory.relu_floor_bound(ns), "k-", lw=0.8, label="1.42/(N+1)^4")
        ax.loglog(
            relu.widths,
            [theory.relu_floor(int(n)) for n in relu.widths],
            "kx",
            label="exact ReLU floor",
        )
    if silu:
        ref_n = np.array([silu[0].widths.min(), max(t.widths.max() for t in silu)], dtype=float)
        y0 = np.nanmedian(silu[0].test_mse[:, 0])
        ax.loglog(ref_n, y0 * (ref_n / ref_n[0]) ** -1.0, "k--", lw=1, label="N^-1")
    if relu is not None:
        ref_n = np.array([relu.widths.min(), relu.widths.max()], dtype=float)
        y0 = np.nanmedian(relu.test_mse[:, 0])
        ax.loglog(ref_n, y0 * (ref_n / ref_n[0]) ** -4.0, "k:", lw=1, label="N^-4")
    ax.set_xlabel("width N")
    ax.set_ylabel("test MSE (median over seeds, quartiles shaded)")
    ax.set_title("Lottery tickets: x² on [−2, 2]")
    ax.legend(fontsize=7)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_n2_histogram(n2: Mapping[str, Any], path) -> Path:
    """Histogram of log10 test MSE of width-2 SiLU nets, mirror pairs and the rest stacked."""
    plt = _plt()
    mse, asym = np.asarray(n2["mse"]), np.asarray(n2["asymmetry"])
    ok = np.isfinite(mse) & (mse > 0)
    logs = np.log10(mse[ok])
    mirror = asym[ok] < MIRROR_TOL
    bins = np.linspace(logs.min() - 0.1, logs.max() + 0.1, 50)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    ax.hist(
        [logs[mirror], logs[~mirror]],
        bins=bins,
        stacked=True,
        color=["C0", "C1"],
        label=[f"mirror pair (asymmetry < {MIRROR_TOL})", "other"],
    )
    for m in n2.get("modes", []):
        ax.axvline(m.center, color="k", lw=0.6, ls=":")
    ax.set_xlabel("log10 test MSE")
    ax.set_ylabel("seeds")
    ax.set_title(f"N = 2 SiLU nets, {len(logs)} seeds")
    ax.legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_mirror_pairs(wide: Mapping[str, Any], path, seed: int = 0) -> Path:
    """Learned ``(w, b)`` of one wide SiLU net coloured by ``v``, mirror-paired neurons marked."""
    plt = _plt()
    w, b, v = (np.asarray(wide[k])[seed] for k in ("w", "b", "v"))
    dist = np.asarray(wide["distance"])[seed]
    paired = dist < 0.1
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    sc = ax.scatter(w, b, c=v, s=6, cmap="coolwarm")
    ax.scatter(
        w[paired],
        b[paired],
        s=22,
        facecolors="none",
        edgecolors="k",
        lw=0.4,
        label=f"paired ({paired.mean():.0%})",
    )
    ax.axvline(0, color="0.7", lw=0.5)
    fig.colorbar(sc, ax=ax, label="v")
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    ax.set_title(f"N = {w.size} SiLU net: neurons (w, b), mirror images at (−w, b)")
    ax.legend(fontsize=8)
    all_dist = np.log10(np.asarray(wide["distance"]).ravel())
    bins = 60
    if "distance_init" in wide:
        init_dist = np.log10(np.asarray(wide["distance_init"]).ravel())
        bins = np.linspace(
            min(all_dist.min(), init_dist.min()), max(all_dist.max(), init_dist.max()), 60
        )
        ax2.hist(
            init_dist,
            bins=bins,
            histtype="step",
            color="0.4",
            label=f"at init ({np.mean(wide['fraction_init']):.1%} paired)",
        )
    ax2.hist(all_dist, bins=bins, alpha=0.7, label="trained")
    ax2.axvline(-1, color="k", ls="--", lw=0.8, label="tolerance 0.1")
    ax2.set_xlabel("log10 distance to the nearest (−w, b, v) partner")
    ax2.set_ylabel("neurons")
    ax2.set_title(f"mean paired fraction {np.mean(wide['fraction']):.1%}")
    ax2.legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_ensembles(curve: EnsembleCurve, width: int, single: WidthTable | None, path) -> Path:
    """Ensemble MSE vs K beside bias² + variance/K and single nets of width ``width·K``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    ax.errorbar(
        curve.ks,
        curve.mse,
        yerr=np.abs(curve.mse_ci - curve.mse),
        fmt="o-",
        label=f"average of K nets of width {width} (held-out half, 95% CI)",
    )
    ax.loglog(curve.ks, curve.predicted, "k--", label="bias² + variance/K (other half)")
    ax.fill_between(curve.ks, curve.predicted_ci[0], curve.predicted_ci[1], color="k", alpha=0.1)
    ax.axhline(curve.bias_sq, color="0.5", lw=0.8, ls=":", label="bias²")
    if single is not None:
        total = width * curve.ks
        sel = np.isin(single.widths, total)
        if np.any(sel):
            ax.loglog(
                single.widths[sel] / width,
                np.nanmean(single.test_mse[:, sel], axis=0),
                "s-",
                color="C3",
                label=f"one net of width {width}·K (mean)",
            )
            ax.loglog(
                single.widths[sel] / width,
                np.nanmedian(single.test_mse[:, sel], axis=0),
                "s--",
                color="C3",
                alpha=0.6,
                label=f"one net of width {width}·K (median)",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("K")
    ax.set_ylabel("test MSE")
    ax.set_title("Explicit ensembles of independently trained SiLU nets")
    ax.legend(fontsize=7)
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
