"""Market-basket rules over order lines (mlxtend FP-growth) and recommendations.

"Customers who bought X also bought Y": :func:`basket_rules` finds frequent
itemsets among orders with ``fpgrowth`` and turns them into rules with
``association_rules`` (support, confidence, lift); :meth:`BasketRules.recommend_for`
ranks, for one customer, the items that rules fire on from what that
customer already bought.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from crmcore.analytics._result import AnalyticsResult, axes
from crmcore.analytics._rfm import _check_columns
from crmcore.errors import ConfigurationError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["BasketRules", "basket_rules"]

_RULE_COLUMNS = [
    "antecedents",
    "consequents",
    "support",
    "confidence",
    "lift",
    "leverage",
    "antecedent support",
    "consequent support",
]


class BasketRules(AnalyticsResult):
    """Association rules between items bought in the same order.

    ``frame``: one rule per row, ``antecedents`` and ``consequents`` as
    sorted tuples of items, ``support``, ``confidence``, ``lift``,
    ``leverage``, ``antecedent support``, ``consequent support``; sorted by
    lift then confidence. ``itemsets``: the frequent itemsets (``support``,
    ``itemsets`` as frozensets). ``baskets``: number of orders.
    """

    title = "Association rules"
    description = "Items bought in the same order, from FP-growth frequent itemsets."
    columns = MappingProxyType(
        {
            "antecedents": "items bought (sorted tuple)",
            "consequents": "items bought with them (sorted tuple)",
            "support": "share of orders with both",
            "confidence": "share of the orders with the antecedents that have the consequents",
            "lift": "confidence / consequent support: above 1, bought together more than by chance",
            "leverage": "support minus the support expected if independent",
            "antecedent support": "share of orders with the antecedents",
            "consequent support": "share of orders with the consequents",
        }
    )

    def __init__(
        self,
        frame: pd.DataFrame,
        itemsets: pd.DataFrame,
        bought: dict[str, frozenset[str]],
        baskets: int,
    ) -> None:
        self.frame = frame
        self.itemsets = itemsets
        self.baskets = baskets
        self._bought = bought

    def also_bought(self, item: str, n: int = 5) -> pd.DataFrame:
        """Items bought with ``item``: rules ``{item} -> {Y}``, best confidence first."""
        f = self.frame
        rows = f[f["antecedents"].map(lambda a: a == (item,)) & (f["consequents"].map(len) == 1)]
        out = rows.assign(item=rows["consequents"].map(lambda c: c[0]))
        out = out.sort_values(["confidence", "lift"], ascending=False)
        return out[["item", "confidence", "lift", "support"]].head(n).reset_index(drop=True)

    def recommend_for(self, customer_id: object, n: int = 5) -> pd.DataFrame:
        """Items to suggest to a customer, from the rules their purchases trigger.

        A rule fires when all its antecedents are among the customer's bought
        items; its consequents that the customer has not bought are
        candidates. Each item keeps its best rule (highest confidence, then
        lift).

        Returns:
            Columns ``item``, ``confidence``, ``lift``, ``because`` (the
            antecedents of the rule); empty for an unknown customer.
        """
        import pandas as pd

        bought = self._bought.get(str(customer_id), frozenset())
        best: dict[str, tuple[float, float, tuple[str, ...]]] = {}
        for ante, cons, conf, lift in zip(
            self.frame["antecedents"],
            self.frame["consequents"],
            self.frame["confidence"],
            self.frame["lift"],
            strict=True,
        ):
            if not bought.issuperset(ante):
                continue
            for item in cons:
                if item in bought:
                    continue
                score = (float(conf), float(lift), ante)
                if item not in best or score[:2] > best[item][:2]:
                    best[item] = score
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:n]
        return pd.DataFrame(
            [{"item": i, "confidence": c, "lift": li, "because": a} for i, (c, li, a) in ranked],
            columns=["item", "confidence", "lift", "because"],
        )

    def _summary(self) -> str:
        if self.frame.empty:
            return f"no rules over {self.baskets} orders"
        top = self.frame.iloc[0]
        return (
            f"{len(self.frame)} rules over {self.baskets} orders; top "
            f"{' + '.join(top['antecedents'])} -> {' + '.join(top['consequents'])} "
            f"(lift {top['lift']:.2f})"
        )

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Support vs confidence of every rule, coloured by lift."""
        ax = axes(ax)
        points = ax.scatter(
            self.frame["support"], self.frame["confidence"], c=self.frame["lift"], **kwargs
        )
        ax.figure.colorbar(points, ax=ax, label="lift")
        ax.set_xlabel("support")
        ax.set_ylabel("confidence")
        ax.set_title("Basket rules")
        return ax


def basket_rules(
    lines: pd.DataFrame,
    *,
    min_support: float = 0.01,
    min_confidence: float = 0.2,
    max_len: int | None = 3,
    basket: str = "order_id",
    item: str = "item",
    customer: str = "customer_id",
) -> BasketRules:
    """Frequent itemsets (FP-growth) and association rules over order lines.

    Args:
        lines: one row per order line (as ``read_order_lines``): a basket id,
            an item and (for recommendations) a customer id.
        min_support: least share of orders an itemset must appear in.
        min_confidence: least confidence of a rule.
        max_len: largest itemset size (None: no limit).
        basket, item, customer: column names.

    Returns:
        :class:`BasketRules`.

    Raises:
        ConfigurationError: a threshold outside (0, 1].
        ValidationError: a column is missing.
    """
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    if not (0 < min_support <= 1 and 0 < min_confidence <= 1):
        raise ConfigurationError("min_support and min_confidence must lie in (0, 1]")
    need = [basket, item] + ([customer] if customer in lines.columns else [])
    _check_columns(lines, need[:2], "basket_rules")
    data = lines[need].dropna(subset=[basket, item]).astype({item: str, basket: str})
    bought: dict[str, frozenset[str]] = {}
    if customer in data.columns:
        known = data.dropna(subset=[customer])
        for cid, items in known.groupby(known[customer].astype(str))[item]:
            bought[str(cid)] = frozenset(items)
    baskets = int(data[basket].nunique())
    empty = pd.DataFrame(columns=_RULE_COLUMNS)
    if baskets == 0:
        return BasketRules(empty, pd.DataFrame(columns=["support", "itemsets"]), bought, 0)
    onehot = pd.crosstab(data[basket], data[item]).gt(0)
    onehot.columns = [str(c) for c in onehot.columns]
    itemsets = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
    if itemsets.empty or itemsets["itemsets"].map(len).max() < 2:
        return BasketRules(empty, itemsets, bought, baskets)
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):  # mlxtend's extra metrics divide by 0
        rules = association_rules(
            itemsets, num_itemsets=baskets, metric="confidence", min_threshold=min_confidence
        )
    rules["antecedents"] = rules["antecedents"].map(lambda s: tuple(sorted(s)))
    rules["consequents"] = rules["consequents"].map(lambda s: tuple(sorted(s)))
    rules = (
        rules[_RULE_COLUMNS]
        .sort_values(["lift", "confidence", "support"], ascending=False)
        .reset_index(drop=True)
    )
    return BasketRules(rules, itemsets, bought, baskets)
