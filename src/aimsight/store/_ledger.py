"""The tamper-evident ledger: append-only, hash-chained, sealed, with erasable personal data.

Every entry's ``hash`` is SHA-256 over the canonical JSON (RFC 8785) of its sequence number,
time, actor, kind, subject, payload, the digest of its personal data and the previous entry's
hash. Each hash is also sealed with an HMAC under the workspace's ledger key, so someone who
can write to the database but not read the key cannot rewrite the chain and recompute it.
A single head row names the newest entry, so cutting off the tail is detected too.

Personal data never enters the chain: it lives in its own table under a random salt, and the
entry holds only ``sha256(salt || canonical(data))``. Erasing a subject's personal data removes
the data and the salt, records the erasure as a new entry, and leaves the chain verifiable.

Appends from many threads are group-committed: the first thread to find no commit running
becomes the leader and writes every waiting entry in one transaction. Appenders in other
processes serialise on a database lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL), so the chain stays one line whatever writes to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import InvalidInput, LedgerError, NotFound
from aimsight.core.workspace import Workspace
from aimsight.store._canonical import CanonicalizationError, canonical_bytes
from aimsight.store._engine import is_sqlite
from aimsight.store._ledger_tables import LedgerEntryRow, LedgerHeadRow, LedgerPersonalDataRow
from aimsight.store._store import Store

__all__ = ["GENESIS_HASH", "Ledger", "LedgerEntry", "LedgerVerification"]

GENESIS_HASH = "0" * 64
_MAX_SEQ = 2**63 - 1  # the largest sequence number a 64-bit column holds
KEY_BYTES = 32
_HEAD_ID = 1
_LEDGER_LOCK_ID = 0x6C656467  # "ledg": PostgreSQL advisory lock held by each ledger write
_LEDGER_WRITERS = "aimsight-ledger-writers"
_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_MAX_TEXT = {"actor": 200, "subject": 200, "kind": 100}
_VERIFY_BATCH = 2_000

_entries = cast(Table, LedgerEntryRow.__table__)
_personal = cast(Table, LedgerPersonalDataRow.__table__)
_head = cast(Table, LedgerHeadRow.__table__)

# The write path runs for every append; statements built once keep it cheap.
_SELECT_HEAD = text("SELECT seq, hash FROM ledger_head WHERE id = 1")
_INSERT_ENTRY = text(
    "INSERT INTO ledger_entries (seq, recorded_at, actor, kind, subject, payload, "
    "personal_digest, prev_hash, hash, seal) VALUES (:seq, :recorded_at, :actor, :kind, "
    ":subject, :payload, :personal_digest, :prev_hash, :hash, :seal)"
)
_INSERT_PERSONAL = text(
    "INSERT INTO ledger_personal_data (seq, salt, data) VALUES (:seq, :salt, :data)"
)
_UPDATE_HEAD = text("UPDATE ledger_head SET seq = :seq, hash = :hash, seal = :seal WHERE id = 1")
_INSERT_HEAD = text("INSERT INTO ledger_head (id, seq, hash, seal) VALUES (1, :seq, :hash, :seal)")


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger entry as a reader sees it.

    ``personal`` is filled only when asked for (it is personal data); ``has_personal`` and
    ``personal_erased`` say whether the entry carried any and whether it has been erased.
    """

    seq: int
    recorded_at: str
    actor: str
    kind: str
    subject: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    has_personal: bool = False
    personal_erased: bool = False
    personal: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the entry."""
        return asdict(self)


@dataclass(frozen=True)
class LedgerVerification:
    """The outcome of :meth:`Ledger.verify`.

    ``first_bad_seq`` is the lowest sequence number at which the chain stops being what was
    written; ``problem`` says what was found there in words and ``kind`` as a stable code
    (``altered``, ``missing``, ``relinked``, ``unsealed``, ``personal_data_altered``,
    ``truncated``, ``head_altered``).
    """

    ok: bool
    entries_checked: int
    head_seq: int | None
    first_bad_seq: int | None = None
    problem: str | None = None
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the result."""
        return asdict(self)


@dataclass
class _Draft:
    """An entry waiting to be written: everything but its place in the chain."""

    kind: str
    actor: str
    subject: str | None
    payload_json: str
    personal_json: str | None
    alongside: Alongside | None = None


Alongside = Callable[[Connection, "LedgerEntry"], None]
"""Writes of the caller's own rows, run in the entry's transaction once the entry is chained."""


