"""The house style shared by every model's figures (matplotlib only; never sets a backend).

What every figure of the library follows:

* **sizes**: :data:`ONE_COLUMN` (3.4 in) and :data:`TWO_COLUMN` (7.0 in) wide, the widths of a
  one- and a two-column paper figure; :func:`new_figure` builds a constrained-layout
  :class:`~matplotlib.figure.Figure` of one of them (not registered with pyplot);
* **type**: the rc settings :data:`STYLE` (8 pt text, TeX-style mathtext), applied by decorating
  each figure function with :func:`styled` (or ``with style():``);
* **marks**: theory as lines (:func:`theory_line`), simulation as markers with error bars
  (:func:`sim_points`, bars kept inside a log axis), exponents typeset as ``$N^{-1}$``
  (:func:`power_label`), numbers beside points placed so that no two labels overlap, with a leader
  line when a label had to move away from its point (:func:`value_labels`), integer sizes as tick
  labels on short log axes (:func:`size_ticks`);
* **quick preset**: :func:`stamp` writes :data:`QUICK_NOTE` in a strip of its own at the bottom;
* **files**: :func:`save` writes the PNG and the PDF of a figure, the one way every command and
  paper figure writes one.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.ticker import FixedLocator, LogFormatterSciNotation, NullFormatter, NullLocator
from matplotlib.transforms import Bbox

__all__ = [
    "ONE_COLUMN",
    "QUICK_NOTE",
    "STYLE",
    "TWO_COLUMN",
    "legend_below",
    "new_figure",
    "power_label",
    "save",
    "sim_points",
    "size_ticks",
    "sparse_log_labels",
    "stamp",
    "style",
    "styled",
    "theory_line",
    "value_labels",
]

#: What every table and figure of a quick-preset run says about itself.
QUICK_NOTE = "quick preset: small sizes, exponents biased"

#: Width (inches) of a one-column paper figure.
ONE_COLUMN = 3.4
#: Width (inches) of a two-column (full-width) paper figure.
TWO_COLUMN = 7.0

#: The rc settings of every figure (sizes in points, for figures 3.4 or 7.0 inches wide).
STYLE: dict[str, Any] = {
    "font.size": 8.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 6.5,
    "legend.title_fontsize": 7.0,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "0.8",
    "legend.borderaxespad": 0.4,
    "legend.handlelength": 1.8,
    "figure.titlesize": 9.0,
    "figure.dpi": 100.0,
    "axes.linewidth": 0.6,
    "axes.titlepad": 4.0,
    "axes.formatter.use_mathtext": True,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.0,
    "errorbar.capsize": 2.0,
    "mathtext.fontset": "dejavusans",
    "pdf.fonttype": 42,
    "image.cmap": "viridis",
}

#: Resolution of the PNG files (pixels per inch): a two-column figure is 1400 px wide.
PNG_DPI = 200

_STAMP_GID = "solvable-quick-stamp"
_STAMP_STRIP = 0.2  # inches kept free at the bottom of a stamped figure


@contextmanager
def style() -> Iterator[None]:
    """Context in which figures are built in the house style (:data:`STYLE`)."""
    with mpl.rc_context(STYLE):
        yield


def styled[F: Callable[..., Any]](func: F) -> F:
    """Decorator: build the figure of ``func`` inside :func:`style`; a returned figure gets
    sparse minor labels on its log axes (:func:`sparse_log_labels`)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with style():
            out = func(*args, **kwargs)
        if isinstance(out, Figure):
            sparse_log_labels(out)
        return out

    return wrapper  # type: ignore[return-value]


class _SparseLogMinor(LogFormatterSciNotation):
    """Minor labels of a log axis: only at 2 and 5 × 10^k, and only when the view spans less
    than a decade (matplotlib's default labels 2, 3, 4, 6, ... which run together)."""

    def __call__(self, x, pos=None):
        vmin, vmax = sorted(self.axis.get_view_interval())
        if not (vmin > 0 and x > 0) or math.log10(vmax / vmin) >= 1.0:
            return ""
        exponent = math.floor(math.log10(x) + 1e-9)
        mantissa = x / 10.0**exponent
        if not any(math.isclose(mantissa, k, rel_tol=1e-6) for k in (2.0, 5.0)):
            return ""
        return f"$\\mathdefault{{{mantissa:g}\\times10^{{{exponent}}}}}$"


def sparse_log_labels(fig: Figure) -> Figure:
    """Give every log axis of ``fig`` (subfigures included) whose minor labels are
    matplotlib's default the sparse ones of :class:`_SparseLogMinor`; returns ``fig``."""
    for ax in fig.findobj(Axes):
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log" and type(axis.get_minor_formatter()) is LogFormatterSciNotation:
                axis.set_minor_formatter(_SparseLogMinor())
    return fig


