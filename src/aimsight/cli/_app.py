"""The ``aimsight`` Typer application and its entry point."""

from __future__ import annotations

import importlib
import sys

import click
import typer

from aimsight import __version__
from aimsight.cli import _workspace_cmds
from aimsight.cli._common import err_console
from aimsight.core.errors import AimsightError

__all__ = ["app", "main"]

app = typer.Typer(
    name="aimsight",
    help="Governed customer intelligence: profiles, predictions and decisions you can prove.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("version")
def version_command() -> None:
    """Print the aimsight version."""
    typer.echo(__version__)


_workspace_cmds.register(app)


def _register_optional() -> None:
    """Command groups that live in their own modules."""
    from aimsight.cli import (
        _aims_cmds,
        _consent_cmds,
        _contracts_cmds,
        _decide_cmds,
        _demo_cmds,
        _features_cmds,
        _identity_cmds,
        _ingest_cmds,
        _ledger_cmds,
        _lineage_cmds,
        _models_cmds,
        _quarantine_cmds,
        _serve_cmds,
        _users_cmds,
    )

    for module in (
        _ingest_cmds,
        _contracts_cmds,
        _quarantine_cmds,
        _lineage_cmds,
        _identity_cmds,
        _features_cmds,
        _consent_cmds,
        _models_cmds,
        _decide_cmds,
        _ledger_cmds,
        _aims_cmds,
        _users_cmds,
        _serve_cmds,
        _demo_cmds,
    ):
        module.register(app)


_register_optional()


def _click_errors(name: str) -> tuple[type[BaseException], ...]:
    """``name`` from click and from the copy of click that newer Typer versions vendor."""
    found: list[type[BaseException]] = [getattr(click.exceptions, name)]
    try:
        vendored = importlib.import_module("typer._click.exceptions")
    except ImportError:
        return tuple(found)
    if hasattr(vendored, name):
        found.append(getattr(vendored, name))
    return tuple(found)


_USAGE_ERRORS = _click_errors("UsageError")
_NO_ARGS_IS_HELP = _click_errors("NoArgsIsHelpError")
_ABORT: tuple[type[BaseException], ...] = (*_click_errors("Abort"), typer.Abort)
_EXIT: tuple[type[BaseException], ...] = (*_click_errors("Exit"), typer.Exit)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every error ends as one clear line on stderr and a non-zero exit."""
    command = typer.main.get_command(app)
    try:
        # Outside standalone mode click turns ``typer.Exit(n)`` into a return value.
        exit_code = command.main(args=argv, prog_name="aimsight", standalone_mode=False)
    except _NO_ARGS_IS_HELP:
        sys.exit(2)  # the help text has been printed already
    except _USAGE_ERRORS as exc:
        usage_error: click.UsageError = exc  # type: ignore[assignment]  # or typer's vendored twin
        message = _one_line(usage_error.format_message())
        if "No such command" in message:
            message += " Run `aimsight --help` for the list of commands."
        _fail(message, usage_error.exit_code)
    except _ABORT:
        _fail("aborted", 130)
    except _EXIT as exc:
        sys.exit(getattr(exc, "exit_code", 1))
    except AimsightError as exc:
        _fail(_one_line(exc.message), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    if isinstance(exit_code, int) and exit_code:
        sys.exit(exit_code)


def _fail(message: str, exit_code: int) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    sys.exit(exit_code or 1)


def _one_line(message: str) -> str:
    return " ".join(message.split())
