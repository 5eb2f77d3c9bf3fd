"""Each flow's stop switch and its served versions, kept in the store and on the ledger."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from aimsight.core.clock import isoformat_utc, now_utc
from aimsight.core.errors import Conflict
from aimsight.decide._flow import Flow
from aimsight.decide._tables import FlowStateRow, FlowVersionRow
from aimsight.store import Ledger, LedgerEntry, Store

__all__ = ["FlowStates"]

_STOPPED = select(FlowStateRow.stopped).where(FlowStateRow.flow_id == bindparam("flow"))


class FlowStates:
    """Reads and changes stop switches; pins every flow version to its content digest."""

    def __init__(self, store: Store, ledger: Ledger) -> None:
        self._store = store
        self._ledger = ledger

    def stopped(self, connection: Connection, flow_id: str) -> bool:
        """Whether the flow's stop switch is on now (read on every decision, so a switch
        thrown from another process takes effect at once)."""
        return bool(connection.execute(_STOPPED, {"flow": flow_id}).scalar())

    def all(self) -> dict[str, FlowStateRow]:
        """Every flow's switch row by flow id."""
        with self._store.session() as session:
            rows = session.scalars(select(FlowStateRow)).all()
            for row in rows:
                session.expunge(row)
        return {row.flow_id: row for row in rows}

    def set_stopped(self, flow_id: str, stopped: bool, *, actor: str, reason: str) -> None:
        """Engage or release the stop switch, on the ledger first."""
        at = isoformat_utc(now_utc())
        kind = "decision.flow_stopped" if stopped else "decision.flow_resumed"

        def write(connection: Connection, _entry: LedgerEntry) -> None:
            _upsert_state(
                connection,
                flow_id,
                {"stopped": stopped, "stop_reason": reason, "changed_by": actor, "changed_at": at},
            )

        self._ledger.append(
            kind,
            actor=actor,
            subject=f"flow:{flow_id}",
            payload={"flow": flow_id, "stopped": stopped, "at": at},
            personal={"reason": reason},
            alongside=write,
        )

    def record_test(self, flow_id: str, *, actor: str, result: dict[str, object]) -> str:
        """Record a passed stop-switch test; returns its time."""
        at = isoformat_utc(now_utc())

        def write(connection: Connection, _entry: LedgerEntry) -> None:
            _upsert_state(
                connection,
                flow_id,
                {"stop_switch_tested_at": at, "stop_switch_tested_by": actor},
            )

        self._ledger.append(
            "decision.stop_switch_tested",
            actor=actor,
            subject=f"flow:{flow_id}",
            payload={"flow": flow_id, "at": at, **result},
            alongside=write,
        )
        return at

    def pin(self, flow: Flow, *, actor: str) -> bool:
        """Record ``flow``'s version and digest the first time it is served.

        Returns whether it was new.

        Raises:
            Conflict: this version number was served before with different content (bump
                ``version`` in the file when you change a flow).
        """
        with self._store.session() as session:
            row = session.get(FlowVersionRow, (flow.flow, flow.version))
            if row is not None:
                if row.digest != flow.digest:
                    raise Conflict(
                        f"flow {flow.flow!r} version {flow.version} was served before with "
                        f"different content (digest {row.digest[:12]}..., now "
                        f"{flow.digest[:12]}...); bump `version` in the flow file so both "
                        "versions stay on record"
                    )
                return False
        at = isoformat_utc(now_utc())
        definition = json.dumps(flow.model_dump(mode="json"), sort_keys=True)

        def write(connection: Connection, _entry: LedgerEntry) -> None:
            exists = connection.execute(
                select(FlowVersionRow.version).where(
                    FlowVersionRow.flow_id == flow.flow, FlowVersionRow.version == flow.version
                )
            ).first()
            if exists is None:
                connection.execute(
                    insert(FlowVersionRow).values(
                        flow_id=flow.flow,
                        version=flow.version,
                        digest=flow.digest,
                        definition=definition,
                        registered_at=at,
                        registered_by=actor,
                    )
                )

        self._ledger.append(
            "decision.flow_registered",
            actor=actor,
            subject=f"flow:{flow.flow}",
            payload={"flow": flow.flow, "version": flow.version, "digest": flow.digest},
            alongside=write,
        )
        return True

    def versions(self, flow_id: str) -> list[dict[str, object]]:
        """Every served version of the flow, oldest first."""
        with self._store.session() as session:
            rows = session.scalars(
                select(FlowVersionRow)
                .where(FlowVersionRow.flow_id == flow_id)
                .order_by(FlowVersionRow.version)
            ).all()
            return [
                {
                    "version": row.version,
                    "digest": row.digest,
                    "registered_at": row.registered_at,
                    "registered_by": row.registered_by,
                }
                for row in rows
            ]


def _upsert_state(connection: Connection, flow_id: str, values: dict[str, Any]) -> None:
    changed = connection.execute(
        update(FlowStateRow).where(FlowStateRow.flow_id == flow_id).values(**values)
    ).rowcount
    if not changed:
        connection.execute(
            insert(FlowStateRow).values({"flow_id": flow_id, "stopped": False, **values})
        )
