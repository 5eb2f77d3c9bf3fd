"""The feature service: definitions, point-in-time features, offline builds, training
frames, online snapshots and payment histories, over the workspace's lake.

Times: an as-of is a date (midnight UTC at its start), an aware datetime, or an ISO 8601
string of either. Features as of T read rows strictly before T (see
:mod:`aimsight.features._engine`); labels read ``[T, T + window)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import InvalidInput, NotFound
from aimsight.core.ids import new_id
from aimsight.core.workspace import Workspace
from aimsight.features._definitions import (
    FeatureDefinitions,
    load_definitions,
    shipped_definitions,
    shipped_definitions_text,
)
from aimsight.features._engine import (
    FeatureEngine,
    arrow_schema,
    identifier_kinds,
    source_datasets,
)
from aimsight.features._labels import LabelSpec
from aimsight.features._online import ONLINE_PREFIX, OnlineCache
from aimsight.features._results import OfflineFeatures, OnlineSnapshot, TrainingFrame
from aimsight.identity import IdentityService
from aimsight.ingest import ContractRegistry, IngestService
from aimsight.store import Lake, Ledger, Store

__all__ = ["DEFINITIONS_PATH", "OFFLINE_PREFIX", "AsOf", "FeatureService", "Progress"]

DEFINITIONS_PATH = "features/features.yaml"
"""The workspace's feature definitions, relative to the workspace folder."""

OFFLINE_PREFIX = "features/offline"

AsOf = date | datetime | str
"""An as-of time: a date (midnight UTC), an aware datetime, or ISO 8601 text of either."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called as an offline build moves through its dates."""


@dataclass
class _Session:
    """One lake connection with its engine, for one service call."""

    engine: FeatureEngine
    files: dict[str, list[str]]
    identity_digest: str


