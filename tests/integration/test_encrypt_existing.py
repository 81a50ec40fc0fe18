"""Turning encryption on over a database that already holds plaintext, on every backend.

Before the migration runs, reads and lookups see the plaintext records as
they are; ``reencrypt_all`` seals them and builds their blind indexes, in
resumable batches; during and after it every lookup answers the same.
"""

from __future__ import annotations

import os

import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.crypto import Encryption, Keyring, StaticKeyProvider
from crmcore.query import field, in_
from crmcore.services import reencrypt_all

SECRETS = ("wei@example.cn", "+8613800138000", "anna@example.com", "11010519491231002X")


def people() -> list[Customer]:
    return [
        Customer(
            first_name="伟",
            last_name="张",
            email="wei@example.cn",
            phone="+8613800138000",
            national_id="11010519491231002X",
        ),
        Customer(first_name="Anna", last_name="Smith", email="anna@example.com"),
        Customer(first_name="Bob", last_name="Jones", phone="+14155550132"),
        Customer(first_name="Cai", last_name="Li"),
        Customer(first_name="Dan", last_name="Wu", email="dan@example.org"),
    ]


@pytest.fixture
def me(tenant: str) -> Principal:
    return Principal(user_id="ops", tenant_id=tenant, roles={"admin"})


def lookups(s: crmcore.Session) -> dict[str, list[str]]:
    """What every kind of filter on a protected field answers, as sorted first names."""

    def names(where: object) -> list[str]:
        return sorted(c.first_name or "" for c in s.customers.find(where).items)  # type: ignore[arg-type]

    return {
        "eq": names(field("email") == "wei@example.cn"),
        "eq-case": names(field("email") == "Anna@Example.com"),
        "ne": names(field("email") != "wei@example.cn"),
        "in": names(in_("phone", ["+8613800138000", "+14155550132"])),
        "in-null": names(in_("email", ["dan@example.org", None])),
        "null": names(field("phone").is_null()),
        "not-null": names(~field("national_id").is_null()),
        "eq-none": names(field("email") == None),  # noqa: E711 - the query language's is_null
    }


EXPECTED = {
    "eq": ["伟"],
    "eq-case": ["Anna"],
    "ne": ["Anna", "Bob", "Cai", "Dan"],
    "in": ["Bob", "伟"],
    "in-null": ["Bob", "Cai", "Dan"],
    "null": ["Anna", "Cai", "Dan"],
    "not-null": ["伟"],
    "eq-none": ["Bob", "Cai"],
}


def test_migrate_plaintext_store_resumably(crm: crmcore.Crm, me: Principal) -> None:
    with crm.session(me) as s:  # the database as it was, before encryption
        stored = s.customers.add_many(people())
        before = lookups(s)
    # without encryption an equality is exact; the blind index compares e-mails
    # case-insensitively, and so does the plaintext fallback during migration
    assert before == {**EXPECTED, "eq-case": []}

    enc = Encryption(keyring=Keyring(StaticKeyProvider([os.urandom(32)])), migrating=True)
    ecrm = crmcore.Crm(crm.store, layers=[enc])
    with ecrm.session(me) as s:  # encryption on, nothing migrated yet: same answers
        assert lookups(s) == EXPECTED
        assert s.customers.get(stored[0].id).email == "wei@example.cn"

    with ecrm.session(me) as s:
        report = reencrypt_all(s, enc, Customer, batch_size=2)
    assert (report.scanned, report.rewritten) == (5, 4)  # Cai holds no protected value
    with ecrm.session(me) as s:
        raw = {r.id: r for r in s.inner(Customer).find(field("tenant_id") == me.tenant_id).items}
    sealed = [r for r in raw.values() if r.sealed]
    assert len(sealed) == 4
    for r in raw.values():
        assert (r.email, r.phone, r.national_id) == (None, None, None)
        blob = repr(r.sealed) + repr(r.search_keys)
        assert not any(secret in blob for secret in SECRETS)
    with ecrm.session(me) as s:
        assert lookups(s) == EXPECTED
        assert s.customers.get(stored[0].id).national_id == "11010519491231002X"
        again = reencrypt_all(s, enc, Customer)
    assert again.rewritten == 0 and again.scanned == 5


def test_interrupted_migration_resumes_with_lookups_right_midway(
    crm: crmcore.Crm, me: Principal
) -> None:
    with crm.session(me) as s:
        s.customers.add_many(people())
    enc = Encryption(keyring=Keyring(StaticKeyProvider([os.urandom(32)])), migrating=True)
    ecrm = crmcore.Crm(crm.store, layers=[enc])
    calls: list[int] = []

    class Stop(Exception):
        pass

    def progress(_label: str, done: int, _total: int) -> None:
        calls.append(done)
        if done >= 2:
            raise Stop  # the process dies after its first committed batch

    with pytest.raises(Stop), ecrm.session(me) as s:
        reencrypt_all(s, enc, Customer, batch_size=2, progress=progress)
    with ecrm.session(me) as s:
        raw = s.inner(Customer).find(field("tenant_id") == me.tenant_id, order_by="id").items
        half = [r for r in raw if r.sealed]
        assert 1 <= len(half) <= 2  # one committed batch: part sealed, part plaintext
        assert any(r.email or r.phone for r in raw)
        assert lookups(s) == EXPECTED  # a half-migrated store answers the same
        last = raw[1].id
        rest = reencrypt_all(s, enc, Customer, batch_size=2, resume_after=last)
    assert rest.scanned == 3
    with ecrm.session(me) as s:
        raw = s.inner(Customer).find(field("tenant_id") == me.tenant_id).items
        assert all((r.email, r.phone, r.national_id) == (None, None, None) for r in raw)
        assert lookups(s) == EXPECTED
