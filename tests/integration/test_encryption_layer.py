"""The encryption layer on every backend: ciphertext at rest, blind-index lookups, keys."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Collection
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import AuditLayer
from crmcore.crypto import (
    Encryption,
    Keyring,
    StaticKeyProvider,
    key_id_of,
)
from crmcore.crypto._layer import RECORD
from crmcore.errors import DecryptionError, QueryError
from crmcore.query import field, in_
from crmcore.services import history, reencrypt_all, shred_subject


def people() -> list[Customer]:
    """Fresh records (new ids) for every test: server databases are shared by the run."""
    return [
        Customer(
            first_name="伟",
            last_name="张",
            email="wei@example.cn",
            phone="+8613800138000",
            national_id="11010519491231002X",
            date_of_birth=dt.date(1949, 12, 31),
        ),
        Customer(
            first_name="Anna", last_name="Smith", email="anna@example.com", phone="+14155550132"
        ),
        Customer(first_name="Bob", last_name="Jones", email=None, phone="+442079460018"),
    ]


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(StaticKeyProvider([os.urandom(32)]))


@pytest.fixture
def enc(keyring: Keyring) -> Encryption:
    return Encryption(keyring=keyring)


@pytest.fixture
def ecrm(crm: crmcore.Crm, enc: Encryption) -> crmcore.Crm:
    audit = AuditLayer(redact=enc.redacted_fields())
    return crmcore.Crm(crm.store, layers=[audit, enc])


@pytest.fixture
def me(tenant: str) -> Principal:
    return Principal(user_id="ops", tenant_id=tenant, roles={"admin"})


def seed(ecrm: crmcore.Crm, me: Principal) -> list[Customer]:
    with ecrm.session(me) as s:
        return s.customers.add_many(people())


def test_stored_rows_hold_no_plaintext(ecrm: crmcore.Crm, me: Principal) -> None:
    rows = seed(ecrm, me)
    with ecrm.session(me) as s:
        raw = s.inner(Customer).get(rows[0].id)
    assert (raw.email, raw.phone, raw.national_id, raw.date_of_birth) == (None, None, None, None)
    blob = repr(raw.sealed) + repr(raw.search_keys)
    for secret in ("wei@example.cn", "13800138000", "11010519491231002X", "1949-12-31"):
        assert secret not in blob
    assert raw.first_name == "伟"  # not protected


def test_reads_give_plaintext_back(ecrm: crmcore.Crm, me: Principal) -> None:
    rows = seed(ecrm, me)
    with ecrm.session(me) as s:
        got = s.customers.get(rows[0].id)
        assert got == rows[0]
        assert got.sealed == {} and got.search_keys == frozenset()
        assert sorted(c.email or "" for c in s.customers.find()) == sorted(
            c.email or "" for c in rows
        )


def test_equality_lookups_run_on_blind_indexes(ecrm: crmcore.Crm, me: Principal) -> None:
    rows = seed(ecrm, me)
    with ecrm.session(me) as s:
        assert [c.id for c in s.customers.find(email="wei@example.cn")] == [rows[0].id]
        assert [c.id for c in s.customers.find(field("phone") == "+14155550132")] == [rows[1].id]
        assert s.customers.count(field("email") != "wei@example.cn") == 2
        assert {c.id for c in s.customers.find(in_("email", ["anna@example.com", None]))} == {
            rows[1].id,
            rows[2].id,
        }
        assert [c.id for c in s.customers.find(field("email").is_null())] == [rows[2].id]
        assert [c.id for c in s.customers.find(field("date_of_birth").not_null())] == [rows[0].id]
        assert s.customers.find(email="nobody@example.com").items == ()


def test_filters_that_cannot_run_on_ciphertext_are_refused(
    ecrm: crmcore.Crm, me: Principal
) -> None:
    seed(ecrm, me)
    with ecrm.session(me) as s:
        with pytest.raises(QueryError) as err:
            s.customers.find(field("email").contains("example"))
        assert err.value.field == "email"
        with pytest.raises(QueryError):
            s.customers.find(field("date_of_birth") < dt.date(2000, 1, 1))
        with pytest.raises(QueryError):
            s.customers.find(field("date_of_birth") == dt.date(1949, 12, 31))  # encrypted only
        with pytest.raises(QueryError):
            s.customers.find(order_by="email")


def test_updates_reseal_and_keep_lookups_right(ecrm: crmcore.Crm, me: Principal) -> None:
    rows = seed(ecrm, me)
    with ecrm.session(me) as s:
        c = s.customers.update(attrs.evolve(rows[0], email="new@example.cn"))
        assert c.version == 2
    with ecrm.session(me) as s:
        assert s.customers.find(email="wei@example.cn").items == ()
        assert [x.id for x in s.customers.find(email="new@example.cn")] == [rows[0].id]


def test_ciphertext_moved_to_another_record_or_field_fails(
    ecrm: crmcore.Crm, me: Principal, enc: Encryption
) -> None:
    rows = seed(ecrm, me)
    with ecrm.session(me) as s:
        raw = s.inner(Customer)
        a, b = raw.get(rows[0].id), raw.get(rows[1].id)
        # one envelope holds every encrypted field; the other entries say which are set
        assert a.sealed.keys() == {RECORD, "email", "phone", "national_id", "date_of_birth"}
        assert set(b.sealed.values()) - {b.sealed[RECORD]} == {""}
        # the envelope of one record planted in another
        raw.update(attrs.evolve(b, sealed={**b.sealed, RECORD: a.sealed[RECORD]}))
        # a genuine token of this very record's e-mail, bound to the field, in place of it
        field_token = enc.cipher.encrypt(
            "wei@example.cn", tenant=me.tenant_id, entity="Customer", record_id=a.id, field="email"
        )
        raw.update(attrs.evolve(a, sealed={**a.sealed, RECORD: field_token}))
    with ecrm.session(me) as s:
        with pytest.raises(DecryptionError) as err:
            s.customers.get(rows[1].id)
        assert (err.value.field, err.value.id) == ("email, phone", rows[1].id)
        assert "anna" not in str(err.value) and "wei@" not in str(err.value)
        with pytest.raises(DecryptionError) as err:
            s.customers.get(rows[0].id)
        assert err.value.field == "date_of_birth, email, national_id, phone"


def test_flipped_bit_fails(ecrm: crmcore.Crm, me: Principal) -> None:
    rows = seed(ecrm, me)
    with ecrm.session(me) as s:
        raw = s.inner(Customer)
        r = raw.get(rows[0].id)
        token = r.sealed[RECORD]
        mid = len(token) // 2
        flipped = token[:mid] + ("A" if token[mid] != "A" else "B") + token[mid + 1 :]
        raw.update(attrs.evolve(r, sealed={**r.sealed, RECORD: flipped}))
    with ecrm.session(me) as s, pytest.raises(DecryptionError):
        s.customers.get(rows[0].id)


def test_rotation_then_reencryption_needs_only_the_new_key(
    crm: crmcore.Crm, me: Principal, keyring: Keyring
) -> None:
    enc = Encryption(keyring=keyring, subject_keys=False)  # everything under tenant keys
    ecrm = crmcore.Crm(crm.store, layers=[enc])
    rows = seed(ecrm, me)
    old = set(keyring.key_ids(me.tenant_id))
    keyring.rotate(me.tenant_id)
    old_index = keyring.rotate_index(me.tenant_id) - 1
    with ecrm.session(me) as s:
        s.customers.add(Customer(first_name="new", email="new@example.cn"))
    with ecrm.session(me) as s:
        report = reencrypt_all(s, enc, Customer, batch_size=2)
    assert (report.scanned, report.rewritten) == (4, 3)
    for key_id in old:
        keyring.retire(me.tenant_id, key_id)
    keyring.retire_index(me.tenant_id, old_index)
    with ecrm.session(me) as s:
        assert s.customers.get(rows[0].id) == attrs.evolve(rows[0], version=2)
        assert [c.id for c in s.customers.find(email="wei@example.cn")] == [rows[0].id]
    with ecrm.session(me) as s:
        again = reencrypt_all(s, enc, Customer)
    assert again.rewritten == 0


def test_shredding_erases_one_subject_only(
    ecrm: crmcore.Crm, me: Principal, keyring: Keyring, enc: Encryption
) -> None:
    rows = seed(ecrm, me)
    with ecrm.session(me) as s:
        before = s.inner(Customer).get(rows[0].id)
        assert shred_subject(s, enc, rows[0].id) == 1
        raw = s.inner(Customer).get(rows[0].id)
        assert (raw.sealed, raw.search_keys) == ({}, frozenset())
    # a copy of the row taken before (a backup) can no longer be opened
    assert enc.unseal(before, enc.protection["Customer"]).email is None
    with ecrm.session(me) as s:
        gone = s.customers.get(rows[0].id)
        assert (gone.email, gone.phone, gone.national_id) == (None, None, None)
        assert gone.first_name == "伟"
        assert s.customers.get(rows[1].id).email == "anna@example.com"
        assert s.customers.find(email="wei@example.cn").items == ()


def test_audit_records_encrypted_fields_without_values(ecrm: crmcore.Crm, me: Principal) -> None:
    rows = seed(ecrm, me)
    with ecrm.session(me) as s:
        s.customers.update(attrs.evolve(rows[0], email="changed@example.cn"))
    with ecrm.session(me) as s:
        entries = history(s, Customer, rows[0].id)
        assert entries[-1].changes["email"] == {"changed": True, "redacted": True}
        assert "changed@example.cn" not in repr([e.changes for e in entries])


HYPO = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_arbitrary_unicode_round_trips(ecrm: crmcore.Crm, me: Principal, backend: str) -> None:
    @HYPO
    @given(
        value=st.text(
            alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
            max_size=60,
        )
    )
    def check(value: str) -> None:
        with ecrm.session(me) as s:
            c = s.customers.add(Customer(email=value, national_id=value))
        with ecrm.session(me) as s:
            got = s.customers.get(c.id)
            assert (got.email, got.national_id) == (value, value)
            assert c.id in {x.id for x in s.customers.find(email=value)}

    check()


def _durable(tmp_path: Path, root: StaticKeyProvider) -> Encryption:
    from crmcore.crypto import SqlKeyStore

    return Encryption(keyring=Keyring(root, store=SqlKeyStore(f"sqlite:///{tmp_path / 'keys.db'}")))


def test_sqlite_file_holds_none_of_the_plaintext(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    path = tmp_path / "encrypted.db"
    enc = _durable(tmp_path, StaticKeyProvider([os.urandom(32)]))
    crm = crmcore.connect(f"sqlite:///{path}", encryption=enc, audit=True)
    me = Principal(user_id="ops", tenant_id="acme")
    with crm.session(me) as s:
        s.customers.add_many(people())
    with crm.session(me) as s:
        c = s.customers.get(s.customers.find(email="wei@example.cn").items[0].id)
        s.customers.update(attrs.evolve(c, email="zhang.wei@example.cn"))
    with crm.session(me) as s:
        assert s.customers.first(email="zhang.wei@example.cn") is not None
    crm.close()
    enc.keyring.store.close()  # type: ignore[attr-defined]
    # the data file, its WAL and SHM, and the key store's file
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"Smith" in raw  # plaintext fields are there: the check can see plaintext
    for secret in (
        "wei@example.cn",
        "zhang.wei@example.cn",
        "anna@example.com",
        "13800138000",
        "4155550132",
        "2079460018",
        "11010519491231002X",
        "1949-12-31",
    ):
        assert secret.encode() not in raw, secret
        assert secret.encode("utf-16-le") not in raw, secret


def test_data_written_before_a_restart_is_read_after_it(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    root = StaticKeyProvider([os.urandom(32)])
    me = Principal(user_id="ops", tenant_id="acme")
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    first = _durable(tmp_path, root)
    crm = crmcore.connect(url, encryption=first)
    with crm.session(me) as s:
        ids = [c.id for c in s.customers.add_many(people())]
    crm.close()
    first.keyring.store.close()  # type: ignore[attr-defined]
    # a new process: new keyring and key store over the same files, the same root key
    again = _durable(tmp_path, root)
    crm = crmcore.connect(url, encryption=again)
    with crm.session(me) as s:
        assert [c.email for c in s.customers.get_many(ids)] == [p.email for p in people()]
        assert s.customers.first(email="anna@example.com") is not None
    crm.close()
    again.keyring.store.close()  # type: ignore[attr-defined]


def test_durable_data_with_keys_in_memory_only_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from crmcore.crypto import InMemoryKeyStore
    from crmcore.errors import ConfigurationError

    root = StaticKeyProvider([os.urandom(32)])
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with pytest.raises(ConfigurationError, match="restart"):
        crmcore.connect(url, encryption=Encryption(keyring=Keyring(root)))
    with pytest.raises(ConfigurationError, match="restart"):
        crmcore.connect(
            url,
            encryption=Encryption(
                keyring=Keyring(root, store=InMemoryKeyStore()), index_keyring=Keyring(root)
            ),
        )
    assert not (tmp_path / "crm.db").exists()  # refused before anything was created
    # said explicitly (keys saved some other way), or data that dies with the process: fine
    crmcore.connect(url, encryption=Encryption(keyring=Keyring(root, store=InMemoryKeyStore())))
    crmcore.connect("memory://", encryption=Encryption(keyring=Keyring(root)))


def test_lookups_match_the_value_however_it_is_typed(ecrm: crmcore.Crm, me: Principal) -> None:
    rows = seed(ecrm, me)
    wei = rows[0].id
    with ecrm.session(me) as s:
        for typed in (
            {"email": "WEI@Example.CN"},
            {"phone": "138 0013 8000"},
            {"phone": "+86 138-0013-8000"},
            {"national_id": "110105 19491231 002x"},
        ):
            assert [c.id for c in s.customers.find(**typed)] == [wei], typed
        # what no normaliser accepts matches nothing (and is no error), as on plaintext
        assert s.customers.find(phone="not a phone").items == ()


def test_a_field_no_longer_declared_encrypted_still_reads_back(
    crm: crmcore.Crm, me: Principal, keyring: Keyring
) -> None:
    from crmcore.crypto import DEFAULT_PROTECTION, Protection

    before = Encryption(keyring=keyring)
    rows = seed(crmcore.Crm(crm.store, layers=[before]), me)
    relaxed = DEFAULT_PROTECTION["Customer"].with_fields({"date_of_birth": Protection.PLAINTEXT})
    after = Encryption(keyring=keyring, protection={"Customer": relaxed})
    ecrm = crmcore.Crm(crm.store, layers=[after])
    with ecrm.session(me) as s:
        got = s.customers.get(rows[0].id)
        assert got.date_of_birth == dt.date(1949, 12, 31)  # from the old envelope
        s.customers.update(got)  # written again: the date now as plaintext
    with ecrm.session(me) as s:
        raw = s.inner(Customer).get(rows[0].id)
        assert raw.date_of_birth == dt.date(1949, 12, 31)
        assert "date_of_birth" not in raw.sealed
        assert s.customers.get(rows[0].id).email == "wei@example.cn"


def test_a_page_of_customers_needs_one_key_store_lookup(crm: crmcore.Crm, me: Principal) -> None:
    from crmcore.crypto import InMemoryKeyStore, KeyPurpose, WrappedKey

    class Counting(InMemoryKeyStore):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def get(self, tenant: str, key_id: str) -> WrappedKey | None:
            self.calls.append("get")
            return super().get(tenant, key_id)

        def get_many(self, tenant: str, key_ids: Collection[str]) -> dict[str, WrappedKey]:
            self.calls.append("get_many")
            return super().get_many(tenant, key_ids)

        def find(
            self, tenant: str, purpose: KeyPurpose, subject_id: str | None = None
        ) -> list[WrappedKey]:
            self.calls.append("find")
            return super().find(tenant, purpose, subject_id)

    root, store = StaticKeyProvider([os.urandom(32)]), Counting()
    writer = crmcore.Crm(crm.store, layers=[Encryption(keyring=Keyring(root, store=store))])
    with writer.session(me) as s:
        made = s.customers.add_many(
            Customer(first_name=f"c{i}", email=f"c{i}@example.cn") for i in range(30)
        )
    ids = [c.id for c in made]
    for read in ("find", "stream", "get_many"):
        # another process: a cold key cache over the same key store
        reader = crmcore.Crm(crm.store, layers=[Encryption(keyring=Keyring(root, store=store))])
        store.calls.clear()
        with reader.session(me) as s:
            if read == "find":
                got = list(s.customers.find(in_("id", ids), limit=100))
            elif read == "stream":
                got = [c for c in s.customers.stream(batch_size=10) if c.id in set(ids)]
            else:
                got = s.customers.get_many(ids)
        assert sorted(c.email or "" for c in got) == sorted(f"c{i}@example.cn" for i in range(30))
        assert "get" not in store.calls, read  # never one subject key at a time
        pages = 3 if read == "stream" else 1
        assert store.calls.count("get_many") <= pages + 1, (read, store.calls)  # + the data key


def test_index_rotation_reseals_customers_under_their_own_keys(
    ecrm: crmcore.Crm, me: Principal, keyring: Keyring, enc: Encryption
) -> None:
    rows = seed(ecrm, me)
    old_index = keyring.rotate_index(me.tenant_id) - 1
    keyring.clear_cache()  # as in a new process: no subject key unwrapped yet
    with ecrm.session(me) as s:
        report = reencrypt_all(s, enc, Customer, batch_size=2)
    assert (report.scanned, report.rewritten) == (3, 3)
    keyring.retire_index(me.tenant_id, old_index)
    with ecrm.session(me) as s:
        assert [c.id for c in s.customers.find(email="wei@example.cn")] == [rows[0].id]
        raw = s.inner(Customer).get(rows[0].id)
        assert Keyring.is_subject_key_id(key_id_of(raw.sealed[RECORD]))  # still shreddable
    with ecrm.session(me) as s:
        assert shred_subject(s, enc, rows[0].id) == 1
        assert s.customers.get(rows[0].id).email is None


def test_only_protectable_types_can_be_protected(keyring: Keyring) -> None:
    from crmcore.crypto import FieldProtection
    from crmcore.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="cannot protect Ticket"):
        Encryption(keyring=keyring, protection={"Ticket": FieldProtection("Ticket", {})})
    with pytest.raises(ConfigurationError, match="unknown entity type 'Nope'"):
        Encryption(keyring=keyring, protection={"Nope": FieldProtection("Nope", {})})


def test_lead_protection_uses_tenant_keys_unless_it_asks_for_subject_keys(
    crm: crmcore.Crm, keyring: Keyring, me: Principal
) -> None:
    from crmcore import Lead
    from crmcore.crypto import DEFAULT_PROTECTION, FieldProtection

    leads = FieldProtection("Lead", {"email": "searchable", "phone": "encrypted"})
    enc = Encryption(keyring=keyring, protection={**DEFAULT_PROTECTION, "Lead": leads})
    assert enc.keys_per_subject(Customer) and not enc.keys_per_subject(Lead)
    ecrm = crmcore.Crm(crm.store, layers=[enc])
    with ecrm.session(me) as s:
        lead = s.leads.add(Lead(first_name="Wei", email="wei@example.cn", phone="+8613800138000"))
    with ecrm.session(me) as s:
        raw = s.inner(Lead).get(lead.id)
        assert (raw.email, raw.phone) == (None, None) and raw.sealed
        assert [x.id for x in s.leads.find(field("email") == "wei@example.cn").items] == [lead.id]
        assert s.leads.get(lead.id).phone == "+8613800138000"
    subject = attrs.evolve(leads, subject_keys=True)
    assert Encryption(keyring=keyring, protection={"Lead": subject}).keys_per_subject(Lead)


def test_plain_tables_have_no_ciphertext_storage() -> None:
    from crmcore.model import COLLECTIONS, Protectable
    from crmcore.storage import sql

    md = sql.metadata()
    for name, kind in COLLECTIONS.items():
        protectable = issubclass(kind, Protectable)
        assert ("sealed" in md.tables[name].c) is protectable, name
        assert (f"{name}_search_keys" in md.tables) is protectable, name
    assert {n for n, k in COLLECTIONS.items() if issubclass(k, Protectable)} == {
        "customers",
        "accounts",
        "leads",
    }
