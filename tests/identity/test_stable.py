"""Stable customer ids: people keep their id across runs; merges and splits are told, not hidden."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimsight.core.errors import InvalidInput
from aimsight.identity._stable import Assignment, IdEvent, assign_customer_ids


def named(keys: tuple[str, ...]) -> str:
    """A fresh id that says which records it was made for (unique per cluster)."""
    return "new:" + "+".join(keys)


class IdSequence:
    """A fresh-id factory like a database sequence, recording what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, keys: tuple[str, ...]) -> str:
        self.calls.append(keys)
        return f"K{len(self.calls):04d}"


def assign(
    clusters: Sequence[Sequence[str]],
    previous: Mapping[str, str] | None = None,
    new_id: Callable[[tuple[str, ...]], str] = named,
) -> Assignment:
    """Assign ids to records given cluster by cluster."""
    records = [key for cluster in clusters for key in cluster]
    labels = np.array([i for i, cluster in enumerate(clusters) for _ in cluster], np.int64)
    return assign_customer_ids(records, labels, previous or {}, new_id=new_id)


def ids(result: Assignment, clusters: Sequence[Sequence[str]]) -> list[str]:
    """The one id of each cluster (asserting it has one)."""
    out = []
    start = 0
    for cluster in clusters:
        chosen = set(result.customer_of[start : start + len(cluster)])
        assert len(chosen) == 1
        out.append(chosen.pop())
        start += len(cluster)
    return out


def carried(records: Sequence[str], result: Assignment) -> dict[str, str]:
    """The ``previous`` mapping the next run would get."""
    return dict(zip(records, result.customer_of, strict=True))


# --- what a data steward sees ------------------------------------------------------------


def test_the_first_run_creates_one_id_per_person() -> None:
    result = assign([["crm:1", "shop:9"], ["crm:2"]])
    assert ids(result, [["crm:1", "shop:9"], ["crm:2"]]) == ["new:crm:1+shop:9", "new:crm:2"]
    assert result.events == [
        IdEvent("create", (), ("new:crm:1+shop:9",), ("crm:1", "shop:9")),
        IdEvent("create", (), ("new:crm:2",), ("crm:2",)),
    ]
    assert result.aliases == {} and result.retired == set()


def test_an_unchanged_clustering_keeps_every_id_without_events() -> None:
    previous = {"crm:1": "C1", "shop:9": "C1", "crm:2": "C2"}
    result = assign([["crm:2"], ["shop:9", "crm:1"]], previous)
    assert result.customer_of == ["C2", "C1", "C1"]
    assert result.events == []


def test_a_new_record_joining_a_customer_takes_its_id_quietly() -> None:
    previous = {"crm:1": "C1"}
    result = assign([["crm:1", "web:5"]], previous)
    assert result.customer_of == ["C1", "C1"]
    assert result.events == []


def test_records_absent_now_are_ignored() -> None:
    result = assign([["crm:1"]], {"crm:1": "C1", "crm:gone": "C1", "crm:old": "C7"})
    assert result.customer_of == ["C1"]
    assert result.events == []


def test_a_merge_keeps_the_id_with_most_records_and_aliases_the_other() -> None:
    previous = {"a": "C9", "b": "C9", "c": "C1"}
    result = assign([["a", "b", "c", "new"]], previous)
    assert result.customer_of == ["C9"] * 4
    assert result.aliases == {"C1": "C9"}
    assert result.retired == {"C1"}
    assert result.events == [IdEvent("merge", ("C1", "C9"), ("C9",), ("a", "b", "c", "new"))]


def test_a_merge_tie_keeps_the_smallest_id() -> None:
    result = assign([["a", "b", "c"]], {"a": "C2", "b": "C10", "c": "C3"})
    assert result.customer_of == ["C10"] * 3  # "C10" < "C2" < "C3" as strings
    assert result.aliases == {"C2": "C10", "C3": "C10"}
    assert result.events[0].before == ("C10", "C2", "C3")


def test_a_split_leaves_the_id_with_most_records_and_gives_the_rest_new_ids() -> None:
    previous = {"a": "C1", "b": "C1", "c": "C1"}
    result = assign([["c"], ["a", "b"]], previous)
    assert result.customer_of == ["new:c", "C1", "C1"]
    assert result.events == [IdEvent("split", ("C1",), ("C1", "new:c"), ("a", "b", "c"))]
    assert result.aliases == {}