class FeatureService:
    """Point-in-time features over the lake, for training (offline) and decisions (online).

    Args:
        workspace: where the lake and the definitions live.
        store: the operational store (lake file lists, identity links).
        ledger: where offline builds and online snapshots are recorded; without one
            nothing is recorded.
    """

    def __init__(self, workspace: Workspace, store: Store, ledger: Ledger | None = None) -> None:
        self._workspace = workspace
        self._store = store
        self._ledger = ledger
        self._lake = Lake.for_workspace(workspace)
        self._online = OnlineCache(self._lake.resolve(ONLINE_PREFIX))
        self._cache: tuple[int | None, FeatureDefinitions] | None = None

    # -- definitions -----------------------------------------------------------------------------

    @property
    def definitions_path(self) -> Path:
        """The workspace's definitions file (``features/features.yaml``)."""
        return self._workspace.root / DEFINITIONS_PATH

    def install_default_definitions(self) -> bool:
        """Write the shipped definitions unless the workspace has its own; True if written."""
        if self.definitions_path.exists():
            return False
        self.definitions_path.parent.mkdir(parents=True, exist_ok=True)
        self.definitions_path.write_text(shipped_definitions_text(), encoding="utf-8")
        return True

    def definitions(self) -> FeatureDefinitions:
        """The definitions in force: the workspace's file, or the shipped default while the
        workspace has none. Parsed again only when the file changes.

        Raises:
            InvalidInput: the file is not valid; the message names it and the bad setting.
        """
        path = self.definitions_path
        stamp = path.stat().st_mtime_ns if path.exists() else None
        cached = self._cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        definitions = load_definitions(path) if stamp is not None else shipped_definitions()
        self._cache = (stamp, definitions)
        return definitions

    # -- offline ---------------------------------------------------------------------------------

    def compute(self, as_of: AsOf, *, customers: Sequence[str] | None = None) -> pd.DataFrame:
        """Features as of one time: one row per customer known before it.

        Columns ``customer_id``, ``as_of`` and every feature in definition order, sorted by
        customer id. Counts and sums are 0 for a customer with no matching events; recency,
        means, minima, maxima, ratios without a default and unknown attributes are null
        (NaN or None).

        Args:
            as_of: the time features describe (rows at or after it are not read).
            customers: only these customer ids (those unknown at ``as_of`` are left out).

        Raises:
            NotFound: identity has not run yet.
            InvalidInput: the as-of cannot be read, or a definition names a dataset or
                column the lake lacks.
        """
        moment = to_moment(as_of)
        with self._session() as session:
            return session.engine.compute(moment, customers)

    def build_offline(
        self,
        as_of_dates: Iterable[AsOf],
        *,
        progress: Progress | None = None,
        actor: str = "system",
    ) -> OfflineFeatures:
        """Compute features at every as-of date and write them, stacked, to one lake file.

        The file is ``features/offline/<build id>.parquet``; the result lists the lake
        files read with their SHA-256 (the training data's snapshot). The build is recorded
        on the ledger when the service has one.
        """
        moments = to_moments(as_of_dates)
        build_id = new_id("fb", 16)
        path = f"{OFFLINE_PREFIX}/{build_id}.parquet"
        with self._session() as session:
            frames = []
            for done, moment in enumerate(moments):
                if progress is not None:
                    progress(f"features as of {isoformat_utc(moment)}", done, len(moments))
                frames.append(session.engine.compute(moment))
            if progress is not None:
                progress("writing", len(moments), len(moments))
            frame = pd.concat(frames, ignore_index=True)
            snapshot = self._snapshot(session, source_datasets(session.engine.definitions))
            digest = session.engine.definitions.digest
            written = self._lake.write_table(
                path,
                _table(frame, session.engine.definitions),
                metadata={
                    "aimsight.features.definitions_digest": digest,
                    "aimsight.features.identity_digest": session.identity_digest,
                    "aimsight.features.as_of": ",".join(isoformat_utc(m) for m in moments),
                },
            )
            result = OfflineFeatures(
                build_id=build_id,
                path=path,
                rows=int(len(frame)),
                customers=int(frame["customer_id"].nunique()),
                as_of_dates=[isoformat_utc(moment) for moment in moments],
                features=session.engine.definitions.names,
                snapshot=snapshot,
                definitions_digest=digest,
                identity_digest=session.identity_digest,
                sha256=written.sha256,
            )
        if self._ledger is not None:
            payload = {k: v for k, v in result.to_dict().items() if k != "snapshot"}
            payload["snapshot_sha256"] = _digest_of(snapshot)
            payload["snapshot_files"] = len(snapshot)
            self._ledger.append(
                "features.offline_built", actor=actor, subject=build_id, payload=payload
            )
        return result

    def training_frame(self, as_of_dates: Iterable[AsOf], label: LabelSpec) -> TrainingFrame:
        """Features and labels at every as-of date, stacked, for a trainer.

        Each date's rows are the label's population (for churn: customers active at it)
        with their features as of it and what happened in the window after it.

        Raises:
            InvalidInput: an as-of date's label window runs past the end of the data (the
                message names the last usable date), or a label column clashes with a
                feature name.
            NotFound: identity has not run yet.
        """
        moments = to_moments(as_of_dates)
        definitions = self.definitions()
        clash = sorted(set(label.columns) & set(definitions.names))
        if clash:
            raise InvalidInput(
                f"label column {clash[0]!r} is also a feature name; rename the feature",
                field="label",
            )
        if label.kind == "churn":
            if definitions.payments is None:
                raise InvalidInput(
                    "the feature definitions declare no payments, so churn cannot be told; "
                    "add a payments section (source, where, value)",
                    field="payments",
                )
            source = definitions.payments.source
        else:
            source = str(label.source)
            if source not in definitions.sources:
                raise InvalidInput(
                    f"label source {source!r} is not declared under sources in the feature "
                    "definitions; declare how its rows join to customers",
                    field="label.source",
                )
        with self._session(definitions) as session:
            engine = session.engine
            frames = []
            self._check_window(engine, source, moments, label)
            for moment in moments:
                features = engine.compute(moment)
                outcomes = engine.labels(moment, label)
                frames.append(features.merge(outcomes, on="customer_id", how="inner"))
            frame = pd.concat(frames, ignore_index=True)
            datasets = sorted({*source_datasets(definitions), source})
            snapshot = self._snapshot(session, datasets)
            identity_digest = session.identity_digest
        return TrainingFrame(
            frame=frame,
            label=label.target,
            label_columns=list(label.columns),
            features=definitions.inputs,
            sensitive=definitions.sensitive,
            descriptions=definitions.descriptions,
            types=definitions.types,
            as_of_dates=[isoformat_utc(moment) for moment in moments],
            snapshot=snapshot,
            label_spec=label.to_dict(),
            definitions_digest=definitions.digest,
            identity_digest=identity_digest,
        )

    def last_label_date(self, label: LabelSpec) -> date:
        """The last as-of date whose whole label window the data covers (a trainer's
        default end of its schedule).

        Raises:
            InvalidInput: the label's source has no rows linked to customers.
        """
        definitions = self.definitions()
        source = self._label_source(definitions, label)
        with self._session(definitions) as session:
            end = session.engine.data_end(source)
        if end is None:
            raise InvalidInput(
                f"{source} has no rows linked to customers, so no {label.kind} label can be "
                "computed; ingest it and run identity first",
                field="label",
            )
        return (end.astimezone(UTC) - timedelta(days=label.window_days)).date()

    def latest_date(self) -> date:
        """The day after the lake's latest event: "today" for features over the whole history.

        Raises:
            InvalidInput: the lake has no events linked to customers yet.
        """
        with self._session() as session:
            latest = session.engine.latest_event()
        if latest is None:
            raise InvalidInput(
                "the lake has no events linked to customers yet; ingest data and run identity",
                field="as_of",
            )
        return latest.astimezone(UTC).date() + timedelta(days=1)

    def read_offline(self, built: OfflineFeatures) -> pd.DataFrame:
        """The frame an offline build wrote (to train on exactly what was recorded)."""
        return pd.read_parquet(self._lake.resolve(built.path))

    def payments_snapshot(self) -> dict[str, str]:
        """``{lake path: sha256}`` of every file the payments (and their links) are read from."""
        definitions = self.definitions()
        if definitions.payments is None:
            return {}
        source = definitions.payments.source
        datasets = sorted(
            {source, *(link.record for link in definitions.sources[source].links if link.record)}
        )
        with self._session(definitions) as session:
            return self._snapshot(session, datasets)

    @staticmethod
    def _label_source(definitions: FeatureDefinitions, label: LabelSpec) -> str:
        if label.kind == "churn":
            if definitions.payments is None:
                raise InvalidInput(
                    "the feature definitions declare no payments, so churn cannot be told; "
                    "add a payments section (source, where, value)",
                    field="payments",
                )
            return definitions.payments.source
        return str(label.source)

    def transactions(self, until: AsOf | None = None) -> pd.DataFrame:
        """Successful payments per customer: ``customer_id``, ``date`` (the payment's UTC
        time) and ``value`` (its amount), strictly before ``until`` when given.

        What a successful payment is comes from the definitions' ``payments`` section.
        Amounts are as recorded, in each account's own currency.
        """
        moment = to_moment(until) if until is not None else None
        with self._session() as session:
            return session.engine.payments(moment)

    # -- online ----------------------------------------------------------------------------------

    def publish_online(self, as_of: AsOf | None = None, *, actor: str = "system") -> OnlineSnapshot:
        """Compute every customer's features and publish them for real-time lookups.

        Without ``as_of`` the snapshot describes the lake as it is: as of just after its
        latest event (1 microsecond later, so that event counts), which is "now" for a lake
        fed continuously and the end of the data for a historical one such as the demo.
        The file ``features/online/<stamp>.parquet`` is sorted by customer id; the
        publication is recorded on the ledger when the service has one.

        Raises:
            InvalidInput: the lake has no events to describe yet.
        """
        with self._session() as session:
            if as_of is None:
                latest = session.engine.latest_event()
                if latest is None:
                    raise InvalidInput(
                        "the lake has no events linked to customers yet; ingest data and run "
                        "identity before publishing features",
                        field="as_of",
                    )
                moment = latest.astimezone(UTC) + timedelta(microseconds=1)
            else:
                moment = to_moment(as_of)
            frame = session.engine.compute(moment)
            definitions = session.engine.definitions
        published = now_utc()
        path = f"{ONLINE_PREFIX}/{published.strftime('%Y%m%dT%H%M%S%fZ')}.parquet"
        written = self._lake.write_table(
            path,
            _table(frame, definitions),
            metadata={
                "aimsight.as_of": isoformat_utc(moment),
                "aimsight.features.definitions_digest": definitions.digest,
            },
        )
        snapshot = OnlineSnapshot(
            path=path,
            as_of=isoformat_utc(moment),
            published_at=isoformat_utc(published),
            customers=int(len(frame)),
            features=definitions.names,
            definitions_digest=definitions.digest,
            sha256=written.sha256,
        )
        if self._ledger is not None:
            self._ledger.append(
                "features.online_published", actor=actor, subject=path, payload=snapshot.to_dict()
            )
        return snapshot

    def online_frame(self) -> tuple[str, pd.DataFrame]:
        """The newest online snapshot whole: its name and one row per customer.

        What batch consumers read (decisions score everyone in a snapshot at once rather
        than one customer per request); the name changes whenever a newer snapshot is
        published, so it keys anything computed from the rows.

        Raises:
            NotFound: no snapshot has been published.
        """
        loaded = self._online.current()
        customers = sorted(loaded.index, key=loaded.index.__getitem__)
        frame = pd.DataFrame({name: column for name, column in loaded.columns})
        frame.insert(0, "customer_id", customers)
        return loaded.path.name, frame

    def online_version(self) -> str:
        """The name of the newest online snapshot (what :meth:`online_frame` returns with
        the rows): cheap, so a decision can check that batch scores match its features.

        Raises:
            NotFound: no snapshot has been published.
        """
        return self._online.current().path.name

    def online(self, customer_id: str) -> dict[str, Any]:
        """A customer's features from the newest online snapshot (JSON-ready; nulls as None).

        A merged-away customer id, an alias or a record key (``crm.customers:C1001``) is
        followed to the customer it names now.

        Raises:
            NotFound: no snapshot has been published, or the customer is not in it.
        """
        found = self._online.get(customer_id)
        if found is not None:
            return found
        snapshot = self._online.current()
        try:
            current = self._identity().customer_id_of(customer_id)
        except NotFound:
            current = customer_id
        found = self._online.get(current) if current != customer_id else None
        if found is None:
            raise NotFound(
                f"customer {customer_id!r} is not in the online feature snapshot as of "
                f"{snapshot.as_of} (not a customer then, or unknown); publish a newer "
                "snapshot with `aimsight features publish` if they are new"
            )
        return found

    # -- internals -------------------------------------------------------------------------------

    def _identity(self) -> IdentityService:
        return IdentityService(self._workspace, self._store, self._ledger_for_reading())

    def _ledger_for_reading(self) -> Ledger:
        # The ingest and identity services want a ledger, though reading records nothing.
        return self._ledger or Ledger.open(self._workspace, self._store)

    @contextmanager
    def _session(self, definitions: FeatureDefinitions | None = None) -> Iterator[_Session]:
        """A lake connection over exactly the committed files listed (so the snapshot names
        every file the views read), identity's links, and the engine."""
        definitions = definitions or self.definitions()
        path = self.definitions_path
        origin = str(path) if path.exists() else "the shipped feature definitions"
        ledger = self._ledger_for_reading()
        identity = IdentityService(self._workspace, self._store, ledger)
        record_links = identity.record_links()
        identifier_links = {
            kind: identity.identifier_links(kind) for kind in identifier_kinds(definitions)
        }
        files = IngestService(self._workspace, self._store, ledger).lake_files()
        contracts = ContractRegistry.for_workspace(self._workspace).list()
        empty = {contract.name: contract.arrow_schema() for contract in contracts}
        connection = self._lake.connect(files, empty=empty)
        try:
            engine = FeatureEngine(
                connection,
                definitions,
                record_links=record_links,
                identifier_links=identifier_links,
                origin=origin,
            )
            digest = _links_digest(record_links, identifier_links)
            yield _Session(engine=engine, files=files, identity_digest=digest)
        finally:
            connection.close()

    def _snapshot(self, session: _Session, datasets: Sequence[str]) -> dict[str, str]:
        paths = sorted(path for dataset in datasets for path in session.files.get(dataset, []))
        return {path: self._lake.sha256(path) for path in paths}

    @staticmethod
    def _check_window(
        engine: FeatureEngine, source: str, moments: Sequence[datetime], label: LabelSpec
    ) -> None:
        window = timedelta(days=label.window_days)
        end = engine.data_end(source)
        if end is None:
            raise InvalidInput(
                f"{source} has no rows linked to customers, so no {label.kind} label can be "
                "computed; ingest it and run identity first",
                field="label",
            )
        late = [moment for moment in moments if moment + window > end]
        if late:
            last = (end - window).astimezone(UTC).date()
            raise InvalidInput(
                f"as-of {isoformat_utc(late[0])} is too late for a {label.window_days}-day "
                f"{label.kind} label: {source} ends at {isoformat_utc(end)}, so its window "
                "would run past the data and label customers by what has not been seen yet; "
                f"the last usable as-of date is {last.isoformat()}",
                field="as_of_dates",
            )


