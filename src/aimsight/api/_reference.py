"""The generated parts of docs/api.md (routes table) and docs/security.md (permission matrix).

``python -m aimsight.api._reference`` prints the routes table;
``python -m aimsight.api._reference --docs docs`` rewrites the marked blocks in both files.
Tests fail when either file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aimsight.api._auth import PERMISSION_EXTENSION
from aimsight.api._routes import v1_routes
from aimsight.security import render_permission_matrix

__all__ = ["MARKERS", "render_routes_table", "replace_block", "update_docs"]

MARKERS = {
    "api.md": ("<!-- routes:start -->", "<!-- routes:end -->"),
    "security.md": ("<!-- permission-matrix:start -->", "<!-- permission-matrix:end -->"),
}


def render_routes_table() -> str:
    """Every /v1 route as a Markdown table: method, path, permission, summary."""
    lines = ["| method | path | permission | what it does |", "|---|---|---|---|"]
    for route in v1_routes():
        permission = (route.openapi_extra or {}).get(PERMISSION_EXTENSION, "")
        summary = (route.description or "").strip().splitlines()[0] if route.description else ""
        for method in sorted(route.methods or ()):
            lines.append(f"| `{method}` | `{route.path}` | `{permission}` | {summary} |")
    return "\n".join(lines) + "\n"


def replace_block(text: str, start: str, end: str, block: str) -> str:
    """``text`` with what lies between the ``start`` and ``end`` markers replaced by ``block``.

    Raises:
        ValueError: a marker is missing.
    """
    head, found_start, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not found_start or not found_end:
        raise ValueError(f"markers {start} and {end} not found")
    return f"{head}{start}\n{block}{end}{tail}"


def update_docs(docs_dir: Path) -> list[Path]:
    """Rewrite the generated blocks of ``api.md`` and ``security.md``; return changed files."""
    blocks = {"api.md": render_routes_table(), "security.md": render_permission_matrix()}
    changed = []
    for name, block in blocks.items():
        path = docs_dir / name
        old = path.read_text("utf-8")
        new = replace_block(old, *MARKERS[name], block)
        if new != old:
            path.write_text(new, "utf-8")
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    """Print the routes table, or with ``--docs DIR`` update the docs in DIR."""
    if len(argv) == 2 and argv[0] == "--docs":
        for path in update_docs(Path(argv[1])):
            sys.stdout.write(f"updated {path}\n")
        return 0
    if argv:
        sys.stderr.write("usage: python -m aimsight.api._reference [--docs DIR]\n")
        return 2
    sys.stdout.write(render_routes_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
