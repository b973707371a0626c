"""Training procedures on PLRF (theory.plrf_training, simulations.plrf.dynamics): schedules,
momentum, DANA and batch size — exact identities, SGD against the recursion, known answers and
up-front rejections.

Statistical tests compare SGD runs with the exact expected loss of the same realised W per seed
(paired: the recursion is the mean over SGD noise given W), at every checkpoint but 0, with a
tolerance of 4 standard errors of the per-seed difference: under the null the largest of ~12
correlated |z| exceeds 4 with probability < 1e-3. Each test also shows that a wrong procedure
(constant schedule instead of WSD, no momentum instead of momentum) is detected at the same
sample size, so the tolerance is not vacuous.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations.plrf import checks, dynamics, model
from theory import plrf as theory_plrf
from theory import plrf_training as T
from theory.schedules import WSD, Constant, Cosine

Z_TOL = 4.0


def _spectrum(alpha=0.7, beta=1.0, d=64, v=256):
    with jax.enable_x64(True):
        return theory_plrf.deterministic_equivalent_spectrum(alpha, beta, d, v)


def _single_mode(lam=1.0, mass=1.0, p_star=0.0):
    return theory_plrf.Spectrum(np.array([lam]), np.array([mass]), np.array([1.0]), p_star)


# ------------------------------------------------------------------------------------------
# Exact identities
# ------------------------------------------------------------------------------------------
def test_constant_schedule_reproduces_exact_curve_bitwise():
    spec = _spectrum()
    gamma = theory_plrf.learning_rate(0.7, 256, 0.5)
    steps = np.arange(1501)
    ref = theory_plrf.expected_loss(spec, gamma, 2, steps, method="exact")
    got = T.expected_loss_trained(spec, gamma, 2, steps, schedule=Constant())
    np.testing.assert_array_equal(got, ref)
    # the W-free spectrum path too
    wfree = theory_plrf.continuum_spectrum(0.7, 1.0, 2**12)
    g = theory_plrf.learning_rate(0.7, 4 * 2**12, 0.5)
    ref = theory_plrf.expected_loss(wfree, g, 1, steps, method="exact")
    np.testing.assert_array_equal(T.expected_loss_trained(wfree, g, 1, steps), ref)


@pytest.mark.parametrize("kind", ["heavy_ball", "nesterov"])
def test_zero_momentum_is_the_sgd_recursion(kind):
    spec = _spectrum()
    gamma = theory_plrf.learning_rate(0.7, 256, 0.5)
    steps = np.arange(2001)
    sched = WSD(0.3)
    sgd = T.expected_loss_trained(spec, gamma, 3, steps, schedule=sched)
    mom = T.expected_loss_trained(
        spec, gamma, 3, steps, schedule=sched, optimizer=T.Optimizer(kind, 0.0)
    )
    # Same recursion, other arithmetic: (1 − γBλ)² + γ²Bλ² for q; ~2000 steps of rounding.
    np.testing.assert_allclose(mom, sgd, rtol=1e-12)
    # and a nonzero momentum does change the curve (the comparison can fail)
    other = T.expected_loss_trained(spec, gamma, 3, steps, optimizer=T.Optimizer(kind, 0.3))
    assert np.max(np.abs(other / sgd - 1)) > 1e-2


def test_momentum_kernel_norm_matches_sgd_formula():
    spec = _spectrum()
    gamma = theory_plrf.learning_rate(0.7, 256, 0.5)
    for batch in (1, 2):
        radius, norm = T.momentum_kernel_norm(spec, batch, 0.0, gamma, 0.0, 0.0)
        with jax.enable_x64(True):
            ref = float(theory_plrf.kernel_norm(spec, gamma, batch))
        assert radius < 1 and norm == pytest.approx(ref, rel=1e-10)


def test_scheduled_sgd_bit_identical_to_model():
    ck = checks.log_checkpoints(2000, 15)
    with jax.enable_x64(True):
        key_w, key_sgd = model.split_run_key(jax.random.key(5))
        problem = model.eigenbasis_problem(key_w, 0.7, 1.0, 128, 32)
        gamma = model.learning_rate_from_scale(0.7, 128, 0.5)
        ref = model.sgd_eigenbasis(key_sgd, problem, gamma, batch=2, checkpoints=ck)
        got = dynamics.sgd_scheduled(
            key_sgd, problem, jnp.full(2000, gamma), batch=2, checkpoints=ck
        )
    np.testing.assert_array_equal(np.asarray(got), np.asarray(ref))


# ------------------------------------------------------------------------------------------
# SGD against the recursion (statistical)
# ------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _runs(optimizer, schedule, seeds, batch=1, d=24, v=96, steps=1500, lr_scale=0.5):
    ck = checks.log_checkpoints(steps, 13)
    mult = schedule.values(steps)

    def one(key):
        gamma = model.learning_rate_from_scale(0.7, v, lr_scale)
        return dynamics.trained_run(
            key,
            0.7,
            1.0,
            gamma,
            v=v,
            d=d,
            batch=batch,
            checkpoints=ck,
            multipliers=mult,
            optimizer=optimizer,
            dtype=jnp.float64,
        )

    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(11), i))(jnp.arange(seeds))
    with jax.enable_x64(True):
        out = jax.jit(jax.vmap(one))(keys)
        return np.asarray(out["loss"]), np.asarray(out["expected_loss"])


def _z(sim, theory):
    diff = (sim - theory)[:, 1:]
    return diff.mean(0) / (diff.std(0, ddof=1) / np.sqrt(diff.shape[0]))


def test_wsd_recursion_matches_sgd_means():
    # 384 seeds (W and SGD noise each): the per-seed difference's SE is ~2-5% of the loss.
    sim, th = _runs(T.Optimizer(), WSD(0.3), 384)
    assert np.all(np.abs(_z(sim, th)) < Z_TOL)
    # power: the constant-schedule recursion of the same W is rejected by the same data
    _, const = _runs(T.Optimizer(), Constant(), 384)
    assert np.max(np.abs(_z(sim, const))) > Z_TOL


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["heavy_ball", "nesterov"])
def test_momentum_recursion_matches_sgd_means(kind):
    opt = T.Optimizer(kind, 0.6)
    sim, th = _runs(opt, Cosine(final=0.1), 384, lr_scale=0.3)
    assert np.all(np.abs(_z(sim, th)) < Z_TOL)
    _, plain = _runs(T.Optimizer(), Cosine(final=0.1), 384, lr_scale=0.3)
    assert np.max(np.abs(_z(sim, plain))) > Z_TOL


@pytest.mark.slow
def test_explicit_path_matches_eigenbasis_in_distribution():
    # Heavy ball under WSD with explicit samples x ∈ R^v against (a) the exact recursion on the
    # same W (paired z, as above) and (b) the eigenbasis path on the same W with independent
    # noise (difference of means over its standard error). 256 seeds at d = 24, v = 96; the
    # same Z_TOL; a wrong procedure (no momentum in the explicit run) is detected.
    d, v, steps, seeds = 24, 96, 600, 256
    ck = checks.log_checkpoints(steps, 13)
    mult = WSD(0.3).values(steps)
    gamma = model.learning_rate_from_scale(0.7, v, 0.3)
    opt = T.Optimizer("heavy_ball", 0.6)

    def one(key, kind):
        key_w, key_sgd = model.split_run_key(key)
        w = model.sample_embedding(key_w, v, d, jnp.float64)
        coeffs = (opt if kind == "hb" else T.Optimizer()).coefficients(gamma, mult)
        return dynamics.sgd_momentum_explicit(
            jax.random.fold_in(key_sgd, 7), w, 0.7, 1.0, coeffs, batch=1, checkpoints=ck,
            dtype=jnp.float64,
        )  # fmt: skip

    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(11), i))(jnp.arange(seeds))
    with jax.enable_x64(True):
        explicit = np.asarray(jax.jit(jax.vmap(lambda k: one(k, "hb")))(keys))
        plain = np.asarray(jax.jit(jax.vmap(lambda k: one(k, "sgd")))(keys))
    eig, th = _runs(opt, WSD(0.3), seeds, d=d, v=v, steps=steps, lr_scale=0.3)
    assert np.all(np.abs(_z(explicit, th)) < Z_TOL)
    diff = (explicit - eig)[:, 1:]  # same W per seed, independent SGD noise
    assert np.all(np.abs(diff.mean(0) / (diff.std(0, ddof=1) / np.sqrt(seeds))) < Z_TOL)
    np.testing.assert_allclose(explicit[:, 0], th[:, 0], rtol=1e-10)  # same W: same P(0)
    assert np.max(np.abs(_z(plain, th))) > Z_TOL


@pytest.mark.slow
def test_dana_recursion_matches_sgd_means():
    # the reference DANA-decaying of arXiv 2505.16098 at (α, β) = (0.7, 1.0)
    opt = T.Optimizer("dana", delta=T.dana_delta(0.7, 1.0), gamma3=0.2, decay=1 / 1.4)
    sim, th = _runs(opt, Constant(), 384, lr_scale=0.3)
    assert np.all(np.abs(_z(sim, th)) < Z_TOL)
    _, plain = _runs(T.Optimizer(), Constant(), 384, lr_scale=0.3)
    assert np.max(np.abs(_z(sim, plain))) > Z_TOL


def test_dana_reference_form():
    # Δ(r) = δ/(δ + r) (y's decay: κ = r/(δ + r)), γ3(r) = γ̃3 γ (1 + r)^(−κ₃), γ2 = γ, γ1 = 1
    delta = T.dana_delta(0.7, 1.0)
    assert delta == pytest.approx(4.0 + 1.7 / 0.7, rel=1e-15)
    opt = T.Optimizer("dana", delta=delta, gamma3=0.2, decay=1 / 1.4)
    g1, g2, g3, keep = opt.coefficients(0.5, np.ones(1000))
    r = np.arange(1000.0)
    np.testing.assert_allclose(keep, r / (delta + r), rtol=1e-15)
    np.testing.assert_allclose(g3, 0.1 * (1 + r) ** (-1 / 1.4), rtol=1e-14)
    assert np.all(g1 == 1.0) and np.all(g2 == 0.5)
    # DANA-constant: γ3 = γ̃3 γ/d
    g3c = T.Optimizer("dana", delta=delta, gamma3=0.2, d=64).coefficients(0.5, np.ones(10))[2]
    np.testing.assert_allclose(g3c, 0.1 / 64, rtol=1e-15)


def test_dana_exponents():
    # time_power = 1 is SGD; (α, β) = (1, 2) by hand with k = 2 − 1/(2α) = 3/2: the terms
    # 2ξ (F0), 3.75(1 − ξ) (F_pp), 0.75 + 0.25ξ (F_ac), 2.25(1 − ξ) (noise) → F_ac = noise
    # at ξ = 0.6, η = 0.9 (SGD: ξ = 0.5, η = 0.75)
    for a, b in [(0.7, 1.0), (1.0, 0.7), (0.6, 0.3), (1.5, 1.0), (0.4, 0.8)]:
        sgd = theory_plrf.compute_optimal_exponents(a, b, method="balance")
        np.testing.assert_allclose(T.dana_exponents(a, b, time_power=1.0), sgd, atol=1e-12)
        gain = T.dana_exponents(a, b)[1] - sgd[1]
        assert (gain > 0.01) if 2 * a > 1 else (gain == 0.0)
    np.testing.assert_allclose(T.dana_exponents(1.0, 2.0), (0.6, 0.9), atol=1e-12)
    with pytest.raises(ValueError, match="time_power"):
        T.dana_exponents(1.0, 2.0, time_power=-1.0)


# ------------------------------------------------------------------------------------------
# Stability and rejections
# ------------------------------------------------------------------------------------------
def test_dana_stability():
    spec = _spectrum()
    gamma = theory_plrf.learning_rate(0.7, 256, 0.5)
    steps = np.array([0, 10, 100, 1000, 10000])
    stable = T.Optimizer("dana", delta=4.0, gamma3=0.05, decay=1 / 1.4)
    loss = T.expected_loss_trained(spec, gamma, 1, steps, optimizer=stable)
    assert np.all(np.isfinite(loss)) and np.all(np.diff(loss) < 0)
    # a momentum step γ3 that is 100x the learning rate is refused before running
    with pytest.raises(ValueError, match="unstable"):
        T.expected_loss_trained(
            spec, gamma, 1, steps, optimizer=T.Optimizer("dana", gamma3=100.0, decay=0.0)
        )


def test_bad_procedures_rejected_up_front():
    spec = _spectrum()
    gamma = theory_plrf.learning_rate(0.7, 256, 0.5)
    steps = np.arange(100)
    for mu in (1.0, 1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="momentum"):
            T.Optimizer("heavy_ball", mu)
    with pytest.raises(ValueError, match="kind"):
        T.Optimizer("adam")
    # a schedule whose peak multiplier (4x) puts γ beyond the stability limit
    peak = np.ones(99)
    peak[10] = 4.0
    limit = T.max_stable_learning_rate(spec, 1)
    assert gamma < limit < 4 * gamma
    with pytest.raises(ValueError, match="schedule peak"):
        T.expected_loss_trained(spec, gamma, 1, steps, schedule=peak)
    with pytest.raises(ValueError, match="finite and >= 0"):
        T.expected_loss_trained(spec, gamma, 1, steps, schedule=-np.ones(99))
    with pytest.raises(ValueError, match="learning_rate"):
        T.expected_loss_trained(spec, float("inf"), 1, steps)
    with pytest.raises(ValueError, match="unstable"):  # heavy ball near μ → 1 at γ near max
        T.expected_loss_trained(
            spec, 0.9 * limit, 1, steps, optimizer=T.Optimizer("heavy_ball", 0.9)
        )


# ------------------------------------------------------------------------------------------
# Batch size
# ------------------------------------------------------------------------------------------
def test_noise_term_scales_with_batch():
    # θ₀ = θ* (no target mass): after one step P(1) − P* = γ²B Σ_i λ_i² counts_i P*, linear in B.
    spec = _spectrum()
    noise_only = theory_plrf.Spectrum(spec.eigenvalues, 0 * spec.target_mass, spec.counts, 0.5)
    gamma = 0.1 * T.max_stable_learning_rate(noise_only, 8)
    excess = [T.expected_loss_trained(noise_only, gamma, b, np.array([1]))[0] - 0.5 for b in (1, 8)]
    assert excess[1] / excess[0] == pytest.approx(8.0, rel=1e-12)
    lam, counts = np.asarray(spec.eigenvalues), np.asarray(spec.counts)
    assert excess[0] == pytest.approx(gamma**2 * np.sum(lam**2 * counts) * 0.5, rel=1e-12)


@pytest.mark.slow
def test_noise_term_scaling_in_sgd():
    # The recursion's SGD-noise term γ²Bλ²P against SGD at B = 1 and B = 4 (same γ, each seed's
    # own W): a wrong B-scaling of the noise would show at B = 4.
    for batch in (1, 4):
        sim, th = _runs(T.Optimizer(), Constant(), 256, batch=batch, steps=300)
        assert np.all(np.abs(_z(sim, th)) < Z_TOL)


def test_critical_batch_known_answer():
    # One mode λ = 1, P* = 0, γ_B = 1/((B + 2)λ) (the best rate for that B): P(r) = (2/(B+2))^r,
    # so steps-to-target S(B) = ceil(ln(1/ε)/ln((B+2)/2)) in closed form.
    spec = _single_mode()
    batches = [1, 2, 4, 8, 16, 32, 64, 128]
    rates = [1.0 / (b + 2) for b in batches]
    eps = 1e-6
    closed = np.array(
        [int(np.ceil(np.log(1 / eps) / np.log((b + 2) / 2) - 1e-12)) for b in batches]
    )
    b_star, steps = T.critical_batch(spec, batches, rates, eps, factor=2.0)
    np.testing.assert_array_equal(steps, closed)
    expected = min(b for b, s in zip(batches, closed) if s <= 2 * closed.min())
    # by hand: S = 9, 7, 5, 4, 4 at B = 8, 16, 32, 64, 128, so within 2x of 4 first at B = 16
    assert b_star == expected == 16
    # unreachable target (below P*): -1
    assert T.steps_to_target(_single_mode(p_star=0.1), 0.1, 1, 0.05, max_steps=1000) == -1


def test_max_stable_batch_single_mode():
    # One mode: γ(B+1)λ < 2 and ‖K‖ = γλ/(2 − γ(B+1)λ) < 1  ⇔  B < 2/(γλ) − 2.
    # (γ chosen so that the bound 2/(γλ) − 2 = 79.3 is not an integer: no tie at the boundary)
    spec = _single_mode(lam=2.0)
    gamma = 0.0123
    assert T.max_stable_batch(spec, gamma) == int(np.floor(2 / (gamma * 2.0) - 2)) == 79


def test_loss_at_dynamic_length_matches_the_curve():
    spec = _spectrum()
    gamma = theory_plrf.learning_rate(0.7, 256, 0.5)
    gammas = gamma * WSD(0.3).values(500)
    with jax.enable_x64(True):
        curve = np.asarray(T.scheduled_loss_curve(spec, gammas, 1))
        at = [float(T.scheduled_loss_at(spec, gammas, 1, n)) for n in (0, 1, 137, 500)]
    # same recursion, a fori_loop instead of a scan: equal to rounding
    np.testing.assert_allclose(at, curve[[0, 1, 137, 500]], rtol=1e-13)


@pytest.mark.slow
def test_sgd_critical_batch_matches_theory():
    # SGD (d = 32, 24 seeds, each its own W) at B = 1…16, γ_B = 0.5·γ_max(B): steps-to-target
    # of the mean SGD curve vs the exact recursion on the same seeds' W (mean over seeds).
    # Tolerance: the recursion's steps lie inside SGD's 99.8% bootstrap interval at every
    # (B, τ) (15 intervals: P(any outside | correct) ≈ 3%, the seeds are fixed), and the
    # recursion's B* lies in SGD's bootstrap interval of B*. A wrong noise B-scaling fails it:
    # the B = 8, 16 runs sit near the stability limit, where the noise term sets the steps.
    from simulations.plrf import training, training_analysis

    cfg = training.TrainingConfig(
        sgd_d=32, sgd_seeds=24, chunk_size=24, sgd_batches=(1, 2, 4, 8, 16),
        sgd_targets=(0.3, 0.1, 0.05), n_checkpoints=60, wfree_sizes=(5.0, 7.0), batches=(1, 2),
    )  # fmt: skip
    data = training.run_study(cfg, "batch", progress=False)
    res = training_analysis.sgd_critical_batch(data["sgd"], cfg.factor, level=0.998)
    for tau, r in res.items():
        assert np.all((r["theory_steps"] >= r["sgd_lo"]) & (r["theory_steps"] <= r["sgd_hi"])), tau
        # B* is a threshold statistic (it flips when a batch sits near factor × best): the
        # recursion's B* must lie in SGD's bootstrap interval of B*
        assert r["b_star_lo"] <= r["b_star_theory"] <= r["b_star_hi"], (tau, r["sgd_steps"])
    # the theory's own B* (deterministic equivalent, exact integer steps) agrees to a factor 2
    assert all(0.5 <= r["b_star_exact"] / r["b_star_theory"] <= 2 for r in res.values())


def test_compare_study_batch_cli(tmp_path, capsys):
    from simulations.cli import main

    out = tmp_path / "batch"
    argv = ["compare", "plrf", "--quick", "--study", "batch", "--no-progress", "--out", str(out)]
    argv += ["--training-wfree-sizes", "5,7", "--training-batches", "1,2,4,8,16"]
    argv += ["--training-sgd-batches", "1,4,16"]
    assert main(argv) == 0
    text = (out / "comparison.csv").read_text()
    assert "critical_batch" in text and "max_stable_batch" in text
    assert "critical_batch_sgd" in text
    assert (out / "critical_batch.png").is_file()
    assert "study batch" in capsys.readouterr().out
