"""Survivorship: how the record that stays after a merge is built, field by field (pure).

:func:`build_survivor` chooses each field of the merged record from the
records being merged by a :class:`Survivorship` of per-field rules (survivor
first, most recent, most complete, longest, most trusted source, or the union
for multi-valued fields); a Customer's differing primary e-mails and phones
are kept as additional ones, never dropped. The use cases that store a merge
and undo it exactly are :func:`crmcore.services.merge` and
:func:`crmcore.services.unmerge`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from crmcore.model import (
    Customer,
    EmailAddress,
    Entity,
    PhoneNumber,
    from_data,
    to_data,
)

__all__ = [
    "BOOKKEEPING",
    "DEFAULT_SURVIVORSHIP",
    "SurvivorRule",
    "Survivorship",
    "build_survivor",
]

E = TypeVar("E", bound=Entity)

#: fields a merge never takes from another record
BOOKKEEPING = frozenset({"id", "tenant_id", "created_at", "updated_at", "version", "deleted_at"})


class SurvivorRule(str, enum.Enum):
    """How one field of the survivor is chosen."""

    #: the survivor's value; if it has none, the first other record's that has one
    SURVIVOR = "survivor"
    #: the value of the most recently updated record that has one
    MOST_RECENT = "most_recent"
    #: the value of the record with the most filled fields that has one
    MOST_COMPLETE = "most_complete"
    #: the longest text value
    LONGEST = "longest"
    #: the value of the record whose ``source`` ranks first in ``trusted_sources``
    TRUSTED_SOURCE = "trusted_source"
    #: every value of every record, survivor's first, without repeats (multi-valued fields)
    UNION = "union"


@attrs.frozen
class Survivorship:
    """Per-field rules for building the merged record.

    Args:
        default: the rule for fields not listed.
        fields: field name -> rule.
        trusted_sources: ``source`` values from most to least trusted.
    """

    default: SurvivorRule = SurvivorRule.SURVIVOR
    fields: Mapping[str, SurvivorRule] = attrs.field(factory=dict)
    trusted_sources: tuple[str, ...] = ()

    def rule(self, field: str) -> SurvivorRule:
        """The rule for ``field``."""
        return SurvivorRule(self.fields.get(field, self.default))


DEFAULT_SURVIVORSHIP = Survivorship(
    fields={
        "tags": SurvivorRule.UNION,
        "emails": SurvivorRule.UNION,
        "phones": SurvivorRule.UNION,
        "addresses": SurvivorRule.UNION,
        "skills": SurvivorRule.UNION,
        "custom": SurvivorRule.UNION,
    }
)


def _filled(value: object) -> bool:
    return value is not None and value != "" and value != () and value != frozenset()


def _completeness(data: Mapping[str, Any]) -> int:
    return sum(1 for k, v in data.items() if k not in BOOKKEEPING and _filled(v) and v != {})


def _union(values: Iterable[Any]) -> Any:
    out: list[Any] = []
    for v in values:
        if isinstance(v, Mapping):
            continue
        for item in v or ():
            if item not in out:
                out.append(item)
    return out


def _choose(
    field: str, rule: SurvivorRule, records: Sequence[Mapping[str, Any]], survivorship: Survivorship
) -> tuple[Any, int]:
    """The chosen value for ``field`` and the index of the record it came from."""
    candidates = [(i, r[field]) for i, r in enumerate(records) if _filled(r[field])]
    if not candidates:
        return records[0][field], 0
    if rule is SurvivorRule.UNION:
        values = [r[field] for r in records]
        if all(isinstance(v, Mapping) or v is None for v in values):
            merged: dict[str, Any] = {}
            for v in reversed(values):  # survivor's keys win
                merged.update(v or {})
            return merged, 0
        return _union(values), 0
    if rule is SurvivorRule.SURVIVOR:
        return candidates[0][1], candidates[0][0]
    if rule is SurvivorRule.MOST_RECENT:
        i, v = max(candidates, key=lambda c: (records[c[0]]["updated_at"], -c[0]))
        return v, i
    if rule is SurvivorRule.MOST_COMPLETE:
        i, v = max(candidates, key=lambda c: (_completeness(records[c[0]]), -c[0]))
        return v, i
    if rule is SurvivorRule.LONGEST:
        i, v = max(candidates, key=lambda c: (len(str(c[1])), -c[0]))
        return v, i
    ranks = {s: n for n, s in enumerate(survivorship.trusted_sources)}
    worst = len(ranks)
    i, v = min(candidates, key=lambda c: (ranks.get(str(records[c[0]].get("source")), worst), c[0]))
    return v, i


def _keep_contacts(merged: dict[str, Any], records: Sequence[Mapping[str, Any]]) -> None:
    """A Customer's primary e-mails/phones that lost keep living as additional ones."""

    def email(value: str) -> dict[str, Any]:
        return to_data(EmailAddress(address=value, label="merged"))

    def phone(value: str) -> dict[str, Any]:
        return to_data(PhoneNumber(number=value, label="merged"))

    makers: tuple[tuple[str, str, Callable[[str], dict[str, Any]]], ...] = (
        ("email", "emails", email),
        ("phone", "phones", phone),
    )
    for primary, extra, make in makers:
        known = {merged[primary]} | {
            item.get("address") or item.get("number") for item in merged[extra]
        }
        for r in records:
            value = r[primary]
            if value and value not in known:
                merged[extra].append(make(value))
                known.add(value)


def build_survivor(
    entity_type: type[E], records: Sequence[E], survivorship: Survivorship
) -> tuple[E, dict[str, uuid.UUID]]:
    """The merged record (survivor first in ``records``) and, per field, the id it came from."""
    datas = [to_data(r) for r in records]
    merged = dict(datas[0])
    sources: dict[str, uuid.UUID] = {}
    for field in datas[0]:
        if field in BOOKKEEPING:
            continue
        value, i = _choose(field, survivorship.rule(field), datas, survivorship)
        merged[field] = value
        sources[field] = records[i].id
    merged["created_at"] = min(d["created_at"] for d in datas)
    if entity_type is Customer:
        _keep_contacts(merged, datas)
    return from_data(entity_type, merged), sources
