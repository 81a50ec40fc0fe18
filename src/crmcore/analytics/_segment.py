"""Behavioural segmentation: k-means with k chosen by silhouette, DBSCAN, profiles in words.

Features (RFM, :func:`~crmcore.analytics.customer_features` or any numeric
columns) are transformed before clustering: ``log1p`` on columns that are
never negative (spend and counts are skewed), then standardised to mean 0,
standard deviation 1. Profiles describe each cluster by the features whose
cluster mean lies at least ``0.5`` standard deviations from the overall
mean: ``"high spend, recent, frequent"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from crmcore.analytics._result import AnalyticsResult, axes
from crmcore.analytics._rfm import _check_columns
from crmcore.errors import ConfigurationError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["PROFILE_WORDS", "CustomerClusters", "cluster_customers", "density_clusters"]

#: (word for a low value, word for a high value) per known feature
PROFILE_WORDS: Mapping[str, tuple[str, str]] = {
    "recency_days": ("recent", "lapsed"),
    "frequency": ("infrequent", "frequent"),
    "monetary": ("low spend", "high spend"),
    "tenure_days": ("new", "long-standing"),
    "tickets": ("few tickets", "many tickets"),
    "csat": ("unhappy", "satisfied"),
    "engagement": ("unengaged", "engaged"),
}

_THRESHOLD = 0.5
_SILHOUETTE_SAMPLE = 5000


def _prepare(
    features: pd.DataFrame, columns: Sequence[str] | None, log: bool
) -> tuple[list[str], npt.NDArray[np.float64]]:
    import numpy as np

    names = [str(c) for c in (columns or features.columns)]
    _check_columns(features, names, "clustering")
    if len(features) < 3:
        raise ConfigurationError("clustering needs at least 3 customers")
    x = features[names].to_numpy(dtype="float64", copy=True)
    if np.isnan(x).any():
        raise ConfigurationError("clustering features contain missing values: fill them first")
    if log:
        nonneg = (x >= 0).all(axis=0)
        x[:, nonneg] = np.log1p(x[:, nonneg])
    spread = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return names, z


def _describe(z_means: Mapping[str, float]) -> str:
    words = []
    for name, value in sorted(z_means.items(), key=lambda kv: -abs(kv[1])):
        if abs(value) < _THRESHOLD:
            continue
        low, high = PROFILE_WORDS.get(name, (f"low {name}", f"high {name}"))
        words.append(high if value > 0 else low)
    return ", ".join(words) if words else "average on every count"


class CustomerClusters(AnalyticsResult):
    """Clusters of customers with the evidence for them.

    ``frame``: the features plus ``cluster`` (-1 is DBSCAN noise).
    ``profiles``: per cluster ``customers``, ``share``, the mean of each
    feature (original units) and ``description`` in words. ``evidence``: for
    k-means one row per k tried with ``silhouette`` and ``inertia``; for
    DBSCAN one row with ``clusters``, ``noise_share`` and ``silhouette``
    (over non-noise points). ``k`` is the number of clusters found.
    """

    title = "Customer clusters"
    description = (
        "Customers grouped by their scaled features; see profiles and evidence for the choice."
    )
    columns = MappingProxyType(
        {
            "cluster": "the cluster of the row (-1: DBSCAN noise); the other columns: the features",
        }
    )

    def __init__(
        self,
        frame: pd.DataFrame,
        scaled: npt.NDArray[np.float64],
        features: list[str],
        evidence: pd.DataFrame,
        method: str,
    ) -> None:
        import pandas as pd

        self.frame = frame
        self.features = features
        self.evidence = evidence
        self.method = method
        labels = frame["cluster"].to_numpy()
        self.k = len({int(v) for v in labels if v >= 0})
        rows = []
        for label in sorted({int(v) for v in labels}):
            mask = labels == label
            z = dict(zip(features, scaled[mask].mean(axis=0).tolist(), strict=True))
            row: dict[str, Any] = {
                "cluster": label,
                "customers": int(mask.sum()),
                "share": float(mask.mean()),
            }
            row.update(frame.loc[mask, features].mean().to_dict())
            row["description"] = "noise (no dense group)" if label < 0 else _describe(z)
            rows.append(row)
        self.profiles = pd.DataFrame(rows).set_index("cluster")

    detail_caption = "Per customer"

    def summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        """The cluster profiles (in words) and the evidence for k, before the rows."""
        return [("Cluster profiles", self.profiles), ("Evidence", self.evidence)]

    def _summary(self) -> str:
        kept = self.profiles[self.profiles.index >= 0]
        parts = [f"{i}: {d}" for i, d in kept["description"].head(4).items()]
        return f"{self.method}, {self.k} clusters; " + "; ".join(parts)

    def plot(
        self, ax: Axes | None = None, *, x: str | None = None, y: str | None = None, **kwargs: Any
    ) -> Axes:
        """Scatter of two features (default the first two) coloured by cluster."""
        ax = axes(ax)
        cx = x or self.features[0]
        cy = y or self.features[1 if len(self.features) > 1 else 0]
        for label, rows in self.frame.groupby("cluster", sort=True):
            ax.scatter(rows[cx], rows[cy], s=kwargs.pop("s", 8), label=f"cluster {label}", **kwargs)
        ax.set_xlabel(cx)
        ax.set_ylabel(cy)
        ax.set_title(f"Customer clusters ({self.method})")
        ax.legend()
        return ax


def cluster_customers(
    features: pd.DataFrame,
    *,
    k: int | Iterable[int] = range(2, 9),
    columns: Sequence[str] | None = None,
    log: bool = True,
    seed: int = 0,
) -> CustomerClusters:
    """k-means over scaled features, choosing k by the best silhouette score.

    Args:
        features: one row per customer, numeric columns.
        k: one k, or the candidates to try (each must be < number of rows).
        columns: the columns to use (default all).
        log: apply ``log1p`` to never-negative columns before scaling.
        seed: seeds k-means and the silhouette sample (over 5,000 rows the
            silhouette is computed on a seeded sample of 5,000).

    Returns:
        :class:`CustomerClusters`; ``evidence`` lists every k tried.

    Raises:
        ConfigurationError: no valid k, too few rows, missing values.
    """
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    names, z = _prepare(features, columns, log)
    candidates = sorted({k} if isinstance(k, int) else set(k))
    candidates = [c for c in candidates if 2 <= c < len(z)]
    if not candidates:
        raise ConfigurationError(f"no k to try between 2 and {len(z) - 1}")
    sample = min(len(z), _SILHOUETTE_SAMPLE)
    rows, fits = [], {}
    for c in candidates:
        model = KMeans(n_clusters=c, n_init=4, random_state=seed).fit(z)
        labels = model.labels_
        score = (
            float(silhouette_score(z, labels, sample_size=sample, random_state=seed))
            if len(set(labels)) > 1
            else float("nan")
        )
        rows.append({"k": c, "silhouette": score, "inertia": float(model.inertia_)})
        fits[c] = labels
    evidence = pd.DataFrame(rows).set_index("k")
    best = int(evidence["silhouette"].fillna(-2.0).idxmax())
    evidence["chosen"] = evidence.index == best
    frame = features[names].copy()
    frame["cluster"] = fits[best].astype("int64")
    return CustomerClusters(frame, z, names, evidence, "k-means")


def density_clusters(
    features: pd.DataFrame,
    *,
    eps: float = 0.5,
    min_samples: int = 10,
    columns: Sequence[str] | None = None,
    log: bool = True,
) -> CustomerClusters:
    """DBSCAN over the same scaled features; ``cluster`` -1 marks noise.

    Args:
        eps: neighbourhood radius in standard deviations.
        min_samples: points within ``eps`` for a core point.
    """
    import numpy as np
    import pandas as pd
    from sklearn.cluster import DBSCAN
    from sklearn.metrics import silhouette_score

    names, z = _prepare(features, columns, log)
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit(z).labels_
    kept = labels >= 0
    found = len(set(labels[kept].tolist()))
    sil = float("nan")
    if found > 1:
        sample = min(int(kept.sum()), _SILHOUETTE_SAMPLE)
        sil = float(silhouette_score(z[kept], labels[kept], sample_size=sample, random_state=0))
    evidence = pd.DataFrame(
        [
            {
                "eps": eps,
                "min_samples": min_samples,
                "clusters": found,
                "noise_share": float(np.mean(~kept)),
                "silhouette": sil,
            }
        ]
    )
    frame = features[names].copy()
    frame["cluster"] = labels.astype("int64")
    return CustomerClusters(frame, z, names, evidence, "DBSCAN")
