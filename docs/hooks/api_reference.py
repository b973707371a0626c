"""MkDocs hook: API pages list a package's modules as they are on disk.

A line ``<!-- api-modules: simulations.plrf -->`` becomes one mkdocstrings block for the package
(its docstring only) and one per public module in it, model layers in their import order
(commands first, model last), so a layer or module added later appears without an edit here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER_ORDER = (
    "commands",
    "plots",
    "analysis",
    "diagnostics",
    "experiment",
    "sweeps",
    "limits",
    "model",
    "checks",
)
_MARKER = re.compile(r"^<!-- api-modules: ([\w.]+) -->$", re.MULTILINE)


def modules(package: str) -> list[str]:
    """Public modules of ``package`` (a dotted name under the repository root), in page order."""
    folder = ROOT / package.replace(".", "/")
    if not (folder / "__init__.py").is_file():
        raise ValueError(f"api-modules: {package!r} is not a package under {ROOT}")
    names = [p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")]
    known = [n for n in LAYER_ORDER if n in names]
    return [f"{package}.{n}" for n in known + sorted(set(names) - set(known))]


def expand(package: str) -> str:
    blocks = [f"::: {package}\n    options:\n      members: false\n"]
    blocks += [f"::: {module}\n" for module in modules(package)]
    return "\n".join(blocks)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return _MARKER.sub(lambda m: expand(m.group(1)), markdown)
