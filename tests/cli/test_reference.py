"""docs/cli.md lists every command and option as the code defines them."""

from __future__ import annotations

from pathlib import Path

from aimsight.cli._reference import render_cli_reference

DOC = Path(__file__).parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_current() -> None:
    assert DOC.read_text("utf-8") == render_cli_reference(), (
        "docs/cli.md is stale: run `python -m aimsight.cli._reference > docs/cli.md`"
    )


def test_every_command_is_documented_with_its_options() -> None:
    text = render_cli_reference()
    for heading in ("## `aimsight init`", "## `aimsight status`", "## `aimsight db upgrade`"):
        assert heading in text
    assert "`--workspace`, `-w`" in text and "`--json`" in text
