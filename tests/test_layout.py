"""The layout rules of the redesign, checked on the source tree (import contracts: lint-imports).

* no ``_private`` name is imported (or reached as ``module._name``) across modules;
* no module under ``simulations/`` or ``theory/`` exceeds 600 lines;
* every model has its theory, simulator package (five layers), figures, notebook and tests.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    p
    for d in ("simulations", "theory", "paper_figures", "notebooks", "tests", "benchmarks")
    for p in sorted((ROOT / d).rglob("*.py"))
]
MODELS = ("plrf", "random_features", "superposition", "lottery")
LAYERS = ("model", "experiment", "analysis", "plots", "commands")
MAX_LINES = 600


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"from {node.module} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                modules.add(alias.asname or alias.name.split(".")[0])
    ours = {"simulations", "theory", "paper_figures"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                # Only our own modules (and names imported from them) are held to the rule.
                dotted = ast.unparse(node)
                if base.id in ours or _from_ours(tree, base.id, ours):
                    found.append(dotted)
    return found


def _from_ours(tree, name: str, ours: set[str]) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ours:
            if any((a.asname or a.name) == name for a in node.names):
                return True
    return False


def test_no_private_names_cross_modules():
    offenders = {str(p.relative_to(ROOT)): uses for p in SOURCES if (uses := _private_uses(p))}
    assert not offenders, offenders


def test_no_module_exceeds_the_line_budget():
    long = {
        str(p.relative_to(ROOT)): n
        for d in ("simulations", "theory")
        for p in sorted((ROOT / d).rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_its_layers_figures_notebook_and_tests(model):
    pkg = ROOT / "simulations" / model
    for layer in (*LAYERS, "__init__"):
        assert (pkg / f"{layer}.py").is_file(), f"simulations/{model}/{layer}.py missing"
    assert (ROOT / "theory" / f"{model}.py").is_file()
    figures = [p for p in (ROOT / "paper_figures" / model).glob("*.py") if p.stem != "__init__"]
    assert figures, f"no figures under paper_figures/{model}/"
    assert (ROOT / "notebooks" / f"{model}.py").is_file()
    assert (ROOT / "notebooks" / f"{model}.ipynb").is_file()
    kinds = {p.stem.removeprefix(f"test_{model}_") for p in ROOT.glob(f"tests/test_{model}_*.py")}
    assert {"theory", "model", "agreement", "commands"} <= kinds, kinds


def test_git_lists_each_models_files_under_its_name():
    try:
        files = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for model in MODELS:
        mine = [f for f in files if model in f]
        for prefix in ("theory/", "simulations/", "paper_figures/", "notebooks/", "tests/"):
            assert any(f.startswith(prefix) for f in mine), (model, prefix)


def test_plots_never_choose_a_backend():
    forbidden = "matplotlib" + ".use("
    for p in SOURCES:
        assert forbidden not in p.read_text(), p


@pytest.mark.parametrize("model", MODELS)
def test_package_exports_every_public_name_of_its_layers(model):
    """The package's name map (simulations.lazy) matches its submodules' ``__all__``."""
    import importlib

    package = importlib.import_module(f"simulations.{model}")
    for path in sorted((ROOT / "simulations" / model).glob("*.py")):
        if path.stem == "__init__":
            continue
        sub = importlib.import_module(f"simulations.{model}.{path.stem}")
        assert path.stem in package.__all__, (model, path.stem)
        for name in sub.__all__:
            assert name in package.__all__, (model, path.stem, name)
            if getattr(sub, name) is not getattr(package, name):
                # a name re-exported by a higher layer resolves to the same object
                assert getattr(package, name) == getattr(sub, name), (model, name)
    for name in package.__all__:
        getattr(package, name)
    assert package.__dir__() == package.__all__


def test_model_layer_imports_light():
    """Importing a model's pure layer pulls in no fits, tables, xarray or matplotlib."""
    code = (
        "import sys\n"
        "from simulations.plrf import model\n"
        "from simulations.lottery import init_params\n"
        "heavy = [m for m in ('matplotlib', 'xarray', 'simulations.fit', 'tqdm')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
