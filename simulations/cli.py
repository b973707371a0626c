"""The ``solvable`` command.

Verbs (every model has ``compare``; ``phase-diagram`` and ``run`` where they make sense)::

    solvable phase-diagram MODEL [--quick] [--out DIR]   sweep a phase plane, measured vs predicted
    solvable compare MODEL [--quick] [--out DIR]         measured vs predicted table + figures
    solvable run MODEL [model options]                   one configuration, sim beside theory
    solvable figure NAME [--quick] [--out DIR]           reproduce one paper figure
    solvable figure --list                               list the figures

Each model's module in :mod:`simulations` provides the work (``compare_command``,
``phase_diagram_command``, ``run_command``); this file only parses and dispatches, importing the
model lazily so ``solvable --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

MODELS = {
    "plrf": "simulations.plrf_commands",
    "random-features": "simulations.random_features",
    "superposition": "simulations.superposition",
    "lottery": "simulations.lottery",
}


def _model_module(model: str):
    if model not in MODELS:
        raise SystemExit(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}")
    return importlib.import_module(MODELS[model])


def _figure_modules() -> dict[str, str]:
    import paper_figures

    names = {}
    for info in pkgutil.iter_modules(paper_figures.__path__):
        if not info.name.startswith("_"):
            names[info.name.replace("_", "-")] = f"paper_figures.{info.name}"
    return dict(sorted(names.items()))


def _default_out(*parts: str) -> Path:
    return Path("results") / "-".join(parts)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="small sizes: minutes on 2 CPU cores")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: results/...)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="solvable",
        description="Simulate solvable models of neural scaling laws and compare with theory.",
    )
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("phase-diagram", help="sweep a phase plane: measured vs predicted")
    p.add_argument("model", help="plrf | superposition")
    _add_common(p)

    p = sub.add_parser("compare", help="measured vs predicted table (comparison.csv) + figures")
    p.add_argument("model", help=" | ".join(MODELS))
    _add_common(p)

    p = sub.add_parser("run", help="one configuration: simulation beside theory")
    p.add_argument("model", help=" | ".join(MODELS))
    p.add_argument("args", nargs=argparse.REMAINDER, help="model options (see: run MODEL -h)")

    p = sub.add_parser("figure", help="reproduce a paper figure")
    p.add_argument("name", nargs="?", help="figure name (see --list)")
    p.add_argument("--list", action="store_true", help="list the figures")
    _add_common(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``solvable`` console script."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    # XLA already spreads a batched chunk over the cores; a threaded OpenBLAS under it (LAPACK eigh,
    # scipy's L-BFGS-B) oversubscribes them and runs 10-100x slower. Must precede numpy's import.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    start = time.perf_counter()

    if args.verb == "figure":
        figures = _figure_modules()
        if args.list or not args.name:
            width = max((len(n) for n in figures), default=0)
            for name, module in figures.items():
                desc = getattr(importlib.import_module(module), "DESCRIPTION", "")
                print(f"{name:<{width}}  {desc}")
            return 0
        if args.name not in figures:
            raise SystemExit(f"unknown figure {args.name!r}; see: solvable figure --list")
        out = args.out or _default_out("figures", args.name)
        out.mkdir(parents=True, exist_ok=True)
        paths = importlib.import_module(figures[args.name]).main(out, quick=args.quick)
        for path in paths or []:
            print(f"wrote {path}")
    elif args.verb == "run":
        module = _model_module(args.model)
        if not hasattr(module, "run_command"):
            raise SystemExit(f"model {args.model!r} has no 'run' command")
        return int(module.run_command(list(args.args)) or 0)
    else:
        module = _model_module(args.model)
        attr = "phase_diagram_command" if args.verb == "phase-diagram" else "compare_command"
        if not hasattr(module, attr):
            raise SystemExit(f"model {args.model!r} has no '{args.verb}' command")
        out = args.out or _default_out(args.verb, args.model + ("-quick" if args.quick else ""))
        out.mkdir(parents=True, exist_ok=True)
        getattr(module, attr)(out, quick=args.quick)
        print(f"results in {out}/")
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
