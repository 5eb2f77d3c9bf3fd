"""Feature definitions as a data engineer writes them: the shipped set, and clear errors."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aimsight.core.errors import InvalidInput
from aimsight.features import FeatureDefinitions, shipped_definitions
from aimsight.features._definitions import load_definitions, shipped_definitions_text


def _shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(shipped_definitions_text())
    return data


def _error(data: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        FeatureDefinitions.from_dict(data, origin="features.yaml")
    return caught.value


def _with_feature(**feature: Any) -> dict[str, Any]:
    data = _shipped()
    entry = {"description": "a test feature", "type": "number", **feature}
    data["features"].append(entry)
    return data


def test_the_shipped_set_covers_the_customer_basics() -> None:
    definitions = shipped_definitions()
    names = set(definitions.names)
    assert {
        "days_since_last_payment",
        "payments_90d",
        "payments_365d",
        "amount_paid_365d",
        "average_payment_365d",
        "tenure_days",
        "billing_accounts",
        "plan",
        "failed_payments_90d",
        "refunds_365d",
        "tickets_90d",
        "negative_ticket_share_90d",
        "cancel_tickets_90d",
        "web_events_30d",
        "logins_30d",
        "web_activity_trend",
        "country",
        "age_band",
    } <= names
    assert definitions.sensitive == ["country", "age_band"]
    assert not set(definitions.sensitive) & set(definitions.inputs)
    assert all(text.strip() for text in definitions.descriptions.values())
    assert set(definitions.types.values()) <= {"integer", "number", "category"}


def test_definitions_round_trip_through_json_with_a_stable_digest() -> None:
    definitions = shipped_definitions()
    again = FeatureDefinitions.from_dict(definitions.to_dict(), origin="json")
    assert again == definitions
    assert again.digest == definitions.digest
    changed = _shipped()
    changed["features"][0]["description"] = "something else"
    other = FeatureDefinitions.from_dict(changed, origin="x")
    assert other.digest != definitions.digest


def test_a_yaml_syntax_error_names_the_file_and_line() -> None:
    with pytest.raises(InvalidInput, match=r"features\.yaml: line 2 is not valid YAML"):
        FeatureDefinitions.from_yaml("version: 1\nsources: a: b\n", origin="features.yaml")


def test_an_unknown_setting_names_the_feature_and_the_setting() -> None:
    data = _shipped()
    data["features"][1]["windw"] = "90d"
    error = _error(data)
    assert "features[1] (payments_90d).windw: unknown setting" in str(error)
    assert error.field == "features[1] (payments_90d).windw"


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        (
            {
                "name": "x",
                "kind": "aggregate",
                "source": "web.events",
                "function": "count",
                "window": "45days",
                "type": "integer",
            },
            r"features\[\d+\] \(x\)\.window: String should match pattern",
        ),
        (
            {
                "name": "x",
                "kind": "aggregate",
                "source": "web.events",
                "function": "count",
                "column": "type",
                "type": "integer",
            },
            "count counts rows and takes no column",
        ),
        (
            {"name": "x", "kind": "aggregate", "source": "web.events", "function": "sum"},
            "function sum needs a column",
        ),
        (
            {
                "name": "x",
                "kind": "aggregate",
                "source": "billing.transactions",
                "function": "mean",
                "column": "amount",
                "type": "integer",
            },
            "use type number",
        ),
        (
            {
                "name": "x",
                "kind": "aggregate",
                "source": "web.events",
                "function": "count",
                "offset": "30d",
                "type": "integer",
            },
            "offset needs a bounded window",
        ),
        (
            {
                "name": "x",
                "kind": "aggregate",
                "source": "shop.orders",
                "function": "count",
                "type": "integer",
            },
            r"features\[\d+\] \(x\)\.source: source 'shop.orders' is not declared",
        ),
        (
            {
                "name": "x",
                "kind": "ratio",
                "numerator": "payments_90d",
                "denominator": "later_feature",
            },
            r"\(x\)\.denominator: 'later_feature' is not a feature defined above it",
        ),
        (
            {"name": "x", "kind": "ratio", "numerator": "plan", "denominator": "payments_90d"},
            "'plan' is a category, not a number",
        ),
        (
            {"name": "payments_90d", "kind": "tenure"},
            "the name 'payments_90d' is used twice",
        ),
        (
            {"name": "customer_id", "kind": "tenure"},
            "'customer_id' is reserved",
        ),
        (
            {
                "name": "x",
                "kind": "age",
                "source": "crm.customers",
                "column": "birth_date",
                "bands": [30, 20],
                "type": "category",
            },
            "bands must be increasing",
        ),
        (
            {"name": "x", "kind": "lookup", "source": "crm.customers"},
            "does not match any of the expected tags",
        ),
        (
            {
                "name": "x",
                "kind": "aggregate",
                "source": "web.events",
                "function": "count",
                "where": {"type; DROP TABLE x": "login"},
                "type": "integer",
            },
            r"\(x\)\.where",
        ),
    ],
)
def test_a_bad_feature_is_refused_with_its_path_and_the_fix(
    feature: dict[str, Any], message: str
) -> None:
    error = _error(_with_feature(**feature))
    assert str(error).startswith("features.yaml: ")
    assert re.search(message, str(error)), str(error)


def test_a_feature_without_a_description_is_refused() -> None:
    data = _shipped()
    data["features"][0]["description"] = ""
    assert "features[0] (days_since_last_payment).description" in str(_error(data))


def test_population_and_payments_must_name_declared_sources() -> None:
    data = _shipped()
    data["population"] = ["crm.customers", "shop.members"]
    assert "population[1]: source 'shop.members' is not declared" in str(_error(data))
    data = _shipped()
    data["payments"]["source"] = "shop.orders"
    assert "payments.source: source 'shop.orders'" in str(_error(data))


def test_a_link_names_a_record_dataset_or_an_identifier_not_both() -> None:
    data = _shipped()
    data["sources"]["support.tickets"]["links"][0]["identifier"] = "email"
    error = _error(data)
    assert "sources.support.tickets.links[0]" in str(error)
    assert "exactly one of record" in str(error)


def test_the_top_level_must_be_a_mapping() -> None:
    assert "expected a mapping" in str(_error(["features"]))


def test_a_missing_file_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist; install the default"):
        load_definitions(tmp_path / "features.yaml")


def test_a_feature_is_found_by_name() -> None:
    definitions = shipped_definitions()
    assert definitions.feature("plan").type == "category"
    with pytest.raises(InvalidInput, match="no feature is named 'colour'"):
        definitions.feature("colour")


def test_definitions_are_values_that_cannot_be_changed_in_place() -> None:
    definitions = shipped_definitions()
    copied = copy.deepcopy(definitions)
    with pytest.raises(Exception, match="frozen"):
        copied.features[0].name = "other"  # type: ignore[misc]
