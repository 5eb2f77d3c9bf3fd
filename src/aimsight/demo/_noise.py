"""The noise real sources have: typos, nicknames and the defects of malformed rows.

Every function here is pure: the caller draws the random numbers with the one numpy
Generator and passes them in, so the same seed always gives the same noise.
"""

from __future__ import annotations

from aimsight.demo._pools import NICKNAMES

__all__ = ["BAD_DATES", "BAD_EMAILS", "nickname", "typo"]

_NEIGHBOURS = {
    "a": "sq",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "y": "tu",
    "z": "x",
}
# Dates that look like dates but are not: wrong day or month, another format, free text.
BAD_DATES = (
    "2024-02-30T10:15:00+01:00",
    "2023-13-05T08:00:00Z",
    "31/04/2024 12:00",
    "yesterday",
    "2024-06-31",
    "0000-00-00 00:00:00",
)
BAD_EMAILS = ("{local}@@{domain}", "{local}{domain}", "{local}@", "@{domain}", "{local} @{domain}")


def typo(text: str, kind: int, where: float) -> str:
    """``text`` with one typing error: swap, drop, double or hit a neighbouring key.

    Args:
        text: the word to misspell; words shorter than three letters are returned unchanged.
        kind: 0 swap two letters, 1 drop one, 2 double one, 3 neighbouring key.
        where: a number in [0, 1) choosing the position (never the first letter).
    """
    if len(text) < 3:
        return text
    i = 1 + int(where * (len(text) - 2))
    kind %= 4
    if kind == 0 and text[i] != text[i + 1 if i + 1 < len(text) else i - 1]:
        j = i + 1 if i + 1 < len(text) else i - 1
        a, b = min(i, j), max(i, j)
        return text[:a] + text[b] + text[a] + text[b + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    near = _NEIGHBOURS.get(text[i].lower())
    if near:
        return text[:i] + near[int(where * 7) % len(near)] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def nickname(first: str, choice: float) -> str | None:
    """A common nickname for ``first`` (Robert -> Bob), or ``None`` when it has none."""
    options = NICKNAMES.get(first)
    if not options:
        return None
    return options[int(choice * len(options)) % len(options)]
