"""Field-level security: which fields of an entity a role may read, see masked, or write.

A :class:`FieldLevelRule` gives roles a level per field of some entity types::

    FieldLevelRule(roles="support", entities="Customer",
              fields={"phone": "masked:phone", "email": "masked:email",
                      "national_id": "hidden", "notes": "write", "*": "read"})

Levels, from least to most permissive: ``hidden`` (no access; the value reads
as ``None``, a list or mapping field as an empty one), ``masked`` (readable
through a masking function), ``read``, ``write``. ``masked`` takes a masker
name: ``masked:phone``, ``masked:email``, ``masked:partial`` (the default),
``masked:full`` or one registered with the policy. ``deny`` is an explicit
refusal: the field is hidden whatever any other rule grants. ``"*"`` sets the
level of every field the rule does not name.

How the levels of several rules combine, for one principal and entity:

- the rules that apply are those of the principal's roles *including inherited
  roles* (a ``manager`` who inherits ``sales_rep`` gets ``sales_rep``'s field
  rules too);
- a field named ``deny`` by any of them is hidden;
- otherwise the most permissive level any of them gives wins, where a rule
  gives a field its named level, else its ``"*"`` level, else nothing;
- a field no applying rule gives a level to is fully accessible (``write``):
  with no field rules at all, everything is.

:class:`FieldAccess` is that combination compiled for one set of roles; the
policy caches it.
"""

from __future__ import annotations

import copy
import difflib
import enum
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from crmcore.errors import ConfigurationError, PermissionDenied
from crmcore.model import ENTITY_TYPES, fields_of, replace_trusted
from crmcore.policy._rules import check_entities, names

__all__ = ["FieldAccess", "FieldLevel", "FieldLevelRule", "parse_level"]

T = TypeVar("T")


class FieldLevel(str, enum.Enum):
    """What a principal may do with one field."""

    HIDDEN = "hidden"
    MASKED = "masked"
    READ = "read"
    WRITE = "write"

    @property
    def rank(self) -> int:
        """Permissiveness: hidden 0 < masked 1 < read 2 < write 3."""
        return _RANK[self]

    @property
    def readable(self) -> bool:
        """Whether the value (perhaps masked) may be shown."""
        return self is not FieldLevel.HIDDEN

    @property
    def writable(self) -> bool:
        """Whether the field may be written."""
        return self is FieldLevel.WRITE


_RANK = {FieldLevel.HIDDEN: 0, FieldLevel.MASKED: 1, FieldLevel.READ: 2, FieldLevel.WRITE: 3}
_READ_RANK = 2
DENY = "deny"


def parse_level(spec: object, where: str, maskers: Collection[str]) -> tuple[str, str | None]:
    """Split a level spec (``"masked:phone"``) into (level, masker name).

    The level is a :class:`FieldLevel` value or ``"deny"``.

    Raises:
        ConfigurationError: an unknown level or masker.
    """
    if not isinstance(spec, str):
        raise ConfigurationError(f"{where}: a field level must be text, not {spec!r}")
    level, _, mask = spec.partition(":")
    if level == "masked":
        mask = mask or "partial"
        if mask not in maskers:
            raise ConfigurationError(
                f"{where}: unknown masker {mask!r}; known: {', '.join(sorted(maskers))}"
            )
        return level, mask
    if mask or level not in ("hidden", "read", "write", DENY):
        raise ConfigurationError(
            f"{where}: unknown field level {spec!r}; use read, write, hidden, deny or"
            " masked[:phone|email|partial|full|<registered>]"
        )
    return level, None


