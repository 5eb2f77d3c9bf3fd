"""Checks on what people type into AIMS records, and the small conversions every record needs.

Each check raises :class:`~aimsight.core.errors.InvalidInput` naming the field and the fix,
so the CLI and the API can show it as it is.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import InvalidInput

__all__ = [
    "CONTROL_ID",
    "check_id_text",
    "choice",
    "control_ids",
    "day",
    "from_json",
    "json_sha256",
    "moment",
    "now_text",
    "number",
    "optional_text",
    "text",
    "texts",
    "to_json",
    "today",
]

CONTROL_ID = re.compile(r"^A\.(?:[2-9]|10)\.\d{1,2}(?:\.\d{1,2})?$")
_CHECK_ID = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def now_text() -> str:
    """The current time as stored: ISO 8601 UTC."""
    return isoformat_utc(now_utc())


def today() -> date:
    """Today's date in UTC (review dates and expiries are compared with it)."""
    return now_utc().astimezone(UTC).date()


def text(field: str, value: object, *, limit: int = 5000, required: bool = True) -> str:
    """``value`` stripped; blank is refused when ``required``; longer than ``limit`` refused."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, not {type(value).__name__}", field=field)
    stripped = value.strip()
    if required and not stripped:
        raise InvalidInput(f"{field} is required: give it a value", field=field)
    if len(stripped) > limit:
        raise InvalidInput(
            f"{field} is {len(stripped)} characters long; shorten it to at most {limit}",
            field=field,
        )
    return stripped


def optional_text(field: str, value: object, *, limit: int = 200) -> str | None:
    """``value`` as :func:`text`, with ``None`` and blank read as "not given"."""
    if value is None:
        return None
    checked = text(field, value, limit=limit, required=False)
    return checked or None


def texts(field: str, values: object, *, limit: int = 2000, required: bool = False) -> list[str]:
    """A list of non-blank texts; a single text is taken as a list of one."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable):
        raise InvalidInput(f"{field} must be a list of texts", field=field)
    items = [text(f"{field}[{i}]", value, limit=limit) for i, value in enumerate(values)]
    if required and not items:
        raise InvalidInput(f"{field} needs at least one entry", field=field)
    return items


def choice(field: str, value: object, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed`` (case and ``-``/space do not matter)."""
    wanted = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if wanted not in allowed:
        raise InvalidInput(
            f"{field} {value!r} is not allowed; use one of: {', '.join(allowed)}", field=field
        )
    return wanted


def number(field: str, value: object) -> float:
    """A finite number (not a bool, not NaN or infinite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a number, not {value!r}", field=field)
    if not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number, not {value!r}", field=field)
    return float(value)


def day(field: str, value: object) -> str:
    """A calendar date as ``YYYY-MM-DD`` from a :class:`date`, a datetime or such a text."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DAY.match(value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise InvalidInput(f"{field} must be a date written YYYY-MM-DD, not {value!r}", field=field)


def moment(field: str, value: object) -> str:
    """A point in time as stored (ISO 8601 UTC); ``None`` means now.

    Texts must carry their time zone (``Z`` or an offset): a time without one is ambiguous.
    """
    if value is None:
        return now_text()
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        raise InvalidInput(
            f"{field} must be a time such as 2026-11-23T10:00:00Z, not {value!r}", field=field
        )
    if parsed.tzinfo is None:
        raise InvalidInput(
            f"{field} {value!r} has no time zone; add Z (UTC) or an offset", field=field
        )
    return isoformat_utc(parsed)


def control_ids(field: str, values: object) -> list[str]:
    """Annex A control ids such as ``A.6.2.4``, without duplicates, in the order given."""
    found: list[str] = []
    for index, value in enumerate(texts(field, values, limit=16)):
        if not CONTROL_ID.match(value):
            raise InvalidInput(
                f"{field}[{index}] {value!r} is not an Annex A control id; write it like "
                "A.6.2.4 (A.2 to A.10)",
                field=field,
            )
        if value not in found:
            found.append(value)
    return found


def check_id_text(field: str, value: object) -> str:
    """An automated check's id: lower case letters, digits, ``_``, ``.`` or ``-``."""
    checked = text(field, value, limit=100)
    if not _CHECK_ID.match(checked):
        raise InvalidInput(
            f"{field} {checked!r} is not a check id; use lower case letters, digits and _ "
            "(e.g. ledger_integrity)",
            field=field,
        )
    return checked


def to_json(field: str, value: Any) -> str:
    """``value`` as compact JSON text; NaN, infinities and non-JSON values are refused."""
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{field} must be JSON-ready (plain dicts, lists, text, finite numbers): {exc}",
            field=field,
        ) from None


def from_json(stored: str | None) -> Any:
    """What :func:`to_json` stored."""
    return json.loads(stored) if stored else None


def json_sha256(value: Any) -> str:
    """SHA-256 of ``value``'s JSON with sorted keys: a stable digest for the ledger."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
