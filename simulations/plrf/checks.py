"""What a PLRF run needs before it runs: eager input checks, run lengths and memory estimates.

Everything here is plain Python and numpy (plus :mod:`theory`), runs in milliseconds and never
traces: :func:`validate_static` (the shape-defining parameters of a sweep group),
:func:`validate_point` (one (α, β, learning-rate) point, including the theory's stability check
:func:`theory.plrf.check_stable` when ``d`` is known), the checkpoint and block conventions of
the simulators (:func:`log_checkpoints`, :func:`default_block_steps`,
:func:`embedding_block_rows`) and the device memory of one run (:func:`sgd_run_bytes`,
:func:`expected_run_bytes`), which the sweep engine uses to size chunks and to refuse sizes that
cannot fit. Symbols as in :mod:`simulations.plrf.model` (arXiv 2405.15074, §2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulations.steps import log_steps
from theory import plrf as theory_plrf
from theory.checks import check_choice, check_float, check_int

__all__ = [
    "DEFAULT_LR_SCALE",
    "DEFAULT_N_CHECKPOINTS",
    "DEFAULT_V_RATIO",
    "DTYPE_NAMES",
    "MAX_STEPS",
    "PATHS",
    "STATIC_KEYS",
    "SWEPT_KEYS",
    "default_block_steps",
    "embedding_block_rows",
    "expected_run_bytes",
    "log_checkpoints",
    "sgd_run_bytes",
    "validate_point",
    "validate_static",
]

PATHS = ("eigenbasis", "explicit")
DTYPE_NAMES = ("float32", "float64")
DEFAULT_LR_SCALE = 0.5
DEFAULT_V_RATIO = 4
DEFAULT_N_CHECKPOINTS = 40
STATIC_KEYS = frozenset(
    {"d", "v", "v_ratio", "batch", "max_steps", "n_checkpoints", "path", "dtype", "block_steps"}
)
SWEPT_KEYS = frozenset({"alpha", "beta", "lr_scale", "learning_rate"})

#: Longest run the SGD loop and the expected-loss integrator count (int32 step counters).
MAX_STEPS = 2**31 - 2

# Elements drawn per block of W rows / per block of SGD steps. The eigenbasis loop is bound by
# random-number generation; its block is kept small (2**12 normals per run) so that a vmapped chunk
# of tens of runs still draws into L2-resident buffers (measured: blocks of 2**15 per run ran 2-4x
# slower under vmap over 16 runs at d = 1000). The explicit path reads all of W once per block, so
# its blocks are large (one (block·B, v) @ (v, d) matmul per block).
_EMBEDDING_BLOCK_ELEMENTS = 2**18
_EIGENBASIS_BLOCK_ELEMENTS = 2**12
_EXPLICIT_BLOCK_ELEMENTS = 2**20
_MAX_BLOCK_STEPS = 1024

_ITEMSIZE = {"float32": 4, "float64": 8}


# --------------------------------------------------------------------------------------------
# Checkpoints and blocks
# --------------------------------------------------------------------------------------------
def log_checkpoints(max_steps: int, n: int) -> np.ndarray:
    """``[0] + round(geomspace(1, max_steps, n − 1)) + [max_steps]``, unique (int64).

    The PLRF checkpoint convention: ``simulations.steps.log_steps(max_steps, n, zero=True)``.
    """
    return log_steps(check_int("max_steps", max_steps, 1), n, zero=True)


def embedding_block_rows(v: int, d: int) -> int:
    """Rows of ``W`` drawn (and accumulated into ``K̂``) per block: about 2^18 entries."""
    return max(1, min(v, _EMBEDDING_BLOCK_ELEMENTS // d))


def default_block_steps(cfg: Mapping[str, Any]) -> int:
    """SGD steps per random-number block for ``cfg`` (``batch``, ``d`` or ``v``, ``path``,
    ``max_steps``): about 2^12 (eigenbasis) or 2^20 (explicit) normals per block, at most 1024
    steps, the blocks as even as possible (at most ``n_blocks − 1`` padded steps)."""
    per_step = cfg["batch"] * (cfg["d"] if cfg["path"] == "eigenbasis" else cfg["v"])
    budget = _EIGENBASIS_BLOCK_ELEMENTS if cfg["path"] == "eigenbasis" else _EXPLICIT_BLOCK_ELEMENTS
    target = max(1, min(_MAX_BLOCK_STEPS, budget // per_step))
    # Same number of blocks, shortest block length: at most n_blocks - 1 padded steps.
    n_blocks = -(-cfg["max_steps"] // target)
    return -(-cfg["max_steps"] // n_blocks)


# --------------------------------------------------------------------------------------------
# Memory of one run
# --------------------------------------------------------------------------------------------
def _eigenbasis_bytes(v: int, d: int) -> float:
    """``K̂ = WᵀDW`` by row blocks and its ``eigh``, float64: the accumulator, one block's
    product, the symmetrised copy, the eigenvectors and the solver's workspace (5 d×d), plus a
    block of rows as float32 draws and two float64 copies (20 bytes per entry)."""
    return 5 * 8.0 * d * d + 20.0 * embedding_block_rows(v, d) * d


def sgd_run_bytes(cfg: Mapping[str, Any]) -> float:
    """Device memory (bytes) of one :func:`~simulations.plrf.model.sgd_run` (formula, not
    measured): the float64 eigenbasis problem (:func:`_eigenbasis_bytes`), plus for
    ``path="eigenbasis"`` one block of features ``block_steps·B·(d+1)`` twice (draws, products),
    and for ``path="explicit"`` ``W`` (float32 draws, cast copy: ``v·d·(4 + itemsize)``) and one
    block of samples ``block_steps·B·(v + d)``, all in the loop's ``dtype``. ``cfg`` is
    :func:`validate_static`'s output."""
    v, d, batch, steps = cfg["v"], cfg["d"], cfg["batch"], cfg["block_steps"]
    item = _ITEMSIZE[cfg["dtype"]]
    if cfg["path"] == "eigenbasis":
        loop = 2.0 * steps * batch * (d + 1) * item
    else:
        loop = v * d * (4.0 + item) + steps * batch * (v + d) * float(item)
    return _eigenbasis_bytes(v, d) + loop


