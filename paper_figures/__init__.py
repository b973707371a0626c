"""One module per paper figure: compute -> cached data -> plot.

Each module defines ``DESCRIPTION`` (one line) and ``main(out_dir, quick=False) -> list[Path]``.
``solvable figure --list`` lists them; ``solvable figure NAME`` runs one (NAME is the module name
with ``_`` replaced by ``-``).
"""
