"""The :class:`Condition` object: a parsed tree with its compiled forms, and parse_condition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmcore import query as q
from crmcore.errors import ConfigurationError
from crmcore.model import Principal
from crmcore.policy._condition._access import EvalFn, FilterFn
from crmcore.policy._condition._compile import compile_filter
from crmcore.policy._condition._errors import ConditionError
from crmcore.policy._condition._evaluate import compile_eval
from crmcore.policy._condition._explain import why
from crmcore.policy._condition._parser import _Parser
from crmcore.policy._condition._render import render
from crmcore.policy._condition._tree import SCOPES, AllOf, AnyOf, Negate, Node, _refs


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
