"""docs/api.md lists every /v1 route as the code defines it."""

from __future__ import annotations

from pathlib import Path

from aimsight.api._reference import MARKERS, render_routes_table

DOC = Path(__file__).parents[2] / "docs" / "api.md"


def _block(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].removeprefix("\n")


def test_the_routes_table_in_docs_api_md_is_current() -> None:
    block = _block(DOC.read_text("utf-8"), *MARKERS["api.md"])
    assert block == render_routes_table(), (
        "docs/api.md is stale: run `python -m aimsight.api._reference --docs docs`"
    )


def test_the_routes_table_names_each_routes_permission() -> None:
    table = render_routes_table()
    assert "| `GET` | `/v1/health` | `health:read` |" in table
    assert "| `POST` | `/v1/users` | `users:manage` |" in table
