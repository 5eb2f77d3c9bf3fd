"""Constrained clustering: turn scored record pairs into people, never merging two who differ.

Plain connected components over match edges chain: A~B and B~C put A and C together even when
A and C were born on different days. Here edges are taken greedily, strongest first, and an
edge is refused when the two clusters it would join are kept apart by a ``cannot_link`` pair,
disagree on a conflict attribute (both have values and share none), or would together exceed
the size limit. ``must_link`` pairs are applied before any edge and are never refused.

How it stays fast at millions of records:

* Constraints act only inside a connected component of the edges. Components no constraint can
  touch (most of them in real data) are settled on arrays: one cluster each, and the accepted
  edges are the spanning forest Kruskal would pick, found by Borůvka's rounds.
* The rest go through one lean Python loop in processing order on a union-find (path halving,
  union by size). Each root keeps its values of every conflict attribute (one int, or a
  frozenset once ``must_link`` forced several) and a map from the roots it may not join to one
  ``cannot_link`` pair that proves it, so each check is O(1) however many constraints exist.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from aimsight.core.errors import InvalidInput

__all__ = ["Clustering", "Refusal", "cluster_records"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
_A = TypeVar("_A", bound=np.ndarray[Any, Any])

CANNOT_LINK = "cannot_link"
CONFLICT = "conflict"
TOO_LARGE = "too_large"

# A cluster's values of one conflict attribute: -1 (none), one code, or several codes.
_Values = int | frozenset[int]
# Per root: partner root -> one (record, record) cannot_link pair between the two clusters.
_Partners = dict[int, tuple[int, int]]

_NO_KEYS: Mapping[str, npt.ArrayLike] = MappingProxyType({})


@dataclass(frozen=True)
class Refusal:
    """One edge the clustering would not take, and why.

    Attributes:
        left: the edge's left record index, as given.
        right: the edge's right record index, as given.
        weight: the edge's match weight.
        reason: ``"cannot_link"``, ``"conflict"`` or ``"too_large"``.
        detail: what a reviewer needs to see, e.g. ``"birth_date 17 vs 23"`` (value codes).
    """

    left: int
    right: int
    weight: float
    reason: str
    detail: str


@dataclass(frozen=True, eq=False)
class Clustering:
    """The partition of records into people, with what each edge did.

    ``eq=False``: arrays do not compare to one bool; compare ``labels`` with ``np.array_equal``.

    Attributes:
        labels: int64 per record, the smallest record index of its cluster (read-only).
        accepted: bool per input edge, True when it joined two clusters (read-only); with
            the ``must_link`` pairs, the accepted edges span each cluster without a cycle.
        refusals: every refused edge, in processing order.
    """

    labels: IntArray
    accepted: BoolArray
    refusals: list[Refusal]

    def clusters(self) -> dict[int, IntArray]:
        """Map each label to the sorted record indices of its cluster (singletons included)."""
        if self.labels.size == 0:
            return {}
        order = np.argsort(self.labels, kind="stable")
        ordered = self.labels[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        groups = np.split(order, starts[1:])
        return {int(ordered[s]): g for s, g in zip(starts.tolist(), groups, strict=True)}


def cluster_records(
    n: int,
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    weight: npt.ArrayLike,
    *,
    must_link: Sequence[tuple[int, int]] = (),
    cannot_link: Sequence[tuple[int, int]] = (),
    conflict_keys: Mapping[str, npt.ArrayLike] = _NO_KEYS,
    max_cluster_size: int | None = None,
) -> Clustering:
    """Cluster ``n`` records from scored pairs, greedily and under constraints.

    ``must_link`` pairs are joined first, unconditionally. Edges then follow by descending
    weight, ties by ``(min(left, right), max(left, right))``, so the partition does not depend
    on input order. An edge inside one cluster is skipped; an edge between two clusters is
    refused if a ``cannot_link`` pair spans them, if for some conflict attribute both have
    values and none in common, or if the merged cluster would exceed ``max_cluster_size``
    (checked in that order; the first reason found is reported, with the edge as given).

    Args:
        n: number of records; records are ``0 .. n-1``.
        left: record index per edge.
        right: record index per edge.
        weight: match weight per edge; ``+inf`` for deterministic links, never NaN.
        must_link: pairs that belong together whatever the evidence (e.g. a reviewer said so).
        cannot_link: pairs that never belong together.
        conflict_keys: attribute name -> int64 value code per record, ``-1`` for null.
        max_cluster_size: largest cluster edges may build; ``None`` for no limit.

    Returns:
        The :class:`Clustering`.

    Raises:
        InvalidInput: an argument is malformed, or ``must_link`` joins (possibly through a
            chain) two records a ``cannot_link`` pair keeps apart.

    Examples:
        >>> result = cluster_records(3, [0, 1], [1, 2], [5.0, 4.0], cannot_link=[(0, 2)])
        >>> result.labels.tolist(), result.refusals[0].reason
        ([0, 0, 2], 'cannot_link')
    """
    n = _check_n(n)
    lefts, rights, weights = _check_edges(n, left, right, weight)
    musts = _check_pairs(n, must_link, "must_link")
    cannots = _check_pairs(n, cannot_link, "cannot_link")
    for a, b in cannots:
        if a == b:
            raise InvalidInput(f"cannot_link pairs record {a} with itself", field="cannot_link")
    codes = _check_conflict_keys(n, conflict_keys)
    limit = _check_limit(max_cluster_size)

    if n == 0:
        return Clustering(
            labels=_frozen(np.zeros(0, dtype=np.int64)),
            accepted=_frozen(np.zeros(0, dtype=np.bool_)),
            refusals=[],
        )
    order = _processing_order(lefts, rights, weights)
    plan = _plan(n, lefts[order], rights[order], musts, cannots, codes, limit)

    # Settled records point at their component's root and are never touched again, so their
    # sizes and values here do not matter; must_link pairs inside settled components are no-ops.
    parent: list[int] = plan.parent.tolist()
    size = [1] * n
    values: list[list[_Values]] = [column.tolist() for column in codes.values()]
    for a, b in musts:
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            if size[ra] < size[rb]:
                ra, rb = rb, ra
            parent[rb] = ra
            size[ra] += size[rb]
            for column in values:
                column[ra] = _merged(column[ra], column[rb])
    partners = _partners(parent, plan.cannots) if plan.cannots else None

    edges = order[plan.loop]
    with _gc_paused():
        taken, refusals = _agglomerate(
            parent,
            size,
            lefts[edges].tolist(),
            rights[edges].tolist(),
            weights[edges].tolist(),
            list(zip(codes, values, strict=True)),
            partners,
            limit,
        )

    accepted = np.zeros(lefts.size, dtype=np.bool_)
    accepted[order[plan.accepted]] = True
    accepted[edges[np.asarray(taken, dtype=np.int64)]] = True
    labels = _canonical_labels(np.asarray(parent, dtype=np.int64))
    return Clustering(labels=_frozen(labels), accepted=_frozen(accepted), refusals=refusals)


@dataclass(frozen=True, eq=False)
class _Plan:
    """What the edge loop must do, after the vectorised pass settled the easy components.

    Attributes:
        parent: the starting union-find forest: records of settled components point at
            their component's smallest record, every other record at itself.
        accepted: processing positions of the edges the settled components accepted.
        loop: processing positions, ascending, of the edges the loop must look at.
        cannots: the cannot_link pairs that can matter (both ends in one component).
    """

    parent: IntArray
    accepted: IntArray
    loop: IntArray
    cannots: list[tuple[int, int]]


def _processing_order(lefts: IntArray, rights: IntArray, weights: FloatArray) -> IntArray:
    """Edge indices by descending weight, ties by (min end, max end): input order is irrelevant."""
    low = np.minimum(lefts, rights)
    high = np.maximum(lefts, rights)
    by_pair = np.lexsort((high, low))
    return by_pair[np.argsort(-weights[by_pair], kind="stable")]


def _plan(
    n: int,
    lefts: IntArray,
    rights: IntArray,
    musts: list[tuple[int, int]],
    cannots: list[tuple[int, int]],
    codes: dict[str, IntArray],
    limit: int | None,
) -> _Plan:
    """Settle, without a Python loop, every component no constraint can touch.

    Constraints act only inside a connected component of edges and ``must_link`` pairs. In a
    component with no cannot_link pair inside it, at most one non-null value per conflict
    attribute and no more records than the limit, no edge can be refused: the component becomes
    one cluster and greedy agglomeration is Kruskal's algorithm, so the accepted edges are the
    spanning forest of least processing positions, found by Borůvka's rounds on arrays. Most
    components of real data are like that; the others go to the loop.

    ``lefts`` and ``rights`` are in processing order.
    """
    must_a = np.asarray([a for a, _ in musts], dtype=np.int64)
    must_b = np.asarray([b for _, b in musts], dtype=np.int64)
    records = np.arange(n, dtype=np.int64)
    component = _join(records, np.r_[lefts, must_a], np.r_[rights, must_b])

    clean = np.ones(n, dtype=np.bool_)  # per component, indexed by its smallest record
    if limit is not None:
        clean[np.bincount(component, minlength=n) > limit] = False
    cannot_a = np.asarray([a for a, _ in cannots], dtype=np.int64)
    cannot_b = np.asarray([b for _, b in cannots], dtype=np.int64)
    together = component[cannot_a] == component[cannot_b]
    clean[component[cannot_a[together]]] = False
    inside = [pair for pair, keep in zip(cannots, together.tolist(), strict=True) if keep]
    for column in codes.values():
        known = np.flatnonzero(column != -1)
        lowest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        highest = np.full(n, -1, dtype=np.int64)
        np.minimum.at(lowest, component[known], column[known])
        np.maximum.at(highest, component[known], column[known])
        clean[highest > lowest] = False

    settled = clean[component]
    parent = np.where(settled, component, records)
    real = lefts != rights
    simple = np.flatnonzero(real & settled[lefts])
    loop = np.flatnonzero(real & ~settled[lefts])
    must_settled = settled[must_a]
    start = _join(records, must_a[must_settled], must_b[must_settled])
    accepted = _spanning_forest(start, lefts[simple], rights[simple], simple)
    return _Plan(parent=parent, accepted=accepted, loop=loop, cannots=inside)


def _join(parent: IntArray, ends_a: IntArray, ends_b: IntArray) -> IntArray:
    """Join the components of a flat forest along edges; each root is its smallest record.

    ``parent`` maps every record straight to its root. Each round hooks every root onto the
    smallest root it has an edge to, then points every record straight at its root again;
    pointers only go down, so the smallest record of a component ends as its root.
    """
    a, b = ends_a, ends_b
    parent = parent.copy()
    while True:
        root_a = parent[a]
        root_b = parent[b]
        apart = root_a != root_b
        if not apart.any():
            return parent
        a, b, root_a, root_b = a[apart], b[apart], root_a[apart], root_b[apart]
        np.minimum.at(parent, np.maximum(root_a, root_b), np.minimum(root_a, root_b))
        while True:
            hop = parent[parent]
            if np.array_equal(hop, parent):
                break
            parent = hop


def _spanning_forest(
    parent: IntArray, ends_a: IntArray, ends_b: IntArray, rank: IntArray
) -> IntArray:
    """The ranks of the edges Kruskal's algorithm takes, lowest rank first, from ``parent``.

    Borůvka's rounds: every component takes its lowest-ranked edge to another component (with
    distinct ranks that edge is in the one minimum spanning forest), and the taken edges join
    the components; each round at least halves the number of components with edges left.
    """
    taken: list[IntArray] = []
    a, b = ends_a, ends_b
    while a.size:
        root_a = parent[a]
        root_b = parent[b]
        apart = root_a != root_b
        a, b, rank, root_a, root_b = a[apart], b[apart], rank[apart], root_a[apart], root_b[apart]
        if not a.size:
            break
        lowest = np.full(parent.size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(lowest, root_a, rank)
        np.minimum.at(lowest, root_b, rank)
        take = (lowest[root_a] == rank) | (lowest[root_b] == rank)
        taken.append(rank[take])
        parent = _join(parent, root_a[take], root_b[take])
    return np.concatenate(taken) if taken else np.zeros(0, dtype=np.int64)


def _partners(parent: list[int], cannots: list[tuple[int, int]]) -> list[_Partners | None]:
    """Per root, the roots it may not join, each with one cannot_link pair as the witness.

    Raises:
        InvalidInput: ``must_link`` already joined both records of a cannot_link pair.
    """
    partners: list[_Partners | None] = [None] * len(parent)
    for a, b in cannots:
        ra, rb = _find(parent, a), _find(parent, b)
        if ra == rb:
            raise InvalidInput(
                f"must_link joins records {a} and {b}, but cannot_link keeps them apart; "
                "drop one of the two constraints",
                field="must_link",
            )
        for root, other in ((ra, rb), (rb, ra)):
            known = partners[root]
            if known is None:
                partners[root] = {other: (a, b)}
            else:
                known.setdefault(other, (a, b))
    return partners


def _agglomerate(
    parent: list[int],
    size: list[int],
    lefts: list[int],
    rights: list[int],
    weights: list[float],
    columns: list[tuple[str, list[_Values]]],
    partners: list[_Partners | None] | None,
    limit: int | None,
) -> tuple[list[int], list[Refusal]]:
    """Take the edges in order, refusing those a constraint forbids; the hot loop.

    ``parent`` and ``size`` are the union-find (updated in place) and ``columns`` the values
    of each conflict attribute per root. Finds are inlined with path halving.

    Returns:
        The indices into the edge lists of the accepted edges, and the refusals in order.
    """
    accepted: list[int] = []
    refusals: list[Refusal] = []
    for i, (a, b) in enumerate(zip(lefts, rights, strict=True)):
        ra = a
        up = parent[ra]
        while up != ra:
            top = parent[up]
            parent[ra] = top
            ra = top
            up = parent[ra]
        rb = b
        up = parent[rb]
        while up != rb:
            top = parent[up]
            parent[rb] = top
            rb = top
            up = parent[rb]
        if ra == rb:
            continue

        if partners is not None:
            known = partners[ra]
            if known is not None and rb in known:
                x, y = known[rb]
                detail = f"cannot_link between records {x} and {y}"
                refusals.append(Refusal(a, b, weights[i], CANNOT_LINK, detail))
                continue
        clash = None
        for name, column in columns:
            va = column[ra]
            vb = column[rb]
            if va != vb and va != -1 and vb != -1:
                if type(va) is int and type(vb) is int:
                    clash = f"{name} {va} vs {vb}"
                    break
                if _disjoint(va, vb):
                    clash = f"{name} {_show(va)} vs {_show(vb)}"
                    break
        if clash is not None:
            refusals.append(Refusal(a, b, weights[i], CONFLICT, clash))
            continue
        total = size[ra] + size[rb]
        if limit is not None and total > limit:
            detail = f"cluster would have {total} records (limit {limit})"
            refusals.append(Refusal(a, b, weights[i], TOO_LARGE, detail))
            continue

        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] = total
        accepted.append(i)
        for _, column in columns:
            vb = column[rb]
            if vb != -1:
                va = column[ra]
                if va == -1:
                    column[ra] = vb
                elif va != vb:
                    column[ra] = _merged(va, vb)
        if partners is not None:
            _move_partners(partners, ra, rb)
    return accepted, refusals


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the loop allocates refusals by the million.

    Nothing the loop makes is cyclic, yet collections triggered by the allocations rescan the
    growing refusal list again and again, which costs about as much as the loop itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _frozen(array: _A) -> _A:
    """``array``, made read-only: a result is a record of what happened."""
    array.flags.writeable = False
    return array


def _find(parent: list[int], x: int) -> int:
    """The root of ``x``, halving the path on the way (the edge loop inlines this)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _merged(a: _Values, b: _Values) -> _Values:
    """The values of a cluster made of clusters with values ``a`` and ``b``."""
    if b == -1 or a == b:
        return a
    if a == -1:
        return b
    left = a if isinstance(a, frozenset) else frozenset((a,))
    right = b if isinstance(b, frozenset) else frozenset((b,))
    return left | right


