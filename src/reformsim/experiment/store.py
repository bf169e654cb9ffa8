"""Results store: one directory per experiment, one atomic file per finished run, resumable.

Layout::

    OUT/manifest.json        what the experiment is (design hash, seeds, arms, versions)
    OUT/runs/00000042.json   one finished run (written to a temporary file, then renamed)
    OUT/events.log           "done <run_id>" per finished run, appended as runs finish

Re-running the same command skips the runs whose files exist, so an interrupted experiment
(Ctrl-C, ``kill -9``, a lost worker) resumes where it stopped. A different design in the same
directory is refused, never mixed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from reformsim.errors import ReformsimError


class ExperimentError(ReformsimError):
    """An experiment cannot run as asked (bad file, or a store that holds another design)."""


def read_toml_file(path: Path, kind: str) -> dict[str, Any]:
    """Read an experiment or sensitivity file; any failure is one :class:`ExperimentError` line."""
    import tomllib

    article = "an" if kind[0] in "aeiou" else "a"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExperimentError(
            f"{path}: expected an existing {kind} file, got no such file (file not found)") from None
    except IsADirectoryError:
        raise ExperimentError(f"{path}: expected {article} {kind} file, got a directory") from None
    except UnicodeDecodeError as exc:
        raise ExperimentError(f"{path}: expected UTF-8 text (TOML), got {exc.reason} at byte "
                              f"{exc.start} (save the file as UTF-8)") from None
    except OSError as exc:
        raise ExperimentError(
            f"{path}: expected a readable {kind} file, got {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: not valid TOML: {exc}") from None


def design_hash(design: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of what defines the experiment's runs."""
    blob = json.dumps(design, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see either the old content or the whole new content."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class ResultStore:
    """A directory holding one experiment's finished runs.

    Parameters
    ----------
    path
        The experiment directory (created if missing).
    manifest
        Must contain ``design_hash``. If the directory already has a manifest with another
        design hash, :class:`ExperimentError` is raised.
    """

    def __init__(self, path: str | Path, manifest: dict[str, Any]) -> None:
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        mpath = self.path / "manifest.json"
        if mpath.exists():
            old = json.loads(mpath.read_text())
            if old.get("design_hash") != manifest["design_hash"]:
                raise ExperimentError(
                    f"--out {self.path}: expected an empty directory or one holding the same "
                    f"experiment (design {manifest['design_hash'][:12]}), got a different one "
                    f"(design {str(old.get('design_hash'))[:12]}); use another --out or delete it"
                )
        else:
            atomic_write_text(mpath, json.dumps(_clean(manifest), indent=2, ensure_ascii=False) + "\n")
        self.manifest = manifest
        self._repair()

    def _repair(self) -> None:
        """Make the log agree with the stored runs after a kill; drop half-written temp files.

        A kill between renaming a run file into place and appending its log line leaves a stored
        run without a line: it is logged now (it was done once, and is not done again).
        """
        for tmp in self.runs_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        log = self.path / "events.log"
        logged = set()
        if log.exists():
            logged = {int(line.split()[1]) for line in log.read_text().splitlines()
                      if line.startswith("done ")}
        missing = sorted(self.done_ids() - logged)
        if missing:
            with log.open("a") as fh:
                fh.writelines(f"done {i}\n" for i in missing)
                fh.flush()
                os.fsync(fh.fileno())

    def _file(self, run_id: int) -> Path:
        return self.runs_dir / f"{run_id:08d}.json"

    def done_ids(self) -> set[int]:
        """Ids of runs whose result file exists."""
        return {int(p.stem) for p in self.runs_dir.glob("*.json")}

    def write(self, record: dict[str, Any]) -> None:
        """Store one finished run atomically and log it."""
        run_id = int(record["run_id"])
        atomic_write_text(self._file(run_id), json.dumps(_clean(record), separators=(",", ":")))
        with (self.path / "events.log").open("a") as fh:
            fh.write(f"done {run_id}\n")
            fh.flush()
            os.fsync(fh.fileno())

    def load(self, run_ids: list[int]) -> list[dict[str, Any]]:
        """The stored records of the given runs, in the given order."""
        return [json.loads(self._file(i).read_text()) for i in run_ids]
