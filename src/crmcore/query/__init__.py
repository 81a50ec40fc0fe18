"""The one filter, sort and page language of crmcore.

Repositories, policies and segments all speak it. A filter is a small tree of
immutable nodes; build it with :func:`field` and Python operators::

    from crmcore.query import field as f
    where = (f("last_name") == "张") & (f("created_at") >= since) & f("tags").has("vip")

or with the functions (:func:`eq`, :func:`in_`, :func:`all_of`...), or from
keyword arguments with :func:`where`. Filters are plain data (hashable,
comparable, convertible with :func:`to_dict` / :func:`from_dict`), so a segment
or a policy can store one.

Semantics (every adapter gives the same answer):

- ``eq``/``ne`` are null-safe: ``eq(f, None)`` matches missing values and
  ``ne(f, "x")`` matches rows where the field is missing;
- ordering comparisons, ``in_``, ``contains``, ``startswith`` and ``has`` never
  match a missing value (``in_`` does when ``None`` is among its values);
- ``not_`` is the exact complement (two-valued logic, unlike raw SQL);
- strings compare by code point; ``ignore_case`` compares ``str.lower()``;
- a ``custom.<name>`` field matches only values of the same JSON kind as the
  filter value (a number filter never matches a stored string);
- ordering puts missing values first when ascending and last when descending;
  every ordering ends with ``id`` so ties are broken the same way everywhere;
- keyset cursors (:class:`Page.next_cursor`) never skip or repeat a row, even
  when rows are inserted between pages.

Names only storage adapters need (filter node classes, the evaluator, sort keys
and cursors) live in :mod:`crmcore.query.adapter`; they stay importable from
here too.
"""

from __future__ import annotations

from crmcore.query._binding import (
    resolve_times,
)
from crmcore.query._builders import (
    FieldRef as FieldRef,
)
from crmcore.query._builders import (
    eq,
    field,
    ge,
    gt,
    has,
    in_,
    is_null,
    le,
    lt,
    ne,
    related,
    where,
)
from crmcore.query._codec import (
    MAX_FILTER_DEPTH,
    from_dict,
    to_dict,
)
from crmcore.query._nodes import (
    FALSE,
    TRUE,
    Filter,
    all_of,
    any_of,
    not_,
)
from crmcore.query._order import (
    Sort,
    asc,
    desc,
)
from crmcore.query._page import (
    MAX_LIMIT,
    Page,
)
from crmcore.query._values import (
    Ago,
    ago,
)
from crmcore.query._values import (
    CompareOp as CompareOp,
)

# the adapter writer's names, still importable from crmcore.query
from crmcore.query.adapter import (
    And as And,
)
from crmcore.query.adapter import (
    Compare as Compare,
)
from crmcore.query.adapter import (
    Const as Const,
)
from crmcore.query.adapter import (
    Contains as Contains,
)
from crmcore.query.adapter import (
    Has as Has,
)
from crmcore.query.adapter import (
    In as In,
)
from crmcore.query.adapter import (
    IsNull as IsNull,
)
from crmcore.query.adapter import (
    Not as Not,
)
from crmcore.query.adapter import (
    Or as Or,
)
from crmcore.query.adapter import (
    OrderSpec as OrderSpec,
)
from crmcore.query.adapter import (
    Related as Related,
)
from crmcore.query.adapter import (
    RelatedCounts as RelatedCounts,
)
from crmcore.query.adapter import (
    StartsWith as StartsWith,
)
from crmcore.query.adapter import (
    bind as bind,
)
from crmcore.query.adapter import (
    canonical as canonical,
)
from crmcore.query.adapter import (
    check_limit as check_limit,
)
from crmcore.query.adapter import (
    check_order as check_order,
)
from crmcore.query.adapter import (
    compare_keys as compare_keys,
)
from crmcore.query.adapter import (
    compile_predicate as compile_predicate,
)
from crmcore.query.adapter import (
    decode_cursor as decode_cursor,
)
from crmcore.query.adapter import (
    encode_cursor as encode_cursor,
)
from crmcore.query.adapter import (
    field_names as field_names,
)
from crmcore.query.adapter import (
    getter as getter,
)
from crmcore.query.adapter import (
    native_key as native_key,
)
from crmcore.query.adapter import (
    normalize_order as normalize_order,
)
from crmcore.query.adapter import (
    related_nodes as related_nodes,
)
from crmcore.query.adapter import (
    same_kind as same_kind,
)
from crmcore.query.adapter import (
    sort_key_values as sort_key_values,
)
from crmcore.query.adapter import (
    sort_records as sort_records,
)
from crmcore.query.adapter import (
    value_kind as value_kind,
)

__all__ = [
    "FALSE",
    "MAX_FILTER_DEPTH",
    "MAX_LIMIT",
    "TRUE",
    "Ago",
    "Filter",
    "Page",
    "Sort",
    "ago",
    "all_of",
    "any_of",
    "asc",
    "bind",
    "desc",
    "eq",
    "field",
    "from_dict",
    "ge",
    "gt",
    "has",
    "in_",
    "is_null",
    "le",
    "lt",
    "ne",
    "not_",
    "related",
    "resolve_times",
    "to_dict",
    "where",
]