def _disjoint(a: _Values, b: _Values) -> bool:
    """Whether two non-null, unequal value sets share no value."""
    if isinstance(a, int):
        return isinstance(b, int) or a not in b
    if isinstance(b, int):
        return b not in a
    return a.isdisjoint(b)


def _show(values: _Values) -> str:
    """A value set as a reviewer reads it: ``17`` or ``{17, 23}``."""
    if isinstance(values, int):
        return str(values)
    return "{" + ", ".join(str(v) for v in sorted(values)) + "}"


def _move_partners(partners: list[_Partners | None], root: int, gone: int) -> None:
    """Fold the cannot_link partners of ``gone`` into ``root`` and rename it at each partner.

    Each partner entry is renamed when its cluster is absorbed, which with union by size happens
    O(log n) times per record, so the total work is O(constraints * log n).
    """
    moving = partners[gone]
    if moving is None:
        return
    partners[gone] = None
    kept = partners[root]
    if kept is None:
        partners[root] = kept = {}
    for other, witness in moving.items():
        kept.setdefault(other, witness)
        theirs = partners[other]
        assert theirs is not None  # partner maps are symmetric
        del theirs[gone]
        theirs.setdefault(root, witness)


def _canonical_labels(parent: IntArray) -> IntArray:
    """Label every record with the smallest record index of its cluster."""
    roots = parent
    while True:
        hop = roots[roots]
        if np.array_equal(hop, roots):
            break
        roots = hop
    smallest = np.full(roots.size, roots.size, dtype=np.int64)
    np.minimum.at(smallest, roots, np.arange(roots.size, dtype=np.int64))
    return smallest[roots]


