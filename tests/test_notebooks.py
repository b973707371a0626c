"""Every notebook runs top to bottom in the quick preset, and its .py source and .ipynb agree.

Notebooks are jupytext ``py:percent`` sources (``notebooks/<model>.py``, linted by ruff) paired
with ``.ipynb`` files; the tests execute the source with ``SOLVABLE_PRESET=quick``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_paired_notebook_matches_its_source(path):
    jupytext = pytest.importorskip("jupytext")
    paired = path.with_suffix(".ipynb")
    assert paired.is_file(), f"{paired.name} missing: run jupytext --sync {path}"
    src = [(c.cell_type, c.source.strip()) for c in jupytext.read(path).cells]
    nb = [(c.cell_type, c.source.strip()) for c in jupytext.read(paired).cells]
    assert src == nb, f"{paired.name} out of date: run jupytext --sync {path}"


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_parameters_are_in_one_cell_at_the_top(path):
    """The first code cell reads the preset (``SOLVABLE_PRESET``); no later cell does, so a
    reader changes sizes in one place."""
    jupytext = pytest.importorskip("jupytext")
    code = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
    assert code and "SOLVABLE_PRESET" in code[0], "the first code cell must set PRESET"
    later = [i for i, src in enumerate(code[1:], 2) if "SOLVABLE_PRESET" in src]
    assert not later, f"code cells {later} read the preset again: keep parameters in cell 1"


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_runs_in_quick_preset(path, tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("SOLVABLE_PRESET", "quick")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("SOLVABLE_CACHE_DIR", str(tmp_path / "cache"))
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    images = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert images, "a notebook shows its figures inline"
