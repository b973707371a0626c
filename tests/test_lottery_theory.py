"""theory.lottery: approximation exponent, piecewise-linear and exact ReLU floors, ensembles,
mirror pairs, reference measurements, bad inputs (Liu & Tegmark, arXiv 2310.02258)."""

import itertools
import math

import numpy as np
import pytest
from scipy import optimize

from theory import lottery as lt


def _dense_pl_lstsq(knots, lo=-2.0, hi=2.0, target=lambda x: x**2, n=400_000):
    """Independent check: least-squares continuous PL fit on a dense midpoint grid (numpy)."""
    x = lo + (np.arange(n) + 0.5) * (hi - lo) / n
    basis = np.column_stack([np.ones_like(x), x] + [np.maximum(x - t, 0.0) for t in knots])
    coef, *_ = np.linalg.lstsq(basis, target(x), rcond=None)
    return float(np.mean((basis @ coef - target(x)) ** 2))


def test_approximation_exponent():
    assert lt.approximation_exponent(1) == 4.0
    assert lt.approximation_exponent(2) == 2.0
    assert lt.approximation_exponent(8) == 0.5


def test_piecewise_linear_floor_is_h4_over_180_and_matches_least_squares():
    # the classic bound: 1.4222/K^4 for x² on [−2, 2]
    assert lt.piecewise_linear_floor(1) == pytest.approx(256 / 180, rel=1e-15)
    assert 256 / 180 == pytest.approx(1.4222, abs=1e-4)
    ks = np.array([1, 2, 3, 5, 8])
    np.testing.assert_allclose(lt.piecewise_linear_floor(ks), 256 / 180 / ks**4, rtol=1e-14)
    # the continuous L² optimum with equal knots equals the discontinuous per-piece h⁴/180:
    # dense least squares agrees to the midpoint rule's O(n⁻²) error
    for k in (2, 3, 5):
        knots = np.linspace(-2, 2, k + 1)[1:-1]
        assert _dense_pl_lstsq(knots) == pytest.approx(lt.piecewise_linear_floor(k), rel=1e-6)
    # curvature and interval scaling: a² L⁴
    assert lt.piecewise_linear_floor(4, (0.0, 1.0), 3.0) == pytest.approx(9 / 4**4 / 180)


def test_relu_floor_even_widths_attain_the_bound():
    for n in (2, 4, 6, 16, 64):
        assert lt.relu_floor(n) == pytest.approx(lt.relu_floor_bound(n), rel=1e-13)
        assert lt.relu_best_fit(n).attains_bound
    assert lt.relu_floor_bound(3) == pytest.approx(1.4222222 / 4**4, rel=1e-7)


def test_relu_floor_odd_widths_lie_between_the_piece_bounds():
    # a ReLU net's leftmost slope is minus a sum of slope changes: one piece must be flat, and
    # the equal (N+1)-piece fit of x² on [−2, 2] has a flat piece only for even N
    expected_ratio = {1: 10.1372, 3: 1.86226, 5: 1.32536, 7: 1.17245}
    for n, ratio in expected_ratio.items():
        f = lt.relu_floor(n)
        assert f / lt.relu_floor_bound(n) == pytest.approx(ratio, rel=1e-5)
        assert lt.relu_floor_bound(n) < f < lt.piecewise_linear_floor(n)
        assert not lt.relu_best_fit(n).attains_bound
    assert lt.relu_floor(1) == pytest.approx(0.9010846, rel=1e-6)


def test_relu_floor_n3_against_brute_force_over_all_orientations():
    # independent implementation: every 2^3 pattern of neuron orientations, knots optimised by
    # Nelder-Mead on a dense-grid least squares of Σ v relu(±(x − t)) + c
    n_grid = 4000
    x = -2 + (np.arange(n_grid) + 0.5) * 4 / n_grid
    y = x**2

    def err(t, signs):
        relus = [np.maximum(s * (x - ti), 0.0) for ti, s in zip(t, signs, strict=True)]
        basis = np.column_stack([np.ones_like(x), *relus])
        coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
        return float(np.mean((basis @ coef - y) ** 2))

    best = math.inf
    for signs in itertools.product((-1.0, 1.0), repeat=3):
        for start in ([-1.2, -0.4, 0.6], [-0.6, 0.4, 1.2]):
            options = {"xatol": 1e-7, "fatol": 1e-12}
            res = optimize.minimize(
                err, start, args=(signs,), method="Nelder-Mead", options=options
            )
            best = min(best, res.fun)
    # the 4000-point midpoint rule (O(h²) with kinks) and Nelder-Mead's tolerance limit the
    # agreement to ~1e-5
    assert best == pytest.approx(lt.relu_floor(3), rel=1e-4)


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 7])
def test_relu_best_fit_is_a_relu_net_with_the_floor_mse(width):
    fit = lt.relu_best_fit(width)
    assert fit.w.shape == fit.b.shape == fit.v.shape == (width,)
    assert lt.relu_net_mse(fit.w, fit.b, fit.v, fit.c) == pytest.approx(fit.mse, rel=1e-10)
    assert fit.mse == pytest.approx(lt.relu_floor(width), rel=1e-12)
    assert np.all(np.diff(fit.knots) >= 0)