def _check_n(n: int) -> int:
    """``n`` as a non-negative int."""
    try:
        if isinstance(n, bool):
            raise TypeError
        count = operator.index(n)
    except TypeError:
        raise InvalidInput(f"n must be an integer, got {n!r}", field="n") from None
    if count < 0:
        raise InvalidInput(f"n must be 0 or more, got {count}", field="n")
    return count


def _check_edges(
    n: int, left: npt.ArrayLike, right: npt.ArrayLike, weight: npt.ArrayLike
) -> tuple[IntArray, IntArray, FloatArray]:
    """The edge arrays as int64, int64, float64, of one length, in range and without NaN."""
    ends: list[IntArray] = []
    for field, raw in (("left", left), ("right", right)):
        array = np.asarray(raw)
        if array.ndim != 1:
            raise InvalidInput(f"{field} must be one-dimensional", field=field)
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise InvalidInput(f"{field} must hold record indices (integers)", field=field)
        ends.append(array.astype(np.int64, copy=False))
    weights = np.asarray(weight, dtype=np.float64)
    if weights.ndim != 1:
        raise InvalidInput("weight must be one-dimensional", field="weight")
    lefts, rights = ends
    if not lefts.size == rights.size == weights.size:
        raise InvalidInput(
            f"left, right and weight must have one length, got "
            f"{lefts.size}, {rights.size} and {weights.size}",
            field="weight",
        )
    for field, array in (("left", lefts), ("right", rights)):
        bad = np.flatnonzero((array < 0) | (array >= n))
        if bad.size:
            raise InvalidInput(
                f"{field}[{bad[0]}] = {array[bad[0]]} is not a record index in 0..{n - 1}",
                field=field,
            )
    nan = np.flatnonzero(np.isnan(weights))
    if nan.size:
        raise InvalidInput(f"weight[{nan[0]}] is NaN; give every edge a weight", field="weight")
    return lefts, rights, weights


