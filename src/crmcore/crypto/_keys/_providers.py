"""Root keys and their providers: the KeyProvider protocol; static, env and file providers."""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crmcore.errors import ConfigurationError, KeyUnavailable

KEY_SIZE: Final = 32
_WRAP_VERSION: Final = 1
_WRAP_DOMAIN: Final = b"crmcore/wrap/v1\x00"
_KEY_DOMAIN: Final = b"crmcore/key/v1\x00"
_ROOT_ID_LABEL: Final = b"crmcore/root-id/v1"
_INDEX_DOMAIN: Final = b"crmcore/blind-index/v1\x00"
_DATA_PREFIX: Final = "d"
_SUBJECT_PREFIX: Final = "s"
_INDEX_PREFIX: Final = "i"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _random_id() -> str:
    return secrets.token_hex(8)


def generate_root_key() -> str:
    """A new random 256-bit root key as standard base64 text (for an env var or a vault).

    Returns:
        44 characters of base64; treat them as a secret.
    """
    return base64.b64encode(os.urandom(KEY_SIZE)).decode("ascii")


def root_id_of(key: bytes) -> str:
    """A stable, non-secret id for a root key: ``"r"`` + 16 hex chars of an HMAC of it.

    The id is derived from the key, so it survives moving the key to another
    variable or file, and reveals nothing usable about the key.
    """
    return "r" + hmac.digest(key, _ROOT_ID_LABEL, "sha256")[:8].hex()