def _width(width: str | float) -> float:
    if width in ("one", "two"):
        return ONE_COLUMN if width == "one" else TWO_COLUMN
    if isinstance(width, str) or not width > 0:
        raise ValueError(f"width must be 'one', 'two' or a positive number (inches), got {width!r}")
    return float(width)


def new_figure(width: str | float = "two", height: float | None = None) -> Figure:
    """A constrained-layout figure ``width`` wide (``"one"``: :data:`ONE_COLUMN`, ``"two"``:
    :data:`TWO_COLUMN`, or inches) and ``height`` inches high (default: 0.75 × width for one
    column, 0.45 × width for two). Not registered with pyplot: save it with :func:`save`."""
    w = _width(width)
    h = float(height) if height is not None else (0.75 if w <= ONE_COLUMN else 0.45) * w
    if not h > 0:
        raise ValueError(f"height must be a positive number of inches, got {height!r}")
    return Figure(figsize=(w, h), layout="constrained")


def power_label(base: str, exponent: float | str, *, prefix: str = "", digits: int = 3) -> str:
    """``$N^{-1}$``-style TeX label of ``base`` to the power ``exponent`` (a number, printed
    with up to ``digits`` significant digits, or TeX text such as ``-\\alpha``)."""
    exp = exponent if isinstance(exponent, str) else f"{float(exponent):.{digits}g}"
    return f"${prefix}{base}^{{{exp}}}$"


def theory_line(ax: Axes, x, y, *, label: str | None = None, color="k", ls="-", lw=1.0, **kw):
    """Draw a theory curve: a line, no markers (``ls`` ``"--"``/``":"`` for further curves)."""
    return ax.plot(x, y, ls=ls, color=color, lw=lw, label=label, **kw)[0]


