"""Sweeps of the superposition toy model: configs and presets, grids, the sweep engine's
:class:`~simulations.grid.Experiment`, and tidy results.

:func:`build` returns the Experiment of one static group (:func:`.model.simulate` with the shapes
fixed). Swept (traced) parameters: ``gamma`` (required), ``alpha``, ``law_code`` (index into
:data:`theory.superposition.LAWS`), and optionally ``m`` (padded widths), ``lr``, ``lr_b``,
``density``. Static: ``n``, ``steps``, ``batch``, either ``m`` or ``m_max`` (padded widths), and
the optional keys of :data:`.model.STATIC_DEFAULTS`. :func:`make_grid` builds validated grids;
:class:`CompareConfig` and :class:`PhaseDiagramConfig` describe the sweeps of the commands, with
presets ``quick``, ``default`` and ``paper``; :func:`run_config` runs one and returns
:func:`tidy` data.

Run times. The paper preset of :class:`CompareConfig` (``n = 10240``, ``m = 8..1024``, batch
2048, 20 000 steps, 3 seeds, 14 settings) is ``~2.2e17`` FLOPs at one budget: about an hour on
one A100-class GPU at ~50 TFLOP/s effective, weeks on 2 CPU cores (~10-20 GFLOP/s achieved
here). Every compare preset trains three budgets (``steps / 9``, ``steps / 3``, ``steps``), 1.44x
the compute of one: the default compare preset takes ~7-10 min on 2 CPU cores (8 min of CPU
time), the quick one well under a minute.
Memory of the paper preset: ~0.65 GB per run at m = 1024 (the experiment's ``bytes_per_run``),
so it runs on one accelerator (the engine sizes chunks to its free memory); all three budgets:
~3.1e17 FLOPs over 1008 runs (``python benchmarks/device_check.py --costs``).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import xarray as xr

from simulations import sweep
from simulations.grid import Experiment, Grid
from simulations.steps import log_steps
from simulations.superposition.limits import bytes_per_run, check_point, is_diverged, sampler_rate
from simulations.superposition.model import (
    HIST_BINS,
    HIST_WIDTH,
    LR_RULES,
    STATIC_DEFAULTS,
    resolve_static,
    simulate,
)
from simulations.superposition.sweeps import tidy
from theory import superposition as theory
from theory.checks import check_choice, check_float, check_int

__all__ = [
    "CompareConfig",
    "PhaseDiagramConfig",
    "SweepConfig",
    "build",
    "make_grid",
    "run_config",
    "tidy",
]

_PRESET_NAMES = ("quick", "default", "paper")


# --- one static group ----------------------------------------------------------------------------
def build(static: Mapping[str, Any]) -> Experiment:
    """The toy model as an :class:`~simulations.grid.Experiment` for one ``(n, m, ...)`` group.

    Args:
        static: ``n``, ``m`` (or ``m_max``), ``steps``, ``batch`` (required) and the optional
            keys of :data:`.model.STATIC_DEFAULTS`.

    Returns:
        An Experiment whose ``run(key, params)`` is :func:`.model.simulate` (``params``: ``gamma``
        and the optional swept names); outputs as listed in :mod:`.model`. float32. Its
        ``validate``, ``diverged`` and ``bytes_per_run`` are those of :mod:`.limits`.

    Raises:
        ValueError, TypeError: a bad static option (before anything is allocated or traced).
    """
    cfg = resolve_static(static)
    centers = (np.arange(HIST_BINS) + 0.5) * HIST_WIDTH
    return Experiment(
        run=functools.partial(simulate, static=cfg),
        dims={"loss_curve": ("step",), "norm_hist": ("norm_bin",), "row_norms": ("feature",)},
        # no "feature" coordinate: an O(n) host array before the engine's memory check (a huge
        # n must be refused, not allocated); tidy() labels the features 1..n
        coords={
            "step": log_steps(cfg["steps"], cfg["n_checkpoints"], zero=False),
            "norm_bin": centers,
        },
        validate=functools.partial(check_point, static=cfg),
        diverged=functools.partial(is_diverged, static=cfg),
        bytes_per_run=bytes_per_run(cfg),
    )


def make_grid(
    *,
    n: int,
    widths: Sequence[int],
    steps: int,
    batch: int,
    gammas: Sequence[float] = (),
    alphas: Sequence[float] = (0.0,),
    laws: Sequence[str] = ("power",),
    points: Sequence[Mapping[str, Any]] | None = None,
    seeds: int = 1,
    pad_widths: bool = False,
    budgets: Sequence[int] | None = None,
    **static_options,
) -> Grid:
    """A validated :class:`~simulations.grid.Grid` for :func:`build`.

    Points: either the product ``laws x gammas x alphas`` or an explicit list ``points`` of
    mappings with keys ``law`` (default ``"power"``), ``gamma``, ``alpha`` (default 0) and
    optionally ``lr`` (a swept learning rate; then every point must give one) — e.g. to pair the
    exponential and linear laws with one ``alpha`` only. The law is swept as the traced
    code ``law_code`` (index into :data:`theory.superposition.LAWS`), so all laws share one
    compiled program.

    Widths: ``pad_widths=False`` makes ``m`` static (one group and one compilation per width,
    compute proportional to each width); ``pad_widths=True`` puts every width in one compiled
    program (static ``m_max = max(widths)``, ``m`` swept, unused columns masked exactly; compute
    proportional to ``m_max`` for every width: worth it only when compilation dominates).
    ``static_options``: the optional keys of :data:`.model.STATIC_DEFAULTS`.

    Budgets: ``budgets`` (increasing step counts) makes ``steps`` static over them: every point
    and width is trained once per budget, each run a complete run of that many steps (its own
    warm-up and cosine decay to the end), keyed like a sweep of that ``steps`` alone. ``steps``
    is then ignored (``None``: ``steps`` only).

    Every value is validated eagerly (``ValueError`` naming the parameter), so nothing is traced
    with a bad input; each ``(law, alpha, density)`` must give frequencies below 1, and every
    point passes :func:`.limits.check_point` (e.g. a stable weight decay, ``|gamma| < 2/lr``).
    """
    widths = list(widths)
    if not widths:
        raise ValueError("widths must be non-empty")
    if len(set(widths)) != len(widths):
        raise ValueError(f"widths must be distinct, got {widths}")
    step_values = [steps] if budgets is None else list(budgets)
    if not step_values or any(b >= c for b, c in itertools.pairwise(step_values)):
        raise ValueError(f"budgets must be non-empty and increasing, got {step_values}")
    for m in widths:
        for t in step_values:
            resolve_static({"n": n, "m": m, "steps": t, "batch": batch, **static_options})
    if points is None:
        if not gammas or not alphas or not laws:
            raise ValueError("gammas, alphas and laws must be non-empty (or pass points=)")
        points = [
            {"law": law, "gamma": g, "alpha": a} for law in laws for g in gammas for a in alphas
        ]
    elif not points:
        raise ValueError("points must be non-empty")
    density = float(static_options.get("density", STATIC_DEFAULTS["density"]))
    exp_scale = float(static_options.get("exp_scale", STATIC_DEFAULTS["exp_scale"]))
    cols: dict[str, list[float]] = {"law_code": [], "gamma": [], "alpha": []}
    with_lr = [("lr" in pt) for pt in points]
    if any(with_lr):
        if not all(with_lr):
            raise ValueError("points must all give an lr or none")
        cols["lr"] = []
    rate = 0.0
    for pt in points:
        unknown = set(pt) - {"law", "gamma", "alpha", "lr"}
        if unknown:
            raise ValueError(f"point keys must be law, gamma, alpha, lr; got {sorted(unknown)}")
        law = check_choice("law", pt.get("law", "power"), theory.LAWS)
        if "gamma" not in pt:
            raise ValueError(f"every point needs a gamma, got {dict(pt)}")
        g, a = check_float("gamma", pt["gamma"]), float(pt.get("alpha", 0.0))
        p = theory.frequencies(n, a, law=law, density=density, scale=exp_scale)  # alpha >= 0
        if p[0] >= 1.0:
            raise ValueError(f"alpha={a}, law={law!r}, density={density} give p_1 = 1")
        rate = max(rate, sampler_rate(p))
        cols["law_code"].append(float(theory.LAWS.index(law)))
        cols["gamma"].append(g)
        cols["alpha"].append(a)
        if "lr" in cols:
            cols["lr"].append(check_float("lr", pt["lr"], low=0.0, strict=True))
    if "max_rate" not in static_options and rate > STATIC_DEFAULTS["max_rate"]:
        static_options["max_rate"] = math.ceil(rate * 100.0) / 100.0  # keep keys stable otherwise
    if float(static_options.get("max_rate", STATIC_DEFAULTS["max_rate"])) < rate:
        raise ValueError(f"max_rate must be >= sum_i -log(1 - p_i) = {rate:.4g} for this grid")
    steps_static = steps if budgets is None else tuple(step_values)
    static: dict[str, Any] = {"n": n, "steps": steps_static, "batch": batch, **static_options}
    if pad_widths:
        static["m_max"] = max(widths)
        n_pts = len(cols["gamma"])
        cols = {k: [v for _ in widths for v in vals] for k, vals in cols.items()}
        cols["m"] = [float(m) for m in widths for _ in range(n_pts)]
    else:
        static["m"] = widths
    grid = Grid.zipped(static=static, points=cols, seeds=seeds)
    for combo in grid.static_combinations():  # the engine's checks, now (incl. decay stability)
        cfg = resolve_static(combo)
        for i in range(grid.n_points):
            check_point(grid.point(i), cfg)
    return grid


# --- configs and presets -------------------------------------------------------------------------
_ATTRIBUTES = """
    Attributes:
        n: number of features (>= 2).
        widths: widths m to train (distinct, below n; at least two inside the fit window).
        steps: optimiser updates per run.
        batch: samples per update (fresh every step).
        seeds: independent runs per (width, setting).
        laws: frequency laws (power, exponential, linear). The power law runs every alpha in
            alphas, the others run with alpha = 0 (they ignore it).
        gammas: signed weight decays gamma (< 0: strong superposition, > 0: weak).
        alphas: power-law exponents alpha of the feature frequencies p_i ∝ i^(-alpha).
        lr: learning rate of W and b (ignored with lr_rule).
        lr_rule: 'liu2025-large': the paper's lr = 0.02 (8/m)^(1/4), lr_b = 2/m; none: lr.
        exp_scale: decay length of the exponential law (the paper's 400 at every n: rescaling it
            to 400 n / 10240 would keep the paper's shape but leave only ~3 exp_scale active
            features, not >> m at small n).
        eval_batches: batches of fresh samples the final loss is averaged over.
        pad_widths: compile every width into one program (widths padded to the largest, exact;
            worth it when compilation dominates, i.e. at small sizes).
        window_min: smallest width of the power-law fit (none: the smallest width).
        window_max: largest width of the power-law fit (none: the largest width).
        n_boot: bootstrap resamples of the seeds for the exponent's interval.
        n_budgets: training budgets per (width, setting, seed), ``steps`` the largest: each
            run is repeated from scratch at ``steps / budget_factor^k`` steps, ``k = 1 ..
            n_budgets - 1`` (the learning-rate schedule ends at the run's own last step, so a
            shorter budget is a shorter run, not a checkpoint of the longest one). 1: ``steps``
            only; >= 2 adds the exponent per budget and the convergence verdict.
        budget_factor: ratio of successive budgets (> 1; the smallest must be >= 10 steps).
        lr_factors: learning rates tried per (setting, width, budget), as factors of ``lr``
            (distinct, > 0); with two or more the measurement at each width and budget is the
            run of the learning rate with the lowest mean final loss over seeds
            (:func:`.sweeps.best_lr_index`), recorded as ``lr_best``. Costs ``len(lr_factors)``
            times the runs. ``(1.0,)``: ``lr`` only. Not with ``lr_rule``.
