"""SqlKeyStore: the KeyStore contract on SQLite, PostgreSQL and MariaDB (and the in-memory store).

Server cases use the databases named by ``CRMCORE_TEST_POSTGRES_URL`` /
``CRMCORE_TEST_MYSQL_URL`` (skipped, saying why, when unset), each test in a
table of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmcore.crypto import (
    FieldCipher,
    InMemoryKeyStore,
    KeyPurpose,
    Keyring,
    KeyStore,
    SqlKeyStore,
    StaticKeyProvider,
    WrappedKey,
)
from crmcore.errors import ConfigurationError, DecryptionError, StorageError
from crmcore.storage.sql import metadata

ENV = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}
SQL = ["sqlite", "postgresql", "mysql"]
ROOT = bytes(range(32))
#: every byte value, so a store that mangles bytes (text, trailing zeros) shows it
BLOB = bytes(range(256)) + b"\x00"
WHEN = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=timezone.utc)
BIND = {"entity": "Customer", "field": "email"}


def server_url(backend: str) -> str:
    url = os.environ.get(ENV[backend])
    if not url:
        pytest.skip(f"{ENV[backend]} is not set: no {backend} server to test against")
    return url


class Place:
    """Where one test keeps its keys: a SQLite file or a server, in a table of its own."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'keys.db'}"
            self.table = "crm_keys"
        else:
            self.url = server_url(backend)
            self.table = f"crm_keys_{uuid.uuid4().hex[:8]}"
        self._opened: list[SqlKeyStore] = []

    def open(self, *, create: bool = True) -> SqlKeyStore:
        """A new store (a new engine) on the same table."""
        store = SqlKeyStore(self.url, table=self.table, create=create)
        self._opened.append(store)
        return store

    def finish(self) -> None:
        for store in self._opened:
            store.close()
        if self.backend != "sqlite":
            engine = sa.create_engine(self.url)
            try:
                sa.Table(self.table, sa.MetaData()).drop(engine, checkfirst=True)
            finally:
                engine.dispose()


@pytest.fixture(params=SQL)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    p = Place(str(request.param), tmp_path)
    yield p
    p.finish()


@pytest.fixture(params=["memory", *SQL])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], KeyStore]]:
    """Opens the store under test; for SQL, each call is a new store on the same table."""
    if request.param == "memory":
        memory = InMemoryKeyStore()
        yield lambda: memory
        return
    p = Place(str(request.param), tmp_path)
    yield p.open
    p.finish()


@pytest.fixture
def store(reopen: Callable[[], KeyStore]) -> KeyStore:
    return reopen()


def key(
    key_id: str,
    *,
    tenant: str = "t1",
    purpose: KeyPurpose = KeyPurpose.DATA,
    subject: str | None = None,
    wrapped: bytes = BLOB,
    generation: int = 1,
    created_at: datetime = WHEN,
    root_id: str = "r0123456789abcdef",
) -> WrappedKey:
    return WrappedKey(
        tenant=tenant,
        key_id=key_id,
        purpose=purpose,
        root_id=root_id,
        wrapped=wrapped,
        created_at=created_at,
        generation=generation,
        subject_id=subject,
    )


def subject_key(key_id: str, subject: str, *, tenant: str = "t1") -> WrappedKey:
    return key(key_id, tenant=tenant, purpose=KeyPurpose.SUBJECT, subject=subject, generation=0)


def ids(records: Iterable[WrappedKey]) -> list[str]:
    return sorted(k.key_id for k in records)


# --------------------------------------------------------------------------- the contract


def test_add_then_get_gives_back_an_equal_record(store: KeyStore) -> None:
    made = key("d1")
    other_zone = key(
        "d2", created_at=WHEN.astimezone(timezone(timedelta(hours=5, minutes=30))), wrapped=b""
    )
    assert store.add(made) is True
    assert store.add(other_zone) is True
    got = store.get("t1", "d1")
    assert got == made
    assert got is not None
    assert got.wrapped == BLOB
    assert type(got.wrapped) is bytes
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.created_at.microsecond == 123456
    assert got.purpose is KeyPurpose.DATA
    assert store.get("t1", "d2") == other_zone
    assert store.get("t1", "nope") is None
    assert store.get("t2", "d1") is None


