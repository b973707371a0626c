"""Cheap checks of the documentation site (the full strict build is ``make docs``, run by CI).

* every page in ``mkdocs.yml``'s navigation exists, and every notebook is reachable from it;
* relative links and images in the Markdown pages point at files that exist;
* nothing in the repository refers to files outside it (``shared/``, THEORY.md, DESIGN.md);
* the generated CLI reference covers every verb of every model, and ``figure``, ``fit``,
  ``status``; the API pages list every public module of a model package;
* the gallery has an entry with images for every figure of ``solvable figure --list``;
* the offline link checker tells well-formed external links from malformed ones.

None of these needs the ``docs`` extra (mkdocs is not imported); about 2 s in all.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"_docs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def _nav_paths(nav) -> list[str]:
    out = []
    for item in nav:
        values = item.values() if isinstance(item, dict) else [item]
        for value in values:
            out += _nav_paths(value) if isinstance(value, list) else [value]
    return out


def test_every_nav_page_exists():
    config = _config()
    missing = []
    for page in _nav_paths(config["nav"]):
        if page.startswith("notebooks/"):  # mounted from notebooks/ by mkdocs-jupyter
            exists = (ROOT / page).is_file()
        else:
            exists = (DOCS / page).is_file()
        if not exists:
            missing.append(page)
    assert not missing, missing
    assert config["plugins"][1]["mkdocs-jupyter"]["notebook_dirs"] == {"notebooks": "notebooks"}


def test_every_notebook_is_in_the_nav_after_the_hook():
    site = _load(DOCS / "hooks" / "site.py")
    config = {"nav": _config()["nav"], "config_file_path": str(ROOT / "mkdocs.yml")}
    notebooks = sorted(f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 5
    nav = site.on_config(config)["nav"]
    section = next(
        item["Notebooks"] for item in nav if isinstance(item, dict) and "Notebooks" in item
    )
    assert sorted(_nav_paths(section)) == notebooks
    # a notebook that is not listed in mkdocs.yml is added by the hook, once
    config = {
        "nav": [{"Notebooks": ["notebooks/plrf.ipynb"]}],
        "config_file_path": config["config_file_path"],
    }
    section = site.on_config(config)["nav"][0]["Notebooks"]
    assert sorted(_nav_paths(section)) == notebooks
    assert {"Lottery-ticket ensembles": "notebooks/lottery.ipynb"} in section  # title: 1st heading


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_relative_links_in_pages_resolve():
    bad = []
    for page in sorted(DOCS.rglob("*.md")):
        for target in _LINK.findall(page.read_text()):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#")[0]
            resolved = (page.parent / path).resolve()
            if path.startswith("../notebooks/") or "/notebooks/" in str(resolved):
                resolved = ROOT / "notebooks" / Path(path).name
            if not resolved.exists():
                bad.append(f"{page.relative_to(ROOT)}: {target}")
    assert not bad, bad


def test_repository_refers_to_nothing_outside_it():
    """``grep -r "shared/" README.md docs notebooks theory simulations`` finds nothing."""
    pattern = re.compile(r"shared/|THEORY\.md|DESIGN\.md")
    roots = [ROOT / "README.md", DOCS, ROOT / "notebooks", ROOT / "theory", ROOT / "simulations"]
    roots += [ROOT / "paper_figures", ROOT / "mkdocs.yml"]
    hits = []
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            if not path.is_file() or path.suffix not in {".md", ".py", ".ipynb", ".yml", ".json"}:
                continue
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}")
    assert not hits, hits


def test_cli_reference_covers_every_command():
    from simulations.cli import discover_models

    cli = _load(DOCS / "hooks" / "cli_reference.py")
    commands = {" ".join(c) for c in cli.commands()}
    for model, verbs in discover_models().items():
        for verb in verbs:
            assert f"{verb} {model}" in commands
    assert {"", "figure", "fit", "status"} <= commands
    top = cli.help_text([])
    for verb in {v for vs in discover_models().values() for v in vs} | {"figure", "fit", "status"}:
        assert verb in top, verb
    assert "--shards" in cli.help_text(["status"])
    assert "<!-- cli-reference -->" in (DOCS / "reference" / "cli.md").read_text()


def test_api_pages_list_every_model_module():
    api = _load(DOCS / "hooks" / "api_reference.py")
    for package in ("plrf", "random_features", "superposition", "lottery"):
        folder = ROOT / "simulations" / package
        expected = {f"simulations.{package}.{p.stem}" for p in folder.glob("[!_]*.py")}
        assert set(api.modules(f"simulations.{package}")) == expected
        page = (DOCS / "reference" / "api" / f"{package}.md").read_text()
        assert f"<!-- api-modules: simulations.{package} -->" in page
    assert api.modules("simulations.plrf")[0] == "simulations.plrf.commands"  # top layer first
    with pytest.raises(ValueError, match="not a package"):
        api.modules("simulations.nonexistent")


def test_gallery_shows_every_figure():
    from simulations.cli import discover_figures

    manifest = json.loads((DOCS / "gallery" / "manifest.json").read_text())
    page = (DOCS / "gallery" / "index.md").read_text()
    figures = discover_figures()
    assert set(manifest) == set(figures), "run: make gallery"
    for name, entry in manifest.items():
        assert entry["images"], name
        for image in entry["images"]:
            assert (DOCS / "gallery" / image).is_file(), image
            assert f"]({image})" in page, image
        assert entry["command"].startswith(f"solvable figure {name}")
        assert f"### {name}" in page
        assert entry["config"], name


def test_linkcheck_external_form():
    lc = _load(DOCS / "linkcheck.py")
    assert lc.external_problem("https://arxiv.org/abs/2405.15074") is None
    assert lc.external_problem("https://jupytext.readthedocs.io") is None
    assert lc.external_problem("https://arxiv.org/abs/24051507") is not None  # not an arXiv id
    assert lc.external_problem("https://localhost/x") is not None  # no dotted host
    assert lc.external_problem("ftp://example.org/x") is not None