"""

MIN_BUDGET = 10
"""Fewest steps of a budget: a run needs a warm-up (steps // 10 updates) before its decay."""

MAX_BUDGETS = 8
"""Most budgets of a sweep (each budget is a full sweep of its own)."""


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    __doc__ = (
        "One sweep of the toy model: sizes, budget, the (law, gamma, alpha) settings, the fit.\n"
        + _ATTRIBUTES
    )

    n: int = 512
    widths: tuple[int, ...] = (16, 24, 40, 64)
    steps: int = 3000
    batch: int = 256
    seeds: int = 2
    laws: tuple[str, ...] = theory.LAWS
    gammas: tuple[float, ...] = (-1.0, 0.1)
    alphas: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
    lr: float = 1e-2
    lr_rule: Literal["liu2025-large"] | None = None
    exp_scale: float = 400.0
    eval_batches: int = 8
    pad_widths: bool = False
    window_min: float | None = None
    window_max: float | None = None
    n_boot: int = 1000
    n_budgets: int = 1
    budget_factor: float = 3.0
    lr_factors: tuple[float, ...] = (1.0,)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Self:
        """The config of a mapping such as ``dataclasses.asdict(config)`` read back from JSON
        (lists become tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    @property
    def points(self) -> tuple[tuple[str, float, float], ...]:
        """The ``(law, gamma, alpha)`` settings, power law first as ordered in ``laws``."""
        pts: list[tuple[str, float, float]] = []
        for law in self.laws:
            if law == "power":
                pts += [(law, float(g), float(a)) for g in self.gammas for a in self.alphas]
            else:
                pts += [(law, float(g), 0.0) for g in self.gammas]
        return tuple(pts)

    @property
    def budgets(self) -> tuple[int, ...]:
        """Training budgets (steps), increasing, the last one ``steps``: ``round(steps /
        budget_factor^k)`` for ``k = n_budgets - 1, ..., 0``."""
        return tuple(
            round(self.steps / float(self.budget_factor) ** k)
            for k in range(int(self.n_budgets) - 1, -1, -1)
        )

    @property
    def window(self) -> tuple[float | None, float | None] | None:
        """Fit window ``(window_min, window_max)`` (``None`` if both are open)."""
        if self.window_min is None and self.window_max is None:
            return None
        return (self.window_min, self.window_max)

    def validate(self) -> None:
        """Check every field (one-line ``ValueError``/``TypeError``) before anything is traced."""
        n = check_int("n", self.n, 2)
        for name in ("steps", "batch", "seeds", "eval_batches", "n_boot"):
            check_int(name, getattr(self, name), 1)
        for m in self.widths:
            check_int("widths", m, 1, n - 1)
        if len(self.widths) < 2 or len(set(self.widths)) != len(self.widths):
            raise ValueError(f"widths must be >= 2 distinct integers, got {self.widths!r}")
        if not self.laws or len(set(self.laws)) != len(self.laws):
            raise ValueError(f"laws must be distinct and non-empty, got {self.laws!r}")
        for law in self.laws:
            check_choice("laws", law, theory.LAWS)
        if not self.gammas:
            raise ValueError("gammas must be non-empty")
        for g in self.gammas:
            check_float("gammas", g)
        if "power" in self.laws and not self.alphas:
            raise ValueError("alphas must be non-empty with the power law")
        for a in self.alphas:
            check_float("alphas", a, low=0.0)
        check_float("lr", self.lr, low=0.0, strict=True)
        if self.lr_rule is not None:
            check_choice("lr_rule", self.lr_rule, LR_RULES)
        check_float("exp_scale", self.exp_scale, low=0.0, strict=True)
        if not self.lr_factors or len(set(self.lr_factors)) != len(self.lr_factors):
            raise ValueError(f"lr_factors must be distinct and non-empty, got {self.lr_factors!r}")
        for f in self.lr_factors:
            check_float("lr_factors", f, low=0.0, strict=True)
        if len(self.lr_factors) > 1 and self.lr_rule is not None:
            raise ValueError(
                f"lr_factors must be (1.0,) with lr_rule={self.lr_rule!r} (the rule sets the "
                f"learning rate), got {self.lr_factors!r}"
            )
        self._check_budgets()
        lo = -math.inf if self.window_min is None else check_float("window_min", self.window_min)
        hi = math.inf if self.window_max is None else check_float("window_max", self.window_max)
        inside = [m for m in self.widths if lo <= m <= hi]
        if len(inside) < 2:
            raise ValueError(
                f"the fit window [{self.window_min}, {self.window_max}] must hold >= 2 widths, "
                f"got {inside}"
            )
        self.grid()  # the remaining checks (frequencies below 1, ...)

    def _check_budgets(self) -> None:
        check_int("n_budgets", self.n_budgets, 1, MAX_BUDGETS)
        factor = check_float("budget_factor", self.budget_factor, low=1.0, high=100.0, strict=True)
        if self.n_budgets == 1:
            return
        # the most budgets whose smallest has >= MIN_BUDGET steps, and distinct budgets
        most = 1 + math.floor(math.log(self.steps / MIN_BUDGET) / math.log(factor) + 1e-9)
        budgets = self.budgets
        if budgets[0] < MIN_BUDGET or len(set(budgets)) != len(budgets):
            raise ValueError(
                f"n_budgets must be in [1, {max(1, min(most, MAX_BUDGETS))}] at steps = "
                f"{self.steps}, budget_factor = {factor:g} (budgets >= {MIN_BUDGET} steps, "
                f"distinct), got {self.n_budgets} (budgets {list(budgets)})"
            )

    def grid(self) -> Grid:
        """The sweep grid (:func:`make_grid`; one budget per entry of :attr:`budgets`)."""
        pts = [{"law": law, "gamma": g, "alpha": a} for law, g, a in self.points]
        if len(self.lr_factors) > 1:
            pts = [{**pt, "lr": float(self.lr) * float(f)} for pt in pts for f in self.lr_factors]
        return make_grid(
            n=self.n,
            widths=self.widths,
            steps=self.steps,
            batch=self.batch,
            points=pts,
            seeds=self.seeds,
            pad_widths=self.pad_widths,
            budgets=self.budgets if self.n_budgets > 1 else None,
            eval_batches=self.eval_batches,
            lr_rule=self.lr_rule,
            exp_scale=float(self.exp_scale),
            **({} if len(self.lr_factors) > 1 else {"lr": float(self.lr)}),
        )

    def describe(self) -> str:
        """One line: sizes, budget and number of settings."""
        return (
            f"n = {self.n}, widths {list(self.widths)}, {self.steps} steps of batch {self.batch}, "
            f"{self.seeds} seeds, {len(self.points)} settings"
            + (f", budgets {list(self.budgets)} steps" if self.n_budgets > 1 else "")
            + (", widths padded into one program" if self.pad_widths else "")
            + (
                f", learning rates {list(self.lr_factors)} x {self.lr:g} (best per width)"
                if len(self.lr_factors) > 1
                else ""
            )
        )


@dataclasses.dataclass(frozen=True)
class CompareConfig(SweepConfig):
    __doc__ = (
        "The compare sweep: alpha_m per (law, gamma, alpha) over the widths, beside theory.\n\n"
        "    Presets: ``quick`` (under a minute on 2 CPU cores; one compiled program per budget,\n"
        "    short budgets that under-train the strong regime), ``default`` (~7-10 min on 2 CPU\n"
        "    cores), ``paper`` (the paper's large runs, n = 10240, m = 8..1024: accelerators).\n"
        "    Each trains 3 budgets, steps / 9, steps / 3 and steps (``n_budgets``).\n" + _ATTRIBUTES
    )

    n_budgets: int = 3

    @classmethod
    def preset(cls, name: str) -> Self:
        """The config of preset ``name`` (``quick``, ``default`` or ``paper``)."""
        check_choice("preset", name, _PRESET_NAMES)
        if name == "quick":
            return cls(
                n=200,
                widths=(8, 16, 32),
                steps=1000,
                batch=128,
                seeds=2,
                laws=("power",),
                gammas=(-1.0, 0.5),
                alphas=(1.0, 1.5),
                pad_widths=True,
                n_boot=300,
                eval_batches=4,
            )
        if name == "paper":
            return cls(
                n=10240,
                widths=(8, 16, 32, 64, 128, 256, 512, 1024),
                steps=20000,
                batch=2048,
                seeds=3,
                alphas=(0.5, 1.0, 1.2, 1.5, 2.0),
                window_min=32.0,
                lr_rule="liu2025-large",
            )
        return cls()


def _rounded(values: np.ndarray, decimals: int) -> tuple[float, ...]:
    return tuple(float(v) for v in np.round(values, decimals))


@dataclasses.dataclass(frozen=True)
class PhaseDiagramConfig(SweepConfig):
    __doc__ = (
        "The phase-diagram sweep: phi_1/2 and alpha_m over the (gamma, alpha) plane.\n\n"
        "    Presets: ``quick`` (seconds on 2 CPU cores), ``default`` (minutes), ``paper`` (the\n"
        "    paper's small-run grid, n = 1000, m = 10..100, 170 settings: accelerators).\n"
        + _ATTRIBUTES
    )

    widths: tuple[int, ...] = (16, 32, 64)
    steps: int = 2000
    seeds: int = 1
    laws: tuple[str, ...] = ("power",)
    gammas: tuple[float, ...] = _rounded(np.linspace(-1, 1, 9), 3)
    alphas: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
    n_boot: int = 500

    @classmethod
    def preset(cls, name: str) -> Self:
        """The config of preset ``name`` (``quick``, ``default`` or ``paper``)."""
        check_choice("preset", name, _PRESET_NAMES)
        if name == "quick":
            return cls(
                n=200,
                widths=(8, 16, 32),
                steps=600,
                batch=128,
                gammas=(-1.0, -0.5, 0.0, 0.5, 1.0),
                alphas=(0.5, 1.0, 1.5, 2.0),
                pad_widths=True,
                n_boot=200,
                eval_batches=4,
            )
        if name == "paper":
            return cls(
                n=1000,
                widths=(10, 15, 25, 39, 63, 100),
                steps=20000,
                batch=2048,
                gammas=_rounded(np.linspace(-1, 1, 10), 4),
                alphas=tuple(float(a) for a in np.arange(0, 2.01, 0.125)),
                n_boot=1000,
            )
        return cls()


# --- running and tidying -------------------------------------------------------------------------
def run_config(
    config: SweepConfig,
    store: Path | None = None,
    *,
    name: str = "superposition",
    progress: bool = True,
) -> xr.Dataset:
    """Run (or resume, with a ``store`` directory) the sweep of ``config``; return :func:`tidy`
    data (attribute ``n``).

    Chunks hold every row of a width group (at most 256), so no row of a chunk is padding.
    """
    grid = config.grid()
    rows = grid.n_points * grid.seeds
    chunk = rows if rows <= 256 else math.ceil(rows / math.ceil(rows / 256))
    result = sweep.run_sweep(
        build,
        grid,
        name=name,
        store=None if store is None else str(store),
        chunk_size=chunk,
        progress=progress,
        config={"config": dataclasses.asdict(config)},
    )
    data = tidy(result)
    data.attrs["n"] = config.n
    return data
