"""Quickstart: a small CRM in a SQLite file, some customers and deals, and a few questions.

    python examples/quickstart.py [--url sqlite:///crm-demo.db]

Runs on the embedded default (a SQLite file next to where you run it; no
server). Pass ``--url memory://`` to keep everything in memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import unicodedata
from decimal import Decimal

import crmcore
from crmcore import Account, Customer, Money, Opportunity
from crmcore.query import field
from crmcore.services import forecast, transition

PEOPLE = [
    {
        "first_name": "伟",
        "last_name": "张",
        "email": "zhang.wei@example.cn",
        "phone": "+86 138 0013 8000",
        "lifecycle_stage": "customer",
        "owner_id": "li.na",
        "tags": {"vip"},
    },
    {
        "first_name": "芳",
        "last_name": "王",
        "email": "wang.fang@example.cn",
        "phone": "139-1234-5678",
        "lifecycle_stage": "opportunity",
        "owner_id": "li.na",
    },
    {
        "first_name": "Anna",
        "last_name": "Smith",
        "email": "anna.smith@example.com",
        "phone": "+1 415 555 0132",
        "lifecycle_stage": "sales_qualified",
        "owner_id": "tom",
    },
    {
        "first_name": "Liam",
        "last_name": "O'Brien",
        "email": "liam@example.ie",
        "lifecycle_stage": "lead",
        "owner_id": "tom",
    },
    {
        "first_name": "娜娜",
        "last_name": "欧阳",
        "email": "ouyang@example.cn",
        "phone": "+86 186 0000 1111",
        "lifecycle_stage": "customer",
        "owner_id": "li.na",
        "tags": {"vip", "b2b"},
    },
    {
        "first_name": "Jan",
        "last_name": "van der Berg",
        "email": "jan@example.nl",
        "lifecycle_stage": "subscriber",
    },
]

DEALS = [
    ("Cloud licences 2025", "negotiation", "480000", "li.na"),
    ("Support renewal", "proposal", "120000", "li.na"),
    ("Pilot project", "qualification", "36000", "tom"),
    ("Hardware refresh", "prospecting", "250000", "tom"),
    ("Training package", "closed_won", "18000", "li.na"),
]


def pad(text: str, width: int) -> str:
    """Left-justify for a terminal, where CJK characters take two columns."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - cols, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="sqlite:///crm-demo.db")
    args = ap.parse_args()

    crm = crmcore.connect(args.url)
    with crm.session() as s:
        if s.customers.count() == 0:
            acme = s.accounts.add(Account(name="星辰科技有限公司", industry="software"))
            people = s.customers.add_many(Customer(**p) for p in PEOPLE)  # type: ignore[arg-type]
            close = dt.date.today() + dt.timedelta(days=45)
            deals = s.opportunities.add_many(  # every deal starts at the first stage...
                Opportunity(
                    name=name,
                    amount=Money(Decimal(amount), "CNY"),
                    owner_id=owner,
                    account_id=acme.id,
                    customer_id=people[i % len(people)].id,
                    expected_close_date=close,
                )
                for i, (name, _stage, amount, owner) in enumerate(DEALS)
            )
            for deal, (_name, stage, _amount, _owner) in zip(deals, DEALS, strict=True):
                # ...and moves through the pipeline with recorded transitions
                event = "win" if stage == "closed_won" else f"move_to_{stage}"
                if stage != deal.stage:
                    transition(s, deal, event)
            print(f"created {len(people)} customers and {len(DEALS)} deals in {args.url}\n")

    with crm.session() as s:
        print("Customers, family name first:")
        for c in s.customers.find(order_by=["last_name", "first_name"]):
            tags = ", ".join(sorted(c.tags)) or "-"
            name, stage, phone = pad(c.display_name, 20), c.lifecycle_stage, c.phone or "-"
            print(f"  {name} {stage:<16} {phone:<18} tags: {tags}")

        vip = s.customers.find(field("tags").has("vip") & (field("lifecycle_stage") == "customer"))
        print(f"\nVIP customers: {', '.join(c.display_name for c in vip)}")

        print("\nPipeline by owner (the forecast: won, committed, best case, weighted):")
        print(forecast(s, by=["owner"]))
    crm.close()


if __name__ == "__main__":
    main()
