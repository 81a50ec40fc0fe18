"""Roles and rules: the data a policy is made of.

A :class:`Role` may inherit other roles (``manager`` inherits ``sales_rep``:
every rule granted to ``sales_rep`` applies to managers too). A :class:`Rule`
allows or denies actions on entity types to roles, optionally under a
:class:`~crmcore.policy.Condition`. Both are immutable values; a
:class:`~crmcore.policy.Policy` checks them against each other.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Literal

import attrs

from crmcore.errors import ConfigurationError
from crmcore.model import ENTITY_TYPES
from crmcore.policy._condition import Condition, ConditionError, parse_condition

__all__ = [
    "ACTIONS",
    "Effect",
    "Role",
    "Rule",
    "action_matches",
    "check_action",
    "names",
]

ACTIONS: tuple[str, ...] = (
    "create",
    "read",
    "update",
    "delete",
    "merge",
    "export",
    "import",
    "erase",
    "manage_policy",
)
"""The actions a rule may name, besides ``transition:<event>``, ``transition:*`` and ``*``."""

Effect = Literal["allow", "deny"]

_NAME = re.compile(r"[^\W\d][\w\-]*\Z")
_TRANSITION = re.compile(r"transition:([^\W\d][\w\-]*|\*)\Z")
_ACTION_SET = frozenset(ACTIONS)


def check_action(action: object, where: str = "") -> str:
    """Return ``action`` if it is a known action pattern, else raise.

    Raises:
        ConfigurationError: an unknown action (the message lists the known ones).
    """
    if isinstance(action, str) and (
        action in _ACTION_SET or action == "*" or _TRANSITION.match(action)
    ):
        return action
    prefix = f"{where}: " if where else ""
    hint = _did_you_mean(action, ACTIONS).lstrip("; ") + " " if isinstance(action, str) else ""
    raise ConfigurationError(
        f"{prefix}unknown action {action!r}; {hint}use one of {', '.join(ACTIONS)},"
        " transition:<event>, transition:* or *"
    )


def action_matches(pattern: str, action: str) -> bool:
    """Whether a rule's action ``pattern`` covers the concrete ``action``."""
    return (
        pattern == action
        or pattern == "*"
        or (pattern == "transition:*" and action.startswith("transition:"))
    )


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    if not close:
        close = [k for k in known if k.lower() == name.lower()]
    return f"; did you mean {close[0]!r}?" if close else ""


def check_entities(value: str | Iterable[str], where: str) -> tuple[str, ...]:
    """Normalise entity names, refusing any that is not a crmcore entity type (or ``"*"``).

    A rule on ``"customer"`` would load and grant nothing; it is refused with
    the closest valid name instead.

    Raises:
        ConfigurationError: a malformed or unknown entity name.
    """
    found = names(value, "entity", where)
    for name in found:
        if name != "*" and name not in ENTITY_TYPES:
            raise ConfigurationError(
                f"{where}: unknown entity {name!r}{_did_you_mean(name, ENTITY_TYPES)}"
            )
    return found


def names(
    value: str | Iterable[str], what: str, where: str, *, star: bool = True
) -> tuple[str, ...]:
    """Normalise one name or a list of names, refusing empty or malformed ones."""
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items:
        raise ConfigurationError(f"{where}: needs at least one {what}")
    for item in items:
        if not isinstance(item, str) or not ((star and item == "*") or _NAME.match(item)):
            raise ConfigurationError(f"{where}: invalid {what} name {item!r}")
    return tuple(dict.fromkeys(items))


