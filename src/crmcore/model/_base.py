"""Identity, time and the fields every entity shares."""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import math
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import attrs

from crmcore._text import bad_int_reason, bad_text_reason
from crmcore.errors import FieldError, ValidationError

__all__ = ["Entity", "fields_of", "new_id", "replace_trusted", "utcnow"]

T = TypeVar("T")
_lock = threading.Lock()
_last_ms = 0
_seq = 0


def new_id() -> uuid.UUID:
    """A time-ordered UUID (version 7, RFC 9562), monotonic within this process.

    Ids sort by creation time, which keeps B-tree inserts local and makes
    ``order_by="id"`` a stable creation order.
    """
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _seq = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        else:
            _seq += 1
            if _seq > 0xFFF:  # counter exhausted within one millisecond: borrow the next
                _last_ms += 1
                _seq = 0
        ms, seq = _last_ms, _seq
    rand = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)


def utcnow() -> _dt.datetime:
    """The current time as an aware UTC datetime."""
    return _dt.datetime.now(_dt.timezone.utc)


def _aware(value: _dt.datetime) -> _dt.datetime:
    if not isinstance(value, _dt.datetime):
        raise ValidationError.single("$", "invalid_datetime", "expected a datetime", value)
    if value.tzinfo is None:
        raise ValidationError.single(
            "$", "naive_datetime", "timestamps must be timezone-aware", value
        )
    return value.astimezone(_dt.timezone.utc)


def _aware_opt(value: _dt.datetime | None) -> _dt.datetime | None:
    return None if value is None else _aware(value)


def _tags(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        value = (value,)
    return frozenset(t.strip() for t in value if t and t.strip())


def replace_trusted(obj: T, **changes: Any) -> T:
    """``attrs.evolve`` without re-running converters and validators.

    Only for values the caller has already checked (stamps a store or a session
    sets: tenant ids, aware UTC times from the clock, version numbers). It is
    several times faster than ``evolve`` on the write hot path.
    """
    cls: type = type(obj)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _copier(cls)
    new: T = copier(obj)
    if changes:
        if not changes.keys() <= _slot_names(cls):
            name = min(changes.keys() - _slot_names(cls))
            raise TypeError(f"{cls.__name__} has no field {name!r}")
        put = object.__setattr__
        for name, value in changes.items():
            put(new, name, value)
        if cls.__dict__.get("__crm_derived__"):
            for name, value in new._derived().items():  # type: ignore[attr-defined]
                put(new, name, value)
    return new


@functools.cache
def _slot_names(cls: type) -> frozenset[str]:
    return frozenset(a.name for a in attrs.fields(cls))


def fields_of(cls: type) -> frozenset[str]:
    """The names of an attrs entity's (or value object's) fields (computed once per class)."""
    return _slot_names(cls)


#: the generated copier of each class (a plain dict: read on every write, no cache wrapper)
_COPIERS: dict[type, Any] = {}


def _copier(cls: type) -> Any:
    """A generated function copying every field of an attrs slotted class."""
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = copier_with(cls, {})
    return copier


def copier_with(cls: type, fixed: Mapping[str, str]) -> Any:
    """A generated ``copy(obj, *values)`` of an attrs slotted class.

    Fields named in ``fixed`` (field name -> parameter name, in call order)
    take the value passed for that parameter; every other field is copied
    as it is (no converter or validator runs: the caller vouches for the values).
    """
    params = "".join(f", {p}" for p in fixed.values())
    # the helpers are default arguments: local names, no global lookups per field
    lines = [f"def copy(obj{params}, _new=_new, _cls=_cls, _set=_set):", "    new = _new(_cls)"]
    for a in attrs.fields(cls):
        value = fixed.get(a.name, f"obj.{a.name}")
        lines.append(f"    _set(new, {a.name!r}, {value})")
    lines.append("    return new")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_set": object.__setattr__}
    exec("\n".join(lines), namespace)
    return namespace["copy"]


_JSON_SCALARS = (str, int, float, bool, type(None))

#: Limits on custom data (docs/query.md): key length, one text value, nesting, whole mapping.
MAX_CUSTOM_KEY = 200
MAX_CUSTOM_TEXT = 65_536
MAX_CUSTOM_DEPTH = 16
#: Characters of keys and text plus 8 per other scalar, over the whole ``custom`` mapping.
MAX_CUSTOM_SIZE = 1_048_576


class _Walk:
    __slots__ = ("errors", "size")

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.size = 0

    def bad(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, "invalid_custom_value", message))


def _json_key(path: str, key: object, walk: _Walk) -> str:
    text = str(key)
    walk.size += len(text)
    if len(text) > MAX_CUSTOM_KEY:
        walk.bad(path, f"custom keys are at most {MAX_CUSTOM_KEY} characters")
    elif reason := bad_text_reason(text):
        walk.bad(path, f"custom key {reason}")
    return text


def _json_value(path: str, value: object, walk: _Walk, depth: int = 0) -> Any:
    if isinstance(value, str):
        walk.size += len(value)
        if len(value) > MAX_CUSTOM_TEXT:
            walk.bad(path, f"custom text is at most {MAX_CUSTOM_TEXT} characters")
        elif reason := bad_text_reason(value):
            walk.bad(path, f"custom text {reason}")
        return value
    if isinstance(value, _JSON_SCALARS):
        walk.size += 8
        if isinstance(value, float) and not math.isfinite(value):
            walk.bad(path, "NaN and infinity are not allowed")
        elif type(value) is int and (reason := bad_int_reason(value)):
            walk.bad(path, f"custom integer {reason}")
        return value
    if depth >= MAX_CUSTOM_DEPTH:
        walk.bad(path, f"custom data nests deeper than {MAX_CUSTOM_DEPTH} levels")
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(f"{path}[{i}]", v, walk, depth + 1) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {
            _json_key(f"{path}.{k}", k, walk): _json_value(f"{path}.{k}", v, walk, depth + 1)
            for k, v in value.items()
        }
    walk.bad(
        path,
        f"custom values must be JSON data (text, number, bool, list), not {type(value).__name__}",
    )
    return value


