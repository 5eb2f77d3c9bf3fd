"""A fast CLI: `aimsight --help`, `aimsight version` and group help load no data or ML library.

Each check runs in a fresh interpreter, since this test session has long since imported them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer

from aimsight.cli import app
from aimsight.security import Role

# Libraries that take from a tenth of a second to seconds to import; commands load them when
# they run, never to print help.
HEAVY = (
    "sklearn",
    "scipy",
    "lifelines",
    "fairlearn",
    "shap",
    "matplotlib",
    "splink",
    "pandas",
    "duckdb",
    "pyarrow",
    "sqlalchemy",
)

_PROBE = """
import json, sys
from aimsight.cli import main
argv = json.loads(sys.argv[1])
if argv is not None:
    try:
        main(argv)
    except SystemExit:
        pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def _modules_loaded(argv: list[str] | None) -> set[str]:
    """Top-level packages loaded by importing the CLI and, unless ``None``, running ``argv``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    listed = done.stderr.rpartition("\nMODULES ")[2]
    return {name.partition(".")[0] for name in json.loads(listed)}


@pytest.mark.parametrize(
    "argv",
    [None, ["--help"], ["version"], ["models", "--help"], ["identity", "run", "--help"]],
    ids=["import", "help", "version", "models-help", "identity-run-help"],
)
def test_help_and_version_load_no_heavy_library(argv: list[str] | None) -> None:
    loaded = _modules_loaded(argv)
    assert sorted(loaded.intersection(HEAVY)) == []
    assert "aimsight" in loaded


def test_users_add_help_names_every_role() -> None:
    # The CLI spells the roles out instead of importing the security layer to build its help.
    users = typer.main.get_command(app).commands["users"]  # type: ignore[attr-defined]
    role = next(param for param in users.commands["add"].params if param.name == "role")
    assert role.help == "One of: " + ", ".join(r.value for r in Role)
