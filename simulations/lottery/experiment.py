"""Command configs of lottery-ticket nets and their presets; the sweeps of the compare command.

:class:`CompareConfig` (``solvable compare lottery``) and :class:`RunConfig` (``solvable run
lottery``), each with ``preset("quick" | "default" | "paper")`` and a ``validate()`` that raises
a one-line error naming the bad field before anything runs; :func:`run_compare` trains every
sweep of a :class:`CompareConfig` (with the runners of :mod:`simulations.lottery.sweeps`) and
returns the data (:class:`CompareRuns`); the measurements are
:mod:`simulations.lottery.analysis`'s.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal, Self

import xarray as xr

from simulations.lottery.model import (
    ACTIVATIONS,
    BUDGET_RECIPES,
    LONG_POLISHED_RECIPE,
    N2_RECIPE,
    POLISHED_RECIPE,
    QUICK_RECIPE,
    RELU_RECIPE,
    TARGETS,
    Recipe,
    check_recipe,
    check_widths,
)
from simulations.lottery.sweeps import (
    WidthTable,
    run_ensemble,
    run_n2,
    run_wide,
    train,
    width_table,
)
from theory.checks import check_choice, check_int

__all__ = [
    "FULL_CONFIG",
    "QUICK_CONFIG",
    "CompareConfig",
    "CompareRuns",
    "RecipeRun",
    "RunConfig",
    "run_compare",
]

Activation = Literal["silu", "relu", "tanh", "gelu", "softplus", "sigmoid"]
Target = Literal["square", "cube", "abs", "sin", "exp", "gauss"]


def _check_window(name: str, window) -> tuple[int, int]:
    try:
        lo, hi = window
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (N_min, N_max), got {window!r}") from None
    if not all(float(v) == int(v) for v in (lo, hi)) or not 1 <= lo < hi:
        raise ValueError(f"{name} must be integers 1 <= N_min < N_max, got {window!r}")
    return int(lo), int(hi)


# --- configs ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class RecipeRun:
    """One SiLU width sweep of ``solvable compare lottery``: a recipe, its seeds and widths.

    Attributes:
        recipe: the training recipe.
        seeds: nets per width.
        widths: widths swept (empty: the config's ``silu_widths``).
    """

    recipe: Recipe = QUICK_RECIPE
    seeds: int = 16
    widths: tuple[int, ...] = ()

    def __post_init__(self):
        check_recipe("recipe", self.recipe)
        check_int("seeds", self.seeds, 1)
        if self.widths:
            object.__setattr__(self, "widths", check_widths(self.widths))


def _as_recipe_run(item) -> RecipeRun:
    if isinstance(item, RecipeRun):
        return item
    if isinstance(item, tuple) and len(item) == 3:  # the old (recipe, seeds, widths | None) form
        recipe, seeds, widths = item
        return RecipeRun(recipe, seeds, tuple(widths or ()))
    raise TypeError(f"silu_recipes must hold RecipeRun entries, got {item!r}")


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """Sizes of ``solvable compare lottery`` (defaults: the "default" preset).

    Attributes:
        silu_widths: widths of the SiLU sweeps whose own widths are empty.
        silu_recipes: the SiLU width sweeps (TOML only), one per training budget, distinct.
            Adam-only recipes that differ only in ``adam_steps`` form a budget ladder: the
            width exponent per budget and its convergence verdict are reported.
        silu_seeds: seeds of every SiLU sweep (None: each sweep's own).
        relu_widths: widths of the ReLU sweep.
        relu_recipe: the ReLU training recipe.
        relu_seeds: nets per ReLU width.
        silu_window: inclusive fit window (N_min, N_max) of the SiLU width exponents.
        relu_windows: inclusive fit windows of the ReLU width exponent, one row each.
        n_boot: bootstrap replicates of every interval.
        mechanism: also run the N = 2 histogram, the wide net and the ensembles.
        n2_seeds: width-2 nets of the N = 2 loss histogram.
        n2_recipe: their recipe.
        mechanism_recipe: recipe of the wide nets and of the ensembled narrow nets.
        wide_width: width of the wide SiLU nets of the mirror-pair diagnostic.
        wide_seeds: wide nets trained.
        ensemble_width: width of the narrow SiLU nets averaged in explicit ensembles.
        ensemble_seeds: narrow nets trained (half estimate bias and variance, half are ensembled).
        ensemble_ks: ensemble sizes K.
    """

    silu_widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
    silu_recipes: tuple[RecipeRun, ...] = (
        RecipeRun(BUDGET_RECIPES[0], 16, (4, 8, 16, 32, 64)),
        RecipeRun(QUICK_RECIPE, 32),
        RecipeRun(BUDGET_RECIPES[2], 16, (4, 8, 16, 32, 64)),
        RecipeRun(POLISHED_RECIPE, 8, (4, 16, 64)),
        RecipeRun(LONG_POLISHED_RECIPE, 8, (4, 16, 64)),
    )
    silu_seeds: int | None = None
    relu_widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
    relu_recipe: Recipe = RELU_RECIPE
    relu_seeds: int = 32
    silu_window: tuple[int, int] = (4, 64)
    relu_windows: tuple[tuple[int, ...], ...] = ((4, 16), (16, 128))
    n_boot: int = 2000
    mechanism: bool = True
    n2_seeds: int = 256
    n2_recipe: Recipe = N2_RECIPE
    mechanism_recipe: Recipe = QUICK_RECIPE
    wide_width: int = 1024
    wide_seeds: int = 4
    ensemble_width: int = 4
    ensemble_seeds: int = 256
    ensemble_ks: tuple[int, ...] = (1, 2, 4, 8, 16, 32)

    def __post_init__(self):
        runs = self.silu_recipes
        if not isinstance(runs, (tuple, list)):
            raise TypeError(f"silu_recipes must be a tuple of RecipeRun, got {runs!r}")
        object.__setattr__(self, "silu_recipes", tuple(_as_recipe_run(r) for r in runs))
        self.validate()

    def validate(self) -> None:
        """Raise a one-line ``ValueError``/``TypeError`` naming the first bad field."""
        check_widths(self.silu_widths, "silu_widths")
        check_widths(self.relu_widths, "relu_widths")
        if not self.silu_recipes:
            raise ValueError("silu_recipes must be non-empty")
        labels = [run.recipe.label for run in self.silu_recipes]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(
                f"silu_recipes must be distinct recipes (one sweep per training budget), got "
                f"{twice[0]} {labels.count(twice[0])} times"
            )
        if self.silu_seeds is not None:
            check_int("silu_seeds", self.silu_seeds, 1)
        for name in ("relu_recipe", "n2_recipe", "mechanism_recipe"):
            check_recipe(name, getattr(self, name))
        check_int("relu_seeds", self.relu_seeds, 1)
        lo, hi = _check_window("silu_window", self.silu_window)
        for run in self.silu_recipes:
            widths = run.widths or self.silu_widths
            if sum(lo <= n <= hi for n in widths) < 2:
                raise ValueError(
                    f"silu_window must hold >= 2 widths of every SiLU sweep, got {self.silu_window}"
                    f" for widths {widths}"
                )
        if not self.relu_windows:
            raise ValueError("relu_windows must be non-empty")
        for window in self.relu_windows:
            lo, hi = _check_window("relu_windows", window)
            if sum(lo <= n <= hi for n in self.relu_widths) < 2:
                raise ValueError(
                    f"relu_windows must each hold >= 2 of relu_widths {self.relu_widths}, got "
                    f"{window}"
                )
        check_int("n_boot", self.n_boot, 1)
        if not isinstance(self.mechanism, bool):
            raise TypeError(f"mechanism must be a bool, got {self.mechanism!r}")
        check_int("n2_seeds", self.n2_seeds, 2)
        check_int("wide_width", self.wide_width, 2)
        check_int("wide_seeds", self.wide_seeds, 1)
        check_int("ensemble_width", self.ensemble_width, 1)
        check_int("ensemble_seeds", self.ensemble_seeds, 4)
        ks = check_widths(self.ensemble_ks, "ensemble_ks")
        if max(ks) > self.ensemble_seeds // 2:
            raise ValueError(
                f"ensemble_ks must be <= ensemble_seeds // 2 = {self.ensemble_seeds // 2}, got {ks}"
            )

    @classmethod
    def preset(cls, name: str) -> Self:
        """The "quick", "default" or "paper" config.

        quick: the reference recipes with 16 seeds instead of 32 (the interval widens by about
        √2), a two-rung budget ladder (1000 and 3000 Adam steps, each its own runs), no
        mechanism diagnostics (:data:`QUICK_CONFIG`; about a minute on 2 cores). default: the
        reference recipe with 32 seeds over N = 4–128, the budget sweep
        (1000 and 10 000 Adam steps with 16 seeds over N = 4–64; Adam + 2000 or 8000 L-BFGS
        iterations with 8 seeds at N = 4, 16, 64), ReLU over 4–128 and the mechanism
        diagnostics (:data:`FULL_CONFIG`; 1000, 3000 and 10 000 Adam steps are the budget
        ladder of the convergence verdict). paper: the scale of Liu & Tegmark (medians over up to
        1000 seeds, widths up to 1024, mirror pairs in a net of width 10⁴); accelerator-scale.
        """
        if name == "quick":
            return QUICK_CONFIG
        if name == "default":
            return FULL_CONFIG
        if name == "paper":
            return _PAPER_CONFIG
        raise ValueError(f"preset must be one of ['quick', 'default', 'paper'], got {name!r}")


FULL_CONFIG = CompareConfig()
"""The "default" preset (see :meth:`CompareConfig.preset`)."""

QUICK_CONFIG = CompareConfig(
    silu_widths=(4, 8, 16, 32, 64),
    silu_recipes=(RecipeRun(BUDGET_RECIPES[0], 16), RecipeRun(QUICK_RECIPE, 16)),
    relu_widths=(4, 8, 16),
    relu_recipe=RELU_RECIPE,
    relu_seeds=16,
    silu_window=(4, 64),
    relu_windows=((4, 16),),
    mechanism=False,
)
"""The "quick" preset (see :meth:`CompareConfig.preset`)."""

_PAPER_CONFIG = CompareConfig(
    silu_widths=(4, 8, 16, 32, 64, 128, 256, 512, 1024),
    silu_recipes=(
        RecipeRun(BUDGET_RECIPES[0], 100, (4, 8, 16, 32, 64, 128, 256)),
        RecipeRun(QUICK_RECIPE, 1000),
        RecipeRun(BUDGET_RECIPES[2], 100, (4, 8, 16, 32, 64, 128, 256)),
        RecipeRun(POLISHED_RECIPE, 32, (4, 16, 64, 256)),
        RecipeRun(LONG_POLISHED_RECIPE, 32, (4, 16, 64, 256)),
    ),
    relu_widths=(4, 8, 16, 32, 64, 128, 256),
    relu_seeds=1000,
    relu_windows=((4, 16), (16, 256)),
    n2_seeds=1000,
    wide_width=10_000,
    wide_seeds=4,
    ensemble_seeds=1024,
    ensemble_ks=(1, 2, 4, 8, 16, 32, 64, 128),
)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Options of ``solvable run lottery``: one activation and recipe over widths.

    Attributes:
        activation: hidden nonlinearity.
        target: target function of x on [−2, 2].
        widths: hidden widths N.
        seeds: nets per width.
        adam_steps: Adam steps.
        lr: initial learning rate.
        lr_end: final learning rate.
        schedule: learning-rate schedule.
        lbfgs_steps: L-BFGS iterations after Adam (0: none).
        n_train: training grid points.
        n_boot: bootstrap replicates of the width-exponent interval.
        store: directory of the resumable sweep store (None: OUT/sweep).
    """

    activation: Activation = "silu"
    target: Target = "square"
    widths: tuple[int, ...] = (4, 8, 16, 32, 64)
    seeds: int = 16
    adam_steps: int = 3000
    lr: float = 3e-2
    lr_end: float = 1e-5
    schedule: Literal["cosine", "exponential", "constant"] = "cosine"
    lbfgs_steps: int = 0
    n_train: int = 256
    n_boot: int = 1000
    store: str | None = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise a one-line ``ValueError``/``TypeError`` naming the first bad field."""
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("target", self.target, TARGETS)
        check_widths(self.widths)
        check_int("seeds", self.seeds, 1)
        check_int("n_boot", self.n_boot, 1)
        _ = self.recipe  # validates the recipe fields

    @property
    def recipe(self) -> Recipe:
        """The :class:`Recipe` of these options."""
        return Recipe(
            adam_steps=self.adam_steps,
            lr=self.lr,
            lr_end=self.lr_end,
            schedule=self.schedule,
            lbfgs_steps=self.lbfgs_steps,
            n_train=self.n_train,
        )

    @classmethod
    def preset(cls, name: str) -> Self:
        """The "quick", "default" or "paper" options.

        quick: N = 4, 8, 16, 8 seeds, 1000 Adam steps (seconds). default: the reference SiLU
        recipe over N = 4–64 with 16 seeds (the old ``solvable run lottery`` defaults). paper:
        N = 4–1024 with 1000 seeds, as in Liu & Tegmark; accelerator-scale.
        """
        if name == "quick":
            return cls(widths=(4, 8, 16), seeds=8, adam_steps=1000)
        if name == "default":
            return cls()
        if name == "paper":
            return cls(widths=(4, 8, 16, 32, 64, 128, 256, 512, 1024), seeds=1000)
        raise ValueError(f"preset must be one of ['quick', 'default', 'paper'], got {name!r}")


# --- the compare command's sweeps ---------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CompareRuns:
    """What :func:`run_compare` trained (data only; measured by
    :func:`simulations.lottery.analysis.measure`).

    Attributes:
        silu: one :class:`WidthTable` per entry of ``config.silu_recipes``, in order.
        relu: the ReLU :class:`WidthTable`.
        n2, wide, ensemble: datasets of :func:`run_n2`, :func:`run_wide`, :func:`run_ensemble`
            (``None`` unless ``config.mechanism``).
    """

    silu: tuple[WidthTable, ...]
    relu: WidthTable
    n2: xr.Dataset | None = None
    wide: xr.Dataset | None = None
    ensemble: xr.Dataset | None = None


def run_compare(
    config: CompareConfig, store_dir: str | Path | None = None, progress: bool = False
) -> CompareRuns:
    """Run every sweep of ``config``; each under ``store_dir/<name>`` if given (resumable)."""
    if not isinstance(config, CompareConfig):
        raise TypeError(f"config must be a CompareConfig, got {type(config).__name__}")
    config.validate()

    def store(name):
        return None if store_dir is None else Path(store_dir) / name

    silu = []
    for run in config.silu_recipes:
        res = train(
            run.widths or config.silu_widths,
            activation="silu",
            recipe=run.recipe,
            seeds=config.silu_seeds or run.seeds,
            store=store(f"silu-{run.recipe.label}"),
            progress=progress,
        )
        silu.append(width_table(res, run.recipe))
    res = train(
        config.relu_widths,
        activation="relu",
        recipe=config.relu_recipe,
        seeds=config.relu_seeds,
        store=store(f"relu-{config.relu_recipe.label}"),
        progress=progress,
    )
    relu = width_table(res, config.relu_recipe)
    if not config.mechanism:
        return CompareRuns(tuple(silu), relu)
    n2 = run_n2(config.n2_recipe, config.n2_seeds, store("n2"), progress)
    wide = run_wide(
        config.wide_width, config.mechanism_recipe, config.wide_seeds, store("wide"), progress
    )
    ensemble = run_ensemble(
        config.ensemble_width,
        config.mechanism_recipe,
        config.ensemble_seeds,
        store("ensemble"),
        progress,
    )
    return CompareRuns(tuple(silu), relu, n2, wide, ensemble)