@attrs.frozen(init=False)
class FieldLevelRule:
    """Field levels for some roles on some entity types.

    Args:
        roles: role names (or ``"*"`` for everyone).
        entities: entity type names (or ``"*"``).
        fields: field name (or ``"*"``) -> level spec: ``read``, ``write``,
            ``hidden``, ``deny``, ``masked`` or ``masked:<masker>``. A dotted
            name such as ``custom.tier`` reaches into a mapping field.
        name: an optional name for messages.
    """

    roles: tuple[str, ...]
    entities: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]
    name: str | None = None

    def __init__(
        self,
        *,
        roles: str | Iterable[str],
        fields: Mapping[str, str],
        entities: str | Iterable[str] = "*",
        name: str | None = None,
    ) -> None:
        where = f"field rule {name!r}" if name else "field rule"
        if not isinstance(fields, Mapping) or not fields:
            raise ConfigurationError(f"{where}: 'fields' must map field names to levels")
        for field, spec in fields.items():
            if (
                not isinstance(field, str)
                or not field
                or field.startswith(".")
                or field.endswith(".")
            ):
                raise ConfigurationError(f"{where}: invalid field name {field!r}")
            if field == "*" and isinstance(spec, str) and spec == DENY:
                raise ConfigurationError(f"{where}: '*' cannot be 'deny'; use 'hidden'")
            if not isinstance(spec, str):
                raise ConfigurationError(f"{where}: the level of {field!r} must be text")
        entity_names = check_entities(entities, where)
        for entity in entity_names:
            if entity == "*":
                continue
            known = fields_of(ENTITY_TYPES[entity])
            for field in fields:
                head = field.split(".", 1)[0]
                if field != "*" and head not in known:
                    hint = difflib.get_close_matches(head, sorted(known), n=1, cutoff=0.5)
                    raise ConfigurationError(
                        f"{where}: {entity} has no field {head!r}"
                        + (f"; did you mean {hint[0]!r}?" if hint else "")
                    )
        self.__attrs_init__(names(roles, "role", where), entity_names, tuple(fields.items()), name)

    def level_map(self) -> dict[str, str]:
        """The field -> level spec mapping."""
        return dict(self.fields)

    def to_dict(self) -> dict[str, object]:
        """The rule as plain data (a policy document's ``field_rules`` entry)."""
        data: dict[str, object] = {
            "roles": list(self.roles),
            "entities": list(self.entities),
            "fields": self.level_map(),
        }
        if self.name:
            data["name"] = self.name
        return data


_osetattr = object.__setattr__


#: text fields of a value object that describe it rather than hold it (kept as they are)
_DESCRIPTIVE = frozenset({"kind", "label"})


def _apply_mask(fn: Callable[[str], str], value: object) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_apply_mask(fn, v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(_apply_mask(fn, v) for v in value if v is not None)
    if attrs.has(type(value)):
        # a value object (PhoneNumber, EmailAddress, Address) stays one: its text masked
        changes = {
            a.name: fn(v)
            for a in attrs.fields(type(value))  # type: ignore[arg-type]
            if a.name not in _DESCRIPTIVE and isinstance(v := getattr(value, a.name), str)
        }
        return replace_trusted(value, **changes) if changes else value
    return fn(str(value))


def _hidden(value: object) -> object:
    """What a hidden value reads as: ``None``, or an empty collection of its own type.

    An empty collection keeps a masked record a valid record (a hidden
    ``emails`` list must still convert as a list when the record is evolved).
    """
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)()
    if isinstance(value, Mapping):
        return {}
    return None


