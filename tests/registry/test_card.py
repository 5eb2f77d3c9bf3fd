"""Model cards: the nine sections of Mitchell et al., as Markdown, HTML and JSON."""

from __future__ import annotations

import json

import pytest

from aimsight.core import InvalidInput
from aimsight.registry import SECTIONS, CardInputs, ModelRegistry, Principal
from aimsight.security import Role
from tests.registry._fakes import register, trained

PERSONAS = [
    {"segment": 0, "name": "Loyal savers", "size": 1200, "traits": {"tenure_days": 900}},
    {"segment": 1, "name": "New & <curious>", "size": 300, "traits": {"tenure_days": 30}},
]


def test_a_complete_card_has_every_section_and_renders_as_json(registry: ModelRegistry) -> None:
    register(registry)
    card = registry.card("churn", 1)
    assert card.missing_sections() == []
    data = json.loads(json.dumps(card.to_dict()))
    assert list(data) == [key for key, _ in SECTIONS]
    assert data["model_details"]["artifact_sha256"] == registry.version("churn").artifact_sha256
    assert data["training_data"]["snapshot"] == {"lake/crm/customers/part-0.parquet": "a" * 64}
    assert data["metrics"]["measures"][0] == {
        "metric": "roc_auc",
        "value": 0.82,
        "gate": {"min": 0.7},
        "why": data["metrics"]["measures"][0]["why"],
    }
    assert "ranks positives" in data["metrics"]["measures"][0]["why"]
    assert data["factors"]["evaluated"] == ["age_band"]
    assert "Trainer's note: 3 rows dropped: no tenure" in data["caveats_and_recommendations"]


def test_markdown_has_every_section_the_approvals_and_the_group_table(
    registry: ModelRegistry,
) -> None:
    register(registry)
    registry.validate("churn", 1, actor="cli:alice")
    registry.approve(
        "churn",
        1,
        approver=Principal("gina", Role.GOVERNANCE),
        rationale="Reviewed gates and the age-band table.",
    )
    text = registry.card("churn", 1).to_markdown()
    assert text.startswith("# Model card: churn v1\n")
    for _, title in SECTIONS:
        assert f"\n## {title}\n" in text
    assert "- gina (governance)" in text and "Reviewed gates and the age-band table." in text
    assert "| group | roc_auc | selection_rate | count |" in text
    assert "| 18-34 | 0.81 | 0.2 | 300 |" in text
    assert "| ece | 0.03 | <= 0.05 |" in text


def test_html_is_self_contained_with_the_reliability_chart_and_persona_cards(
    registry: ModelRegistry,
) -> None:
    evaluation = {
        "reliability": [
            {"mean_predicted": 0.2, "observed_rate": 0.25, "count": 10},
            {"mean_predicted": 0.8, "observed_rate": 0.7, "count": 5},
        ],
        "personas": PERSONAS,
    }
    register(
        registry,
        model=trained(evaluation=evaluation),
        card_inputs=CardInputs(owner="<script>alert(1)</script>"),
    )
    page = registry.card("churn", 1).to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 1 and "predicted probability" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "<link" not in page and " src=" not in page
    assert "Loyal savers" in page and "New &amp; &lt;curious&gt;" in page
    assert "<h3>By age_band</h3>" in page and "<td>18-34</td>" in page


def test_html_without_reliability_bins_draws_no_chart(registry: ModelRegistry) -> None:
    register(registry, model=trained(evaluation={"folds": 5}, evaluation_rows=0))
    card = registry.card("churn", 1)
    assert "<svg" not in card.to_html()
    assert card.evaluation_data == {"method": "cross-validation", "rows": 0, "folds": 5}
    assert "evaluation_data" not in card.missing_sections()


def test_what_only_people_can_say_is_reported_missing(registry: ModelRegistry) -> None:
    register(registry, card_inputs=CardInputs(), model=trained(notes=[]))
    assert registry.card("churn", 1).missing_sections() == [
        "model_details",
        "intended_use",
        "factors",
        "ethical_considerations",
        "caveats_and_recommendations",
    ]


def test_missing_trainer_evidence_is_reported_missing(registry: ModelRegistry) -> None:
    register(
        registry,
        model=trained(metrics={}, evaluation={}, evaluation_rows=0, training_rows=0),
    )
    assert registry.card("churn", 1).missing_sections() == [
        "metrics",
        "evaluation_data",
        "training_data",
        "quantitative_analyses",
    ]


def test_card_inputs_come_from_config_with_text_taken_as_a_list() -> None:
    inputs = CardInputs.from_config({"owner": "crm", "intended_users": "retention team"})
    assert inputs.intended_users == ["retention team"] and inputs.factors == []
    with pytest.raises(InvalidInput, match="model card field 'intended_user'") as caught:
        CardInputs.from_config({"intended_user": ["x"]})
    assert caught.value.field == "card.intended_user"
    with pytest.raises(InvalidInput, match="'factors.0': Input should be a valid string"):
        CardInputs.from_config({"factors": [{"a": 1}]})


TRAINER_FAIRNESS = {
    "attributes": {
        "gender": {
            "groups": [
                {
                    "group": "f",
                    "count": 500,
                    "selection_rate": 0.21,
                    "selection_rate_ci": [0.18, 0.24],
                },
                {"group": "m", "count": 480, "selection_rate": 0.35, "selection_rate_ci": None},
            ],
            "assessed": True,
            "small_groups": [],
            "demographic_parity_difference": {"value": 0.14, "ci": [0.09, 0.19]},
        }
    },
    "limits": {"max_demographic_parity_difference": 0.1},
    "gate": {
        "passed": False,
        "violations": [
            {
                "attribute": "gender",
                "metric": "demographic_parity_difference",
                "value": 0.14,
                "limit": 0.1,
            }
        ],
        "warnings": ["region: groups north have fewer than 30 customers and are not gated"],
    },
}
TRAINER_PERSONAS = [
    {
        "id": "0",
        "name": "Loyal savers",
        "size": 1200,
        "share": 0.6,
        "distinguishing": [
            {
                "feature": "tenure_days",
                "description": "Tenure (days)",
                "category": None,
                "segment_mean": 812.0,
                "population_mean": 420.0,
                "difference": 1.2,
            },
        ],
        "statistics": {"tenure_days": {"mean": 812.0}},
    }
]


def test_the_trainers_fairness_report_and_personas_are_rendered(registry: ModelRegistry) -> None:
    register(
        registry,
        model=trained(
            fairness=TRAINER_FAIRNESS,
            evaluation={"reliability": [], "personas": TRAINER_PERSONAS},
        ),
    )
    card = registry.card("churn", 1)
    [table] = card.quantitative_analyses["by_group"]
    assert table["columns"] == ["group", "count", "selection_rate"]
    assert table["summary"]["demographic_parity_difference"] == "0.14 (interval 0.09 to 0.19)"
    text = card.to_markdown()
    assert "Fairness gate: failed: gender demographic_parity_difference 0.14 (limit 0.1)" in text
    assert "Persona Loyal savers (1200 customers): Tenure (days): 812 vs 420 overall" in text
    page = card.to_html()
    assert "<li>Tenure (days): 812 vs 420 overall</li>" in page and "60.0%" in page
    assert "<td>0.21 (0.18 to 0.24)</td>" in page
    [failure] = registry.validate("churn", 1, actor="cli:alice").failures
    assert failure.check == "fairness" and "failed for overall" in failure.detail
