"""Runs in: a table of training runs (CSV or parquet) checked column by column.

Each row is one run (or one checkpoint of a run, with a step column): model size ``N``, training
tokens ``D``, loss ``L``, optionally the compute ``C`` (default ``6·N·D``, the Kaplan et al.
2020 / Hoffmann et al. 2022 estimate of training FLOP), a group label (rows that share a curve:
one run's checkpoints, or one seed's sweep), a step and the number of unique tokens (for the
data-constrained law). Every check raises a one-line ``ValueError`` that names the column.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["FLOPS_PER_PARAM_TOKEN", "RunTable", "load_table", "make_table"]

#: The 6 of ``C = 6·N·D`` (forward and backward pass, Kaplan et al. 2020, arXiv 2001.08361 §2.1).
FLOPS_PER_PARAM_TOKEN = 6.0


@dataclass(frozen=True, eq=False)
class RunTable:
    """Checked runs, float64 columns of equal length ``n``.

    Attributes:
        N, D, L, C: parameters, tokens, loss and compute of each row (all finite and > 0).
        group: ``(n,)`` int labels of the curve each row belongs to (0..n_groups-1), or ``None``.
        step: ``(n,)`` float step of each row, or ``None``.
        unique: ``(n,)`` unique tokens ``U_D`` of each row (data-constrained law), or ``None``.
        compute_given: False when ``C`` was set to ``6·N·D``.
        names: column names of the source, for messages (``{"N": "params", ...}``).
        notes: what was assumed while reading (printed by the CLI).
    """

    N: np.ndarray
    D: np.ndarray
    L: np.ndarray
    C: np.ndarray
    group: np.ndarray | None = None
    step: np.ndarray | None = None
    unique: np.ndarray | None = None
    compute_given: bool = False
    names: dict = field(default_factory=dict)
    notes: tuple = ()

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.L.size)

    def subset(self, index) -> RunTable:
        """The rows ``index`` (a boolean mask or integer indices, repeats allowed)."""
        pick = {
            k: (None if getattr(self, k) is None else getattr(self, k)[index])
            for k in ("N", "D", "L", "C", "group", "step", "unique")
        }
        return RunTable(
            **pick, compute_given=self.compute_given, names=self.names, notes=self.notes
        )

    def units(self, by_group: bool) -> np.ndarray:
        """Resampling units of each row: its group label (``by_group``) or its row index."""
        if by_group:
            if self.group is None:
                raise ValueError("group bootstrap needs a group column (--group)")
            return self.group
        return np.arange(self.n)


def _positive(name: str, column: str, values: np.ndarray) -> None:
    bad_nan = ~np.isfinite(values)
    bad_sign = np.isfinite(values) & (values <= 0)
    if bad_nan.any() or bad_sign.any():
        parts = []
        if bad_nan.any():
            parts.append(f"{int(bad_nan.sum())} missing/NaN/inf")
        if bad_sign.any():
            parts.append(f"{int(bad_sign.sum())} zero or negative")
        first = int(np.flatnonzero(bad_nan | bad_sign)[0])
        raise ValueError(
            f"column {column!r} ({name}) must be finite and > 0 in every row: "
            f"{' and '.join(parts)} of {values.size} rows (first at row {first})"
        )


def _as_numbers(column: str, raw) -> np.ndarray:
    try:
        return np.array([math.nan if v in ("", None) else float(v) for v in raw], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"column {column!r} must hold numbers: {err}") from None


def make_table(
    N=None,
    D=None,
    L=None,
    *,
    C=None,
    group=None,
    step=None,
    unique=None,
    names: dict | None = None,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
) -> RunTable:
    """Check columns given as arrays and build a :class:`RunTable`.

    ``N`` (or ``C``) and ``L`` are required. With ``C`` but no ``D``, tokens are
    ``C/(6·N)``; with ``D`` but no ``C``, compute is ``6·N·D`` (and a note says so). Rows with a
    missing, NaN, infinite, zero or negative value in any used column are an error naming the
    column and how many rows are bad; nothing is silently dropped.

    Args:
        N, D, L, C: columns (1-D, one value per row).
        group: labels (any hashable values) of the curve each row belongs to.
        step: training step of each row (>= 0). unique: unique tokens per row (> 0).
        names: ``{"N": column name, ...}`` used in messages (defaults: the symbols).
        flops_per_param_token: the 6 of ``C = 6·N·D`` (> 0).

    Returns:
        :class:`RunTable`.
    """
    names = {
        "N": "N",
        "D": "D",
        "L": "L",
        "C": "C",
        "group": "group",
        "step": "step",
        "unique": "unique",
        **(names or {}),
    }
    if not (math.isfinite(flops_per_param_token) and flops_per_param_token > 0):
        raise ValueError(f"flops_per_param_token must be > 0, got {flops_per_param_token}")
    cols = {}
    for key, raw in (("N", N), ("D", D), ("L", L), ("C", C), ("unique", unique), ("step", step)):
        if raw is None:
            continue
        arr = np.asarray(raw)
        arr = arr.astype(np.float64) if arr.dtype.kind in "fiub" else _as_numbers(names[key], arr)
        if arr.ndim != 1:
            raise ValueError(f"column {names[key]!r} must be 1-D, got shape {arr.shape}")
        cols[key] = arr
    if "L" not in cols:
        raise ValueError("a loss column is required (--loss)")
    if "N" not in cols:
        raise ValueError("a parameter-count column is required (--params)")
    n = cols["L"].size
    for key, arr in cols.items():
        if arr.size != n:
            raise ValueError(f"column {names[key]!r} has {arr.size} rows, the loss column {n}")
    if n == 0:
        raise ValueError(f"column {names['L']!r} is empty: no runs to fit")
    labels = {"N": "parameters", "D": "tokens", "L": "loss", "C": "compute", "unique": "unique"}
    for key in ("N", "D", "L", "C", "unique"):
        if key in cols:
            _positive(labels[key], names[key], cols[key])
    if "step" in cols and not (np.isfinite(cols["step"]) & (cols["step"] >= 0)).all():
        bad = int((~(np.isfinite(cols["step"]) & (cols["step"] >= 0))).sum())
        raise ValueError(f"column {names['step']!r} (step) must be finite and >= 0: {bad} rows")
    notes = []
    k = float(flops_per_param_token)
    if "C" in cols and "D" not in cols:
        cols["D"] = cols["C"] / (k * cols["N"])
        notes.append(f"tokens not given: D = C/({k:g}·N)")
    elif "D" not in cols:
        raise ValueError("a tokens column (--tokens) or a compute column (--compute) is required")
    compute_given = "C" in cols
    if not compute_given:
        cols["C"] = k * cols["N"] * cols["D"]
        notes.append(f"compute not given: C = {k:g}·N·D")
    g = None
    if group is not None:
        garr = np.asarray(group)
        if garr.shape != (n,):
            raise ValueError(f"column {names['group']!r} has shape {garr.shape}, expected ({n},)")
        if garr.dtype.kind == "f" and not np.isfinite(garr).all():
            bad = int((~np.isfinite(garr)).sum())
            raise ValueError(f"column {names['group']!r} (group) has {bad} missing rows")
        if garr.dtype.kind in "OUS" and any(v in ("", None) for v in garr.tolist()):
            raise ValueError(f"column {names['group']!r} (group) has empty labels")
        g = np.unique(garr.astype(str), return_inverse=True)[1].astype(np.intp)
    return RunTable(
        N=cols["N"],
        D=cols["D"],
        L=cols["L"],
        C=cols["C"],
        group=g,
        step=cols.get("step"),
        unique=cols.get("unique"),
        compute_given=compute_given,
        names=names,
        notes=tuple(notes),
    )


def _read_columns(path: Path, wanted: list[str]) -> dict[str, list]:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pandas as pd

            frame = pd.read_parquet(path)
        except ImportError as err:
            raise ValueError(
                f"reading {path.name} needs pandas with pyarrow or fastparquet ({err}); "
                "install one, or convert the file to CSV"
            ) from None
        header = [str(c) for c in frame.columns]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ValueError(f"column {missing[0]!r} not in {path.name}; it has: {header}")
        return {c: frame[c].tolist() for c in wanted}
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ValueError(f"column {missing[0]!r} not in {path.name}; it has: {header}")
        out: dict[str, list] = {c: [] for c in wanted}
        for row in reader:
            for c in wanted:
                out[c].append(row[c])
    return out


def load_table(
    path,
    *,
    params: str | None = None,
    tokens: str | None = None,
    loss: str = "loss",
    compute: str | None = None,
    group: str | None = None,
    step: str | None = None,
    unique_tokens: str | None = None,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
) -> RunTable:
    """Read a CSV (or parquet, with pandas and pyarrow) of runs into a :class:`RunTable`.

    Args:
        path: the file. params, tokens, loss, compute, group, step, unique_tokens: its column
            names (``None``: not given). ``params`` and ``loss`` are required, and ``tokens`` or
            ``compute``.
        flops_per_param_token: the 6 of ``C = 6·N·D``.

    Returns:
        :class:`RunTable` (errors name the column, see :func:`make_table`).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} does not exist")
    spec = {
        "N": params,
        "D": tokens,
        "L": loss,
        "C": compute,
        "group": group,
        "step": step,
        "unique": unique_tokens,
    }
    given = {k: v for k, v in spec.items() if v}
    raw = _read_columns(path, list(dict.fromkeys(given.values())))
    kwargs = {k: raw[v] for k, v in given.items()}
    if "group" in kwargs:
        kwargs["group"] = np.array([str(v) for v in kwargs["group"]], dtype=object)
    return make_table(
        kwargs.get("N"),
        kwargs.get("D"),
        kwargs.get("L"),
        C=kwargs.get("C"),
        group=kwargs.get("group"),
        step=kwargs.get("step"),
        unique=kwargs.get("unique"),
        names={k: v for k, v in given.items()},
        flops_per_param_token=flops_per_param_token,
    )
