"""Constrained clustering: strongest evidence first, and two different people are never merged."""

from __future__ import annotations

import math
import random
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.identity._cluster import Clustering, Refusal, cluster_records

INF = math.inf


def run(
    n: int,
    edges: Sequence[tuple[int, int, float]],
    **constraints: object,
) -> Clustering:
    left = np.array([e[0] for e in edges], dtype=np.int64)
    right = np.array([e[1] for e in edges], dtype=np.int64)
    weight = np.array([e[2] for e in edges], dtype=np.float64)
    return cluster_records(n, left, right, weight, **constraints)  # type: ignore[arg-type]


def groups(result: Clustering) -> list[list[int]]:
    """The clusters of more than one record, as sorted lists."""
    return [g.tolist() for g in result.clusters().values() if g.size > 1]


# --- what a data steward sees ------------------------------------------------------------


def test_records_linked_by_strong_evidence_become_one_customer() -> None:
    result = run(5, [(0, 1, 9.0), (1, 2, 7.5), (3, 4, 8.0)])
    assert result.labels.tolist() == [0, 0, 0, 3, 3]
    assert result.accepted.tolist() == [True, True, True]
    assert result.refusals == []
    assert groups(result) == [[0, 1, 2], [3, 4]]


def test_a_chain_never_merges_two_people_with_different_birth_dates() -> None:
    # Ada (1980-01-02) and Ann (1979-05-06) each match a record with no birth date.
    births = np.array([19800102, -1, 19790506], dtype=np.int64)
    result = run(3, [(0, 1, 9.0), (1, 2, 6.0)], conflict_keys={"birth_date": births})
    assert result.labels.tolist() == [0, 0, 2]
    assert result.accepted.tolist() == [True, False]
    assert result.refusals == [Refusal(1, 2, 6.0, "conflict", "birth_date 19800102 vs 19790506")]


def test_the_stronger_match_wins_the_shared_record() -> None:
    births = np.array([1, -1, 2], dtype=np.int64)
    result = run(3, [(0, 1, 3.0), (2, 1, 8.0)], conflict_keys={"birth_date": births})
    assert result.labels.tolist() == [0, 1, 1]
    assert [r.left for r in result.refusals] == [0]


def test_null_values_never_conflict() -> None:
    births = np.array([-1, -1, 7], dtype=np.int64)
    result = run(3, [(0, 1, 1.0), (1, 2, 1.0)], conflict_keys={"birth_date": births})
    assert result.labels.tolist() == [0, 0, 0]


def test_a_reviewer_cannot_link_keeps_two_records_apart_even_through_a_chain() -> None:
    result = run(3, [(0, 1, 5.0), (1, 2, 4.0), (0, 2, 3.0)], cannot_link=[(2, 0)])
    assert result.labels.tolist() == [0, 0, 2]
    assert [(r.left, r.right, r.reason) for r in result.refusals] == [
        (1, 2, "cannot_link"),
        (0, 2, "cannot_link"),
    ]
    assert result.refusals[0].detail == "cannot_link between records 2 and 0"


def test_a_reviewer_must_link_overrides_conflicts_and_the_size_limit() -> None:
    births = np.array([1, 2, 3], dtype=np.int64)
    result = run(
        3,
        [],
        must_link=[(0, 1), (1, 2)],
        conflict_keys={"birth_date": births},
        max_cluster_size=2,
    )
    assert result.labels.tolist() == [0, 0, 0]
    assert result.accepted.size == 0


def test_a_must_link_cluster_accepts_records_agreeing_with_any_of_its_values() -> None:
    births = np.array([1, 2, 2, 3], dtype=np.int64)
    result = run(
        4, [(1, 2, 5.0), (2, 3, 4.0)], must_link=[(0, 1)], conflict_keys={"birth_date": births}
    )
    assert result.labels.tolist() == [0, 0, 0, 3]
    assert result.refusals[0].detail == "birth_date {1, 2} vs 3"


def test_a_hairball_stops_growing_at_the_size_limit() -> None:
    star = [(0, leaf, 10.0 - leaf) for leaf in range(1, 6)]
    result = run(6, star, max_cluster_size=3)
    assert groups(result) == [[0, 1, 2]]
    assert [r.reason for r in result.refusals] == ["too_large"] * 3
    assert result.refusals[0].detail == "cluster would have 4 records (limit 3)"


def test_deterministic_links_come_first() -> None:
    births = np.array([1, -1, 2], dtype=np.int64)
    result = run(3, [(0, 1, 50.0), (1, 2, INF)], conflict_keys={"birth_date": births})
    assert result.labels.tolist() == [0, 1, 1]
    assert result.refusals == [Refusal(0, 1, 50.0, "conflict", "birth_date 1 vs 2")]