class FieldAccess:
    """The compiled field levels of one principal on one entity type (immutable).

    Get one from :meth:`Policy.field_access`; use :meth:`mask` on records
    before returning them and :meth:`check_write` before writing.
    """

    __slots__ = (
        "_default",
        "_entity",
        "_levels",
        "_masks",
        "_plans",
        "_roles",
        "_sub",
        "_unrestricted",
    )

    def __init__(
        self,
        entity: str,
        levels: Mapping[str, FieldLevel],
        default: FieldLevel = FieldLevel.WRITE,
        masks: Mapping[str, Callable[[str], str]] | None = None,
        roles: Iterable[str] = (),
    ) -> None:
        self._entity = entity
        self._levels = dict(levels)
        self._default = default
        self._masks = dict(masks or {})
        self._roles = frozenset(roles)
        sub: dict[str, dict[str, FieldLevel]] = {}
        for name, level in self._levels.items():
            head, dot, rest = name.partition(".")
            if dot:
                sub.setdefault(head, {})[rest] = level
        self._sub = sub
        self._unrestricted = self._default is FieldLevel.WRITE and all(
            lv is FieldLevel.WRITE for lv in self._levels.values()
        )
        # per record class: the fields mask() must look at (the rest pass as they are)
        self._plans: dict[type, tuple[str, ...]] = {}

    @property
    def entity(self) -> str:
        """The entity type name."""
        return self._entity

    @property
    def default(self) -> FieldLevel:
        """The level of fields not named by any rule."""
        return self._default

    @property
    def levels(self) -> Mapping[str, FieldLevel]:
        """The level of every field some rule names."""
        return dict(self._levels)

    @property
    def unrestricted(self) -> bool:
        """True when every field is writable (no field rule restricts this principal)."""
        return self._unrestricted

    def level(self, field: str) -> FieldLevel:
        """The level of ``field`` (``"phone"``, ``"custom.tier"``, ``"custom.salary.amount"``).

        A path takes the level of its longest prefix some rule names, so hiding
        ``custom.salary`` also hides ``custom.salary.amount``.
        """
        lv = self._levels.get(field)
        if lv is not None:
            return lv
        path = field
        while "." in path:
            path = path.rpartition(".")[0]
            lv = self._levels.get(path)
            if lv is not None:
                return lv
        return self._default

    def sub_fields(self) -> Mapping[str, tuple[str, ...]]:
        """Mapping fields with keys some rule names: field -> keys (``custom`` -> ``salary``)."""
        return {name: tuple(keys) for name, keys in self._sub.items()}

    def can_read(self, field: str) -> bool:
        """Whether ``field`` may be shown (perhaps masked)."""
        return self.level(field).readable

    def can_write(self, field: str) -> bool:
        """Whether ``field`` may be written."""
        return self.level(field).writable

    def _changes(self, names_: Iterable[str], get: Callable[[str], Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name in names_:
            if name in self._sub:
                inner = get(name)
                if isinstance(inner, Mapping):
                    masked = self._masked_mapping(name, inner, self.level(name))
                    if masked is not inner:
                        changes[name] = masked
                    continue
            lv = self.level(name)
            if lv is FieldLevel.HIDDEN:
                value = get(name)
                if value is not None:
                    changes[name] = _hidden(value)
            elif lv is FieldLevel.MASKED:
                value = get(name)
                if value is not None:
                    changes[name] = _apply_mask(self._masks.get(name) or self._masks["*"], value)
        return changes

    def _masked_mapping(
        self, parent: str, inner: Mapping[str, Any], outer: FieldLevel
    ) -> Mapping[str, Any]:
        out: dict[str, Any] | None = None
        levels = self._sub[parent]
        for key, value in inner.items():
            lv = levels.get(key, outer)
            if lv is FieldLevel.HIDDEN and value is not None:
                new: Any = None
            elif lv is FieldLevel.MASKED and value is not None:
                full = f"{parent}.{key}"
                new = _apply_mask(self._masks.get(full) or self._masks["*"], value)
            else:
                continue
            if out is None:
                out = dict(inner)
            out[key] = new
        return inner if out is None else out

    def mask(self, record: T) -> T:
        """A copy of ``record`` with hidden fields set to ``None`` and masked fields masked.

        Works on attrs records (copied with validators bypassed, since a masked
        phone would fail a phone validator: masked records are for display,
        never for writing back) and on mappings (a ``dict`` copy). A record
        with nothing to hide is returned as it is.
        """
        if self._unrestricted or record is None:
            return record
        if isinstance(record, Mapping):
            changes = self._changes(list(record.keys()), record.get)
            if not changes:
                return record
            out = dict(record)
            out.update(changes)
            return out  # type: ignore[return-value]
        cls = type(record)
        names = self._plans.get(cls)
        if names is None:
            every = [a.name for a in attrs.fields(cls)] if attrs.has(cls) else list(vars(record))
            names = tuple(n for n in every if n in self._sub or self.level(n).rank < _READ_RANK)
            if attrs.has(cls):
                self._plans[cls] = names
        changes = self._changes(names, lambda n: getattr(record, n, None))
        if not changes:
            return record
        if cls in self._plans:  # attrs: a generated field-by-field copy, no validators
            return replace_trusted(record, **changes)
        clone = copy.copy(record)
        for name, value in changes.items():
            _osetattr(clone, name, value)
        return clone

    def check_write(
        self,
        changed_fields: Iterable[str],
        *,
        action: str = "update",
        id: object | None = None,
        principal: str | None = None,
    ) -> None:
        """Refuse the write if any changed field is not writable.

        Args:
            changed_fields: the names of the fields being written
                (``"custom.tier"`` for one custom value; ``"custom"`` checks
                every restricted custom value as well).
            action: for the message (``"create"``, ``"update"``).
            id: the record id, for the message.
            principal: who writes, for the message.

        Raises:
            PermissionDenied: naming the first field that may not be written and its level.
        """
        for name in changed_fields:
            offending = [name] if not self.can_write(name) else []
            head, dot, rest = name.partition(".")
            if not offending and head in self._sub:  # keys some rule restricts, under name
                offending = [
                    f"{head}.{k}"
                    for k, lv in self._sub[head].items()
                    if not lv.writable and (not dot or k == rest or k.startswith(rest + "."))
                ]
            if offending:
                field = offending[0]
                level = self.level(field).value
                roles = ", ".join(sorted(self._roles)) or "none"
                raise PermissionDenied(
                    action,
                    self._entity,
                    id=id,
                    field=field,
                    reason=f"field {field!r} is {level} for roles {{{roles}}}",
                    principal=principal,
                )

    def __repr__(self) -> str:
        shown = {k: v.value for k, v in sorted(self._levels.items())}
        return f"FieldAccess({self._entity!r}, default={self._default.value!r}, levels={shown!r})"


FULL_ACCESS_LEVEL = FieldLevel.WRITE


def compile_field_access(
    entity: str,
    rules: Iterable[FieldLevelRule],
    roles: frozenset[str],
    expanded: frozenset[str],
    maskers: Mapping[str, Callable[[str], str]],
) -> FieldAccess:
    """Combine the field rules that apply to ``expanded`` roles on ``entity`` (see the module)."""
    applying = [
        r
        for r in rules
        if ("*" in r.entities or entity in r.entities)
        and ("*" in r.roles or not expanded.isdisjoint(r.roles))
    ]
    if not applying:
        return FieldAccess(entity, {}, FieldLevel.WRITE, maskers, roles)
    parsed = [
        {f: parse_level(spec, "field rule", maskers) for f, spec in r.fields} for r in applying
    ]
    named = {f for levels in parsed for f in levels if f != "*"}
    stars = [levels["*"] for levels in parsed if "*" in levels]
    default = max(
        (FieldLevel(lv) for lv, _ in stars), key=_RANK.__getitem__, default=FieldLevel.WRITE
    )
    default_mask = next((m for lv, m in stars if FieldLevel(lv) is default and m), "partial")
    levels: dict[str, FieldLevel] = {}
    masks: dict[str, Callable[[str], str]] = {"*": maskers[default_mask]}
    for field in named:
        candidates = [lv.get(field) or lv.get("*") for lv in parsed]
        given = [c for c in candidates if c is not None]
        if any(lv == DENY for lv, _ in given):
            levels[field] = FieldLevel.HIDDEN
            continue
        best = max((FieldLevel(lv) for lv, _ in given), key=_RANK.__getitem__)
        levels[field] = best
        if best is FieldLevel.MASKED:
            mask = next((m for lv, m in given if lv == "masked" and m), "partial")
            masks[field] = maskers[mask]
    return FieldAccess(entity, levels, default, masks, roles)
