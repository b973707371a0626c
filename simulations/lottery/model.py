"""One-hidden-layer nets on ``x²``: the model, its training recipe and one training run (pure JAX).

Liu & Tegmark, *A Neural Scaling Law from Lottery Ticket Ensembling* (arXiv 2310.02258). Shapes
for one run (one seed):

* data: a midpoint grid of ``n_train`` points on ``[−2, 2]`` (:data:`INTERVAL`; full batch, the
  same every step), targets ``y = target(x)`` (:data:`TARGETS`; ``x²`` by default). Test error:
  the MSE on a midpoint grid of ``n_test`` points (default 8192, disjoint from the training
  grid), i.e. the midpoint-rule value of the population MSE over ``U[−2, 2]`` (deterministic, no
  sampling noise).
* net: ``f(x) = Σ_i v_i σ(w_i x + b_i) + c`` with ``w, b, v`` of shape ``(N,)`` and ``c`` scalar,
  ``σ`` from :data:`ACTIVATIONS`; PyTorch-default init (``nn.Linear``): ``w, b ~ U(−1, 1)``
  (fan-in 1), ``v, c ~ U(−1/√N, 1/√N)`` (:func:`init_params`).
* loss: ``MSE = mean over the grid of (f(x) − y)²`` (no ½), float64 throughout.
* training (:class:`Recipe`): ``adam_steps`` of Adam (optax defaults ``β = (0.9, 0.999)``,
  ``ε = 1e−8``) with a schedule from ``lr`` to ``lr_end`` (:func:`lr_schedule`), then optionally
  ``lbfgs_steps`` iterations of L-BFGS (:func:`lbfgs_polish`) as a second-order polish. The SiLU
  width exponent depends on this budget, so every slope is reported with its recipe.

:func:`train_one` runs one net end to end; the sweep engine vmaps it over seeds
(:func:`simulations.lottery.sweeps.build`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from simulations.steps import log_steps
from theory.checks import check_choice, check_float, check_int

__all__ = [
    "ACTIVATIONS",
    "BUDGET_RECIPES",
    "INTERVAL",
    "LBFGS_MEMORY",
    "LBFGS_TRIALS",
    "LONG_POLISHED_RECIPE",
    "N2_RECIPE",
    "N_CHECKPOINTS",
    "N_TEST",
    "POLISHED_RECIPE",
    "QUICK_RECIPE",
    "RELU_RECIPE",
    "SCHEDULES",
    "STATIC_DEFAULTS",
    "SWEPT",
    "TARGETS",
    "Recipe",
    "check_point",
    "check_recipe",
    "check_widths",
    "checkpoint_steps",
    "forward",
    "init_params",
    "lbfgs_polish",
    "lr_schedule",
    "midpoint_grid",
    "resolve_static",
    "run_bytes",
    "train_one",
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
"""Learning-rate schedules of the Adam phase (:func:`lr_schedule`)."""

N_TEST = 8192
"""Default number of test-grid points."""

N_CHECKPOINTS = 24
"""Default number of points of the recorded training curve."""

STATIC_DEFAULTS: dict[str, Any] = {
    "activation": "silu",
    "target": "square",
    "adam_steps": 3000,
    "lbfgs_steps": 0,
    "schedule": "cosine",
    "n_train": 256,
    "n_test": N_TEST,
    "n_checkpoints": N_CHECKPOINTS,
}
"""Defaults of the static parameters of :func:`build` (``width`` has none)."""

LBFGS_MEMORY = 20
"""Curvature pairs kept by :func:`lbfgs_polish`."""

LBFGS_TRIALS = 10
"""Step lengths ``1, 1/2, ..., 2^(1−n)`` tried at once by each :func:`lbfgs_polish` iteration."""

SWEPT = ("lr", "lr_end")
"""The swept (traced) parameters of a sweep (:func:`check_point`)."""

_TEST_BLOCK = 1024


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A training recipe: Adam with a schedule, optionally polished by L-BFGS.

    Attributes:
        adam_steps: Adam steps (>= 1).
        lr: initial learning rate (> 0).
        lr_end: final learning rate (> 0; ignored by "constant").
        schedule: "cosine" (lr_end + (lr − lr_end)(1 + cos(π t/T))/2), "exponential"
            (lr (lr_end/lr)^(t/T)) or "constant".
        lbfgs_steps: L-BFGS iterations after Adam (>= 0; 0 = no polish).
        n_train: training grid points on [−2, 2] (>= 2).
    """

    adam_steps: int = 3000
    lr: float = 3e-2
    lr_end: float = 1e-5
    schedule: Literal["cosine", "exponential", "constant"] = "cosine"
    lbfgs_steps: int = 0
    n_train: int = 256

    def __post_init__(self):
        check_int("adam_steps", self.adam_steps, 1)
        check_int("lbfgs_steps", self.lbfgs_steps, 0)
        check_int("n_train", self.n_train, 2)
        for name in ("lr", "lr_end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a positive real, got {value!r}")
            check_float(name, value, low=0.0, strict=True)
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
        """Adam steps plus L-BFGS iterations."""
        return self.adam_steps + self.lbfgs_steps

    def static(self) -> dict[str, Any]:
        """The static (shape/loop-defining) parameters of a sweep this recipe sets."""
        return {
            "adam_steps": self.adam_steps,
            "lbfgs_steps": self.lbfgs_steps,
            "schedule": self.schedule,
            "n_train": self.n_train,
        }

    def swept(self) -> dict[str, float]:
        """The traced parameters of a sweep this recipe sets."""
        return {"lr": float(self.lr), "lr_end": float(self.lr_end)}


