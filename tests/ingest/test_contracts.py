"""Contracts: YAML in, clear errors, versions that only move forward compatibly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.core import NotFound, Workspace
from aimsight.ingest._contracts import (
    Contract,
    ContractError,
    ContractRegistry,
    FieldSpec,
    compatibility,
    shipped_contracts,
)

BASE = """\
source: crm
entity: customers
version: 1
description: People in the CRM.
primary_key: [customer_id]
event_time: updated_at
fields:
  - {name: customer_id, type: string, required: true, max_length: 64}
  - {name: email, type: email}
  - {name: country, type: country}
  - {name: phone, type: phone, default_region: GB, region_field: country}
  - {name: plan, type: enum, values: [basic, premium]}
  - {name: amount, type: decimal, minimum: 0, maximum: 1000}
  - {name: updated_at, type: timestamp, required: true}
quality:
  max_quarantine_rate: 0.2
  min_completeness: {email: 0.5}
  volume: {window: 3, action: reject}
"""


def base() -> Contract:
    return Contract.from_yaml(BASE, origin="base.yaml")


def with_field(contract: Contract, name: str, **changes: object) -> Contract:
    fields = tuple(
        replace(spec, **changes) if spec.name == name else spec  # type: ignore[arg-type]
        for spec in contract.fields
    )
    return replace(contract, fields=fields)


# --- reading -----------------------------------------------------------------------------


def test_yaml_round_trips_and_the_digest_is_stable() -> None:
    contract = base()
    again = Contract.from_yaml(contract.to_yaml(), origin="again")
    assert again == contract
    assert again.digest() == contract.digest()
    assert hash(again) == hash(contract)  # usable as a cache key
    assert contract.quality.max_quarantine_rate == 0.2
    assert contract.quality.volume.action == "reject"
    assert contract.get_field("plan").values == ("basic", "premium")


def test_the_digest_changes_with_the_contract() -> None:
    contract = base()
    assert replace(contract, description="other").digest() != contract.digest()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("type: string, required: true, max_length: 64", None),
        ("type: emial", "base.yaml: fields[1].type: 'emial' is not a field type"),
        ("type: email, requried: true", "fields[1].requried: unknown setting"),
        ("type: email, max_length: many", "fields[1].max_length: expected a whole number"),
        ("type: email, values: [a]", "fields[1].values: values apply to enum fields only"),
    ],
)
def test_errors_name_the_file_and_the_setting(change: str, expected: str | None) -> None:
    text = BASE.replace("type: email}", change + "}")
    if expected is None:
        Contract.from_yaml(text, origin="base.yaml")
        return
    with pytest.raises(ContractError) as caught:
        Contract.from_yaml(text, origin="base.yaml")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("primary_key: [customer_id]", "primary_key: [nope]", "primary_key: 'nope' is not a field"),
        ("event_time: updated_at", "event_time: email", "event_time: must name a field of type"),
        ("region_field: country", "region_field: email", "must name a field of type country"),
        ("default_region: GB", "default_region: XX", "not an ISO-3166 alpha-2 region"),
        ("type: timestamp, required: true", "type: timestamp, assume_zone: Mars/Base", "IANA"),
        ("max_quarantine_rate: 0.2", "max_quarantine_rate: 2", "between 0 and 1"),
        ("{email: 0.5}", "{mail: 0.5}", "min_completeness.mail: not a field"),
        ("description: People in the CRM.", "description: [oops", "is not valid YAML"),
    ],
)
def test_inconsistent_contracts_are_refused(old: str, new: str, expected: str) -> None:
    assert old in BASE
    with pytest.raises(ContractError, match=None) as caught:
        Contract.from_yaml(BASE.replace(old, new), origin="c.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("c.yaml")


def test_the_arrow_schema_is_typed_and_keeps_originals() -> None:
    schema = base().arrow_schema()
    assert schema.names == [
        "customer_id",
        "email",
        "email__original",
        "country",
        "country__original",
        "phone",
        "phone__original",
        "plan",
        "amount",
        "updated_at",
        "updated_at__original",
        "_line",
    ]
    assert schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("amount").type == pa.float64()
    assert schema.field("_line").type == pa.int64()


def test_shipped_defaults_cover_the_demo_company() -> None:
    names = [contract.name for contract in shipped_contracts()]
    assert names == [
        "billing.accounts",
        "billing.transactions",
        "collector.events",
        "consent.consents",
        "crm.customers",
        "support.tickets",
        "web.events",
    ]
    for contract in shipped_contracts():
        assert Contract.from_yaml(contract.to_yaml(), origin="x") == contract


_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_specs = st.builds(
    FieldSpec,
    name=_names,
    type=st.sampled_from(["string", "name", "email", "timestamp", "date", "boolean"]),
    required=st.booleans(),
    max_length=st.one_of(st.none(), st.integers(1, 10_000)),
    description=st.text(max_size=20),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(_specs, min_size=1, max_size=6, unique_by=lambda spec: spec.name))
def test_any_valid_contract_survives_yaml(fields: list[FieldSpec]) -> None:
    contract = Contract(source="src", entity="things", version=3, fields=tuple(fields))
    assert Contract.from_yaml(contract.to_yaml(), origin="x") == contract


# --- compatibility -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda c: replace(c, fields=(*c.fields, FieldSpec(name="nickname", type="name"))),
        lambda c: replace(c, description="Everyone we know."),
        lambda c: with_field(c, "customer_id", max_length=128),
        lambda c: with_field(c, "customer_id", max_length=None),
        lambda c: with_field(c, "amount", minimum=None, maximum=5000.0),
        lambda c: with_field(c, "plan", values=("basic", "premium", "family")),
        lambda c: with_field(c, "customer_id", required=False),
        lambda c: with_field(c, "updated_at", assume_zone="Europe/Paris"),
        lambda c: replace(c, quality=replace(c.quality, max_quarantine_rate=0.9)),
    ],
)
def test_compatible_changes(change: object) -> None:
    contract = base()
    assert compatibility(contract, change(contract)) == []  # type: ignore[operator]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            lambda c: replace(c, fields=tuple(f for f in c.fields if f.name != "plan")),
            "field plan was removed",
        ),
        (lambda c: with_field(c, "amount", type="integer"), "amount changed type"),
        (lambda c: with_field(c, "email", required=True), "email became required"),
        (
            lambda c: replace(c, fields=(*c.fields, FieldSpec(name="vip", required=True))),
            "new field vip is required",
        ),
        (lambda c: with_field(c, "customer_id", max_length=10), "max_length narrowed"),
        (lambda c: with_field(c, "amount", minimum=1.0), "minimum raised"),
        (lambda c: with_field(c, "plan", values=("basic",)), "no longer allows premium"),
        (lambda c: replace(c, primary_key=("email",)), "primary key changed"),
        (lambda c: with_field(c, "phone", default_region="US"), "default_region changed"),
        (lambda c: replace(c, partition="month"), "partition changed from day to month"),
    ],
)
def test_breaking_changes_say_why(change: object, why: str) -> None:
    contract = base()
    reasons = compatibility(contract, change(contract))  # type: ignore[operator]
    assert any(why in reason for reason in reasons), reasons


def test_partition_defaults_to_day_and_round_trips_through_yaml() -> None:
    assert base().partition == "day"
    assert "partition" not in base().to_dict()  # existing contracts keep their digest
    monthly = Contract.from_yaml(replace(base(), partition="month").to_yaml(), origin="t")
    assert monthly.partition == "month"


def test_an_unknown_partition_names_the_key_and_the_choices() -> None:
    data = base().to_dict() | {"partition": "week"}
    with pytest.raises(ContractError, match="partition.*use day.*or month"):
        Contract.from_dict(data, origin="t")


# --- registry ----------------------------------------------------------------------------


@pytest.fixture
def registry(workspace: Workspace) -> ContractRegistry:
    return ContractRegistry.for_workspace(workspace)


def test_the_first_contract_becomes_version_1_in_the_workspace(
    registry: ContractRegistry, workspace: Workspace
) -> None:
    stored = registry.add(replace(base(), version=7))
    assert stored.version == 1
    assert (workspace.root / "contracts" / "crm" / "customers" / "v1.yaml").is_file()
    assert registry.get("crm", "customers") == stored
    assert registry.list() == [stored]


def test_a_compatible_change_becomes_a_new_version(registry: ContractRegistry) -> None:
    first = registry.add(base())
    wider = replace(first, fields=(*first.fields, FieldSpec(name="nickname", type="name")))
    second = registry.add(wider)
    assert second.version == 2
    assert registry.versions("crm", "customers") == [1, 2]
    assert registry.get("crm", "customers").get_field("nickname").type == "name"
    assert registry.get("crm", "customers", version=1) == first


def test_adding_the_same_contract_again_changes_nothing(registry: ContractRegistry) -> None:
    first = registry.add(base())
    assert registry.add(replace(base(), version=5)) == first
    assert registry.versions("crm", "customers") == [1]


def test_a_breaking_change_is_refused_with_the_reasons(registry: ContractRegistry) -> None:
    registry.add(base())
    breaking = with_field(base(), "amount", type="integer")
    with pytest.raises(ContractError) as caught:
        registry.add(with_field(breaking, "email", required=True))
    message = str(caught.value)
    assert "not compatible with v1" in message
    assert "amount changed type from decimal to integer" in message
    assert "email became required" in message
    assert registry.versions("crm", "customers") == [1]


def test_a_missing_contract_says_how_to_add_one(registry: ContractRegistry) -> None:
    with pytest.raises(NotFound, match="aimsight contracts add"):
        registry.get("crm", "customers")
    registry.add(base())
    with pytest.raises(NotFound, match="no version 4"):
        registry.get("crm", "customers", version=4)


def test_a_tampered_file_is_reported(registry: ContractRegistry, workspace: Workspace) -> None:
    registry.add(base())
    path = workspace.root / "contracts" / "crm" / "customers" / "v1.yaml"
    path.write_text(path.read_text().replace("version: 1", "version: 3"))
    with pytest.raises(ContractError, match="holds crm.customers v3"):
        registry.get("crm", "customers")


def test_install_defaults_adds_what_is_missing_only(registry: ContractRegistry) -> None:
    own = registry.add(replace(shipped_contracts()[4], description="Our own CRM contract."))
    installed = registry.install_defaults()
    assert len(installed) == 6
    assert own.name not in [contract.name for contract in installed]
    assert registry.get("crm", "customers").description == "Our own CRM contract."
    assert registry.install_defaults() == []
    assert len(registry.list()) == 7


def test_the_defaults_ship_inside_the_package() -> None:
    import aimsight.ingest

    folder = Path(aimsight.ingest.__file__).parent / "contracts"
    assert len(list(folder.glob("*.yaml"))) == 7
