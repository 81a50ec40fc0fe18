"""The encryption layer: protected fields leave as ciphertext and come back as plaintext.

It sits between the audit layer and the adapter (DESIGN.md). On the way down,
a record's encrypted fields are sealed together in one AEAD envelope bound to
(tenant, entity, record), kept in the storage-internal ``sealed`` map under
``"*"`` with an empty entry per field it holds; the plaintext fields are
stored as NULL, and each searchable field adds a blind-index token
``"<field>:<index>"`` to ``search_keys``. On the way up, the envelope is
opened and the fields restored.

Filters are rewritten before they reach the adapter: ``==``, ``!=``, ``in_`` on
a searchable field become membership tests on ``search_keys`` (an indexed
child table in SQL, a hash index in memory); ``is_null`` on any encrypted
field tests for its entry in ``sealed``. Everything else (ranges, substrings,
ordering) cannot run on ciphertext and raises :class:`~crmcore.errors.QueryError`
instead of silently matching nothing.

A Customer's fields are encrypted under the customer's own subject key when
the keyring has subject keys enabled, so destroying that key
(``Keyring.shred``) erases them everywhere, backups included; such fields then
read as ``None``.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from crmcore.crypto._blind import BlindIndexer
from crmcore.crypto._cipher import FieldCipher, key_id_of
from crmcore.crypto._envelope import EnvelopeError, header_of
from crmcore.crypto._keys import Keyring
from crmcore.crypto._protection import DEFAULT_PROTECTION, FieldProtection
from crmcore.errors import (
    ConfigurationError,
    CrmError,
    DecryptionError,
    KeyShredded,
    QueryError,
    SchemaError,
)
from crmcore.model import (
    COLLECTIONS,
    ENTITY_TYPES,
    VALUE_COPY_OPENER,
    Entity,
    Protectable,
    fields_of,
    replace_trusted,
    value_copies,
)
from crmcore.query import Filter, Page, all_of, any_of, eq, has, not_
from crmcore.query.adapter import (
    And,
    Compare,
    Const,
    Contains,
    Has,
    In,
    IsNull,
    Not,
    Or,
    OrderSpec,
    Related,
    StartsWith,
    normalize_order,
    related_nodes,
)
from crmcore.storage.aggregate import Bucket, GroupKey, Measure, count, plan_aggregate
from crmcore.storage.ports import ForwardingRepository, Repository, UnitOfWorkContext

__all__ = [
    "RECORD",
    "EncryptingRepository",
    "Encryption",
    "default_normalizers",
]

E = TypeVar("E", bound=Protectable)
_B = TypeVar("_B", bound=Entity)
RECORD = "*"
"""The key of the record envelope in ``sealed``."""
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_OPENED_MAX = 1000
"""Plaintexts an encrypting repository remembers for the stored records it opened."""
_SUBJECT_BATCH = 1000
"""Records whose subject keys are made with one key-store write (kept under the key cache)."""


def _sealed_fields(record: Protectable) -> set[str]:
    """The fields a stored record has sealed in its envelope (their ``sealed`` entries)."""
    return {k for k in record.sealed if k != RECORD}


def default_normalizers(region: str | None = "CN") -> dict[tuple[str, str], Callable[[Any], Any]]:
    """The blind-index normalisers of the default searchable fields, from crmcore.validation.

    A Customer's e-mail compares case-insensitively (``normalize_email``, then
    lower case), a phone as E.164 (``normalize_phone`` with ``region`` for
    numbers without a country code; text already in E.164 form, as validation
    stores it, is taken as is) and a national id as its comparable text
    (``normalize_identifier_text``: no spaces or dashes, upper case). A value a
    normaliser refuses is indexed as given, so it still finds itself.
    """
    from crmcore.validation import normalize_email, normalize_identifier_text, normalize_phone

    def email_key(value: Any) -> Any:
        return normalize_email(value).lower() if isinstance(value, str) else value

    def phone_key(value: Any) -> Any:
        if type(value) is str and _E164.fullmatch(value):
            return value  # what validation stores: parsing it again gives it back
        return normalize_phone(value, region=region)

    return {
        ("Customer", "email"): email_key,
        ("Customer", "phone"): phone_key,
        ("Customer", "national_id"): normalize_identifier_text,
    }


@attrs.frozen(kw_only=True)
class Encryption:
    """Field-level encryption for ``connect(..., encryption=...)``.

    Args:
        keyring: data keys (and subject keys) per tenant.
        protection: per entity type name, which fields are encrypted or searchable.
        index_keyring: where blind-index keys come from (default: ``keyring``).
        normalizers: per (entity, field), the normaliser applied before a value
            is blind-indexed, both when stored and when searched, so that
            ``"Wei@Example.CN"`` finds ``"wei@example.cn"``; default:
            :func:`default_normalizers` (``{}`` indexes values exactly as given).
        subject_keys: seal the records of a protection with ``subject_keys``
            (customers, by default) under a key of their own, so that
            shredding that key erases exactly that person; ``False`` turns
            subject keys off everywhere.

    Raises:
        ConfigurationError: a protection names an entity type that is not
            :class:`~crmcore.model.Protectable` (it has no storage for
            ciphertext), or an unknown one.
    """

    keyring: Keyring
    protection: Mapping[str, FieldProtection] = DEFAULT_PROTECTION
    index_keyring: Keyring | None = None
    normalizers: Mapping[tuple[str, str], Callable[[Any], Any]] = attrs.field(
        factory=lambda: default_normalizers()
    )
    subject_keys: bool = True
    cipher: FieldCipher = attrs.field(init=False)
    indexer: BlindIndexer = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        for name in self.protection:
            kind = ENTITY_TYPES.get(name)
            if kind is None:
                raise ConfigurationError(f"encryption protects unknown entity type {name!r}")
            if not issubclass(kind, Protectable):
                able = sorted(n for n, k in ENTITY_TYPES.items() if issubclass(k, Protectable))
                raise ConfigurationError(
                    f"encryption cannot protect {name}: only Protectable entity types "
                    f"({', '.join(able)}) store ciphertext and blind indexes"
                )
        object.__setattr__(
            self, "cipher", FieldCipher(self.keyring, subject_keys=self.subject_keys)
        )
        object.__setattr__(
            self,
            "indexer",
            BlindIndexer(self.index_keyring or self.keyring, normalizers=dict(self.normalizers)),
        )

    def redacted_fields(self) -> dict[str, frozenset[str]]:
        """Per entity name, the fields the audit trail must not record in plaintext."""
        return {name: p.encrypted for name, p in self.protection.items()}

    def __call__(self, inner: Repository[Any], uow: UnitOfWorkContext) -> Repository[Any]:
        offered: dict[str, Any] = uow.extension(VALUE_COPY_OPENER, dict)
        if "open" not in offered:  # for use cases that read or write copies (issue #13)
            offered["open"] = self.open_copies
            offered["protected"] = self.redacted_fields()
        if value_copies(inner.entity_type) is not None:  # journals, transition rows
            from crmcore.crypto._copies import CopySealingRepository

            return CopySealingRepository(inner, self)
        spec = self.protection.get(inner.entity_type.entity_name())
        if spec is None or not spec.encrypted:
            if any(p.encrypted for p in self.protection.values()):
                # its records are plaintext, but a related() filter may reach an
                # encrypted field of another entity
                return _RelatedRewriting(inner, self, uow.tenant_id)
            return inner
        _check_optional(inner.entity_type, spec)
        return EncryptingRepository(inner, self, spec, uow.tenant_id)

    def open_copies(self, record: _B) -> _B:
        """A bookkeeping row read below this layer with its sealed copies opened."""
        from crmcore.crypto._copies import open_copies

        return open_copies(self, record)

    # -- the transformations, also used by re-encryption jobs

    def _subject(self, record: Entity) -> uuid.UUID | None:
        return record.id if self.keys_per_subject(type(record)) else None

    def keys_per_subject(self, entity_type: type[Entity]) -> bool:
        """Whether records of ``entity_type`` are sealed under a key of their own (customers)."""
        spec = self.protection.get(entity_type.entity_name())
        return self.subject_keys and spec is not None and spec.subject_keys

    def seal(self, record: E, spec: FieldProtection) -> E:
        """The record as stored: protected values in one envelope, indexes in ``search_keys``."""
        entity = type(record).entity_name()
        tenant = record.tenant_id
        encrypted = spec.encrypted
        values = {f: v for f in encrypted if (v := getattr(record, f)) is not None}
        token = self.cipher.encrypt_record(
            values,
            tenant=tenant,
            entity=entity,
            record_id=record.id,
            subject_id=self._subject(record),
        )
        keys = {k for k in record.search_keys if k.partition(":")[0] not in encrypted}
        index = self.indexer.index
        for field in spec.searchable & values.keys():
            value = values[field]
            keys.add(f"{field}:{index(value, tenant=tenant, entity=entity, field=field)}")
        # the envelope, and an empty entry per field it holds: that a field has a
        # value is not secret, and is_null filters test it without a key
        sealed = {} if token is None else {RECORD: token, **dict.fromkeys(values, "")}
        cleared = dict.fromkeys(values)
        return replace_trusted(record, sealed=sealed, search_keys=frozenset(keys), **cleared)

    def unseal(self, record: E, spec: FieldProtection) -> E:
        """The record as the caller sees it: fields decrypted, storage-internal maps empty.

        Every field sealed in the envelope comes back, also one no longer
        declared encrypted (it is stored as plaintext on the next write).

        Raises:
            DecryptionError: the envelope was tampered with, moved, or cannot be opened.
            SchemaError: the envelope holds a field the entity type no longer has.
        """
        if not record.sealed and not record.search_keys:
            return record
        entity_type = type(record)
        token = record.sealed.get(RECORD)
        values: dict[str, Any]
        try:
            values = self.cipher.decrypt_record(
                token,
                tenant=record.tenant_id,
                entity=entity_type.entity_name(),
                record_id=record.id,
            )
        except DecryptionError as exc:
            assert token is not None
            if not _shredded(token, exc):
                raise DecryptionError(
                    entity=exc.entity,
                    id=exc.id,
                    field=", ".join(sorted(_sealed_fields(record))) or None,
                    reason=exc.reason,
                ) from exc.__cause__
            values = dict.fromkeys(spec.encrypted)  # the subject's key was shredded: erased
        model: type = entity_type
        unknown = values.keys() - fields_of(model)
        if unknown:
            raise SchemaError(
                f"{entity_type.entity_name()} {record.id}: the encrypted envelope holds "
                f"{', '.join(sorted(unknown))}, which the model no longer has"
            )
        return replace_trusted(record, sealed={}, search_keys=frozenset(), **values)

    def is_stale(self, record: Protectable) -> bool:
        """Whether a stored record needs rewriting to be protected with the current keys.

        True when it holds a token or index made with a key that is not current,
        and when it still holds a protected field in plaintext (written before
        encryption was turned on): re-encrypting seals it and builds its blind
        indexes.
        """
        spec = self.protection.get(type(record).entity_name())
        if spec is not None and any(getattr(record, f) is not None for f in spec.encrypted):
            return True
        tenant = record.tenant_id
        token = record.sealed.get(RECORD)
        if token is not None and self.cipher.needs_rotation(token, tenant=tenant):
            return True
        for key in record.search_keys:
            index = key.split(":", 1)[1]
            if self.indexer.needs_reindex(index, tenant=tenant):
                return True
        return False

    def search_key(self, tenant: str, entity: str, field: str, value: Any) -> str:
        """The ``search_keys`` member a record with ``field == value`` carries."""
        return f"{field}:{self.indexer.index(value, tenant=tenant, entity=entity, field=field)}"


def _shredded(token: str, exc: DecryptionError) -> bool:
    """Whether a decryption failed because its subject key was shredded (a recorded tombstone).

    Only that reads as erased fields. A key that cannot be reached (a provider
    outage, a key unknown in this tenant) is an error: reading the record as
    empty would let the next update write the loss for good.
    """
    if not isinstance(exc.__cause__, KeyShredded):
        return False
    try:
        return Keyring.is_subject_key_id(key_id_of(token))
    except CrmError:
        return False


def _check_optional(entity_type: type[Entity], spec: FieldProtection) -> None:
    fields = {a.name: a for a in attrs.fields(entity_type)}
    for name in spec.encrypted:
        a = fields.get(name)
        if a is None:
            raise ConfigurationError(f"{entity_type.__name__} has no field {name!r} to encrypt")
        if a.default is attrs.NOTHING or a.default is not None:
            raise ConfigurationError(
                f"{entity_type.__name__}.{name} cannot be encrypted: only optional fields "
                "(default None) can be stored as ciphertext"
            )


def _rewrite(
    enc: Encryption, tenant: str, entity: str, spec: FieldProtection | None, f: Filter
) -> Filter:
    """``f`` (a filter on ``entity``) made runnable on ciphertext.

    A related filter's condition is rewritten against the related entity's
    protection: equality on a searchable field of the related records becomes
    a blind-index lookup, anything else on an encrypted one is refused.
    """

    def again(g: Filter) -> Filter:
        return _rewrite(enc, tenant, entity, spec, g)

    def match(name: str, value: Any) -> Filter:
        key = enc.search_key(tenant, entity, name, value)
        return any_of(has("search_keys", key), _plain(enc, entity, name, value))

    if isinstance(f, Const):
        return f
    if isinstance(f, And):
        return all_of(*(again(i) for i in f.items))
    if isinstance(f, Or):
        return any_of(*(again(i) for i in f.items))
    if isinstance(f, Not):
        return not_(again(f.item))
    if isinstance(f, Related):
        other = COLLECTIONS.get(f.collection)
        if other is None:
            return f  # the adapter names the unknown collection
        name = other.entity_name()
        inner = _rewrite(enc, tenant, name, enc.protection.get(name), f.where)
        return f if inner is f.where else attrs.evolve(f, where=inner)
    name = f.field  # type: ignore[attr-defined]
    if spec is None or name not in spec.encrypted:
        return f
    # A record written before encryption was turned on holds the field in
    # plaintext until re-encryption seals it: every condition below also
    # matches that form, so lookups stay right while a migration runs.
    if isinstance(f, IsNull):
        return all_of(not_(has("sealed", name)), f)
    searchable = name in spec.searchable
    if searchable and isinstance(f, Compare) and f.op in ("eq", "ne"):
        if f.value is None:
            return again(IsNull(name) if f.op == "eq" else not_(IsNull(name)))
        found = match(name, f.value)
        return found if f.op == "eq" else not_(found)
    if searchable and isinstance(f, In):
        return any_of(*(again(IsNull(name)) if v is None else match(name, v) for v in f.values))
    kind = {Contains: "contains", StartsWith: "startswith", Has: "has"}.get(type(f), "")
    op = kind or getattr(f, "op", type(f).__name__)
    how = "only ==, != and in_" if searchable else "only is_null"
    raise QueryError(
        f"{op!r} cannot run on an encrypted field; {how} can", field=name, entity=entity
    )


def _plain(enc: Encryption, entity: str, field: str, value: Any) -> Filter:
    """``field == value`` on a not yet sealed record, normalised as its index would be."""
    normalize = enc.normalizers.get((entity, field))
    forms = [value]
    if normalize is not None:
        try:
            forms.append(normalize(value))
        except CrmError:
            pass  # compared as given only
    return any_of(*(eq(field, v) for v in dict.fromkeys(forms)))


class _RelatedRewriting(ForwardingRepository[E]):
    """An unprotected entity's repository whose related filters may reach encrypted fields."""

    def __init__(self, inner: Repository[E], encryption: Encryption, tenant: str) -> None:
        super().__init__(inner)
        self._enc = encryption
        self._tenant = tenant
        self._name = self.entity_type.entity_name()

    def _rewrite(self, where: Filter | None) -> Filter | None:
        if where is None or next(related_nodes(where), None) is None:
            return where
        return _rewrite(self._enc, self._tenant, self._name, None, where)

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        return self._inner.find(self._rewrite(where), order_by=order_by, limit=limit, after=after)

    def count(self, where: Filter | None = None) -> int:
        return self._inner.count(self._rewrite(where))

    def stream(
        self, where: Filter | None = None, *, order_by: OrderSpec = None, batch_size: int = 1000
    ) -> Iterator[E]:
        return self._inner.stream(self._rewrite(where), order_by=order_by, batch_size=batch_size)

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
    ) -> list[dict[str, Any]]:
        return self._inner.aggregate(self._rewrite(where), group_by=group_by, measures=measures)


