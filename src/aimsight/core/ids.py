"""Identifiers: short, URL-safe, prefixed by what they name (``ak_`` for an API key...)."""

from __future__ import annotations

import secrets

__all__ = ["new_id", "new_secret"]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_id(prefix: str, length: int = 16) -> str:
    """Return ``prefix_`` followed by ``length`` random lower-case base-36 characters.

    One read of the system's random source per id, not one per character: ids are made on
    every request and every decision.
    """
    digits = []
    number = secrets.randbits(6 * length)  # 64**length > 36**length, so every digit is random
    for _ in range(length):
        number, digit = divmod(number, 36)
        digits.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(digits)


def new_secret(nbytes: int = 32) -> str:
    """Return a URL-safe random secret carrying ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)
