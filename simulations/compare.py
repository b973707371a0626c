"""Measured versus predicted: comparison tables, their CSV format, and summaries.

The last step of a sweep: every measured exponent is set beside the prediction of ``theory``.
One table format serves every model:

* **Columns**, in this order: the model's parameter columns (named after its parameters, e.g.
  ``alpha,beta`` for PLRF), then the core columns ``phase,quantity,predicted,measured,ci_low,
  ci_high``, then optional extra columns (free text, e.g. ``recipe``, ``window``, ``note``).
* ``phase`` is the phase or regime label (may be empty), ``quantity`` what is compared (``xi``,
  ``eta``, ``loss_exponent``, ...). ``predicted``, ``measured``, ``ci_low``, ``ci_high`` are
  floats; a missing value is written ``nan``. ``[ci_low, ci_high]`` is the interval of
  ``measured``.
* Floats are written with ``repr`` (shortest round-trip form), so a table read back compares
  equal to the one written. Parameter values that are not numbers stay strings.

Exponent convention (as in :mod:`simulations.fit`): ``Q ∝ X^(−e)`` has exponent ``e``; compare
like with like (the frontier size exponent ``ξ`` of :func:`simulations.fit.fit_frontier` is a
growth exponent).

Only the standard library's :mod:`csv` is used (no pandas).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "CORE_COLUMNS",
    "ComparisonRow",
    "ComparisonSummary",
    "columns",
    "comparison_table",
    "format_comparison_table",
    "read_comparison_csv",
    "summarize",
    "write_comparison_csv",
]

CORE_COLUMNS: tuple[str, ...] = ("phase", "quantity", "predicted", "measured", "ci_low", "ci_high")
_FLOAT_COLUMNS = ("predicted", "measured", "ci_low", "ci_high")


def _to_float(name: str, value: Any) -> float:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a real number, got {value!r}") from err


def _param_value(value: Any) -> float | str:
    """Numbers become floats; anything else is kept as its string."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _fmt_csv(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _check_names(kind: str, names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise TypeError(f"{kind} must be a sequence of column names, got the string {names!r}")
    names = tuple(names)
    for n in names:
        if not isinstance(n, str) or not n:
            raise ValueError(f"{kind} must be non-empty strings, got {n!r}")
        if n in CORE_COLUMNS:
            raise ValueError(f"{kind} must not reuse a core column name, got {n!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{kind} must be distinct, got {names}")
    return names


