"""Run the CLI in-process, as a user would from a shell, and capture what they would see."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aimsight.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``aimsight argv``; return the exit code, stdout and stderr."""
    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``aimsight argv --json``, which must succeed; its parsed output."""
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)
