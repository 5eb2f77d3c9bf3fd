"""The ISO/IEC 42001 catalogue: exactly the standard's ids, short titles, clear load errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aimsight.aims._catalogue import Catalogue, load_catalogue, shipped_catalogue
from aimsight.core.errors import InvalidInput, NotFound

ANNEX_A = [
    "A.2.2", "A.2.3", "A.2.4",
    "A.3.2", "A.3.3",
    "A.4.2", "A.4.3", "A.4.4", "A.4.5", "A.4.6",
    "A.5.2", "A.5.3", "A.5.4", "A.5.5",
    "A.6.1.2", "A.6.1.3",
    "A.6.2.2", "A.6.2.3", "A.6.2.4", "A.6.2.5", "A.6.2.6", "A.6.2.7", "A.6.2.8",
    "A.7.2", "A.7.3", "A.7.4", "A.7.5", "A.7.6",
    "A.8.2", "A.8.3", "A.8.4", "A.8.5",
    "A.9.2", "A.9.3", "A.9.4",
    "A.10.2", "A.10.3", "A.10.4",
]  # fmt: skip

CLAUSES = [
    "4", "4.1", "4.2", "4.3", "4.4",
    "5", "5.1", "5.2", "5.3",
    "6", "6.1", "6.1.1", "6.1.2", "6.1.3", "6.1.4", "6.2", "6.3",
    "7", "7.1", "7.2", "7.3", "7.4", "7.5", "7.5.1", "7.5.2", "7.5.3",
    "8", "8.1", "8.2", "8.3", "8.4",
    "9", "9.1", "9.2", "9.2.1", "9.2.2", "9.3", "9.3.1", "9.3.2", "9.3.3",
    "10", "10.1", "10.2",
]  # fmt: skip

GROUPS = {
    "A.2": "Policies related to AI",
    "A.3": "Internal organization",
    "A.4": "Resources for AI systems",
    "A.5": "Assessing impacts of AI systems",
    "A.6": "AI system life cycle",
    "A.7": "Data for AI systems",
    "A.8": "Information for interested parties",
    "A.9": "Use of AI systems",
    "A.10": "Third-party and customer relationships",
}

PLANNED_CHECKS = {
    "ledger_integrity": ["A.6.2.8"],
    "production_models_approved": ["A.6.2.4"],
    "promotions_staged": ["A.6.2.5"],
    "models_monitored": ["A.6.2.6"],
    "ingest_quality": ["A.7.4"],
    "lineage_coverage": ["A.7.5"],
    "impact_assessments_current": ["A.5.2", "A.5.3", "A.5.4"],
    "model_cards_complete": ["A.6.2.7", "A.8.2"],
    "human_oversight": ["A.9.2", "A.9.3", "A.9.4"],
    "owners_hold_roles": ["A.3.2"],
    "third_parties_assessed": ["A.10.3"],
}


def test_annex_a_has_exactly_the_38_controls_in_order() -> None:
    catalogue = shipped_catalogue()
    assert len(ANNEX_A) == 38
    assert [control.id for control in catalogue.controls()] == ANNEX_A


def test_clauses_4_to_10_with_their_sub_clauses_in_order() -> None:
    catalogue = shipped_catalogue()
    assert [clause.id for clause in catalogue.clauses()] == CLAUSES
    assert catalogue.clause("6.1.4").parent == "6.1"
    assert catalogue.clause("10").parent is None


def test_every_control_sits_in_its_objective_group() -> None:
    catalogue = shipped_catalogue()
    assert {group.id: group.title for group in catalogue.groups()} == GROUPS
    for control in catalogue.controls():
        assert control.id.startswith(control.group + ".")
        assert control in catalogue.group(control.group).controls


def test_titles_are_short_summaries() -> None:
    catalogue = shipped_catalogue()
    for item in [*catalogue.clauses(), *catalogue.controls(), *catalogue.groups()]:
        assert 0 < len(item.title) < 80, item.id
        assert item.title == item.title.strip()
    assert catalogue.control("A.6.2.8").title == "Event logs of AI systems kept"


def test_the_planned_checks_evidence_their_controls() -> None:
    catalogue = shipped_catalogue()
    for check, controls in PLANNED_CHECKS.items():
        assert [control.id for control in catalogue.controls_for_check(check)] == controls
    mapped = {cid for controls in PLANNED_CHECKS.values() for cid in controls}
    for control_id, checks in catalogue.checks_by_control().items():
        assert bool(checks) == (control_id in mapped)


def test_version_and_standard_are_stated() -> None:
    catalogue = shipped_catalogue()
    assert catalogue.standard == "ISO/IEC 42001:2023"
    assert catalogue.version == "1.0"
    assert catalogue.to_dict()["version"] == "1.0"


def test_unknown_ids_are_not_found_with_a_hint() -> None:
    catalogue = shipped_catalogue()
    with pytest.raises(NotFound, match="A.6.2.9.*A.2.2 to A.10.4"):
        catalogue.control("A.6.2.9")
    with pytest.raises(NotFound, match="11"):
        catalogue.clause("11")
    with pytest.raises(NotFound, match="A.11"):
        catalogue.group("A.11")
    assert not catalogue.has_control("A.1.1")


def test_the_file_form_round_trips() -> None:
    catalogue = shipped_catalogue()
    again = Catalogue.from_dict(catalogue.to_dict(), origin="round trip")
    assert again.to_dict() == catalogue.to_dict()
    assert [c.id for c in again.controls()] == ANNEX_A


def _shipped_data() -> dict[str, object]:
    data = shipped_catalogue().to_dict()
    assert isinstance(data, dict)
    return data


def test_a_bad_control_id_names_its_path() -> None:
    data = _shipped_data()
    data["annex_a"][4]["controls"][2]["id"] = "A.6.2.x"  # type: ignore[index]
    with pytest.raises(InvalidInput, match=r"annex_a\[4\]\.controls\[2\]\.id") as caught:
        Catalogue.from_dict(data, origin="custom.yaml")
    assert caught.value.field == "annex_a[4].controls[2].id"
    assert "custom.yaml" in str(caught.value)


def test_a_control_in_the_wrong_group_is_refused() -> None:
    data = _shipped_data()
    data["annex_a"][0]["controls"][0]["id"] = "A.3.9"  # type: ignore[index]
    with pytest.raises(InvalidInput, match="does not belong under A.2"):
        Catalogue.from_dict(data, origin="custom.yaml")


def test_a_duplicate_control_is_refused() -> None:
    data = _shipped_data()
    data["annex_a"][1]["controls"][1]["id"] = "A.3.2"  # type: ignore[index]
    with pytest.raises(InvalidInput, match="A.3.2 is listed twice"):
        Catalogue.from_dict(data, origin="custom.yaml")


def test_a_long_title_and_an_unknown_key_are_refused() -> None:
    data = _shipped_data()
    data["clauses"][3]["title"] = "x" * 81  # type: ignore[index]
    with pytest.raises(InvalidInput, match=r"clauses\[3\]\.title"):
        Catalogue.from_dict(data, origin="custom.yaml")
    data = _shipped_data()
    data["clauses"][0]["text"] = "the standard's words"  # type: ignore[index]
    with pytest.raises(InvalidInput, match=r"clauses\[0\]\.text: unknown key"):
        Catalogue.from_dict(data, origin="custom.yaml")


def test_a_sub_clause_before_its_parent_is_refused() -> None:
    data = _shipped_data()
    clauses = data["clauses"]
    assert isinstance(clauses, list)
    clauses[0], clauses[1] = clauses[1], clauses[0]
    with pytest.raises(InvalidInput, match="before its parent 4"):
        Catalogue.from_dict(data, origin="custom.yaml")


def test_load_catalogue_reads_a_file_and_reports_missing_or_broken_ones(tmp_path: Path) -> None:
    assert load_catalogue() is shipped_catalogue()
    path = tmp_path / "catalogue.yaml"
    data = _shipped_data()
    data["version"] = "2.0-draft"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_catalogue(path).version == "2.0-draft"
    with pytest.raises(InvalidInput, match="does not exist"):
        load_catalogue(tmp_path / "missing.yaml")
    path.write_text("clauses: [unclosed", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_catalogue(path)
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="expected a mapping"):
        load_catalogue(path)