def test_a_split_tie_goes_to_the_cluster_with_the_smallest_record_key() -> None:
    previous = {"a": "C1", "b": "C1", "c": "C1", "d": "C1"}
    result = assign([["d", "b"], ["c", "a"]], previous)
    assert result.customer_of == ["new:b+d", "new:b+d", "C1", "C1"]
    assert result.events[0].after == ("C1", "new:b+d")


def test_a_split_into_three_names_every_piece() -> None:
    previous = dict.fromkeys("abcde", "C1")
    result = assign([["a", "b", "c"], ["d"], ["e", "x"]], previous)
    assert result.events == [
        IdEvent("split", ("C1",), ("C1", "new:d", "new:e+x"), ("a", "b", "c", "d", "e", "x"))
    ]


def test_a_record_moving_between_people_splits_one_without_merging() -> None:
    # "c" was wrongly with Ada (C1); it now joins Bob (C2), who keeps his id.
    previous = {"a": "C1", "b": "C1", "c": "C1", "d": "C2"}
    result = assign([["a", "b"], ["c", "d"]], previous)
    assert result.customer_of == ["C1", "C1", "C2", "C2"]
    assert result.events == [IdEvent("split", ("C1",), ("C1", "C2"), ("a", "b", "c", "d"))]
    assert result.aliases == {}


def test_a_split_piece_that_merges_elsewhere() -> None:
    previous = {"a": "C1", "b": "C1", "c": "C1", "d": "C2", "e": "C3"}
    result = assign([["a", "b"], ["c", "d", "e"]], previous)
    assert result.customer_of == ["C1", "C1", "C2", "C2", "C2"]
    assert result.aliases == {"C3": "C2"}
    assert {(e.kind, e.before, e.after) for e in result.events} == {
        ("split", ("C1",), ("C1", "C2")),
        ("merge", ("C2", "C3"), ("C2",)),
    }


def test_new_id_is_called_once_per_new_cluster_in_key_order() -> None:
    counter = IdSequence()
    previous = {"a": "C1", "b": "C1", "c": "C1"}
    result = assign([["z"], ["c"], ["y", "x"], ["a", "b"]], previous, new_id=counter)
    assert counter.calls == [("c",), ("x", "y"), ("z",)]
    assert result.customer_of == ["K0003", "K0001", "K0002", "K0002", "C1", "C1"]
    assert [e.kind for e in result.events] == ["split", "create", "create"]


def test_the_record_order_does_not_matter() -> None:
    previous = {"a": "C1", "b": "C1", "c": "C2", "d": "C3"}
    one = assign_customer_ids(
        ["a", "b", "c", "d", "e"], np.array([1, 1, 2, 2, 3]), previous, new_id=IdSequence()
    )
    two = assign_customer_ids(
        ["e", "d", "c", "b", "a"], np.array([7, 5, 5, 9, 9]), previous, new_id=IdSequence()
    )
    assert one.customer_of == two.customer_of[::-1]
    assert (one.events, one.aliases, one.retired) == (two.events, two.aliases, two.retired)


def test_no_records() -> None:
    result = assign_customer_ids([], np.zeros(0, np.int64), {"a": "C1"}, new_id=named)
    assert result == Assignment([], [], {}, set())


def test_events_are_immutable() -> None:
    event = assign([["a"]]).events[0]
    with pytest.raises(FrozenInstanceError):
        event.kind = "merge"  # type: ignore[misc]


# --- bad input -------------------------------------------------------------------------


def test_a_repeated_record_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'a' is given twice") as caught:
        assign_customer_ids(["a", "b", "a"], np.array([0, 1, 2]), {}, new_id=named)
    assert caught.value.field == "records"


