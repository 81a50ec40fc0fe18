"""Clustering: groups of duplicates without chaining through one weak link."""
# ruff: noqa: SIM300

from __future__ import annotations

from typing import Any

import numpy as np

from crmcore.dedupe import average_linkage_clusters, find_duplicates


def _arrays(edges: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    left = np.array([a for a, _, _ in edges], dtype=np.int64)
    right = np.array([b for _, b, _ in edges], dtype=np.int64)
    weight = np.array([w for _, _, w in edges], dtype=np.float64)
    return left, right, weight


def test_conflicting_evidence_breaks_a_chain() -> None:
    # A~B and B~C are strong; A and C were compared and disagree outright
    left, right, weight = _arrays([(0, 1, 20.0), (1, 2, 18.0), (0, 2, -40.0)])
    assert [[0, 1]] == average_linkage_clusters(3, left, right, weight, 3.0)


def test_a_group_that_agrees_stays_whole() -> None:
    left, right, weight = _arrays([(0, 1, 20.0), (1, 2, 18.0), (0, 2, 2.0), (3, 4, 9.0)])
    assert [[0, 1, 2], [3, 4]] == average_linkage_clusters(5, left, right, weight, 3.0)


def test_pairs_never_compared_carry_no_evidence() -> None:
    # 0-2 share no blocking key: the chain 0-1-2 holds
    left, right, weight = _arrays([(0, 1, 12.0), (1, 2, 12.0)])
    assert [[0, 1, 2]] == average_linkage_clusters(3, left, right, weight, 3.0)


def test_two_groups_joined_by_one_weak_bridge_stay_apart() -> None:
    edges = [(0, 1, 20.0), (0, 2, 20.0), (1, 2, 20.0), (3, 4, 20.0), (3, 5, 20.0), (4, 5, 20.0)]
    edges += [(2, 3, 4.0), (1, 3, -10.0), (2, 4, -10.0), (0, 5, -12.0)]
    left, right, weight = _arrays(edges)
    assert [[0, 1, 2], [3, 4, 5]] == average_linkage_clusters(6, left, right, weight, 3.0)


def test_a_sparse_record_does_not_chain_two_people(
    small: tuple[list[dict[str, Any]], dict[str, int]],
) -> None:
    # B (name, e-mail, phone) is the same person as A by e-mail and as C by
    # phone; A and C disagree on national id, birth date, e-mail and address.
    people = [
        {
            "id": "A",
            "full_name": "李娜",
            "email": "lina1990@qq.com",
            "national_id": "110101199003074514",
            "date_of_birth": "1990-03-07",
            "address": "朝阳区人民路1号3栋201室",
            "city": "北京",
        },
        {"id": "B", "full_name": "Li Na", "email": "LiNa1990@qq.com", "phone": "13800138000"},
        {
            "id": "C",
            "full_name": "李娜",
            "phone": "138-0013-8000",
            "national_id": "440301195501012345",
            "email": "na.li55@163.com",
            "date_of_birth": "1955-01-01",
            "address": "南山区科技路9号",
            "city": "深圳",
        },
    ]
    result = find_duplicates(small[0] + people)
    pairs = result.pair_ids()
    assert ("A", "B") in pairs
    assert ("B", "C") in pairs
    assert ("A", "C") not in pairs
    together = [c.ids for c in result.clusters if {"A", "B", "C"} & set(c.ids)]
    assert 1 == len(together)
    assert not {"A", "C"} <= set(together[0])
