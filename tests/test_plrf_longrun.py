"""Long runs of the training recursion and the d → ∞ time exponents (theory.plrf_longrun)."""

import math

import numpy as np
import pytest

from simulations.plrf import limits, training, training_analysis, training_plots, training_wfree
from theory import plrf as P
from theory import plrf_longrun as L
from theory import plrf_training as T


def _wfree(a, b, d):
    spec = P.continuum_spectrum(a, b, d, 4 * d, **limits.FRONTIER_SPECTRUM)
    return spec, float(P.learning_rate(a, 4 * d, 0.5))


@pytest.mark.parametrize(
    "opt",
    [
        T.Optimizer(),
        T.Optimizer("heavy_ball", 0.9),
        T.Optimizer("nesterov", 0.9),
        T.Optimizer("dana", delta=T.dana_delta(0.7, 1.0), gamma3=0.2, decay=1 / 1.4),
        T.Optimizer("dana", gamma3=0.2, d=256),
    ],
    ids=lambda o: o.label(),
)
def test_long_run_is_the_recursion(opt):
    # Same recursion, coefficients computed in the loop: equal to rounding at every checkpoint.
    spec, gamma = _wfree(0.7, 1.0, 256)
    gamma *= 1.0 - opt.momentum
    steps = np.concatenate([[0], np.unique(np.geomspace(1, 5000, 25).astype(np.int64))])
    ref = T.expected_loss_trained(spec, gamma, 1, steps, optimizer=opt)
    new = L.momentum_loss_at(spec, gamma, steps, opt)
    np.testing.assert_allclose(new, ref, rtol=1e-12)


def test_time_exponents_by_hand():
    # (α, β) = (1, 2): F_pp (2α+2β−1)/(2α) = 5/2, noise 2 − 1/(2α) = 3/2; DANA k = 3/2.
    assert L.time_exponents(1.0, 2.0) == {"F_pp": 2.5, "noise": 1.5, "dominant": 1.5}
    assert L.dana_time_power(1.0) == 1.5 and L.dana_time_power(0.4) == 1.0
    dana = L.time_exponents(1.0, 2.0, L.dana_time_power(1.0))
    assert dana == {"F_pp": 3.75, "noise": 2.25, "dominant": 2.25}
    # (1, 0.7): the population term dominates (1.2 < 1.5).
    assert L.time_exponents(1.0, 0.7)["dominant"] == pytest.approx(1.2)
    with pytest.raises(ValueError, match="alpha"):
        L.time_exponents(0.4, 1.0)
    with pytest.raises(ValueError, match="time_power"):
        L.time_exponents(1.0, 1.0, time_power=0.0)


def test_dana_outscales_sgd_in_time_at_huge_d():
    # d = 2^40: the d-limited terms (F0 ≈ d^(−2α), F_ac ≈ d^(−1) r^(−1/2)) stay far below the
    # d-free ones up to 10^6 steps, so the last-decade slope is the time exponent. It is exact
    # (no sampling error); DANA approaches its asymptote 2.25 from below (measured 2.19 over
    # [10^5, 10^6], 2.23 at 5·10^6), SGD sits on 1.5 from 10^3 steps on. DANA with its
    # momentum step broken (γ̃3 = 0: plain SGD) gives 1.5 and fails the first assertion.
    a, b = 1.0, 2.0
    spec, gamma = _wfree(a, b, 2**40)
    steps = np.unique(np.geomspace(1, 1e6, 81).astype(np.int64))
    slopes = {}
    for name, opt in {
        "sgd": T.Optimizer(),
        "dana": T.Optimizer("dana", delta=T.dana_delta(a, b), gamma3=0.2, decay=0.5),
    }.items():
        excess = L.momentum_loss_at(spec, gamma, steps, opt) - float(spec.p_star)
        slopes[name] = [
            training_analysis.time_slope(steps, excess, lo, 10 * lo) for lo in (1e4, 1e5)
        ]
    assert slopes["dana"][1] == pytest.approx(2.25, abs=0.1)
    assert slopes["dana"][1] > slopes["dana"][0]  # still rising toward the asymptote
    assert slopes["sgd"][1] == pytest.approx(1.5, abs=0.01)


