"""Record access for the lifecycle engine: read and change fields of any record.

The engine never knows the domain model. A record is an attrs instance (copied
through its ``__init__``, like :func:`attrs.evolve`, so validators and
converters run), a dataclass instance (:func:`dataclasses.replace`) or a mapping
(changed on a copy). Each record type gets one cached :class:`RecordAccess`;
for attrs classes it also caches a generated copy function per set of changed
fields, which is what keeps :meth:`Machine.fire` in the microseconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from crmcore.errors import SchemaError

__all__ = ["RecordAccess", "access_for", "get_field", "has_field", "set_fields"]

MISSING: Any = object()

#: ``evolver(record, changes) -> new record``.
Evolver = Callable[[Any, Mapping[str, Any]], Any]


def evolve_mapping(record: Any, changes: Mapping[str, Any]) -> Any:
    new = record.copy() if isinstance(record, dict) else dict(record)
    new.update(changes)
    return new


def _evolve_dataclass(record: Any, changes: Mapping[str, Any]) -> Any:
    return dataclasses.replace(record, **changes)


class RecordAccess:
    """How to read and change one kind of record (attrs, dataclass or mapping).

    Attributes:
        kind: ``"attrs"``, ``"dataclass"`` or ``"mapping"``.
        fields: the field names every record of the type has (``None`` for
            mappings, whose keys vary per record).
    """

    __slots__ = ("_aliases", "_cls", "_evolvers", "_kw_only", "fields", "kind")

    def __init__(self, cls: type[Any]) -> None:
        self._cls = cls
        self._aliases: dict[str, str] = {}
        self._kw_only: frozenset[str] = frozenset()
        self._evolvers: dict[frozenset[str], Evolver] = {}
        self.fields: frozenset[str] | None
        if attrs.has(cls):
            self.kind = "attrs"
            fs = attrs.fields(cls)
            self.fields = frozenset(a.name for a in fs)
            # attribute name -> __init__ keyword, for every init field; keyword-only
            # ones are marked so the generated copier passes them by keyword.
            self._aliases = {a.name: a.alias or a.name.lstrip("_") for a in fs if a.init}
            self._kw_only = frozenset(a.name for a in fs if a.init and a.kw_only)
        elif dataclasses.is_dataclass(cls):
            self.kind = "dataclass"
            self.fields = frozenset(f.name for f in dataclasses.fields(cls))
        elif issubclass(cls, Mapping):
            self.kind = "mapping"
            self.fields = None
        else:
            raise SchemaError(
                f"lifecycle: cannot read {cls.__name__} records: use an attrs class,"
                " a dataclass or a mapping"
            )

    def has(self, record: Any, name: str) -> bool:
        """Whether ``record`` has a field (attribute or key) called ``name``."""
        if self.fields is None:
            return name in record
        return name in self.fields

    def get(self, record: Any, name: str, default: Any = MISSING) -> Any:
        """The value of field ``name``; ``default`` when missing, if given.

        Raises:
            SchemaError: the record has no such field and no default was given.
        """
        if self.fields is None:
            value = record.get(name, MISSING)
        elif name in self.fields:
            return getattr(record, name)
        else:
            value = MISSING
        if value is MISSING:
            if default is MISSING:
                raise SchemaError(f"{type(record).__name__} record has no field {name!r}")
            return default
        return value

    def evolver(self, names: frozenset[str]) -> Evolver:
        """A function copying a record with the fields ``names`` replaced (cached).

        Raises:
            SchemaError: a field does not exist on the record type or cannot be
                set through ``__init__``.
        """
        fn = self._evolvers.get(names)
        if fn is None:
            fn = self._evolvers[names] = self._make_evolver(names)
        return fn

    def _make_evolver(self, names: frozenset[str]) -> Evolver:
        if self.kind == "mapping":
            return evolve_mapping
        assert self.fields is not None
        unknown = sorted(names - self.fields)
        if unknown:
            raise SchemaError(
                f"{self._cls.__name__} record has no field {', '.join(map(repr, unknown))}"
            )
        if self.kind == "dataclass":
            return _evolve_dataclass
        not_init = sorted(names - self._aliases.keys())
        if not_init:
            raise SchemaError(
                f"{self._cls.__name__} field {', '.join(map(repr, not_init))}"
                " cannot be changed (init=False)"
            )
        # Generated like attrs' own methods: one argument per init field (in
        # __init__ order, positional unless keyword-only), read from the changes
        # or from the old record.
        args: list[str] = []
        keywords: list[str] = []
        for name, alias in self._aliases.items():
            if name in names:
                value = f"c[{name!r}]"
            elif name.startswith("__"):
                value = f"getattr(r, {name!r})"
            else:
                value = f"r.{name}"
            if name in self._kw_only:
                keywords.append(f"{alias}={value}")
            else:
                args.append(value)
        src = f"def evolve(r, c):\n    return cls({', '.join(args + keywords)})\n"
        namespace: dict[str, Any] = {"cls": self._cls}
        exec(
            compile(src, f"<crmcore.lifecycle evolve {self._cls.__qualname__}>", "exec"), namespace
        )
        fn: Evolver = namespace["evolve"]
        return fn

    def evolve(self, record: Any, changes: Mapping[str, Any]) -> Any:
        """A copy of ``record`` with ``changes`` applied (the original is untouched).

        Raises:
            SchemaError: a changed field does not exist on the record type.
        """
        return self.evolver(frozenset(changes))(record, changes)


#: The access of every record type seen so far (read directly on hot paths).
ACCESS: dict[type[Any], RecordAccess] = {}


def access_for(record: Any) -> RecordAccess:
    """The cached :class:`RecordAccess` for the type of ``record``.

    Raises:
        SchemaError: the record is neither attrs, dataclass nor mapping.
    """
    cls = type(record)
    acc = ACCESS.get(cls)
    if acc is None:
        acc = ACCESS[cls] = RecordAccess(cls)
    return acc


def has_field(record: Any, name: str) -> bool:
    """Whether ``record`` has a field (attribute or key) called ``name``."""
    return access_for(record).has(record, name)


def get_field(record: Any, name: str, default: Any = None) -> Any:
    """The value of field ``name`` of ``record``, or ``default`` when it has none."""
    return access_for(record).get(record, name, default)


def set_fields(record: Any, **changes: Any) -> Any:
    """A copy of ``record`` with ``changes`` applied (attrs, dataclass or mapping).

    Raises:
        SchemaError: a changed field does not exist on the record type.
    """
    return access_for(record).evolve(record, changes)
