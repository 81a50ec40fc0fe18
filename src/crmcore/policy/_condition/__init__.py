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

One module per concept: ``_tree`` (nodes), ``_tokens``, ``_parser``,
``_render``, ``_access`` (principal and context values), ``_evaluate``,
``_compile`` (to filters), ``_explain``, ``_expression`` (:class:`Condition`)
and ``_builder`` (:data:`R`, :data:`P`, :data:`C`).
"""

from __future__ import annotations

from crmcore.policy._condition._access import EvalFn as EvalFn
from crmcore.policy._condition._access import FilterFn as FilterFn
from crmcore.policy._condition._access import ValueFn as ValueFn
from crmcore.policy._condition._access import context_value as context_value
from crmcore.policy._condition._access import principal_value as principal_value
from crmcore.policy._condition._builder import Attr, C, P, R
from crmcore.policy._condition._compile import compile_filter as compile_filter
from crmcore.policy._condition._errors import ConditionError
from crmcore.policy._condition._evaluate import compile_eval as compile_eval
from crmcore.policy._condition._explain import EVERY_FIELD as EVERY_FIELD
from crmcore.policy._condition._explain import residual as residual
from crmcore.policy._condition._explain import why as why
from crmcore.policy._condition._expression import Condition, parse_condition
from crmcore.policy._condition._render import render as render
from crmcore.policy._condition._tree import Node as Node

__all__ = [
    "Attr",
    "C",
    "Condition",
    "ConditionError",
    "P",
    "R",
    "parse_condition",
]