@dataclass
class _Pending:
    """One caller's drafts in the group-commit queue, and what became of them."""

    drafts: list[_Draft]
    wake: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    entries: list[LedgerEntry] = field(default_factory=list)
    error: BaseException | None = None


class Ledger:
    """Appends to, reads and verifies the workspace's ledger.

    One instance per process and store is enough; it is safe to share between threads.
    Build it with :meth:`open`, which loads (or on first use creates) the seal key.
    """

    def __init__(self, store: Store, key: bytes, *, group_commit_max: int = 512) -> None:
        if len(key) < 16:
            raise LedgerError("the ledger seal key must be at least 16 bytes")
        self._store = store
        self._key = key
        self._group_commit_max = max(1, group_commit_max)
        self._lock = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._leader_active = False

    @classmethod
    def open(cls, workspace: Workspace, store: Store) -> Ledger:
        """The ledger of ``workspace``, sealed with the key in ``ledger.key_file``.

        The key is created (32 random bytes, readable by the owner only) when the ledger is
        still empty. A missing key for a ledger that has entries is an error, not a new key:
        a new key would make every existing entry fail verification.

        Raises:
            LedgerError: the key is missing for a non-empty ledger, or cannot be read.
        """
        settings = workspace.settings.ledger
        key_path = Path(settings.key_file)
        if not key_path.is_absolute():
            key_path = workspace.root / key_path
        key = _read_key(key_path)
        if key is None:
            if _count(store) > 0:
                raise LedgerError(
                    f"the ledger seal key {key_path} is missing but the ledger has entries; "
                    "restore the key from your backup (a new key cannot verify old entries)"
                )
            key = _create_key(key_path)
        return cls(store, key, group_commit_max=settings.group_commit_max)

    # -- writing ------------------------------------------------------------------------------

    def append(
        self,
        kind: str,
        *,
        actor: str,
        subject: str | None = None,
        payload: Mapping[str, Any] | None = None,
        personal: Mapping[str, Any] | None = None,
        alongside: Alongside | None = None,
    ) -> LedgerEntry:
        """Append one entry and return it once it is durably committed.

        ``payload`` is chained as it is, so it must hold no personal data; put names, e-mails
        and free text in ``personal``, which is chained by digest only and can be erased.

        ``alongside(connection, entry)`` writes the caller's own rows in the same transaction
        as the entry (a decision row next to its ledger entry): both are committed or
        neither. It runs under the ledger's write lock, so it must only write rows it has
        already checked; if it raises, every entry committed with it in the same group
        fails too.

        Raises:
            InvalidInput: the kind, actor, subject or payload is not acceptable; the message
                names the field.
            LedgerError: the database write failed.
        """
        draft = _draft(kind, actor, subject, payload, personal)
        draft.alongside = alongside
        return self._submit([draft])[0]

    def append_many(self, items: Iterable[Mapping[str, Any]]) -> list[LedgerEntry]:
        """Append several entries in order, in one transaction: all are written or none.

        Each item holds the keyword arguments of :meth:`append` (``kind``, ``actor`` and
        optionally ``subject``, ``payload``, ``personal``).
        """
        drafts = []
        for index, item in enumerate(items):
            unknown = set(item) - {"kind", "actor", "subject", "payload", "personal"}
            if unknown or "kind" not in item or "actor" not in item:
                raise InvalidInput(
                    f"item {index} must have kind and actor and may have subject, payload, "
                    f"personal; got {sorted(item)}",
                    field=f"items[{index}]",
                )
            drafts.append(
                _draft(
                    item["kind"],
                    item["actor"],
                    item.get("subject"),
                    item.get("payload"),
                    item.get("personal"),
                )
            )
        return self._submit(drafts) if drafts else []

    def _submit(self, drafts: list[_Draft]) -> list[LedgerEntry]:
        """Queue ``drafts`` and return once they are committed.

        Group commit: the first caller to find no commit running leads. It writes every
        draft waiting at that moment in one transaction, marks their callers done and hands
        leadership to the next waiting caller, if any, so no caller leads more than once.
        """
        pending = _Pending(drafts)
        with self._lock:
            self._queue.append(pending)
            lead = not self._leader_active
            self._leader_active = True
        if not lead:
            pending.wake.wait()  # set when done, or when this caller is to lead next
        if not pending.done:
            with self._lock:
                batch = self._take_batch()  # the queue's head is this caller's pending
            self._commit_batch(batch)
            with self._lock:
                for item in batch:
                    item.done = True
                    item.wake.set()
                if self._queue:
                    self._queue[0].wake.set()
                else:
                    self._leader_active = False
        if pending.error is not None:
            raise pending.error
        return pending.entries

    def _take_batch(self) -> list[_Pending]:
        batch = [self._queue.popleft()]
        size = len(batch[0].drafts)
        while self._queue and size + len(self._queue[0].drafts) <= self._group_commit_max:
            item = self._queue.popleft()
            size += len(item.drafts)
            batch.append(item)
        return batch

    def _commit_batch(self, batch: list[_Pending]) -> None:
        """Write every draft of ``batch`` in one transaction; never raises."""
        try:
            with self._write_transaction() as connection:
                written = self._write(connection, [d for item in batch for d in item.drafts])
            start = 0
            for item in batch:
                item.entries = written[start : start + len(item.drafts)]
                start += len(item.drafts)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting caller
            error = exc
            if isinstance(exc, SQLAlchemyError):
                error = LedgerError(f"cannot write to the ledger: {_first_line(exc)}")
            for item in batch:
                item.error = error

    def _write_transaction(self) -> _WriteTransaction:
        return _WriteTransaction(self._store)

    def _write(self, connection: Connection, drafts: list[_Draft]) -> list[LedgerEntry]:
        """Chain ``drafts`` after the current head, inside the caller's locked transaction."""
        head = connection.execute(_SELECT_HEAD).first()
        seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        recorded_at = isoformat_utc(now_utc())
        entry_rows: list[dict[str, Any]] = []
        personal_rows: list[dict[str, Any]] = []
        written: list[LedgerEntry] = []
        for draft in drafts:
            seq += 1
            personal_digest = None
            if draft.personal_json is not None:
                salt = secrets.token_hex(16)
                personal_digest = _personal_digest(salt, draft.personal_json)
                personal_rows.append({"seq": seq, "salt": salt, "data": draft.personal_json})
            row = {
                "seq": seq,
                "recorded_at": recorded_at,
                "actor": draft.actor,
                "kind": draft.kind,
                "subject": draft.subject,
                "payload": draft.payload_json,
                "personal_digest": personal_digest,
                "prev_hash": prev_hash,
            }
            row_hash = entry_hash(row)
            row["hash"] = row_hash
            row["seal"] = self._seal(row_hash)
            entry_rows.append(row)
            written.append(_entry_from(row, json.loads(draft.payload_json), personal_digest))
            prev_hash = row["hash"]
        connection.execute(_INSERT_ENTRY, entry_rows)
        if personal_rows:
            connection.execute(_INSERT_PERSONAL, personal_rows)
        head_values = {"seq": seq, "hash": prev_hash, "seal": self._head_seal(seq, prev_hash)}
        connection.execute(_UPDATE_HEAD if head else _INSERT_HEAD, head_values)
        for draft, entry in zip(drafts, written, strict=True):
            if draft.alongside is not None:
                draft.alongside(connection, entry)
        return written

    def erase_personal_data(self, subject: str, *, actor: str, reason: str) -> LedgerEntry:
        """Erase the personal data of every entry about ``subject`` (a right-to-erasure request).

        The data and its salt are deleted; the chain keeps the digests, which can no longer be
        linked to anyone, so verification still passes. The erasure itself is appended as a
        ``privacy.personal_data_erased`` entry naming the entries it cleared, in the same
        transaction.

        Raises:
            InvalidInput: ``reason`` is empty.
        """
        if not reason.strip():
            raise InvalidInput("say why the data is erased (e.g. the DSAR id)", field="reason")
        _check_text("subject", subject)
        # The database write lock, not this process, orders this write against group commits.
        try:
            with self._write_transaction() as connection:
                seqs = [
                    row.seq
                    for row in connection.execute(
                        select(_personal.c.seq)
                        .join(_entries, _entries.c.seq == _personal.c.seq)
                        .where(_entries.c.subject == subject, _personal.c.erased_at.is_(None))
                        .order_by(_personal.c.seq)
                    )
                ]
                draft = _draft(
                    "privacy.personal_data_erased",
                    actor,
                    subject,
                    {"reason": reason, "entries": seqs},
                    None,
                )
                entry = self._write(connection, [draft])[0]
                if seqs:
                    connection.execute(
                        update(_personal)
                        .where(_personal.c.seq.in_(seqs))
                        .values(
                            data=None, salt="", erased_at=entry.recorded_at, erased_by_seq=entry.seq
                        )
                    )
            return entry
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot erase personal data: {_first_line(exc)}") from None

    # -- reading ------------------------------------------------------------------------------

    def count(self) -> int:
        """How many entries the ledger holds."""
        return _count(self._store)

    def get(self, seq: int, *, include_personal: bool = False) -> LedgerEntry:
        """The entry with sequence number ``seq``.

        Raises:
            NotFound: there is no such entry.
        """
        found = self._select(include_personal, where=[_entries.c.seq == seq], limit=1)
        if not found:
            raise NotFound(f"ledger entry {seq} does not exist; the ledger has {self.count()}")
        return found[0]

    def entries(
        self,
        *,
        subject: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int | None = None,
        limit: int = 100,
        include_personal: bool = False,
    ) -> list[LedgerEntry]:
        """Entries in sequence order, filtered by subject, kind (``decision.*`` matches a
        prefix), time (``since`` inclusive, ``until`` exclusive) and ``after_seq`` for paging.

        Raises:
            InvalidInput: ``limit`` is not positive, or ``after_seq`` is not a sequence number.
        """
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}", field="limit")
        if after_seq is not None and not 0 <= after_seq <= _MAX_SEQ:
            raise InvalidInput(
                f"after_seq must be a sequence number from 0 to {_MAX_SEQ}", field="after_seq"
            )
        where = []
        if subject is not None:
            where.append(_entries.c.subject == subject)
        if kind is not None:
            if kind.endswith(".*"):
                where.append(_entries.c.kind.startswith(kind[:-1]))
            else:
                where.append(_entries.c.kind == kind)
        if since is not None:
            where.append(_entries.c.recorded_at >= isoformat_utc(since))
        if until is not None:
            where.append(_entries.c.recorded_at < isoformat_utc(until))
        if after_seq is not None:
            where.append(_entries.c.seq > after_seq)
        return self._select(include_personal, where=where, limit=limit)

    def _select(self, include_personal: bool, *, where: list[Any], limit: int) -> list[LedgerEntry]:
        query = (
            select(_entries, _personal.c.data, _personal.c.erased_at)
            .outerjoin(_personal, _personal.c.seq == _entries.c.seq)
            .where(*where)
            .order_by(_entries.c.seq)
            .limit(limit)
        )
        with self._store.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_entry_from_row(row, include_personal) for row in rows]

    # -- verifying ----------------------------------------------------------------------------

    def verify(self) -> LedgerVerification:
        """Walk the whole chain and report the first entry that is not as it was written.

        Reads in batches, so memory stays flat however long the ledger is. Checks, per
        entry: no sequence number is missing, the hash matches the content, the entry links
        to its predecessor, the seal matches the key, and unerased personal data matches its
        digest; then that the head row names the last entry.
        """
        checked = 0
        expected_seq = 1
        prev_hash = GENESIS_HASH
        with self._store.engine.connect() as connection:
            head = connection.execute(select(_head).where(_head.c.id == _HEAD_ID)).first()
            head_seq = head.seq if head else None
            for row in _stream_for_verify(connection):
                problem = self._check_row(row, expected_seq, prev_hash)
                if problem is not None:
                    bad_seq, kind, words = problem
                    return LedgerVerification(False, checked, head_seq, bad_seq, words, kind)
                checked += 1
                expected_seq = row.seq + 1
                prev_hash = row.hash
        last_seq = expected_seq - 1
        if head is None:
            if last_seq == 0:
                return LedgerVerification(True, 0, None)
            return LedgerVerification(
                False, checked, None, last_seq, "the head record is missing", "head_altered"
            )
        if not hmac.compare_digest(head.seal, self._head_seal(head.seq, head.hash)):
            return LedgerVerification(
                False,
                checked,
                head_seq,
                min(head.seq, last_seq + 1),
                "the head record's seal does not match the ledger key",
                "head_altered",
            )
        if head.seq > last_seq:
            return LedgerVerification(
                False,
                checked,
                head_seq,
                last_seq + 1,
                f"entries {last_seq + 1}..{head.seq} were removed from the end of the ledger",
                "truncated",
            )
        if head.seq < last_seq or head.hash != prev_hash:
            return LedgerVerification(
                False,
                checked,
                head_seq,
                head.seq + 1 if head.seq < last_seq else head.seq,
                "the head record does not name the last entry (entries appended outside aimsight)",
                "head_altered",
            )
        return LedgerVerification(True, checked, head_seq)

    def _check_row(
        self, row: Row[Any], expected_seq: int, prev_hash: str
    ) -> tuple[int, str, str] | None:
        if row.seq != expected_seq:
            return expected_seq, "missing", f"entry {expected_seq} is missing"
        try:
            recomputed = entry_hash(dict(row._mapping))
        except (AttributeError, TypeError, ValueError):
            recomputed = None  # a column holds something no writer could have written
        if recomputed != row.hash:
            return row.seq, "altered", f"entry {row.seq} was altered: its hash no longer matches"
        if row.prev_hash != prev_hash:
            return (
                row.seq,
                "relinked",
                f"entry {row.seq} does not follow entry {row.seq - 1} (inserted or reordered)",
            )
        if not hmac.compare_digest(row.seal, self._seal(row.hash)):
            return (
                row.seq,
                "unsealed",
                f"entry {row.seq} is not sealed by this ledger's key (rewritten outside aimsight)",
            )
        if row.personal_digest is not None:
            if row.erased_at is None and (
                row.data is None
                or not hmac.compare_digest(
                    _personal_digest(row.salt, row.data), row.personal_digest
                )
            ):
                return (
                    row.seq,
                    "personal_data_altered",
                    f"the personal data of entry {row.seq} was changed or removed without an "
                    "erasure record",
                )
        elif row.salt is not None:
            return (
                row.seq,
                "personal_data_altered",
                f"entry {row.seq} has personal data attached that it never carried",
            )
        return None

    def _seal(self, entry_hash_hex: str) -> str:
        return hmac.new(self._key, entry_hash_hex.encode("ascii"), hashlib.sha256).hexdigest()

    def _head_seal(self, seq: int, hash_hex: str) -> str:
        return self._seal(f"head:{seq}:{hash_hex}")