def _check_pairs(n: int, pairs: Sequence[tuple[int, int]], field: str) -> list[tuple[int, int]]:
    """Constraint pairs as int tuples of record indices in range."""
    checked: list[tuple[int, int]] = []
    for pair in pairs:
        try:
            a, b = (operator.index(x) for x in pair)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"{field} holds {pair!r}; each entry must be a pair of record indices",
                field=field,
            ) from None
        for x in (a, b):
            if not 0 <= x < n:
                raise InvalidInput(
                    f"{field} pair {(a, b)} names record {x}, not in 0..{n - 1}", field=field
                )
        checked.append((a, b))
    return checked


def _check_conflict_keys(n: int, conflict_keys: Mapping[str, npt.ArrayLike]) -> dict[str, IntArray]:
    """Each conflict attribute as an int64 code per record, -1 for null."""
    codes: dict[str, IntArray] = {}
    for name, raw in conflict_keys.items():
        field = f"conflict_keys.{name}"
        array = np.asarray(raw)
        if array.shape != (n,):
            raise InvalidInput(
                f"conflict key {name!r} must have one code per record ({n}), "
                f"got shape {array.shape}",
                field=field,
            )
        if n and not np.issubdtype(array.dtype, np.integer):
            raise InvalidInput(
                f"conflict key {name!r} must hold integer codes (-1 for null)", field=field
            )
        column = array.astype(np.int64, copy=False)
        if n and column.min() < -1:
            raise InvalidInput(
                f"conflict key {name!r} has code {column.min()}; codes are >= 0, -1 for null",
                field=field,
            )
        codes[name] = column
    return codes


def _check_limit(max_cluster_size: int | None) -> int | None:
    """The size limit as a positive int, or ``None``."""
    if max_cluster_size is None:
        return None
    if isinstance(max_cluster_size, bool) or not isinstance(max_cluster_size, int | np.integer):
        raise InvalidInput(
            f"max_cluster_size must be an integer, got {max_cluster_size!r}",
            field="max_cluster_size",
        )
    if max_cluster_size < 1:
        raise InvalidInput(
            f"max_cluster_size must be 1 or more, got {max_cluster_size}",
            field="max_cluster_size",
        )
    return int(max_cluster_size)
