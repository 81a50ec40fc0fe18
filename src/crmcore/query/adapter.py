"""The adapter writer's API of the query language.

A storage adapter (or a layer that rewrites queries, such as policy or field
encryption) needs more than a user does: the filter node classes to translate,
the evaluator (:func:`compile_predicate`) to run what it cannot translate, the
sort-key and keyset-cursor helpers that make every adapter page identically,
and the checks (:func:`bind`, :func:`check_order`, :func:`check_limit`) every
``find`` applies. Users build filters with :mod:`crmcore.query`; these names
are public and stable for adapter writers (see docs/storage-adapter.md).
"""

from __future__ import annotations

from crmcore.query._binding import (
    bind,
    check_order,
)
from crmcore.query._evaluate import (
    canonical,
    compile_predicate,
    getter,
    same_kind,
    value_kind,
)
from crmcore.query._nodes import (
    And,
    Compare,
    Const,
    Contains,
    Has,
    In,
    IsNull,
    Not,
    Or,
    Related,
    RelatedCounts,
    StartsWith,
    field_names,
    related_nodes,
)
from crmcore.query._order import (
    OrderSpec,
    normalize_order,
)
from crmcore.query._page import (
    check_limit,
    decode_cursor,
    encode_cursor,
)
from crmcore.query._sorting import (
    compare_keys,
    native_key,
    sort_key_values,
    sort_records,
)

__all__ = [
    "And",
    "Compare",
    "Const",
    "Contains",
    "Has",
    "In",
    "IsNull",
    "Not",
    "Or",
    "OrderSpec",
    "Related",
    "RelatedCounts",
    "StartsWith",
    "bind",
    "canonical",
    "check_limit",
    "check_order",
    "compare_keys",
    "compile_predicate",
    "decode_cursor",
    "encode_cursor",
    "field_names",
    "getter",
    "native_key",
    "normalize_order",
    "related_nodes",
    "same_kind",
    "sort_key_values",
    "sort_records",
    "value_kind",
]
