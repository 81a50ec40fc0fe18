"""Logical backup and restore: every collection of a tenant (or a store) in one zip file.

The file holds ``data/<collection>.jsonl`` (one record a line, as stored:
encrypted fields stay ciphertext, blind indexes stay tokens), an optional
``keys.json`` with the keyring's *wrapped* data keys (never a key in the
clear), and ``manifest.json`` with each member's record count and SHA-256.
Records are read and written below every layer (``uow.inner``), so a restore
reproduces the source exactly, audit chain included; a restore checks every
checksum and count before it writes anything, and refuses a damaged or
truncated file with :class:`crmcore.errors.BackupError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from crmcore._progress import ProgressFn, make_progress
from crmcore.errors import BackupError, CrmError, PermissionDenied, ValidationError
from crmcore.model import COLLECTIONS, Entity, from_data, to_data
from crmcore.query import eq
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["BackupManifest", "backup", "read_wrapped_keys", "restore", "verify_backup"]

FORMAT = "crmcore-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
KEYS = "keys.json"


@attrs.frozen
class BackupManifest:
    """What a backup holds.

    Attributes:
        scope: ``"tenant"`` or ``"store"``.
        tenant_id: the tenant backed up (``None`` for a whole store).
        created_at: when the backup was taken (ISO text).
        collections: collection -> ``{"member", "count", "sha256"}``.
        keys: ``{"member", "count", "sha256"}`` of the wrapped keys, if any.
    """

    scope: str
    tenant_id: str | None
    created_at: str
    collections: Mapping[str, Mapping[str, Any]]
    keys: Mapping[str, Any] | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Records per collection."""
        return {name: int(c["count"]) for name, c in self.collections.items()}

    def to_dict(self) -> dict[str, Any]:
        """The manifest as written to ``manifest.json``."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "scope": self.scope,
            "tenant_id": self.tenant_id,
            "created_at": self.created_at,
            "collections": {k: dict(v) for k, v in self.collections.items()},
            "keys": dict(self.keys) if self.keys else None,
        }


def _system_only(uow: UnitOfWorkContext, action: str) -> None:
    if not uow.principal.system:
        raise PermissionDenied(
            action,
            "store",
            reason="backups read and write every record below the policy layer: "
            "system principal only",
            principal=uow.principal.user_id,
        )


def backup(
    uow: UnitOfWorkContext,
    path: str | os.PathLike[str],
    *,
    scope: str = "tenant",
    keyring: Any = None,
    batch_size: int = 1000,
    progress: ProgressFn | bool | None = None,
) -> BackupManifest:
    """Write a full logical backup of the session's tenant (or of the whole store).

    Args:
        uow: a session of the system principal.
        path: the zip file to write.
        scope: ``"tenant"`` (the session's tenant) or ``"store"`` (every tenant).
        keyring: a :class:`crmcore.crypto.Keyring` whose wrapped keys to add
            (``keys.json``); the root key is never exported.
        batch_size: records read at a time.
        progress: called as ``progress("backup <collection>", n, 0)``.

    Returns:
        The manifest written.

    Raises:
        PermissionDenied: not the system principal.
        ConfigurationError: an unknown scope.
    """
    from crmcore.errors import ConfigurationError

    _system_only(uow, "backup")
    if scope not in ("tenant", "store"):
        raise ConfigurationError("scope must be 'tenant' or 'store'")
    report = make_progress(progress)
    where = eq("tenant_id", uow.tenant_id) if scope == "tenant" else None
    collections: dict[str, dict[str, Any]] = {}
    out = Path(path)
    tmp = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, kind in COLLECTIONS.items():
            member = f"data/{name}.jsonl"
            h = hashlib.sha256()
            count = 0
            with zf.open(member, "w") as fh:
                for record in uow.inner(kind).stream(where, order_by="id", batch_size=batch_size):
                    line = (
                        json.dumps(to_data(record), ensure_ascii=False, sort_keys=True) + "\n"
                    ).encode()
                    h.update(line)
                    fh.write(line)
                    count += 1
                    if report is not None and count % batch_size == 0:
                        report(f"backup {name}", count, 0)
            collections[name] = {"member": member, "count": count, "sha256": h.hexdigest()}
        keys = None
        if keyring is not None:
            wrapped = [
                k
                for k in keyring.export_wrapped()
                if scope == "store" or k.get("tenant_id") in (None, uow.tenant_id)
            ]
            blob = json.dumps(wrapped, ensure_ascii=False, sort_keys=True).encode()
            zf.writestr(KEYS, blob)
            keys = {
                "member": KEYS,
                "count": len(wrapped),
                "sha256": hashlib.sha256(blob).hexdigest(),
            }
        manifest = BackupManifest(
            scope,
            uow.tenant_id if scope == "tenant" else None,
            uow.now().isoformat(),
            collections,
            keys,
        )
        zf.writestr(MANIFEST, json.dumps(manifest.to_dict(), indent=2, sort_keys=True))
    os.replace(tmp, out)
    return manifest


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BackupError(f"{path.name} is not a readable backup zip ({exc})") from None


def _manifest(zf: zipfile.ZipFile) -> BackupManifest:
    try:
        data = json.loads(zf.read(MANIFEST))
    except KeyError:
        raise BackupError("there is no manifest", member=MANIFEST) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
        raise BackupError(f"the manifest cannot be read ({exc})", member=MANIFEST) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError("not a crmcore backup", member=MANIFEST)
    if data.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"backup format version {data.get('format_version')!r} is not supported",
            member=MANIFEST,
        )
    try:
        manifest = BackupManifest(
            data["scope"],
            data["tenant_id"],
            data["created_at"],
            data["collections"],
            data.get("keys"),
        )
        for name, entry in manifest.collections.items():
            if name not in COLLECTIONS:
                raise BackupError(f"unknown collection {name!r}", member=MANIFEST)
            int(entry["count"])
            str(entry["sha256"])
            str(entry["member"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupError(f"the manifest is incomplete ({exc})", member=MANIFEST) from None
    return manifest


def _lines(zf: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    try:
        with zf.open(member) as fh:
            yield from fh
    except KeyError:
        raise BackupError("the member is missing", member=member) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise BackupError(f"the member is damaged ({exc})", member=member) from None


def _verify(zf: zipfile.ZipFile, manifest: BackupManifest) -> None:
    entries = list(manifest.collections.values())
    if manifest.keys:
        entries.append(manifest.keys)
    for entry in entries:
        member = str(entry["member"])
        h = hashlib.sha256()
        count = 0
        for line in _lines(zf, member):
            h.update(line)
            count += 1
        if h.hexdigest() != entry["sha256"]:
            raise BackupError(
                "its checksum does not match the manifest (damaged or altered)", member=member
            )
        if member != KEYS and count != int(entry["count"]):
            raise BackupError(
                f"it holds {count} records, the manifest says {entry['count']}", member=member
            )


def verify_backup(path: str | os.PathLike[str]) -> BackupManifest:
    """Check a backup's manifest, every checksum and every count, writing nothing.

    Raises:
        BackupError: the file is damaged, truncated or not a crmcore backup.
    """
    with _open(Path(path)) as zf:
        manifest = _manifest(zf)
        _verify(zf, manifest)
    return manifest


def read_wrapped_keys(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The wrapped keys a backup holds (for ``InMemoryKeyStore(records)`` or a key store's import).

    Raises:
        BackupError: the file is damaged, or it holds no keys.
    """
    with _open(Path(path)) as zf:
        manifest = _manifest(zf)
        if not manifest.keys:
            raise BackupError("the backup holds no keys", member=KEYS)
        _verify(zf, attrs.evolve(manifest, collections={}))
        keys: list[dict[str, Any]] = json.loads(zf.read(KEYS))
        return keys


def _flusher(uow: UnitOfWorkContext) -> Callable[[], None]:
    """The session's ``flush`` (staged writes into the open transaction), if it has one."""
    flush: Callable[[], None] | None = getattr(uow, "flush", None)
    return flush if flush is not None else (lambda: None)


def restore(
    uow: UnitOfWorkContext,
    path: str | os.PathLike[str],
    *,
    batch_size: int = 1000,
    progress: ProgressFn | bool | None = None,
) -> BackupManifest:
    """Restore a backup into the session's store, exactly as it was (use a restore-mode session).

    Every member's checksum and record count is checked first: a damaged,
    truncated or altered file is refused before anything is written. Records
    are then added below every layer, a batch at a time, in one transaction
    (on SQL stores each batch goes into the open transaction, so memory holds
    one batch, not the backup), which is committed; on any error it is rolled
    back and nothing stays.

    Args:
        uow: a session of the system principal (``crm.session(restore=True)``).
        path: the backup file.
        batch_size: records added at a time.
        progress: called as ``progress("restore <collection>", n, count)``.

    Returns:
        The backup's manifest.

    Raises:
        BackupError: the file is damaged, truncated or not a crmcore backup.
        AlreadyExists: a record of the backup is already in the store.
        PermissionDenied: not the system principal.
    """
    _system_only(uow, "restore")
    report = make_progress(progress)
    flush = _flusher(uow)
    with _open(Path(path)) as zf:
        manifest = _manifest(zf)
        _verify(zf, manifest)
        try:
            for name, entry in manifest.collections.items():
                kind = COLLECTIONS[name]
                inner = uow.inner(kind)
                total = int(entry["count"])
                batch: list[Entity] = []
                done = 0
                for n, line in enumerate(_lines(zf, str(entry["member"])), start=1):
                    try:
                        batch.append(from_data(kind, json.loads(line)))
                    except (ValidationError, ValueError) as exc:
                        raise BackupError(
                            f"record {n} cannot be read ({exc})", member=str(entry["member"])
                        ) from None
                    if len(batch) >= batch_size:
                        inner.add_many(batch)
                        flush()  # into the open transaction: memory stays one batch
                        done += len(batch)
                        batch = []
                        if report is not None:
                            report(f"restore {name}", done, total)
                if batch:
                    inner.add_many(batch)
                    flush()
                    done += len(batch)
                if report is not None:
                    report(f"restore {name}", done, total)
            uow.commit()
        except (CrmError, Exception):
            uow.rollback()
            raise
    return manifest