class _WriteTransaction:
    """A transaction holding the ledger's write lock across processes."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._connection: Connection | None = None
        self._held = contextlib.ExitStack()  # the writers' lock (SQLite), then the connection

    def __enter__(self) -> Connection:
        sqlite = is_sqlite(self._store.engine)
        try:
            if sqlite:
                # Writers in other processes queue on a lock the kernel hands on at once,
                # rather than in SQLite's busy handler, which sleeps 5-25 ms between tries.
                self._held.enter_context(self._store.lock(_LEDGER_WRITERS))
            connection = self._held.enter_context(self._store.engine.connect())
            if sqlite:
                connection = connection.execution_options(sqlite_begin="IMMEDIATE")
            connection.begin()
            if self._store.backend == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LEDGER_LOCK_ID}
                )
        except BaseException:
            self._held.close()
            raise
        self._connection = connection
        return connection

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        connection = self._connection
        assert connection is not None
        try:
            if exc_type is None:
                connection.commit()
            else:
                connection.rollback()
        except BaseException:
            # A connection whose commit or rollback failed may still hold the write lock or a
            # half-open transaction: discard it rather than hand it to the next writer.
            connection.invalidate()
            raise
        finally:
            self._held.close()  # closes the connection, then lets the next writer in


def entry_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 hex over the RFC 8785 canonical JSON of an entry's chained fields.

    The chained object is ``{seq, recorded_at, actor, kind, subject, payload,
    personal_digest, prev_hash}``. ``payload`` is stored already canonical, so it is spliced in
    as text rather than parsed and serialised again; keys appear in RFC 8785 (sorted) order.
    """
    canonical = (
        b'{"actor":'
        + canonical_bytes(values["actor"])
        + b',"kind":'
        + canonical_bytes(values["kind"])
        + b',"payload":'
        + values["payload"].encode("utf-8")
        + b',"personal_digest":'
        + canonical_bytes(values["personal_digest"])
        + b',"prev_hash":'
        + canonical_bytes(values["prev_hash"])
        + b',"recorded_at":'
        + canonical_bytes(values["recorded_at"])
        + b',"seq":'
        + canonical_bytes(values["seq"])
        + b',"subject":'
        + canonical_bytes(values["subject"])
        + b"}"
    )
    return hashlib.sha256(canonical).hexdigest()


