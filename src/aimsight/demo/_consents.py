"""The demo company's consent records, from the lake into the consent store.

The consent system exported grants and withdrawals per CRM customer (``consent.consents``,
ingested like every other source). After identity resolution each row's ``subject_id`` names
a CRM record, so it maps to the customer that record now belongs to; the rows are imported
through :class:`~aimsight.privacy.ConsentService`, idempotently (``source_ref`` is the
dataset and the row's ``consent_id``), so running the step again adds nothing.
"""

from __future__ import annotations

from typing import Any

from aimsight.core import NotFound, Workspace
from aimsight.identity import IdentityService
from aimsight.ingest import IngestService
from aimsight.privacy import ConsentChangeIn, ConsentService, ImportReport, Progress
from aimsight.store import Ledger, Store

__all__ = ["CONSENT_DATASET", "CRM_DATASET", "consents_from_lake"]

CONSENT_DATASET = "consent.consents"
CRM_DATASET = "crm.customers"
DEMO_ACTOR = "aimsight-demo"

# The source system's words for a status, read as the consent store's.
_STATUS = {"granted": "granted", "withdrawn": "revoked"}


def consents_from_lake(
    workspace: Workspace,
    store: Store,
    ledger: Ledger,
    *,
    actor: str = DEMO_ACTOR,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every consent row in the lake into the consent store; rows whose CRM customer
    identity resolution does not know are rejected with the reason, none dropped.

    Raises:
        NotFound: no identity run has completed yet (the rows cannot be mapped to customers).
    """
    links = _crm_customers(IdentityService(workspace, store, ledger))
    rows = _lake_rows(IngestService(workspace, store, ledger))

    def customer_of(subject_id: str) -> str:
        customer = links.get(subject_id)
        if customer is None:
            raise NotFound(
                f"no customer for CRM record {subject_id!r} in the latest identity run; "
                "ingest the CRM record and run `aimsight identity run`"
            )
        return customer

    changes = [
        ConsentChangeIn(
            purpose=row["purpose"],
            channel=row["channel"],
            status=_STATUS.get(row["status"], row["status"]),
            source=row["source"] or "consent_system",
            recorded_at=row["recorded_at"],
            customer_id=row["subject_id"],
            source_ref=f"{CONSENT_DATASET}:{row['consent_id']}",
            line=index + 1,
        )
        for index, row in enumerate(rows)
    ]
    return ConsentService(workspace, store, ledger).import_changes(
        changes, actor=actor, progress=progress, resolve_customer=customer_of
    )


def _crm_customers(identity: IdentityService) -> dict[str, str]:
    """CRM ``customer_id`` -> aimsight customer id, from identity's record links."""
    table = identity.record_links()
    prefix = f"{CRM_DATASET}:"
    return {
        unique_id.removeprefix(prefix): customer
        for unique_id, customer in zip(
            table.column("unique_id").to_pylist(),
            table.column("customer_id").to_pylist(),
            strict=True,
        )
        if unique_id.startswith(prefix)
    }


def _lake_rows(ingest: IngestService) -> list[dict[str, Any]]:
    """The committed consent rows, oldest first (the lake's hive folders are not read as
    columns: ``source`` is the row's own field, not the ``source=consent`` folder)."""
    connection = ingest.lake()
    try:
        table = connection.sql(
            "SELECT consent_id, subject_id, purpose, channel, status, recorded_at, source "
            f"FROM {CONSENT_DATASET} ORDER BY recorded_at, consent_id"
        ).to_arrow_table()
    finally:
        connection.close()
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows
