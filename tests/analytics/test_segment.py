"""Segmentation: k-means chosen by silhouette, DBSCAN noise, profiles in words; baskets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import association_rules, fpgrowth
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from crmcore.analytics import basket_rules, cluster_customers, density_clusters
from crmcore.errors import ConfigurationError


def blobs(seed: int = 0, n: int = 120) -> pd.DataFrame:
    """Three customer groups: loyal big spenders, lapsed small buyers, new mid buyers."""
    rng = np.random.default_rng(seed)
    groups = [
        ("loyal", 5.0, 20.0, 5000.0),
        ("lapsed", 300.0, 2.0, 60.0),
        ("middle", 40.0, 6.0, 600.0),
    ]
    rows = []
    for name, recency, frequency, monetary in groups:
        for _ in range(n):
            rows.append(
                {
                    "group": name,
                    "recency_days": recency * rng.lognormal(0, 0.15),
                    "frequency": frequency * rng.lognormal(0, 0.15),
                    "monetary": monetary * rng.lognormal(0, 0.15),
                }
            )
    return pd.DataFrame(rows)


FEATURES = ["recency_days", "frequency", "monetary"]


def test_kmeans_picks_k_by_silhouette_and_names_the_groups() -> None:
    data = blobs()
    result = cluster_customers(data[FEATURES], k=range(2, 7), seed=0)
    assert result.k == 3
    assert list(result.evidence.index) == [2, 3, 4, 5, 6]
    assert result.evidence["silhouette"].idxmax() == 3
    assert result.evidence.loc[3, "chosen"]
    # every true group lands in one cluster
    crosstab = pd.crosstab(data["group"], result.frame["cluster"])
    assert (crosstab.gt(0).sum(axis=1) == 1).all()
    words = {
        g: result.profiles.loc[
            int(result.frame.loc[data["group"] == g, "cluster"].iloc[0]), "description"
        ]
        for g in ("loyal", "lapsed", "middle")
    }
    for word in ("recent", "frequent", "high spend"):
        assert word in words["loyal"].split(", ")
    for word in ("lapsed", "infrequent", "low spend"):
        assert word in words["lapsed"].split(", ")
    assert result.profiles["customers"].sum() == len(data)


def test_kmeans_evidence_equals_sklearn_directly() -> None:
    data = blobs(1)[FEATURES]
    result = cluster_customers(data, k=[2, 3, 4], seed=5)
    z = np.log1p(data.to_numpy(float))
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    for k in (2, 3, 4):
        direct = KMeans(n_clusters=k, n_init=4, random_state=5).fit(z)
        assert result.evidence.loc[k, "inertia"] == pytest.approx(direct.inertia_)
        assert result.evidence.loc[k, "silhouette"] == pytest.approx(
            silhouette_score(z, direct.labels_)
        )
    chosen = KMeans(n_clusters=result.k, n_init=4, random_state=5).fit(z)
    np.testing.assert_array_equal(result.frame["cluster"].to_numpy(), chosen.labels_)


def test_dbscan_marks_outliers_as_noise() -> None:
    data = blobs(2, n=80)[FEATURES]
    outliers = pd.DataFrame(
        {"recency_days": [2000.0, 1.0], "frequency": [500.0, 0.01], "monetary": [1e7, 0.5]}
    )
    both = pd.concat([data, outliers], ignore_index=True)
    result = density_clusters(both, eps=0.5, min_samples=5)
    assert result.k == 3
    assert (result.frame["cluster"].iloc[-2:] == -1).all()
    assert result.profiles.loc[-1, "description"].startswith("noise")
    assert result.evidence.loc[0, "clusters"] == 3


def test_clustering_refuses_bad_input() -> None:
    with pytest.raises(ConfigurationError):
        cluster_customers(blobs()[FEATURES], k=[1])
    with pytest.raises(ConfigurationError):
        cluster_customers(pd.DataFrame({"a": [1.0, None, 2.0, 3.0]}))


BASKETS = [
    ["Milk", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
    ["Dill", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
    ["Milk", "Apple", "Kidney Beans", "Eggs"],
    ["Milk", "Unicorn", "Corn", "Kidney Beans", "Yogurt"],
    ["Corn", "Onion", "Onion", "Kidney Beans", "Ice cream", "Eggs"],
]


def basket_lines() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"order_id": f"o{i}", "customer_id": f"c{i}", "item": item}
            for i, items in enumerate(BASKETS)
            for item in items
        ]
    )


def test_frequent_itemsets_match_the_mlxtend_documentation() -> None:
    rules = basket_rules(basket_lines(), min_support=0.6, min_confidence=0.8, max_len=None)
    found = {
        frozenset(s): round(v, 6)
        for s, v in zip(rules.itemsets["itemsets"], rules.itemsets["support"], strict=True)
    }
    assert found == {
        frozenset({"Eggs"}): 0.8,
        frozenset({"Kidney Beans"}): 1.0,
        frozenset({"Milk"}): 0.6,
        frozenset({"Onion"}): 0.6,
        frozenset({"Yogurt"}): 0.6,
        frozenset({"Eggs", "Kidney Beans"}): 0.8,
        frozenset({"Eggs", "Onion"}): 0.6,
        frozenset({"Kidney Beans", "Milk"}): 0.6,
        frozenset({"Kidney Beans", "Onion"}): 0.6,
        frozenset({"Kidney Beans", "Yogurt"}): 0.6,
        frozenset({"Eggs", "Kidney Beans", "Onion"}): 0.6,
    }
    assert rules.baskets == 5


def test_rules_equal_mlxtend_directly_and_brute_force_counts() -> None:
    lines = basket_lines()
    ours = basket_rules(lines, min_support=0.4, min_confidence=0.5, max_len=None)
    onehot = pd.crosstab(lines["order_id"], lines["item"]).gt(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = association_rules(
            fpgrowth(onehot, min_support=0.4, use_colnames=True),
            num_itemsets=5,
            metric="confidence",
            min_threshold=0.5,
        )
    key = {
        (tuple(sorted(a)), tuple(sorted(c))): (s, conf, lift)
        for a, c, s, conf, lift in zip(
            direct["antecedents"],
            direct["consequents"],
            direct["support"],
            direct["confidence"],
            direct["lift"],
            strict=True,
        )
    }
    assert len(ours.frame) == len(key) > 0
    sets = [set(b) for b in BASKETS]
    for row in ours.frame.itertuples():
        s, conf, lift = key[(row.antecedents, row.consequents)]
        assert (row.support, row.confidence, row.lift) == pytest.approx((s, conf, lift))
        both = sum(1 for b in sets if set(row.antecedents) | set(row.consequents) <= b)
        ante = sum(1 for b in sets if set(row.antecedents) <= b)
        cons = sum(1 for b in sets if set(row.consequents) <= b)
        assert row.support == pytest.approx(both / 5)
        assert row.confidence == pytest.approx(both / ante)
        assert row.lift == pytest.approx((both / ante) / (cons / 5))
    assert ours.frame["lift"].is_monotonic_decreasing


def test_recommendations_come_from_rules_the_customer_triggers() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for o in range(400):
        items = set(rng.choice(["tea", "cups", "cake", "pen", "ink"], size=2, replace=False))
        if "tea" in items:
            items.add("kettle")
        if "pen" in items and rng.random() < 0.9:
            items.add("paper")
        rows += [{"order_id": f"o{o}", "customer_id": f"c{o % 40}", "item": i} for i in items]
    rows += [{"order_id": "new", "customer_id": "fresh", "item": "pen"}]
    rules = basket_rules(pd.DataFrame(rows), min_support=0.02, min_confidence=0.3)
    also = rules.also_bought("tea")
    assert also.loc[0, "item"] == "kettle" and also.loc[0, "confidence"] == pytest.approx(1.0)
    recs = rules.recommend_for("fresh")
    assert recs.loc[0, "item"] == "paper"
    assert recs.loc[0, "because"] == ("pen",)
    assert "pen" not in set(recs["item"])
    assert recs["confidence"].is_monotonic_decreasing
    assert rules.recommend_for("unknown").empty
    with pytest.raises(ConfigurationError):
        basket_rules(pd.DataFrame(rows), min_support=0)
