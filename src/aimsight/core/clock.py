"""One source of the current time, so tests can freeze or move it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["isoformat_utc", "now_utc", "set_clock"]

_clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now_utc() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return _clock()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); ``None`` restores the system clock."""
    global _clock
    _clock = clock if clock is not None else (lambda: datetime.now(UTC))


def isoformat_utc(moment: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

    Raises:
        ValueError: if ``moment`` is naive; aimsight never stores a time without its zone.
    """
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no time zone; pass an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
