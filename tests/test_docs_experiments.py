"""docs/experiments.md stays true to the code: every sweep-file key and every CLI option of the
experiment subcommands is documented, and so are the comparison columns and the kept series."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest
from pydantic import BaseModel

from reformsim.cli import build_parser
from reformsim.experiment.runner import DEFAULT_SERIES
from reformsim.experiment.spec import DesignSection, ExperimentSection, Factor, SweepSpec
from reformsim.experiment.stats import paired

from .conftest import ROOT

DOC = ROOT / "docs" / "experiments.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _ticked(text: str, name: str) -> bool:
    return f"`{name}`" in text


def _subcommand(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action.choices[name]
    raise AssertionError("reformsim has no subcommands")


def _options(name: str) -> list[str]:
    """Long options of a subcommand, help excluded."""
    return sorted({opt for action in _subcommand(name)._actions  # noqa: SLF001
                   for opt in action.option_strings
                   if opt.startswith("--") and opt != "--help"})


@pytest.mark.parametrize("model", [SweepSpec, ExperimentSection, DesignSection, Factor],
                         ids=lambda m: m.__name__)
def test_every_sweep_key_is_documented(model: type[BaseModel]) -> None:
    text = _text()
    missing = [k for k in model.model_fields if not _ticked(text, k)]
    assert not missing, f"{model.__name__} keys not documented in docs/experiments.md: {missing}"


def test_sweep_schema_sections_are_named() -> None:
    text = _text()
    for model in (ExperimentSection, DesignSection, Factor):
        assert _ticked(text, model.__name__), model.__name__
    for kind in ("full_factorial", "lhs"):
        assert f'"{kind}"' in text, kind


@pytest.mark.parametrize("command", ["compare", "sweep", "replicate", "demo"])
def test_every_cli_option_is_documented(command: str) -> None:
    text = _text()
    options = _options(command)
    assert "--out" in options and "--workers" in options  # the parser was walked
    missing = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)]
    assert not missing, f"'reformsim {command}' options not documented: {missing}"


def test_compare_and_sweep_options_are_the_documented_set() -> None:
    assert _options("compare") == ["--dask", "--no-progress", "--out", "--replicates", "--seed",
                                   "--serial", "--workers"]
    assert _options("sweep") == ["--dask", "--no-progress", "--out", "--serial", "--workers"]


def test_every_comparison_column_is_documented() -> None:
    text = _text()
    columns = ["kpi", "baseline", "arm", *paired(np.arange(3.0), np.arange(3.0) + 1)]
    missing = [c for c in columns if not _ticked(text, c)]
    assert not missing, f"comparison columns not documented: {missing}"


def test_kept_series_and_seed_rule_are_documented() -> None:
    text = _text()
    missing = [s for s in DEFAULT_SERIES if not _ticked(text, s)]
    assert not missing, f"kept daily series not documented: {missing}"
    assert "SeedSequence(root).spawn(R)[k]" in text
    assert "out/<kind>-<design hash>" in text
