"""Figures of the PLRF training-procedure studies (functions returning Figures; house style of
:mod:`simulations.plotting`): loss curves per procedure (theory lines, SGD markers), the best
schedule's shape vs horizon, the collapse of rescaled curves, the exponent-gain map of
momentum/DANA, and the critical batch size vs target loss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from simulations.compare import ComparisonRow
from simulations.plotting import (
    legend_below,
    new_figure,
    sim_points,
    styled,
    theory_line,
    value_labels,
)
from simulations.plrf.training_analysis import sgd_critical_batch, time_slope
from theory import plrf_longrun as longrun

__all__ = [
    "batch_figure",
    "collapse_figure",
    "exponent_gain_map",
    "procedure_curves",
    "schedule_shape",
    "time_exponents_figure",
]


@styled
def procedure_curves(ds, labels: Sequence[str], *, title: str = "") -> Figure:
    """Loss vs step per procedure: the exact recursion on each seed's W (mean over seeds, line)
    and SGD (mean ± standard error over seeds, markers)."""
    fig = new_figure("one", 2.8)
    ax = fig.add_subplot()
    ax.set(xscale="log", yscale="log", xlabel="step $r$", ylabel="population loss $P(r)$")
    steps = np.asarray(ds["checkpoint"].values, np.float64)
    colors = [f"C{i}" for i in range(len(labels))]
    for i, (label, color) in enumerate(zip(labels, colors)):
        sim = np.asarray(ds["loss"].isel(point=i).values, np.float64)
        th = np.asarray(ds["expected_loss"].isel(point=i).values, np.float64)
        keep = np.all(np.isfinite(sim), axis=1)
        x = np.where(steps > 0, steps, np.nan)
        theory_line(ax, x, np.nanmean(th, 0), color=color, label=label)
        se = np.std(sim[keep], 0, ddof=1) / np.sqrt(max(keep.sum(), 1))
        sim_points(ax, x[::2], np.mean(sim[keep], 0)[::2], se[::2], color=color, ms=2.5)
    ax.legend(title="lines: theory, markers: SGD", loc="lower left")
    if title:
        ax.set_title(title)
    return fig


@styled
def schedule_shape(scan: Mapping[float, Mapping[str, float]], d: int) -> Figure:
    """Final loss (relative to the constant step) vs WSD decay fraction and vs power-decay
    exponent, one line per horizon: where the optimal schedule sits as the horizon grows."""
    fig = new_figure("two", 2.6)
    ax_w, ax_p = fig.subplots(1, 2)
    for k, (h, row) in enumerate(scan.items()):
        for ax, prefix in ((ax_w, "wsd:"), (ax_p, "power:")):
            keys = [key for key in row if key.startswith(prefix)]
            x = np.array([float(key.split(":")[1]) for key in keys])
            y = np.array([row[key] / row["constant"] for key in keys])
            theory_line(ax, x, y, color=f"C{k}", label=f"horizon {h:g}·$d^{{2\\alpha}}/\\gamma$")
            j = int(np.argmin(y))
            ax.plot(x[j], y[j], "o", color=f"C{k}", ms=4)
    ax_w.set(xlabel="WSD decay fraction", ylabel="final loss / constant step", title=f"d = {d}")
    ax_p.set(xlabel="power-decay exponent $p$", yscale="log", title="$(1 + r)^{-p}$")
    ax_w.axhline(1.0, color="0.6", lw=0.6)
    ax_p.axhline(1.0, color="0.6", lw=0.6)
    ax_w.legend()
    return fig


@styled
def collapse_figure(collapse: Mapping[str, Sequence[tuple]]) -> Figure:
    """Loss curves of several sizes, each run for ``d^(2α)/γ`` steps, as ``P(r)/P(n)`` vs
    ``r/n``: curves on top of each other collapse (Qiu et al., arXiv 2507.02119)."""
    fig = new_figure("two", 2.6)
    axes = fig.subplots(1, len(collapse), squeeze=False)[0]
    for ax, (label, per_size) in zip(axes, collapse.items()):
        for k, (d, u, curve, _) in enumerate(per_size):
            theory_line(ax, u, curve / curve[-1], color=f"C{k}", label=f"d = {d}")
        ax.set(yscale="log", xlabel="fraction of the run $r/n$", ylabel="$P(r)/P(n)$", title=label)
    axes[0].legend()
    return fig


@styled
def exponent_gain_map(rows: Sequence[ComparisonRow]) -> Figure:
    """Gain of η over SGD (``η − η_SGD``) at each (α, β), per optimizer: colour and first label
    the measured gain, the label in brackets the predicted one (DANA: our reading of arXiv
    2505.16098, :func:`theory.plrf_training.dana_exponents`; heavy ball: 0)."""
    gains = [r for r in rows if r.quantity == "eta_gain"]
    names = sorted({str(r.params["procedure"]) for r in gains})
    fig = new_figure("two", 2.8)
    axes = fig.subplots(1, max(len(names), 1), squeeze=False)[0]
    for ax, name in zip(axes, names):
        sel = [r for r in gains if r.params["procedure"] == name]
        a = np.array([r.params["alpha"] for r in sel], float)
        b = np.array([r.params["beta"] for r in sel], float)
        g = np.array([r.measured for r in sel], float)
        p = np.array([r.predicted for r in sel], float)
        sc = ax.scatter(a, b, c=g, cmap="coolwarm", vmin=-0.3, vmax=0.3, s=40)
        value_labels(ax, a, b, [f"{x:+.3f} ({y:+.3f})" for x, y in zip(g, p)])
        ax.set(xlabel=r"$\alpha$", ylabel=r"$\beta$",
               title=f"{name}: $\\eta - \\eta_{{SGD}}$ measured (predicted)")  # fmt: skip
        ax.margins(0.3)
        fig.colorbar(sc, ax=ax, shrink=0.8)
    return fig


@styled
def time_exponents_figure(times: Mapping[tuple[float, float, str], tuple]) -> Figure:
    """Local time exponent ``−d log(P − P*)/d log r`` (slope over half a decade either side) of
    each long W-free run (:func:`simulations.plrf.training_wfree.wfree_time_curve`), one panel per
    (α, β): SGD and DANA-decaying as lines, their predicted asymptotes
    (:func:`theory.plrf_longrun.time_exponents`; DANA: our reading of arXiv 2505.16098) dotted."""
    points = sorted({(a, b) for a, b, _ in times})
    cols = min(3, max(len(points), 1))
    rows = -(-max(len(points), 1) // cols)
    fig = new_figure("two", 2.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(points) :]:
        ax.set_visible(False)
    for ax, (a, b) in zip(axes, points):
        for k, name in enumerate(("sgd", "dana")):
            if (a, b, name) not in times:
                continue
            steps, excess = times[(a, b, name)]
            r = np.asarray(steps, float)
            mid = r[(r >= 10 * r[0]) & (r <= r[-1] / 3.2)]
            slope = [time_slope(r, excess, m / 3.2, m * 3.2) for m in mid]
            theory_line(ax, mid, slope, color=f"C{k}", label=name)
            power = longrun.dana_time_power(a) if name == "dana" else 1.0
            ax.axhline(longrun.time_exponents(a, b, power)["dominant"], color=f"C{k}", ls=":")
        ax.set(xscale="log", xlabel="step r", title=f"(α, β) = ({a:g}, {b:g})")
        ax.set_ylabel("local time exponent")
        legend_below(ax, ncols=2)
    return fig


@styled
def batch_figure(data: Mapping[str, Any], factor: float) -> Figure:
    """Left: steps-to-target vs batch per target (largest W-free size, theory); middle: B* vs
    target per size (theory lines) with SGD's B* at ``sgd_d`` (markers, bootstrap 95% interval);
    right: SGD steps-to-target vs B (markers with intervals) beside the exact recursion on the
    same seeds' W (lines)."""
    fig = new_figure("two", 2.6)
    ax_s, ax_b, ax_g = fig.subplots(1, 3)
    for ax in (ax_b, ax_g):
        ax.set(xscale="log", yscale="log")
    batches = np.asarray(data["batches"], float)
    sizes = list(data["sizes"])
    last = data["sizes"][sizes[-1]]
    for k, (tau, (b_star, steps)) in enumerate(last["targets"].items()):
        s = np.where(steps >= 0, steps, np.nan).astype(float)
        theory_line(ax_s, batches, s, color=f"C{k}", label=f"τ = {tau:g}")
        if b_star > 0:
            ax_s.plot(b_star, s[list(batches).index(b_star)], "o", color=f"C{k}", ms=4)
    ax_s.set(xscale="log", yscale="log", xlabel="batch $B$", ylabel="steps to target",
             title=f"theory d = {sizes[-1]} (dot: $B^*$, {factor:g}× of best)")  # fmt: skip
    ax_s.legend()
    for k, d in enumerate(sizes):
        taus = np.array(list(data["sizes"][d]["targets"]), float)
        bs = np.array([v[0] for v in data["sizes"][d]["targets"].values()], float)
        ok = bs > 0
        theory_line(ax_b, taus[ok], bs[ok], color=f"C{k}", label=f"d = {d}", marker="o", ms=3)
    if "sgd" in data:
        res = sgd_critical_batch(data["sgd"], factor)
        taus = np.array(list(res), float)
        bs = np.array([r["b_star_sgd"] for r in res.values()], float)
        lo = np.array([r["b_star_lo"] for r in res.values()], float)
        hi = np.array([r["b_star_hi"] for r in res.values()], float)
        th = np.array([r["b_star_theory"] for r in res.values()], float)
        d_sgd = data["sgd"]["d"]
        theory_line(ax_b, taus, th, color="k", label=f"d = {d_sgd} (W per seed)", ls=":")
        err = np.clip(np.vstack([bs - lo, hi - bs]), 0, None)
        sim_points(ax_b, taus, bs, err, color="k", ms=4,
                   label=f"SGD d = {d_sgd}")  # fmt: skip
        for k, (tau, r) in enumerate(res.items()):
            x = r["batches"].astype(float)
            theory_line(ax_g, x, r["theory_steps"], color=f"C{k}", label=f"τ = {tau:g}")
            err = np.vstack([r["sgd_steps"] - r["sgd_lo"], r["sgd_hi"] - r["sgd_steps"]])
            sim_points(ax_g, x, r["sgd_steps"], np.clip(err, 0, None), color=f"C{k}", ms=3)
        ax_g.set(xlabel="batch $B$", ylabel="steps to target",
                 title=f"SGD d = {d_sgd} (markers) vs recursion")  # fmt: skip
        ax_g.legend()
    ax_b.set(xlabel="target τ (P* + τ(P(0) − P*))",
             ylabel="critical batch $B^*$")  # fmt: skip
    ax_b.invert_xaxis()
    ax_b.legend()
    return fig