def expected_run_bytes(cfg: Mapping[str, Any]) -> float:
    """Device memory (bytes) of one :func:`~simulations.plrf.model.expected_run`: ``W`` drawn as
    float32 and cast to float64, its scaled copy and ``A = D^(1/2)W`` (``(4 + 3·8)·v·d``), plus
    ``K̂ = AᵀA``, its eigenvectors and the ``eigh`` workspace (about ``5·8·d²``)."""
    v, d = cfg["v"], cfg["d"]
    return 28.0 * v * d + 5 * 8.0 * d * d


# --------------------------------------------------------------------------------------------
# Validation (eager, before any tracing)
# --------------------------------------------------------------------------------------------
def validate_static(static: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise the static (shape-defining) parameters of a PLRF sweep group.

    Keys: ``d`` (int >= 1), ``v`` (int > d) or ``v_ratio`` (> 1, ``v = round(v_ratio·d)``;
    default 4), ``batch`` (int >= 1, default 1), ``max_steps`` (int in [1, 2^31 − 2], required),
    ``n_checkpoints`` (int >= 2, default 40), ``path`` ("eigenbasis" | "explicit"), ``dtype``
    ("float32" | "float64"), ``block_steps`` (int >= 1, optional: SGD steps per random-number
    block; default :func:`default_block_steps`). Returns a dict with every key filled in (``v``
    resolved, ``v_ratio`` dropped); raises ValueError / TypeError naming parameter, value, range.
    """
    unknown = set(static) - STATIC_KEYS
    if unknown:
        raise ValueError(
            f"unknown static parameter(s) {sorted(unknown)}; valid: {sorted(STATIC_KEYS)}"
        )
    if "d" not in static:
        raise ValueError("static parameter d (embedding dimension) is required")
    if "max_steps" not in static:
        raise ValueError("static parameter max_steps is required")
    d = check_int("d", static["d"])
    if "v" in static and "v_ratio" in static:
        raise ValueError(
            f"give either v or v_ratio, not both (got v={static['v']!r}, "
            f"v_ratio={static['v_ratio']!r})"
        )
    if "v" in static:
        v = check_int("v", static["v"])
    else:
        ratio = check_float("v_ratio", static.get("v_ratio", DEFAULT_V_RATIO), low=1, strict=True)
        v = round(ratio * d)
    if v <= d:
        raise ValueError(f"v must be > d = {d}, got v = {v}")
    out = {
        "d": d,
        "v": v,
        "batch": check_int("batch", static.get("batch", 1)),
        "max_steps": check_int("max_steps", static["max_steps"], 1, MAX_STEPS),
        "n_checkpoints": check_int(
            "n_checkpoints", static.get("n_checkpoints", DEFAULT_N_CHECKPOINTS), 2
        ),
        "path": check_choice("path", static.get("path", "eigenbasis"), PATHS),
        "dtype": check_choice("dtype", static.get("dtype", "float32"), DTYPE_NAMES),
    }
    if "block_steps" in static:
        out["block_steps"] = check_int("block_steps", static["block_steps"])
    else:
        out["block_steps"] = default_block_steps(out)
    return out


def validate_point(
    alpha: float,
    beta: float,
    *,
    v: int,
    d: int | None = None,
    batch: int = 1,
    lr_scale: float | None = None,
    learning_rate: float | None = None,
) -> float:
    """Check one (α, β, learning-rate) point before a sweep; return the learning rate γ.

    Checks: α > 0; 2α + 2β > 1 (finite loss ``Σ_j j^(−2α−2β)`` as v → ∞); γ > 0; and stability.
    When the model size ``d`` is given, the theory's stability check
    (:func:`theory.plrf.check_stable`: ``γ(B+1)λ₊ < 2`` and ``‖K‖ = Σ γλ_i/(2 − γ(B+1)λ_i) < 1``
    on the deterministic-equivalent spectrum of ``K̂ = WᵀDW``), whose message names the
    admissible range of ``lr_scale`` (or ``learning_rate``). Without ``d``, two necessary
    conditions it implies: ``γ(B+1) < 2`` (the top eigenvalue of ``K̂`` is ≈ 1 for α > 1/2,
    larger for small α) and ``c = γ·Σ_(j≤v) j^(−2α) < 2`` (``‖K‖`` exceeds ``γ·tr(K̂)/2``,
    ``E tr(K̂) = Σ_(j≤v) j^(−2α)``).
    The learning rate is ``lr_scale`` c (γ = c / Σ_(j≤v) j^(−2α); 0.5 when neither is given) or
    ``learning_rate`` γ itself; giving both raises (ambiguous). ``v`` is the data dimension.
    """
    alpha = check_float("alpha", alpha)
    beta = check_float("beta", beta)
    v = check_int("v", v, 2)
    batch = check_int("batch", batch)
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    if 2 * alpha + 2 * beta <= 1:
        raise ValueError(
            f"2*alpha + 2*beta must be > 1, got alpha={alpha!r}, beta={beta!r} "
            f"(2α+2β = {2 * alpha + 2 * beta!r})"
        )
    if lr_scale is not None and learning_rate is not None:
        raise ValueError(
            f"give either lr_scale or learning_rate, not both (got lr_scale={lr_scale!r}, "
            f"learning_rate={learning_rate!r})"
        )
    trace = theory_plrf.power_law_trace(alpha, v)
    if learning_rate is not None:
        gamma = check_float("learning_rate", learning_rate, low=0.0, strict=True)
    else:
        c = check_float("lr_scale", DEFAULT_LR_SCALE if lr_scale is None else lr_scale)
        gamma = theory_plrf.learning_rate(alpha, v, c)
    if d is not None:
        # The theory's limit implies both bounds below (λ₊ > σ_1 = 1 and ‖K‖ > c/2) and its
        # message names the parameter given and its admissible range.
        d = check_int("d", d, 1)
        if learning_rate is not None:
            theory_plrf.check_stable(alpha, d, v, batch, learning_rate=gamma)
        else:
            theory_plrf.check_stable(alpha, d, v, batch, lr_scale=c)
        return gamma
    if gamma * (batch + 1) >= 2:
        raise ValueError(
            f"learning rate too large for stability: need learning_rate*(batch+1)*lambda_max < 2 "
            f"with lambda_max ~ 1, got learning_rate={gamma!r}, batch={batch} "
            f"(learning_rate must be < {2 / (batch + 1)!r})"
        )
    if gamma * trace >= 2:
        raise ValueError(
            f"learning rate too large: the kernel norm would exceed 1 (need "
            f"learning_rate * sum_j j^(-2 alpha) < 2, i.e. lr_scale < 2), got "
            f"learning_rate={gamma!r}, lr_scale={gamma * trace!r}"
        )
    return gamma
