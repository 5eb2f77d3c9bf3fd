"""Checking a change before anything is written: every field named, every fix said."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import InvalidInput
from aimsight.privacy._model import ConsentChangeIn
from aimsight.privacy._policy import ANY, LEGAL_BASES, STATUSES, ConsentPolicy

__all__ = ["STATUS_ALIASES", "ValidChange", "auto_source_ref", "validate_change"]

STATUS_ALIASES = {"withdrawn": "revoked", "refused": "denied"}
"""Words other systems use for a status, read as ours."""

CLOCK_SKEW = timedelta(minutes=5)
_MAX_SOURCE = 100
_MAX_REF = 200
_MAX_CUSTOMER = 100


@dataclass(frozen=True)
class ValidChange:
    """A change that passed every check, in the form it is stored."""

    customer_id: str
    purpose: str
    channel: str
    status: str
    legal_basis: str | None
    source: str
    collected_via: str | None
    recorded_at: str
    source_ref: str | None


def validate_change(
    change: ConsentChangeIn,
    policy: ConsentPolicy,
    *,
    customer_id: str,
    prefix: str,
    now: datetime | None = None,
    require_recorded_at: bool = False,
) -> ValidChange:
    """The stored form of ``change``, or an error naming ``<prefix>.<field>`` and the fix.

    A purpose-scoped purpose is stored under channel ``*``; the channel it was collected on
    is kept as ``collected_via``.

    Raises:
        InvalidInput: a field is missing, unknown or malformed.
    """
    for name in ("purpose", "channel", "status"):
        if not _word(getattr(change, name)):
            raise InvalidInput(f"{prefix}.{name}: is required", field=f"{prefix}.{name}")
    purpose = _word(change.purpose)
    channel = _word(change.channel)
    if purpose != ANY and purpose not in policy.purposes:
        raise InvalidInput(
            f"{prefix}.purpose: unknown purpose {change.purpose!r}; use one of: "
            f"{', '.join(policy.purposes)}, or * (every purpose: a channel opt-out)",
            field=f"{prefix}.purpose",
        )
    if channel != ANY and not policy.has_channel(channel):
        raise InvalidInput(
            f"{prefix}.channel: unknown channel {change.channel!r}; use one of: "
            f"{', '.join(policy.channels)}, or * (every channel)",
            field=f"{prefix}.channel",
        )
    status = _word(change.status)
    status = STATUS_ALIASES.get(status, status)
    if status not in STATUSES:
        raise InvalidInput(
            f"{prefix}.status: unknown status {change.status!r}; use one of: "
            f"{', '.join(STATUSES)} (withdrawn is read as revoked)",
            field=f"{prefix}.status",
        )
    legal_basis = _legal_basis(change.legal_basis, policy, purpose, prefix)
    source = _text(change.source, f"{prefix}.source", _MAX_SOURCE)
    if not source:
        raise InvalidInput(
            f"{prefix}.source: say where the customer said it, e.g. preference_centre, "
            "cookie_banner, call_centre",
            field=f"{prefix}.source",
        )
    recorded_at = _recorded_at(change.recorded_at, prefix, now, require_recorded_at)
    source_ref = _text(change.source_ref, f"{prefix}.source_ref", _MAX_REF) or None
    if not customer_id or len(customer_id) > _MAX_CUSTOMER:
        raise InvalidInput(
            f"{prefix}.customer: give the customer's id (at most {_MAX_CUSTOMER} characters)",
            field=f"{prefix}.customer",
        )
    collected_via = None
    if purpose != ANY and policy.purposes[purpose].scope == "purpose":
        collected_via = channel if channel != ANY else None
        channel = ANY
    return ValidChange(
        customer_id=customer_id,
        purpose=purpose,
        channel=channel,
        status=status,
        legal_basis=legal_basis,
        source=source,
        collected_via=collected_via,
        recorded_at=recorded_at,
        source_ref=source_ref,
    )


def auto_source_ref(change: ConsentChangeIn) -> str:
    """A reference for an imported row that has none: a digest of what it says, so importing
    the same file again recognises it."""
    recorded = change.recorded_at
    moment = isoformat_utc(recorded) if isinstance(recorded, datetime) else recorded
    data = [
        change.customer_id,
        change.purpose,
        change.channel,
        change.status,
        change.legal_basis,
        change.source,
        moment,
    ]
    digest = hashlib.sha256(json.dumps(data).encode("utf-8")).hexdigest()
    return f"auto:{digest[:40]}"


def _word(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _legal_basis(value: str | None, policy: ConsentPolicy, purpose: str, prefix: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None if purpose == ANY else policy.purposes[purpose].legal_basis
    basis = _word(value)
    if basis not in LEGAL_BASES:
        raise InvalidInput(
            f"{prefix}.legal_basis: unknown legal basis {value!r}; use one of: "
            f"{', '.join(LEGAL_BASES)} (or leave it out for the purpose's basis in the policy)",
            field=f"{prefix}.legal_basis",
        )
    return basis


def _text(value: object, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: must be text", field=name)
    text = value.strip()
    if len(text) > limit or any(ord(ch) < 32 for ch in text):
        raise InvalidInput(f"{name}: must be one line of at most {limit} characters", field=name)
    return text


def _recorded_at(
    value: datetime | str | None, prefix: str, now: datetime | None, required: bool
) -> str:
    name = f"{prefix}.recorded_at"
    current = now or now_utc()
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(
                f"{name}: an imported record needs the time the customer said it "
                "(ISO 8601 with a zone, e.g. 2026-03-01T09:30:00Z)",
                field=name,
            )
        return isoformat_utc(current)
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise InvalidInput(
                f"{name}: {value!r} is not a time; write ISO 8601 with a zone, e.g. "
                "2026-03-01T09:30:00Z",
                field=name,
            ) from None
    else:
        raise InvalidInput(f"{name}: must be an ISO 8601 time", field=name)
    if moment.tzinfo is None:
        raise InvalidInput(
            f"{name}: {str(value)!r} has no time zone; add one, e.g. Z for UTC", field=name
        )
    if moment > current + CLOCK_SKEW:
        raise InvalidInput(
            f"{name}: {str(value)!r} is in the future; a record says when the customer "
            "already said it",
            field=name,
        )
    return isoformat_utc(moment)
