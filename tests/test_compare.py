"""Tests of simulations.compare: the common table format, CSV I/O, printing and summaries."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from simulations import compare, fit
from simulations.compare import ComparisonRow


def _rows():
    pb = {"alpha": 1.0, "beta": 0.3}
    return [
        ComparisonRow(pb, "Ia", "xi", 1 / 3, 0.345, 0.33, 0.36, {"recipe": "envelope"}),
        ComparisonRow(pb, "Ia", "eta", 0.5333, 0.525, 0.52, 0.53, {"note": "low, finite size"}),
        ComparisonRow({"alpha": 0.7, "beta": 1.0}, "III", "eta", 0.6429, 0.67),
    ]


def test_csv_round_trip_and_column_order(tmp_path):
    rows = _rows()
    path = compare.write_comparison_csv(rows, tmp_path / "sub" / "t.csv", ["alpha", "beta"])
    with path.open() as fh:
        header = next(csv.reader(fh))
    assert header == [
        "alpha",
        "beta",
        "phase",
        "quantity",
        "predicted",
        "measured",
        "ci_low",
        "ci_high",
        "recipe",
        "note",
    ]
    back = compare.read_comparison_csv(path)
    assert back == rows  # NaN intervals and full float precision survive
    assert back[0].predicted == 1 / 3
    assert math.isnan(back[2].ci_low) and back[2].extras == {}
    assert back[1].extras["note"] == "low, finite size"  # quoted comma
    assert list(back[0].params) == ["alpha", "beta"]
    # parameters in a different order are written in param_names order
    swapped = ComparisonRow({"beta": 0.3, "alpha": 1.0}, "Ia", "xi", 0.3, 0.3)
    p2 = compare.write_comparison_csv([swapped], tmp_path / "s.csv", ["alpha", "beta"])
    assert p2.read_text().splitlines()[1].startswith("1.0,0.3,Ia,xi")


def test_explicit_extra_columns_and_empty_table(tmp_path):
    rows = _rows()
    path = compare.write_comparison_csv(
        rows, tmp_path / "t.csv", ["alpha", "beta"], extra_names=["note", "recipe", "window"]
    )
    assert path.read_text().splitlines()[0].endswith("ci_high,note,recipe,window")
    assert compare.read_comparison_csv(path) == rows
    empty = compare.write_comparison_csv([], tmp_path / "e.csv", ["d"], extra_names=["note"])
    assert empty.read_text() == "d,phase,quantity,predicted,measured,ci_low,ci_high,note\n"
    assert compare.read_comparison_csv(empty) == []
    with pytest.raises(ValueError, match="not in extra_names"):
        compare.write_comparison_csv(rows, tmp_path / "x.csv", ["alpha", "beta"], extra_names=[])


def test_comparison_table_records_and_mappings():
    records = compare.comparison_table(_rows())
    assert list(records[0]) == compare.columns(["alpha", "beta"], ["recipe", "note"])
    assert records[1]["note"] == "low, finite size" and records[0]["note"] == ""
    again = compare.comparison_table(records, ["alpha", "beta"])
    assert again == records
    with pytest.raises(ValueError, match="param_names is needed"):
        compare.comparison_table(records)


def test_string_parameters_round_trip(tmp_path):
    rows = [ComparisonRow({"model": "relu", "width": 64}, "", "exponent", 1.0, 0.98, 0.9, 1.1)]
    path = compare.write_comparison_csv(rows, tmp_path / "t.csv", ["model", "width"])
    back = compare.read_comparison_csv(path)
    assert back == rows and back[0].params["model"] == "relu" and back[0].params["width"] == 64.0


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ("alpha,phase,quantity,predicted,measured,ci_low\n", r"lacks the columns \['ci_high'\]"),
        ("alpha,quantity,predicted,measured,ci_low,ci_high\n", r"\['phase'\]"),
        ("alpha,phase,quantity,measured,predicted,ci_low,ci_high\n", "in the order"),
        ("", "is empty"),
    ],
)
def test_read_rejects_missing_or_misordered_columns(tmp_path, header, match):
    path = tmp_path / "bad.csv"
    path.write_text(header)
    with pytest.raises(ValueError, match=match):
        compare.read_comparison_csv(path)


def test_read_rejects_bad_values(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("alpha,phase,quantity,predicted,measured,ci_low,ci_high\n1,I,xi,abc,1,0,2\n")
    with pytest.raises(ValueError, match=r"line 2.*predicted"):
        compare.read_comparison_csv(path)
    path.write_text("alpha,phase,quantity,predicted,measured,ci_low,ci_high\n1,I,xi,1,1\n")
    with pytest.raises(ValueError, match="line 2: 5 fields"):
        compare.read_comparison_csv(path)


def test_write_rejects_inconsistent_parameters(tmp_path):
    rows = _rows()
    with pytest.raises(ValueError, match="expected"):
        compare.write_comparison_csv(rows, tmp_path / "t.csv", ["alpha"])
    with pytest.raises(ValueError, match="core column"):
        compare.write_comparison_csv(rows, tmp_path / "t.csv", ["alpha", "phase"])
    with pytest.raises(ValueError, match="quantity"):
        ComparisonRow({"a": 1.0}, "I", "", 1.0, 1.0)
    with pytest.raises(ValueError, match="measured must be a real number"):
        ComparisonRow({"a": 1.0}, "I", "xi", 1.0, "high")
    with pytest.raises(ValueError, match="record is missing"):
        ComparisonRow.from_record({"a": 1.0, "phase": "I", "quantity": "xi"}, ["a"])


def test_row_properties():
    inside, outside, no_ci = _rows()
    assert inside.within_ci is True and outside.within_ci is False and no_ci.within_ci is None
    assert outside.deviation == pytest.approx(0.525 - 0.5333)
    assert not no_ci.has_ci
    assert "alpha=1" in repr(inside) and "quantity='xi'" in repr(inside)


def test_from_fit_uses_exponent_interval_and_window():
    x = np.geomspace(1.0, 100.0, 9)
    rng = np.random.default_rng(0)
    f = fit.fit_power_law(x, 2.0 * x**-0.5 * np.exp(0.01 * rng.standard_normal(x.size)))
    row = ComparisonRow.from_fit({"alpha": 0.4}, "IVa", "eta", 0.5, f, recipe="loss-curve")
    assert (row.measured, row.ci_low, row.ci_high) == (f.exponent, f.ci_low, f.ci_high)
    assert row.extras == {"window": "1:100", "recipe": "loss-curve"}
    with pytest.raises(TypeError, match="exponent"):
        ComparisonRow.from_fit({"alpha": 0.4}, "IVa", "eta", 0.5, object())


def test_format_table_shows_values_deviation_and_markers():
    text = compare.format_comparison_table(_rows(), ["alpha", "beta"])
    lines = text.splitlines()
    expected = [
        "alpha",
        "beta",
        "phase",
        "quantity",
        "predicted",
        "measured",
        "ci_low",
        "ci_high",
        "meas-pred",
        "out",
        "recipe",
        "note",
    ]
    assert lines[0].split() == expected
    assert set(lines[1]) <= {"-", " "}
    row_xi, row_eta, row_iii = lines[2:5]
    assert "0.3333" in row_xi and "0.3450" in row_xi and "0.0117" in row_xi
    assert "envelope" in row_xi and "-0.0083" in row_eta and "low, finite size" in row_eta
    assert "nan" in row_iii and "0.0271" in row_iii
    out = lines[0].index("out")  # marker column: inside, outside (*), no interval (?)
    assert (row_xi[out], row_eta[out], row_iii[out]) == (" ", "*", "?")
    assert lines[-1].startswith("1/2 predictions inside the interval")
    # fixed width: text columns start, numeric columns end, under their headers
    assert row_xi.index("Ia") == row_eta.index("Ia") == lines[0].index("phase")
    end = lines[0].index("measured") + len("measured")
    assert row_xi[:end].endswith("0.3450") and row_iii[:end].endswith("0.6700")


def test_summarize_counts_and_deviations():
    s = compare.summarize(_rows())
    assert (s.n_rows, s.n_with_ci, s.n_within_ci) == (3, 2, 1)
    assert s.fraction_within_ci == 0.5
    assert s.max_abs_deviation == pytest.approx(0.67 - 0.6429)
    assert s.mean_abs_deviation == pytest.approx((0.345 - 1 / 3 + 0.0083 + 0.0271) / 3)
    assert s.worst == "eta at (alpha=0.7, beta=1) III"
    assert "1/2 predictions inside" in str(s)
    by = compare.summarize(_rows(), by="quantity")
    assert list(by) == ["xi", "eta"] and by["eta"].n_rows == 2
    assert compare.summarize(_rows(), by="phase")["III"].n_with_ci == 0
    with pytest.raises(ValueError, match="by must be"):
        compare.summarize(_rows(), by="nonexistent")
    empty = compare.summarize([])
    assert empty.n_rows == 0 and math.isnan(empty.max_abs_deviation)


def test_rows_pickle_round_trip():
    """Figure caches store rows: a row survives pickling unchanged."""
    import pickle

    row = compare.ComparisonRow(
        {"alpha": 0.7, "law": "power"}, "III", "eta", 0.643, 0.68, 0.63, 0.72, {"window": "1:9"}
    )
    assert pickle.loads(pickle.dumps(row)) == row


def test_intervals_wider_than_the_prediction_are_not_determined():
    """A ±8 interval around a predicted 1.0 says nothing: shown '~', never counted as inside."""
    wide = ComparisonRow({"m": 1.0}, "strong", "alpha_m", 1.0, 1.3, -7.0, 9.0)
    tight = ComparisonRow({"m": 2.0}, "strong", "alpha_m", 1.0, 1.1, 0.9, 1.3)
    assert not wide.determined and wide.within_ci is None
    assert tight.determined and tight.within_ci is True
    s = compare.summarize([wide, tight])
    assert (s.n_with_ci, s.n_within_ci, s.n_undetermined) == (1, 1, 1)
    text = compare.format_comparison_table([wide, tight], ["m"], note="quick preset: test")
    lines = text.splitlines()
    assert lines[0] == "[quick preset: test]"
    assert lines[3].rstrip().endswith("~")
    assert "1/1 predictions inside the interval" in lines[-1]
    assert "1 not determined (~)" in lines[-1]
