"""Marketing automation end to end: segment, audience, send, events, report.

Run: ``python examples/marketing.py`` (memory) or ``python examples/marketing.py sqlite:///m.db``.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from decimal import Decimal

import crmcore
from crmcore import services as sv
from crmcore.channels import FakeChannel
from crmcore.marketing import AudienceRules
from crmcore.model import (
    Campaign,
    CampaignVariant,
    Channel,
    Consent,
    ConsentStatus,
    Customer,
    Money,
    Order,
    OrderLine,
    Principal,
)
from crmcore.query import ago, related
from crmcore.query import field as f

url = sys.argv[1] if len(sys.argv) > 1 else "memory://"
crm = crmcore.connect(url, validation=False)
admin = Principal(user_id="mkt", tenant_id="demo", roles=frozenset({"admin"}))
rng = random.Random(7)
now = dt.datetime.now(dt.timezone.utc)

with crm.session(admin) as s:
    people = []
    for i in range(300):
        c = s.customers.add(
            Customer(
                first_name=f"客户{i}",
                last_name="王",
                email=f"user{i}@example.com",
                lifecycle_stage=rng.choice(["subscriber", "customer"]),
                custom={"tier": rng.choice(["gold", "silver"])},
            )
        )
        people.append(c)
        if i == 0 or rng.random() < 0.8:  # most opted in, some of those opted out again later
            s.repo(Consent).add(
                Consent(
                    customer_id=c.id,
                    purpose="marketing",
                    status=ConsentStatus.GRANTED,
                    channel=Channel.EMAIL,
                    recorded_at=now - dt.timedelta(days=60),
                )
            )
            if i and rng.random() < 0.1:
                s.repo(Consent).add(
                    Consent(
                        customer_id=c.id,
                        purpose="marketing",
                        status=ConsentStatus.WITHDRAWN,
                        channel=Channel.EMAIL,
                        recorded_at=now - dt.timedelta(days=5),
                    )
                )
        if rng.random() < 0.5:
            s.repo(Order).add(
                Order(
                    customer_id=c.id,
                    ordered_at=now - dt.timedelta(days=rng.randint(1, 200)),
                    lines=(OrderLine(sku="TEA", quantity=1, unit_price=Money("1200", "CNY")),),
                )
            )
    # a duplicate record of customer 0, not merged yet: same mailbox typed differently
    dup = s.customers.add(Customer(first_name="客户0", last_name="王", email="USER0@example.com"))
    s.repo(Consent).add(
        Consent(customer_id=dup.id, purpose="marketing", status=ConsentStatus.GRANTED)
    )

with crm.session(admin) as s:  # segments see committed related records (orders)
    # "customers (lifecycle) who are gold and ordered in the last 90 days"
    where = (
        (
            (f("lifecycle_stage") == "customer")
            & (f("custom.tier") == "gold")
            & related("orders", "customer_id", f("ordered_at") >= ago(days=90))
        )
        | (f("email") == "USER0@example.com")
        | (f("email") == "user0@example.com")
    )
    seg = sv.create_segment(s, "gold buyers, 90 days", where)
    print("segment size:", sv.segment_count(s, seg))

    camp = s.repo(Campaign).add(
        Campaign(name="Spring tea", channel=Channel.EMAIL, segment_id=seg.id)
    )
    for name in ("A", "B"):
        s.repo(CampaignVariant).add(
            CampaignVariant(
                campaign_id=camp.id,
                name=name,
                subject=f"[{name}] New spring tea",
                body="Hello {first_name}, see {link:shop}",
                links={"shop": "https://shop.example.com/spring?ref=mail"},
            )
        )
    sv.record_campaign_cost(s, camp, Money("300", "CNY"), note="send fees")

with crm.session(admin) as s:
    outbox = FakeChannel(Channel.EMAIL)
    report = sv.send_campaign(s, camp.id, outbox, rules=AudienceRules(channel=Channel.EMAIL))
    print("sent:", report.sent, "by variant:", report.variants)
    print("excluded:", report.audience.reasons())
    print("first link:", outbox.outbox[0].body.split()[-1])

# the provider reports back (out of order, some twice)
events = []
for m in outbox.outbox:
    base = {"campaign_id": m.campaign_id, "customer_id": m.customer_id, "variant": m.variant}
    t = dt.datetime.now(dt.timezone.utc)
    events.append({**base, "id": f"d-{m.message_id}", "kind": "delivered", "occurred_at": t})
    if rng.random() < (0.45 if m.variant == "B" else 0.3):
        events.append({**base, "id": f"o-{m.message_id}", "kind": "opened", "occurred_at": t})
        if rng.random() < 0.5:
            events.append({**base, "id": f"c-{m.message_id}", "kind": "clicked", "occurred_at": t})
    if rng.random() < 0.05:
        events.append({**base, "id": f"u-{m.message_id}", "kind": "unsubscribed", "occurred_at": t})
rng.shuffle(events)
with crm.session(admin) as s:
    print("ingest:", sv.ingest_events(s, events + events[:10]))
    # a buyer after the mail: revenue is attributed to the campaign's touch
    buyer = outbox.outbox[0].customer_id
    s.repo(Order).add(
        Order(
            customer_id=buyer,
            ordered_at=dt.datetime.now(dt.timezone.utc),
            lines=(OrderLine(sku="TEA", quantity=2, unit_price=Money("800", "CNY")),),
        )
    )

with crm.session(admin) as s:
    r = sv.campaign_report(s, camp.id, metric="click")
    for row in r.to_rows():
        print(
            f"{row['variant']!s:8} sent={row['sent']:3} open={row['open_rate'] or 0:.2f}"
            f" click={row['click_rate'] or 0:.2f} cto={row['click_to_open_rate'] or 0:.2f}"
            f" unsub={row['unsubscribe_rate'] or 0:.3f}"
        )
    for name, t in r.tests.items():
        print(f"click rate {name} vs A: z={t.z:.3f} p={t.p_value:.4f}")
    print("revenue:", r.revenue, "cost:", r.cost, "ROI:", r.roi)
    assert r.revenue.get("CNY") == Decimal("1600.00")