@pytest.mark.parametrize("labels", [[0], [[0, 1]], [0.5, 1.5], ["x", "y"]])
def test_labels_must_be_one_integer_per_record(labels: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        assign_customer_ids(["a", "b"], labels, {}, new_id=named)  # type: ignore[arg-type]
    assert caught.value.field == "labels"


def test_record_keys_must_be_strings() -> None:
    with pytest.raises(InvalidInput) as caught:
        assign_customer_ids(["a", 2], [0, 1], {}, new_id=named)  # type: ignore[list-item]
    assert caught.value.field == "records"


@pytest.mark.parametrize("clash", ["C1", "C7", None])
def test_a_fresh_id_already_in_use_is_refused(clash: str | None) -> None:
    previous = {"a": "C1", "gone": "C7"}
    with pytest.raises(InvalidInput) as caught:
        assign_customer_ids(["a", "b"], [0, 1], previous, new_id=lambda _: clash)  # type: ignore[arg-type, return-value]
    assert caught.value.field == "new_id"


def test_a_fresh_id_given_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'K'"):
        assign_customer_ids(["a", "b"], [0, 1], {}, new_id=lambda _: "K")


# --- a simple reference ----------------------------------------------------------------


def reference(
    records: Sequence[str], labels: Sequence[int], previous: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str], list[tuple[str, tuple[str, ...], tuple[str, ...]]]]:
    """The rules as written, with dicts: (record -> id, aliases, events without records)."""
    members: dict[int, list[str]] = defaultdict(list)
    for key, label in zip(records, labels, strict=True):
        members[label].append(key)
    clusters = sorted(tuple(sorted(keys)) for keys in members.values())
    counts = [Counter(previous[k] for k in cluster if k in previous) for cluster in clusters]
    keeper: dict[str, int] = {}
    for old in {p for c in counts for p in c}:
        holders = [i for i, c in enumerate(counts) if old in c]
        keeper[old] = min(holders, key=lambda i: (-counts[i][old], i))
    name: dict[int, str] = {}
    aliases: dict[str, str] = {}
    events: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    for i, cluster in enumerate(clusters):
        kept = [p for p in counts[i] if keeper[p] == i]
        if kept:
            survivor = min(kept, key=lambda p: (-counts[i][p], p))
            name[i] = survivor
            if len(kept) > 1:
                aliases.update({p: survivor for p in kept if p != survivor})
                events.append(("merge", tuple(sorted(kept)), (survivor,)))
        else:
            name[i] = named(cluster)
            if not counts[i]:
                events.append(("create", (), (name[i],)))
    for old, i in keeper.items():
        others = [j for j, c in enumerate(counts) if old in c and j != i]
        if others:
            events.append(("split", (old,), (name[i], *sorted(name[j] for j in others))))
    customer = {key: name[i] for i, cluster in enumerate(clusters) for key in cluster}
    return customer, aliases, events


# --- properties ------------------------------------------------------------------------

KEYS = [f"{source}:{n}" for source in ("crm", "shop", "web") for n in range(8)]


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """Records with a clustering now, and ids from a last run with a different clustering."""
    records = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=18))
    labels = np.array(
        draw(st.lists(st.integers(-3, 5), min_size=len(records), max_size=len(records))), np.int64
    )
    old = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=18))
    ids_ = draw(
        st.lists(
            st.sampled_from(["P1", "P2", "P3", "P10", "Q"]), min_size=len(old), max_size=len(old)
        )
    )
    return records, labels, dict(zip(old, ids_, strict=True))


@settings(max_examples=80, deadline=None)
@given(runs())
def test_the_rules_apply_as_written(run: tuple[list[str], np.ndarray, dict[str, str]]) -> None:
    records, labels, previous = run
    result = assign_customer_ids(records, labels, previous, new_id=named)
    customer, aliases, events = reference(records, labels.tolist(), previous)
    assert result.customer_of == [customer[k] for k in records]
    assert result.aliases == aliases
    assert sorted((e.kind, e.before, e.after) for e in result.events) == sorted(events)


