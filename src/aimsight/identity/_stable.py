"""Stable customer ids: the same person keeps the same id from one resolution run to the next.

Clustering is redone from scratch on every run, so its labels mean nothing across runs. This
module carries ids over through the records: a cluster takes the id its records had last time.
When the clustering changed, the rules decide who keeps what, and every change is an event a
steward can read and downstream systems can replay:

* **split**: an old id's records now sit in several clusters. The cluster holding most of them
  keeps the id (tie: the cluster whose smallest record key is smallest); the others get new ids.
* **merge**: a cluster keeps several old ids. The id with most of the cluster's previously known
  records survives (tie: the smallest id); the others become its aliases, so links to them
  still resolve.
* **create**: a cluster with no old id and none of its records taken from one (new people).

An unchanged cluster, or one that only gained new records, keeps its id with no event. The
result depends on the set of (record, cluster) pairs only, never on the order they come in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from heapq import merge as merge_sorted

import numpy as np
import numpy.typing as npt

from aimsight.core.errors import InvalidInput

__all__ = ["Assignment", "IdEvent", "assign_customer_ids"]

IntArray = npt.NDArray[np.int64]

CREATE = "create"
MERGE = "merge"
SPLIT = "split"


@dataclass(frozen=True)
class IdEvent:
    """One change to the set of customer ids.

    Attributes:
        kind: ``"create"``, ``"merge"`` or ``"split"``.
        before: the ids concerned before the run, sorted (empty for ``create``).
        after: the ids after; for a split the id the old one lives on as comes first.
        records: the sorted record keys of the cluster(s) concerned.
    """

    kind: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    records: tuple[str, ...]


@dataclass(frozen=True)
class Assignment:
    """The customer id of every record, and how the ids changed since the last run.

    Attributes:
        customer_of: the customer id per record, in the order the records were given.
        events: every create, merge and split, sorted by their records, then kind.
        aliases: merged-away id -> the id that absorbed it.
        retired: the ids merged away (the keys of ``aliases``).
    """

    customer_of: list[str]
    events: list[IdEvent]
    aliases: dict[str, str]
    retired: set[str]


def assign_customer_ids(
    records: Sequence[str],
    labels: npt.ArrayLike,
    previous: Mapping[str, str],
    *,
    new_id: Callable[[tuple[str, ...]], str],
) -> Assignment:
    """Give each cluster a customer id, keeping last run's ids wherever the rules allow.

    Args:
        records: the record keys, e.g. ``"crm.customers:C1001"``, each once.
        labels: the cluster label per record; equal labels mean the same cluster.
        previous: record key -> customer id from the last run; records absent now are ignored.
        new_id: makes a fresh id from the sorted record keys of a cluster that needs one;
            called once per such cluster, in the order of their smallest record keys.

    Returns:
        The :class:`Assignment`.

    Raises:
        InvalidInput: the records repeat a key or are not strings, the labels are not one
            integer per record, or ``new_id`` returned an id already in use.

    Examples:
        >>> result = assign_customer_ids(
        ...     ["crm:1", "shop:7", "crm:2"], [0, 0, 1], {"crm:1": "P1", "crm:2": "P1"},
        ...     new_id=lambda keys: "N-" + keys[0],
        ... )
        >>> result.customer_of, result.events[0].kind, result.events[0].after
        (['P1', 'P1', 'N-crm:2'], 'split', ('P1', 'N-crm:2'))
    """
    keys = _check_records(records)
    cluster = _check_labels(labels, len(keys))
    if not keys:
        return Assignment(customer_of=[], events=[], aliases={}, retired=set())
    clusters = _Clusters(keys, cluster)
    known_ids, codes = _old_ids(keys, previous)
    holdings = _holdings(clusters, codes, len(known_ids))

    names = np.asarray(known_ids, dtype=object)
    final = np.full(clusters.count, None, dtype=object)
    final[holdings.keeper] = names[holdings.survivor]
    events: list[IdEvent] = []
    aliases: dict[str, str] = {}
    for where, kept in holdings.merges.items():
        survivor, *absorbed = (known_ids[code] for code in kept)
        aliases.update((name, survivor) for name in absorbed)
        before = tuple(sorted((survivor, *absorbed)))
        events.append(IdEvent(MERGE, before, (survivor,), clusters.keys(where)))

    in_use = set(previous.values())
    held = np.zeros(clusters.count, dtype=np.bool_)
    held[holdings.holder] = True
    unnamed = np.ones(clusters.count, dtype=np.bool_)
    unnamed[holdings.keeper] = False
    for where in np.flatnonzero(unnamed).tolist():
        members = clusters.keys(where)
        fresh = new_id(members)
        if not isinstance(fresh, str) or fresh in in_use:
            raise InvalidInput(
                f"new_id returned {fresh!r} for {members[0]!r}, an id already in use; "
                "it must return a new string each time",
                field="new_id",
            )
        in_use.add(fresh)
        final[where] = fresh
        if not held[where]:
            events.append(IdEvent(CREATE, (), (fresh,), members))

    for code, holders in holdings.splits.items():
        keeper, *others = holders
        after = (final[keeper], *sorted(final[where] for where in others))
        together = tuple(merge_sorted(*(clusters.keys(where) for where in holders)))
        events.append(IdEvent(SPLIT, (known_ids[code],), after, together))

    events.sort(key=lambda event: (event.records, event.kind, event.before))
    customer_of: list[str] = final[clusters.of_record].tolist()
    return Assignment(customer_of=customer_of, events=events, aliases=aliases, retired=set(aliases))


class _Clusters:
    """The clusters numbered by their smallest record key, so numbering ignores input order."""

    def __init__(self, keys: list[str], labels: npt.NDArray[np.int64]) -> None:
        n = len(keys)
        rank = np.empty(n, dtype=np.int64)
        rank[sorted(range(n), key=keys.__getitem__)] = np.arange(n, dtype=np.int64)
        _, raw = np.unique(labels, return_inverse=True)
        raw = raw.reshape(-1)
        count = int(raw.max()) + 1
        smallest = np.full(count, n, dtype=np.int64)
        np.minimum.at(smallest, raw, rank)
        number = np.empty(count, dtype=np.int64)
        number[np.argsort(smallest)] = np.arange(count, dtype=np.int64)
        self.count = count
        self.of_record: npt.NDArray[np.int64] = number[raw]
        by_cluster = np.lexsort((rank, self.of_record))
        self._members: list[int] = by_cluster.tolist()
        self._starts: list[int] = np.r_[0, np.cumsum(np.bincount(self.of_record))].tolist()
        self._keys = keys

    def keys(self, where: int) -> tuple[str, ...]:
        """The sorted record keys of cluster ``where``."""
        chosen = self._members[self._starts[where] : self._starts[where + 1]]
        return tuple(self._keys[i] for i in chosen)


@dataclass(frozen=True, eq=False)
class _Holdings:
    """Which clusters hold which old ids, and who keeps what.

    Attributes:
        holder: the cluster per (cluster, old id) pair with at least one record.
        keeper: the clusters keeping at least one old id.
        survivor: the code of the old id each of those clusters goes on with.
        merges: cluster -> codes of the old ids it keeps, survivor first (two or more).
        splits: old id code -> the clusters holding its records, keeper first, the others
            by number (ids now in two or more clusters).
    """

    holder: npt.NDArray[np.int64]
    keeper: npt.NDArray[np.int64]
    survivor: npt.NDArray[np.int64]
    merges: dict[int, list[int]]
    splits: dict[int, list[int]]


def _old_ids(keys: list[str], previous: Mapping[str, str]) -> tuple[list[str], IntArray]:
    """The old ids of the records now present, sorted, and each record's code in that list.

    A record with no old id gets -1. Codes follow the sorted order, so "smallest id" is
    "smallest code" from here on.
    """
    code_of: dict[str, int] = {}
    get = previous.get
    first_seen = [
        -1 if (name := get(key)) is None else code_of.setdefault(name, len(code_of)) for key in keys
    ]
    known_ids = sorted(code_of)
    rank = np.empty(len(code_of) + 1, dtype=np.int64)
    rank[[code_of[name] for name in known_ids]] = np.arange(len(known_ids), dtype=np.int64)
    rank[-1] = -1
    return known_ids, rank[np.asarray(first_seen, dtype=np.int64)]


def _holdings(clusters: _Clusters, codes: IntArray, id_count: int) -> _Holdings:
    """Count each cluster's records per old id, then apply the keeper and survivor rules.

    Clusters are numbered by their smallest record key, so "smallest first key" is "smallest
    number"; old ids by :func:`_old_ids`, so "smallest id" is "smallest code".
    """
    known = codes >= 0
    width = np.int64(max(id_count, 1))
    pairs, count = np.unique(clusters.of_record[known] * width + codes[known], return_counts=True)
    holder = pairs // width
    code = pairs % width

    # Per old id, the cluster with most of its records keeps it (tie: smallest number).
    by_id = np.lexsort((holder, -count, code))
    first_of_id = _firsts(code[by_id])
    kept = by_id[first_of_id]

    # Per cluster, of the ids it keeps, the one with most of its records survives (tie:
    # smallest id).
    by_cluster = kept[np.lexsort((code[kept], -count[kept], holder[kept]))]
    first_of_cluster = _firsts(holder[by_cluster])
    merges: dict[int, list[int]] = {}
    several = np.bincount(holder[kept], minlength=clusters.count) > 1
    for where, name in zip(holder[by_cluster].tolist(), code[by_cluster].tolist(), strict=True):
        if several[where]:
            merges.setdefault(where, []).append(name)

    splits: dict[int, list[int]] = {}
    spread = by_id[(np.bincount(code, minlength=width) > 1)[code[by_id]]]
    for name, where in zip(code[spread].tolist(), holder[spread].tolist(), strict=True):
        splits.setdefault(name, []).append(where)
    for holders in splits.values():
        holders[1:] = sorted(holders[1:])
    return _Holdings(
        holder=holder,
        keeper=holder[by_cluster[first_of_cluster]],
        survivor=code[by_cluster[first_of_cluster]],
        merges=merges,
        splits=splits,
    )


def _firsts(values: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Where each run of equal values in a sorted array starts."""
    starts = np.ones(values.size, dtype=np.bool_)
    starts[1:] = values[1:] != values[:-1]
    return starts


def _check_records(records: Sequence[str]) -> list[str]:
    """The record keys as a list, each a string and given once."""
    keys = list(records)
    if not all(isinstance(key, str) for key in keys):
        raise InvalidInput("records must be record keys (strings)", field="records")
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        for key in keys:
            if key in seen:
                raise InvalidInput(
                    f"record {key!r} is given twice; give each record once", field="records"
                )
            seen.add(key)
    return keys


def _check_labels(labels: npt.ArrayLike, n: int) -> npt.NDArray[np.int64]:
    """The labels as int64, one per record."""
    array = np.asarray(labels)
    if array.shape != (n,):
        raise InvalidInput(
            f"labels must have one entry per record ({n}), got shape {array.shape}",
            field="labels",
        )
    if n and not np.issubdtype(array.dtype, np.integer):
        raise InvalidInput("labels must be integers", field="labels")
    return array.astype(np.int64, copy=False)
