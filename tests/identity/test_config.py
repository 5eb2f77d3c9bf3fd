"""The matching configuration: the shipped default loads, and mistakes name file and setting."""

from __future__ import annotations

import json

import pytest
import yaml

from aimsight.core.errors import InvalidInput
from aimsight.identity._config import (
    MatchingConfig,
    shipped_matching_config,
    shipped_matching_config_text,
)


def _shipped() -> dict[str, object]:
    data = yaml.safe_load(shipped_matching_config_text())
    assert isinstance(data, dict)
    return data


def test_shipped_config_covers_crm_billing_and_web() -> None:
    config = shipped_matching_config()
    assert [s.dataset for s in config.sources] == [
        "crm.customers",
        "billing.accounts",
        "web.events",
    ]
    # billing's holder name is split into first and last names
    assert {"first_name", "last_name", "email", "crm_id", "device_id"} <= set(config.attributes)
    assert "full_name" not in config.attributes


def test_config_round_trips_through_json_with_a_stable_digest() -> None:
    config = shipped_matching_config()
    again = MatchingConfig.from_dict(json.loads(json.dumps(config.to_dict())), origin="json")
    assert again == config
    assert again.digest == config.digest


def test_a_changed_setting_changes_the_digest() -> None:
    data = _shipped()
    data["max_pairs_per_record"] = 10
    assert MatchingConfig.from_dict(data, origin="x").digest != shipped_matching_config().digest


def test_unknown_setting_names_its_path() -> None:
    data = _shipped()
    data["clustering"] = {"treshold": 0.9}
    with pytest.raises(InvalidInput, match=r"matching.yaml: clustering.treshold: unknown setting"):
        MatchingConfig.from_dict(data, origin="matching.yaml")


def test_comparison_on_an_attribute_no_source_gives_is_refused() -> None:
    data = _shipped()
    data["comparisons"] = [{"attribute": "shoe_size", "kind": "exact"}]
    with pytest.raises(InvalidInput, match="comparisons\\[0\\].attribute: attribute 'shoe_size'"):
        MatchingConfig.from_dict(data, origin="m.yaml")


def test_bad_comparison_kind_names_the_allowed_ones() -> None:
    data = _shipped()
    data["comparisons"] = [{"attribute": "email", "kind": "fuzzy"}]
    with pytest.raises(InvalidInput, match="comparisons.0.kind|comparisons\\[0\\].kind"):
        MatchingConfig.from_dict(data, origin="m.yaml")


def test_threshold_must_be_a_probability_or_auto() -> None:
    data = _shipped()
    data["clustering"] = {"threshold": 3}
    with pytest.raises(InvalidInput, match="clustering.threshold"):
        MatchingConfig.from_dict(data, origin="m.yaml")


def test_invalid_yaml_names_the_file_and_line() -> None:
    with pytest.raises(InvalidInput, match="m.yaml: line 3 is not valid YAML"):
        MatchingConfig.from_yaml("version: 1\nsources: [\n", origin="m.yaml")


def test_blocking_rules_are_written_as_lists() -> None:
    config = shipped_matching_config()
    assert config.blocking[4].keys == ("last_name", "birth_date")
    assert config.blocking[4].label == "last_name + birth_date"
