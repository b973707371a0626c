"""The ``solvable`` command: models and figures are discovered, not registered.

* A model is a package ``simulations/<pkg>/`` with a ``commands.py``; its CLI name is ``<pkg>``
  with ``_`` → ``-``. Its verbs are the public functions of ``commands.py``, each
  ``verb(config: SomeConfig, out: Path, *, progress: bool = True)``; the CLI name of a verb is the
  function name with ``_`` → ``-`` (``phase_diagram`` → ``phase-diagram``).
* A figure is a module ``paper_figures/<model>/<author><year>_<slug>.py`` with ``DESCRIPTION``,
  ``config(preset)``, ``compute(cfg)`` and ``plot(data, out_dir)``; its name is the module name
  with ``_`` → ``-``.

Usage::

    solvable VERB MODEL [--preset quick|default|paper] [--quick] [--config FILE] [--out DIR]
                        [--CONFIG-FIELD VALUE ...]
    solvable figure NAME [--preset P] [--quick] [--out DIR] [--cache-dir DIR] [--refresh]
    solvable figure --list
    solvable fit DATA.csv --params N --tokens D --loss L [--compute C] [--group G] [--step S]
                 [--law chinchilla|kaplan|data-constrained|saturating] [--method 1|2|3|all]
                 [--n-boot 200] [--out DIR] [--unique-tokens U]
    solvable fit --validate [--out DIR]
    solvable status DIR [--shards N]

A verb's ``--shard I/N`` (e.g. ``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``) fills
only shard ``I``'s rows of the command's sweep in ``--out`` and stops (N processes, at once or in
turn, fill one store; no analysis runs on a partial store); ``solvable status DIR`` shows what
each shard has done, and the same command without ``--shard`` then reads the sweep and analyses.

Every config field is an option (``solvable VERB MODEL --help`` lists them with their help);
``--config FILE`` reads field values from TOML or from the ``config.json`` that every run writes
beside its results, so ``solvable VERB MODEL --config results/.../config.json`` repeats a run.
Discovery reads the source files without importing them, so ``solvable --help`` is instant.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import os
import shutil
import sys
import time
import typing
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
_FIGURES_ROOT = _ROOT.parent / "paper_figures"
_PRESETS = ("quick", "default", "paper")  # = simulations.options.PRESETS (kept import-free here)
QUICK_NOTE = "quick preset: small sizes, exponents biased"  # = simulations.plotting.QUICK_NOTE
_VERB_HELP = {
    "compare": "measured vs predicted: comparison.csv, the printed table and figures",
    "phase-diagram": "sweep a phase plane: measured vs predicted exponents and the map",
    "run": "one configuration: simulation beside theory",
}


class _UsageError(ValueError):
    """A command-line mistake (no traceback worth showing)."""


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``solvable: error: ...``), exit code 2."""

    def error(self, message: str):
        raise _UsageError(message)


def _module_docline(node) -> str:
    doc = ast.get_docstring(node) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def discover_models() -> dict[str, dict[str, str]]:
    """``{model CLI name: {verb CLI name: one-line help}}`` from ``simulations/*/commands.py``."""
    models: dict[str, dict[str, str]] = {}
    for path in sorted(_ROOT.glob("*/commands.py")):
        tree = ast.parse(path.read_text())
        verbs = {
            node.name.replace("_", "-"): _module_docline(node)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
        }
        if verbs:
            models[path.parent.name.replace("_", "-")] = verbs
    return models


def discover_figures() -> dict[str, tuple[str, str]]:
    """``{figure name: (module, DESCRIPTION)}`` from ``paper_figures/<model>/*.py``."""
    figures: dict[str, tuple[str, str]] = {}
    for path in sorted(_FIGURES_ROOT.glob("*/*.py")):
        if path.name.startswith("_") or path.parent.name.startswith("_"):
            continue
        description = ""
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "DESCRIPTION" for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                description = str(node.value.value)
        module = f"paper_figures.{path.parent.name}.{path.stem}"
        figures[path.stem.replace("_", "-")] = (module, description)
    return dict(sorted(figures.items()))