@settings(max_examples=80, deadline=None)
@given(runs(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_record_order_or_label_values(
    run: tuple[list[str], np.ndarray, dict[str, str]], rng: random.Random
) -> None:
    records, labels, previous = run
    counter = IdSequence()
    result = assign_customer_ids(records, labels, previous, new_id=counter)
    order = list(range(len(records)))
    rng.shuffle(order)
    relabel = dict(zip(range(-3, 6), rng.sample(range(1000), 9), strict=True))
    shuffled = [records[i] for i in order]
    new_labels = np.array([relabel[int(labels[i])] for i in order], np.int64)
    again_counter = IdSequence()
    again = assign_customer_ids(shuffled, new_labels, previous, new_id=again_counter)
    assert again.customer_of == [result.customer_of[i] for i in order]
    assert (again.events, again.aliases, again.retired) == (
        result.events,
        result.aliases,
        result.retired,
    )
    assert again_counter.calls == counter.calls


@settings(max_examples=80, deadline=None)
@given(runs())
def test_every_cluster_has_one_id_and_every_id_one_cluster(
    run: tuple[list[str], np.ndarray, dict[str, str]],
) -> None:
    records, labels, previous = run
    counter = IdSequence()
    result = assign_customer_ids(records, labels, previous, new_id=counter)
    by_label: dict[int, set[str]] = defaultdict(set)
    by_id: dict[str, set[int]] = defaultdict(set)
    for label, customer in zip(labels.tolist(), result.customer_of, strict=True):
        by_label[label].add(customer)
        by_id[customer].add(label)
    assert all(len(customers) == 1 for customers in by_label.values())
    assert all(len(labels_) == 1 for labels_ in by_id.values())

    live = set(result.customer_of)
    assert result.retired == set(result.aliases)
    assert not result.retired & live
    assert set(result.aliases.values()) <= live
    # every old id still holding records lives on, directly or as an alias
    present = {previous[k] for k in records if k in previous}
    assert present <= live | result.retired
    # fresh ids are exactly the ids made by new_id, once per cluster that needed one
    fresh = live - present
    assert len(counter.calls) == len(fresh)
    assert all(calls == tuple(sorted(calls)) for calls in counter.calls)
    created = {e.after[0] for e in result.events if e.kind == "create"}
    assert created <= fresh


@settings(max_examples=60, deadline=None)
@given(runs())
def test_running_again_on_the_same_clusters_changes_nothing(
    run: tuple[list[str], np.ndarray, dict[str, str]],
) -> None:
    records, labels, previous = run
    first = assign_customer_ids(records, labels, previous, new_id=named)
    second = assign_customer_ids(
        records, labels * 7 + 1, carried(records, first), new_id=IdSequence()
    )
    assert second.customer_of == first.customer_of
    assert second.events == []
    assert second.aliases == {}


@settings(max_examples=40, deadline=None)
@given(st.integers(10, 200), st.randoms(use_true_random=False))
def test_new_records_never_change_an_existing_persons_id(size: int, rng: random.Random) -> None:
    records = [f"crm:{i}" for i in range(size)]
    labels = [rng.randrange(size // 2 + 1) for _ in records]
    first = assign_customer_ids(records, labels, {}, new_id=named)

    extra = [f"web:{i}" for i in range(max(1, size // 10))]
    extra_labels = [
        rng.choice(labels) if rng.random() < 0.5 else 10_000 + rng.randrange(5) for _ in extra
    ]
    everything = records + extra
    order = list(range(len(everything)))
    rng.shuffle(order)
    second = assign_customer_ids(
        [everything[i] for i in order],
        [(labels + extra_labels)[i] for i in order],
        carried(records, first),
        new_id=named,
    )
    now = dict(zip([everything[i] for i in order], second.customer_of, strict=True))
    assert [now[k] for k in records] == first.customer_of
    assert {e.kind for e in second.events} <= {"create"}
    assert second.aliases == {}


@settings(max_examples=60, deadline=None)
@given(runs())
def test_after_merges_and_splits_the_next_run_is_stable(
    run: tuple[list[str], np.ndarray, dict[str, str]],
) -> None:
    records, labels, previous = run
    first = assign_customer_ids(records, labels, previous, new_id=named)
    second = assign_customer_ids(records, labels, carried(records, first), new_id=named)
    assert second.customer_of == first.customer_of
    assert second.events == []


def test_merging_everyone_then_rerunning_is_stable() -> None:
    records = [f"r{i}" for i in range(10)]
    first = assign_customer_ids(records, np.arange(10), {}, new_id=named)
    merged = assign_customer_ids(
        records, np.zeros(10, np.int64), carried(records, first), new_id=named
    )
    assert merged.customer_of == ["new:r0"] * 10
    assert len(merged.aliases) == 9
    assert [e.kind for e in merged.events] == ["merge"]
    again = assign_customer_ids(
        records, np.zeros(10, np.int64), carried(records, merged), new_id=named
    )
    assert again.customer_of == merged.customer_of
    assert again.events == []