@dataclass(frozen=True)
class ComparisonRow:
    """One measured-versus-predicted comparison.

    Attributes:
        params: ordered mapping parameter name -> value (floats, or strings for labels).
        phase: phase or regime label ("" if none).
        quantity: what is compared (e.g. ``"xi"``, ``"eta"``).
        predicted: theory's value (NaN if theory gives none).
        measured: the measured value.
        ci_low, ci_high: interval of ``measured`` (NaN if none).
        extras: ordered mapping of extra columns (values stored as strings; empty values are
            dropped, as a CSV cannot tell an empty cell from a missing one).
    """

    params: Mapping[str, float | str]
    phase: str
    quantity: str
    predicted: float
    measured: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    extras: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.params, Mapping):
            raise TypeError(f"params must be a mapping, got {type(self.params).__name__}")
        _check_names("parameter names", list(self.params))
        if not isinstance(self.extras, Mapping):
            raise TypeError(f"extras must be a mapping, got {type(self.extras).__name__}")
        _check_names("extra column names", list(self.extras))
        clash = set(self.params) & set(self.extras)
        if clash:
            raise ValueError(f"names used both as parameters and extras: {sorted(clash)}")
        params = {str(k): _param_value(v) for k, v in self.params.items()}
        # an empty extra is the same as an absent one (a CSV cannot tell them apart)
        extras = {str(k): str(v) for k, v in self.extras.items() if v is not None and str(v)}
        object.__setattr__(self, "params", MappingProxyType(params))
        object.__setattr__(self, "extras", MappingProxyType(extras))
        object.__setattr__(self, "phase", "" if self.phase is None else str(self.phase))
        if not isinstance(self.quantity, str) or not self.quantity:
            raise ValueError(f"quantity must be a non-empty string, got {self.quantity!r}")
        for name in _FLOAT_COLUMNS:
            object.__setattr__(self, name, _to_float(name, getattr(self, name)))

    def __reduce__(self):
        # MappingProxyType fields cannot be pickled: rebuild from plain dicts (figure caches).
        fields = (self.phase, self.quantity, self.predicted, self.measured, self.ci_low)
        return (ComparisonRow, (dict(self.params), *fields, self.ci_high, dict(self.extras)))

    def __eq__(self, other) -> bool:
        # NaN == NaN here (a missing value read back equals the one written), and the order of
        # params/extras does not matter (as for dicts)
        if not isinstance(other, ComparisonRow):
            return NotImplemented
        return _record_key(self) == _record_key(other)

    def __hash__(self) -> int:
        return hash(_record_key(self))

    def __repr__(self) -> str:
        parts = [
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in self.params.items()
        ]
        parts += [f"phase={self.phase!r}", f"quantity={self.quantity!r}"]
        parts += [f"{c}={getattr(self, c):.6g}" for c in _FLOAT_COLUMNS]
        parts += [f"{k}={v!r}" for k, v in self.extras.items()]
        return f"ComparisonRow({', '.join(parts)})"

    @property
    def deviation(self) -> float:
        """``measured − predicted`` (NaN if either is missing)."""
        return self.measured - self.predicted

    @property
    def has_ci(self) -> bool:
        """Whether both interval ends are finite numbers."""
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)

    @property
    def determined(self) -> bool:
        """False when the interval is wider than ``|predicted|``: the measurement cannot tell the
        prediction from zero, so "inside the interval" would mean nothing."""
        if not self.has_ci or math.isnan(self.predicted) or self.predicted == 0:
            return True
        return (self.ci_high - self.ci_low) <= abs(self.predicted)

    @property
    def within_ci(self) -> bool | None:
        """Whether ``predicted`` lies in ``[ci_low, ci_high]``; None if there is no interval, no
        prediction, or the interval is not :attr:`determined`."""
        if not self.has_ci or math.isnan(self.predicted) or not self.determined:
            return None
        return self.ci_low <= self.predicted <= self.ci_high

    @classmethod
    def from_fit(
        cls,
        params: Mapping[str, Any],
        phase: str,
        quantity: str,
        predicted: float,
        fit: Any,
        **extras: Any,
    ) -> ComparisonRow:
        """Row from a fit result of :mod:`simulations.fit` (anything with ``exponent``,
        ``ci_low``, ``ci_high``; its ``window``, if any, becomes the extra column ``window``
        as ``"x_min:x_max"`` unless ``window=`` is given)."""
        for attr in ("exponent", "ci_low", "ci_high"):
            if not hasattr(fit, attr):
                raise TypeError(f"fit must have attribute {attr!r}, got {type(fit).__name__}")
        window = getattr(fit, "window", None)
        if window is not None and "window" not in extras:
            extras = {"window": f"{window[0]:.6g}:{window[1]:.6g}", **extras}
        return cls(
            params=params,
            phase=phase,
            quantity=quantity,
            predicted=predicted,
            measured=fit.exponent,
            ci_low=fit.ci_low,
            ci_high=fit.ci_high,
            extras=extras,
        )

    @classmethod
    def from_record(cls, record: Mapping[str, Any], param_names: Sequence[str]) -> ComparisonRow:
        """Row from a flat mapping holding ``param_names``, the core columns (``ci_low`` and
        ``ci_high`` may be absent) and extras (every other key)."""
        param_names = _check_names("param_names", param_names)
        missing = [
            c
            for c in (*param_names, "phase", "quantity", "predicted", "measured")
            if c not in record
        ]
        if missing:
            raise ValueError(f"record is missing columns {missing}: {dict(record)!r}")
        known = set(param_names) | set(CORE_COLUMNS)
        return cls(
            params={k: record[k] for k in param_names},
            phase=record["phase"],
            quantity=record["quantity"],
            predicted=record["predicted"],
            measured=record["measured"],
            ci_low=record.get("ci_low", math.nan),
            ci_high=record.get("ci_high", math.nan),
            extras={k: v for k, v in record.items() if k not in known},
        )


