"""Key use cases: move stored records to the current keys, and erase one person by key.

Both take a unit of work and the CRM's :class:`~crmcore.crypto.Encryption`;
they rewrite stored envelopes below the layers (the values do not change).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import cast

import attrs

from crmcore.audit import note
from crmcore.crypto import RECORD, Encryption
from crmcore.errors import NotFound
from crmcore.events import emit
from crmcore.model import Customer, Entity, Protectable, replace_trusted, value_copies
from crmcore.query import all_of, eq, gt
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["ReencryptReport", "reencrypt_all", "shred_subject"]


@attrs.frozen
class ReencryptReport:
    """What a re-encryption pass did; ``last_id`` resumes an interrupted pass."""

    entity: str
    scanned: int
    rewritten: int
    last_id: uuid.UUID | None


def reencrypt_all(
    uow: UnitOfWorkContext,
    encryption: Encryption,
    entity_type: type[Entity],
    *,
    batch_size: int = 500,
    resume_after: uuid.UUID | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ReencryptReport:
    """Move every stored record of one type to the current data key and index key.

    Each record is opened with whatever key sealed it and sealed again with the
    tenant's newest keys (blind indexes included); a batch is committed at a
    time, in id order, so an interrupted pass resumes from ``last_id`` with
    ``resume_after``. Run it after ``Keyring.rotate`` (data keys) or after
    rotating the blind-index key; afterwards the old keys can be retired.

    The policy must grant ``update`` on every record rewritten, and each
    committed batch writes one ``reencrypt`` audit entry (how many records,
    up to which id).

    For a bookkeeping type that copies protected values (``MergeRecord``,
    ``TransitionRecord``: ``__crm_copies__``), the copies are (re)sealed
    instead: journals written before encryption was on, or before a field
    was protected, get their protected values sealed under the copied
    subject's key, and copies under retired keys move to the current ones.

    A record holding a protected field in plaintext (a database written
    before encryption) is sealed only with ``Encryption(migrating=True)``;
    otherwise it is refused with ``DecryptionError``, as on a read, since a
    value planted in the table must not be sealed as the record's own.

    Raises:
        DecryptionError: a stored token cannot be opened (tampered or moved).
        Conflict: a record changed while being rewritten (re-run to pick it up).
        PermissionDenied: the policy does not grant ``update`` on a record.
    """
    spec = encryption.protection.get(entity_type.entity_name())
    name = entity_type.entity_name()
    copies = value_copies(entity_type) is not None
    if not copies and (
        spec is None or not spec.encrypted or not issubclass(entity_type, Protectable)
    ):
        return ReencryptReport(name, 0, 0, resume_after)
    raw = uow.inner(entity_type)
    scope = eq("tenant_id", uow.tenant_id)
    total = raw.count(scope)
    scanned = rewritten = 0
    last = resume_after
    while True:
        where = scope if last is None else all_of(scope, gt("id", last))
        batch = raw.find(where, order_by="id", limit=batch_size)
        if not batch.items:
            break
        if copies:
            stale = [r for r in batch.items if encryption.copies_stale(r)]
        else:
            stale = [r for r in batch.items if encryption.is_stale(cast(Protectable, r))]
        for record in stale:
            uow.authorize("update", record)  # asked of the stored record: values unchanged
        if stale and not copies and encryption.keys_per_subject(entity_type):
            # the batch's subject keys with one key-store lookup, not one per record
            encryption.keyring.ensure_subject_keys(uow.tenant_id, [r.id for r in stale])
        for record in stale:
            if copies:
                raw.update(encryption.seal_copies(encryption.open_copies(record)))
            else:
                assert spec is not None
                sealable = cast(Protectable, record)
                raw.update(encryption.seal(encryption.unseal(sealable, spec), spec))
        rewritten += len(stale)
        scanned += len(batch.items)
        last = batch.items[-1].id
        if stale:
            facts = {"rewritten": len(stale), "through": str(last)}
            note(uow, "reencrypt", entity_type, None, facts)
        uow.commit()
        if progress:
            progress(f"reencrypt {name}", scanned, total)
    return ReencryptReport(name, scanned, rewritten, last)


def shred_subject(uow: UnitOfWorkContext, encryption: Encryption, customer_id: uuid.UUID) -> int:
    """Erase one customer's encrypted fields for good (right to erasure).

    Destroys the customer's subject key, so every copy of those ciphertexts,
    old backups included, can no longer be opened; and drops the stored
    tokens and blind indexes, so not even equality can be tested any more.
    Other fields and other customers are untouched.

    The policy must let the principal ``read`` and ``erase`` the customer
    (asked of the stored record, so a record whose key is already gone can
    still be erased), and the audit trail records a ``shred`` entry naming
    the erased fields, never their values.

    Returns:
        How many keys were destroyed.

    Raises:
        NotFound: no such customer in this tenant.
        PermissionDenied: the policy does not let the principal read and erase it.
    """
    raw = uow.inner(Customer)
    try:
        record = raw.get(customer_id)
    except NotFound:
        raise NotFound("Customer", customer_id) from None
    if record.tenant_id != uow.tenant_id or record.deleted_at is not None:
        raise NotFound("Customer", customer_id)
    uow.authorize("read", record)
    uow.authorize("erase", record)
    destroyed = encryption.keyring.shred(uow.tenant_id, customer_id)
    erased = sorted(k for k in record.sealed if k != RECORD)
    raw.update(replace_trusted(record, sealed={}, search_keys=frozenset()))
    note(uow, "shred", Customer, customer_id, {"fields": erased, "keys_destroyed": destroyed})
    emit(
        uow,
        "customer.erased",
        (Customer, customer_id),
        {"fields": erased, "keys_destroyed": destroyed},
    )
    return destroyed
