"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a user sees them in a wide terminal, so cells do not fold mid-word."""
    monkeypatch.setenv("COLUMNS", "200")