def _nan_key(v: Any) -> Any:
    return ("nan",) if isinstance(v, float) and math.isnan(v) else v


def _record_key(row: ComparisonRow) -> tuple:
    return (
        tuple(sorted((k, _nan_key(v)) for k, v in row.params.items())),
        row.phase,
        row.quantity,
        *(_nan_key(getattr(row, c)) for c in _FLOAT_COLUMNS),
        tuple(sorted(row.extras.items())),
    )


def columns(param_names: Sequence[str], extra_names: Sequence[str] = ()) -> list[str]:
    """The column order of the common format: params, core columns, extras."""
    p = _check_names("param_names", param_names)
    e = _check_names("extra_names", extra_names)
    clash = set(p) & set(e)
    if clash:
        raise ValueError(f"names used both as parameters and extras: {sorted(clash)}")
    return [*p, *CORE_COLUMNS, *e]


def _as_rows(rows: Iterable[Any], param_names: Sequence[str] | None) -> list[ComparisonRow]:
    out = []
    for i, r in enumerate(rows):
        if isinstance(r, ComparisonRow):
            out.append(r)
        elif isinstance(r, Mapping):
            if param_names is None:
                raise ValueError(f"row {i} is a mapping: param_names is needed to read it")
            out.append(ComparisonRow.from_record(r, param_names))
        else:
            raise TypeError(f"rows must be ComparisonRow or mappings, got {type(r).__name__}")
    return out