def test_big_generations_and_subject_records_round_trip(store: KeyStore) -> None:
    big = key("i9", purpose=KeyPurpose.INDEX, generation=2**62)
    subj = subject_key("s1", "customer-1")
    assert store.add(big)
    assert store.add(subj)
    assert store.get("t1", "i9") == big
    assert store.get("t1", "s1") == subj


def test_adding_a_taken_id_returns_false_and_keeps_the_first(store: KeyStore) -> None:
    first = key("d1", wrapped=b"first")
    assert store.add(first)
    assert store.add(key("d1", wrapped=b"second", root_id="r-other")) is False
    assert store.get("t1", "d1") == first
    assert store.add(key("d1", tenant="t2", wrapped=b"other tenant")) is True


def test_add_many_inserts_all(store: KeyStore) -> None:
    keys = [subject_key(f"s{i:05d}", f"c{i}") for i in range(1100)]  # more than one batch
    assert store.add_many([]) is True
    assert store.add_many(keys) is True
    assert store.get_many("t1", [k.key_id for k in keys]) == {k.key_id: k for k in keys}


def test_add_many_clashing_with_the_store_inserts_nothing(store: KeyStore) -> None:
    kept = key("d2", wrapped=b"kept")
    assert store.add(kept)
    batch = [key("d1"), key("d2", wrapped=b"new"), key("d3")]
    assert store.add_many(batch) is False
    assert store.get("t1", "d1") is None
    assert store.get("t1", "d3") is None
    assert store.get("t1", "d2") == kept


def test_add_many_with_a_repeated_id_inserts_nothing(store: KeyStore) -> None:
    assert store.add_many([key("d1"), key("d2"), key("d1", wrapped=b"again")]) is False
    assert store.get_many("t1", ["d1", "d2"]) == {}
    # the same id under two tenants is no repeat
    assert store.add_many([key("d1"), key("d1", tenant="t2")]) is True


def test_get_many_leaves_out_missing_ids(store: KeyStore) -> None:
    a, b = key("d1"), key("d2")
    assert store.add_many([a, b, key("d3", tenant="t2")])
    assert store.get_many("t1", ["d1", "missing", "d2", "d1", "d3"]) == {"d1": a, "d2": b}
    assert store.get_many("t1", []) == {}
    assert store.get_many("t9", ["d1"]) == {}


def test_find_by_purpose_with_and_without_subject(store: KeyStore) -> None:
    data = [key("d1"), key("d2", generation=2)]
    alice = [subject_key("s1", "alice"), subject_key("s2", "alice")]
    bob = [subject_key("s3", "bob")]
    index = [key("i1", purpose=KeyPurpose.INDEX)]
    elsewhere = [key("d9", tenant="t2"), subject_key("s9", "alice", tenant="t2")]
    assert store.add_many([*data, *alice, *bob, *index, *elsewhere])
    assert ids(store.find("t1", KeyPurpose.DATA)) == ["d1", "d2"]
    assert ids(store.find("t1", KeyPurpose.INDEX)) == ["i1"]
    assert ids(store.find("t1", KeyPurpose.SUBJECT)) == ["s1", "s2", "s3"]
    assert ids(store.find("t1", KeyPurpose.SUBJECT, "alice")) == ["s1", "s2"]
    assert ids(store.find("t1", KeyPurpose.SUBJECT, "bob")) == ["s3"]
    assert list(store.find("t1", KeyPurpose.SUBJECT, "carol")) == []
    assert list(store.find("t3", KeyPurpose.DATA)) == []
    assert sorted(store.find("t1", KeyPurpose.DATA), key=lambda k: k.key_id) == data


def test_find_subjects_groups_subject_keys_and_leaves_out_keyless_ones(store: KeyStore) -> None:
    many = [subject_key(f"s{i:04d}", f"c{i:04d}") for i in range(1200)]  # several IN chunks
    extra = subject_key("sx", "c0007")
    assert store.add_many([*many, extra, key("d1"), subject_key("s1", "c0001", tenant="t2")])
    thirds = [f"c{i:04d}" for i in range(0, 1200, 3)]
    found = store.find_subjects("t1", [*thirds, "nobody", "c0007", "c0003"])
    assert set(found) == {*thirds, "c0007"}
    assert found["c0003"] == [many[3]]
    assert sorted(found["c0007"], key=lambda k: k.key_id) == [many[7], extra]
    assert all(k.purpose is KeyPurpose.SUBJECT for keys in found.values() for k in keys)
    assert store.find_subjects("t1", []) == {}
    assert store.find_subjects("t2", ["c0001", "c0002"]) == {
        "c0001": [subject_key("s1", "c0001", tenant="t2")]
    }


