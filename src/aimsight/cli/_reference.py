"""docs/cli.md, generated from the commands themselves so it never drifts from the code.

Regenerate with ``python -m aimsight.cli._reference > docs/cli.md`` (a test checks it is current).
"""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["render_cli_reference"]

_HEADER = """# Command-line reference

Generated from the code by `python -m aimsight.cli._reference > docs/cli.md`; a test keeps it
in sync. Every command takes `--workspace/-w` (default: `$AIMSIGHT_WORKSPACE` or the current
folder) and every command that reports something takes `--json`. Errors are one line on stderr
and a non-zero exit status.
"""


def render_cli_reference(app: typer.Typer | None = None) -> str:
    """Markdown for every command and option of ``aimsight``, in the order ``--help`` shows."""
    if app is None:
        from aimsight.cli._app import app as aimsight_app

        app = aimsight_app
    root = typer.main.get_command(app)
    lines = [_HEADER]
    for path, command in _walk(root, ["aimsight"]):
        lines.extend(_render_command(path, command))
    return "\n".join(lines).rstrip() + "\n"


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found: list[tuple[list[str], Any]] = []
    subcommands: dict[str, Any] = getattr(command, "commands", {}) or {}
    if len(path) > 1:
        found.append((path, command))
    for name in sorted(subcommands):
        sub = subcommands[name]
        if not getattr(sub, "hidden", False):
            found.extend(_walk(sub, [*path, name]))
    return found


def _render_command(path: list[str], command: Any) -> list[str]:
    usage_args = " ".join(
        f"{param.name.upper()}" if param.required else f"[{param.name.upper()}]"
        for param in command.params
        if param.param_type_name == "argument"
    )
    has_subcommands = bool(getattr(command, "commands", None))
    usage = " ".join([*path, "[OPTIONS]", usage_args, "COMMAND" if has_subcommands else ""])
    help_text = (command.help or "").strip()
    lines = [f"## `{' '.join(path)}`", "", help_text, "", "```", " ".join(usage.split()), "```", ""]
    rows = [_render_param(param) for param in command.params if param.name != "help"]
    rows = [row for row in rows if row]
    if rows:
        lines += ["| argument / option | meaning |", "|---|---|", *rows, ""]
    return lines


def _render_param(param: Any) -> str:
    help_text = " ".join((getattr(param, "help", None) or "").split())
    if param.param_type_name == "argument":
        return f"| `{param.name.upper()}` | {help_text} |"
    names = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
    default = param.default
    if default not in (None, False, "", ()) and not callable(default) and not param.is_flag:
        help_text = f"{help_text} Default: `{default}`.".strip()
    return f"| {names} | {help_text.replace('|', '/')} |"


if __name__ == "__main__":  # pragma: no cover - a maintenance entry point
    import sys

    sys.stdout.write(render_cli_reference())
