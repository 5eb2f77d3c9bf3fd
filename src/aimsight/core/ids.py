"""Identifiers: short, URL-safe, prefixed by what they name (``ak_`` for an API key...)."""

from __future__ import annotations

import secrets

__all__ = ["new_id", "new_secret"]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_id(prefix: str, length: int = 16) -> str:
    """Return ``prefix_`` followed by ``length`` random lower-case base-36 characters."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_secret(nbytes: int = 32) -> str:
    """Return a URL-safe random secret carrying ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)
