"""Where a bad setting sits in a YAML file, named the same way in every error message."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["setting_path"]


def setting_path(loc: Sequence[int | str]) -> str:
    """The path of a setting from a pydantic error location.

    ``("annex_a", 4, "controls", 2, "id")`` becomes ``annex_a[4].controls[2].id``, the form
    every configuration error message uses so a user can find the entry.
    """
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
