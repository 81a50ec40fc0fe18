"""Issue #13, encryption: what a database writer plants is refused, lookups are confirmed.

Every test runs on every backend (memory, SQLite, PostgreSQL, MariaDB). A
"database writer" is simulated by writing below the encryption layer
(``session.inner``), which is what direct SQL on the tables amounts to.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import AuditLayer
from crmcore.crypto import Encryption, Keyring, StaticKeyProvider
from crmcore.errors import DecryptionError
from crmcore.model import COLLECTIONS, EmailAddress, MergeRecord, PhoneNumber, to_data
from crmcore.query import field, in_
from crmcore.services import merge, reencrypt_all, shred_subject, unmerge
from crmcore.storage.aggregate import count

EMAIL_A, EMAIL_B = "a.wei@example.cn", "b.li@example.cn"
PHONE_A, PHONE_B = "+8613800138000", "+8613900139000"
EXTRA_EMAIL, EXTRA_PHONE = "wei.home@example.net", "+8613700137000"


def _enc(**kw: Any) -> Encryption:
    return Encryption(keyring=Keyring(StaticKeyProvider([os.urandom(32)])), **kw)


def _app(crm: crmcore.Crm, enc: Encryption) -> crmcore.Crm:
    return crmcore.Crm(crm.store, layers=[AuditLayer(redact=enc.redacted_fields()), enc])


def _two(app: crmcore.Crm, me: Principal) -> tuple[Customer, Customer]:
    with app.session(me) as s:
        a = s.customers.add(Customer(first_name="A", email=EMAIL_A, phone=PHONE_A))
        b = s.customers.add(Customer(first_name="B", email=EMAIL_B, phone=PHONE_B))
    return a, b


def _plant(app: crmcore.Crm, me: Principal, rid: Any, **changes: Any) -> None:
    with app.session(me) as s:
        raw = s.inner(Customer).get(rid)
        s.inner(Customer).update(attrs.evolve(raw, **changes))


# -- 1a. a cleared envelope and values written into the protected columns


def test_plaintext_planted_in_place_of_the_envelope_is_refused(
    crm: crmcore.Crm, principal: Principal
) -> None:
    app = _app(crm, _enc())
    a, _ = _two(app, principal)
    _plant(app, principal, a.id, sealed={}, search_keys=frozenset(), email="evil@example.org")
    with app.session(principal) as s:
        with pytest.raises(DecryptionError) as refused:
            s.customers.get(a.id)
        assert refused.value.field == "email" and "plaintext" in refused.value.reason
        assert "evil" not in str(refused.value)
        with pytest.raises(DecryptionError):
            s.customers.find(field("first_name") == "A")
        with pytest.raises(DecryptionError):
            list(s.customers.stream())


def test_a_database_not_yet_sealed_reads_as_it_is_only_while_migrating(
    crm: crmcore.Crm, principal: Principal
) -> None:
    with crm.session(principal) as s:  # written before encryption was turned on
        old = s.customers.add(Customer(first_name="Old", email=EMAIL_A))
    strict, migrating = _app(crm, _enc()), None
    with strict.session(principal) as s, pytest.raises(DecryptionError):
        s.customers.get(old.id)
    enc = _enc(migrating=True)
    migrating = _app(crm, enc)
    with migrating.session(principal) as s:
        assert s.customers.get(old.id).email == EMAIL_A
        assert [c.id for c in s.customers.find(email=EMAIL_A)] == [old.id]
        reencrypt_all(s, enc, Customer)
    strict = crmcore.Crm(crm.store, layers=[attrs.evolve(enc, migrating=False)])
    with strict.session(principal) as s:  # sealed: the strict layer reads it
        assert s.customers.get(old.id).email == EMAIL_A


# -- 1b. a plaintext column beside a valid envelope


@pytest.mark.parametrize("migrating", [False, True])
def test_a_plaintext_column_beside_the_envelope_is_refused(
    crm: crmcore.Crm, principal: Principal, migrating: bool
) -> None:
    app = _app(crm, _enc(migrating=True) if migrating else _enc())
    a, b = _two(app, principal)
    _plant(app, principal, a.id, email="evil@example.org")  # a field the envelope holds
    with app.session(principal) as s:
        with pytest.raises(DecryptionError) as refused:
            s.customers.get(a.id)
        assert refused.value.field == "email"
    with app.session(principal) as s:
        raw = s.inner(Customer).get(b.id)
    assert raw.national_id is None  # b's envelope holds no national id
    _plant(app, principal, b.id, national_id="110105194912310021")
    with app.session(principal) as s:
        if migrating:  # a field protected after sealing, waiting for reencrypt_all
            assert s.customers.get(b.id).national_id == "110105194912310021"
        else:
            with pytest.raises(DecryptionError):
                s.customers.get(b.id)


def test_sealed_entries_that_disagree_with_the_envelope_are_refused(
    crm: crmcore.Crm, principal: Principal
) -> None:
    app = _app(crm, _enc())
    a, _ = _two(app, principal)
    with app.session(principal) as s:
        raw = s.inner(Customer).get(a.id)
    _plant(app, principal, a.id, sealed={**raw.sealed, "national_id": ""})
    with app.session(principal) as s, pytest.raises(DecryptionError):
        s.customers.get(a.id)  # would make national_id look held to is_null filters


# -- 1c. swapped blind-index rows


def test_swapped_search_keys_never_return_another_customer(
    crm: crmcore.Crm, principal: Principal
) -> None:
    app = _app(crm, _enc())
    a, b = _two(app, principal)
    with app.session(principal) as s:
        ka, kb = s.inner(Customer).get(a.id).search_keys, s.inner(Customer).get(b.id).search_keys
    _plant(app, principal, a.id, search_keys=kb)
    _plant(app, principal, b.id, search_keys=ka)
    with app.session(principal) as s:
        assert [c.id for c in s.customers.find(email=EMAIL_A)] != [b.id]
        for c in s.customers.find(email=EMAIL_A):
            assert c.email == EMAIL_A
        assert all(c.phone == PHONE_B for c in s.customers.find(field("phone") == PHONE_B))
        assert all(c.email == EMAIL_A for c in s.customers.stream(in_("email", [EMAIL_A])))
        assert s.customers.count(field("email") == EMAIL_A) == 0
        assert s.customers.count(field("email") == EMAIL_B) == 0
        rows = s.customers.aggregate(field("email") == EMAIL_A, measures={"n": count()})
        assert [r["n"] for r in rows] in ([0], [])


def test_a_dropped_false_match_does_not_hide_the_true_one_behind_it(
    crm: crmcore.Crm, principal: Principal
) -> None:
    app = _app(crm, _enc())
    a, b = _two(app, principal)
    with app.session(principal) as s:
        ka, kb = s.inner(Customer).get(a.id).search_keys, s.inner(Customer).get(b.id).search_keys
    email_a = next(k for k in ka if k.startswith("email:"))
    _plant(app, principal, b.id, search_keys=kb | {email_a})  # b also claims a's e-mail
    with app.session(principal) as s:
        page = s.customers.find(field("email") == EMAIL_A, order_by="-id", limit=1)
        assert [c.id for c in page.items] == [a.id]
        assert s.customers.count(field("email") == EMAIL_A) == 1


# -- 2. a rotation of the index key in progress


def test_lookups_find_every_record_while_the_index_key_rotates(
    crm: crmcore.Crm, principal: Principal
) -> None:
    enc = _enc()
    app = _app(crm, enc)
    a, b = _two(app, principal)
    old = enc.indexer.current_version(principal.tenant_id)
    enc.indexer.rotate(principal.tenant_id)
    with app.session(principal) as s:
        c = s.customers.add(Customer(first_name="C", email="c@example.cn"))
        assert [x.id for x in s.customers.find(email=EMAIL_A)] == [a.id]  # old version
        assert [x.id for x in s.customers.find(email="c@example.cn")] == [c.id]  # new one
        assert {x.id for x in s.customers.find(in_("phone", [PHONE_A, PHONE_B]))} == {a.id, b.id}
        assert s.customers.count(field("email") != EMAIL_A) == 2
        reencrypt_all(s, enc, Customer)
    enc.keyring.retire_index(principal.tenant_id, old)
    with app.session(principal) as s:
        assert [x.id for x in s.customers.find(email=EMAIL_A)] == [a.id]
        assert [x.id for x in s.customers.find(email="c@example.cn")] == [c.id]


# -- 3. further e-mails and phones are sealed and shredded with the primary


def _every_stored_row(s: crmcore.Session, tenant: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for kind in COLLECTIONS.values():
        rows.extend(to_data(r) for r in s.inner(kind).stream())
    return [r for r in rows if r.get("tenant_id") == tenant]


def test_further_emails_and_phones_are_sealed_and_shredded(
    crm: crmcore.Crm, principal: Principal
) -> None:
    enc = _enc()
    app = _app(crm, enc)
    person = Customer(
        first_name="A",
        email=EMAIL_A,
        emails=(EmailAddress(address=EXTRA_EMAIL, label="home", verified=True),),
        phones=(PhoneNumber(number=EXTRA_PHONE, kind="mobile"),),
    )
    with app.session(principal) as s:
        s.customers.add(person)
    with app.session(principal) as s:
        back = s.customers.get(person.id)
        assert (back.emails, back.phones) == (person.emails, person.phones)
        text = repr(_every_stored_row(s, principal.tenant_id))
        assert EXTRA_EMAIL not in text and EXTRA_PHONE not in text
        raw = s.inner(Customer).get(person.id)
        assert (raw.emails, raw.phones) == ((), ())
        shred_subject(s, enc, person.id)
    enc.keyring.clear_cache()
    with app.session(principal) as s:
        erased = s.customers.get(person.id)
        assert (erased.email, erased.emails, erased.phones) == (None, (), ())


def test_a_merge_demotes_the_losing_primary_into_sealed_lists(
    crm: crmcore.Crm, principal: Principal
) -> None:
    enc = _enc()
    app = _app(crm, enc)
    a, b = _two(app, principal)
    with app.session(principal) as s:
        before = {r.id: to_data(r) for r in s.customers.get_many([a.id, b.id])}
        done = merge(s, Customer, a.id, [b.id])
    with app.session(principal) as s:
        survivor = s.customers.get(a.id)
        assert [e.address for e in survivor.emails] == [EMAIL_B]
        assert [p.number for p in survivor.phones] == [PHONE_B]
        text = repr(_every_stored_row(s, principal.tenant_id))
        assert not [v for v in (EMAIL_A, EMAIL_B, PHONE_A, PHONE_B) if v in text]
        assert done.merge_id is not None
        unmerge(s, done.merge_id)
    with app.session(principal) as s:
        for rid, data in before.items():
            now = to_data(s.customers.get(rid))
            skip = ("version", "updated_at")
            assert {k: v for k, v in now.items() if k not in skip} == {
                k: v for k, v in data.items() if k not in skip
            }


def test_with_the_lists_unprotected_a_merge_does_not_demote_into_them(
    crm: crmcore.Crm, principal: Principal
) -> None:
    from crmcore.crypto import FieldProtection

    own = FieldProtection("Customer", {"email": "searchable", "phone": "searchable"})
    app = _app(crm, _enc(protection={"Customer": own}))
    a, b = _two(app, principal)
    with app.session(principal) as s:
        done = merge(s, Customer, a.id, [b.id])
    with app.session(principal) as s:
        survivor = s.customers.get(a.id)
        assert (survivor.emails, survivor.phones) == ((), ())
        text = repr(_every_stored_row(s, principal.tenant_id))
        assert not [v for v in (EMAIL_A, EMAIL_B, PHONE_A, PHONE_B) if v in text]
        assert done.merge_id is not None
        unmerge(s, done.merge_id)
    with app.session(principal) as s:
        assert s.customers.get(b.id).email == EMAIL_B


# -- 4. journals written before sealing are sealed by reencrypt_all


def test_reencrypt_all_seals_merge_journals_written_in_plaintext(
    crm: crmcore.Crm, principal: Principal
) -> None:
    a, b = _two(crm, principal)  # no encryption yet: plaintext records and journal
    with crm.session(principal) as s:
        done = merge(s, Customer, a.id, [b.id])
    assert done.merge_id is not None
    enc = _enc(migrating=True)
    app = _app(crm, enc)
    with app.session(principal) as s:
        reencrypt_all(s, enc, Customer)
        report = reencrypt_all(s, enc, MergeRecord)
        assert report.rewritten == 1
        text = repr(_every_stored_row(s, principal.tenant_id))
        assert not [v for v in (EMAIL_A, EMAIL_B, PHONE_A, PHONE_B) if v in text]
        assert reencrypt_all(s, enc, MergeRecord).rewritten == 0
    strict = _app(crm, attrs.evolve(enc, migrating=False))
    with strict.session(principal) as s:
        journal = s.merges.get(done.merge_id).journal
        assert journal["merged"][0]["email"] == EMAIL_B
        unmerge(s, done.merge_id)
    with strict.session(principal) as s:
        assert s.customers.get(b.id).email == EMAIL_B
        assert s.customers.get(a.id).phones == ()


def test_a_plaintext_value_planted_in_a_sealed_journal_is_refused(
    crm: crmcore.Crm, principal: Principal
) -> None:
    app = _app(crm, _enc())
    a, b = _two(app, principal)
    with app.session(principal) as s:
        done = merge(s, Customer, a.id, [b.id])
    assert done.merge_id is not None
    with app.session(principal) as s:
        raw = s.inner(MergeRecord).get(done.merge_id)
        merged = [{**raw.journal["merged"][0], "email": "evil@example.org"}]
        planted = attrs.evolve(raw, journal={**raw.journal, "merged": merged})
        s.inner(MergeRecord).update(planted)
    with app.session(principal) as s, pytest.raises(DecryptionError):
        unmerge(s, done.merge_id)


# -- the same class elsewhere: a related() filter reaching an encrypted field


def test_a_related_filter_on_an_encrypted_field_is_refused_not_silently_empty(
    crm: crmcore.Crm, principal: Principal
) -> None:
    from crmcore.errors import QueryError
    from crmcore.model import Ticket
    from crmcore.query import related

    app = _app(crm, _enc())
    a, _ = _two(app, principal)
    with app.session(principal) as s:
        s.tickets.add(Ticket(subject="help", customer_id=a.id))
    by_email = related("customers", "id", field("email") == EMAIL_A, field="customer_id")
    by_name = related("customers", "id", field("first_name") == "A", field="customer_id")
    with app.session(principal) as s:
        with pytest.raises(QueryError) as refused:
            s.tickets.find(by_email)
        assert refused.value.field == "email" and EMAIL_A not in str(refused.value)
        with pytest.raises(QueryError):
            s.tickets.count(~by_email)
        assert len(s.tickets.find(by_name).items) == 1  # plaintext fields still work