def test_ties_are_broken_by_record_indices_not_input_order() -> None:
    births = np.array([1, -1, 2], dtype=np.int64)
    for edges in ([(0, 1, 5.0), (1, 2, 5.0)], [(2, 1, 5.0), (1, 0, 5.0)]):
        result = run(3, edges, conflict_keys={"birth_date": births})
        assert result.labels.tolist() == [0, 0, 2]


def test_the_first_failed_check_is_the_reason() -> None:
    births = np.array([1, 2], dtype=np.int64)
    result = run(
        2, [(0, 1, 1.0)], cannot_link=[(0, 1)], conflict_keys={"b": births}, max_cluster_size=1
    )
    assert result.refusals[0].reason == "cannot_link"
    result = run(2, [(0, 1, 1.0)], conflict_keys={"b": births}, max_cluster_size=1)
    assert result.refusals[0].reason == "conflict"


def test_the_first_conflicting_attribute_is_named() -> None:
    keys = {
        "email": np.array([5, 5], dtype=np.int64),
        "birth_date": np.array([1, 2], dtype=np.int64),
        "ssn": np.array([8, 9], dtype=np.int64),
    }
    result = run(2, [(0, 1, 1.0)], conflict_keys=keys)
    assert result.refusals[0].detail == "birth_date 1 vs 2"


def test_edges_inside_a_cluster_and_self_loops_are_skipped_not_refused() -> None:
    result = run(3, [(0, 1, 3.0), (1, 0, 2.0), (2, 2, 9.0), (0, 1, 3.0)])
    assert result.accepted.tolist() == [True, False, False, False]
    assert result.refusals == []
    assert result.labels.tolist() == [0, 0, 2]


def test_records_without_edges_are_their_own_cluster() -> None:
    result = cluster_records(3, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    assert result.labels.tolist() == [0, 1, 2]
    assert {k: v.tolist() for k, v in result.clusters().items()} == {0: [0], 1: [1], 2: [2]}


def test_no_records() -> None:
    result = cluster_records(0, [], [], [])
    assert result.labels.size == 0
    assert result.clusters() == {}


def test_results_cannot_be_changed_after_the_fact() -> None:
    result = run(2, [(0, 1, 1.0)])
    with pytest.raises(ValueError):
        result.labels[0] = 1
    with pytest.raises(ValueError):
        result.accepted[0] = False
    with pytest.raises(FrozenInstanceError):
        result.labels = result.labels  # type: ignore[misc]


def test_clusters_map_labels_to_sorted_members() -> None:
    result = run(6, [(5, 3, 1.0), (3, 1, 1.0), (4, 2, 1.0)])
    clusters = {k: v.tolist() for k, v in result.clusters().items()}
    assert clusters == {0: [0], 1: [1, 3, 5], 2: [2, 4]}
    assert all(v.dtype == np.int64 for v in result.clusters().values())


# --- bad input -------------------------------------------------------------------------


def test_a_must_link_contradicting_a_cannot_link_names_both_records() -> None:
    with pytest.raises(InvalidInput, match=r"records 0 and 2") as caught:
        run(3, [], must_link=[(0, 1), (1, 2)], cannot_link=[(0, 2)])
    assert caught.value.field == "must_link"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"n": -1}, "n"),
        ({"n": 2.5}, "n"),
        ({"left": [0, 3]}, "left"),
        ({"right": [-1, 0]}, "right"),
        ({"left": [0.0, 1.0]}, "left"),
        ({"left": [[0, 1]]}, "left"),
        ({"weight": [1.0]}, "weight"),
        ({"weight": [1.0, math.nan]}, "weight"),
        ({"must_link": [(0, 5)]}, "must_link"),
        ({"must_link": [(0,)]}, "must_link"),
        ({"cannot_link": [(1, 1)]}, "cannot_link"),
        ({"conflict_keys": {"b": np.array([1, 2], dtype=np.int64)}}, "conflict_keys.b"),
        ({"conflict_keys": {"b": np.array([1.0, 2.0, 3.0])}}, "conflict_keys.b"),
        ({"conflict_keys": {"b": np.array([1, -2, 3], dtype=np.int64)}}, "conflict_keys.b"),
        ({"max_cluster_size": 0}, "max_cluster_size"),
        ({"max_cluster_size": 2.0}, "max_cluster_size"),
    ],
)
def test_malformed_arguments_are_refused_naming_the_field(
    arguments: dict[str, object], field: str
) -> None:
    call: dict[str, object] = {"n": 3, "left": [0, 1], "right": [1, 2], "weight": [1.0, 2.0]}
    call.update(arguments)
    with pytest.raises(InvalidInput) as caught:
        cluster_records(**call)  # type: ignore[arg-type]
    assert caught.value.field == field


# --- a simple reference ----------------------------------------------------------------


