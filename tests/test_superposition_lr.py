"""The loss at the optimum of a learning-rate sweep (issue: budget convergence, item 1).

A trained model's loss-vs-width exponent is measured at each width's best learning rate (per
budget): a fixed rate can be too large for one width and too small for another, which tilts the
slope. These tests pin the choice rule, the sweep's plumbing and the bad-input refusals.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from simulations import superposition as sp
from simulations import sweep
from simulations.superposition import analysis


def test_best_lr_index_picks_the_lowest_mean_over_seeds():
    losses = np.array([[1.0, 1.2], [0.9, 1.0], [0.95, 0.97]])  # means 1.1, 0.95, 0.96
    assert sp.best_lr_index(losses) == 1


def test_a_rate_with_a_diverged_seed_is_not_the_optimum():
    # rate 0 has the lowest finished loss but lost a seed: a rate whose seeds all finished wins
    losses = np.array([[0.1, np.nan], [0.9, 1.0], [0.8, 0.85]])
    assert sp.best_lr_index(losses) == 2
    # every rate lost a seed: the mean over finished seeds decides
    assert sp.best_lr_index(np.array([[0.5, np.nan], [np.nan, 0.4]])) == 1
    assert sp.best_lr_index(np.full((3, 2), np.nan)) == 0


def test_best_lr_index_refuses_a_bad_shape():
    with pytest.raises(ValueError, match="losses must have shape"):
        sp.best_lr_index(np.ones(3))


@functools.cache
def _lr_sweep(factors=(0.25, 1.0, 4.0), budgets=(8, 24)):
    base = {"n": 32, "batch": 8, "widths": [4, 8], "seeds": 2, "eval_batches": 1}
    points = [{"gamma": -1.0, "alpha": 1.5, "lr": 0.01 * f} for f in factors]
    grid = sp.make_grid(steps=24, points=points, budgets=list(budgets), **base)
    return sweep.run_sweep(sp.build, grid, progress=False, name="sp-lr")


def test_tidy_keeps_each_width_at_its_best_rate():
    """Every (setting, width) keeps the runs of the rate with the lowest mean final loss, read
    back from the raw groups of the same sweep."""
    result = _lr_sweep()
    data = sp.tidy(result)
    assert data.sizes["setting"] == 1  # the rate is not a setting
    assert data.attrs["lr_swept"] == [0.0025, 0.01, 0.04]
    for k, m in enumerate(data["m"].values):
        (ds,) = [
            g
            for g in result.groups
            if int(g.attrs["static.m"]) == int(m) and int(g.attrs["static.steps"]) == 24
        ]
        losses = np.asarray(ds["final_loss"].values)  # (point = rate, seed)
        lrs = np.asarray(ds["lr"].values)
        best = int(np.argmin(losses.mean(axis=1)))
        assert data["lr_best"].values[0, k] == pytest.approx(lrs[best])
        np.testing.assert_array_equal(data["final_loss"].values[0, k], losses[best])


def test_budgets_choose_their_own_rate_and_rows_report_it():
    data = sp.tidy(_lr_sweep())
    assert data["lr_best_by_budget"].shape == (1, 2, 2)
    np.testing.assert_array_equal(data["lr_best_by_budget"].values[:, -1], data["lr_best"].values)
    (row, _) = analysis.comparison_rows(data, n_boot=20)
    assert row.extras["lr_best"].count(":") == 2
    # the synthetic optimum at an end of the rates tried is flagged (not bracketed)
    data["lr_best_by_budget"][:] = 0.04
    data["lr_best"][:] = 0.04
    (row, _) = analysis.comparison_rows(data, n_boot=20)
    assert "best lr at an end of the rates tried for widths [4, 8]" in row.extras["note"]


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"lr_factors": ()}, "lr_factors must be distinct and non-empty"),
        ({"lr_factors": (1.0, 1.0)}, "lr_factors must be distinct"),
        ({"lr_factors": (0.5, -1.0)}, "lr_factors"),
        ({"lr_factors": (0.5, 1.0), "lr_rule": "liu2025-large"}, "lr_factors must be"),
    ],
)
def test_bad_lr_factors_are_refused_up_front(fields, match):
    cfg = sp.CompareConfig.preset("quick")
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(cfg, **fields).validate()


def test_points_must_all_give_a_rate_or_none():
    with pytest.raises(ValueError, match="points must all give an lr or none"):
        sp.make_grid(
            n=32,
            widths=[4, 8],
            steps=12,
            batch=8,
            points=[{"gamma": -1.0, "lr": 0.01}, {"gamma": 1.0}],
        )
