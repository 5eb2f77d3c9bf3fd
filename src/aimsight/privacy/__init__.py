"""Privacy: consent per customer x purpose x channel, its history, and the decision gate.

``ConsentService`` records what customers said (granted, denied, revoked) with its source,
time and legal basis, keeps every change and writes each to the ledger, imports records from
other systems idempotently, and answers the gate the decision layer calls before any scoring.
The rules live in one pure function, :func:`effective`, over a :class:`ConsentPolicy` read
from ``privacy/consent.yaml`` (a workspace's copy overrides the shipped one).
"""

from aimsight.privacy._consent import current_records, effective
from aimsight.privacy._files import read_changes
from aimsight.privacy._model import (
    ConsentChange,
    ConsentChangeIn,
    ConsentCheck,
    ConsentRecord,
    CustomerConsents,
    ImportReport,
    RejectedConsent,
)
from aimsight.privacy._policy import (
    ANY,
    LEGAL_BASES,
    POLICY_PATH,
    STATUSES,
    ConsentPolicy,
    ConsentPolicyError,
    PropagationRule,
    PurposeSpec,
    load_policy,
    parse_policy,
    shipped_policy,
    shipped_policy_text,
)
from aimsight.privacy._service import LEDGER_KIND, ConsentService, Progress

__all__ = [
    "ANY",
    "LEDGER_KIND",
    "LEGAL_BASES",
    "POLICY_PATH",
    "STATUSES",
    "ConsentChange",
    "ConsentChangeIn",
    "ConsentCheck",
    "ConsentPolicy",
    "ConsentPolicyError",
    "ConsentRecord",
    "ConsentService",
    "CustomerConsents",
    "ImportReport",
    "Progress",
    "PropagationRule",
    "PurposeSpec",
    "RejectedConsent",
    "current_records",
    "effective",
    "load_policy",
    "parse_policy",
    "read_changes",
    "shipped_policy",
    "shipped_policy_text",
]