def test_replace_overwrites_every_column_or_inserts(store: KeyStore) -> None:
    assert store.add(key("d1", wrapped=b"old"))
    new = key(
        "d1",
        wrapped=b"new\x00",
        root_id="r-new",
        generation=7,
        created_at=WHEN + timedelta(days=1, microseconds=1),
        purpose=KeyPurpose.SUBJECT,
        subject="alice",
    )
    store.replace(new)
    assert store.get("t1", "d1") == new
    assert list(store.find("t1", KeyPurpose.DATA)) == []
    assert list(store.find("t1", KeyPurpose.SUBJECT, "alice")) == [new]
    fresh = key("d2")
    store.replace(fresh)
    assert store.get("t1", "d2") == fresh


def test_delete_removes_only_that_record(store: KeyStore) -> None:
    assert store.add_many([key("d1"), key("d2"), key("d1", tenant="t2")])
    assert store.delete("t1", "d1") is True
    assert store.delete("t1", "d1") is False
    assert store.delete("t1", "never") is False
    assert store.get("t1", "d1") is None
    assert store.get("t1", "d2") is not None
    assert store.get("t2", "d1") is not None
    assert store.add(key("d1", wrapped=b"again"))  # a deleted id can be used again


def test_scan_gives_every_record(store: KeyStore) -> None:
    keys = [key(f"d{i:04d}", tenant=f"t{i % 3}") for i in range(2050)]  # several pages
    assert store.add_many(keys)
    scanned = list(store.scan())
    order = sorted(keys, key=lambda k: (k.tenant, k.key_id))
    assert sorted(scanned, key=lambda k: (k.tenant, k.key_id)) == order
    if isinstance(store, SqlKeyStore):
        assert scanned == order
    assert len(scanned) == len(keys)


def test_ids_differing_in_case_accents_or_spaces_are_different_keys(store: KeyStore) -> None:
    names = ["dabc", "dABC", "dAbc", "dabc ", "dé", "de", "dÉ", "d\u0065\u0301", "dß", "dss"]
    keys = [key(n, wrapped=n.encode()) for n in names]
    for k in keys:
        assert store.add(k), k.key_id
    for k in keys:
        assert store.get("t1", k.key_id) == k
    assert store.get_many("t1", ["dABC", "dabc"]) == {"dABC": keys[1], "dabc": keys[0]}
    assert store.add(key("x", tenant="Tenant")) and store.add(key("x", tenant="tenant"))
    assert store.get("TENANT", "x") is None
    assert store.add(subject_key("s1", "Alice")) and store.add(subject_key("s2", "alice"))
    assert ids(store.find("t1", KeyPurpose.SUBJECT, "alice")) == ["s2"]
    assert ids(store.find_subjects("t1", ["ALICE", "Alice"])["Alice"]) == ["s1"]
    assert store.delete("t1", "DABC") is False
    assert store.delete("t1", "dABC") is True
    assert store.get("t1", "dabc") == keys[0]


def test_a_new_store_on_the_same_database_sees_the_keys(
    reopen: Callable[[], KeyStore],
) -> None:
    first = reopen()
    assert first.add(key("d1"))
    assert first.add_many([subject_key("s1", "alice")])
    first.replace(key("d2"))
    assert first.add(key("d3"))
    assert first.delete("t1", "d3")
    if isinstance(first, SqlKeyStore):
        first.close()
    second = reopen()
    assert second.get("t1", "d1") == key("d1")
    assert ids(second.find("t1", KeyPurpose.DATA)) == ["d1", "d2"]
    assert ids(second.find("t1", KeyPurpose.SUBJECT, "alice")) == ["s1"]


# --------------------------------------------------------------------------- SQL specifics


