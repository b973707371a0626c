"""Render every paper figure and write the gallery page that shows it.

``python docs/gallery/build.py`` renders each figure of ``solvable figure --list`` in the
``quick`` preset into ``docs/gallery/img/`` and writes ``docs/gallery/index.md`` (each figure
with its description, the command that made it and its data's config) and
``docs/gallery/manifest.json``. ``make gallery`` runs exactly this; ``make figures`` runs it with
``--preset default --out results/figures`` (the real figures; minutes to hours on 2 CPU cores).

Options: ``--preset quick|default|paper``, ``--out DIR``, ``--only NAME[,NAME...]`` (re-render
some figures and keep the others' entries), ``--cache-dir DIR`` (the figure-data cache;
re-plotting after a style change reads it instead of recomputing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GALLERY = Path(__file__).resolve().parent
MAX_WIDTH = 1400  # px: larger renders are downscaled for the site (the PNG stays legible)


def _shrink(path: Path) -> None:
    """Downscale a PNG wider than MAX_WIDTH and re-save it optimised (Pillow ships with
    matplotlib)."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.width > MAX_WIDTH:
            im = im.resize((MAX_WIDTH, round(im.height * MAX_WIDTH / im.width)), Image.LANCZOS)
        im.save(path, optimize=True)


def _command(name: str, preset: str) -> str:
    return f"solvable figure {name}" + ("" if preset == "default" else f" --preset {preset}")


def render_all(preset: str, out: Path, only: set[str] | None, cache_dir: str | None) -> dict:
    """Render the figures into ``out/img`` and return the manifest ``{name: entry}``."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import importlib

    from paper_figures import cache
    from simulations.cli import discover_figures

    figures = discover_figures()
    unknown = sorted((only or set()) - set(figures))
    if unknown:
        raise SystemExit(f"unknown figure(s) {', '.join(unknown)}; see: solvable figure --list")
    manifest_path = out / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest = {}
    img = out / "img"
    img.mkdir(parents=True, exist_ok=True)
    for name, (module_name, description) in figures.items():
        if only is not None and name not in only and name in old:
            manifest[name] = old[name]
            continue
        module = importlib.import_module(module_name)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            paths = cache.render(module, preset, tmp, cache_dir=cache_dir)
            images = []
            for path in paths:
                if path.suffix.lower() != ".png":
                    continue
                target = img / path.name
                shutil.copyfile(path, target)
                _shrink(target)
                images.append(f"img/{path.name}")
        seconds = time.perf_counter() - start
        print(f"{name}: {len(images)} image(s), {seconds:.1f} s", flush=True)
        manifest[name] = {
            "description": description,
            "module": module_name,
            "preset": preset,
            "command": _command(name, preset),
            "config": json.loads(json.dumps(module.config(preset), default=str)),
            "images": images,
        }
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def _model_of(module_name: str) -> str:
    return module_name.split(".")[1]


_MODEL_TITLES = {
    "plrf": "Power-law random features (PLRF)",
    "random_features": "Random-feature regression",
    "superposition": "Superposition",
    "lottery": "Lottery-ticket ensembles",
}


def page(manifest: dict) -> str:
    """The gallery page (Markdown) for ``manifest``."""
    presets = sorted({entry["preset"] for entry in manifest.values()})
    lines = [
        "# Gallery",
        "",
        "Every paper figure the library reproduces (`solvable figure --list`), each with the "
        "command that made it and the config of its data.",
        "",
    ]
    if presets == ["quick"]:
        lines += [
            '!!! note "Quick-preset renders"',
            "    These images were rendered in the **quick preset** (small sizes and short "
            "budgets, so that the whole gallery renders in minutes on 2 CPU cores): exponents "
            "measured on them are biased, and each image says so in its corner. "
            "`solvable figure NAME` (the default preset) or `--preset paper` makes the real "
            "figure; `make figures` makes all of them into `results/figures/`.",
            "",
        ]
    lines += [
        "Rebuild this page and its images with `make gallery` "
        "(`python docs/gallery/build.py`). A figure's data is computed once per (config, "
        "package version) and cached (`$SOLVABLE_CACHE_DIR`, default "
        "`~/.cache/solvable-scaling/figures`), so re-plotting is fast.",
        "",
    ]
    by_model: dict[str, list[str]] = {}
    for name, entry in manifest.items():
        by_model.setdefault(_model_of(entry["module"]), []).append(name)
    for model in sorted(by_model, key=lambda m: list(_MODEL_TITLES).index(m)):
        lines += [f"## {_MODEL_TITLES.get(model, model)}", ""]
        for name in by_model[model]:
            entry = manifest[name]
            lines += [f"### {name}", "", entry["description"] + ".", ""]
            for image in entry["images"]:
                lines += [f"![{name}]({image}){{ loading=lazy }}", ""]
            config = json.dumps(entry["config"], indent=1, ensure_ascii=False)
            call = f"{entry['module']}.config('{entry['preset']}')"
            lines += [
                "```bash",
                entry["command"],
                "```",
                "",
                f'??? info "Config of this render (`{call}`)"',
                "",
                "    ```json",
                *("    " + line for line in config.splitlines()),
                "    ```",
                "",
            ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=("quick", "default", "paper"), default="quick")
    parser.add_argument("--out", type=Path, default=GALLERY, help="default: docs/gallery")
    parser.add_argument("--only", default=None, help="comma-separated figure names")
    parser.add_argument("--cache-dir", default=None, help="figure-data cache directory")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = render_all(args.preset, args.out, only, args.cache_dir)
    (args.out / "index.md").write_text(page(manifest))
    print(f"wrote {args.out / 'index.md'} ({len(manifest)} figures)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
