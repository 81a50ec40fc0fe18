"""The evaluator: a condition tree compiled into ``(principal, resource, context) -> bool``."""

from __future__ import annotations

from typing import Any

from crmcore.model import Principal
from crmcore.policy._condition._access import (
    EvalFn,
    _all_plain_str,
    _const_cmp,
    _const_in,
    _value_fn,
)
from crmcore.policy._condition._tree import (
    _FLIP,
    _PRINCIPAL_FIELDS,
    AllOf,
    AnyOf,
    Bool,
    Cmp,
    ListLit,
    Lit,
    Member,
    Negate,
    Node,
    Operand,
    Ref,
    _is_res,
)
from crmcore.policy._values import (
    PLAIN_TYPES,
    canon,
    eq_values,
    filter_collection,
    has_values,
    in_values,
    make_getter,
    mapping_type,
    ne_values,
    order_values,
)


def compile_eval(node: Node) -> EvalFn:
    """Compile a condition tree into a ``(principal, resource, context) -> bool`` closure."""
    if isinstance(node, Bool):
        value = node.value
        return lambda p, r, c: value
    if isinstance(node, AllOf):
        fns = tuple(compile_eval(i) for i in node.items)
        if len(fns) == 2:
            a, b = fns
            return lambda p, r, c: a(p, r, c) and b(p, r, c)
        return lambda p, r, c: all(f(p, r, c) for f in fns)
    if isinstance(node, AnyOf):
        fns = tuple(compile_eval(i) for i in node.items)
        if len(fns) == 2:
            a, b = fns
            return lambda p, r, c: a(p, r, c) or b(p, r, c)
        return lambda p, r, c: any(f(p, r, c) for f in fns)
    if isinstance(node, Negate):
        inner = compile_eval(node.item)
        return lambda p, r, c: not inner(p, r, c)
    if isinstance(node, Cmp):
        return _compile_cmp(node)
    return _compile_member(node)


def _normalized(node: Cmp) -> tuple[str, Operand, Operand]:
    """Put a resource operand on the left (flipping the operator)."""
    if not _is_res(node.left) and _is_res(node.right):
        return _FLIP[node.op], node.right, node.left
    return node.op, node.left, node.right


def _fast_eq(op: str, name: str, right: Operand) -> EvalFn | None:
    """The hottest shapes, with the record and principal reads inlined.

    ``resource.<name> ==/!= principal.<attr>`` and ``resource.<name> ==/!= 'text'``;
    the record read is :func:`make_getter` and the principal read
    :func:`principal_value`, written out to save two calls per test.
    """
    plain = PLAIN_TYPES
    want = op == "=="
    slow = eq_values if want else ne_values
    if isinstance(right, Lit) and right.value.__class__ is str:
        t = right.value

        def lit(p: Any, r: Any, c: Any) -> bool:
            cls = r.__class__
            v = getattr(r, name, None) if cls in plain or not mapping_type(cls) else r.get(name)
            if v.__class__ is str:
                return (v == t) is want
            return slow(v, t)

        return lit
    if not (isinstance(right, Ref) and right.scope == "principal" and len(right.path) == 1):
        return None
    head = right.path[0]
    direct = head in _PRINCIPAL_FIELDS

    def prin(p: Any, r: Any, c: Any) -> bool:
        cls = r.__class__
        v = getattr(r, name, None) if cls in plain or not mapping_type(cls) else r.get(name)
        if p.__class__ is Principal:
            t = getattr(p, head) if direct else p.attributes.get(head)
        else:
            t = p.attr(head)
        if v.__class__ is str and t.__class__ is str:
            return (v == t) is want
        return slow(v, t)

    return prin