@attrs.frozen(init=False)
class Role:
    """A role, possibly inheriting the permissions of others.

    Args:
        name: the role's name (``"manager"``).
        inherits: roles whose rules also apply to this one.
        description: free text for administrators.
    """

    name: str
    inherits: tuple[str, ...] = ()
    description: str = ""

    def __init__(
        self, name: str, inherits: str | Iterable[str] = (), description: str = ""
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigurationError(f"invalid role name {name!r}")
        parents = names(inherits, "role", f"role {name!r}", star=False) if inherits else ()
        if name in parents:
            raise ConfigurationError(f"role {name!r} inherits itself")
        self.__attrs_init__(name, parents, str(description))


@attrs.frozen(init=False)
class Rule:
    """One permission: allow or deny ``actions`` on ``entities`` to ``roles``.

    Args:
        effect: ``"allow"`` or ``"deny"``; a matching deny always wins.
        roles: role names, or ``"*"`` for any principal.
        actions: ``create``, ``read``, ``update``, ``delete``, ``merge``,
            ``export``, ``import``, ``erase``, ``manage_policy``,
            ``transition:<event>``, ``transition:*`` or ``"*"``.
        entities: entity type names (``"Customer"``) or ``"*"``.
        condition: a :class:`Condition` or its text; without one the rule
            applies to every record.
        name: a unique name that decisions and errors cite; a policy names
            unnamed rules ``rule-<n>``.
        description: free text for administrators.

    Raises:
        ConfigurationError: a malformed field; a condition that does not parse
            raises :class:`ConditionError` naming the rule and the position.
    """

    name: str | None
    effect: Effect
    roles: tuple[str, ...]
    entities: tuple[str, ...]
    actions: tuple[str, ...]
    condition: Condition | None = None
    description: str = ""

    def __init__(
        self,
        *,
        effect: Effect = "allow",
        roles: str | Iterable[str],
        actions: str | Iterable[str],
        entities: str | Iterable[str] = "*",
        condition: Condition | str | None = None,
        name: str | None = None,
        description: str = "",
    ) -> None:
        where = f"rule {name!r}" if name else "rule"
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigurationError(f"invalid rule name {name!r}")
        if effect not in ("allow", "deny"):
            raise ConfigurationError(f"{where}: effect must be 'allow' or 'deny', not {effect!r}")
        role_names = names(roles, "role", where)
        entity_names = check_entities(entities, where)
        acts = (actions,) if isinstance(actions, str) else tuple(actions)
        if not acts:
            raise ConfigurationError(f"{where}: needs at least one action")
        acts = tuple(dict.fromkeys(check_action(a, where) for a in acts))
        cond: Condition | None
        if condition is None or isinstance(condition, Condition):
            cond = condition
        elif isinstance(condition, str):
            cond = parse_condition(condition, rule=name)
        else:
            raise ConditionError(
                f"a condition must be text or a Condition, not {type(condition).__name__}",
                rule=name,
            )
        self.__attrs_init__(name, effect, role_names, entity_names, acts, cond, str(description))

    @classmethod
    def allow(
        cls,
        name: str | None,
        *,
        roles: str | Iterable[str],
        actions: str | Iterable[str],
        entities: str | Iterable[str] = "*",
        when: Condition | str | None = None,
        description: str = "",
    ) -> Rule:
        """An allow rule (see the class for the arguments; ``when`` is the condition)."""
        return cls(
            effect="allow",
            roles=roles,
            actions=actions,
            entities=entities,
            condition=when,
            name=name,
            description=description,
        )

    @classmethod
    def deny(
        cls,
        name: str | None,
        *,
        roles: str | Iterable[str],
        actions: str | Iterable[str],
        entities: str | Iterable[str] = "*",
        when: Condition | str | None = None,
        description: str = "",
    ) -> Rule:
        """A deny rule: wins over every allow when it matches."""
        return cls(
            effect="deny",
            roles=roles,
            actions=actions,
            entities=entities,
            condition=when,
            name=name,
            description=description,
        )

    def covers(self, entity: str, action: str) -> bool:
        """Whether the rule is about ``action`` on ``entity`` (roles and condition aside)."""
        return ("*" in self.entities or entity in self.entities) and any(
            action_matches(a, action) for a in self.actions
        )

    def covers_read(self) -> bool:
        """Whether the rule can take part in a ``read`` filter."""
        return any(action_matches(a, "read") for a in self.actions)

    def named(self, name: str) -> Rule:
        """The same rule under another name."""
        return attrs.evolve(self, name=name)

    def to_dict(self) -> dict[str, object]:
        """The rule as plain data (a policy document's ``rules`` entry)."""
        data: dict[str, object] = {"name": self.name, "effect": self.effect}
        data["roles"] = list(self.roles)
        data["entities"] = list(self.entities)
        data["actions"] = list(self.actions)
        if self.condition is not None:
            data["condition"] = self.condition.source
        if self.description:
            data["description"] = self.description
        return data
