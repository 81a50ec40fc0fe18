"""The tokenizer: condition text to tokens (strings, numbers, names, operators)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from crmcore.policy._condition._errors import ConditionError

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