QUICK_RECIPE = Recipe(adam_steps=3000, lr=3e-2, lr_end=1e-5)
"""The reference SiLU recipe: Adam 3000 steps, lr 3e−2 cosine to 1e−5
(:data:`theory.lottery.REFERENCE_SILU_SLOPE` was measured with it)."""
RELU_RECIPE = Recipe(adam_steps=5000, lr=3e-2, lr_end=1e-5)
"""The reference ReLU recipe: Adam 5000 steps (same schedule;
:data:`theory.lottery.REFERENCE_RELU_SLOPE`)."""
POLISHED_RECIPE = Recipe(adam_steps=3000, lr=3e-2, lr_end=1e-5, lbfgs_steps=2000)
"""The quick recipe followed by 2000 L-BFGS iterations."""
LONG_POLISHED_RECIPE = Recipe(adam_steps=3000, lr=3e-2, lr_end=1e-5, lbfgs_steps=8000)
"""The quick recipe followed by 8000 L-BFGS iterations (wide nets need > 2000 to converge)."""
N2_RECIPE = Recipe(adam_steps=3000, lbfgs_steps=4000)
"""The quick recipe followed by 4000 L-BFGS iterations: separates the modes of the N = 2 loss
histogram."""
BUDGET_RECIPES = (
    Recipe(adam_steps=1000),
    QUICK_RECIPE,
    Recipe(adam_steps=10000),
    POLISHED_RECIPE,
    LONG_POLISHED_RECIPE,
)
"""The budget sweep of ``solvable compare lottery`` (default preset), shortest first."""