def test_sqlite_file_is_durable_across_stores(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    with SqlKeyStore(url) as first:
        assert first.add(key("d1"))
    with SqlKeyStore(url, create=False) as second:
        assert second.get("t1", "d1") == key("d1")
        assert [k.key_id for k in second.scan()] == ["d1"]


def test_racing_adds_of_one_id_make_exactly_one_winner(place: Place) -> None:
    stores = [place.open() for _ in range(2)]  # two engines: like two processes
    barrier = threading.Barrier(8)
    results: list[bool] = []
    errors: list[BaseException] = []

    def race(n: int) -> None:
        try:
            barrier.wait()
            results.append(stores[n % 2].add(key("d1", wrapped=bytes([n]))))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [False] * 7 + [True]
    got = stores[0].get("t1", "d1")
    assert got is not None
    assert len(got.wrapped) == 1


def test_racing_batches_stay_all_or_nothing(place: Place) -> None:
    stores = [place.open() for _ in range(2)]
    batches = [[key(f"d{i:03d}", wrapped=bytes([n])) for i in range(200)] for n in range(4)]
    barrier = threading.Barrier(4)
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def race(n: int) -> None:
        try:
            barrier.wait()
            results[n] = stores[n % 2].add_many(batches[n])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results.values()) == [False, False, False, True]
    winner = next(n for n, won in results.items() if won)
    rows = list(stores[0].scan())
    assert len(rows) == 200
    assert {r.wrapped for r in rows} == {bytes([winner])}  # no row of a losing batch


def test_the_table_has_its_own_metadata_and_index(place: Place) -> None:
    store = place.open()
    assert store.table.metadata is not metadata()
    assert place.table not in metadata().tables
    inspector = sa.inspect(store.engine)
    assert inspector.get_pk_constraint(place.table)["constrained_columns"] == ["tenant", "key_id"]
    indexed = [ix["column_names"] for ix in inspector.get_indexes(place.table)]
    assert ["tenant", "purpose", "subject_id"] in indexed
    columns = {c["name"]: c for c in inspector.get_columns(place.table)}
    assert columns["subject_id"]["nullable"] is True
    assert columns["wrapped"]["nullable"] is False
    place.open()  # creating it again is a no-op


def test_a_missing_table_with_create_false_is_a_storage_error(place: Place) -> None:
    store = place.open(create=False)
    with pytest.raises(StorageError, match=rf"{place.table}.*does not exist") as info:
        store.add(key("d1"))
    with pytest.raises(StorageError, match="does not exist"):
        store.get("t1", "d1")
    with pytest.raises(StorageError, match="does not exist"):
        list(store.scan())
    told = "".join(traceback.format_exception(info.value))
    for leak in (repr(BLOB), BLOB.hex(), repr(BLOB[:40])[2:-1]):
        assert leak not in told


def test_an_unreachable_server_is_a_storage_error_without_the_password() -> None:
    url = "postgresql+psycopg://crm:s3cret-pw@127.0.0.1:1/crm"
    store = SqlKeyStore(url, create=False)
    assert "s3cret" not in repr(store)
    assert "***" in repr(store)
    with pytest.raises(StorageError, match="cannot read a key") as info:
        store.get("t1", "d1")
    assert "s3cret" not in str(info.value)
    with pytest.raises(StorageError) as creating:
        SqlKeyStore(url)
    assert "s3cret" not in str(creating.value)
    store.close()


def test_close_leaves_a_callers_engine_alone(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'own.db'}")
    pool = engine.pool
    store = SqlKeyStore(engine)
    assert store.add(key("d1"))
    store.close()
    assert engine.pool is pool  # dispose() would have replaced the pool
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM crm_keys")).scalar_one() == 1
    engine.dispose()


def test_records_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    with SqlKeyStore(f"sqlite:///{tmp_path / 'k.db'}") as store:
        with pytest.raises(ConfigurationError, match="tenant"):
            store.add(key("d1", tenant="t" * 65))
        with pytest.raises(ConfigurationError, match="key_id"):
            store.add_many([key("d" * 256)])
        with pytest.raises(ConfigurationError, match="aware"):
            store.replace(key("d1", created_at=datetime(2024, 1, 1)))
        assert list(store.scan()) == []
        assert store.add(key("d1", tenant="t" * 64))


