"""Regenerate the regression baseline on purpose: ``python tests/update_baseline.py``.

Runs the reduced N Street scenarios (tests/conftest.py ``SMALL``) with a fixed seed and writes
their KPI summaries to ``tests/baseline/summaries.json``. Review the diff, and say in
CHANGELOG.md why the model's outputs changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline" / "summaries.json"
SEED = 20261127
ARMS = ("n_street_siloed.toml", "n_street_integrated.toml")


def compute() -> dict[str, dict[str, float]]:
    """The current summaries of the baseline runs."""
    sys.path.insert(0, str(HERE.parent))
    import reformsim
    from tests.conftest import small

    return {arm: reformsim.run(small(arm), seed=SEED).summary for arm in ARMS}


def main() -> None:
    """Write the baseline file."""
    data = {"seed": SEED, "scenarios": "tests/conftest.py SMALL variants", "summaries": compute()}
    BASELINE.parent.mkdir(exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=True) + "\n"
    BASELINE.write_text(text)
    print(f"wrote {BASELINE}")


if __name__ == "__main__":
    main()
