"""The parser: recursive descent from tokens to a condition tree."""

from __future__ import annotations

from typing import Any

from crmcore.policy._condition._access import _const_cmp
from crmcore.policy._condition._errors import ConditionError
from crmcore.policy._condition._tokens import _KEYWORDS, _NULLS, _Tok, _tokenize
from crmcore.policy._condition._tree import (
    _CMP_OPS,
    SCOPES,
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
)

_MAX_LENGTH = 4000
_MAX_DEPTH = 40


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
