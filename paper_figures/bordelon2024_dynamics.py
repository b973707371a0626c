"""Bordelon, Atanasov & Pehlevan 2024 (arXiv 2402.01092): loss dynamics, compute, data reuse.

Linear random features trained by gradient flow, b = a = 2 (MRS α = 1). (a) Population flow
(T = ∞): test loss vs time t for several N, levelling off at the N-limited loss; points are
simulations (teacher-averaged, exact in the eigenbasis of each realised feature matrix), lines the
BAP large-size theory (:func:`theory.random_features.gradient_flow_loss`). (b) The same curves
against compute C = N t: their lower envelope is the compute-optimal frontier, with
N* ∝ C^(1/3) and E* ∝ C^(−1/3) asymptotically (time exponent 1/2 ≠ size exponent 1, so compute
goes mostly into steps); the theory frontier (black) and the simulated one (red) are fitted over
their interior budgets. (c) Finite data reused every step (T samples, N fixed): the training loss
keeps falling while the test loss stalls or rises, so the train–test gap grows with t (faster for
smaller T); lines are the theory's test (solid) and train (dashed) curves.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from paper_figures._cache import cached_npz

DESCRIPTION = "BAP: loss vs time for several N, the compute-optimal frontier, train-test gap"

_B = _A = 2.0


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulations import fit
    from simulations import random_features as rfs
    from theory import random_features as rft

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = rfs.QUICK if quick else rfs.DEFAULT
    cfg = dataclasses.replace(base, gf_seeds=8)
    reuse_n = 128 if quick else 512
    reuse_t = (reuse_n // 2, 2 * reuse_n, 8 * reuse_n)
    reuse_m = cfg.gf_latent
    reuse_steps = 10**6 if quick else 10**7
    config = dict(cfg=dataclasses.asdict(cfg), reuse=[reuse_n, list(reuse_t), reuse_m])
    stem = "bordelon2024_dynamics"

    def compute():
        curves: dict = {}
        rows = rfs.measure_flow_scaling(cfg, _B, _A, curves=curves)
        tag = f"b{_B:g}-a{_A:g}"
        c = curves[(tag, "e_t")]
        out = dict(
            times=c["x"], sizes=c["sizes"], sim=c["sim"], theory=c["theory"],
            exps=np.array([[r.measured, r.ci_low, r.ci_high, r.predicted,
                            float(r.extras["asymptote"])] for r in rows]),
        )  # fmt: skip
        test, train, test_th, train_th = [], [], [], []
        lam, v2 = rft.latent_spectrum(reuse_m, _B), rft.target_power(reuse_m, _A)
        for t in reuse_t:
            g = rfs.simulate_gradient_descent(
                reuse_m, [reuse_n], t, reuse_steps, b=_B, a=_A, learning_rate=1.0, flow=True,
                seeds=cfg.gf_seeds, n_checkpoints=40, name="fig-bap-reuse",
            )  # fmt: skip
            test.append(g["test_loss_avg"][0])
            train.append(g["train_loss"][0])
            th = rft.gradient_flow_loss(lam, v2, reuse_n, t, g["times"])
            test_th.append(th.test)
            train_th.append(th.train)
        out.update(reuse_times=g["times"], reuse_test=np.array(test),
                   reuse_train=np.array(train), reuse_test_th=np.array(test_th),
                   reuse_train_th=np.array(train_th))  # fmt: skip
        return out

    d = cached_npz(out_dir / f"{stem}.npz", config, compute)
    times, sizes = d["times"], d["sizes"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)

    ax = axes[0]
    for s, n in enumerate(sizes):
        col = plt.cm.viridis(s / max(1, len(sizes) - 1))
        mean = np.nanmean(d["sim"][:, s], axis=0)
        ax.plot(times, mean, "o", ms=2.5, color=col, label=f"N = {n}" if s % 2 == 0 else None)
        ax.plot(times, d["theory"][s], "-", color=col, lw=0.9)
    e_t = d["exps"][0]
    i10 = int(np.argmin(np.abs(times - 10.0)))
    ref = 1.5 * d["theory"][-1][i10] * (times / times[i10]) ** (-e_t[4])
    ax.plot(times, ref, "k:", lw=0.8,
            label=f"t^(−{e_t[4]:g}); fit {e_t[0]:.3f}, theory {e_t[3]:.3f}")  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="time t", ylabel="test loss",
           ylim=(0.5 * d["theory"].min(), 2 * d["theory"].max()),
           title=f"(a) population gradient flow, M = {cfg.gf_latent}")  # fmt: skip
    ax.legend(fontsize=7, ncol=2)

    ax = axes[1]
    compute = sizes[:, None] * times[None, :]
    for s in range(len(sizes)):
        ax.plot(compute[s], d["theory"][s], "-", color="0.7", lw=0.8)
    th_front = fit.compute_optimal_frontier(sizes, compute, d["theory"])
    sim_front = fit.compute_optimal_frontier(sizes, compute, np.nanmean(d["sim"], axis=0))
    ok = sim_front.interior
    ax.plot(sim_front.budgets[ok], sim_front.optimal_loss[ok], "o", color="C3", ms=5, mfc="none",
            label="simulated frontier")  # fmt: skip
    ok = th_front.interior
    ax.plot(th_front.budgets[ok], th_front.optimal_loss[ok], "k-", lw=1.5, label="theory frontier")
    n_row, l_row = d["exps"][1], d["exps"][3]
    ax.text(0.03, 0.05,
            f"N* ∝ C^{n_row[0]:.3f} (theory {n_row[3]:.3f}, asymptote {n_row[4]:.3f})\n"
            f"E* ∝ C^{l_row[0]:.3f} (theory {l_row[3]:.3f}, asymptote {l_row[4]:.3f})",
            transform=ax.transAxes, fontsize=8)  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="compute C = N t", ylabel="test loss",
           ylim=(0.5 * d["theory"].min(), 2 * d["theory"].max()),
           title="(b) compute-optimal frontier")  # fmt: skip
    ax.legend(fontsize=8, loc="upper right")

    ax = axes[2]
    rt = d["reuse_times"]
    for k, t in enumerate(reuse_t):
        c = f"C{k}"
        ax.plot(rt, np.nanmean(d["reuse_test"][k], axis=0), "o", ms=2.5, color=c,
                label=f"T = {t}: test")  # fmt: skip
        ax.plot(rt, np.nanmean(d["reuse_train"][k], axis=0), "^", ms=2.5, color=c, mfc="none",
                label=f"T = {t}: train")  # fmt: skip
        ax.plot(rt, d["reuse_test_th"][k], "-", color=c, lw=0.9)
        ax.plot(rt, d["reuse_train_th"][k], "--", color=c, lw=0.9)
    ax.set(xscale="log", yscale="log", xlabel="time t", ylabel="loss",
           ylim=(max(1e-3 * d["reuse_test_th"].min(), 1e-12), 2 * d["reuse_test_th"].max()),
           title=f"(c) data reuse: N = {reuse_n}, train–test gap")  # fmt: skip
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle(f"BAP dynamics of linear random features, b = a = {_B:g}")
    path = out_dir / f"{stem}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