def test_long_run_refuses_bad_input_before_running():
    spec, gamma = _wfree(1.0, 0.7, 64)
    with pytest.raises(ValueError, match="sorted"):
        L.momentum_loss_at(spec, gamma, np.array([5, 3]))
    with pytest.raises(ValueError, match="integer"):
        L.momentum_loss_at(spec, gamma, np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="optimizer"):
        L.momentum_loss_at(spec, gamma, np.array([1, 2]), optimizer="dana")
    with pytest.raises(ValueError, match="learning_rate"):
        L.momentum_loss_at(spec, -1.0, np.array([1, 2]))
    with pytest.raises(ValueError, match="unstable"):
        L.momentum_loss_at(spec, gamma, np.array([1, 10**9]), T.Optimizer("dana", gamma3=100.0))


def test_time_slope_and_rows():
    steps = np.unique(np.geomspace(1, 1e5, 101).astype(np.int64))
    assert training_analysis.time_slope(steps, 3.0 * steps**-1.7, 1e4, 1e5) == pytest.approx(1.7)
    assert math.isnan(training_analysis.time_slope(steps, steps**-1.0, 2e5, 3e5))
    cfg = training.TrainingConfig(time_log2_d=40.0, time_steps=3000, plane=((1.0, 2.0),))
    times = {
        (1.0, 2.0, n): training_wfree.wfree_time_curve(cfg, o, 1.0, 2.0)
        for n, o in cfg.optimizers(1.0, 2.0).items()
        if n in ("sgd", "dana")
    }
    rows = training_analysis.time_rows({"times": times}, cfg)
    got = {(r.params["procedure"], r.quantity): r for r in rows}
    assert got[("sgd", "time_exponent")].predicted == 1.5
    assert got[("dana", "time_exponent")].predicted == 2.25
    gain = got[("dana", "time_exponent_gain")]
    assert gain.predicted == pytest.approx(0.75) and gain.measured > 0.0
    assert got[("dana", "time_exponent")].extras["verdict"] in ("settled", "still moving")
    fig = training_plots.time_exponents_figure(times)  # one panel, SGD and DANA lines + asymptotes
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert len(ax.get_lines()) == 4


def test_long_dana_frontier_outscales_sgd():
    # Sizes 2^8 … 2^11.5 at (α, β) = (1, 0.7), DANA runs ≤ 3·(d²/γ)^(2/3) ≈ 4·10^5 steps: the
    # frontier is exact (no sampling). Measured here: η_SGD 0.703 (table 0.706), η_DANA 0.81,
    # gain +0.11 (prediction +0.172, reached at d ≥ 2^16: η_DANA 0.875). DANA with γ̃3 = 0
    # would be SGD (gain 0) and fail; SGD's η must match its own table within the finite-size
    # drift measured over these sizes (0.003).
    cfg = training.TrainingConfig(dana_sizes=(8.0, 11.5), plane=((1.0, 0.7),))
    tabs = training_wfree.long_frontier_tables(cfg, 1.0, 0.7)
    long = {(1.0, 0.7, n): t for n, t in tabs.items()}
    rows = {
        (r.params["procedure"], r.quantity): r for r in training_analysis.frontier_rows(long, True)
    }
    assert rows[("sgd", "eta")].measured == pytest.approx(12 / 17, abs=0.01)
    gain = rows[("dana", "eta_gain")]
    assert gain.predicted == pytest.approx(0.878 - 0.706, abs=1e-3)
    assert 0.08 < gain.measured < gain.predicted
    assert rows[("dana", "eta")].params["setting"].endswith("(long)")
    with pytest.raises(ValueError, match="dana_sizes"):
        training.TrainingConfig(dana_sizes=(8.0, 9.0)).validate()