def _decode_root(text: str | bytes, source: str) -> bytes:
    """A 32-byte root key from base64 text (standard or URL-safe alphabet)."""
    cleaned = text.strip()
    for altchars in (None, b"-_"):
        try:
            raw = base64.b64decode(cleaned, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == KEY_SIZE:
            return raw
    raise ConfigurationError(f"{source} must hold a base64-encoded {KEY_SIZE}-byte (AES-256) key")


@runtime_checkable
class KeyProvider(Protocol):
    """Holds root keys and wraps/unwraps data keys with them; the root never leaves it.

    Implement this for a KMS or Vault transit engine: ``wrap`` is its *encrypt*
    and ``unwrap`` its *decrypt* with ``aad`` as the encryption context. Errors
    should be raised as :class:`crmcore.errors.KeyUnavailable`; anything else is
    wrapped into one by the :class:`Keyring`.
    """

    def current_root_id(self) -> str:
        """The id of the root key that wraps new keys."""
        ...

    def wrap(self, root_id: str, plaintext_key: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext_key`` under root ``root_id``, bound to ``aad``."""
        ...

    def unwrap(self, root_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Decrypt a blob made by :meth:`wrap` with the same ``root_id`` and ``aad``."""
        ...


class _LocalProvider:
    """Root keys held in process memory; wraps with AES-256-GCM.

    Wrapped blob: ``0x01`` + 12-byte nonce + AES-GCM(root, key, domain + aad).
    """

    __slots__ = ("_current", "_roots")

    def __init__(self, keys: Sequence[bytes], *, current: bytes | None = None) -> None:
        roots: dict[str, AESGCM] = {}
        for key in keys:
            if len(key) != KEY_SIZE:
                raise ConfigurationError(f"a root key must be {KEY_SIZE} bytes (AES-256)")
            roots[root_id_of(key)] = AESGCM(key)
        if not roots:
            raise ConfigurationError("a key provider needs at least one root key")
        self._roots = roots
        self._current = root_id_of(current if current is not None else keys[0])

    def current_root_id(self) -> str:
        """The id of the root key that wraps new keys."""
        return self._current

    @property
    def root_ids(self) -> tuple[str, ...]:
        """The ids of every root key this provider holds (the current one first)."""
        return (self._current, *(r for r in self._roots if r != self._current))

    def _root(self, root_id: str) -> AESGCM:
        try:
            return self._roots[root_id]
        except KeyError:
            raise KeyUnavailable(root_id, "root key not held by this provider") from None

    def wrap(self, root_id: str, plaintext_key: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext_key`` under root ``root_id``, bound to ``aad``.

        Raises:
            KeyUnavailable: this provider does not hold ``root_id``.
        """
        nonce = os.urandom(12)
        sealed = self._root(root_id).encrypt(nonce, plaintext_key, _WRAP_DOMAIN + aad)
        return bytes((_WRAP_VERSION,)) + nonce + sealed

    def unwrap(self, root_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Decrypt a blob made by :meth:`wrap` with the same ``root_id`` and ``aad``.

        Raises:
            KeyUnavailable: unknown root, or the blob fails authentication.
        """
        root = self._root(root_id)
        if len(wrapped) < 1 + 12 + 16 or wrapped[0] != _WRAP_VERSION:
            raise KeyUnavailable(root_id, "wrapped key is malformed")
        try:
            return root.decrypt(wrapped[1:13], wrapped[13:], _WRAP_DOMAIN + aad)
        except InvalidTag:
            raise KeyUnavailable(
                root_id, "wrapped key failed authentication (wrong root key or altered record)"
            ) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root_ids={list(self.root_ids)!r})"

    __str__ = __repr__


class StaticKeyProvider(_LocalProvider):
    """Root keys given as bytes; meant for tests and for embedders who fetch keys themselves.

    Args:
        keys: one 32-byte root key, or several (the first wraps new keys unless
            ``current`` says otherwise); older roots keep unwrapping.
        current: the root key that wraps new keys.

    Raises:
        ConfigurationError: a key is not 32 bytes.
    """

    __slots__ = ()

    def __init__(self, keys: bytes | Sequence[bytes], *, current: bytes | None = None) -> None:
        seq = [keys] if isinstance(keys, bytes) else list(keys)
        super().__init__(seq, current=current)

    @classmethod
    def generate(cls) -> StaticKeyProvider:
        """A provider with one fresh random root key (tests, throwaway data)."""
        return cls(os.urandom(KEY_SIZE))


class EnvKeyProvider(_LocalProvider):
    """The root key is base64 text in an environment variable named by the caller.

    Args:
        var: the variable holding the current root key (``generate_root_key()``).
        previous: variables holding older roots that only unwrap (root rotation:
            set the new key, move the old one to ``previous``, call
            ``Keyring.rewrap()``, then drop it).
        environ: the environment to read (default ``os.environ``), read once here.

    Raises:
        ConfigurationError: a variable is missing or is not a base64 32-byte key
            (the message names the variable, never its value).
    """

    __slots__ = ("_vars",)

    def __init__(
        self,
        var: str,
        *,
        previous: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        names = [var, *previous]
        keys: list[bytes] = []
        for name in names:
            text = env.get(name)
            if not text:
                raise ConfigurationError(f"environment variable {name} is not set")
            keys.append(_decode_root(text, f"environment variable {name}"))
        self._vars = tuple(names)
        super().__init__(keys)

    def __repr__(self) -> str:
        return f"EnvKeyProvider(vars={list(self._vars)!r}, root_ids={list(self.root_ids)!r})"

    __str__ = __repr__


def _read_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise ConfigurationError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise ConfigurationError(f"key file {path} cannot be opened: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigurationError(f"key file {path} is not a regular file")
        if os.name == "posix" and st.st_mode & 0o077:
            mode = stat.S_IMODE(st.st_mode)
            raise ConfigurationError(
                f"key file {path} is accessible by group or others (mode {mode:04o}); "
                f"restrict it with: chmod 600 {path}"
            )
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(4096)
    finally:
        os.close(fd)
    return _decode_root(data.decode("ascii", "replace"), f"key file {path}")


class FileKeyProvider(_LocalProvider):
    """The root key is base64 text in a file that only its owner may read (mode 0600/0400).

    Args:
        path: the current root key file (create one with :meth:`generate`).
        previous: files with older roots that only unwrap (root rotation).

    Raises:
        ConfigurationError: a file is missing, not a regular file, readable or
            writable by group or others, or does not hold a base64 32-byte key.
    """

    __slots__ = ("_paths",)

    def __init__(
        self, path: str | os.PathLike[str], *, previous: Sequence[str | os.PathLike[str]] = ()
    ) -> None:
        paths = [Path(path), *(Path(p) for p in previous)]
        keys = [_read_key_file(p) for p in paths]
        self._paths = tuple(paths)
        super().__init__(keys)

    @classmethod
    def generate(cls, path: str | os.PathLike[str]) -> FileKeyProvider:
        """Create a new root key file with mode 0600 and return a provider for it.

        Args:
            path: where to write; must not exist (a root key is never overwritten).

        Returns:
            A provider holding the new key.

        Raises:
            ConfigurationError: the file exists or cannot be created.
        """
        target = Path(path)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConfigurationError(
                f"key file {target} already exists; refusing to overwrite a root key"
            ) from None
        except OSError as exc:
            raise ConfigurationError(
                f"key file {target} cannot be created: {exc.strerror}"
            ) from None
        try:
            if os.name == "posix":
                os.fchmod(fd, 0o600)
            os.write(fd, (generate_root_key() + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return cls(target)

    def __repr__(self) -> str:
        paths = [str(p) for p in self._paths]
        return f"FileKeyProvider(paths={paths!r}, root_ids={list(self.root_ids)!r})"

    __str__ = __repr__
