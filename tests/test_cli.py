"""The `solvable` command: discovery of models, verbs and figures; options; the figure cache.

Each model's verbs are tested end to end in ``tests/test_<model>_commands.py``.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from paper_figures import cache
from simulations import cli, options

MODELS = cli.discover_models()
FIGURES = cli.discover_figures()
VERBS = [(m, v) for m, vs in MODELS.items() for v in vs]


def test_every_model_package_is_discovered():
    root = Path(cli.__file__).parent
    packages = {p.parent.name for p in root.glob("*/commands.py")}
    assert {m.replace("-", "_") for m in MODELS} == packages
    assert {"plrf", "random-features", "superposition", "lottery"} <= set(MODELS)
    for model, verbs in MODELS.items():
        assert "compare" in verbs, model
        assert all(help_line for help_line in verbs.values()), (model, verbs)


@pytest.mark.parametrize(("model", "verb"), VERBS, ids=[f"{m}-{v}" for m, v in VERBS])
def test_every_verb_takes_a_config_with_all_presets(model, verb):
    fn = cli.verb_function(model, verb)
    cls = cli.config_class(fn)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    for preset in options.PRESETS:
        cfg = cls.preset(preset)
        assert isinstance(cfg, cls)
        assert options.config_from_dict(cls, options.config_to_dict(cfg)) == cfg
    with pytest.raises(ValueError):
        cls.preset("enormous")
    parser = cli.verb_parser(verb, model, cls)
    help_text = parser.format_help()
    assert "--preset" in help_text and "--config" in help_text


def test_every_figure_is_discovered_and_follows_the_convention():
    assert len(FIGURES) >= 17
    models = {module.split(".")[1] for module, _ in FIGURES.values()}
    assert models == {"plrf", "random_features", "superposition", "lottery"}
    import importlib

    for name, (module_name, description) in FIGURES.items():
        module = importlib.import_module(module_name)
        assert description and module.DESCRIPTION == description, name
        for attr in ("config", "compute", "plot"):
            assert callable(getattr(module, attr, None)), (name, attr)
        for preset in options.PRESETS:
            json.dumps(module.config(preset))  # the cache key must be JSON


def test_help_is_instant_and_lists_every_verb():
    code = textwrap.dedent(
        """
        import sys
        from simulations import cli
        cli.main(["--help"])
        heavy = [m for m in ("jax", "numpy", "matplotlib", "xarray") if m in sys.modules]
        assert not heavy, heavy
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for verb in ("compare", "phase-diagram", "run", "figure"):
        assert verb in proc.stdout


def test_unknown_names_are_refused_with_one_line(capsys):
    with pytest.raises(SystemExit, match="unknown model 'no-such-model'"):
        cli.main(["compare", "no-such-model"])
    with pytest.raises(SystemExit, match="unknown figure"):
        cli.main(["figure", "no-such-figure"])
    with pytest.raises(SystemExit):
        cli.main(["frobnicate"])
    assert "unknown verb 'frobnicate'" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="has no 'phase-diagram' command"):
        cli.main(["phase-diagram", "lottery"])


def test_bad_options_fail_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["compare", "plrf", "--quick", "--preset", "paper", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "--quick contradicts --preset paper" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_field = 1\n")
    with pytest.raises(SystemExit):
        cli.main(["compare", "plrf", "--config", str(bad), "--out", str(tmp_path)])
    assert "unknown field(s) ['no_such_field']" in capsys.readouterr().err
    assert not (tmp_path / "config.json").exists()


def test_figure_list(capsys):
    assert cli.main(["figure", "--list"]) == 0
    out = capsys.readouterr().out
    for name in FIGURES:
        assert name in out


def _fake_figure(calls: list):
    module = types.ModuleType("paper_figures.fake.fake2026_demo")
    module.DESCRIPTION = "a demo"
    module.config = lambda preset: {"n": 3 if preset == "quick" else 5}
    module.compute = lambda cfg: calls.append(cfg) or {"x": list(range(cfg["n"]))}

    def plot(data, out_dir):
        path = out_dir / "demo.txt"
        path.write_text(json.dumps(data))
        return [path]

    module.plot = plot
    return module


def test_figure_cache_recomputes_only_when_the_key_changes(tmp_path, monkeypatch):
    calls: list = []
    fig = _fake_figure(calls)
    kw = {"cache_dir": tmp_path / "cache"}
    cache.render(fig, "quick", tmp_path / "a", **kw)
    cache.render(fig, "quick", tmp_path / "b", **kw)  # re-plot from the cache: no compute
    assert calls == [{"n": 3}]
    assert (tmp_path / "b" / "demo.txt").read_text() == json.dumps({"x": [0, 1, 2]})
    cache.render(fig, "default", tmp_path / "c", **kw)  # another config: computed
    assert calls == [{"n": 3}, {"n": 5}]
    cache.render(fig, "quick", tmp_path / "d", refresh=True, **kw)
    assert len(calls) == 3
    import simulations

    monkeypatch.setattr(simulations, "__version__", "999.0")  # a new version: recomputed
    cache.render(fig, "quick", tmp_path / "e", **kw)
    assert len(calls) == 4
    for p in (tmp_path / "cache").glob("*.pkl"):  # a truncated file is recomputed, not fatal
        p.write_bytes(p.read_bytes()[:10])
    cache.render(fig, "quick", tmp_path / "f", **kw)
    assert len(calls) == 5


def test_options_config_json_and_repeat(tmp_path):
    """Options reach the verb; config.json records them; --config config.json repeats the run."""
    first, again = tmp_path / "first", tmp_path / "again"
    argv = ["run", "plrf", "--quick", "--d", "16", "--steps", "500", "--seeds", "4"]
    assert cli.main([*argv, "--n-checkpoints", "8", "--no-progress", "--out", str(first)]) == 0
    record = json.loads((first / "config.json").read_text())
    assert record["model"] == "plrf" and record["verb"] == "run" and record["preset"] == "quick"
    assert record["config"]["d"] == 16 and record["config"]["steps"] == 500
    assert record["version"]
    config = str(first / "config.json")
    assert cli.main(["run", "plrf", "--config", config, "--no-progress", "--out", str(again)]) == 0
    assert json.loads((again / "config.json").read_text())["config"] == record["config"]
    assert (again / "loss_curves.csv").read_text() == (first / "loss_curves.csv").read_text()


def test_errors_are_one_line_and_out_is_guarded(tmp_path, capsys):
    out = tmp_path / "r"
    argv = ["run", "plrf", "--quick", "--d", "16", "--steps", "300", "--seeds", "2"]
    assert cli.main([*argv, "--no-progress", "--out", str(out)]) == 0
    capsys.readouterr()
    # the same --out with another command or config is refused ...
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv[:-1], "3", "--no-progress", "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "holds results of 'solvable run plrf' with another config" in err
    assert "Traceback" not in err
    # ... unless overwriting; a plain error from the model is one line, exit code 2
    assert cli.main([*argv[:-1], "3", "--no-progress", "--overwrite", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["seeds"] == 3
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "plrf", "--alpha", "-1", "--out", str(tmp_path / "bad")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("solvable: error: alpha")
    with pytest.raises(ValueError, match="alpha"):  # --debug: the exception itself
        cli.main(["run", "plrf", "--alpha", "-1", "--debug", "--out", str(tmp_path / "bad")])
