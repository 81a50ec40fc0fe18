"""Key providers, wrapped key records, the key store and what never shows a key."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from crmcore.crypto import (
    BlindIndexer,
    EnvKeyProvider,
    FieldCipher,
    FileKeyProvider,
    InMemoryKeyStore,
    KeyProvider,
    KeyPurpose,
    Keyring,
    StaticKeyProvider,
    WrappedKey,
    generate_root_key,
)
from crmcore.errors import ConfigurationError, DecryptionError, KeyUnavailable

BIND = {"tenant": "t1", "entity": "Customer", "record_id": "r1", "field": "email"}
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


# ------------------------------------------------------------------ providers


def test_builtin_providers_satisfy_the_protocol(root_key: bytes, tmp_path: Path) -> None:
    env = EnvKeyProvider("K", environ={"K": _b64(root_key)})
    file = FileKeyProvider.generate(tmp_path / "root.key")
    for provider in (StaticKeyProvider(root_key), env, file):
        assert isinstance(provider, KeyProvider)


def test_wrap_unwrap_round_trip_and_binding(provider: StaticKeyProvider) -> None:
    root = provider.current_root_id()
    blob = provider.wrap(root, b"k" * 32, b"aad")
    assert provider.unwrap(root, blob, b"aad") == b"k" * 32
    with pytest.raises(KeyUnavailable, match="authentication"):
        provider.unwrap(root, blob, b"other aad")
    with pytest.raises(KeyUnavailable, match="not held"):
        provider.unwrap("r0000", blob, b"aad")


def test_root_id_is_stable_across_sources(root_key: bytes, tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    path.write_text(_b64(root_key))
    path.chmod(0o600)
    ids = {
        StaticKeyProvider(root_key).current_root_id(),
        EnvKeyProvider("A", environ={"A": _b64(root_key)}).current_root_id(),
        FileKeyProvider(path).current_root_id(),
    }
    assert len(ids) == 1


def test_env_provider_reads_standard_or_urlsafe_base64(root_key: bytes) -> None:
    urlsafe = base64.urlsafe_b64encode(root_key).decode()
    a = EnvKeyProvider("K", environ={"K": _b64(root_key)})
    b = EnvKeyProvider("K", environ={"K": urlsafe + "\n"})
    assert a.current_root_id() == b.current_root_id()


def test_generate_root_key_is_a_usable_env_value() -> None:
    provider = EnvKeyProvider("K", environ={"K": generate_root_key()})
    assert provider.current_root_id().startswith("r")


@pytest.mark.parametrize(
    ("environ", "match"),
    [
        ({}, "CRM_ROOT_KEY is not set"),
        ({"CRM_ROOT_KEY": ""}, "CRM_ROOT_KEY is not set"),
        ({"CRM_ROOT_KEY": "not base64!!"}, "32-byte"),
        ({"CRM_ROOT_KEY": base64.b64encode(b"short").decode()}, "32-byte"),
    ],
)
def test_env_provider_errors_name_the_variable_never_the_value(
    environ: dict[str, str], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        EnvKeyProvider("CRM_ROOT_KEY", environ=environ)
    value = environ.get("CRM_ROOT_KEY")
    if value:
        assert value not in str(info.value)


def test_env_provider_reads_os_environ_by_default(
    root_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMCORE_TEST_ROOT", _b64(root_key))
    expected = StaticKeyProvider(root_key).current_root_id()
    assert expected == EnvKeyProvider("CRMCORE_TEST_ROOT").current_root_id()


@posix_only
def test_generated_key_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    FileKeyProvider.generate(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text().strip())) == 32


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_file_provider_refuses_group_or_world_access(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "root.key"
    FileKeyProvider.generate(path)
    path.chmod(mode)
    with pytest.raises(ConfigurationError, match="chmod 600") as info:
        FileKeyProvider(path)
    assert f"{mode:04o}" in str(info.value)
    assert path.read_text().strip() not in str(info.value)


@posix_only
def test_file_provider_accepts_read_only_owner_file(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    first = FileKeyProvider.generate(path)
    path.chmod(0o400)
    assert first.current_root_id() == FileKeyProvider(path).current_root_id()


def test_file_provider_never_overwrites_a_key(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    FileKeyProvider.generate(path)
    before = path.read_bytes()
    with pytest.raises(ConfigurationError, match="already exists"):
        FileKeyProvider.generate(path)
    assert before == path.read_bytes()


def test_file_provider_reports_missing_or_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        FileKeyProvider(tmp_path / "nope.key")
    with pytest.raises(ConfigurationError, match="not a regular file"):
        FileKeyProvider(tmp_path)
    bad = tmp_path / "bad.key"
    bad.write_text("hello")
    bad.chmod(0o600)
    with pytest.raises(ConfigurationError, match="32-byte"):
        FileKeyProvider(bad)


def test_static_provider_refuses_wrong_sizes() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        StaticKeyProvider(b"short")
    with pytest.raises(ConfigurationError):
        StaticKeyProvider([])


# ------------------------------------------------------------------ no key material anywhere


def test_reprs_and_strs_never_show_key_material(
    root_key: bytes,
    tmp_path: Path,
    secret_forms: Callable[[bytes], list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    captured: list[bytes] = []
    real_urandom = os.urandom

    def spy(n: int) -> bytes:
        out = real_urandom(n)
        if n == 32:
            captured.append(out)  # data, subject and index keys
        return out

    monkeypatch.setattr(os, "urandom", spy)
    keyring = Keyring(StaticKeyProvider(root_key))
    cipher = FieldCipher(keyring)
    indexer = BlindIndexer(keyring)
    cipher.encrypt("x", **BIND)
    cipher.encrypt("x", subject_id="s1", **BIND)
    indexer.index("x", tenant="t1", entity="Customer", field="email")
    assert len(captured) == 3

    path = tmp_path / "root.key"
    file_provider = FileKeyProvider.generate(path)
    file_key = base64.b64decode(path.read_text())
    env_provider = EnvKeyProvider("K", environ={"K": _b64(root_key)})

    objects: list[object] = [
        keyring,
        cipher,
        indexer,
        keyring.provider,
        keyring.store,
        file_provider,
        env_provider,
        *keyring.store.scan(),
    ]
    texts = [f(o) for o in objects for f in (repr, str)]
    for key in [root_key, file_key, *captured]:
        for form in secret_forms(key):
            for text in texts:
                assert form not in text


def test_wrapped_key_repr_hides_the_blob(keyring: Keyring) -> None:
    keyring.current_key_id("t1")
    (record,) = keyring.store.scan()
    assert "wrapped" not in repr(record)


def test_key_errors_never_show_key_material(
    root_key: bytes, secret_forms: Callable[[bytes], list[str]]
) -> None:
    keyring = Keyring(StaticKeyProvider(root_key))
    token = FieldCipher(keyring).encrypt("x", **BIND)
    wrong = Keyring.load(StaticKeyProvider(bytes(32)), keyring.export_wrapped())
    with pytest.raises(DecryptionError) as info:
        FieldCipher(wrong).decrypt(token, **BIND)
    messages = [str(info.value), str(info.value.__cause__)]
    for form in secret_forms(root_key) + secret_forms(bytes(32)):
        for message in messages:
            assert form not in message


# ------------------------------------------------------------------ records and the store


def test_wrapped_key_dict_round_trip(keyring: Keyring) -> None:
    keyring.current_key_id("t1")
    (record,) = keyring.store.scan()
    assert record == WrappedKey.from_dict(record.to_dict())
    assert record.purpose == KeyPurpose.DATA


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"tenant": "t"},
        {
            "tenant": "t",
            "key_id": "d1",
            "purpose": "nope",
            "root_id": "r",
            "wrapped": "AA==",
            "created_at": "2024-01-01T00:00:00+00:00",
        },
        {
            "tenant": "t",
            "key_id": "d1",
            "purpose": "data",
            "root_id": "r",
            "wrapped": "***",
            "created_at": "2024-01-01T00:00:00+00:00",
        },
    ],
)
def test_malformed_records_are_configuration_errors(broken: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="malformed"):
        WrappedKey.from_dict(broken)


def test_export_then_load_decrypts_everything(provider: StaticKeyProvider) -> None:
    keyring = Keyring(provider)
    cipher = FieldCipher(keyring)
    plain = cipher.encrypt("tenant", **BIND)
    subject = cipher.encrypt("subject", subject_id="s1", **BIND)
    exported = keyring.export_wrapped()
    again = FieldCipher(Keyring.load(provider, exported))
    assert again.decrypt(plain, **BIND) == "tenant"
    assert again.decrypt(subject, **BIND) == "subject"
    assert keyring.current_key_id("t1") == again.keyring.current_key_id("t1")


def test_a_wrapped_key_moved_to_another_tenant_does_not_unwrap(
    provider: StaticKeyProvider,
) -> None:
    keyring = Keyring(provider)
    cipher = FieldCipher(keyring)
    token = cipher.encrypt("x", **BIND)
    records = keyring.export_wrapped()
    for rec in records:
        rec["tenant"] = "t2"
    moved = FieldCipher(Keyring.load(provider, records))
    with pytest.raises(DecryptionError, match="unwrap"):
        moved.decrypt(token, **{**BIND, "tenant": "t2"})


def test_store_add_is_insert_only() -> None:
    store = InMemoryKeyStore()
    keyring = Keyring(StaticKeyProvider(bytes(range(32))), store)
    keyring.current_key_id("t1")
    (record,) = store.scan()
    assert not store.add(record)
    assert len(store) == 1


def test_id_factory_collisions_are_retried_then_refused(provider: StaticKeyProvider) -> None:
    ids = iter(["aaaa", "aaaa", "bbbb"])
    keyring = Keyring(provider, id_factory=lambda: next(ids))
    assert keyring.current_key_id("t1") == "daaaa"
    assert keyring.rotate("t1") == "dbbbb"
    stuck = Keyring(provider, keyring.store, id_factory=lambda: "aaaa")
    with pytest.raises(ConfigurationError, match="unique key id"):
        stuck.rotate("t1")
    with pytest.raises(ConfigurationError, match="bad key id"):
        Keyring(provider, id_factory=lambda: "has space").current_key_id("t1")


class _BrokenProvider:
    def current_root_id(self) -> str:
        return "kms"

    def wrap(self, root_id: str, plaintext_key: bytes, aad: bytes) -> bytes:
        raise TimeoutError("kms down")

    def unwrap(self, root_id: str, wrapped: bytes, aad: bytes) -> bytes:
        raise TimeoutError("kms down")


def test_provider_failures_become_key_unavailable(keyring: Keyring) -> None:
    with pytest.raises(KeyUnavailable, match="TimeoutError") as info:
        Keyring(_BrokenProvider()).current_key_id("t1")
    assert isinstance(info.value.__cause__, TimeoutError)
    token = FieldCipher(keyring).encrypt("x", **BIND)
    broken = FieldCipher(Keyring(_BrokenProvider(), keyring.store))
    with pytest.raises(DecryptionError, match="provider failed"):
        broken.decrypt(token, **BIND)


def test_root_rotation_rewraps_without_touching_ciphertexts(root_key: bytes) -> None:
    old = StaticKeyProvider(root_key)
    keyring = Keyring(old)
    cipher = FieldCipher(keyring)
    token = cipher.encrypt("x", **BIND)
    cipher.encrypt("y", subject_id="s1", **BIND)
    new_root = bytes(range(50, 82))
    both = StaticKeyProvider([new_root, root_key])
    keyring = Keyring(both, keyring.store)
    assert keyring.rewrap() == 2
    assert {both.current_root_id()} == {k.root_id for k in keyring.store.scan()}
    assert keyring.rewrap() == 0
    only_new = FieldCipher(Keyring(StaticKeyProvider(new_root), keyring.store))
    assert only_new.decrypt(token, **BIND) == "x"


def test_rewrap_to_another_provider(root_key: bytes) -> None:
    keyring = Keyring(StaticKeyProvider(root_key))
    token = FieldCipher(keyring).encrypt("x", **BIND)
    target = StaticKeyProvider(bytes(range(50, 82)))
    assert keyring.rewrap(provider=target) == 1
    assert target is keyring.provider
    fresh = FieldCipher(Keyring(target, keyring.store))
    assert fresh.decrypt(token, **BIND) == "x"


def test_env_provider_previous_roots_unwrap_only(root_key: bytes) -> None:
    new_root = bytes(range(50, 82))
    environ = {"NEW": _b64(new_root), "OLD": _b64(root_key)}
    provider = EnvKeyProvider("NEW", previous=["OLD"], environ=environ)
    assert StaticKeyProvider(new_root).current_root_id() == provider.current_root_id()
    assert len(provider.root_ids) == 2


class _CountingStore(InMemoryKeyStore):
    """An in-memory store that counts the lookups the keyring makes."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def get(self, tenant: str, key_id: str) -> WrappedKey | None:
        self.lookups += 1
        return super().get(tenant, key_id)

    def find(
        self, tenant: str, purpose: KeyPurpose, subject_id: str | None = None
    ) -> list[WrappedKey]:
        self.lookups += 1
        return super().find(tenant, purpose, subject_id)


def test_subject_keys_made_in_bulk_survive_a_full_cache(provider: StaticKeyProvider) -> None:
    store = _CountingStore()
    keyring = Keyring(provider, store=store, max_cached_keys=10)
    cipher = FieldCipher(keyring)
    tokens = {}
    for batch in range(5):  # 20 subjects through a cache of 10 keys
        subjects = [f"s{batch}-{i}" for i in range(4)]
        assert keyring.ensure_subject_keys("t1", subjects) == 4
        before = store.lookups
        for s in subjects:  # what the encryption layer does next: seal the batch
            tokens[s] = cipher.encrypt(
                s, tenant="t1", entity="Customer", record_id=s, field="x", subject_id=s
            )
        assert store.lookups == before  # every key just made was still cached
    # the evicted ones are read back from the store when needed
    for s, token in tokens.items():
        assert cipher.decrypt(token, tenant="t1", entity="Customer", record_id=s, field="x") == s
    assert keyring.ensure_subject_keys("t1", list(tokens)) == 0  # found, not made again
    assert len(store.find("t1", KeyPurpose.SUBJECT)) == 20
