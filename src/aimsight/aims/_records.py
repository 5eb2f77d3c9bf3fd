"""``AimsRecords``: every record of the AI management system (ISO/IEC 42001), in one service.

Each part lives in its own module (inventory, policy and roles, concerns, risks, impact
assessments, objectives, incidents, nonconformities, suppliers, the Statement of Applicability
entries, check history, audits, management reviews); this class puts them together so the CLI,
the API and the control checks use one object. Every change is written to the store and then
to the ledger (kind ``aims.<record>.<verb>``, subject the record's id) before it returns; free
text and people's names go in the ledger's erasable personal data.
"""

from __future__ import annotations

from aimsight.aims._audits import AuditRecords
from aimsight.aims._concerns import ConcernRecords
from aimsight.aims._impact import ImpactRecords
from aimsight.aims._incidents import IncidentRecords
from aimsight.aims._inventory import InventoryRecords
from aimsight.aims._objectives import ObjectiveRecords
from aimsight.aims._policy import PolicyRecords
from aimsight.aims._reviews import ReviewRecords
from aimsight.aims._risks import RiskRecords
from aimsight.aims._soa_entries import SoaRecords
from aimsight.aims._suppliers import SupplierRecords

__all__ = ["AimsRecords"]


class AimsRecords(
    InventoryRecords,
    PolicyRecords,
    ConcernRecords,
    RiskRecords,
    ImpactRecords,
    ObjectiveRecords,
    IncidentRecords,
    SupplierRecords,
    SoaRecords,
    AuditRecords,
    ReviewRecords,
):
    """The AIMS records of a workspace.

    Args:
        workspace: the workspace (risk scales at ``aims/risk_scales.yaml``, review packs).
        store: the operational store holding the ``aims_*`` tables.
        ledger: where every change is recorded before it is acknowledged.

    Examples:
        >>> records = AimsRecords(workspace, store, ledger)  # doctest: +SKIP
        >>> records.sync_inventory("cli:gina")  # doctest: +SKIP
    """