def _custom(value: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError.single("$.custom", "invalid_custom", "custom must be a mapping")
    walk = _Walk()
    out = {
        _json_key(f"$.custom.{k}", k, walk): _json_value(f"$.custom.{k}", v, walk, 1)
        for k, v in value.items()
    }
    if walk.size > MAX_CUSTOM_SIZE and not walk.errors:
        walk.bad("$.custom", f"custom data is larger than {MAX_CUSTOM_SIZE} characters")
    if walk.errors:
        raise ValidationError(walk.errors)
    return out


#: fields a short repr leaves out: every record has them, a reader rarely needs them
_QUIET = frozenset({"tenant_id", "created_at", "updated_at", "sealed", "search_keys", "custom"})
_REPR_FIELDS = 8
_REPR_WIDTH = 40


def _show(value: object) -> str:
    """A field value as a person reads it: ISO times, ``5 CNY``, ``{'vip'}``, enum values."""
    if isinstance(value, _dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return repr(value.value)
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(repr(v) for v in value)) + "}"
    if "__str__" in type(value).__dict__ and not isinstance(value, str):
        return str(value)  # value objects that say how they read (Money: "5 CNY")
    return repr(value)


def _short(value: object, width: int = _REPR_WIDTH) -> str:
    text = _show(value)
    return text if len(text) <= width else text[: width - 1] + "…"


@attrs.frozen(kw_only=True, repr=False)
class Entity:
    """Fields every aggregate has.

    Attributes:
        id: time-ordered UUID, assigned at construction.
        tenant_id: the owning tenant; a session stamps it on add.
        created_at / updated_at: aware UTC timestamps; a session stamps them.
        version: optimistic-concurrency counter; 0 until first stored, then
            incremented by every update. An update carrying a stale version is
            refused with :class:`crmcore.errors.Conflict`.
        deleted_at: set by a soft delete; soft-deleted rows are hidden from
            finds unless asked for.
        custom: tenant-defined custom field values (JSON data).

    Entity types that can hold protected values (:class:`Protectable`) also
    carry the encryption layer's storage-internal fields.
    """

    #: fields a repository keeps an index on (equality lookups and ordering)
    __crm_indexes__: ClassVar[tuple[str, ...]] = ()
    #: fields that hold another record's id (re-pointed when records merge)
    __crm_references__: ClassVar[tuple[str, ...]] = ()
    #: stored fields computed from the others (``init=False``): set on construction
    #: and on every trusted copy by :meth:`_derived`, never by a caller
    __crm_derived__: ClassVar[tuple[str, ...]] = ()

    id: uuid.UUID = attrs.field(factory=new_id)
    tenant_id: str = ""
    created_at: _dt.datetime = attrs.field(factory=utcnow, converter=_aware)
    updated_at: _dt.datetime = attrs.field(factory=utcnow, converter=_aware)
    version: int = 0
    deleted_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    custom: Mapping[str, Any] = attrs.field(factory=dict, converter=_custom, hash=False)

    @classmethod
    def entity_name(cls) -> str:
        """The entity type's name as used in errors, policies and audit (``"Customer"``)."""
        return cls.__name__

    @property
    def is_deleted(self) -> bool:
        """Whether the record is soft-deleted."""
        return self.deleted_at is not None

    def _set_fields(self) -> list[tuple[str, object]]:
        """``(name, value)`` of every field but ``id`` that holds something but its default."""
        out: list[tuple[str, object]] = []
        for a in attrs.fields(type(self)):
            if a.name == "id":
                continue
            value = getattr(self, a.name)
            if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
                # a factory default is an empty collection, or "now" for the timestamps
                unset = a.name not in ("created_at", "updated_at") and not value
            else:
                unset = value is a.default or value == a.default
            if not unset:
                out.append((a.name, value))
        return out

    def __repr__(self) -> str:
        """Short: the type, the id, then the fields that are set (at most eight, clipped)."""
        shown = [(k, v) for k, v in self._set_fields() if k not in _QUIET]
        parts = [f"id={self.id}"] + [f"{k}={_short(v)}" for k, v in shown[:_REPR_FIELDS]]
        if len(shown) > _REPR_FIELDS:
            parts.append(f"+{len(shown) - _REPR_FIELDS} more")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _repr_html_(self) -> str:
        """Every field that is set, as a two-column table (for notebooks)."""
        import html

        rows = [("id", str(self.id))] + [
            (k, _short(v, 200)) for k, v in self._set_fields() if k not in ("sealed", "search_keys")
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<div><b>{type(self).__name__}</b><table>{body}</table></div>"


@attrs.frozen(kw_only=True, repr=False)
class Protectable(Entity):
    """An entity type whose fields field-level encryption may protect (customers, leads...).

    Only these types store the encryption layer's two internal fields, so the
    other tables carry no ciphertext column and no blind-index table; an
    encryption protection naming another type is refused when it is built.

    Attributes:
        sealed: storage-internal: the ciphertexts of encrypted fields, written
            and read by the encryption layer; always empty on records a
            session returns.
        search_keys: storage-internal: blind-index tokens (``"email:..."``)
            of searchable encrypted fields; always empty on returned records.
    """

    sealed: Mapping[str, str] = attrs.field(factory=dict, hash=False, repr=False)
    search_keys: frozenset[str] = attrs.field(default=frozenset(), converter=_tags, repr=False)