def _compile_cmp(node: Cmp) -> EvalFn:
    op, left, right = _normalized(node)
    if not _is_res(left):
        a, b = _value_fn(left), _value_fn(right)
        return lambda p, r, c: _const_cmp(op, a(p, c), b(p, c))
    assert isinstance(left, Ref)
    rget = make_getter(left.path)
    if _is_res(right):
        assert isinstance(right, Ref)
        rget2 = make_getter(right.path)
        return lambda p, r, c: _const_cmp(op, rget(r), rget2(r))
    loose = left.path[0] == "custom" and len(left.path) > 1
    if op in ("==", "!=") and len(left.path) == 1:
        fast = _fast_eq(op, left.path[0], right)
        if fast is not None:
            return fast
    if isinstance(right, Lit):
        t = canon(right.value)
        if op == "==":
            if t.__class__ is str:

                def eq_str(p: Any, r: Any, c: Any) -> bool:
                    v = rget(r)
                    return v == t if v.__class__ is str else eq_values(v, t)

                return eq_str
            return lambda p, r, c: eq_values(rget(r), t)
        if op == "!=":
            if t.__class__ is str:

                def ne_str(p: Any, r: Any, c: Any) -> bool:
                    v = rget(r)
                    return v != t if v.__class__ is str else ne_values(v, t)

                return ne_str
            return lambda p, r, c: ne_values(rget(r), t)
        return lambda p, r, c: order_values(rget(r), op, t, loose)
    tget = _value_fn(right)
    if op == "==":

        def eq_dyn(p: Any, r: Any, c: Any) -> bool:
            v = rget(r)
            t = tget(p, c)
            if v.__class__ is str and t.__class__ is str:
                return bool(v == t)
            return eq_values(v, t)

        return eq_dyn
    if op == "!=":

        def ne_dyn(p: Any, r: Any, c: Any) -> bool:
            v = rget(r)
            t = tget(p, c)
            if v.__class__ is str and t.__class__ is str:
                return bool(v != t)
            return ne_values(v, t)

        return ne_dyn
    return lambda p, r, c: order_values(rget(r), op, tget(p, c), loose)


def _compile_member(node: Member) -> EvalFn:
    item, coll = node.item, node.coll
    if _is_res(item):
        assert isinstance(item, Ref)
        rget = make_getter(item.path)
        if _is_res(coll):
            assert isinstance(coll, Ref)
            cget = make_getter(coll.path)
            return lambda p, r, c: _const_in(rget(r), cget(r))
        if isinstance(coll, ListLit):
            values = filter_collection(coll.items) or ()
            if all(v.__class__ is str for v in values):
                fast = frozenset(values)

                def in_str_list(p: Any, r: Any, c: Any) -> bool:
                    v = rget(r)
                    return v in fast if v.__class__ is str else in_values(v, values)

                return in_str_list
            return lambda p, r, c: in_values(rget(r), values)
        vget = _value_fn(coll)
        if (
            len(item.path) == 1
            and isinstance(coll, Ref)
            and coll.scope == "principal"
            and len(coll.path) == 1
        ):
            name, head = item.path[0], coll.path[0]
            direct = head in _PRINCIPAL_FIELDS
            plain = PLAIN_TYPES

            def in_prin(p: Any, r: Any, c: Any) -> bool:
                cls = r.__class__
                v = getattr(r, name, None) if cls in plain or not mapping_type(cls) else r.get(name)
                if p.__class__ is Principal:
                    cv = getattr(p, head) if direct else p.attributes.get(head)
                else:
                    cv = p.attr(head)
                if v.__class__ is str and cv.__class__ is frozenset and _all_plain_str(cv):
                    return v in cv
                vals = filter_collection(cv)
                return False if vals is None else in_values(v, vals)

            return in_prin

        def in_dyn(p: Any, r: Any, c: Any) -> bool:
            v = rget(r)
            cv = vget(p, c)
            if v.__class__ is str and cv.__class__ is frozenset and _all_plain_str(cv):
                return v in cv
            vals = filter_collection(cv)
            return False if vals is None else in_values(v, vals)

        return in_dyn
    if _is_res(coll):
        assert isinstance(coll, Ref)
        cget = make_getter(coll.path)
        iget = _value_fn(item)
        return lambda p, r, c: has_values(cget(r), iget(p, c))
    a, b = _value_fn(item), _value_fn(coll)
    return lambda p, r, c: _const_in(a(p, c), b(p, c))