def _resolve_names(
    rows: list[ComparisonRow],
    param_names: Sequence[str] | None,
    extra_names: Sequence[str] | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if param_names is None:
        param_names = tuple(rows[0].params) if rows else ()
    param_names = _check_names("param_names", param_names)
    for i, r in enumerate(rows):
        if set(r.params) != set(param_names):
            raise ValueError(
                f"row {i} has parameters {sorted(r.params)}, expected {sorted(param_names)}"
            )
    if extra_names is None:
        seen: dict[str, None] = {}
        for r in rows:
            seen.update(dict.fromkeys(r.extras))
        extra_names = tuple(seen)
    else:
        extra_names = _check_names("extra_names", extra_names)
        for i, r in enumerate(rows):
            unknown = [k for k in r.extras if k not in extra_names]
            if unknown:
                raise ValueError(f"row {i} has extra columns {unknown} not in extra_names")
    columns(param_names, extra_names)  # validates clashes
    return param_names, extra_names


def comparison_table(
    rows: Iterable[Any],
    param_names: Sequence[str] | None = None,
    extra_names: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Validate rows and return them as records in the common column order.

    Args:
        rows: :class:`ComparisonRow` objects or flat mappings (the latter need ``param_names``).
        param_names: parameter columns, in order; default: those of the first row. Every row
            must have exactly these parameters.
        extra_names: extra columns, in order; default: every extra of any row, first seen first.
            Rows lacking an extra get ``""``.

    Returns:
        A list of dicts whose keys follow :func:`columns` order (floats as floats).
    """
    rows = _as_rows(rows, param_names)
    pn, en = _resolve_names(rows, param_names, extra_names)
    out = []
    for r in rows:
        rec: dict[str, Any] = {k: r.params[k] for k in pn}
        rec.update({c: getattr(r, c) for c in CORE_COLUMNS})
        rec.update({k: r.extras.get(k, "") for k in en})
        out.append(rec)
    return out


def write_comparison_csv(
    rows: Iterable[Any],
    path: str | os.PathLike,
    param_names: Sequence[str],
    *,
    extra_names: Sequence[str] | None = None,
) -> Path:
    """Write a comparison table as CSV in the common format (see the module docstring).

    Args:
        rows: :class:`ComparisonRow` objects or flat mappings.
        path: output file (parent directories are created).
        param_names: the model's parameter columns, in order (may be empty).
        extra_names: extra columns (default: all extras of the rows, first seen first).

    Returns:
        The path written.

    Raises:
        ValueError: a row lacks a parameter or has one not in ``param_names``, or names clash.
    """
    rows = _as_rows(rows, param_names)
    pn, en = _resolve_names(rows, param_names, extra_names)
    table = comparison_table(rows, pn, en)
    header = columns(pn, en)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for rec in table:
            w.writerow([_fmt_csv(rec[c]) for c in header])
    return path


def read_comparison_csv(path: str | os.PathLike) -> list[ComparisonRow]:
    """Read a table written by :func:`write_comparison_csv` (or by hand in the same format).

    The header must hold the core columns contiguously and in order; the columns before
    ``phase`` are the parameters, those after ``ci_high`` the extras. Parameter values are read
    as floats where they parse, else kept as strings.

    Raises:
        ValueError: empty file, missing or misordered core columns, ragged rows, or a value of a
            float column that does not parse (the message gives the line).
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{str(path)!r} is empty: expected a header row") from None
        missing = [c for c in CORE_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{str(path)!r} lacks the columns {missing} (header: {header})")
        start = header.index("phase")
        if tuple(header[start : start + len(CORE_COLUMNS)]) != CORE_COLUMNS:
            raise ValueError(
                f"{str(path)!r}: core columns must appear in the order {list(CORE_COLUMNS)}, got "
                f"header {header}"
            )
        param_names = header[:start]
        extra_names = header[start + len(CORE_COLUMNS) :]
        columns(param_names, extra_names)
        out = []
        for line_no, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(values) != len(header):
                raise ValueError(
                    f"{str(path)!r} line {line_no}: {len(values)} fields, header has {len(header)}"
                )
            rec = dict(zip(header, values, strict=True))
            try:
                out.append(ComparisonRow.from_record(rec, param_names))
            except (TypeError, ValueError) as err:
                raise ValueError(f"{str(path)!r} line {line_no}: {err}") from err
    return out


def _fmt_num(v: float, precision: int) -> str:
    if isinstance(v, str):
        return v
    if math.isnan(v):
        return "nan"
    return (
        f"{v:.{precision}g}"
        if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3)
        else (f"{v:.{precision}f}")
    )


def format_comparison_table(
    rows: Iterable[Any],
    param_names: Sequence[str] | None = None,
    *,
    extra_names: Sequence[str] | None = None,
    precision: int = 4,
    note: str = "",
) -> str:
    """A fixed-width text table for printing.

    Columns: parameters, ``phase``, ``quantity``, ``predicted``, ``measured``, ``ci_low``,
    ``ci_high``, ``meas-pred`` (``measured − predicted``), ``out`` (``*`` when the prediction lies
    outside ``[ci_low, ci_high]``, ``?`` when there is no interval or no prediction, ``~`` when
    the interval is wider than the prediction: not determined), then extras. A footnote counts
    the rows whose interval contains the prediction.

    Args:
        rows: :class:`ComparisonRow` objects or flat mappings (the latter need ``param_names``).
        param_names, extra_names: as in :func:`comparison_table`.
        precision: decimals of the numbers.
        note: a header line printed above the table (e.g. ``"quick preset: ..."``).
    """
    if int(precision) != precision or precision < 0:
        raise ValueError(f"precision must be an integer >= 0, got {precision!r}")
    rows = _as_rows(rows, param_names)
    pn, en = _resolve_names(rows, param_names, extra_names)
    header = [
        *pn,
        "phase",
        "quantity",
        "predicted",
        "measured",
        "ci_low",
        "ci_high",
        "meas-pred",
        "out",
        *en,
    ]
    numeric = {*pn, "predicted", "measured", "ci_low", "ci_high", "meas-pred"}
    body = []
    for r in rows:
        flag = {True: "", False: "*", None: "?"}[r.within_ci] if r.determined else "~"
        cells = [f"{v:g}" if isinstance(v, float) else v for v in (r.params[k] for k in pn)]
        cells += [r.phase, r.quantity]
        cells += [_fmt_num(v, precision) for v in (r.predicted, r.measured, r.ci_low, r.ci_high)]
        cells += [_fmt_num(r.deviation, precision), flag]
        cells += [r.extras.get(k, "") for k in en]
        body.append(cells)
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)
    ]

    def line(cells):
        out = []
        for h, c, w in zip(header, cells, widths, strict=True):
            out.append(c.rjust(w) if h in numeric else c.ljust(w))
        return "  ".join(out).rstrip()

    lines = [f"[{note}]"] if note else []
    lines += [line(header), "  ".join("-" * w for w in widths)]
    lines += [line(b) for b in body]
    s = summarize(rows)
    undetermined = f", {s.n_undetermined} not determined (~)" if s.n_undetermined else ""
    lines.append(
        f"{s.n_within_ci}/{s.n_with_ci} predictions inside the interval"
        f" (* outside, ? no interval{undetermined}); max |meas-pred| = "
        f"{_fmt_num(s.max_abs_deviation, precision)}"
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class ComparisonSummary:
    """Counts and deviations over a set of comparisons (see :func:`summarize`).

    Attributes:
        n_rows: rows summarised.
        n_with_ci: rows with a finite interval and a prediction.
        n_within_ci: of those, rows whose interval contains the prediction.
        n_undetermined: rows whose interval is wider than ``|predicted|`` (not counted above).
        fraction_within_ci: ``n_within_ci / n_with_ci`` (NaN if no interval).
        max_abs_deviation, mean_abs_deviation: of ``measured − predicted`` over rows where both
            are finite (NaN if none).
        worst: label of the row with the largest ``|measured − predicted|`` ("" if none).
    """

    n_rows: int
    n_with_ci: int
    n_within_ci: int
    fraction_within_ci: float
    max_abs_deviation: float
    mean_abs_deviation: float
    worst: str
    n_undetermined: int = 0

    def __str__(self) -> str:
        return (
            f"{self.n_within_ci}/{self.n_with_ci} predictions inside the interval"
            f" ({self.fraction_within_ci:.0%}), max |meas-pred| = {self.max_abs_deviation:.4g}"
            f" ({self.worst}), mean |meas-pred| = {self.mean_abs_deviation:.4g}, {self.n_rows} rows"
        )


def _label(r: ComparisonRow) -> str:
    params = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.params.items()
    )
    phase = f" {r.phase}" if r.phase else ""
    return f"{r.quantity} at ({params}){phase}"