@dataclass
class Reference:
    labels: list[int]
    accepted: list[bool]
    refusals: list[tuple[int, int, float, str]]
    conflict_details: list[str]


def reference(
    n: int,
    edges: Sequence[tuple[int, int, float]],
    must_link: Sequence[tuple[int, int]] = (),
    cannot_link: Sequence[tuple[int, int]] = (),
    conflict_keys: Mapping[str, np.ndarray] | None = None,
    max_cluster_size: int | None = None,
) -> Reference:
    """The clustering rules as literally as they are written, with sets and no tricks."""
    conflict_keys = conflict_keys or {}
    cluster = {record: frozenset([record]) for record in range(n)}

    def join(a: int, b: int) -> None:
        merged = cluster[a] | cluster[b]
        for record in merged:
            cluster[record] = merged

    def values(members: frozenset[int], name: str) -> set[int]:
        return {int(conflict_keys[name][r]) for r in members} - {-1}

    for a, b in must_link:
        join(a, b)
    for a, b in cannot_link:
        if b in cluster[a]:
            raise InvalidInput("contradiction", field="must_link")
    order = sorted(range(len(edges)), key=lambda i: (-edges[i][2], *sorted(edges[i][:2])))
    accepted = [False] * len(edges)
    refusals: list[tuple[int, int, float, str]] = []
    details: list[str] = []
    for i in order:
        a, b, w = edges[i]
        one, two = cluster[a], cluster[b]
        if one == two:
            continue
        if any((x in one and y in two) or (x in two and y in one) for x, y in cannot_link):
            refusals.append((a, b, w, "cannot_link"))
            continue
        clash = [
            (name, values(one, name), values(two, name))
            for name in conflict_keys
            if values(one, name) and values(two, name) and not values(one, name) & values(two, name)
        ]
        if clash:
            refusals.append((a, b, w, "conflict"))
            name, mine, theirs = clash[0]
            show = [str(next(iter(s))) if len(s) == 1 else str(sorted(s)) for s in (mine, theirs)]
            details.append(f"{name} {show[0]} vs {show[1]}".replace("[", "{").replace("]", "}"))
            continue
        if max_cluster_size is not None and len(one) + len(two) > max_cluster_size:
            refusals.append((a, b, w, "too_large"))
            continue
        accepted[i] = True
        join(a, b)
    return Reference([min(cluster[r]) for r in range(n)], accepted, refusals, details)


def components(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Connected components by breadth-first search, labelled by their smallest record."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    label = [-1] * n
    for start in range(n):
        if label[start] == -1:
            label[start] = start
            queue = deque([start])
            while queue:
                for other in neighbours[queue.popleft()]:
                    if label[other] == -1:
                        label[other] = start
                        queue.append(other)
    return label


# --- properties ------------------------------------------------------------------------

WEIGHTS = st.sampled_from([-2.0, 0.5, 1.0, 3.0, 3.0, 7.25, INF])


@st.composite
def problems(draw: st.DrawFn, *, musts: bool = True) -> dict[str, object]:
    n = draw(st.integers(1, 14))
    record = st.integers(0, n - 1)
    pair = st.tuples(record, record)
    edges = draw(st.lists(st.tuples(record, record, WEIGHTS), max_size=30))
    must = draw(st.lists(pair, max_size=3)) if musts else []
    cannot = draw(st.lists(pair.filter(lambda p: p[0] != p[1]), max_size=4))
    names = draw(st.lists(st.sampled_from(["birth_date", "ssn", "email"]), unique=True))
    keys = {
        name: np.array(draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n)), np.int64)
        for name in names
    }
    limit = draw(st.none() | st.integers(1, 6))
    return {
        "n": n,
        "edges": edges,
        "must_link": must,
        "cannot_link": cannot,
        "conflict_keys": keys,
        "max_cluster_size": limit,
    }


def solve(problem: dict[str, object]) -> Clustering | None:
    """Cluster ``problem``, or ``None`` when its must_link contradicts its cannot_link."""
    try:
        return run(**problem)  # type: ignore[arg-type]
    except InvalidInput:
        return None


def must_groups(n: int, must_link: Sequence[tuple[int, int]]) -> list[int]:
    return components(n, must_link)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_the_result_is_the_rules_applied_literally(problem: dict[str, object]) -> None:
    result = solve(problem)
    try:
        expected = reference(**problem)  # type: ignore[arg-type]
    except InvalidInput:
        assert result is None
        return
    assert result is not None
    assert result.labels.tolist() == expected.labels
    assert result.accepted.tolist() == expected.accepted
    assert [(r.left, r.right, r.weight, r.reason) for r in result.refusals] == expected.refusals
    assert [r.detail for r in result.refusals if r.reason == "conflict"] == (
        expected.conflict_details
    )
    cannot = {frozenset(p) for p in problem["cannot_link"]}  # type: ignore[attr-defined]
    for refusal in result.refusals:
        if refusal.reason == "cannot_link":
            x, y = map(int, re.findall(r"\d+", refusal.detail))
            assert frozenset((x, y)) in cannot
            assert {result.labels[x], result.labels[y]} != {result.labels[refusal.left]}


