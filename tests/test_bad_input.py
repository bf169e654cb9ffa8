"""Bad scenario input: each malformed file gives one clear line and exit status 2, no traceback.

The corpus is ``tests/bad_scenarios/``: each file holds one realistic mistake, described in its
first line, and ``EXPECTED.toml`` says which field path the error must name (and any other text
it must contain). Files directly in the corpus fail ``load_scenario`` / ``reformsim validate``;
files in ``build_time/`` validate but fail when the model is built (``reformsim run``).

The CLI is exercised in-process (``cli.main``: one call per file) and, to prove that no traceback
escapes a real interpreter, through ``python -m reformsim`` subprocesses. Importing reformsim
takes ~2 s of CPU per interpreter, so the subprocesses are few and started together: one
``validate`` over the whole corpus (it reports each bad file on its own line), one over the
shipped scenarios, one single-file ``validate`` and one single-file ``run``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import reformsim
from reformsim import cli

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "bad_scenarios"
MANIFEST: dict[str, dict] = tomllib.loads((CORPUS / "EXPECTED.toml").read_text(encoding="utf-8"))
LOAD_FILES = sorted(p.name for p in CORPUS.glob("*.toml") if p.name != "EXPECTED.toml")
BUILD_FILES = sorted(f"build_time/{p.name}" for p in (CORPUS / "build_time").glob("*.toml"))
GOOD_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "scenarios").glob("*.toml"))
MISSING_FILE = "tests/bad_scenarios/no_such_scenario.toml"
#: the files also checked with their own `python -m reformsim validate FILE` / `run FILE` process
SINGLE_VALIDATE = "invalid_toml_unquoted_string.toml"
SINGLE_RUN = "build_time/department_keeps_matters_without_officers.toml"
PREFIX = "reformsim: error: "


def rel(name: str) -> str:
    """A corpus file's path relative to the repository root (the subprocesses' cwd)."""
    return f"tests/bad_scenarios/{name}"


def check_message(message: str, path: str, name: str) -> None:
    """One line: '<path>: <field...>: expected ..., got ...' plus the manifest's extra text."""
    exp = MANIFEST[name]
    assert "\n" not in message.strip(), message
    assert "Traceback" not in message
    assert message.startswith(f"{path}: {exp['field']}"), (message, exp["field"])
    assert re.search(r": expected .+, got ", message), message
    for text in exp.get("contains", []):
        assert text in message, (message, text)


# ---------------------------------------------------------------- the corpus itself


def test_corpus_is_large_enough() -> None:
    assert len(LOAD_FILES) >= 20
    assert len(BUILD_FILES) >= 2


def test_manifest_covers_exactly_the_corpus() -> None:
    assert set(MANIFEST) == set(LOAD_FILES) | set(BUILD_FILES)


@pytest.mark.parametrize("name", LOAD_FILES + BUILD_FILES)
def test_each_file_says_what_is_wrong(name: str) -> None:
    first = (CORPUS / name).read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert re.match(r"# \S.{10,}", first), first


# ---------------------------------------------------------------- library: load_scenario


@pytest.mark.parametrize("name", LOAD_FILES)
def test_load_scenario_names_the_field(name: str) -> None:
    path = CORPUS / name
    field = MANIFEST[name]["field"]
    with pytest.raises(reformsim.ScenarioError, match=re.escape(field)) as info:
        reformsim.load_scenario(path)
    check_message(str(info.value), str(path), name)


def test_missing_file_is_a_scenario_error() -> None:
    path = ROOT / MISSING_FILE
    with pytest.raises(reformsim.ScenarioError, match="expected an existing scenario file") as info:
        reformsim.load_scenario(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", BUILD_FILES)
def test_build_time_errors_pass_validation_then_fail_at_build(name: str) -> None:
    path = CORPUS / name
    sc = reformsim.load_scenario(path)  # valid as data...
    assert sc.population.n_enterprises <= 100 and sc.run.days <= 10  # ...and tiny, so this is fast
    field = MANIFEST[name]["field"]
    with pytest.raises(reformsim.ScenarioError, match=re.escape(field)):
        reformsim.ReformModel(sc, seed=1)


# ---------------------------------------------------------------- CLI in-process, one file per call


def assert_one_error_line(capsys: pytest.CaptureFixture[str], path: str, name: str) -> None:
    """Nothing on stdout; one line on stderr, the expected message for corpus file ``name``."""
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX)
    check_message(lines[0].removeprefix(PREFIX), path, name)


@pytest.mark.parametrize("name", LOAD_FILES)
def test_cli_validate_one_file(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(CORPUS / name)
    assert cli.main(["validate", path]) == 2
    assert_one_error_line(capsys, path, name)


@pytest.mark.parametrize("name", BUILD_FILES)
def test_cli_run_build_time_error(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(CORPUS / name)
    assert cli.main(["run", path, "--quiet"]) == 2
    assert_one_error_line(capsys, path, name)


def test_cli_validate_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", MISSING_FILE]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{PREFIX}{MISSING_FILE}: expected an existing scenario file, got no such file\n"


# ---------------------------------------------------------------- CLI in real interpreters


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


class Processes:
    """`python -m reformsim ...` subprocesses, all started at once, collected on demand."""

    def __init__(self) -> None:
        env = dict(os.environ)
        paths = [str(ROOT / "src"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        self._env = env
        self._running: dict[str, subprocess.Popen[str]] = {}
        self._done: dict[str, Done] = {}

    def start(self, key: str, *args: str) -> None:
        self._running[key] = subprocess.Popen(
            [sys.executable, "-m", "reformsim", *args],
            cwd=ROOT, env=self._env, text=True, encoding="utf-8",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )

    def result(self, key: str) -> Done:
        if key not in self._done:
            out, err = self._running[key].communicate(timeout=120)
            self._done[key] = Done(self._running[key].returncode, out, err)
        return self._done[key]

    def stop(self) -> None:
        for proc in self._running.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.fixture(scope="module")
def procs() -> Iterator[Processes]:
    p = Processes()
    p.start("batch", "validate", *(rel(n) for n in LOAD_FILES), MISSING_FILE)
    p.start("good", "validate", *GOOD_FILES)
    p.start("single_validate", "validate", rel(SINGLE_VALIDATE))
    p.start("single_run", "run", rel(SINGLE_RUN), "--quiet")
    yield p
    p.stop()


def test_subprocess_validate_corpus_exits_2_without_traceback(procs: Processes) -> None:
    done = procs.result("batch")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == len(LOAD_FILES) + 1  # one line per bad file, the missing one included
    assert all(line.startswith(PREFIX) for line in lines)


@pytest.mark.parametrize("name", LOAD_FILES)
def test_subprocess_validate_reports_each_file_on_one_line(procs: Processes, name: str) -> None:
    path = rel(name)
    stderr = procs.result("batch").stderr
    lines = [ln for ln in stderr.splitlines() if ln.startswith(f"{PREFIX}{path}: ")]
    assert len(lines) == 1, lines
    check_message(lines[0].removeprefix(PREFIX), path, name)


@pytest.mark.parametrize(("key", "name"), [("single_validate", SINGLE_VALIDATE),
                                         ("single_run", SINGLE_RUN)])
def test_subprocess_single_file(procs: Processes, key: str, name: str) -> None:
    done = procs.result(key)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(PREFIX)
    check_message(lines[0].removeprefix(PREFIX), rel(name), name)


def test_subprocess_validate_good_scenarios(procs: Processes) -> None:
    done = procs.result("good")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    for path, line in zip(GOOD_FILES, done.stdout.splitlines(), strict=True):
        assert line.startswith(f"{path}: ok ("), line

