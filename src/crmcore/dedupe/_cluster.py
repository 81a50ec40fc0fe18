"""The cluster stage: pairs above the match threshold into groups of duplicates.

Connected components of the match edges alone would chain: ``A~B`` and
``B~C`` put ``A`` and ``C`` together even when ``A`` and ``C`` were compared
and disagree outright (different national ids, different birth dates). So
components of three or more records are re-clustered by greedy average
linkage on match weights:

* every record starts alone; match edges are taken strongest first (ties by
  position, so the result is deterministic);
* two groups merge only if the mean match weight over every *compared* pair
  between them (including pairs below the threshold) is still at or above the
  match threshold; pairs never compared (no shared blocking key) carry no
  evidence either way.

A weak third link therefore cannot glue two groups together against explicit
disagreement, while a group whose members all agree stays whole.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["Clusterer", "average_linkage_clusters", "connected_components"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: (n records, left, right, match weight per pair, threshold weight) -> groups of positions.
Clusterer = Callable[[int, IntArray, IntArray, FloatArray, float], list[list[int]]]


def connected_components(n: int, left: IntArray, right: IntArray) -> IntArray:
    """Component label per record (the smallest member position), by union-find."""
    parent = np.arange(n, dtype=np.int64)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = int(parent[root])
        while parent[x] != root:
            nxt = int(parent[x])
            parent[x] = root
            x = nxt
        return root

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    return np.fromiter((find(i) for i in range(n)), dtype=np.int64, count=n)


def _components_of_edges(left: IntArray, right: IntArray) -> list[list[int]]:
    """Components (sorted member lists) of the graph given by edges only."""
    if left.size == 0:
        return []
    nodes = np.unique(np.concatenate([left, right]))
    local_l = np.searchsorted(nodes, left)
    local_r = np.searchsorted(nodes, right)
    labels = connected_components(int(nodes.size), local_l, local_r)
    order = np.lexsort((nodes, labels))
    labels_sorted = labels[order]
    starts = np.flatnonzero(np.r_[True, labels_sorted[1:] != labels_sorted[:-1]])
    groups = np.split(nodes[order], starts[1:])
    return [g.tolist() for g in groups]


def _average_linkage(
    members: list[int],
    left: IntArray,
    right: IntArray,
    weight: FloatArray,
    threshold: float,
) -> list[list[int]]:
    """Greedy average linkage inside one component (see module docstring)."""
    cluster_of = {m: m for m in members}
    groups: dict[int, list[int]] = {m: [m] for m in members}
    # links[c] = {other cluster: [sum of weights, number of compared pairs]}
    links: dict[int, dict[int, list[float]]] = {m: {} for m in members}
    for a, b, w in zip(left.tolist(), right.tolist(), weight.tolist(), strict=True):
        links[a][b] = [w, 1.0]
        links[b][a] = [w, 1.0]
    order = sorted(
        (i for i in range(len(weight)) if weight[i] >= threshold),
        key=lambda i: (-float(weight[i]), int(left[i]), int(right[i])),
    )
    for i in order:
        ca, cb = cluster_of[int(left[i])], cluster_of[int(right[i])]
        if ca == cb:
            continue
        total, count = links[ca].get(cb, [0.0, 0.0])
        if count == 0 or total / count < threshold:
            continue
        # merge the smaller group into the larger (ties: into the smaller id)
        if (len(groups[ca]), -ca) < (len(groups[cb]), -cb):
            ca, cb = cb, ca
        for m in groups[cb]:
            cluster_of[m] = ca
        groups[ca].extend(groups.pop(cb))
        del links[ca][cb]
        for other, (t, c) in links.pop(cb).items():
            if other == ca:
                continue
            link = links[ca].setdefault(other, [0.0, 0.0])
            link[0] += t
            link[1] += c
            back = links[other]
            del back[cb]
            back[ca] = link
    return [sorted(g) for g in groups.values()]


def average_linkage_clusters(
    n: int, left: IntArray, right: IntArray, weight: FloatArray, threshold: float
) -> list[list[int]]:
    """Groups of two or more records that are duplicates of each other.

    Args:
        n: number of records.
        left: first record of each compared pair.
        right: second record of each compared pair.
        weight: match weight of each pair.
        threshold: the match threshold as a match weight.

    Returns:
        Sorted lists of record positions, sorted by their first member.
    """
    strong = weight >= threshold
    comps = _components_of_edges(left[strong], right[strong])
    labels = np.full(n, -1, dtype=np.int64)
    big = [c for c in comps if len(c) > 2]
    for i, comp in enumerate(big):
        labels[np.asarray(comp, dtype=np.int64)] = i
    out: list[list[int]] = [c for c in comps if len(c) == 2]
    lab = labels[left]
    inside = np.flatnonzero((lab >= 0) & (lab == labels[right]))
    order = inside[np.argsort(lab[inside], kind="stable")]
    bounds = np.searchsorted(lab[order], np.arange(len(big) + 1))
    for i, comp in enumerate(big):
        sel = order[bounds[i] : bounds[i + 1]]
        for group in _average_linkage(comp, left[sel], right[sel], weight[sel], threshold):
            if len(group) >= 2:
                out.append(group)
    out.sort(key=lambda g: g[0])
    return out