@pytest.mark.parametrize("name", ["", "1keys", "keys; DROP TABLE x", "k" * 49, "crm-keys"])
def test_bad_table_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="table name"):
        SqlKeyStore("sqlite://", table=name)


def test_an_in_memory_sqlite_store_works_across_threads() -> None:
    with SqlKeyStore("sqlite://") as store:
        threads = [threading.Thread(target=store.add, args=(key(f"d{n}"),)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(list(store.scan())) == 8


def test_no_key_material_in_repr(tmp_path: Path) -> None:
    with SqlKeyStore(f"sqlite:///{tmp_path / 'k.db'}") as store:
        store.add(key("d1"))
        assert repr(store) == f"SqlKeyStore('sqlite:///{tmp_path / 'k.db'}', table='crm_keys')"
        assert BLOB.hex() not in repr(store.get("t1", "d1"))


# --------------------------------------------------------------------------- end to end


def test_a_new_keyring_on_the_same_database_decrypts_and_shredding_sticks(
    place: Place,
) -> None:
    keyring = Keyring(StaticKeyProvider(ROOT), store=place.open())
    cipher = FieldCipher(keyring)
    tenant_token = cipher.encrypt("shared@example.com", tenant="t1", record_id="r0", **BIND)
    alice = cipher.encrypt(
        "alice@example.com", tenant="t1", record_id="r1", subject_id="alice", **BIND
    )
    bob = cipher.encrypt("bob@example.com", tenant="t1", record_id="r2", subject_id="bob", **BIND)

    # another process: a new keyring and a new store (new engine) on the same table
    later = FieldCipher(Keyring(StaticKeyProvider(ROOT), store=place.open()))
    assert later.decrypt(tenant_token, tenant="t1", record_id="r0", **BIND) == (
        "shared@example.com"
    )
    assert later.decrypt(alice, tenant="t1", record_id="r1", **BIND) == "alice@example.com"

    assert keyring.shred("t1", "alice") == 1
    check = place.open()
    tombstones = check.find("t1", KeyPurpose.SUBJECT, "alice")
    assert [(k.destroyed, k.wrapped) for k in tombstones] == [(True, b"")]
    live = [k for k in check.find("t1", KeyPurpose.SUBJECT) if not k.destroyed]
    assert ids(live) == ids(check.find("t1", KeyPurpose.SUBJECT, "bob"))

    fresh = FieldCipher(Keyring(StaticKeyProvider(ROOT), store=place.open()))
    with pytest.raises(DecryptionError):
        fresh.decrypt(alice, tenant="t1", record_id="r1", **BIND)
    assert fresh.decrypt(bob, tenant="t1", record_id="r2", **BIND) == "bob@example.com"
    assert fresh.decrypt(tenant_token, tenant="t1", record_id="r0", **BIND) == (
        "shared@example.com"
    )


def test_rewrap_under_a_new_root_persists(place: Place) -> None:
    new_root = bytes(range(1, 33))
    keyring = Keyring(StaticKeyProvider(ROOT), store=place.open())
    token = FieldCipher(keyring).encrypt("x@example.com", tenant="t1", record_id="r1", **BIND)
    moved = keyring.rewrap(provider=StaticKeyProvider([new_root, ROOT], current=new_root))
    assert moved >= 1
    only_new = FieldCipher(Keyring(StaticKeyProvider(new_root), store=place.open()))
    assert only_new.decrypt(token, tenant="t1", record_id="r1", **BIND) == "x@example.com"


# --------------------------------------------------------------------------- packaging


def _loaded_after(code: str) -> list[str]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; {code}; print(*sorted(m for m in "
            "('cryptography', 'sqlalchemy') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout.split()


def test_keys_and_adapters_import_only_what_they_need() -> None:
    # the SQL adapter knows nothing of keys; the key package loads SQLAlchemy for SqlKeyStore only
    assert _loaded_after("import crmcore.storage.sql") == ["sqlalchemy"]
    assert _loaded_after("import crmcore.crypto") == ["cryptography"]
    assert _loaded_after("import crmcore.crypto as c; c.SqlKeyStore") == [
        "cryptography",
        "sqlalchemy",
    ]
