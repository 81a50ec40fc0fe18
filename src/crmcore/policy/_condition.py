"""Rule conditions: a tiny expression language, evaluated and compiled to filters.

A condition is written as a string in a policy document::

    resource.owner_id == principal.user_id
    resource.team_id in principal.teams and not resource.archived
    resource.stage in ['prospecting', 'qualification'] or context.hour >= 18

or built in Python with :data:`R`, :data:`P` and :data:`C`::

    (R.owner_id == P.user_id) | R.team_id.in_(P.teams)

Grammar (keywords are lower case; ``True``/``False``/``None`` are accepted too)::

    condition := or
    or        := and ("or" and)*
    and       := not ("and" not)*
    not       := "not" not | "(" or ")" | test
    test      := operand [("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                          | ["not"] "in" (list | ref)]
    operand   := ref | literal
    ref       := ("resource" | "principal" | "context") ("." name)+
    literal   := string | number | "true" | "false" | "null"
    list      := "[" [literal ("," literal)* [","]] "]"

A bare operand is a test against ``true``. Strings take single or double
quotes with backslash escapes; numbers with a point or exponent are decimals.

A condition is parsed once into an immutable tree, then compiled twice:

- into a closure ``(principal, resource, context) -> bool`` for
  :meth:`Policy.check` (no tree walking per call), and
- into a function ``(principal, context) -> Filter`` for
  :meth:`Policy.filter`: principal and context parts become constants, so
  ``context.hour < 18`` turns into ``TRUE`` or ``FALSE`` and
  ``resource.team_id in principal.teams`` into ``in_("team_id", teams)``.

Both follow :mod:`crmcore.query` semantics (see :mod:`._values`), so a record
matches the compiled filter exactly when evaluation says true. A comparison
between two resource fields has no filter form; such a condition can be
evaluated but not compiled, and a policy refuses it on rules that grant or
deny ``read``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from crmcore import query as q
from crmcore.errors import ConfigurationError
from crmcore.model import Principal
from crmcore.policy._values import (
    COLLECTIONS,
    PLAIN_TYPES,
    canon,
    eq_const,
    eq_values,
    filter_collection,
    has_values,
    in_values,
    is_filter_value,
    make_getter,
    mapping_type,
    ne_values,
    order_const,
    order_values,
    show,
)

__all__ = [
    "Attr",
    "C",
    "Condition",
    "ConditionError",
    "P",
    "R",
    "parse_condition",
]

SCOPES = ("resource", "principal", "context")
_PRINCIPAL_FIELDS = frozenset(("user_id", "tenant_id", "roles", "teams", "system"))
_MAX_LENGTH = 4000
_MAX_DEPTH = 40


class ConditionError(ConfigurationError):
    """A condition cannot be parsed, or cannot be compiled to a filter.

    Attributes:
        source: the condition text.
        position: 0-based offset in ``source`` where the problem is (or ``None``).
        rule: the name of the rule the condition belongs to (or ``None``).
        problem: what is wrong, without the location.
    """

    code = "invalid_condition"

    def __init__(
        self,
        problem: str,
        *,
        source: str = "",
        position: int | None = None,
        rule: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.position = position
        self.rule = rule
        where = f"rule {rule!r}: " if rule else ""
        at = f" at position {position}" if position is not None else ""
        shown = f" in {source!r}" if source else ""
        super().__init__(f"{where}condition error{at}: {problem}{shown}")

    def for_rule(self, rule: str) -> ConditionError:
        """The same error, naming ``rule``."""
        return ConditionError(self.problem, source=self.source, position=self.position, rule=rule)


# --------------------------------------------------------------------------- tree


@attrs.frozen
class Ref:
    """``resource.a.b``, ``principal.x`` or ``context.y``."""

    scope: str
    path: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def __str__(self) -> str:
        return f"{self.scope}.{self.dotted}"


def _typed(v: Any) -> tuple[type, Any]:
    return (type(v), v)


def _typed_items(items: tuple[Any, ...]) -> tuple[tuple[type, Any], ...]:
    return tuple((type(v), v) for v in items)


@attrs.frozen
class Lit:
    """A literal scalar (``'x'``, ``12``, ``12.5``, ``true``, ``null``).

    Literals compare by type and value, so ``1``, ``1.0`` and ``true`` differ.
    """

    value: Any = attrs.field(eq=_typed)


@attrs.frozen
class ListLit:
    """A list literal, only allowed on the right of ``in``."""

    items: tuple[Any, ...] = attrs.field(eq=_typed_items)


Operand = Ref | Lit | ListLit


@attrs.frozen
class Cmp:
    """``left <op> right``."""

    op: str
    left: Operand
    right: Operand
    pos: int = attrs.field(default=0, eq=False)


@attrs.frozen
class Member:
    """``item in collection``."""

    item: Operand
    coll: Operand
    pos: int = attrs.field(default=0, eq=False)


@attrs.frozen
class AllOf:
    items: tuple[Node, ...]


@attrs.frozen
class AnyOf:
    items: tuple[Node, ...]


@attrs.frozen
class Negate:
    item: Node


@attrs.frozen
class Bool:
    value: bool


Node = Cmp | Member | AllOf | AnyOf | Negate | Bool

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_CMP_OPS = frozenset(_FLIP)


def _is_res(o: Operand) -> bool:
    return isinstance(o, Ref) and o.scope == "resource"


def _refs(node: Node) -> Iterable[Ref]:
    if isinstance(node, Cmp):
        ops: tuple[Operand, ...] = (node.left, node.right)
    elif isinstance(node, Member):
        ops = (node.item, node.coll)
    elif isinstance(node, (AllOf, AnyOf)):
        for i in node.items:
            yield from _refs(i)
        return
    elif isinstance(node, Negate):
        yield from _refs(node.item)
        return
    else:
        return
    for o in ops:
        if isinstance(o, Ref):
            yield o


def _uses_resource(node: Node) -> bool:
    return any(r.scope == "resource" for r in _refs(node))


def _first_uncompilable(node: Node) -> Cmp | Member | None:
    if isinstance(node, Cmp) and _is_res(node.left) and _is_res(node.right):
        return node
    if isinstance(node, Member) and _is_res(node.item) and _is_res(node.coll):
        return node
    if isinstance(node, (AllOf, AnyOf)):
        for i in node.items:
            bad = _first_uncompilable(i)
            if bad is not None:
                return bad
    if isinstance(node, Negate):
        return _first_uncompilable(node.item)
    return None


# --------------------------------------------------------------------------- parsing

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<bad>&&|\|\||=|!|&|\|)
    """,
    re.VERBOSE | re.DOTALL,
)
_HINTS = {
    "=": "use '==' to compare",
    "&&": "use 'and'",
    "&": "use 'and'",
    "||": "use 'or'",
    "|": "use 'or'",
    "!": "use 'not' (or '!=')",
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"'}
_KEYWORDS = {"true": True, "True": True, "false": False, "False": False}
_NULLS = frozenset(("null", "None"))


@attrs.frozen
class _Tok:
    kind: str  # num, name, op, str, end
    text: str
    pos: int
    value: Any = None


def _unescape(body: str, source: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(nxt)
        digits = body[i + 2 : i + 2 + width] if width else ""
        if (
            not width
            or len(digits) != width
            or not all(c in "0123456789abcdefABCDEF" for c in digits)
        ):
            raise ConditionError(
                f"unknown escape '\\{nxt}' in string", source=source, position=pos + 1 + i
            )
        out.append(chr(int(digits, 16)))
        i += 2 + width
    return "".join(out)


def _tokenize(source: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    n = len(source)
    while pos < n:
        m = _TOKEN.match(source, pos)
        if m is None:
            ch = source[pos]
            problem = "unterminated string" if ch in "'\"" else f"unexpected character {ch!r}"
            raise ConditionError(problem, source=source, position=pos)
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "bad":
            raise ConditionError(
                f"unexpected {text!r}: {_HINTS[text]}", source=source, position=pos
            )
        if kind == "num":
            value: Any
            if any(c in text for c in ".eE"):
                try:
                    value = Decimal(text)
                except InvalidOperation:  # pragma: no cover - the pattern admits valid text only
                    raise ConditionError(
                        f"bad number {text!r}", source=source, position=pos
                    ) from None
            else:
                value = int(text)
            toks.append(_Tok("num", text, pos, value))
        elif kind == "str":
            toks.append(_Tok("str", text, pos, _unescape(text[1:-1], source, pos)))
        elif kind != "ws":
            toks.append(_Tok(kind, text, pos))
        pos = m.end()
    toks.append(_Tok("end", "", n))
    return toks


class _Parser:
    """Recursive descent over the token list; every error names its position."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.toks = _tokenize(source)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def fail(self, problem: str, tok: _Tok | None = None) -> ConditionError:
        t = tok or self.tok
        return ConditionError(problem, source=self.source, position=t.pos)

    def describe(self, t: _Tok) -> str:
        return "the end" if t.kind == "end" else repr(t.text)

    def is_kw(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text == word

    def is_op(self, op: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == op

    def parse(self) -> Node:
        if not self.source.strip():
            raise ConditionError("empty condition", source=self.source, position=0)
        if len(self.source) > _MAX_LENGTH:
            raise ConditionError(
                f"condition longer than {_MAX_LENGTH} characters", source=self.source[:40] + "..."
            )
        node = self.parse_or()
        if self.tok.kind != "end":
            raise self.fail(f"expected 'and', 'or' or the end, found {self.describe(self.tok)}")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.is_kw("or"):
            self.i += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.is_kw("and"):
            self.i += 1
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def parse_not(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail(f"condition nested deeper than {_MAX_DEPTH} levels")
        try:
            if self.is_kw("not"):
                self.i += 1
                return Negate(self.parse_not())
            if self.is_op("("):
                self.i += 1
                node = self.parse_or()
                if not self.is_op(")"):
                    raise self.fail(f"expected ')', found {self.describe(self.tok)}")
                self.i += 1
                return node
            return self.parse_test()
        finally:
            self.depth -= 1

    def parse_test(self) -> Node:
        start = self.tok
        left = self.parse_operand()
        if isinstance(left, ListLit):
            raise self.fail("a list is only allowed after 'in'", start)
        t = self.tok
        if t.kind == "op" and t.text in _CMP_OPS:
            self.i += 1
            rstart = self.tok
            right = self.parse_operand()
            if isinstance(right, ListLit):
                raise self.fail(f"a list cannot be compared with {t.text!r}; use 'in'", rstart)
            if isinstance(left, Lit) and isinstance(right, Lit):
                return Bool(_const_cmp(t.text, left.value, right.value))
            return Cmp(t.text, left, right, start.pos)
        negated = False
        nxt = self.toks[self.i + 1] if self.tok.kind != "end" else self.tok
        if self.is_kw("not") and nxt.kind == "name" and nxt.text == "in":
            negated = True
            self.i += 1
        if self.is_kw("in"):
            self.i += 1
            rstart = self.tok
            coll = self.parse_operand()
            if isinstance(coll, Lit):
                raise self.fail("'in' needs a list or a field on its right", rstart)
            node: Node = Member(left, coll, start.pos)
            return Negate(node) if negated else node
        if isinstance(left, Lit):
            if isinstance(left.value, bool):
                return Bool(left.value)
            raise self.fail(f"a literal ({start.text}) is not a condition by itself", start)
        return Cmp("==", left, Lit(True), start.pos)

    def parse_operand(self) -> Operand:
        t = self.tok
        if t.kind in ("num", "str"):
            self.i += 1
            return Lit(t.value)
        if self.is_op("["):
            return self.parse_list()
        if t.kind != "name":
            raise self.fail(f"expected a value or a field, found {self.describe(t)}")
        if t.text in _KEYWORDS:
            self.i += 1
            return Lit(_KEYWORDS[t.text])
        if t.text in _NULLS:
            self.i += 1
            return Lit(None)
        if t.text not in SCOPES:
            if t.text in ("and", "or", "not", "in"):
                raise self.fail(f"expected a value or a field, found {t.text!r}")
            raise self.fail(
                f"unknown name {t.text!r}: write resource.{t.text}, principal.{t.text}"
                f" or context.{t.text}"
            )
        self.i += 1
        path: list[str] = []
        while self.is_op("."):
            self.i += 1
            if self.tok.kind != "name":
                raise self.fail(f"expected a field name after '.', found {self.describe(self.tok)}")
            path.append(self.tok.text)
            self.i += 1
        if not path:
            raise self.fail(f"{t.text!r} needs a field: {t.text}.<name>", t)
        return Ref(t.text, tuple(path))

    def parse_list(self) -> ListLit:
        self.i += 1  # [
        items: list[Any] = []
        while not self.is_op("]"):
            t = self.tok
            if t.kind in ("num", "str"):
                items.append(t.value)
            elif t.kind == "name" and t.text in _KEYWORDS:
                items.append(_KEYWORDS[t.text])
            elif t.kind == "name" and t.text in _NULLS:
                items.append(None)
            else:
                raise self.fail(f"a list holds literals only, found {self.describe(t)}")
            self.i += 1
            if self.is_op(","):
                self.i += 1
            elif not self.is_op("]"):
                raise self.fail(f"expected ',' or ']', found {self.describe(self.tok)}")
        self.i += 1
        return ListLit(tuple(items))


# --------------------------------------------------------------------------- rendering


def _lit_text(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, float):
        return repr(v)
    return show(v)


def _operand_text(o: Operand) -> str:
    if isinstance(o, Ref):
        return str(o)
    if isinstance(o, ListLit):
        return "[" + ", ".join(_lit_text(v) for v in o.items) + "]"
    return _lit_text(o.value)


def render(node: Node, prec: int = 0) -> str:
    """The canonical text of a condition tree (parses back to an equal tree)."""
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, Cmp):
        if (
            node.op == "=="
            and isinstance(node.left, Ref)
            and isinstance(node.right, Lit)
            and node.right.value is True
        ):
            return str(node.left)
        return f"{_operand_text(node.left)} {node.op} {_operand_text(node.right)}"
    if isinstance(node, Member):
        return f"{_operand_text(node.item)} in {_operand_text(node.coll)}"
    if isinstance(node, Negate):
        if isinstance(node.item, Member):
            m = node.item
            return f"{_operand_text(m.item)} not in {_operand_text(m.coll)}"
        text = f"not {render(node.item, 3)}"
        return f"({text})" if prec > 3 else text
    if isinstance(node, AllOf):
        text = " and ".join(render(i, 3) for i in node.items)
        return f"({text})" if prec > 2 else text
    text = " or ".join(render(i, 2) for i in node.items)
    return f"({text})" if prec > 1 else text


# --------------------------------------------------------------------------- value access

EvalFn = Callable[[Any, Any, Any], bool]
"""``(principal, resource, context) -> bool``."""
ValueFn = Callable[[Any, Any], Any]
"""``(principal, context) -> value``."""
FilterFn = Callable[[Any, Any], q.Filter]
"""``(principal, context) -> Filter``."""


def principal_value(path: tuple[str, ...]) -> ValueFn:
    """An accessor for ``principal.<path>``: :meth:`Principal.attr`, then dotted steps."""
    head = path[0]
    if head in _PRINCIPAL_FIELDS:

        def base(p: Any, c: Any) -> Any:
            return getattr(p, head) if p.__class__ is Principal else p.attr(head)

    else:

        def base(p: Any, c: Any) -> Any:
            if p.__class__ is Principal:
                return p.attributes.get(head)
            return p.attr(head)

    if len(path) == 1:
        return base
    tail = make_getter(path[1:])
    return lambda p, c: tail(base(p, c))


def context_value(path: tuple[str, ...]) -> ValueFn:
    """An accessor for ``context.<path>`` (a missing context reads as empty)."""
    get = make_getter(path)
    return lambda p, c: None if c is None else get(c)


def _value_fn(o: Operand) -> ValueFn:
    if isinstance(o, Lit):
        v = o.value
        return lambda p, c: v
    if isinstance(o, ListLit):
        items = o.items
        return lambda p, c: items
    if o.scope == "principal":
        return principal_value(o.path)
    if o.scope == "context":
        return context_value(o.path)
    raise AssertionError("resource operands are read from the record")  # pragma: no cover


def _const_cmp(op: str, a: object, b: object) -> bool:
    if op == "==":
        return eq_const(a, b)
    if op == "!=":
        return not eq_const(a, b)
    return order_const(a, op, b)


def _const_in(a: object, coll: object) -> bool:
    if not isinstance(coll, COLLECTIONS):
        return False
    return any(eq_const(a, x) for x in coll)


_all_str_cache: dict[frozenset[Any], bool] = {}


def _all_plain_str(coll: frozenset[Any]) -> bool:
    flag = _all_str_cache.get(coll)
    if flag is None:
        flag = all(x.__class__ is str for x in coll)
        if len(_all_str_cache) >= 4096:
            _all_str_cache.clear()
        _all_str_cache[coll] = flag
    return flag


# --------------------------------------------------------------------------- evaluation


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


# --------------------------------------------------------------------------- filters

_ORDER_BUILDERS: dict[str, Callable[[str, object], q.Filter]] = {
    "<": q.lt,
    "<=": q.le,
    ">": q.gt,
    ">=": q.ge,
}


def _sorted_values(values: tuple[object, ...]) -> tuple[object, ...]:
    if all(v.__class__ is str for v in values):
        return tuple(sorted(values))  # type: ignore[type-var]
    return values


def compile_filter(node: Node) -> FilterFn:
    """Compile a condition tree into ``(principal, context) -> Filter``.

    Raises:
        ConditionError: the condition compares two resource fields.
    """
    if not _uses_resource(node):
        ev = compile_eval(node)
        return lambda p, c: q.TRUE if ev(p, None, c) else q.FALSE
    if isinstance(node, AllOf):
        fns = tuple(compile_filter(i) for i in node.items)
        return lambda p, c: q.all_of(*(f(p, c) for f in fns))
    if isinstance(node, AnyOf):
        fns = tuple(compile_filter(i) for i in node.items)
        return lambda p, c: q.any_of(*(f(p, c) for f in fns))
    if isinstance(node, Negate):
        inner = compile_filter(node.item)
        return lambda p, c: q.not_(inner(p, c))
    bad = _first_uncompilable(node)
    if bad is not None:
        raise ConditionError(
            f"{render(bad)} compares two resource fields, which has no filter form",
            source=render(node),
            position=bad.pos,
        )
    if isinstance(node, Cmp):
        op, left, right = _normalized(node)
        assert isinstance(left, Ref)
        name = left.dotted
        tget = _value_fn(right)

        def cmp_filter(p: Any, c: Any) -> q.Filter:
            t = canon(tget(p, c))
            if not is_filter_value(t):
                return q.FALSE
            if op == "==":
                return q.eq(name, t)
            if op == "!=":
                return q.ne(name, t)
            if t is None:
                return q.FALSE
            return _ORDER_BUILDERS[op](name, t)

        return cmp_filter
    assert isinstance(node, Member)
    if _is_res(node.item):
        assert isinstance(node.item, Ref)
        name = node.item.dotted
        cget = _value_fn(node.coll)

        def in_filter(p: Any, c: Any) -> q.Filter:
            values = filter_collection(cget(p, c))
            if values is None:
                return q.FALSE
            return q.in_(name, _sorted_values(values))

        return in_filter
    assert isinstance(node.coll, Ref)
    name = node.coll.dotted
    iget = _value_fn(node.item)

    def has_filter(p: Any, c: Any) -> q.Filter:
        t = canon(iget(p, c))
        if t is None or not is_filter_value(t):
            return q.FALSE
        return q.has(name, t)

    return has_filter


# --------------------------------------------------------------------------- explaining

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


# --------------------------------------------------------------------------- Condition


class Condition:
    """A parsed, compiled rule condition (immutable).

    Build one with :func:`parse_condition` or with :data:`R`/:data:`P`/:data:`C`;
    combine with ``&``, ``|`` and ``~``.
    """

    __slots__ = ("_eval", "_filter", "_filter_error", "_node", "_source")

    def __init__(self, node: Node, source: str | None = None) -> None:
        self._node = node
        self._source = source if source is not None else render(node)
        self._eval = compile_eval(node)
        self._filter: FilterFn | None
        self._filter_error: ConditionError | None
        try:
            self._filter = compile_filter(node)
            self._filter_error = None
        except ConditionError as exc:
            self._filter = None
            self._filter_error = ConditionError(
                exc.problem, source=self._source, position=exc.position
            )

    @property
    def node(self) -> Node:
        """The condition tree."""
        return self._node

    @property
    def source(self) -> str:
        """The text the condition was written as (or its canonical text)."""
        return self._source

    @property
    def compilable(self) -> bool:
        """Whether :meth:`to_filter` works (false for resource-vs-resource tests)."""
        return self._filter is not None

    @property
    def filter_error(self) -> ConditionError | None:
        """Why :meth:`to_filter` cannot work, or ``None`` when it can."""
        return self._filter_error

    @property
    def references(self) -> dict[str, frozenset[str]]:
        """The dotted names read per scope (``"resource"``, ``"principal"``, ``"context"``)."""
        found: dict[str, set[str]] = {s: set() for s in SCOPES}
        for ref in _refs(self._node):
            found[ref.scope].add(ref.dotted)
        return {s: frozenset(v) for s, v in found.items()}

    @property
    def evaluator(self) -> EvalFn:
        """The compiled ``(principal, resource, context) -> bool`` closure."""
        return self._eval

    def evaluate(
        self,
        principal: Principal | None,
        resource: object,
        context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether the condition holds for this principal, record and context.

        Args:
            principal: who acts (``principal.*`` reads :meth:`Principal.attr`).
            resource: an attrs record or a mapping (``resource.*`` reads dotted paths).
            context: request facts such as ``hour`` (``context.*``).

        Returns:
            True when the condition holds.
        """
        return self._eval(principal, resource, context)

    def to_filter(self, principal: Principal, context: Mapping[str, Any] | None = None) -> q.Filter:
        """The records the condition holds for, as a :mod:`crmcore.query` filter.

        Principal and context parts are resolved now; only record fields remain.

        Raises:
            ConditionError: the condition compares two resource fields.
        """
        if self._filter is None:
            assert self._filter_error is not None
            raise self._filter_error
        return self._filter(principal, context)

    def explain(
        self,
        principal: Principal | None,
        resource: object,
        context: Mapping[str, Any] | None = None,
    ) -> str:
        """Why the condition holds or not, naming the tests and their values."""
        return why(self._node, principal, resource, context)[1]

    def __str__(self) -> str:
        return render(self._node)

    def __repr__(self) -> str:
        return f"Condition({render(self._node)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return NotImplemented
        return self._node == other._node

    def __hash__(self) -> int:
        return hash(self._node)

    def __and__(self, other: Condition) -> Condition:
        return Condition(AllOf(_flat(AllOf, self._node, _as_node(other))))

    def __or__(self, other: Condition) -> Condition:
        return Condition(AnyOf(_flat(AnyOf, self._node, _as_node(other))))

    def __invert__(self) -> Condition:
        node = self._node
        return Condition(node.item if isinstance(node, Negate) else Negate(node))

    def __bool__(self) -> bool:
        raise TypeError("a Condition has no truth value; combine conditions with &, | and ~")


def _as_node(c: object) -> Node:
    if not isinstance(c, Condition):
        raise ConfigurationError(f"not a condition: {c!r}")
    return c.node


def _flat(cls: type[AllOf] | type[AnyOf], *nodes: Node) -> tuple[Node, ...]:
    out: list[Node] = []
    for n in nodes:
        out.extend(n.items if isinstance(n, cls) else (n,))
    return tuple(out)


def parse_condition(text: str, *, rule: str | None = None) -> Condition:
    """Parse a condition string (see the module docstring for the grammar).

    Args:
        text: the condition, e.g. ``"resource.owner_id == principal.user_id"``.
        rule: the rule's name, for error messages.

    Returns:
        The parsed and compiled :class:`Condition`.

    Raises:
        ConditionError: the text does not parse; the error names the rule and
            the 0-based position.
    """
    if not isinstance(text, str):
        raise ConditionError(f"a condition must be text, got {type(text).__name__}", rule=rule)
    try:
        node = _Parser(text).parse()
    except ConditionError as exc:
        raise exc.for_rule(rule) if rule else exc from None
    return Condition(node, text)


# --------------------------------------------------------------------------- builder

_LITERAL_TYPES = (str, int, float, Decimal, bool)


def _operand(value: object) -> Operand:
    if isinstance(value, Attr):
        return value._ref()
    value = canon(value)
    if value is None or isinstance(value, _LITERAL_TYPES):
        return Lit(value)
    raise ConfigurationError(
        f"a condition literal must be text, a number, a boolean or None, not"
        f" {type(value).__name__}; pass other values through principal or context"
    )


def _collection(values: object) -> Operand:
    if isinstance(values, Attr):
        return values._ref()
    if isinstance(values, (str, bytes)) or not isinstance(values, COLLECTIONS):
        raise ConfigurationError("in_() needs a list of literals or a field")
    items = []
    for v in values:
        lit = _operand(v)
        if not isinstance(lit, Lit):
            raise ConfigurationError("a list in a condition holds literals only")
        items.append(lit.value)
    return ListLit(tuple(items))


class Attr:
    """A field of the resource, principal or context in a Python-built condition.

    ``R.owner_id == P.user_id`` and ``R.stage.in_(["won", "lost"])`` build
    :class:`Condition` objects; attribute access walks dotted paths
    (``R.amount.amount``).
    """

    __slots__ = ("_path", "_scope")

    def __init__(self, scope: str, path: tuple[str, ...]) -> None:
        self._scope = scope
        self._path = path

    def __getattr__(self, name: str) -> Attr:
        if name.startswith("_"):
            raise AttributeError(name)
        return Attr(self._scope, (*self._path, name))

    def _ref(self) -> Ref:
        if not self._path:
            raise ConfigurationError(f"{self._scope!r} needs a field: {self._scope}.<name>")
        return Ref(self._scope, self._path)

    def __repr__(self) -> str:
        return ".".join((self._scope, *self._path))

    def _cmp(self, op: str, other: object) -> Condition:
        return Condition(Cmp(op, self._ref(), _operand(other)))

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return self._cmp("==", other)

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return self._cmp("!=", other)

    def __lt__(self, other: object) -> Condition:
        return self._cmp("<", other)

    def __le__(self, other: object) -> Condition:
        return self._cmp("<=", other)

    def __gt__(self, other: object) -> Condition:
        return self._cmp(">", other)

    def __ge__(self, other: object) -> Condition:
        return self._cmp(">=", other)

    __hash__ = None  # type: ignore[assignment]

    def in_(self, values: object) -> Condition:
        """This value is one of ``values`` (a list of literals or another field)."""
        return Condition(Member(self._ref(), _collection(values)))

    def not_in(self, values: object) -> Condition:
        """This value is none of ``values``."""
        return ~self.in_(values)

    def has(self, item: object) -> Condition:
        """This collection holds ``item`` (``item in <this>``)."""
        return Condition(Member(_operand(item), self._ref()))

    def is_true(self) -> Condition:
        """This value is ``true``."""
        return self._cmp("==", True)

    def is_null(self) -> Condition:
        """This value is missing."""
        return self._cmp("==", None)

    def not_null(self) -> Condition:
        """This value is present."""
        return self._cmp("!=", None)


R = Attr("resource", ())
"""The resource (record) side of a Python-built condition: ``R.owner_id``."""
P = Attr("principal", ())
"""The principal side: ``P.user_id``, ``P.teams``, ``P.region`` (an attribute)."""
C = Attr("context", ())
"""The request context: ``C.hour``."""