def to_moment(value: AsOf, field: str = "as_of") -> datetime:
    """An aware UTC datetime from a date (its midnight UTC), an aware datetime, or ISO text.

    Raises:
        InvalidInput: the text is not ISO 8601, or the datetime has no time zone.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: date | datetime = (
                date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
            )
        except ValueError:
            raise InvalidInput(
                f"{field} {value!r} is not a date or time; write it as 2025-01-31 or "
                "2025-01-31T12:00:00Z",
                field=field,
            ) from None
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(
                f"{field} {value.isoformat()} has no time zone; add one (for example Z for UTC)",
                field=field,
            )
        return value.astimezone(UTC)
    return datetime.combine(value, time(), tzinfo=UTC)


def to_moments(values: Iterable[AsOf], field: str = "as_of_dates") -> list[datetime]:
    """Distinct as-of times, oldest first.

    Raises:
        InvalidInput: none were given, or one cannot be read.
    """
    if isinstance(values, str | date):
        values = [values]
    moments = sorted({to_moment(value, field) for value in values})
    if not moments:
        raise InvalidInput(f"give at least one as-of date in {field}", field=field)
    return moments


def _table(frame: pd.DataFrame, definitions: FeatureDefinitions) -> pa.Table:
    schema = arrow_schema(definitions)
    return pa.Table.from_pandas(
        frame, schema=schema, preserve_index=False
    ).replace_schema_metadata()


def _links_digest(record_links: pa.Table, identifier_links: dict[str, pa.Table]) -> str:
    """SHA-256 of the identity links, so a build records exactly who was whom."""
    digest = hashlib.sha256()
    tables = [("records", record_links), *sorted(identifier_links.items())]
    for name, table in tables:
        digest.update(name.encode())
        ordered = table.sort_by([(column, "ascending") for column in table.column_names])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, ordered.schema) as writer:
            writer.write_table(ordered.combine_chunks())
        digest.update(hashlib.sha256(sink.getvalue().to_pybytes()).digest())
    return digest.hexdigest()


def _digest_of(snapshot: dict[str, str]) -> str:
    text = "\n".join(f"{path}\t{sha}" for path, sha in sorted(snapshot.items()))
    return hashlib.sha256(text.encode()).hexdigest()
