"""Decisions: what :meth:`Policy.check` answers, with the reason why.

A :class:`Decision` is an immutable value. Allowing decisions are built once
per rule when the policy is compiled and shared by every ``check`` (the hot
path allocates nothing); refusals carry the principal, record and context
they were made for, so their reason (which quotes the values that failed a
condition) and their :meth:`~Decision.explain` trace are worked out only when
someone reads them.

``Decision`` is a ``tuple`` underneath (built in one allocation, about four
times cheaper than an attrs instance on CPython) but behaves as a frozen
value object: read its attributes, compare it, never index it.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from crmcore.errors import PermissionDenied
from crmcore.policy._values import make_getter

__all__ = ["Decision", "Explainer", "Grant", "Outcome", "make_decision"]

_get_id = make_getter(("id",))


class Explainer(Protocol):
    """What a decision asks for its reason and trace (the compiled policy)."""

    def reason_for(self, decision: Decision, *, values: bool = True) -> str: ...

    def trace_for(self, decision: Decision) -> tuple[str, ...]: ...


class Outcome:
    """The static part of a decision: action, entity, reason text (or ``None``) and explainer."""

    __slots__ = ("action", "entity", "explainer", "reason")

    def __init__(
        self, action: str, entity: str, reason: str | None, explainer: Explainer | None
    ) -> None:
        self.action = action
        self.entity = entity
        self.reason = reason
        self.explainer = explainer


_tuple_new = tuple.__new__


class Decision(tuple):  # type: ignore[type-arg]
    """The answer to "may this principal do this action on this record?".

    Attributes:
        allowed: whether the action may go ahead.
        rule: the name of the deciding rule (the allow that granted it or the
            deny that refused it), or ``None`` (default deny, tenant isolation,
            system principal).
        action: the action that was checked.
        entity: the entity type name that was checked.
        reason: human-readable text naming the rule, or for a refusal the
            condition and the values that failed.

    ``bool(decision)`` is ``decision.allowed``. Decisions are immutable and
    compare equal when they agree on all of the above.

    Args:
        allowed: see above.
        rule: see above.
        action: see above.
        entity: see above.
        reason: see above.
    """

    __slots__ = ()

    def __new__(
        cls,
        allowed: bool,
        rule: str | None = None,
        *,
        action: str = "",
        entity: str = "",
        reason: str = "",
    ) -> Decision:
        return _tuple_new(
            cls, (bool(allowed), rule, Outcome(action, entity, reason, None), None, None, None)
        )

    allowed: bool = property(itemgetter(0))  # type: ignore[assignment]
    rule: str | None = property(itemgetter(1))  # type: ignore[assignment]
    _outcome: Outcome = property(itemgetter(2))  # type: ignore[assignment]
    principal: Any = property(itemgetter(3))
    """The principal a refusal was made for (``None`` on shared allow decisions)."""
    resource: object = property(itemgetter(4))
    """The record a refusal was made for (``None`` on shared allow decisions)."""
    context: Mapping[str, Any] | None = property(itemgetter(5))  # type: ignore[assignment]
    """The context a refusal was made with."""

    @property
    def action(self) -> str:
        """The action that was checked."""
        return self._outcome.action

    @property
    def entity(self) -> str:
        """The entity type name that was checked."""
        return self._outcome.entity

    @property
    def reason(self) -> str:
        """Why: the deciding rule, or the condition and values that failed."""
        out = self._outcome
        if out.reason is not None:
            return out.reason
        assert out.explainer is not None
        return out.explainer.reason_for(self)

    @property
    def public_reason(self) -> str:
        """The reason as a refused principal may read it: rules and fields, no record values."""
        out = self._outcome
        if out.reason is not None:
            return out.reason
        assert out.explainer is not None
        return out.explainer.reason_for(self, values=False)

    @property
    def has_inputs(self) -> bool:
        """Whether the decision carries its principal, record and context (for traces)."""
        return self._outcome.explainer is not None and self[3] is not None

    @property
    def trace(self) -> tuple[str, ...]:
        """One line per rule considered, when the decision carries its inputs (else empty)."""
        out = self._outcome
        if out.explainer is None or self[3] is None:
            return ()
        return out.explainer.trace_for(self)

    def explain(self) -> str:
        """A multi-line account of the decision: every rule considered and what it did.

        Refusals from :meth:`Policy.check` and every decision from
        :meth:`Policy.explain` carry a full trace; a shared allow decision from
        ``check`` (which keeps no inputs, to stay allocation-free) gives its
        reason only.
        """
        verdict = "ALLOWED" if self.allowed else "DENIED"
        head = f"{verdict} {self.action!r} on {self.entity}: {self.reason}"
        return "\n".join((head, *self.trace))

    def raise_if_denied(self, *, id: object | None = None) -> None:
        """Raise :class:`~crmcore.errors.PermissionDenied` with the reason unless allowed.

        Args:
            id: the record id for the message (taken from the record when known).

        Raises:
            PermissionDenied: the decision refuses the action.
        """
        if self[0]:
            return
        principal = None
        if self[3] is not None:
            user = getattr(self[3], "user_id", None)
            principal = None if user is None else str(user)
        if id is None and self[4] is not None:
            id = _get_id(self[4])
        raise PermissionDenied(
            self.action, self.entity, id=id, reason=self.reason, principal=principal
        )

    def __bool__(self) -> bool:
        return bool(self[0])

    def _key(self) -> tuple[object, ...]:
        return (self[0], self[1], self.action, self.entity, self.reason)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self._key() != other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, self._key())

    def __repr__(self) -> str:
        return (
            f"Decision(allowed={self.allowed!r}, rule={self.rule!r}, action={self.action!r},"
            f" entity={self.entity!r}, reason={self.reason!r})"
        )


def _rebuild(allowed: bool, rule: str | None, action: str, entity: str, reason: str) -> Decision:
    return Decision(allowed, rule, action=action, entity=entity, reason=reason)


def make_decision(
    allowed: bool,
    rule: str | None,
    outcome: Outcome,
    principal: Any = None,
    resource: object = None,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """Build a decision without argument checking (the engine's fast path)."""
    return _tuple_new(Decision, (allowed, rule, outcome, principal, resource, context))


class Grant(NamedTuple):
    """One answer of :meth:`Policy.who_can`: a role, the rule and the condition left."""

    role: str
    rule: str
    condition: str
