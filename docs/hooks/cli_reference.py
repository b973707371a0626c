"""MkDocs hook: the CLI reference page is generated from the ``solvable`` parser at build time.

A page containing the marker ``<!-- cli-reference -->`` gets, in its place, the ``--help`` text of
``solvable``, of every ``solvable VERB MODEL`` (models and verbs are discovered the way the CLI
discovers them, :func:`simulations.cli.discover_models`), and of ``solvable figure``, ``fit`` and
``status``. The text is what ``simulations.cli.main([..., "--help"])`` prints, so the page cannot
drift from the parser.
"""

from __future__ import annotations

import contextlib
import io
import os

MARKER = "<!-- cli-reference -->"
WIDTH = "100"  # argparse wraps help at $COLUMNS - 2


def commands() -> list[list[str]]:
    """Every command line the reference documents, without ``--help``."""
    from simulations.cli import discover_models

    cmds: list[list[str]] = [[]]
    for model, verbs in sorted(discover_models().items()):
        cmds += [[verb, model] for verb in sorted(verbs)]
    return [*cmds, ["figure"], ["fit"], ["status"]]


def help_text(argv: list[str]) -> str:
    """What ``solvable ARGV --help`` prints (run in this process, stdout captured)."""
    from simulations.cli import main

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
            main([*argv, "--help"])
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return buf.getvalue().rstrip()


def render() -> str:
    """The reference as Markdown: one section per command, its help in a code block."""
    parts = []
    for argv in commands():
        title = " ".join(["solvable", *argv])
        text = help_text(argv)
        if not text:
            raise RuntimeError(f"`{title} --help` printed nothing")
        parts.append(f"## `{title}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the marker (only on the page that has it)."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())
