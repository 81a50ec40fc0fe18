"""Backups of every collection, encrypted and audited, restored into any backend exactly."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

import crmcore
from crmcore import (
    Account,
    Activity,
    ActivityType,
    Campaign,
    Consent,
    ConsentStatus,
    Customer,
    KnowledgeArticle,
    Lead,
    Money,
    Opportunity,
    Order,
    OrderLine,
    Product,
    Segment,
    SurveyKind,
    SurveyResponse,
    Ticket,
)
from crmcore.crypto import Encryption, InMemoryKeyStore, Keyring, StaticKeyProvider
from crmcore.errors import AlreadyExists, BackupError, PermissionDenied
from crmcore.io import backup, import_records, read_wrapped_keys, restore
from crmcore.model import (
    COLLECTIONS,
    CampaignEvent,
    CampaignMember,
    ContactRole,
    Principal,
    from_data,
)
from crmcore.services import merge, transition, verify_trail

from .conftest import NewCrm

ROOT = os.urandom(32)


def encrypted(url: str, keys: InMemoryKeyStore | None = None) -> crmcore.Crm:
    keyring = Keyring(
        StaticKeyProvider([ROOT]), store=keys if keys is not None else InMemoryKeyStore()
    )
    return crmcore.connect(url, encryption=Encryption(keyring=keyring), audit=True)


def fill(crm: crmcore.Crm, tmp: Path) -> None:
    """One record (at least) of every collection, through the layers."""
    with crm.session() as s:
        wei = s.customers.add(
            Customer(
                first_name="伟",
                last_name="张",
                email="wei@example.cn",
                phone="13800138000",
                national_id="11010519491231002X",
                date_of_birth=dt.date(1949, 12, 31),
                tags={"vip"},
                custom={"tier": "gold"},
            )
        )
        twin = s.customers.add(Customer(first_name="伟", last_name="张", email="wei2@example.cn"))
        acme = s.accounts.add(Account(name="ACME", annual_revenue=Money("1200000.50", "CNY")))
        s.contact_roles.add(ContactRole(customer_id=wei.id, account_id=acme.id, is_primary=True))
        lead = s.leads.add(Lead(first_name="Anna", last_name="Smith", company="Smith & Co"))
        transition(s, lead, "contact")
        deal = s.opportunities.add(
            Opportunity(name="Deal", amount=Money("5000", "CNY"), customer_id=wei.id)
        )
        transition(s, deal, "advance")
        s.activities.add(Activity(type=ActivityType.CALL, subject="Intro", customer_id=wei.id))
        s.tickets.add(Ticket(subject="Help", customer_id=wei.id))
        spring = s.campaigns.add(Campaign(name="Spring"))
        s.campaign_members.add(CampaignMember(campaign_id=spring.id, customer_id=wei.id))
        s.campaign_events.add(CampaignEvent(campaign_id=spring.id, customer_id=wei.id, kind="open"))
        s.segments.add(Segment(name="VIP"))
        s.products.add(Product(sku="P-1", name="Tea", price=Money("12.50", "CNY")))
        line = OrderLine(sku="P-1", quantity=Decimal(2), unit_price=Money("12.50", "CNY"))
        s.orders.add(Order(customer_id=wei.id, lines=(line,)))
        s.consents.add(
            Consent(customer_id=wei.id, purpose="marketing", status=ConsentStatus.GRANTED)
        )
        s.articles.add(KnowledgeArticle(title="Reset a password"))
        s.survey_responses.add(SurveyResponse(kind=SurveyKind.NPS, score=9, customer_id=wei.id))
    _module_records(crm, wei.id)
    with crm.session() as s:
        merge(s, Customer, wei.id, [twin.id])
    csv_path = tmp / "more.csv"
    csv_path.write_text("姓名,手机\n李娜,13900139000\n", encoding="utf-8")
    with crm.session() as s:
        import_records(s, csv_path)


def _module_records(crm: crmcore.Crm, customer_id: uuid.UUID) -> None:
    """One record of each collection the modules (desk, knowledge, marketing, events) add."""
    from crmcore import model as m

    now = dt.datetime(2026, 1, 5, 9, tzinfo=dt.timezone.utc)
    with crm.session() as s:
        article = s.articles.find(limit=1).items[0]
        ticket = s.tickets.find(limit=1).items[0]
        campaign = s.campaigns.find(limit=1).items[0]
        segment = s.segments.find(limit=1).items[0]
        hook = s.webhook_subscriptions.add(
            m.WebhookSubscription(url="http://127.0.0.1:9/hook", secret="s3cret")
        )
        event = s.outbox_events.add(
            m.OutboxEvent(
                event_type="customer.created",
                aggregate_type="Customer",
                aggregate_id=customer_id,
                sequence=1,
                occurred_at=now,
            )
        )
        s.webhook_deliveries.add(
            m.WebhookDelivery(
                subscription_id=hook.id,
                event_id=event.id,
                event_type="customer.created",
                attempt=1,
                ok=True,
            )
        )
        s.article_versions.add(m.ArticleVersion(article_id=article.id, number=1, title="v1"))
        s.article_feedback.add(m.ArticleFeedback(article_id=article.id, helpful=True))
        s.article_search_entries.add(m.ArticleSearchEntry(article_id=article.id))
        s.survey_requests.add(m.SurveyRequest(ticket_id=ticket.id))
        s.segment_entries.add(m.SegmentEntry(segment_id=segment.id, customer_id=customer_id))
        s.channel_suppressions.add(
            m.ChannelSuppression(
                channel=m.Channel.EMAIL, address="bounced@example.com", reason="bounce"
            )
        )
        s.campaign_variants.add(m.CampaignVariant(campaign_id=campaign.id, name="A"))
        s.campaign_costs.add(m.CampaignCost(campaign_id=campaign.id, amount=Money("800", "CNY")))
        s.agents.add(m.Agent(user_id="agent-1"))
        s.escalations.add(
            m.EscalationRecord(
                ticket_id=ticket.id, rule="r1", metric="first_response", action="notify"
            )
        )


def stored(crm: crmcore.Crm) -> dict[str, list[object]]:
    with crm.session() as s:
        return {
            name: sorted(s.inner(kind).stream(), key=lambda r: r.id)
            for name, kind in COLLECTIONS.items()
        }


def test_a_backup_restored_into_another_backend_compares_equal_and_verifies(
    new_crm: NewCrm, tmp_path: Path
) -> None:
    source = encrypted(f"sqlite:///{tmp_path / 'source.db'}", keys := InMemoryKeyStore())
    fill(source, tmp_path)
    path = tmp_path / "crm.backup.zip"
    with source.session() as s:
        manifest = backup(s, path)
    before = stored(source)
    assert all(before[name] for name in COLLECTIONS), [n for n in COLLECTIONS if not before[n]]
    assert manifest.counts == {name: len(v) for name, v in before.items()}
    with source.session() as s:
        plain = sorted(s.customers.stream(include_deleted=True), key=lambda c: c.id)

    target_keys = InMemoryKeyStore(keys.scan())
    keyring = Keyring(StaticKeyProvider([ROOT]), store=target_keys)
    target = new_crm(encryption=Encryption(keyring=keyring), audit=True)
    with target.session(restore=True) as s:
        restore(s, path)
    after = stored(target)
    assert after == before
    with target.session() as s:
        assert verify_trail(s).ok
        assert sorted(s.customers.stream(include_deleted=True), key=lambda c: c.id) == plain
        raw = s.inner(Customer).get(plain[0].id)
    assert raw.email is None and raw.sealed  # still ciphertext at rest


def test_wrapped_keys_travel_wrapped(tmp_path: Path) -> None:
    keys = InMemoryKeyStore()
    keyring = Keyring(StaticKeyProvider([ROOT]), store=keys)
    source = crmcore.connect("memory://", encryption=Encryption(keyring=keyring))
    with source.session() as s:
        s.customers.add(Customer(first_name="A", email="a@example.cn"))
    with source.session() as s:
        manifest = backup(s, tmp_path / "b.zip", keyring=keyring)
    assert manifest.keys is not None and manifest.keys["count"] >= 1
    wrapped = read_wrapped_keys(tmp_path / "b.zip")
    assert wrapped == keyring.export_wrapped()
    blob = zipfile.ZipFile(tmp_path / "b.zip").read("keys.json")
    assert ROOT not in blob
    target = crmcore.connect(
        "memory://",
        encryption=Encryption(
            keyring=Keyring(StaticKeyProvider([ROOT]), store=InMemoryKeyStore(wrapped))
        ),
    )
    with target.session(restore=True) as s:
        restore(s, tmp_path / "b.zip")
    with target.session() as s:
        assert [c.email for c in s.customers] == ["a@example.cn"]


def _small_backup(tmp_path: Path) -> Path:
    crm = crmcore.connect("memory://", audit=True)
    with crm.session() as s:
        s.customers.add_many(
            [Customer(first_name=f"P{i}", email=f"p{i}@example.cn") for i in range(50)]
        )
    path = tmp_path / "small.zip"
    with crm.session() as s:
        backup(s, path)
    return path


def _refused(path: Path) -> BackupError:
    target = crmcore.connect("memory://")
    with target.session(restore=True) as s, pytest.raises(BackupError) as err:
        restore(s, path)
    with target.session() as s:
        assert all(s.inner(kind).count() == 0 for kind in COLLECTIONS.values())
    return err.value


def test_a_truncated_backup_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    path = _small_backup(tmp_path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        short = tmp_path / f"cut{cut}.zip"
        short.write_bytes(data[:cut])
        _refused(short)


def test_a_damaged_member_is_refused(tmp_path: Path) -> None:
    path = _small_backup(tmp_path)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "data/customers.jsonl":
                body = body.replace(b"p7@example.cn", b"p8@example.cn")
            dst.writestr(item.filename, body)
    err = _refused(damaged)
    assert err.member == "data/customers.jsonl" and "checksum" in err.reason


def test_a_backup_with_a_missing_member_or_manifest_is_refused(tmp_path: Path) -> None:
    path = _small_backup(tmp_path)
    for drop in ("manifest.json", "data/customers.jsonl"):
        out = tmp_path / f"without-{drop.replace('/', '_')}.zip"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                if item.filename != drop:
                    dst.writestr(item.filename, src.read(item.filename))
        assert _refused(out).member == drop
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    _refused(not_zip)


def test_backups_are_for_the_system_principal(tmp_path: Path) -> None:
    crm = crmcore.connect("memory://")
    with (
        crm.session(Principal(user_id="u", tenant_id="default")) as s,
        pytest.raises(PermissionDenied),
    ):
        backup(s, tmp_path / "b.zip")


def test_a_store_backup_holds_every_tenant_and_a_tenant_backup_one(tmp_path: Path) -> None:
    crm = crmcore.connect("memory://")
    for tenant in ("t1", "t2"):
        with crm.session(Principal.system_principal(tenant)) as s:
            s.customers.add(Customer(first_name=tenant))
    with crm.session(Principal.system_principal("t1")) as s:
        assert backup(s, tmp_path / "t1.zip").counts["customers"] == 1
        assert backup(s, tmp_path / "all.zip", scope="store").counts["customers"] == 2


def test_a_restore_that_fails_after_many_batches_leaves_nothing(
    new_crm: NewCrm, tmp_path: Path
) -> None:
    """Batches go into one open transaction: a clash in a late batch undoes the early ones."""
    path = _small_backup(tmp_path)
    target = new_crm()
    with target.session() as s:  # the 40th customer of the backup is already there
        with zipfile.ZipFile(path) as zf:
            lines = zf.read("data/customers.jsonl").splitlines()
        taken = from_data(Customer, json.loads(lines[39]))
        s.inner(Customer).add(taken)
        s.commit()
    with target.session(restore=True) as s, pytest.raises(AlreadyExists):
        restore(s, path, batch_size=7)
    with target.session() as s:
        assert [c.id for c in s.inner(Customer).stream()] == [taken.id]
        assert all(
            s.inner(kind).count() == 0 for kind in COLLECTIONS.values() if kind is not Customer
        )
    with target.session(restore=True) as s:  # and the session works on afterwards
        s.inner(Customer).delete(taken.id)
        s.commit()
        restore(s, path, batch_size=7)
    with target.session() as s:
        assert s.inner(Customer).count() == 50


def test_a_restore_holds_one_batch_not_the_backup(tmp_path: Path) -> None:
    """On a SQL store each batch is written into the open transaction as it is read."""
    path = _small_backup(tmp_path)
    target = crmcore.connect(f"sqlite:///{tmp_path / 'target.db'}")
    most = 0
    with target.session(restore=True) as s:

        def watch(stage: str, done: int, total: int) -> None:
            nonlocal most
            unit = s._uow
            staged = sum(len(v) for v in unit._staged.values()) if unit is not None else 0  # type: ignore[attr-defined]
            most = max(most, staged)

        restore(s, path, batch_size=5, progress=watch)
    with target.session() as s:
        assert s.inner(Customer).count() == 50
    assert most <= 5