@settings(max_examples=60, deadline=None)
@given(problems())
def test_the_result_is_a_partition_respecting_every_constraint(problem: dict[str, object]) -> None:
    result = solve(problem)
    if result is None:
        return
    n: int = problem["n"]  # type: ignore[assignment]
    labels = result.labels
    clusters = result.clusters()
    assert labels.dtype == np.int64 and labels.shape == (n,)
    assert sorted(np.concatenate(list(clusters.values())).tolist()) == list(range(n))
    for label, members in clusters.items():
        assert label == members[0] and (labels[members] == label).all()

    for a, b in problem["cannot_link"]:  # type: ignore[attr-defined]
        assert labels[a] != labels[b]

    must = must_groups(n, problem["must_link"])  # type: ignore[arg-type]
    keys: dict[str, np.ndarray] = problem["conflict_keys"]  # type: ignore[assignment]
    limit: int | None = problem["max_cluster_size"]  # type: ignore[assignment]
    for members in clusters.values():
        groups_inside = {must[m] for m in members}
        for codes in keys.values():
            if len(set(codes[members].tolist()) - {-1}) > 1:
                # only a must_link group holding several values may bring them in
                assert any(
                    len({int(codes[r]) for r in range(n) if must[r] == g} - {-1}) > 1
                    for g in groups_inside
                )
        if limit is not None and members.size > limit:
            assert len(groups_inside) == 1

    edges: list[tuple[int, int, float]] = problem["edges"]  # type: ignore[assignment]
    taken = [edges[i][:2] for i in np.flatnonzero(result.accepted)]
    assert all(labels[a] == labels[b] for a, b in taken)
    # accepted edges are a spanning forest over the must_link groups
    assert len(taken) == len(set(must)) - len(clusters)
    linked = components(n, taken + list(problem["must_link"]))  # type: ignore[call-overload]
    assert linked == labels.tolist()


@settings(max_examples=60, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_edge_order_and_orientation_do_not_change_the_clusters(
    problem: dict[str, object], rng: random.Random
) -> None:
    result = solve(problem)
    edges = list(problem["edges"])  # type: ignore[call-overload]
    rng.shuffle(edges)
    flipped = [(b, a, w) if rng.random() < 0.5 else (a, b, w) for a, b, w in edges]
    again = solve({**problem, "edges": flipped})
    if result is None:
        assert again is None
        return
    assert again is not None
    assert again.labels.tolist() == result.labels.tolist()
    assert again.accepted.sum() == result.accepted.sum()
    assert sorted(r.reason for r in again.refusals) == sorted(r.reason for r in result.refusals)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), WEIGHTS)),
        )
    )
)
def test_without_constraints_clusters_are_connected_components(
    case: tuple[int, list[tuple[int, int, float]]],
) -> None:
    n, edges = case
    result = run(n, edges)
    assert result.labels.tolist() == components(n, [(a, b) for a, b, _ in edges])
    assert result.refusals == []
    assert int(result.accepted.sum()) == n - len(result.clusters())


def test_larger_graphs_agree_with_the_reference() -> None:
    """Thousands of records, so both the vectorised pass and the loop see many components."""
    rng = np.random.default_rng(7)
    n, m = 3000, 4000
    left = rng.integers(0, n, m)
    right = np.clip(left + rng.integers(-4, 5, m), 0, n - 1)
    weight = rng.choice([1.0, 2.0, 3.5, INF], m)
    births = rng.integers(0, 3, n)
    births[rng.random(n) < 0.6] = -1
    birth_column = np.where(rng.random(n) < 0.9, -1, births)
    edges = list(zip(left.tolist(), right.tolist(), weight.tolist(), strict=True))
    problem: dict[str, object] = {
        "n": n,
        "edges": edges,
        "must_link": [(i, i + 1) for i in range(0, n - 1, 97)],
        "cannot_link": [(i, i + 2) for i in range(0, n - 2, 61)],
        "conflict_keys": {"birth_date": birth_column.astype(np.int64)},
        "max_cluster_size": 12,
    }
    result = solve(problem)
    expected = reference(**problem)  # type: ignore[arg-type]
    assert result is not None
    assert result.labels.tolist() == expected.labels
    assert result.accepted.tolist() == expected.accepted
    assert [(r.left, r.right, r.weight, r.reason) for r in result.refusals] == expected.refusals
    assert {r.reason for r in result.refusals} == {"cannot_link", "conflict", "too_large"}
