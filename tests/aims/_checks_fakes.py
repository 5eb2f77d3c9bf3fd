"""A live system for control-check tests: a workspace with its store and ledger, in-memory AIMS
records, and builders for AI systems, assessments and models taken through the registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aimsight.aims._checks_base import CheckContext
from aimsight.aims._model import AISystem, ImpactAssessment, SupplierAssessment
from aimsight.core import Workspace, now_utc
from aimsight.registry import ModelRegistry, Principal
from aimsight.security import Role
from aimsight.store import Ledger, Store
from tests.registry._fakes import register

GINA = Principal("gina", Role.GOVERNANCE)
"""A governance lead who approves models (never their trainer)."""

RATIONALE = "Gates met, fairness gate passed, card reviewed with the retention team."


@dataclass
class FakeRecords:
    """AIMS records held in lists (what ``AimsRecords`` reads from the store)."""

    systems: list[AISystem] = field(default_factory=list)
    assessments: list[ImpactAssessment] = field(default_factory=list)
    suppliers: list[SupplierAssessment] = field(default_factory=list)

    def ai_systems(self) -> list[AISystem]:
        return list(self.systems)

    def impact_assessments(self) -> list[ImpactAssessment]:
        return list(self.assessments)

    def supplier_assessments(self) -> list[SupplierAssessment]:
        return list(self.suppliers)


@dataclass
class Live:
    """A fresh workspace as the checks see it."""

    workspace: Workspace
    store: Store
    ledger: Ledger
    records: FakeRecords = field(default_factory=FakeRecords)

    def context(self, now: datetime | None = None, **shift: float) -> CheckContext:
        """A check context at ``now`` (default: the real now), moved by ``timedelta(**shift)``."""
        moment = (now or now_utc()) + timedelta(**shift)
        return CheckContext(self.workspace, self.store, self.ledger, self.records, moment)

    @property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.workspace, self.store, self.ledger)


def open_live(root: Path) -> Iterator[Live]:
    """A new workspace at ``root`` with its migrated store and ledger (closed afterwards)."""
    workspace = Workspace.create(root)
    store = Store.open(workspace, upgrade=True)
    try:
        yield Live(workspace, store, Ledger.open(workspace, store))
    finally:
        store.dispose()


def approved(registry: ModelRegistry, name: str = "churn", **changes: Any) -> int:
    """Register a fake model, validate it and have the governance lead approve it."""
    version = register(registry, name, **changes).version
    assert registry.validate(name, version, actor="cli:alice").passed
    registry.approve(name, version, approver=GINA, rationale=RATIONALE)
    return version


def champion(registry: ModelRegistry, name: str = "churn", **changes: Any) -> int:
    """A fake model taken validate -> approve -> shadow -> production."""
    version = approved(registry, name, **changes)
    registry.promote(name, version, to="shadow", actor="cli:alice")
    registry.promote(name, version, to="production", actor="cli:alice")
    return version


def system(system_id: str = "sys_churn", **changes: Any) -> AISystem:
    """An in-scope AI system owned by the governance role, relying on scikit-learn."""
    values: dict[str, Any] = {
        "system_id": system_id,
        "name": f"System {system_id}",
        "kind": "model",
        "owner": "gina",
        "owner_role": "governance",
        "purpose": "Predict churn to target retention offers",
        "intended_use": "Rank customers for the retention team",
        "in_scope": True,
        "scope_justification": "Acts on customers",
        "components": ("churn",),
        "third_party": ("scikit-learn",),
    }
    values.update(changes)
    return AISystem(**values)


def impact(
    system_id: str = "sys_churn", *, expires_on: str = "2099-01-01", **changes: Any
) -> ImpactAssessment:
    """A signed-off impact assessment of ``system_id``."""
    values: dict[str, Any] = {
        "assessment_id": f"ia_{system_id}_{expires_on}",
        "system_id": system_id,
        "affected": ("customers",),
        "harms": ("unfair targeting",),
        "severity": "medium",
        "mitigations": ("fairness gate",),
        "signed_off_by": "gina",
        "signed_off_at": "2026-01-10T09:00:00Z",
        "expires_on": expires_on,
        "created_at": "2026-01-09T09:00:00Z",
    }
    values.update(changes)
    return ImpactAssessment(**values)


def supplier(component: str = "scikit-learn", **changes: Any) -> SupplierAssessment:
    """An approved assessment of a third-party component, due for review in 2099."""
    values: dict[str, Any] = {
        "assessment_id": f"sa_{component}",
        "component": component,
        "supplier": "open source community",
        "assessed_by": "gina",
        "assessed_at": "2026-02-01T09:00:00Z",
        "outcome": "approved",
        "next_review": "2099-01-01",
    }
    values.update(changes)
    return SupplierAssessment(**values)