def verb_function(model: str, verb: str):
    """The function behind ``solvable VERB MODEL`` (imports the model's ``commands``)."""
    module = importlib.import_module(f"simulations.{model.replace('-', '_')}.commands")
    return getattr(module, verb.replace("-", "_"))


def config_class(fn):
    """The config dataclass a verb takes (its first parameter's annotation)."""
    params = list(inspect.signature(fn).parameters)
    hints = typing.get_type_hints(fn)
    if not params or params[0] not in hints:
        raise TypeError(f"{fn.__qualname__}: first parameter must be annotated with its config")
    return hints[params[0]]


def _add_preset_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--preset",
        choices=_PRESETS,
        default=None,
        help="sizes and budgets: quick (minutes on 2 CPU cores), default, paper (the paper's)",
    )
    p.add_argument("--quick", action="store_true", help="alias of --preset quick")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: results/…)")


def _top_parser(models, figures) -> argparse.ArgumentParser:
    verbs: dict[str, list[str]] = {}
    helps: dict[str, str] = {}
    for model, vs in models.items():
        for verb, line in vs.items():
            verbs.setdefault(verb, []).append(model)
            helps.setdefault(verb, _VERB_HELP.get(verb, line))
    parser = _OneLineParser(
        prog="solvable",
        description="Simulate solvable models of neural scaling laws and compare with theory.",
        epilog="Run 'solvable VERB MODEL --help' for a command's options.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in sorted(verbs):
        sub.add_parser(verb, help=f"{helps[verb]} [{' | '.join(verbs[verb])}]")
    sub.add_parser("figure", help=f"reproduce a paper figure ({len(figures)} figures)")
    sub.add_parser("fit", help="fit scaling laws to your own runs (CSV/parquet), with intervals")
    sub.add_parser("status", help="rows done/missing/diverged/quarantined per shard of a sweep")
    return parser


def _verbs(models) -> list[str]:
    return sorted({verb for vs in models.values() for verb in vs})


def _figure_parser(figures) -> argparse.ArgumentParser:
    p = _OneLineParser(prog="solvable figure", description="Reproduce a paper figure.")
    p.add_argument("name", nargs="?", help="figure name (see --list)")
    p.add_argument("--list", action="store_true", help=f"list the {len(figures)} figures")
    _add_preset_options(p)
    p.add_argument("--cache-dir", type=Path, default=None, help="figure-data cache directory")
    p.add_argument("--refresh", action="store_true", help="recompute even if cached")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return p


_LAWS = ("chinchilla", "kaplan", "data-constrained", "saturating")  # = scalefit.laws.LAWS


def _fit_parser() -> argparse.ArgumentParser:
    p = _OneLineParser(
        prog="solvable fit",
        description="Fit scaling laws to a table of runs: Hoffmann et al.'s approaches 1-3 with "
        "bootstrap and profile intervals, an identifiability verdict and a held-out check.",
    )
    p.add_argument("data", nargs="?", type=Path, help="CSV (or parquet) with one row per run")
    p.add_argument("--params", help="column of parameter counts N")
    p.add_argument("--tokens", help="column of training tokens D")
    p.add_argument("--loss", default="loss", help="column of losses L (default: loss)")
    p.add_argument("--compute", help="column of compute C (default: C = 6*N*D)")
    p.add_argument("--group", help="column of run/curve labels (group bootstrap, approach 1)")
    p.add_argument("--step", help="column of training steps (checkpoints of one run per size)")
    p.add_argument("--unique-tokens", help="column of unique tokens U (data-constrained law)")
    p.add_argument("--law", choices=_LAWS, default="chinchilla", help="approach 3's law")
    p.add_argument("--method", choices=("1", "2", "3", "all"), default="all")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates (0: none)")
    p.add_argument("--ci", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--row-bootstrap", action="store_true", help="resample rows even with --group")
    p.add_argument(
        "--at-compute",
        type=float,
        default=None,
        help="compute at which N*, D*, D*/N* are reported (default: the largest)",
    )
    p.add_argument(
        "--budgets",
        default=None,
        help="approach 2: nominal budgets, comma-separated (rows snap to the nearest)",
    )
    p.add_argument(
        "--budget-tol",
        type=float,
        default=None,
        help="approach 2: tolerance in decades of C for one budget (default 1e-6, or "
        "0.1 with --budgets)",
    )
    p.add_argument(
        "--edge",
        choices=("refuse", "flag"),
        default="refuse",
        help="approach 2: budgets whose minimum is at the edge of the sizes",
    )
    p.add_argument(
        "--x",
        choices=("compute", "params", "tokens"),
        default="compute",
        help="variable of the saturating law",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument(
        "--validate",
        action="store_true",
        help="instead: fit synthetic data of known exponents and report recovery",
    )
    p.add_argument("--n-rep", type=int, default=40, help="--validate: noisy replicates")
    p.add_argument("--out", type=Path, default=None, help="output dir (default results/fit-STEM)")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return p


def _status_parser() -> argparse.ArgumentParser:
    p = _OneLineParser(
        prog="solvable status",
        description="Rows done, missing, diverged and quarantined per shard of a sweep store.",
    )
    p.add_argument("dir", type=Path, help="a sweep store, or a command's --out holding sweep/")
    p.add_argument("--shards", type=int, default=None, help="shard count N (default: the last)")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return p


def _run_status(args) -> int:
    from simulations.status import find_stores, store_status

    if args.shards is not None and args.shards < 1:
        raise _UsageError(f"--shards must be an integer >= 1, got {args.shards}")
    for i, path in enumerate(find_stores(args.dir)):
        print(("\n" if i else "") + store_status(path, shards=args.shards).format())
    return 0


def _parse_shard(text: str):
    from simulations.shards import parse_shard

    try:
        return parse_shard(text, "--shard")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _run_fit(args) -> int:
    if args.validate:
        from simulations.scalefit import validate

        out = args.out or Path("results") / "fit-validate"
        res = validate.run_validation(
            out=out, seed=args.seed, n_rep=args.n_rep, n_boot=min(args.n_boot, 50)
        )
        print(validate.format_validation(res))
        print(f"results in {out}/")
        return 0
    if args.data is None:
        raise _UsageError("solvable fit: give a DATA file (or --validate)")
    from simulations.scalefit import load_table, plots, report

    table = load_table(
        args.data,
        params=args.params,
        tokens=args.tokens,
        loss=args.loss,
        compute=args.compute,
        group=args.group,
        step=args.step,
        unique_tokens=args.unique_tokens,
    )
    budgets = None
    if args.budgets:
        try:
            budgets = [float(b) for b in args.budgets.split(",")]
        except ValueError:
            raise _UsageError(f"--budgets must be numbers, got {args.budgets!r}") from None
    tol = args.budget_tol if args.budget_tol is not None else (0.1 if budgets else 1e-6)
    rep = report.run_fit(
        table,
        law=args.law,
        method=args.method,
        n_boot=args.n_boot,
        ci=args.ci,
        seed=args.seed,
        by_group=False if args.row_bootstrap else None,
        c_target=args.at_compute,
        budget_tol=tol,
        budgets=budgets,
        edge=args.edge,
        x=args.x,
    )
    out = args.out or Path("results") / f"fit-{args.data.stem}"
    print(report.format_report(rep))
    written = report.write_estimates(rep, out)
    if not args.no_figures:
        written += plots.save_figures(rep, out)
    for path in written:
        print(f"wrote {path}")
    return 0


def verb_parser(verb: str, model: str, cls) -> argparse.ArgumentParser:
    """The option parser of ``solvable VERB MODEL``: presets, ``--config`` and config fields."""
    from simulations import options

    fn_doc = f"solvable {verb} {model}"
    p = _OneLineParser(prog=fn_doc, description=(cls.__doc__ or "").split("\n")[0])
    _add_preset_options(p)
    p.add_argument("--config", type=Path, default=None, help="TOML or config.json of field values")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace results of another command or config in --out (default: refuse)",
    )
    p.add_argument(
        "--shard",
        type=_parse_shard,
        default=None,
        metavar="I/N",
        help="compute only shard I of N of the sweep into --out and stop (N array jobs fill one "
        "store; rerun without --shard to analyse; see: solvable status)",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="one of several processes (JAX's distributed runtime; automatic with "
        "JAX_COORDINATOR_ADDRESS/JAX_NUM_PROCESSES/JAX_PROCESS_ID or an srun step): each "
        "process computes its rows of every sweep in --out, process 0 writes the outputs",
    )
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    options.add_config_options(p, cls)
    return p


def _run_verb(verb: str, model: str, argv: list[str], models) -> int:
    if model is None or model not in models:
        choices = sorted(m for m, vs in models.items() if verb in vs)
        what = "missing model" if model is None else f"unknown model {model!r}"
        raise SystemExit(f"solvable {verb}: {what}; choose one of: {', '.join(choices)}")
    if verb not in models[model]:
        have = ", ".join(sorted(models[model]))
        raise SystemExit(f"solvable: model {model!r} has no {verb!r} command (it has: {have})")
    from simulations import options

    fn = verb_function(model, verb)
    cls = config_class(fn)
    parser = verb_parser(verb, model, cls)
    args = parser.parse_args(_join_negative_values(argv))
    preset = "quick" if args.quick and args.preset is None else (args.preset or "default")
    if args.quick and args.preset not in (None, "quick"):
        parser.error(f"--quick contradicts --preset {args.preset}")
    try:
        cfg = options.resolve_config(cls, preset, args.config, options.cli_overrides(args))
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    if args.shard is not None and args.overwrite:
        parser.error(
            "--overwrite cannot be combined with --shard (shards would delete each other's "
            "rows): clear --out once without --shard, or choose another --out"
        )
    suffix = "" if preset == "default" else f"-{preset}"
    suffix = getattr(cfg, "out_suffix", "") + suffix  # e.g. "-plane" for another kind of run
    out = args.out or Path("results") / f"{verb}-{model}{suffix}"
    record = {
        "model": model,
        "verb": verb,
        "preset": preset,
        "config_class": f"{cls.__module__}.{cls.__qualname__}",
        "config": options.config_to_dict(cfg),
        "version": _version(),
    }

    def claim():
        _claim_out(parser, out, record, args.overwrite)
        _write_atomically(out / "config.json", json.dumps(record, indent=2) + "\n")

    multi = _start_distributed(parser, args)
    if not multi:
        claim()
    kwargs = {"progress": not args.no_progress}
    if "note" in inspect.signature(fn).parameters:
        kwargs["note"] = QUICK_NOTE if preset == "quick" else ""
    if multi:  # every process runs the command; process 0 alone writes to --out
        from simulations import distributed

        if distributed.run_command(lambda where: fn(cfg, where, **kwargs), out, claim):
            print(f"results in {out}/")
        return 0
    if args.shard is None:
        fn(cfg, out, **kwargs)
        print(f"results in {out}/")
        return 0
    # A shard reaches the verb's sweeps through a context (the verbs' signatures stay
    # ``verb(config, out, *, progress, note)``); its sweep raises ShardDone, never analyses.
    from simulations.shards import ShardDone, sharding

    try:
        with sharding(args.shard):
            fn(cfg, out, **kwargs)
    except ShardDone as done:
        left = sum(done.missing.values())
        print(done)
        print(
            f"all rows present: run the command without --shard to analyse ({out}/)"
            if not left
            else f"progress: solvable status {out}; when every shard has finished, run the "
            "command without --shard to analyse"
        )
        return 0
    print(
        f"shard {args.shard}: no stored sweep of this command was left to fill (all complete, "
        f"or none stored), so it ran in full: results in {out}/"
    )
    return 0


def _start_distributed(parser, args) -> bool:
    """Start JAX's distributed runtime if asked (``--distributed``) or set up by the environment."""
    from simulations import distributed

    if not distributed.requested(args.distributed):
        return False
    if args.shard is not None:
        parser.error("--shard cannot be combined with --distributed (processes split rows)")
    try:
        distributed.initialize()
    except ValueError as err:
        parser.error(str(err))
    return True


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` all at once (the shards of one command write it concurrently)."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _claim_out(parser, out: Path, record: dict, overwrite: bool) -> None:
    """Refuse an ``--out`` holding another command's (or config's) results, unless overwriting."""
    previous = out / "config.json"
    if out.is_dir():
        same = False
        if previous.is_file():
            try:
                old = json.loads(previous.read_text())
            except (OSError, json.JSONDecodeError):
                old = {}
            keys = ("model", "verb", "config", "version")
            same = all(old.get(k) == record[k] for k in keys)
            what = f"results of 'solvable {old.get('verb', '?')} {old.get('model', '?')}'"
            if old.get("model") == record["model"] and old.get("verb") == record["verb"]:
                what += " with another config or version"
        else:
            has_results = (out / "sweep").exists() or (out / "comparison.csv").exists()
            what = "results of an unknown command" if has_results else ""
        if what and not same:
            if not overwrite:
                parser.error(
                    f"--out {str(out)!r} holds {what}; choose another --out or pass --overwrite"
                )
            shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        parser.error(f"--out: cannot create {str(out)!r}: {err.strerror}")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--gammas -1,0.5`` → ``--gammas=-1,0.5`` (argparse would read ``-1,0.5`` as an option)."""
    out: list[str] = []
    for token in argv:
        prev = out[-1] if out else ""
        looks_negative = (
            len(token) > 1 and token[0] == "-" and (token[1].isdigit() or token[1] == ".")
        )
        if looks_negative and prev.startswith("--") and "=" not in prev:
            out[-1] = f"{prev}={token}"
        else:
            out.append(token)
    return out


def _version() -> str:
    from simulations import __version__

    return __version__


def _run_figure(args, figures) -> int:
    if args.list or not args.name:
        width = max((len(n) for n in figures), default=0)
        for name, (_, description) in figures.items():
            print(f"{name:<{width}}  {description}")
        return 0
    if args.name not in figures:
        raise SystemExit(f"unknown figure {args.name!r}; see: solvable figure --list")
    if args.quick and args.preset not in (None, "quick"):
        raise SystemExit(f"solvable figure: --quick contradicts --preset {args.preset}")
    preset = "quick" if args.quick else (args.preset or "default")
    suffix = "" if preset == "default" else f"-{preset}"
    out = args.out or Path("results") / f"figures{suffix}"
    out.mkdir(parents=True, exist_ok=True)
    from paper_figures import cache

    module = importlib.import_module(figures[args.name][0])
    for path in cache.render(module, preset, out, cache_dir=args.cache_dir, refresh=args.refresh):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``solvable`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    # XLA already spreads a batched chunk over the cores; a threaded OpenBLAS under it (LAPACK eigh,
    # scipy's L-BFGS-B) oversubscribes them and runs 10-100x slower. Must precede numpy's import.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    models, figures = discover_models(), discover_figures()
    parser = _top_parser(models, figures)
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"solvable-scaling {_version()}")
        return 0
    verb, rest = argv[0], argv[1:]
    debug = "--debug" in rest or os.environ.get("SOLVABLE_DEBUG") == "1"
    start = time.perf_counter()
    try:
        code = _dispatch(parser, verb, rest, models, figures)
    except (ValueError, TypeError, OSError, MemoryError) as err:
        if debug:
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        hint = "" if isinstance(err, _UsageError) else " (--debug for the traceback)"
        print(f"solvable: error: {message}{hint}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return code


def _dispatch(parser, verb: str, rest: list[str], models, figures) -> int:
    if verb == "figure":
        return _run_figure(_figure_parser(figures).parse_args(rest), figures)
    if verb == "fit":
        return _run_fit(_fit_parser().parse_args(rest))
    if verb == "status":
        return _run_status(_status_parser().parse_args(rest))
    if any(verb in vs for vs in models.values()):
        model = rest[0] if rest and not rest[0].startswith("-") else None
        rest = rest[1:] if model is not None else rest
        if model is None and any(a in ("-h", "--help") for a in rest):
            choices = sorted(m for m, vs in models.items() if verb in vs)
            print(f"usage: solvable {verb} MODEL [options]; MODEL: {' | '.join(choices)}")
            return 0
        return _run_verb(verb, model, rest, models)
    verbs = ", ".join(_verbs(models))
    parser.error(f"unknown verb {verb!r}; choose one of: {verbs}, figure, fit, status")
    return 2


if __name__ == "__main__":
    sys.exit(main())
