"""``ConsentService``: the consent store, its history, imports and the decision gate.

Every change is written to the store, then to the ledger (``consent.changed``, one entry per
change, subject the customer id, no personal data); when the ledger write fails the change is
undone, so nothing is acknowledged that the ledger does not hold. The ledger has its own
cross-process write lock, so the two cannot share one transaction (as in ``aims``).

Writers serialise on the store (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL), so "newest record wins" holds whatever processes write at once. The gate,
:meth:`ConsentService.check`, is one indexed SELECT of the customer's records in force and
pure Python after it; nothing is cached between calls, so a change made by another process
is seen by the next check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import Conflict, InvalidInput, NotFound
from aimsight.core.workspace import Workspace
from aimsight.privacy._consent import check_request, effective
from aimsight.privacy._model import (
    ConsentChange,
    ConsentChangeIn,
    ConsentCheck,
    ConsentRecord,
    CustomerConsents,
    ImportReport,
    RejectedConsent,
)
from aimsight.privacy._policy import POLICY_PATH, ConsentPolicy, load_policy, shipped_policy_text
from aimsight.privacy._tables import ConsentChangeRow, ConsentRow
from aimsight.privacy._validate import ValidChange, auto_source_ref, validate_change
from aimsight.store import Ledger, Store

__all__ = ["LEDGER_KIND", "ConsentService", "Progress"]

LEDGER_KIND = "consent.changed"
Progress = Callable[[str, int, int], None]
"""``(stage, done, total)``: how far an import has got."""

_CHUNK = 500
_LOCK_ID = 0x636F6E73  # "cons": PostgreSQL advisory lock held by each consent write
_changes = cast(Table, ConsentChangeRow.__table__)
_current = cast(Table, ConsentRow.__table__)
_CURRENT_COLUMNS = "purpose, channel, status, recorded_at, source, legal_basis, collected_via"
# The gate runs before every decision: a statement built once keeps it cheap.
_SELECT_CURRENT = text(
    f"SELECT {_CURRENT_COLUMNS} FROM privacy_consents WHERE customer_id = :customer_id"
)

_Key = tuple[str, str, str]


@dataclass
class _Batch:
    """What one write did, so it can be undone if the ledger refuses it."""

    change_ids: list[int] = field(default_factory=list)
    previous: dict[_Key, dict[str, Any] | None] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    in_force: int = 0


class ConsentService:
    """Consent per customer x purpose x channel: records, history, imports and the gate.

    Args:
        workspace: the workspace (its ``privacy/consent.yaml`` overrides the shipped policy).
        store: the operational store holding the ``privacy_*`` tables.
        ledger: where every change is recorded before it is acknowledged.
        policy: a policy to use instead of the workspace's (tests, the decision layer).

    Examples:
        >>> consents = ConsentService(workspace, store, ledger)  # doctest: +SKIP
        >>> consents.check("cus_1", ["profiling", "ai_decisioning"], "email")  # doctest: +SKIP
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        ledger: Ledger,
        *,
        policy: ConsentPolicy | None = None,
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._ledger = ledger
        self._policy = policy

    @property
    def policy(self) -> ConsentPolicy:
        """The policy in force (the workspace's file is read again only when it changes)."""
        return self._policy if self._policy is not None else load_policy(self._workspace)

    @property
    def policy_path(self) -> Path:
        """Where the workspace's own policy lives (it may not exist)."""
        return self._workspace.root / POLICY_PATH

    def install_default_policy(self) -> Path:
        """Copy the shipped policy into the workspace to edit, unless one is there already."""
        path = self.policy_path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(shipped_policy_text(), encoding="utf-8")
        return path

    # -- the gate -----------------------------------------------------------------------------

    def check(self, customer_id: str, purposes: Sequence[str], channel: str) -> list[ConsentCheck]:
        """Whether each purpose may run on ``channel`` for the customer, and why.

        One indexed read of the customer's records in force, then :func:`effective`. A
        customer with no records gets the policy's defaults.

        Raises:
            InvalidInput: an unknown purpose or channel; the message lists the allowed ones.
        """
        policy = self.policy
        check_request(policy, purposes, channel)
        return effective(self.records(customer_id), policy, purposes, channel)

    def records(
        self, customer_id: str, *, connection: Connection | None = None
    ) -> list[ConsentRecord]:
        """The customer's records in force (one indexed read): for callers that check several
        purposes and channels for one request with :func:`effective`.

        ``connection`` reads them in the caller's open transaction (a decision reads its
        flow state, contact history and consent together) instead of a new one.
        """
        if connection is None:
            with self._store.engine.connect() as own:
                return self.records(customer_id, connection=own)
        rows = connection.execute(_SELECT_CURRENT, {"customer_id": customer_id}).all()
        return [ConsentRecord(*row) for row in rows]

    # -- reading ------------------------------------------------------------------------------

    def get(self, customer_id: str) -> CustomerConsents:
        """The customer's records in force and the effective status of every purpose on
        every channel."""
        policy = self.policy
        records = sorted(self.records(customer_id), key=lambda r: (r.purpose, r.channel))
        purposes = list(policy.purposes)
        matrix = [
            check
            for purpose in purposes
            for channel in policy.channels
            for check in effective(records, policy, [purpose], channel)
        ]
        return CustomerConsents(customer_id, tuple(records), tuple(matrix), policy.digest)

    def history(self, customer_id: str, *, limit: int = 500) -> list[ConsentChange]:
        """Every change recorded for the customer, newest first (by when it was said).

        Raises:
            InvalidInput: ``limit`` is not between 1 and 10,000.
        """
        if not 1 <= limit <= 10_000:
            raise InvalidInput(f"limit must be between 1 and 10000, got {limit}", field="limit")
        query = (
            select(_changes, _current.c.change_id.label("current_id"))
            .outerjoin(
                _current,
                (_current.c.customer_id == _changes.c.customer_id)
                & (_current.c.change_id == _changes.c.change_id),
            )
            .where(_changes.c.customer_id == customer_id)
            .order_by(_changes.c.recorded_at.desc(), _changes.c.change_id.desc())
            .limit(limit)
        )
        with self._store.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            ConsentChange(
                change_id=row.change_id,
                customer_id=row.customer_id,
                purpose=row.purpose,
                channel=row.channel,
                status=row.status,
                legal_basis=row.legal_basis,
                source=row.source,
                collected_via=row.collected_via,
                recorded_at=row.recorded_at,
                received_at=row.received_at,
                actor=row.actor,
                source_ref=row.source_ref,
                in_force=row.current_id is not None,
            )
            for row in rows
        ]

    # -- writing ------------------------------------------------------------------------------

    def set(
        self, customer_id: str, changes: Sequence[ConsentChangeIn], *, actor: str
    ) -> CustomerConsents:
        """Record what the customer said, then return their consents as they now stand.

        Every change is checked first; if any is wrong nothing is written. Each change is
        then stored and written to the ledger as ``consent.changed``. A change older than the
        record held for its key is kept in the history but does not replace it.

        Raises:
            InvalidInput: a change names an unknown purpose, channel, status or legal basis,
                or a malformed time; the field is ``changes[i].<name>``.
        """
        actor = _actor(actor)
        if not changes:
            raise InvalidInput("give at least one change", field="changes")
        policy = self.policy
        now = now_utc()
        valid = [
            validate_change(
                change, policy, customer_id=customer_id, prefix=f"changes[{index}]", now=now
            )
            for index, change in enumerate(changes)
        ]
        valid = sorted(valid, key=lambda change: change.recorded_at)  # stable: arrival order
        self._apply(valid, actor, isoformat_utc(now))
        return self.get(customer_id)

    def import_changes(
        self,
        changes: Iterable[ConsentChangeIn],
        *,
        actor: str,
        progress: Progress | None = None,
        resolve_customer: Callable[[str], str] | None = None,
        rejected: Sequence[RejectedConsent] = (),
    ) -> ImportReport:
        """Import records from another system, idempotently and in ``recorded_at`` order.

        Each change names its customer (``customer_id``; with ``resolve_customer`` any
        reference that function turns into a customer id, raising ``NotFound`` when it
        cannot) and carries ``source_ref``, the source's own id of the row (a digest of the
        row is used when it has none), so importing the same rows again skips them. A row
        that is wrong is rejected with the reason and the rest go on; ``rejected`` adds rows
        the caller already refused (unreadable lines) to the report.

        Raises:
            Conflict: another import wrote the same rows at the same moment; run it again.
        """
        actor = _actor(actor)
        policy = self.policy
        now = now_utc()
        received_at = isoformat_utc(now)
        refused = list(rejected)
        valid: list[ValidChange] = []
        resolved: dict[str, str] = {}
        rows = len(refused)
        for position, change in enumerate(changes):
            rows += 1
            reference = (change.customer_id or "").strip()
            prefix = f"line {change.line}" if change.line is not None else f"row {position + 1}"
            try:
                customer_id = self._resolve(reference, resolve_customer, resolved)
                if change.source_ref is None or not change.source_ref.strip():
                    change = replace(change, source_ref=auto_source_ref(change))
                valid.append(
                    validate_change(
                        change,
                        policy,
                        customer_id=customer_id,
                        prefix=prefix,
                        now=now,
                        require_recorded_at=True,
                    )
                )
            except (InvalidInput, NotFound) as exc:
                name = exc.field if isinstance(exc, InvalidInput) else "customer"
                refused.append(
                    RejectedConsent(
                        line=change.line if change.line is not None else position + 1,
                        customer=reference or None,
                        source_ref=change.source_ref,
                        field=name.split(".", 1)[-1] if name else None,
                        reason=exc.message.removeprefix(f"{prefix}."),
                    )
                )
        valid.sort(key=lambda change: change.recorded_at)
        applied = in_force = skipped = 0
        total = len(valid)
        if progress is not None:
            progress("importing consents", 0, total)
        for start in range(0, total, _CHUNK):
            chunk = valid[start : start + _CHUNK]
            done, force, known = self._apply(chunk, actor, received_at, skip_known=True)
            applied, in_force, skipped = applied + done, in_force + force, skipped + known
            if progress is not None:
                progress("importing consents", min(start + _CHUNK, total), total)
        refused.sort(key=lambda item: (item.line is None, item.line or 0))
        return ImportReport(
            rows=rows,
            applied=applied,
            in_force=in_force,
            skipped=skipped,
            rejected=tuple(refused),
            customers=len({change.customer_id for change in valid}),
        )

    @staticmethod
    def _resolve(
        reference: str, resolve: Callable[[str], str] | None, cache: dict[str, str]
    ) -> str:
        if not reference:
            raise InvalidInput("customer: every row must name its customer", field="customer")
        if resolve is None:
            return reference
        if reference not in cache:
            cache[reference] = resolve(reference)
        return cache[reference]

    def _apply(
        self,
        changes: Sequence[ValidChange],
        actor: str,
        received_at: str,
        *,
        skip_known: bool = False,
    ) -> tuple[int, int, int]:
        """Store ``changes`` (in ``recorded_at`` order) and write them to the ledger.

        Returns (applied, in force, skipped as already imported).
        """
        try:
            with self._write() as connection:
                batch, skipped = self._store_changes(
                    connection, changes, actor, received_at, skip_known
                )
        except IntegrityError:
            raise Conflict(
                "another writer recorded the same consent rows (same source_ref) at the same "
                "moment; run the import again: rows already imported are skipped"
            ) from None
        if not batch.entries:
            return 0, 0, skipped
        try:
            self._ledger.append_many(batch.entries)
        except BaseException:
            self._undo(batch)
            raise
        return len(batch.change_ids), batch.in_force, skipped

    def _store_changes(
        self,
        connection: Connection,
        changes: Sequence[ValidChange],
        actor: str,
        received_at: str,
        skip_known: bool,
    ) -> tuple[_Batch, int]:
        skipped = 0
        if skip_known:
            refs = [c.source_ref for c in changes if c.source_ref is not None]
            known = _known_refs(connection, refs)
            fresh: list[ValidChange] = []
            for change in changes:
                if change.source_ref is not None:
                    if change.source_ref in known:
                        skipped += 1
                        continue
                    known.add(change.source_ref)
                fresh.append(change)
            changes = fresh
        batch = _Batch()
        if not changes:
            return batch, skipped
        ids = connection.execute(
            insert(_changes).returning(_changes.c.change_id, sort_by_parameter_order=True),
            [_change_row(change, actor, received_at) for change in changes],
        ).scalars()
        batch.change_ids = list(ids)
        held = _held_records(connection, {change.customer_id for change in changes})
        winners: dict[_Key, tuple[ValidChange, int]] = {}
        forced: set[int] = set()
        for change, change_id in zip(changes, batch.change_ids, strict=True):
            key = (change.customer_id, change.purpose, change.channel)
            now_held = winners.get(key)
            held_at = now_held[0].recorded_at if now_held else held.get(key, {}).get("recorded_at")
            if held_at is None or change.recorded_at >= held_at:
                winners[key] = (change, change_id)
                forced.add(change_id)
        for key, (change, change_id) in winners.items():
            batch.previous[key] = held.get(key)
            values = _current_row(change, change_id, received_at)
            if key in held:
                connection.execute(
                    update(_current)
                    .where(
                        _current.c.customer_id == key[0],
                        _current.c.purpose == key[1],
                        _current.c.channel == key[2],
                    )
                    .values(values)
                )
            else:
                connection.execute(insert(_current).values(values))
        final_ids = {change_id for _, change_id in winners.values()}
        batch.in_force = len(final_ids)
        for change, change_id in zip(changes, batch.change_ids, strict=True):
            batch.entries.append(
                {
                    "kind": LEDGER_KIND,
                    "actor": actor,
                    "subject": change.customer_id,
                    "payload": _payload(change, change_id, change_id in final_ids),
                }
            )
        return batch, skipped

    def _undo(self, batch: _Batch) -> None:
        """Revert a stored batch whose ledger entries could not be written."""
        with self._write() as connection:
            for (customer_id, purpose, channel), old in batch.previous.items():
                where = (
                    _current.c.customer_id == customer_id,
                    _current.c.purpose == purpose,
                    _current.c.channel == channel,
                )
                if old is None:
                    connection.execute(delete(_current).where(*where))
                else:
                    connection.execute(update(_current).where(*where).values(old))
            for start in range(0, len(batch.change_ids), _CHUNK):
                ids = batch.change_ids[start : start + _CHUNK]
                connection.execute(delete(_changes).where(_changes.c.change_id.in_(ids)))

    def merge_customers(self, merged: Sequence[str], into: str, *, actor: str) -> int:
        """Move the consent of customers identity merged into ``into`` onto ``into``.

        The gate reads by the live customer id, so records left under a merged-away id
        would no longer count: a refusal could be lost. Their history moves to ``into``; of
        the records in force, the newest per key wins (ties: the later arrival). One
        ``consent.customers_merged`` entry records the move (the earlier entries keep the old
        ids). Returns how many changes moved.

        Raises:
            InvalidInput: no ids, or ``into`` among ``merged``.
        """
        actor = _actor(actor)
        sources = sorted({customer for customer in merged if customer})
        if not sources or into in sources:
            raise InvalidInput(
                "name the merged customers and a survivor that is not one of them",
                field="merged",
            )
        with self._write() as connection:
            held = _held_records(connection, {into, *sources})
            moved = list(
                connection.execute(
                    select(_changes.c.change_id, _changes.c.customer_id).where(
                        _changes.c.customer_id.in_(sources)
                    )
                )
            )
            if not moved and not any(key[0] in sources for key in held):
                return 0
            connection.execute(
                update(_changes).where(_changes.c.customer_id.in_(sources)).values(customer_id=into)
            )
            winners: dict[tuple[str, str], dict[str, Any]] = {}
            for values in sorted(held.values(), key=lambda v: (v["recorded_at"], v["change_id"])):
                winners[(values["purpose"], values["channel"])] = values
            connection.execute(delete(_current).where(_current.c.customer_id.in_(sources)))
            connection.execute(delete(_current).where(_current.c.customer_id == into))
            if winners:
                connection.execute(
                    insert(_current),
                    [values | {"customer_id": into} for values in winners.values()],
                )
        payload = {"merged": sources, "changes_moved": len(moved), "records": len(winners)}
        try:
            self._ledger.append(
                "consent.customers_merged", actor=actor, subject=into, payload=payload
            )
        except BaseException:
            with self._write() as connection:
                for change_id, customer_id in moved:
                    connection.execute(
                        update(_changes)
                        .where(_changes.c.change_id == change_id)
                        .values(customer_id=customer_id)
                    )
                customers = [into, *sources]
                connection.execute(delete(_current).where(_current.c.customer_id.in_(customers)))
                if held:
                    connection.execute(insert(_current), list(held.values()))
            raise
        return len(moved)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that holds the consent write lock across processes."""
        engine = self._store.engine
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection = connection.execution_options(sqlite_begin="IMMEDIATE")
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
                yield connection


def _actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 200:
        raise InvalidInput("the actor must name who acted (at most 200 characters)", field="actor")
    return actor.strip()


def _known_refs(connection: Connection, refs: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(refs), _CHUNK):
        wanted = refs[start : start + _CHUNK]
        query = select(_changes.c.source_ref).where(_changes.c.source_ref.in_(wanted))
        known.update(ref for ref in connection.execute(query).scalars() if ref is not None)
    return known


def _held_records(connection: Connection, customers: set[str]) -> dict[_Key, dict[str, Any]]:
    held: dict[_Key, dict[str, Any]] = {}
    ordered = sorted(customers)
    for start in range(0, len(ordered), _CHUNK):
        wanted = ordered[start : start + _CHUNK]
        for row in connection.execute(select(_current).where(_current.c.customer_id.in_(wanted))):
            values = dict(row._mapping)
            held[(values["customer_id"], values["purpose"], values["channel"])] = values
    return held


def _change_row(change: ValidChange, actor: str, received_at: str) -> dict[str, Any]:
    return {
        "customer_id": change.customer_id,
        "purpose": change.purpose,
        "channel": change.channel,
        "status": change.status,
        "legal_basis": change.legal_basis,
        "source": change.source,
        "collected_via": change.collected_via,
        "recorded_at": change.recorded_at,
        "received_at": received_at,
        "actor": actor,
        "source_ref": change.source_ref,
    }


def _current_row(change: ValidChange, change_id: int, updated_at: str) -> dict[str, Any]:
    return {
        "customer_id": change.customer_id,
        "purpose": change.purpose,
        "channel": change.channel,
        "status": change.status,
        "legal_basis": change.legal_basis,
        "source": change.source,
        "collected_via": change.collected_via,
        "recorded_at": change.recorded_at,
        "change_id": change_id,
        "updated_at": updated_at,
    }


def _payload(change: ValidChange, change_id: int, took_effect: bool) -> Mapping[str, Any]:
    """What the ledger chains about a change: no names, no contact details, no free text."""
    payload: dict[str, Any] = {
        "change_id": change_id,
        "purpose": change.purpose,
        "channel": change.channel,
        "status": change.status,
        "legal_basis": change.legal_basis,
        "source": change.source,
        "recorded_at": change.recorded_at,
        "took_effect": took_effect,
    }
    if change.collected_via is not None:
        payload["collected_via"] = change.collected_via
    if change.source_ref is not None:
        payload["source_ref"] = change.source_ref
    return payload
