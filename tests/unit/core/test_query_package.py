"""The query package: user names in crmcore.query, adapter names in crmcore.query.adapter."""

from __future__ import annotations

import crmcore.query as q
import crmcore.query.adapter as qa

#: every name ``crmcore.query`` exported before it became a package
BEFORE_SPLIT = {
    *("FALSE", "MAX_FILTER_DEPTH", "MAX_LIMIT", "TRUE", "Ago", "And", "Compare", "Const"),
    *("Contains", "Filter", "Has", "In", "IsNull", "Not", "Or", "Page", "Related"),
    *("RelatedCounts", "Sort", "StartsWith", "ago", "all_of", "any_of", "asc", "bind"),
    *("canonical", "check_limit", "check_order", "compare_keys", "compile_predicate"),
    *("decode_cursor", "desc", "encode_cursor", "eq", "field", "field_names", "from_dict"),
    *("ge", "getter", "gt", "has", "in_", "is_null", "le", "lt", "native_key", "ne"),
    *("normalize_order", "not_", "related", "related_nodes", "resolve_times", "same_kind"),
    *("sort_key_values", "sort_records", "to_dict", "value_kind", "where"),
    *("OrderSpec", "FieldRef", "CompareOp"),
}


def test_every_name_importable_before_the_split_still_is() -> None:
    assert sorted(n for n in BEFORE_SPLIT if not hasattr(q, n)) == []


def test_user_and_adapter_names_together_cover_the_old_exports() -> None:
    assert set(q.__all__) | set(qa.__all__) >= BEFORE_SPLIT - {"FieldRef", "CompareOp"}
    assert set(q.__all__) & set(qa.__all__) == {"bind"}


def test_adapter_names_are_the_same_objects_from_both_paths() -> None:
    for name in qa.__all__:
        assert getattr(q, name) is getattr(qa, name), name


def test_user_api_has_no_node_classes_or_evaluator() -> None:
    for name in ("Compare", "And", "compile_predicate", "getter", "encode_cursor"):
        assert name not in q.__all__
    assert "adapter" in (qa.__doc__ or "")


def test_a_filter_built_by_users_is_evaluated_by_the_adapter_api() -> None:
    f = (q.field("age") >= 18) & q.field("tags").has("vip")
    assert isinstance(f, qa.And)
    pred = qa.compile_predicate(f)
    assert pred({"age": 20, "tags": ["vip"]})
    assert not pred({"age": 17, "tags": ["vip"]})
    assert q.from_dict(q.to_dict(f)) == f
