"""MkDocs hook: notebook environment, notebook navigation and Sphinx-style roles.

* Notebooks are executed at build time (mkdocs-jupyter) in the quick preset: the kernels inherit
  ``SOLVABLE_PRESET=quick`` (unless set) and draw with the inline backend.
* Every notebook in ``notebooks/`` appears under "Notebooks" in the navigation, listed or not:
  a notebook added later needs no edit of ``mkdocs.yml``.
* Docstrings use Sphinx roles (``:func:`name```); in the rendered API pages the role prefix is
  dropped and the name kept as code.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

try:
    from mkdocs.plugins import event_priority
except ImportError:  # imported by tests/test_docs.py where the docs extra is not installed

    def event_priority(priority):
        return lambda fn: fn


NOTEBOOK_SECTION = "Notebooks"
_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj|const):(?=<code)")


def notebook_pages(root: Path) -> list[str]:
    """Site paths (``notebooks/<name>.ipynb``) of the notebooks in ``root/notebooks``."""
    return [f"notebooks/{p.name}" for p in sorted((root / "notebooks").glob("*.ipynb"))]


def notebook_title(path: Path) -> str:
    """The nav title of a notebook: its first heading up to a colon, else its file name."""
    for cell in json.loads(path.read_text()).get("cells", []):
        if cell.get("cell_type") == "markdown":
            text = "".join(cell.get("source", []))
            heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
            if heading:
                return heading.group(1).split(":")[0].strip()
    return path.stem.replace("_", " ")


def _listed(nav) -> set[str]:
    found: set[str] = set()
    for item in nav or []:
        values = item.values() if isinstance(item, dict) else [item]
        for value in values:
            if isinstance(value, list):
                found |= _listed(value)
            elif isinstance(value, str):
                found.add(value)
    return found


@event_priority(100)
def on_config(config):
    os.environ.setdefault("SOLVABLE_PRESET", "quick")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    root = Path(config["config_file_path"]).parent
    os.environ.setdefault("SOLVABLE_CACHE_DIR", str(root / "build" / "docs-figure-cache"))
    nav = config["nav"]
    section = next(
        (item for item in nav if isinstance(item, dict) and NOTEBOOK_SECTION in item), None
    )
    if section is None:
        section = {NOTEBOOK_SECTION: []}
        nav.append(section)
    listed = _listed(nav)
    section[NOTEBOOK_SECTION] += [
        {notebook_title(root / p): p} for p in notebook_pages(root) if p not in listed
    ]
    return config


def on_page_content(html: str, page, config, files) -> str:
    return _ROLE.sub("", html)