def _summary(rows: list[ComparisonRow]) -> ComparisonSummary:
    with_ci = [r for r in rows if r.within_ci is not None]
    inside = sum(bool(r.within_ci) for r in with_ci)
    devs = [(abs(r.deviation), r) for r in rows if math.isfinite(r.deviation)]
    if devs:
        worst_dev, worst = max(devs, key=lambda t: t[0])
        mean_dev = sum(d for d, _ in devs) / len(devs)
        label = _label(worst)
    else:
        worst_dev = mean_dev = math.nan
        label = ""
    return ComparisonSummary(
        n_rows=len(rows),
        n_with_ci=len(with_ci),
        n_within_ci=inside,
        fraction_within_ci=inside / len(with_ci) if with_ci else math.nan,
        max_abs_deviation=worst_dev,
        mean_abs_deviation=mean_dev,
        worst=label,
        n_undetermined=sum(not r.determined for r in rows),
    )


def summarize(
    rows: Iterable[Any], *, by: str | None = None, param_names: Sequence[str] | None = None
) -> ComparisonSummary | dict[str, ComparisonSummary]:
    """Summarise comparisons: how many predictions fall inside the intervals, and deviations.

    Args:
        rows: :class:`ComparisonRow` objects or flat mappings (the latter need ``param_names``).
        by: ``None`` for one summary, or ``"phase"``/``"quantity"``/an extra column name for a
            dict ``value -> summary`` (in first-seen order).
        param_names: needed only for mapping rows.

    Returns:
        :class:`ComparisonSummary`, or a dict of them when ``by`` is given.
    """
    rows = _as_rows(rows, param_names)
    if by is None:
        return _summary(rows)
    if by in ("phase", "quantity"):
        key = lambda r: getattr(r, by)  # noqa: E731
    elif any(by in r.extras for r in rows) or any(by in r.params for r in rows):
        key = lambda r: str(r.extras.get(by, r.params.get(by, "")))  # noqa: E731
    else:
        raise ValueError(f"by must be 'phase', 'quantity', a parameter or an extra, got {by!r}")
    groups: dict[str, list[ComparisonRow]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    return {k: _summary(v) for k, v in groups.items()}
