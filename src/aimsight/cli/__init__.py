"""Command-line interface: thin Typer commands that call services and render with Rich.

Command modules import services inside the commands (and their types under ``TYPE_CHECKING``):
the layers behind them load pandas, DuckDB, SQLAlchemy, Splink and scikit-learn, which
``aimsight --help`` and ``aimsight version`` never need. ``tests/cli/test_startup.py`` keeps it so.
"""

from aimsight.cli._app import app, main

__all__ = ["app", "main"]
