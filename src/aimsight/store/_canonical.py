"""RFC 8785 (JSON Canonicalization Scheme) text of ledger payloads, fast for the usual case.

Every ledger entry is hashed over canonical JSON, and a decision writes one entry per
request, so this is on the hot path. ``rfc8785`` serialises in pure Python; for the values
entries usually hold (ASCII keys, text, small integers, ordinary floats) the standard
library's C encoder gives byte-for-byte the same text, so that is used, and anything else
(non-ASCII keys, floats whose ECMAScript form differs from Python's, integers beyond 2**53,
lone surrogates) falls back to ``rfc8785``. tests/store/test_canonical.py checks the two agree
on arbitrary values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785

__all__ = ["CanonicalizationError", "canonical_bytes"]

CanonicalizationError = rfc8785.CanonicalizationError

_MAX_SAFE_INTEGER = 2**53 - 1
# Python's repr and ECMAScript's Number::toString agree on plain decimal notation between
# these bounds (Python switches to an exponent below 1e-4 and from 1e16, ECMAScript below
# 1e-6 and from 1e21); integral floats are written as integers by both once converted.
_PLAIN_LOW = 1e-4
_PLAIN_HIGH = 1e16

_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


class _Slow(Exception):
    """The value needs the full RFC 8785 serialiser."""


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 JSON of ``value``.

    Raises:
        CanonicalizationError: a value JSON cannot hold (NaN, infinity, an integer beyond
            2**53 - 1, a lone surrogate).
        TypeError: a value that is not JSON (a date, a set, a non-text key).
    """
    try:
        ready = _ready(value)
    except _Slow:
        return rfc8785.dumps(value)
    return _encode(ready).encode("utf-8")


def _ready(value: Any) -> Any:
    """``value`` with integral floats as integers, or :class:`_Slow` if the C encoder would
    not give the canonical form."""
    kind = type(value)
    if kind is str:
        if not value.isascii():
            raise _Slow  # a lone surrogate must fail, and the encoder would write it
        return value
    if kind is bool or value is None:
        return value
    if kind is int:
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return value
        raise _Slow
    if kind is float:
        if value.is_integer():
            if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
                return int(value)
            raise _Slow  # ECMAScript writes 2.0**53 without Python's ".0"
        if _PLAIN_LOW <= abs(value) < _PLAIN_HIGH:
            return value
        raise _Slow  # non-finite, or an exponent form
    if kind is dict or isinstance(value, Mapping):
        found = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise _Slow  # sorting by UTF-16 units differs from code points off ASCII
            found[key] = _ready(item)
        return found
    if kind is list or kind is tuple:
        return [_ready(item) for item in value]
    raise _Slow