class EncryptingRepository(Repository[E], Generic[E]):
    """Seals records on the way down, unseals them on the way up, rewrites filters."""

    def __init__(
        self, inner: Repository[E], encryption: Encryption, spec: FieldProtection, tenant: str
    ) -> None:
        self._inner = inner
        self._enc = encryption
        self._spec = spec
        self._tenant = tenant
        self.entity_type = inner.entity_type
        self._name = self.entity_type.entity_name()
        self._subject_keys = encryption.keys_per_subject(self.entity_type)
        # stored record -> its plaintext, for records this unit of work opened: the
        # adapter's identity map hands back the same stored object, so the layers
        # above reading it again (guard, audit, session) cost no decryption
        self._opened: dict[uuid.UUID, tuple[E, E]] = {}

    def _seal(self, record: E) -> E:
        return self._enc.seal(record, self._spec)

    def _open(self, record: E) -> E:
        hit = self._opened.get(record.id)
        if hit is not None and hit[0] is record:
            return hit[1]
        plain = self._enc.unseal(record, self._spec)
        if len(self._opened) >= _OPENED_MAX:
            self._opened.clear()
        self._opened[record.id] = (record, plain)
        return plain

    def _open_many(self, records: Sequence[E]) -> list[E]:
        """Unseal a page of records, unwrapping the keys they need with one key-store lookup."""
        if len(records) > 1:
            headers = []
            for r in records:
                token = r.sealed.get(RECORD)
                if token is not None:
                    try:
                        headers.append(header_of(token))
                    except EnvelopeError:
                        pass  # opening it reports the error, naming the record
            self._enc.keyring.preload(self._tenant, headers)
        return [self._open(r) for r in records]

    # -- filters

    def rewrite(self, where: Filter | None) -> Filter | None:
        """The filter with every condition on an encrypted field made runnable on ciphertext.

        Raises:
            QueryError: a condition cannot run on ciphertext.
        """
        if where is None:
            return None
        return self._rewrite(where)

    def _rewrite(self, f: Filter) -> Filter:
        return _rewrite(self._enc, self._tenant, self._name, self._spec, f)

    def _check_order(self, order_by: OrderSpec) -> None:
        for term in normalize_order(order_by):
            if term.field in self._spec.encrypted:
                raise QueryError(
                    "cannot order by an encrypted field", field=term.field, entity=self._name
                )

    # -- the port

    def add(self, entity: E) -> E:
        self._inner.add(self._seal(entity))
        return entity

    def add_many(self, entities: Iterable[E]) -> list[E]:
        plain = list(entities)
        if not self._subject_keys:
            self._inner.add_many([self._seal(e) for e in plain])
            return plain
        sealed: list[E] = []
        ensure = self._enc.keyring.ensure_subject_keys
        for at in range(0, len(plain), _SUBJECT_BATCH):
            chunk = plain[at : at + _SUBJECT_BATCH]
            ensure(self._tenant, [e.id for e in chunk])  # one key-store write per chunk
            sealed += [self._seal(e) for e in chunk]
        self._inner.add_many(sealed)
        return plain

    def get(self, id: uuid.UUID) -> E:
        return self._open(self._inner.get(id))

    def get_many(self, ids: Iterable[uuid.UUID]) -> list[E]:
        return self._open_many(self._inner.get_many(ids))

    def update(self, entity: E) -> E:
        stored = self._inner.update(self._seal(entity))
        return replace_trusted(entity, version=stored.version)

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        self._inner.delete(id, expected_version=expected_version)

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        self._check_order(order_by)
        page = self._inner.find(self.rewrite(where), order_by=order_by, limit=limit, after=after)
        return Page(tuple(self._open_many(page.items)), page.next_cursor)

    def count(self, where: Filter | None = None) -> int:
        return self._inner.count(self.rewrite(where))

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
    ) -> list[dict[str, Any]]:
        """The aggregate with encrypted fields counted, never grouped or measured.

        Ciphertext has no order, sum or meaningful groups: grouping by or
        measuring an encrypted field is refused, except ``count(field)``
        (how many records hold a value), counted on the sealed envelope.

        Raises:
            QueryError: an encrypted field is grouped by or measured.
        """
        plan = plan_aggregate(self.entity_type, group_by, measures)
        for _label, key, _kind in plan.groups:
            grouped = key.field if isinstance(key, Bucket) else key
            if grouped in self._spec.encrypted:
                raise QueryError(
                    "cannot group by an encrypted field", field=grouped, entity=self._name
                )
        plain: dict[str, Measure] = {}
        sealed: dict[str, str] = {}
        for label, m, _mkind in plan.measures:
            if m.field is not None and m.field in self._spec.encrypted:
                if m.fn != "count":
                    raise QueryError(
                        f"an encrypted field can only be counted, not {m.fn}",
                        field=m.field,
                        entity=self._name,
                    )
                sealed[label] = m.field
            else:
                plain[label] = m
        rewritten = self.rewrite(where)
        rows = self._inner.aggregate(rewritten, group_by=group_by, measures=plain)
        if not sealed:
            return rows
        labels = [g[0] for g in plan.groups]
        index = {tuple(r[k] for k in labels): r for r in rows}
        for label, name in sealed.items():
            for r in rows:
                r[label] = 0
            held = has("sealed", name)
            scope = held if rewritten is None else all_of(rewritten, held)
            counts = self._inner.aggregate(scope, group_by=group_by, measures={label: count()})
            for c in counts:
                row = index.get(tuple(c[k] for k in labels))
                if row is not None:
                    row[label] = c[label]
        order = list(measures)
        return [{**{k: r[k] for k in labels}, **{k: r[k] for k in order}} for r in rows]

    def stream(
        self, where: Filter | None = None, *, order_by: OrderSpec = None, batch_size: int = 1000
    ) -> Iterator[E]:
        self._check_order(order_by)
        rows = self._inner.stream(self.rewrite(where), order_by=order_by, batch_size=batch_size)
        while batch := list(itertools.islice(rows, batch_size)):
            yield from self._open_many(batch)
