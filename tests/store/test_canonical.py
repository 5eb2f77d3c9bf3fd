"""The ledger's fast canonical JSON is byte-for-byte RFC 8785, or fails where it fails.

A ledger written with one serialiser must verify with any other RFC 8785 implementation, so
the fast path is checked against the reference library on arbitrary JSON values, with the
edges where Python's and ECMAScript's number forms part (1e-4..1e-6, 1e16..1e21, 2**53) and
non-ASCII keys and text drawn on purpose.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.store._canonical import CanonicalizationError, canonical_bytes

_EDGE_FLOATS = st.sampled_from(
    [
        0.0,
        -0.0,
        1e-4,
        9.99e-5,
        1e-6,
        1e-7,
        0.1,
        1.5,
        3.0,
        -42.0,
        1e15 + 0.5,
        2.0**53,
        2.0**53 - 1,
        1e16,
        1e20,
        1e21,
        1e300,
        5e-324,
        123456789.125,
    ]
)
_INTS = st.integers(min_value=-(2**60), max_value=2**60) | st.sampled_from(
    [2**53 - 1, -(2**53 - 1), 2**53, -(2**53)]
)
_TEXT = st.text(max_size=12) | st.sampled_from(["", "é", "\u2028", "\x7f", "\x1f\n\t\b\f\r", '"\\'])
_KEYS = st.text(max_size=6) | st.sampled_from(["a", "B", "é", "\ue000", "\U0001f600", "aa"])
_SCALARS = (
    st.none()
    | st.booleans()
    | _INTS
    | st.floats(allow_nan=False, allow_infinity=False)
    | _EDGE_FLOATS
    | _TEXT
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


def _reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except CanonicalizationError as exc:
        return type(exc)


@given(_JSON)
@settings(max_examples=600)
def test_matches_the_reference_serialiser(value: Any) -> None:
    expected = _reference(value)
    if isinstance(expected, bytes):
        assert canonical_bytes(value) == expected
    else:
        with pytest.raises(expected):
            canonical_bytes(value)


@given(st.dictionaries(_KEYS, _SCALARS, max_size=6))
def test_objects_match_whatever_their_key_order(value: dict[str, Any]) -> None:
    expected = _reference(value)
    if not isinstance(expected, bytes):
        return  # refused values are the other test's business
    reordered = dict(reversed(list(value.items())))
    assert canonical_bytes(reordered) == canonical_bytes(value) == expected


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 2**53, "\ud800"])
def test_values_json_cannot_hold_are_refused(bad: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_bytes({"value": bad})


def test_tuples_are_lists_and_integral_floats_are_integers() -> None:
    assert canonical_bytes({"b": (1, 2.0), "a": [0.5, -0.0]}) == b'{"a":[0.5,0],"b":[1,2]}'
