"""The large-d path of the PLRF phase diagram: W-free expected-loss curves over a size ladder.

Paquette, Paquette, Xiao, Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws",
arXiv 2405.15074, §2: the expected SGD loss is the solution of a Volterra equation whose forcing
and kernel depend on ``W`` only through the spectrum of ``K̂ = WᵀDW``. Its deterministic
equivalent, computed by :func:`theory.plrf.continuum_spectrum` at a cost independent of ``d``,
gives the d → ∞-concentrated loss curve of every size, so the compute-optimal frontier can be
measured over ``d = 2^6 … 2^32`` and beyond, where realised ``W`` (``O(d³)`` per run, 16·v·d bytes)
stop near ``d = 2^13``. The realised-W curves (:func:`simulations.plrf.experiment.run_phase_sweep`)
remain the cross-check at small ``d``.

:func:`size_ladder` gives the sizes, :func:`wfree_steps` the checkpoints of one size,
:func:`wfree_curves` the curves of one ``(α, β)``; :func:`cached_wfree_curves` stores them per
point (a rerun reuses what matches its settings exactly and recomputes anything else).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulations import fit
from theory import plrf as theory_plrf
from theory.checks import check_float, check_int

__all__ = [
    "FRONTIER_SPECTRUM",
    "WFreeCurves",
    "cached_wfree_curves",
    "curves_frontier",
    "size_ladder",
    "wfree_curves",
    "wfree_steps",
]

_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK  # files follow the umask (shareable), as the sweep store's do

#: Options of :func:`theory.plrf.continuum_spectrum` for frontier curves: 256 exact head terms,
#: 128 Gauss–Legendre tail panels, 256 output bins of 4 panels. Measured against the defaults
#: (head 1024, 256 panels, 512 bins of 8): compute-optimal exponents over d* = 2^10…2^20 change
#: by < 2e-5 at (α, β) = (0.2, 1) and (0.4, 0.8), at 0.05 s instead of 0.35 s per curve (the
#: Euler–Maclaurin error of the tail is ≈ p(p+1)/(24·256²) ≤ 1.3e-5 relative for p ≤ 4).
FRONTIER_SPECTRUM: Mapping[str, int] = {
    "head": 256,
    "tail_panels": 128,
    "n_grid": 256,
    "points_per_bin": 4,
}


def size_ladder(log2_min: float, log2_max: float, per_octave: int) -> tuple[int, ...]:
    """Sizes ``round(2^(k/per_octave))`` from ``2^log2_min`` to ``2^log2_max`` (distinct ints)."""
    log2_min = check_float("log2_min", log2_min, low=0.0)
    log2_max = check_float("log2_max", log2_max, low=log2_min, strict=True)
    per_octave = check_int("per_octave", per_octave, 1)
    ks = np.arange(math.ceil(log2_min * per_octave), math.floor(log2_max * per_octave) + 1)
    return tuple(int(d) for d in np.unique(np.round(2.0 ** (ks / per_octave)).astype(np.int64)))


def wfree_steps(
    alpha: float, d: int, gamma: float, batch: int, *, horizon: float, per_decade: int
) -> np.ndarray:
    """Log-spaced steps ``1 … r_max`` with ``r_max = horizon·d^(2α)/(γB)`` (SGD time
    ``t = γBr`` up to ``horizon`` × the relaxation time of the smallest eigenvalues, ``≈ d^(2α)``),
    ``per_decade`` per decade, step 0 first; float64 (integral values) beyond int64."""
    r_max = max(horizon * float(d) ** (2.0 * alpha) / (gamma * batch), 10.0)
    n = max(int(per_decade * math.log10(r_max)) + 2, 4)
    steps = np.unique(np.round(np.geomspace(1.0, r_max, n)))
    steps = np.concatenate([[0.0], steps])
    return steps.astype(np.int64) if steps[-1] <= 2.0**62 else steps


@dataclasses.dataclass(frozen=True, eq=False)
class WFreeCurves:
    """Deterministic-equivalent loss curves of one ``(α, β)`` over a size ladder.

    Attributes:
        alpha, beta: the point.
        sizes: ``(n,)`` model sizes d (float64).
        compute: ``(n, K)`` compute ``f = d·B·r`` at each checkpoint (NaN-padded; step 0 has 0).
        loss: ``(n, K)`` expected SGD loss ``P(r)`` (NaN-padded).
        p_star: ``(n,)`` limit level ``P*(d)``; kernel_norm: ``(n,)`` ``‖K‖`` at each d.
        settings: what produced them (learning-rate scale, v/d, batch, horizon, checkpoint
            density, spectrum options, package version).
    """

    alpha: float
    beta: float
    sizes: np.ndarray
    compute: np.ndarray
    loss: np.ndarray
    p_star: np.ndarray
    kernel_norm: np.ndarray
    settings: Mapping[str, Any]


def _settings(alpha, beta, sizes, v_ratio, lr_scale, batch, horizon, per_decade, spectrum):
    from simulations import __version__

    return {
        "alpha": float(alpha),
        "beta": float(beta),
        "sizes": [int(d) for d in sizes],
        "v_ratio": float(v_ratio),
        "lr_scale": float(lr_scale),
        "batch": int(batch),
        "horizon": float(horizon),
        "per_decade": int(per_decade),
        "spectrum": dict(sorted(spectrum.items())),
        "version": __version__,
    }


def wfree_curves(
    alpha: float,
    beta: float,
    sizes: Sequence[int],
    *,
    v_ratio: float = 4.0,
    lr_scale: float = 0.5,
    batch: int = 1,
    horizon: float = 30.0,
    per_decade: int = 40,
    spectrum: Mapping[str, int] = FRONTIER_SPECTRUM,
) -> WFreeCurves:
    """Expected SGD loss curves of every size, from the W-free deterministic equivalent.

    Each size ``d`` (``v = round(v_ratio·d)``, ``γ = lr_scale/Σ_(j≤v) j^(−2α)``, batch ``B``) gets
    :func:`theory.plrf.continuum_spectrum` (``spectrum`` options) and
    :func:`theory.plrf.expected_loss` at :func:`wfree_steps`. About 0.05 s per size with
    :data:`FRONTIER_SPECTRUM`, whatever ``d``. Where that spectrum does not close its mass
    (small α at large d, see :func:`theory.plrf.continuum_spectrum`) the default, finer options
    are used; where those fail too the ladder stops there (one warning; the returned ``sizes``
    are those computed). Inputs are checked first (the theory's stability
    check at the smallest and largest size: ``‖K‖ ≈ lr_scale/2`` at every d).
    """
    alpha, beta = theory_plrf.validate_parameters(alpha, beta)
    if len(sizes) < 3:
        raise ValueError(f"sizes must list at least 3 model sizes, got {len(sizes)}")
    sizes = np.array([check_int("sizes", d, 2) for d in sizes], dtype=np.int64)
    if np.any(np.diff(sizes) <= 0):
        raise ValueError("sizes must be strictly increasing")
    v_ratio = check_float("v_ratio", v_ratio, low=1.0, strict=True)
    lr_scale = check_float("lr_scale", lr_scale, low=0.0, strict=True)
    batch = check_int("batch", batch, 1)
    horizon = check_float("horizon", horizon, low=0.0, strict=True)
    per_decade = check_int("per_decade", per_decade, 2)
    for d in (int(sizes[0]), int(sizes[-1])):
        theory_plrf.check_stable(alpha, d, max(round(v_ratio * d), d + 1), batch, lr_scale=lr_scale)
    rows = []
    for d in sizes:
        v = max(round(v_ratio * int(d)), int(d) + 1)
        gamma = theory_plrf.learning_rate(alpha, v, lr_scale)
        steps = wfree_steps(alpha, int(d), gamma, batch, horizon=horizon, per_decade=per_decade)
        try:
            spec = theory_plrf.continuum_spectrum(alpha, beta, int(d), v, **spectrum)
        except RuntimeError:
            try:  # the default (finer) options hold isolated top eigenvalues further
                spec = theory_plrf.continuum_spectrum(alpha, beta, int(d), v)
            except RuntimeError as err:
                if len(rows) < 3:
                    raise
                warnings.warn(
                    f"alpha={alpha}, beta={beta}: W-free sizes stop at d={rows[-1][4]} ({err})",
                    stacklevel=2,
                )
                break
        # Pad the checkpoints to a multiple of 128 (repeating the last): the integrator is
        # compiled per length, and every size has its own.
        n = steps.size
        padded = np.concatenate([steps, np.full(-n % 128, steps[-1], dtype=steps.dtype)])
        loss = theory_plrf.expected_loss(spec, gamma, batch, padded)[:n]
        knorm = float(theory_plrf.kernel_norm(spec, gamma, batch))
        compute = float(d) * batch * steps.astype(np.float64)
        rows.append((compute, loss, float(spec.p_star), knorm, int(d)))
    sizes = sizes[: len(rows)]
    width = max(r[0].size for r in rows)
    compute = np.full((sizes.size, width), np.nan)
    loss = np.full((sizes.size, width), np.nan)
    for i, (c, l, *_) in enumerate(rows):
        compute[i, : c.size] = c
        loss[i, : l.size] = l
    return WFreeCurves(
        alpha,
        beta,
        sizes.astype(np.float64),
        compute,
        loss,
        np.array([r[2] for r in rows]),
        np.array([r[3] for r in rows]),
        _settings(alpha, beta, sizes, v_ratio, lr_scale, batch, horizon, per_decade, spectrum),
    )


# wfree_curves' own keyword defaults: the one source of the settings that key a stored file.
_WFREE_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(wfree_curves).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "spectrum"
}


def cached_wfree_curves(directory: str | os.PathLike | None, **kwargs) -> WFreeCurves:
    """:func:`wfree_curves` (same keyword arguments), stored in ``directory`` (None: not stored).

    One file per ``(α, β)`` and settings (the name carries a hash of the settings, the file the
    settings themselves): a rerun with identical settings reads it back, anything else is
    computed afresh; an unreadable file is reported in one warning line and recomputed. Files
    are written atomically, so an interrupted run leaves no partial file.
    """
    if directory is None:
        return wfree_curves(**kwargs)
    probe = dict(kwargs)
    sizes = [int(d) for d in probe.pop("sizes")]
    alpha, beta = probe.pop("alpha"), probe.pop("beta")
    spectrum = dict(probe.pop("spectrum", FRONTIER_SPECTRUM))
    defaults = dict(_WFREE_DEFAULTS)
    unknown = set(probe) - set(defaults)
    if unknown:
        raise TypeError(f"cached_wfree_curves got unexpected keyword(s) {sorted(unknown)}")
    defaults.update(probe)
    settings = _settings(alpha, beta, sizes, spectrum=spectrum, **defaults)
    text = json.dumps(settings, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(directory) / f"wfree-{alpha:g}-{beta:g}-{digest}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["settings"]) == text:
                    arrays = {k: np.asarray(z[k]) for k in ("sizes", "compute", "loss")}
                    return WFreeCurves(
                        float(alpha),
                        float(beta),
                        **arrays,
                        p_star=np.asarray(z["p_star"]),
                        kernel_norm=np.asarray(z["kernel_norm"]),
                        settings=settings,
                    )
        except Exception as err:
            warnings.warn(f"{path}: unreadable ({err}); recomputing", stacklevel=2)
    curves = wfree_curves(alpha=alpha, beta=beta, sizes=sizes, spectrum=spectrum, **defaults)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                settings=np.array(text),
                sizes=curves.sizes,
                compute=curves.compute,
                loss=curves.loss,
                p_star=curves.p_star,
                kernel_norm=curves.kernel_norm,
            )
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return curves


def curves_frontier(curves: WFreeCurves, *, budgets_per_octave: int = 8) -> fit.Frontier:
    """The compute-optimal frontier of ``curves`` (:func:`simulations.fit.
    compute_optimal_frontier`, parabola refinement in ``log d``) at ``budgets_per_octave``
    log-spaced budgets per octave of compute over its bracketed range (at least 40)."""
    compute = np.where(curves.compute > 0, curves.compute, np.nan)
    finite = compute[np.isfinite(compute)]
    octaves = math.log2(finite.max() / finite.min())
    n_budgets = max(int(budgets_per_octave * octaves), 40)
    return fit.compute_optimal_frontier(curves.sizes, compute, curves.loss, n_budgets=n_budgets)