def check_recipe(name: str, recipe: Any) -> Recipe:
    """``recipe`` if it is a :class:`Recipe` (``TypeError`` naming ``name`` otherwise)."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"{name} must be a Recipe, got {type(recipe).__name__}")
    return recipe


def check_widths(widths, name: str = "widths") -> tuple[int, ...]:
    """Distinct integer widths ``>= 1`` as a tuple (a single integer is a 1-tuple)."""
    if isinstance(widths, (int, np.integer)):
        widths = (widths,)
    try:
        widths = tuple(widths)
    except TypeError:
        raise TypeError(f"{name} must be integers >= 1, got {widths!r}") from None
    if not widths:
        raise ValueError(f"{name} must be non-empty")
    out = tuple(check_int("width", w, 1) for w in widths)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct, got {widths!r}")
    return out


def resolve_static(static: Mapping[str, Any]) -> dict[str, Any]:
    """``static`` completed with :data:`STATIC_DEFAULTS` and checked (``width`` required)."""
    unknown = set(static) - set(STATIC_DEFAULTS) - {"width"}
    if unknown:
        raise ValueError(f"unknown static parameters {sorted(unknown)}")
    if "width" not in static:
        raise ValueError("static must contain 'width'")
    s = {**STATIC_DEFAULTS, **static}
    check_int("width", s["width"], 1)
    check_choice("activation", s["activation"], ACTIVATIONS)
    check_choice("target", s["target"], TARGETS)
    check_choice("schedule", s["schedule"], SCHEDULES)
    check_int("adam_steps", s["adam_steps"], 1)
    check_int("lbfgs_steps", s["lbfgs_steps"], 0)
    check_int("n_train", s["n_train"], 2)
    check_int("n_test", s["n_test"], 2)
    check_int("n_checkpoints", s["n_checkpoints"], 2)
    return s


def check_point(point: Mapping[str, Any]) -> dict[str, float]:
    """The swept parameters of one sweep point, checked: ``lr`` and ``lr_end`` finite and > 0.

    Adam has no stability bound that theory can decide up front (its step is about ``lr`` per
    parameter whatever the gradient's scale), so a large rate passes here and a run that blows up
    is flagged ``diverged`` by the sweep instead
    (:func:`simulations.lottery.sweeps.diverged`).

    Raises:
        ValueError: a name other than ``lr``/``lr_end``, a missing one, or a value that is not a
            finite real > 0 (one line naming the parameter, its value and the valid range).
    """
    unknown = sorted(set(point) - set(SWEPT))
    if unknown:
        raise ValueError(f"unknown swept parameters {unknown}; lottery sweeps {list(SWEPT)}")
    missing = [name for name in SWEPT if name not in point]
    if missing:
        raise ValueError(f"swept parameters {missing} missing; lottery sweeps {list(SWEPT)}")
    return {name: check_float(name, point[name], low=0.0, strict=True) for name in SWEPT}


def run_bytes(static: Mapping[str, Any]) -> float:
    """Device memory one training run needs, in bytes (float64), for the sweep engine.

    ``static`` as from :func:`resolve_static`. The largest arrays alive at once scale with the
    width ``N``, per neuron (float64 words):

    * the test MSE, one block of ``1024`` grid points at a time: its ``(1024, N)``
      pre-activations;
    * an Adam step on the ``n_train``-point grid: pre-activations, activations and their
      cotangent, ``3 n_train``; with an L-BFGS polish, instead, the ``LBFGS_TRIALS`` trial
      losses evaluated at once plus one gradient, ``(LBFGS_TRIALS + 2) n_train``, and the
      ``2 LBFGS_MEMORY`` stored curvature vectors of ``3N + 1`` parameters;
    * parameters, gradient, two Adam moments, initial copies and outputs: 16.

    Plus the test and training grids and the curve (``n_test + n_train + n_checkpoints``). XLA's
    own estimate for compiled runs (CPU, ``memory_analysis``) is 55–95 % of this at
    ``N >= 64``, so the formula is an upper bound that the engine multiplies by the chunk size.
    """
    width, n_train = int(static["width"]), int(static["n_train"])
    if static["lbfgs_steps"]:
        train_words = (LBFGS_TRIALS + 2) * n_train + 2 * LBFGS_MEMORY * 3
    else:
        train_words = 3 * n_train
    per_neuron = _TEST_BLOCK + train_words + 16
    fixed = int(static["n_test"]) + n_train + int(static["n_checkpoints"])
    return 8.0 * (width * per_neuron + fixed)


def midpoint_grid(n: int, interval=INTERVAL) -> np.ndarray:
    """Midpoints of ``n`` equal cells of ``[lo, hi]``: ``(n,)`` float64."""
    n = check_int("n", n, 1)
    lo, hi = interval
    return lo + (np.arange(n) + 0.5) * (hi - lo) / n


def checkpoint_steps(total_steps: int, n_checkpoints: int) -> np.ndarray:
    """Log-spaced step counts ``0 = s_0 < ... < s_k = total_steps`` (at most ``n_checkpoints``).

    :func:`simulations.steps.log_steps` with ``zero=True``; the training curve records the MSE
    after ``s_j`` optimiser steps.
    """
    total = check_int("total_steps", total_steps, 1)
    n = check_int("n_checkpoints", n_checkpoints, 2)
    return log_steps(total, n, zero=True)


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


def forward(params, x: jax.Array, act: Callable[[jax.Array], jax.Array]) -> jax.Array:
    """Net outputs ``Σ_i v_i σ(w_i x + b_i) + c`` at ``x`` ``(n,)`` -> ``(n,)``.

    ``params = (w, b, v, c)`` as from :func:`init_params`; ``act`` a value of
    :data:`ACTIVATIONS`.
    """
    w, b, v, c = params
    return act(x[:, None] * w + b) @ v + c


def lr_schedule(kind: str, steps: int, lr, lr_end) -> Callable[[jax.Array], jax.Array]:
    """Learning rate as a function of the Adam step count (an optax schedule).

    ``kind`` is one of :data:`SCHEDULES`; ``lr`` and ``lr_end`` may be traced scalars. The rate
    stays at its final value after ``steps``.
    """

    def sched(count):
        frac = jnp.minimum(count, steps) / steps
        if kind == "cosine":
            return lr_end + (lr - lr_end) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac))
        if kind == "exponential":
            return lr * (lr_end / lr) ** frac
        return lr * jnp.ones_like(frac)

    return sched


def lbfgs_polish(
    loss, theta, slots, curve, memory: int = LBFGS_MEMORY, n_trials: int = LBFGS_TRIALS
):
    """L-BFGS with a fixed-cost line search, for many seeds under ``vmap``.

    Direction: the two-loop recursion over the last ``memory`` curvature pairs (Nocedal & Wright,
    *Numerical Optimization*, Alg. 7.4) with the initial scaling ``sᵀy/yᵀy``. Step: the largest
    of ``1, 1/2, ..., 2^(1−n_trials)`` satisfying Armijo's condition (``c₁ = 1e−4``), all
    ``n_trials`` losses evaluated at once; failing that, the trial with the lowest loss if it
    improves, else no step and the memory is cleared. Pairs with ``sᵀy <= 1e−10 |s||y|`` are not
    stored. Unlike a zoom line search (``optax.lbfgs``), whose ``while_loop`` makes every vmapped
    seed wait for the slowest one (10x slower at ``N = 2`` with 256 seeds), every iteration costs
    ``n_trials`` forward passes and one gradient.

    Args:
        loss: ``loss(theta) -> scalar``.
        theta: the starting parameters (a pytree).
        slots: ``(n_iterations,)`` int32, the slot of ``curve`` each iteration's starting loss is
            written to (``curve.size`` or more: not recorded).
        curve: the training curve to record into.

    Returns:
        ``(theta, curve)`` after ``slots.size`` iterations.
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


def _test_grid(n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """The test grid cut into blocks of ``_TEST_BLOCK`` points (zero-padded) and its mask."""
    n_blocks = -(-n_test // _TEST_BLOCK)
    pad = n_blocks * _TEST_BLOCK - n_test
    x = np.concatenate([midpoint_grid(n_test), np.zeros(pad)]).reshape(n_blocks, _TEST_BLOCK)
    mask = (np.arange(n_blocks * _TEST_BLOCK) < n_test).reshape(n_blocks, _TEST_BLOCK)
    return x, mask


def train_one(
    key: jax.Array,
    width: int,
    recipe: Recipe,
    *,
    activation: str = "silu",
    target: str = "square",
    n_test: int = N_TEST,
    n_checkpoints: int = N_CHECKPOINTS,
    lr=None,
    lr_end=None,
) -> dict[str, jax.Array]:
    """Initialise one net (:func:`init_params`) and train it with ``recipe``; float64 under x64.

    Args:
        key: the run's key (a typed ``jax.random.key``).
        width: hidden width ``N`` (>= 1).
        recipe: the :class:`Recipe` (its static parts fix the loop lengths and grid).
        activation: a key of :data:`ACTIVATIONS`.
        target: a key of :data:`TARGETS`.
        n_test: test-grid points (>= 2).
        n_checkpoints: points of the training curve (>= 2; fewer after rounding).
        lr, lr_end: the learning rates, possibly traced (the sweep passes them so that one
            compilation serves every rate); ``None``: ``recipe.lr`` / ``recipe.lr_end``.

    Returns:
        ``train_mse``, ``test_mse``, ``test_mse_adam`` (test MSE after the Adam phase), scalars;
        ``curve`` ``(n_steps,)`` training MSE at :func:`checkpoint_steps`; the trained ``w, b, v``
        ``(N,)`` and ``c`` ``()``; the initial ``w_init, b_init, v_init`` ``(N,)``.
    """
    width = check_int("width", width, 1)
    check_recipe("recipe", recipe)
    act = ACTIVATIONS[check_choice("activation", activation, ACTIVATIONS)]
    tgt = TARGETS[check_choice("target", target, TARGETS)]
    n_test = check_int("n_test", n_test, 2)
    adam_steps, lbfgs_steps = recipe.adam_steps, recipe.lbfgs_steps
    total = adam_steps + lbfgs_steps
    steps = checkpoint_steps(total, n_checkpoints)
    n_ckpt = steps.size
    # slot of step t in the curve, n_ckpt (dropped) if t is not a checkpoint
    slot = np.full(total, n_ckpt, dtype=np.int32)
    slot[steps[:-1]] = np.arange(n_ckpt - 1, dtype=np.int32)
    x_test_np, mask_np = _test_grid(n_test)
    lr = recipe.lr if lr is None else lr
    lr_end = recipe.lr_end if lr_end is None else lr_end

    x_train = jnp.asarray(midpoint_grid(recipe.n_train))
    y_train = tgt(x_train)
    x_test = jnp.asarray(x_test_np)
    mask = jnp.asarray(mask_np)

    def loss(theta):
        r = forward(theta, x_train, act) - y_train
        return jnp.mean(r * r)

    def test_mse(theta):
        # blocks keep the (batch, N, n_test) activations small for wide nets
        def block(acc, xs):
            xb, mb = xs
            r = forward(theta, xb, act) - tgt(xb)
            return acc + jnp.sum(jnp.where(mb, r * r, 0.0)), None

        total_sq, _ = jax.lax.scan(block, jnp.zeros((), x_train.dtype), (x_test, mask))
        return total_sq / n_test

    theta = init_params(key, width, x_train.dtype)
    w_init, b_init, v_init, _ = theta
    curve = jnp.full((n_ckpt,), jnp.nan, x_train.dtype)
    opt = optax.adam(lr_schedule(recipe.schedule, adam_steps, lr, lr_end))

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
        theta, curve = lbfgs_polish(loss, theta, jnp.asarray(slot[adam_steps:]), curve)
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