def _personal_digest(salt: str, data_json: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + data_json.encode("utf-8")).hexdigest()


def _stream_for_verify(connection: Connection) -> Iterator[Row[Any]]:
    """Entries with their personal data, in sequence order, a batch at a time."""
    after = 0
    while True:
        rows = connection.execute(
            select(_entries, _personal.c.salt, _personal.c.data, _personal.c.erased_at)
            .outerjoin(_personal, _personal.c.seq == _entries.c.seq)
            .where(_entries.c.seq > after)
            .order_by(_entries.c.seq)
            .limit(_VERIFY_BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def _draft(
    kind: str,
    actor: str,
    subject: str | None,
    payload: Mapping[str, Any] | None,
    personal: Mapping[str, Any] | None,
) -> _Draft:
    if not isinstance(kind, str) or not _KIND.match(kind) or len(kind) > _MAX_TEXT["kind"]:
        raise InvalidInput(
            f"ledger kind {kind!r} must be dotted lower-case words such as 'decision.made' "
            f"(at most {_MAX_TEXT['kind']} characters)",
            field="kind",
        )
    _check_text("actor", actor)
    if not actor.strip():
        raise InvalidInput("the actor must name who or what acted", field="actor")
    if subject is not None:
        _check_text("subject", subject)
    return _Draft(
        kind=kind,
        actor=actor,
        subject=subject,
        payload_json=_canonical("payload", payload or {}),
        personal_json=_canonical("personal", personal) if personal else None,
    )


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or len(value) > _MAX_TEXT[name]:
        raise InvalidInput(
            f"{name} must be text of at most {_MAX_TEXT[name]} characters", field=name
        )


def _canonical(name: str, value: Mapping[str, Any]) -> str:
    """Canonical JSON text of a payload, or an error naming what cannot be stored."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be a JSON object (a dict)", field=name)
    try:
        return canonical_bytes(dict(value)).decode("utf-8")
    except (CanonicalizationError, TypeError, ValueError) as exc:
        bad = _first_unjsonable(value)
        hint = f" at {name}{bad}" if bad else ""
        raise InvalidInput(
            f"{name} must hold only JSON values (text, finite numbers, booleans, null, lists, "
            f"objects with text keys){hint}: {exc}",
            field=name,
        ) from None


def _first_unjsonable(value: Any, path: str = "") -> str | None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}[{key!r}]"
            found = _first_unjsonable(item, f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _first_unjsonable(item, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if value is None or isinstance(value, str | int | float | bool):
        return None
    return path


def _entry_from(row: Mapping[str, Any], payload: dict[str, Any], digest: str | None) -> LedgerEntry:
    return LedgerEntry(
        seq=row["seq"],
        recorded_at=row["recorded_at"],
        actor=row["actor"],
        kind=row["kind"],
        subject=row["subject"],
        payload=payload,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        has_personal=digest is not None,
    )


def _entry_from_row(row: Row[Any], include_personal: bool) -> LedgerEntry:
    has_personal = row.personal_digest is not None
    erased = has_personal and row.erased_at is not None
    personal = None
    if include_personal and has_personal and not erased and row.data is not None:
        personal = json.loads(row.data)
    return LedgerEntry(
        seq=row.seq,
        recorded_at=row.recorded_at,
        actor=row.actor,
        kind=row.kind,
        subject=row.subject,
        payload=_readable_payload(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
        has_personal=has_personal,
        personal_erased=erased,
        personal=personal,
    )


def _readable_payload(stored: str) -> dict[str, Any]:
    """The stored payload, or a marker when tampering left text that is not a JSON object."""
    try:
        payload = json.loads(stored)
    except (TypeError, ValueError):
        return {"unreadable": True}
    return payload if isinstance(payload, dict) else {"unreadable": True}


def _count(store: Store) -> int:
    with store.engine.connect() as connection:
        head = connection.execute(select(_head.c.seq).where(_head.c.id == _HEAD_ID)).scalar()
        if head is not None:
            return int(head)
        return int(connection.execute(select(text("count(*)")).select_from(_entries)).scalar_one())


def _read_key(path: Path) -> bytes | None:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LedgerError(f"cannot read the ledger seal key {path}: {exc.strerror}") from None
    if len(key) < 16:
        raise LedgerError(
            f"the ledger seal key {path} is {len(key)} bytes; it must be at least 16. "
            "Restore it from your backup"
        )
    return key


def _create_key(path: Path) -> bytes:
    """Write a new random key readable by the owner only; if another process won, use theirs.

    The key is written to a private temporary file and hard-linked into place, so no reader
    ever sees a half-written key and exactly one of several racing processes wins.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            existing = _read_key(path)
            if existing is None:  # pragma: no cover - removed again in between
                raise LedgerError(f"the ledger seal key {path} vanished while opening it") from None
            return existing
    finally:
        temporary.unlink(missing_ok=True)
    return key


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
