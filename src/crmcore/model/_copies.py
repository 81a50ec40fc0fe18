"""Bookkeeping fields that hold copies of another record's values (security, issue #13).

An audit entry copies the changed values of a record, a merge journal whole
records, a transition row a snapshot. An entity type declares such fields with
``__crm_copies__ = ValueCopies(...)``; the policy guard then shows a row only
if the principal may read the record it is about, and the copies at the
principal's field levels for that record's entity, and the encryption layer
seals copies of protected values. One declaration serves every layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from crmcore.model._base import Entity, replace_trusted

__all__ = [
    "VALUE_COPY_OPENER",
    "ValueCopies",
    "map_value_copies",
    "shown_changes",
    "shown_copies",
    "value_copies",
]

#: the session extension (a dict) where a layer that stores copies differently
#: (the encryption layer seals them) puts ``"open"`` (raw row -> row as written)
#: and ``"protected"`` (entity name -> fields never to be copied in plaintext)
VALUE_COPY_OPENER = "crmcore.value_copies.opener"

#: ``data``: ``{field: value}`` of the entity (a snapshot, a whole record);
#: ``changes``: ``{field: {"from": old, "to": new}}`` (an audit entry)
CopyShape = Literal["data", "changes"]
#: ``(entity name, shape, copy)`` -> the copy as it should be
CopyMap = Callable[[str, CopyShape, Mapping[str, Any]], Mapping[str, Any]]
View = Callable[[Mapping[str, Any]], Mapping[str, Any]]


@attrs.frozen
class ValueCopies:
    """Which fields of a bookkeeping entity copy values of which record.

    Args:
        entity: the field naming the entity type the row is about (``"entity"``).
        record: the field holding that record's id (``"record_id"``).
        paths: copy locations -> shape. A path is a field name, optionally
            followed by ``.key`` steps into mappings; a step ending in ``[]``
            is a list of copies (``"journal.merged[]"``).
    """

    entity: str
    record: str
    paths: Mapping[str, CopyShape]


def value_copies(entity_type: type[Entity]) -> ValueCopies | None:
    """The copies ``entity_type`` declares (``__crm_copies__``), or None."""
    spec = getattr(entity_type, "__crm_copies__", None)
    return spec if isinstance(spec, ValueCopies) else None


def _apply(value: Any, steps: list[str], fn: Callable[[Mapping[str, Any]], Any]) -> Any:
    if not steps:
        return fn(value) if isinstance(value, Mapping) else value
    step, rest = steps[0], steps[1:]
    many = step.endswith("[]")
    key = step[:-2] if many else step
    if not isinstance(value, Mapping) or key not in value:
        return value
    inner = value[key]
    if many:
        if not isinstance(inner, (list, tuple)):
            return value
        new: Any = [_apply(v, rest, fn) for v in inner]
    else:
        new = _apply(inner, rest, fn)
    out = dict(value)
    out[key] = new
    return out


def map_value_copies(record: Any, fn: CopyMap) -> Any:
    """``record`` with every declared copy replaced by ``fn(entity, shape, copy)``.

    Records of types that declare no copies, or rows about no entity, come back as they are.
    """
    spec = value_copies(type(record))
    if spec is None:
        return record
    entity = getattr(record, spec.entity, None)
    if not isinstance(entity, str):
        return record
    changed: dict[str, Any] = {}
    for path, shape in spec.paths.items():
        first, *steps = path.split(".")
        current = changed.get(first, getattr(record, first))

        def one(copy: Mapping[str, Any], shape: CopyShape = shape) -> Any:
            return fn(entity, shape, copy)

        if first.endswith("[]"):
            raise ValueError(f"a copy path starts with a field, not a list: {path!r}")
        new = _apply(current, steps, one)
        if new is not current:
            changed[first] = new
    return replace_trusted(record, **changed) if changed else record


#: a non-empty value a hidden field turns into None and a masked one into a mask
_PROBE = "x"


def shown_changes(changes: Mapping[str, Any], view: View) -> Mapping[str, Any]:
    """Audit-style ``changes`` at a viewer's field levels.

    Masked values are masked; a hidden field is recorded as changed without
    its values (``{"changed": True, "redacted": True}``).
    """
    plain = {k: v for k, v in changes.items() if isinstance(v, Mapping) and "from" in v}
    if not plain:
        return changes
    before = view({k: v["from"] for k, v in plain.items()})
    after = view({k: v["to"] for k, v in plain.items()})
    hidden = view(dict.fromkeys(plain, _PROBE))
    out = dict(changes)
    for k in plain:
        if hidden[k] is None:
            out[k] = {"changed": True, "redacted": True}
        else:
            out[k] = {"from": before[k], "to": after[k]}
    return out


def shown_copies(record: Any, view_of: Callable[[str], View]) -> Any:
    """``record`` with its copies shown through ``view_of(entity)``."""

    def show(entity: str, shape: CopyShape, copy: Mapping[str, Any]) -> Mapping[str, Any]:
        view = view_of(entity)
        return shown_changes(copy, view) if shape == "changes" else dict(view(dict(copy)))

    return map_value_copies(record, show)
