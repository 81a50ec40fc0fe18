"""Explanations: why a condition held or failed, and what is left once constants are known."""

from __future__ import annotations

from typing import Any

from crmcore.policy._condition._access import _value_fn, context_value
from crmcore.policy._condition._evaluate import compile_eval
from crmcore.policy._condition._render import _operand_text, render
from crmcore.policy._condition._tree import (
    _FLIP,
    AllOf,
    AnyOf,
    Bool,
    Cmp,
    Lit,
    Member,
    Negate,
    Node,
    Operand,
    Ref,
    _refs,
)
from crmcore.policy._values import (
    make_getter,
    show,
)

_NEGATED = {"==": "!=", "!=": "=="}


class _EveryField(frozenset[str]):
    """A redaction set holding every field name: no record value is shown."""

    def __contains__(self, item: object) -> bool:
        return True


#: pass as ``redact`` to quote no record value at all
EVERY_FIELD: frozenset[str] = _EveryField()


def _shown_operand(
    o: Operand, p: Any, r: Any, c: Any, redact: frozenset[str]
) -> tuple[str, object]:
    if isinstance(o, Ref):
        if o.scope == "resource":
            value = make_getter(o.path)(r)
            hidden = o.path[0] in redact
        else:
            value = _value_fn(o)(p, c)
            hidden = False
        return f"{o} ({'<redacted>' if hidden else show(value)})", value
    return _operand_text(o), None


def why(
    node: Node, p: Any, r: Any, c: Any, redact: frozenset[str] = frozenset()
) -> tuple[bool, str]:
    """Evaluate ``node`` and say why it came out that way, with the values involved.

    For a false ``and`` it names the first failing test, for a false ``or``
    every failing test; a true condition lists what made it true.
    """
    if isinstance(node, Bool):
        return node.value, render(node)
    if isinstance(node, AllOf):
        texts = []
        for i in node.items:
            ok, text = why(i, p, r, c, redact)
            if not ok:
                return False, text
            texts.append(text)
        return True, " and ".join(texts)
    if isinstance(node, AnyOf):
        texts = []
        for i in node.items:
            ok, text = why(i, p, r, c, redact)
            if ok:
                return True, text
            texts.append(text)
        return False, " and ".join(texts)
    if isinstance(node, Negate):
        ok, text = why(node.item, p, r, c, redact)
        return not ok, text
    value = compile_eval(node)(p, r, c)
    if isinstance(node, Cmp):
        left, _ = _shown_operand(node.left, p, r, c, redact)
        right, _ = _shown_operand(node.right, p, r, c, redact)
        op = node.op if value else _NEGATED.get(node.op, f"is not {node.op}")
        return value, f"{left} {op} {right}"
    item, _ = _shown_operand(node.item, p, r, c, redact)
    coll, _ = _shown_operand(node.coll, p, r, c, redact)
    return value, f"{item} {'in' if value else 'not in'} {coll}"


def residual(node: Node, r: Any, c: Any, with_context: bool) -> bool | Node:
    """Partially evaluate ``node`` for a known record (and context, if given).

    Tests that read only the record, literals and (with ``with_context``) the
    context are decided; the rest keep their principal parts, with record and
    context values written in as literals.
    """
    if isinstance(node, Bool):
        return node.value
    if isinstance(node, (AllOf, AnyOf)):
        is_all = isinstance(node, AllOf)
        kept: list[Node] = []
        for i in node.items:
            res = residual(i, r, c, with_context)
            if isinstance(res, bool):
                if res is not is_all:
                    return res
                continue
            kept.append(res)
        if not kept:
            return is_all
        if len(kept) == 1:
            return kept[0]
        return AllOf(tuple(kept)) if is_all else AnyOf(tuple(kept))
    if isinstance(node, Negate):
        res = residual(node.item, r, c, with_context)
        return (not res) if isinstance(res, bool) else Negate(res)
    scopes = {ref.scope for ref in _refs(node)}
    if "principal" not in scopes and (with_context or "context" not in scopes):
        return compile_eval(node)(None, r, c)

    def subst(o: Operand) -> Operand:
        if isinstance(o, Ref) and o.scope == "resource":
            return Lit(make_getter(o.path)(r))
        if isinstance(o, Ref) and o.scope == "context" and with_context:
            return Lit(context_value(o.path)(None, c))
        return o

    if isinstance(node, Cmp):
        left, right = subst(node.left), subst(node.right)
        if isinstance(left, Lit) and isinstance(right, Ref):
            return Cmp(_FLIP[node.op], right, left, node.pos)
        return Cmp(node.op, left, right, node.pos)
    assert isinstance(node, Member)
    return Member(subst(node.item), subst(node.coll), node.pos)
