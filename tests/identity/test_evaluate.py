"""Scores against ground truth: what a data team reads to trust a resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.identity._evaluate import cluster_scores, pair_scores, read_truth


def test_perfect_clustering_scores_one() -> None:
    s = cluster_scores(["a", "a", "b"], ["p1", "p1", "p2"])
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    assert s.true_pairs == 1


def test_merging_two_people_costs_precision_splitting_one_costs_recall() -> None:
    merged = cluster_scores(["a", "a", "a"], ["p1", "p1", "p2"])
    assert merged.precision == pytest.approx(1 / 3) and merged.recall == 1.0
    split = cluster_scores(["a", "b", "c"], ["p1", "p1", "p2"])
    assert split.recall == 0.0 and split.precision == 1.0


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=40))
def test_cluster_scores_match_counting_every_pair(labels: list[tuple[int, int]]) -> None:
    predicted = [p for p, _ in labels]
    truth = [t for _, t in labels]
    s = cluster_scores(predicted, truth)
    n = len(labels)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    assert s.predicted_pairs == sum(predicted[i] == predicted[j] for i, j in pairs)
    assert s.true_pairs == sum(truth[i] == truth[j] for i, j in pairs)
    assert s.true_positives == sum(
        predicted[i] == predicted[j] and truth[i] == truth[j] for i, j in pairs
    )
    assert 0.0 <= s.f1 <= 1.0


def test_link_scores_count_each_pair_once_and_skip_records_without_truth() -> None:
    person = {"x:1": "p1", "x:2": "p1", "x:3": "p2"}
    s = pair_scores(["x:1", "x:2", "x:1", "x:9"], ["x:2", "x:1", "x:3", "x:1"], person)
    assert s.predicted_pairs == 2 and s.true_positives == 1 and s.true_pairs == 1


def test_truth_file_maps_short_source_names_to_datasets(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    path.write_text("source,source_record_id,person_id\ncrm,C1,P1\nbilling,B1,P1\n")
    truth = read_truth(path, {"crm": "crm.customers", "billing": "billing.accounts"})
    assert truth == {"crm.customers:C1": "P1", "billing.accounts:B1": "P1"}


def test_truth_file_without_person_column_says_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("dataset,record_id\ncrm.customers,C1\n")
    with pytest.raises(InvalidInput, match="missing column\\(s\\) person_id"):
        read_truth(path)