def sim_points(ax: Axes, x, y, err=None, *, label: str | None = None, color=None, marker="o", **kw):
    """Draw simulation results: markers with error bars, no connecting line.

    ``err``: symmetric half-widths or a ``(2, n)`` array (lower, upper). On a log y axis a lower
    end at or below zero is drawn down to a tenth of the value (a bar may not run off a log
    axis); NaN values are skipped. Returns the errorbar container.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if err is not None:
        err = np.abs(np.asarray(err, dtype=float))
        lo, hi = (err[0], err[1]) if err.ndim == 2 else (err, err)
        if ax.get_yscale() == "log":
            lo = np.where(y - lo > 0, lo, 0.9 * y)
        err = np.array([lo, hi])
    kw.setdefault("ms", mpl.rcParams["lines.markersize"])
    return ax.errorbar(x, y, yerr=err, fmt=marker, color=color, label=label, ls="none", **kw)


def legend_below(ax: Axes, *, fontsize: float = 5.5, **kw):
    """A legend centred under the axes, below its tick and axis labels (the layout makes room):
    for panels too small to hold their legend."""
    below = (STYLE["xtick.labelsize"] + STYLE["axes.labelsize"] + 22.0) / fontsize  # font units
    return ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=below, fontsize=fontsize, **kw
    )


def size_ticks(ax: Axes, values: Sequence[float], axis: str = "x", *, max_ticks: int = 6) -> None:
    """Label a log axis at the given sizes (e.g. the swept N), at most ``max_ticks`` of them
    (every k-th), as plain numbers, with no minor labels (which run together on a short axis)."""
    vals = np.unique(np.asarray(values, dtype=float))
    vals = vals[np.isfinite(vals) & (vals > 0)]
    step = max(1, math.ceil(vals.size / max_ticks))
    ticks = vals[::step]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_locator(NullLocator())
    target.set_minor_formatter(NullFormatter())


class _LabelPlacer(Artist):
    """Moves its annotations, at draw time (the layout is final then), to the first offset
    around each point where the text box stays inside the axes and overlaps no other label, no
    marker and no other text of the axes; a label moved further than the first ring gets a
    leader line."""

    RADII = (5.0, 10.0, 16.0, 24.0, 34.0, 46.0)  # points
    ANGLES = (35, 145, -35, -145, 0, 180, 90, -90, 65, 115, -65, -115)  # degrees

    def __init__(self, annotations: list[Annotation], xy: np.ndarray, marker_pt: float):
        super().__init__()
        self.annotations, self.xy, self.marker_pt = annotations, xy, marker_pt
        self.set_in_layout(False)
        self.set_zorder(-1e6)  # runs before its annotations are drawn

    def draw(self, renderer) -> None:
        ax = self.axes
        px = renderer.points_to_pixels(1.0)
        inside = ax.get_window_extent(renderer).padded(-2 * px)
        pts = ax.transData.transform(self.xy)
        r = 0.5 * self.marker_pt * px
        taken = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in pts]
        ours = set(map(id, self.annotations))
        for t in ax.texts:
            if id(t) not in ours and t.get_visible() and t.get_text():
                taken.append(Text.get_window_extent(t, renderer))
        for k, ann in enumerate(self.annotations):
            # try first the directions pointing away from the close neighbours of the point
            near = [q for j, q in enumerate(pts) if j != k and np.hypot(*(q - pts[k])) < 40 * px]
            away = pts[k] - np.mean(near, axis=0) if near else np.array([1.0, 1.0])
            heading = math.degrees(math.atan2(away[1], away[0]))
            angles = sorted(self.ANGLES, key=lambda a: -math.cos(math.radians(a - heading)))
            best, best_cost = None, math.inf
            for radius in self.RADII:
                for angle in angles:
                    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
                    ann.xyann = (radius * c, radius * s)
                    ann.set_ha("left" if c > 0.3 else "right" if c < -0.3 else "center")
                    ann.set_va("bottom" if s > 0.3 else "top" if s < -0.3 else "center")
                    ann.update_positions(renderer)
                    box = Text.get_window_extent(ann, renderer).padded(1.5 * px)
                    cost = sum(_area(box, b) for b in taken) + 10 * (
                        box.width * box.height - _area(box, inside)
                    )
                    if cost < best_cost:
                        best, best_cost = (radius, angle), cost
                    if cost == 0:
                        break
                if best_cost == 0:
                    break
            radius, angle = best
            c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            ann.xyann = (radius * c, radius * s)
            ann.set_ha("left" if c > 0.3 else "right" if c < -0.3 else "center")
            ann.set_va("bottom" if s > 0.3 else "top" if s < -0.3 else "center")
            if ann.arrow_patch is not None:
                ann.arrow_patch.set_visible(radius > self.RADII[0])
            ann.update_positions(renderer)
            taken.append(Text.get_window_extent(ann, renderer))


def _area(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def value_labels(
    ax: Axes, x, y, texts: Sequence[str], *, marker_pt: float = 8.0, fontsize: float = 6.0, **kw
) -> list[Annotation]:
    """Write ``texts[i]`` beside the point ``(x[i], y[i])`` so that no two labels overlap each
    other, a marker (``marker_pt``: marker diameter in points) or another text of ``ax``, and
    every label stays inside the axes; labels that had to move away get a grey leader line.
    The placement runs when the figure is drawn (after the layout). Returns the annotations."""
    xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    if len(texts) != len(xy):
        raise ValueError(f"texts must have one entry per point ({len(xy)}), got {len(texts)}")
    arrow = dict(arrowstyle="-", lw=0.5, color="0.45", shrinkA=0.5, shrinkB=marker_pt / 2)
    anns = [
        ax.annotate(
            t,
            xy=p,
            xytext=(5, 5),
            textcoords="offset points",
            fontsize=fontsize,
            arrowprops=arrow,
            **kw,
        )
        for t, p in zip(texts, xy, strict=True)
    ]
    ax.add_artist(_LabelPlacer(anns, xy, marker_pt))
    return anns


def stamp(fig: Figure, note: str) -> Figure:
    """Write ``note`` (e.g. :data:`QUICK_NOTE`) in a strip kept free for it at the bottom left
    of ``fig`` (the layout of the axes moves up to make room; the figure keeps its size).

    A no-op for an empty note; stamping again replaces the note; returns ``fig`` so calls chain.
    """
    if not note:
        return fig
    for t in fig.texts:
        if t.get_gid() == _STAMP_GID:
            t.set_text(note)
            return fig
    frac = min(0.2, _STAMP_STRIP / fig.get_figheight())
    engine = fig.get_layout_engine()
    if engine is None:
        fig.set_layout_engine("constrained")
        engine = fig.get_layout_engine()
    engine.set(rect=(0.0, frac, 1.0, 1.0 - frac))
    fig.text(
        0.005, 0.3 * frac, note, fontsize=7, color="#b35900", ha="left", va="bottom",
        style="italic", gid=_STAMP_GID,
    )  # fmt: skip
    return fig


def save(fig: Figure, path: str | Path, *, dpi: int = PNG_DPI) -> list[Path]:
    """Write ``fig`` as PNG (``dpi``) and PDF: ``path`` with or without the ``.png``/``.pdf``
    suffix; returns ``[png, pdf]``. The PDF carries no creation date (same figure, same bytes)."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".png", ".pdf") else path
    png, pdf = base.with_name(base.name + ".png"), base.with_name(base.name + ".pdf")
    with style():
        fig.savefig(png, dpi=dpi)
        fig.savefig(pdf, metadata={"CreationDate": None})
    return [png, pdf]
