"""The consent gate's rules, as one pure function: which records decide a purpose on a channel.

For a purpose P on a channel C:

1. Records are reduced to one per key, the newest by ``recorded_at`` (ties: the later one in
   the sequence, i.e. by arrival). A purpose-scoped purpose has one key whatever the channel.
2. P is **blocked** if any record that applies denies it (``denied`` or ``revoked``): the
   record for (P, C), for (P, ``*``), a channel opt-out (``*``, C) or (``*``, ``*``), or a
   denied ``when`` purpose of a propagation rule that blocks P (on any channel). The most
   specific such record is named. A denial is lifted only by a newer record on its own key.
3. Otherwise P is **allowed** if a record grants it: (P, C) first, then (P, ``*``).
4. Otherwise the policy's default for P holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aimsight.core.errors import InvalidInput
from aimsight.privacy._model import ConsentCheck, ConsentRecord
from aimsight.privacy._policy import ANY, ConsentPolicy

__all__ = ["check_request", "current_records", "effective"]

_Key = tuple[str, str]


def current_records(
    records: Iterable[ConsentRecord], policy: ConsentPolicy
) -> dict[_Key, ConsentRecord]:
    """The record in force per (purpose, channel) key: the newest, ties to the later one.

    Records of a purpose-scoped purpose share the key (purpose, ``*``) whatever channel they
    were collected on. Records of purposes the policy no longer lists are left out.
    """
    current: dict[_Key, ConsentRecord] = {}
    for record in records:
        if record.purpose != ANY and record.purpose not in policy.purposes:
            continue
        key = (record.purpose, policy.key_channel(record.purpose, record.channel))
        held = current.get(key)
        if held is None or record.recorded_at >= held.recorded_at:
            current[key] = record
    return current


def check_request(policy: ConsentPolicy, purposes: Sequence[str], channel: str) -> None:
    """Refuse an unknown purpose or channel before anything is read.

    Raises:
        InvalidInput: naming the field and the allowed values.
    """
    if not policy.has_channel(channel):
        raise InvalidInput(
            f"unknown channel {channel!r}; use one of: {', '.join(policy.channels)}",
            field="channel",
        )
    if isinstance(purposes, str):
        raise InvalidInput(
            f"purposes must be a list of purposes, e.g. [{purposes!r}]", field="purposes"
        )
    for index, purpose in enumerate(purposes):
        if purpose not in policy.purposes:
            raise InvalidInput(
                f"unknown purpose {purpose!r}; use one of: {', '.join(policy.purposes)}",
                field=f"purposes[{index}]",
            )


def effective(
    records: Iterable[ConsentRecord],
    policy: ConsentPolicy,
    purposes: Sequence[str],
    channel: str,
) -> list[ConsentCheck]:
    """Whether each of ``purposes`` may run on ``channel``, given a customer's records.

    Pure: no store, no clock. ``records`` may hold several records per key (the newest wins).

    Raises:
        InvalidInput: an unknown purpose or channel.

    Examples:
        >>> from aimsight.privacy import shipped_policy
        >>> revoked = ConsentRecord("profiling", "*", "revoked", "2026-01-01T00:00:00.000000Z",
        ...                         "preference_centre")
        >>> [c.allowed for c in effective([revoked], shipped_policy(), ["ai_decisioning"], "email")]
        [False]
    """
    check_request(policy, purposes, channel)
    current = current_records(records, policy)
    return [_decide(current, policy, purpose, channel) for purpose in purposes]


def _decide(
    current: dict[_Key, ConsentRecord], policy: ConsentPolicy, purpose: str, channel: str
) -> ConsentCheck:
    spec = policy.purposes[purpose]
    direct: list[_Key] = [(purpose, channel), (purpose, ANY)]
    if spec.scope == "purpose":
        direct = [(purpose, ANY)]
    granting: ConsentRecord | None = None
    for key in direct:
        record = current.get(key)
        if record is None:
            continue
        if record.denies:
            return _blocked(
                purpose, channel, record, spec.legal_basis, _direct_reason(record, policy)
            )
        granting = granting or record
    for key in ((ANY, channel), (ANY, ANY)):
        record = current.get(key)
        if record is not None and record.denies:
            return _blocked(purpose, channel, record, spec.legal_basis, _opt_out_reason(record))
    for when, rule_reason in policy.blockers(purpose):
        record = _denying_record_of(current, policy, when)
        if record is not None:
            reason = f"{_direct_reason(record, policy)}, which blocks {purpose}: {rule_reason}"
            return _blocked(purpose, channel, record, spec.legal_basis, reason)
    if granting is not None:
        basis = granting.legal_basis or spec.legal_basis
        reason = f"{purpose}{_where(granting, policy)} was granted on {_said(granting)}"
        return ConsentCheck(True, purpose, channel, "granted", basis, reason, None, granting)
    if spec.default == "granted":
        reason = (
            f"nothing recorded: {purpose} runs under {spec.legal_basis.replace('_', ' ')} "
            "until the customer objects"
        )
        return ConsentCheck(True, purpose, channel, "granted", spec.legal_basis, reason)
    reason = f"nothing recorded: {purpose} needs the customer's {_needs(spec.legal_basis)} first"
    return ConsentCheck(False, purpose, channel, "denied", spec.legal_basis, reason)


def _denying_record_of(
    current: dict[_Key, ConsentRecord], policy: ConsentPolicy, purpose: str
) -> ConsentRecord | None:
    """A denying record of ``purpose`` on any channel, ``*`` first, then in channel order."""
    for channel in (ANY, *policy.channels):
        record = current.get((purpose, channel))
        if record is not None and record.denies:
            return record
    return None


def _blocked(
    purpose: str, channel: str, record: ConsentRecord, basis: str, reason: str
) -> ConsentCheck:
    return ConsentCheck(False, purpose, channel, record.status, basis, reason, record, None)


def _direct_reason(record: ConsentRecord, policy: ConsentPolicy) -> str:
    return f"{record.purpose}{_where(record, policy)} was {record.status} on {_said(record)}"


def _where(record: ConsentRecord, policy: ConsentPolicy) -> str:
    """`` on email``, `` on every channel``, or nothing for a purpose-scoped purpose."""
    if record.channel != ANY:
        return f" on {record.channel}"
    spec = policy.purposes.get(record.purpose)
    return "" if spec is None or spec.scope == "purpose" else " on every channel"


def _said(record: ConsentRecord) -> str:
    """``2026-03-01 (source preference_centre, via email)``."""
    via = f", via {record.collected_via}" if record.collected_via else ""
    return f"{record.recorded_at[:10]} (source {record.source}{via})"


def _opt_out_reason(record: ConsentRecord) -> str:
    where = "every channel" if record.channel == ANY else record.channel
    return f"the customer opted out of everything on {where} ({record.status} on {_said(record)})"


def _needs(basis: str) -> str:
    return "consent" if basis == "consent" else f"agreement ({basis.replace('_', ' ')})"
