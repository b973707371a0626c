"""Configs as CLI options, TOML/JSON files and config.json (simulations.options)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Literal

import pytest

from simulations import options


@dataclasses.dataclass(frozen=True)
class Inner:
    """An optimiser recipe.

    Attributes:
        steps: optimiser steps.
        lr: learning rate.
    """

    steps: int = 100
    lr: float = 0.1


@dataclasses.dataclass(frozen=True)
class Demo:
    """A demo config.

    Attributes:
        sizes: model sizes, several
            lines of help.
        points: (alpha, beta) pairs.
        seeds: seeds per point.
        law: frequency law.
        steps: optional step count.
        flag: a switch.
        recipe: the recipe.
        recipes: several recipes (config file only).
    """

    sizes: tuple[int, ...] = (32, 64)
    points: tuple[tuple[float, ...], ...] = ((1.0, 0.3),)
    seeds: int = 2
    law: Literal["power", "exponential"] = "power"
    steps: int | None = None
    flag: bool = False
    recipe: Inner = Inner()
    recipes: tuple[Inner, ...] = (Inner(),)

    @classmethod
    def preset(cls, name: str) -> Demo:
        if name == "quick":
            return cls(sizes=(8, 16), seeds=1)
        if name in ("default", "paper"):
            return cls()
        raise ValueError(f"unknown preset {name!r}")


def _parse(argv):
    p = argparse.ArgumentParser()
    options.add_config_options(p, Demo)
    return options.cli_overrides(p.parse_args(argv))


def test_options_override_preset_and_parse_types():
    argv = ["--sizes", "16,32,64", "--points", "0.7,1;0.4,0.8", "--law", "exponential"]
    over = _parse([*argv, "--steps", "1e3", "--flag", "true", "--recipe-lr", "0.03"])
    cfg = options.resolve_config(Demo, "quick", None, over)
    assert cfg.sizes == (16, 32, 64)
    assert cfg.points == ((0.7, 1.0), (0.4, 0.8))
    assert cfg.law == "exponential" and cfg.steps == 1000 and cfg.flag is True
    assert cfg.recipe == Inner(steps=100, lr=0.03)
    assert cfg.seeds == 1  # from the preset


def test_a_bool_field_is_a_switch():
    assert _parse(["--flag"]) == {("flag",): True}
    assert _parse(["--flag", "false"]) == {("flag",): False}
    assert _parse(["--flag", "--steps", "5"]) == {("flag",): True, ("steps",): 5}
    assert _parse([]) == {}


def test_help_text_comes_from_the_docstring():
    helps = options.field_help(Demo)
    assert helps["sizes"] == "model sizes, several lines of help."
    assert helps["recipes"] == "several recipes (config file only)."


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--seeds", "two"], "--seeds must be an integer"),
        (["--seeds", "2.5"], "--seeds must be an integer"),
        (["--law", "cubic"], "--law must be one of"),
        (["--sizes", "8,x"], "--sizes must be an integer"),
    ],
)
def test_bad_option_values_are_one_line_errors(argv, match, capsys):
    with pytest.raises(SystemExit):
        _parse(argv)
    err = capsys.readouterr().err
    assert match in err
    assert "Traceback" not in err


def test_toml_and_config_json_round_trip(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text(
        'sizes = [4, 8]\nlaw = "exponential"\n[recipe]\nsteps = 7\n'
        "[[recipes]]\nsteps = 1\n[[recipes]]\nlr = 0.5\n"
    )
    cfg = options.resolve_config(Demo, "default", toml, {("seeds",): 5})
    assert cfg.sizes == (4, 8) and cfg.law == "exponential" and cfg.seeds == 5
    assert cfg.recipe == Inner(steps=7, lr=0.1)
    assert cfg.recipes == (Inner(steps=1), Inner(lr=0.5))
    record = {"preset": "default", "config": options.config_to_dict(cfg)}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(record))
    again = options.resolve_config(Demo, "quick", path)
    assert again == cfg


def test_config_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("sizez = [1]\n")
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['sizez'\]"):
        options.resolve_config(Demo, "default", bad)
    bad.write_text('seeds = "x"\n')
    with pytest.raises(ValueError, match="seeds must be an integer"):
        options.resolve_config(Demo, "default", bad)
    with pytest.raises(ValueError, match="no such file"):
        options.resolve_config(Demo, "default", tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="preset must be one of"):
        options.resolve_config(Demo, "huge")
