"""The AI systems inventory: kept by hand, validated, and synced from the registry and identity."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aimsight.aims._records import AimsRecords
from aimsight.core import Conflict, InvalidInput, NotFound, Workspace
from aimsight.identity import IdentityService
from aimsight.registry import ModelRegistry
from aimsight.security import ApiKeyService, Role
from aimsight.store import Ledger, Store
from tests.registry._fakes import register


@pytest.fixture
def ledger(store: Store, workspace: Workspace) -> Ledger:
    return Ledger.open(workspace, store)


@pytest.fixture
def records(workspace: Workspace, store: Store, ledger: Ledger) -> AimsRecords:
    return AimsRecords(workspace, store, ledger)


@pytest.fixture
def registry(workspace: Workspace, store: Store, ledger: Ledger) -> ModelRegistry:
    return ModelRegistry(workspace, store, ledger)


def test_a_system_is_created_read_back_and_listed(records: AimsRecords) -> None:
    system = records.create_system(
        "next-best-offer",
        actor="cli:gina",
        kind="decision_flow",
        owner="governance",
        purpose="Pick the offer a customer most likely accepts",
        intended_use="Marketing e-mails; never pricing",
        stakeholders=["customers", "marketing", "customers"],
        risk_level="medium",
        components=["nbo-flow"],
        high_stakes=True,
    )
    assert system.owner_role == "governance"  # the owner names a role
    assert system.stakeholders == ("customers", "marketing")  # duplicates dropped
    assert records.ai_system(system.system_id) == system
    assert records.ai_systems() == [system]
    assert json.loads(json.dumps(system.to_dict()))["components"] == ["nbo-flow"]


def test_the_owner_role_comes_from_the_owner_api_key(records: AimsRecords, store: Store) -> None:
    ApiKeyService(store).create("gina", Role.GOVERNANCE, created_by="admin")
    assert (
        records.create_system("churn", actor="cli:admin", owner="gina").owner_role == "governance"
    )
    assert records.create_system("upsell", actor="cli:admin", owner="nobody").owner_role is None
    explicit = records.create_system(
        "clv", actor="cli:admin", owner="x", owner_role="Data-Engineer"
    )
    assert explicit.owner_role == "data_engineer"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"in_scope": False}, "scope_justification"),
        ({"kind": "robot"}, "kind"),
        ({"risk_level": "extreme"}, "risk_level"),
        ({"owner_role": "ceo"}, "owner_role"),
        ({"in_scope": "no"}, "in_scope"),
        ({"stakeholders": [""]}, "stakeholders[0]"),
    ],
)
def test_malformed_systems_are_refused_naming_the_field(
    records: AimsRecords, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        records.create_system("churn", actor="cli:gina", **changes)
    assert raised.value.field == field
    assert records.ai_systems() == []


def test_out_of_scope_needs_a_justification_and_a_name_is_unique(records: AimsRecords) -> None:
    left_out = records.create_system(
        "spam-filter",
        actor="cli:gina",
        in_scope=False,
        scope_justification="Vendor e-mail filter, covered by the IT policy",
    )
    assert not left_out.in_scope
    with pytest.raises(Conflict):
        records.create_system("spam-filter", actor="cli:gina")


def test_update_changes_only_what_is_given_and_records_it(
    records: AimsRecords, ledger: Ledger
) -> None:
    system = records.create_system("churn", actor="cli:gina", owner="governance")
    updated = records.update_system(
        system.system_id, actor="cli:gina", risk_level="high", owner="privacy"
    )
    assert (updated.risk_level, updated.owner, updated.owner_role) == ("high", "privacy", "privacy")
    assert updated.name == "churn" and updated.created_at == system.created_at
    entry = ledger.entries(kind="aims.system.updated", include_personal=True)[0]
    assert entry.payload["changed"] == ["owner", "owner_role", "risk_level"]
    assert entry.personal == {"owner": "privacy"}

    same = records.update_system(system.system_id, actor="cli:gina", risk_level="high")
    assert same == updated and len(ledger.entries(kind="aims.system.updated")) == 1
    with pytest.raises(InvalidInput) as raised:
        records.update_system(system.system_id, actor="cli:gina", colour="red")
    assert raised.value.field == "colour"
    with pytest.raises(InvalidInput):
        records.update_system(system.system_id, actor="cli:gina", in_scope=False)
    with pytest.raises(NotFound):
        records.update_system("ais_missing", actor="cli:gina", risk_level="low")


def test_sync_registers_each_model_once_and_picks_up_new_ones(
    records: AimsRecords, registry: ModelRegistry, ledger: Ledger
) -> None:
    assert records.sync_inventory("cli:gina") == []
    register(registry, "churn")
    first = records.sync_inventory("cli:gina")
    assert [(s.name, s.kind, s.components) for s in first] == [("churn", "model", ("churn",))]
    churn = first[0]
    assert churn.owner is None and churn.risk_level == "unassessed"  # the checks flag it
    assert churn.third_party == ("scikit-learn", "shap", "fairlearn")
    assert churn.intended_use.startswith("Rank customers")  # from the model card

    entries = ledger.count()
    assert records.sync_inventory("cli:gina") == [churn]  # idempotent: nothing new written
    assert ledger.count() == entries

    register(registry, "churn")  # a new version joins the same system
    register(registry, "upsell")
    again = records.sync_inventory("cli:gina")
    assert [s.name for s in again] == ["churn", "upsell"]
    assert again[0].system_id == churn.system_id
    assert len(records.ai_systems()) == 2


def test_sync_joins_a_system_people_made_and_adds_missing_libraries(
    records: AimsRecords, registry: ModelRegistry
) -> None:
    made = records.create_system(
        "Churn prediction",
        actor="cli:gina",
        kind="model",
        owner="governance",
        components=["churn"],
        third_party=["scikit-learn"],
        risk_level="medium",
    )
    register(registry, "churn")
    [joined] = records.sync_inventory("cli:gina")
    assert joined.system_id == made.system_id
    assert (joined.owner, joined.risk_level) == ("governance", "medium")  # people's work kept
    assert joined.third_party == ("scikit-learn", "shap", "fairlearn")
    assert len(records.ai_systems()) == 1


def test_sync_registers_identity_matching_once_identity_has_run(
    records: AimsRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[dict[str, Any]] = [{"run_id": "run_1", "status": "failed"}]
    monkeypatch.setattr(IdentityService, "runs", lambda _self, limit=20: runs[:limit])
    assert records.sync_inventory("cli:gina") == []  # a failed run trained nothing

    runs.insert(0, {"run_id": "run_2", "status": "completed"})
    [system] = records.sync_inventory("cli:gina")
    assert (system.kind, system.components) == ("identity_matching", ("identity/matching",))
    assert system.third_party == ("splink", "duckdb")
    assert records.sync_inventory("cli:gina") == [system]
