"""Command-line interface: thin Typer commands that call services and render with Rich."""

from aimsight.cli._app import app, main

__all__ = ["app", "main"]
