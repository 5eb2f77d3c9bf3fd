"""docs/security.md shows the permission matrix the code enforces."""

from __future__ import annotations

from pathlib import Path

from aimsight.security import render_permission_matrix

DOC = Path(__file__).parents[2] / "docs" / "security.md"
START, END = "<!-- permission-matrix:start -->", "<!-- permission-matrix:end -->"


def test_the_permission_matrix_in_docs_security_md_is_current() -> None:
    block = DOC.read_text("utf-8").split(START, 1)[1].split(END, 1)[0].removeprefix("\n")
    assert block == render_permission_matrix(), (
        "docs/security.md is stale: run `python -m aimsight.api._reference --docs docs`"
    )