def test_relu_floor_general_quadratic_scaling_and_reflection():
    # a x² + b x + c on [lo, hi]: a² L⁴ times the unit floor at the same relative vertex
    interval, quad = (-1.0, 3.0), (2.0, 1.0, 0.5)
    vertex = -quad[1] / (2 * quad[0])
    u = (vertex - interval[0]) / 4.0
    unit = lt.relu_floor(3, (0.0, 1.0), (1.0, -2 * u, u * u))
    assert lt.relu_floor(3, interval, quad) == pytest.approx(4.0 * 4.0**4 * unit, rel=1e-9)
    # reflecting the vertex through the centre of the interval changes nothing
    mirrored = lt.relu_floor(3, (0.0, 1.0), (1.0, -2 * (1 - u), (1 - u) ** 2))
    assert mirrored == pytest.approx(unit, rel=1e-9)
    fit = lt.relu_best_fit(5, interval, quad)
    assert lt.relu_net_mse(fit.w, fit.b, fit.v, fit.c, interval, quad) == pytest.approx(
        fit.mse, rel=1e-9
    )
    # a vertex at the centre of an equal piece makes the bound exact, whatever N's parity
    # (N = 7 on [−1, 3]: 8 pieces of length 1/2, the vertex −1/4 is the centre of piece 1)
    assert lt.relu_floor(7, interval, quad) == pytest.approx(
        lt.relu_floor_bound(7, interval, quad[0]), rel=1e-13
    )
    assert lt.relu_floor(4, interval, (0.0, 2.0, 1.0)) == 0.0


def test_relu_net_mse_matches_dense_quadrature():
    rng = np.random.default_rng(0)
    w, b, v = rng.normal(size=(3, 5, 6))
    c = rng.normal(size=5)
    n = 200_000
    x = -2 + (np.arange(n) + 0.5) * 4 / n
    f = np.einsum("sxn,sn->sx", np.maximum(x[None, :, None] * w[:, None] + b[:, None], 0), v)
    dense = np.mean((f + c[:, None] - x**2) ** 2, axis=1)
    np.testing.assert_allclose(lt.relu_net_mse(w, b, v, c), dense, rtol=1e-7)


def test_ensemble_mse():
    assert lt.ensemble_mse(1, 0.5, 2.0) == 2.5
    np.testing.assert_allclose(lt.ensemble_mse(np.array([1, 2, 4]), 0.0, 4.0), [4.0, 2.0, 1.0])
    assert lt.ENSEMBLE_VARIANCE_EXPONENT == 1.0
    assert lt.LOTTERY_CLT_EXPONENT == 1.0


def test_mirror_pair_mse_falls_as_w4_for_silu():
    w = np.array([0.2, 0.1, 0.05])
    mse = lt.mirror_pair_mse(w, 0.5)
    # Taylor: error ∝ w⁴ as w -> 0 (ratio 16 per halving, corrections O(w²))
    np.testing.assert_allclose(mse[:-1] / mse[1:], 16.0, rtol=0.05)
    assert lt.mirror_pair_mse(0.03, 0.5) < 1e-8
    # a ReLU mirror pair is a width-2 ReLU net: bounded below by its floor, which it attains
    # with the knots ±b/w at the optimal ±2/3
    assert lt.mirror_pair_mse(0.3, 0.2, activation="relu") == pytest.approx(lt.relu_floor(2))
    assert lt.mirror_pair_mse(0.3, 0.1, activation="relu") > 1.1 * lt.relu_floor(2)


def test_reference_measurements_are_labelled_slopes():
    # measurements under named recipes, not predictions: SiLU between the CLT's 1 and the
    # approximation exponent 4, the polish steeper, ReLU near (below) 4
    lo, hi = lt.REFERENCE_SILU_SLOPE_CI
    assert lo < lt.REFERENCE_SILU_SLOPE < hi
    assert lt.LOTTERY_CLT_EXPONENT <= hi and hi < lt.REFERENCE_POLISHED_SLOPE
    lo, hi = lt.REFERENCE_RELU_SLOPE_CI
    assert lo <= lt.REFERENCE_RELU_SLOPE < hi < lt.approximation_exponent(1)


def test_bad_inputs():
    with pytest.raises(ValueError, match="input_dim"):
        lt.approximation_exponent(0)
    with pytest.raises(TypeError, match="input_dim"):
        lt.approximation_exponent(1.5)
    with pytest.raises(ValueError, match="width"):
        lt.relu_floor(0)
    with pytest.raises(TypeError, match="width"):
        lt.relu_floor(2.0)
    with pytest.raises(ValueError, match="interval"):
        lt.relu_floor(2, (2.0, -2.0))
    with pytest.raises(ValueError, match="quadratic"):
        lt.relu_floor(2, (-2.0, 2.0), (math.nan, 0.0, 0.0))
    with pytest.raises(ValueError, match="pieces"):
        lt.piecewise_linear_floor(0)
    with pytest.raises(TypeError, match="pieces"):
        lt.piecewise_linear_floor(2.5)
    with pytest.raises(ValueError, match="k must"):
        lt.ensemble_mse(0, 0.1, 0.1)
    with pytest.raises(ValueError, match="variance"):
        lt.ensemble_mse(2, 0.1, -1.0)
    with pytest.raises(ValueError, match="activation"):
        lt.mirror_pair_mse(0.1, 0.0, activation="swish")
    with pytest.raises(ValueError, match="w, b, v"):
        lt.relu_net_mse(np.zeros(3), np.zeros(2), np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="a != 0"):
        lt.relu_best_fit(3, (-2, 2), (0.0, 1.0, 0.0))
