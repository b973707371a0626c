"""Helpers shared by the test modules (``from helpers import ...``: tests/ is on the path).

The toy experiment here is also run by subprocesses (kill-and-resume tests), so it lives in a
plain module rather than in a test file.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from simulations import grid as grid_mod
from simulations import sweep


def toy_build(static):
    """A toy experiment: random draws, a matmul, a curve; diverges on purpose for some points.

    Swept ``a`` scales the output; ``b == 0`` divides by zero (non-finite); ``a >= 100`` makes a
    finite blow-up of the curve (caught by :func:`simulations.grid.loss_blowup`).
    """
    n = int(static["n"])
    if n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")

    def run(key, p):
        k1, k2 = jax.random.split(key)
        x = jax.random.normal(k1, (n,))
        a = jax.random.normal(k2, (n, n)) / n
        y = p["a"] * (a @ x) + p["b"]
        curve = (1.0 + jnp.abs(jnp.sum(x))) * p["a"] ** jnp.arange(4.0)
        return {"y": y, "ratio": jnp.sum(x) / p["b"], "curve": curve}

    def validate(point):
        if not point["a"] > 0:
            raise ValueError(f"a must be > 0, got {point['a']!r}")

    return sweep.Experiment(
        run=run,
        dims={"y": ("i",), "curve": ("step",)},
        coords={"i": np.arange(n), "step": np.arange(4)},
        validate=validate,
        diverged=grid_mod.loss_blowup("curve", factor=1e3),
        bytes_per_run=4.0 * (n * n + 2 * n),
    )


TOY_GRID = sweep.Grid.product(
    static={"n": [3, 8]}, swept={"a": [1.0, 2.0, 100.0], "b": [0.0, 1.5]}, seeds=4
)


def toy_values(result) -> list[tuple[np.ndarray, ...]]:
    """Every output of every group, for exact comparisons."""
    return [
        (g["y"].values, g["ratio"].values, g["curve"].values, g["diverged"].values)
        for g in result.groups
    ]


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@contextlib.contextmanager
def no_compilation():
    """Fail if XLA compiles anything inside the block (JAX's own compile events).

    The root PRNG key is made once beforehand: making a key compiles a tiny program the first
    time in a process, whichever test comes first.
    """
    jax.random.key(0)
    events: list[str] = []

    def listener(event, duration, **kwargs):
        if event.startswith("/jax/core/compile/") or "backend_compile" in event:
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert not events, f"{len(events)} compilations: {events[:3]}"


def superposition_tidy(gammas=(-1.0, 0.5), alphas=(1.0, 1.5), laws=("power",), seed=0):
    """A tidy superposition dataset like ``run_config``'s (n = 128, widths 8/16/32, 3 seeds):
    loss = 2 m^-1 (gamma < 0) or 2 m^-max(alpha - 1, 0.2) (else) times 1 % noise, phi_half 1
    (strong) or ~m/n (weak), random row-norm histograms."""
    import xarray as xr

    from simulations.superposition import model

    rng = np.random.default_rng(seed)
    n, widths, seeds = 128, np.array([8, 16, 32]), 3
    settings = [("power", g, a) for g in gammas for a in alphas]
    settings += [(law, g, 0.0) for law in laws if law != "power" for g in gammas]
    shape = (len(settings), widths.size, seeds)
    loss, phi = np.empty(shape), np.empty(shape)
    for s, (_, g, a) in enumerate(settings):
        slope = 1.0 if g < 0 else max(a - 1.0, 0.2)
        noise = 1 + 0.01 * rng.standard_normal((widths.size, seeds))
        loss[s] = 2.0 * widths[:, None] ** -slope * noise
        phi[s] = 1.0 if g < 0 else (widths / n)[:, None] + 0.005 * rng.random((widths.size, seeds))
    hist = rng.random((*shape, model.HIST_BINS))
    return xr.Dataset(
        {
            "final_loss": (("setting", "m", "seed"), loss),
            "phi_half": (("setting", "m", "seed"), phi),
            "overlap_sq_represented": (("setting", "m", "seed"), 1.1 / widths[:, None] + 0 * loss),
            "norm_hist": (("setting", "m", "seed", "norm_bin"), hist / hist.sum(-1, keepdims=True)),
        },
        coords={
            "setting": np.arange(len(settings)),
            "law": ("setting", [s[0] for s in settings]),
            "gamma": ("setting", [s[1] for s in settings]),
            "alpha": ("setting", [s[2] for s in settings]),
            "m": widths,
            "seed": np.arange(seeds),
            "norm_bin": (np.arange(model.HIST_BINS) + 0.5) * model.HIST_WIDTH,
        },
        attrs={"n": n},
    )
