"""The AI policy's versions with review dates (A.2) and the roles and responsibilities matrix
(A.3.2), which joins the application's roles and permissions to AIMS duties.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from aimsight.aims._fields import day, now_text, today
from aimsight.aims._fields import text as checked_text
from aimsight.aims._record_types import PolicyVersion
from aimsight.aims._recording import RecordsBase
from aimsight.aims._tables import PolicyVersionRow
from aimsight.core.errors import Conflict, InvalidInput
from aimsight.security import ROLE_PERMISSIONS, ApiKeyService, Role

__all__ = ["AIMS_RESPONSIBILITIES", "PolicyRecords"]

AIMS_RESPONSIBILITIES: Mapping[Role, tuple[str, ...]] = {
    Role.ADMIN: (
        "Manages users, API keys and roles",
        "Keeps the platform, its backups and the ledger key safe",
    ),
    Role.DATA_ENGINEER: (
        "Loads data and keeps its quality checks passing",
        "Trains, validates and releases models and decision flows",
        "Runs identity resolution and answers for its quality",
    ),
    Role.ANALYST: (
        "Analyses segments, experiments and KPI trends",
        "Reports concerns about AI behaviour",
    ),
    Role.GOVERNANCE: (
        "Approves models for release (never their own)",
        "Owns the AI policy and the Statement of Applicability",
        "Keeps the risk register and impact assessments",
        "Runs internal audits and management reviews",
    ),
    Role.PRIVACY: (
        "Enforces consent and opt-outs",
        "Answers access and erasure requests within their deadlines",
        "Sets retention and masking; reviews impact assessments for privacy",
    ),
    Role.AGENT: (
        "Reviews decisions handed over to people",
        "Passes on customers' concerns about automated decisions",
    ),
    Role.SERVICE: ("Makes automated decisions only through approved flows",),
}
"""What each application role answers for in the AI management system (A.3.2)."""


class PolicyRecords(RecordsBase):
    """AI policy versions and the roles and responsibilities matrix."""

    def add_policy_version(
        self, text: str, *, actor: str, approved_by: str, effective: object, next_review: object
    ) -> PolicyVersion:
        """Record a new approved version of the AI policy (numbered 1, 2, ...).

        Raises:
            InvalidInput: the text or approver is blank, or the review is not after the
                effective date.
        """
        body = checked_text("text", text, limit=200_000)
        approver = checked_text("approved_by", approved_by, limit=200)
        starts = day("effective", effective)
        review = day("next_review", next_review)
        if review <= starts:
            raise InvalidInput(
                f"next_review {review} must be after the effective date {starts}",
                field="next_review",
            )
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        try:
            with self._unit(actor) as unit:
                latest = unit.session.scalar(select(func.max(PolicyVersionRow.version)))
                row = unit.add(
                    PolicyVersionRow(
                        version=int(latest or 0) + 1,
                        text=body,
                        text_sha256=digest,
                        approved_by=approver,
                        effective=starts,
                        next_review=review,
                        created_at=now_text(),
                        created_by=unit.actor,
                    )
                )
                unit.record(
                    "aims.policy.versioned",
                    f"policy:v{row.version}",
                    {
                        "version": row.version,
                        "effective": starts,
                        "next_review": review,
                        "text_sha256": digest,
                    },
                    {"approved_by": approver},
                )
        except IntegrityError:
            raise Conflict("another policy version was added at the same time; try again") from None
        return _policy_of(row)

    def policy_versions(self) -> list[PolicyVersion]:
        """Every version of the AI policy, oldest first."""
        with self._store.session() as session:
            rows = session.scalars(select(PolicyVersionRow).order_by(PolicyVersionRow.version))
            return [_policy_of(row) for row in rows]

    def current_policy(self) -> PolicyVersion | None:
        """The newest version already in effect today, or ``None`` when there is none."""
        now = today().isoformat()
        effective = [item for item in self.policy_versions() if item.effective <= now]
        return effective[-1] if effective else None

    def roles_matrix(self) -> list[dict[str, Any]]:
        """One row per application role: its permissions, AIMS duties and who holds it now.

        ``holders`` are the names of active API keys with the role.
        """
        holders: dict[str, list[str]] = {}
        for key in ApiKeyService(self._store).list():
            holders.setdefault(key.role.value, []).append(key.name)
        return [
            {
                "role": role.value,
                "permissions": sorted(p.value for p in ROLE_PERMISSIONS.get(role, frozenset())),
                "responsibilities": list(AIMS_RESPONSIBILITIES.get(role, ())),
                "holders": sorted(holders.get(role.value, [])),
            }
            for role in Role
        ]


def _policy_of(row: PolicyVersionRow) -> PolicyVersion:
    return PolicyVersion(
        version=row.version,
        text=row.text,
        text_sha256=row.text_sha256,
        approved_by=row.approved_by,
        effective=row.effective,
        next_review=row.next_review,
        created_at=row.created_at,
        created_by=row.created_by,
    )
