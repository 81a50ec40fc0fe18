"""A new user's first hour, end to end, on a SQLite file.

    python examples/walkthrough.py [--dir DIR]

1. a messy customer file comes in: validation normalises what it can and
   reports every row it cannot take;
2. a data-quality report and a duplicate search over what went in;
3. a merge of the duplicates found, and its undo;
4. a sales rep's view through a policy: other reps' customers hidden, phone
   numbers masked;
5. encryption turned on over the existing database, and the migration;
6. a lead converted, a deal won, and the pipeline forecast.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import tempfile
from pathlib import Path

import crmcore
from crmcore import Address, Customer, Lead, Money, Opportunity, Principal
from crmcore.crypto import Encryption, Keyring, SqlKeyStore, StaticKeyProvider
from crmcore.dedupe import find_duplicates
from crmcore.errors import ValidationError
from crmcore.policy import P, Policy, R
from crmcore.query import field
from crmcore.services import (
    convert_lead,
    forecast,
    merge,
    reencrypt_all,
    transition,
    unmerge,
)
from crmcore.validation import quality_report

#: what a sales assistant exported from a spreadsheet: mixed formats, a duplicate, bad rows
MESSY = """\
last_name,first_name,phone,email,country,owner
张,伟,138 0013 8000,Zhang.Wei@Example.CN,CN,li
张,伟,+86 138-0013-8000,zhang.wei@example.cn,CN,li
王,芳,(010) 6552 9988,wang.fang@example.cn,CN,wang
Smith,Anna,(415) 555-0100,anna.smith@example.com,US,li
Müller,Jonas,030 1234567,jonas@example.de,DE,wang
李,娜,12345,li.na@,CN,li
Garcia,Maria,+34 612 345 678,maria.garcia@example.es,ES,wang
"""


def step(title: str) -> None:
    print(f"\n== {title}")


def load_messy(crm: crmcore.Crm, ops: Principal) -> list[Customer]:
    step("1. messy file in")
    stored: list[Customer] = []
    refused = 0
    for row_no, row in enumerate(csv.DictReader(io.StringIO(MESSY)), start=2):
        record = Customer(
            first_name=row["first_name"] or None,
            last_name=row["last_name"] or None,
            phone=row["phone"] or None,
            email=row["email"] or None,
            owner_id=row["owner"],
            # a number without "+" is read in the record's country, not the CRM's default
            addresses=[Address(country=row["country"])],
        )
        try:
            with crm.session(ops) as s:
                stored.append(s.customers.add(record))
        except ValidationError as e:
            refused += 1
            for err in e.errors:
                print(f"  row {row_no}: {err.path} {err.code}: {err.message}")
    print(f"  {len(stored)} customers stored, {refused} row(s) refused")
    for c in stored[:4]:
        print(f"  {c.display_name}  {c.phone}  {c.email}")
    return stored


def quality_and_duplicates(crm: crmcore.Crm, ops: Principal) -> list[Customer]:
    step("2. quality report and duplicates")
    with crm.session(ops) as s:
        customers = s.customers.find(limit=1000).items
    print(quality_report(customers, ["first_name", "last_name", "phone", "email"]))
    found = find_duplicates(customers)
    print(f"  {len(found.clusters)} duplicate cluster(s)")
    for cluster in found.clusters:
        print(f"  {len(cluster.ids)} records, confidence {cluster.confidence:.3f}")
    by_id = {c.id: c for c in customers}
    return [by_id[i] for i in found.clusters[0].ids] if found.clusters else []


def merge_and_undo(crm: crmcore.Crm, ops: Principal, cluster: list[Customer]) -> None:
    step("3. merge, then undo")
    survivor, *others = cluster
    with crm.session(ops) as s:
        result = merge(s, Customer, survivor.id, [o.id for o in others])
        print(f"  merged {len(others)} into {survivor.id} (merge {result.merge_id})")
        moved = len(result.repointed)
        print(f"  e-mail kept: {result.survivor.email}; {moved} references moved")
    with crm.session(ops) as s:
        undone = unmerge(s, result.merge_id)
        print(f"  undone: {len(undone.restored_ids)} record(s) back")
    with crm.session(ops) as s:  # merge again for good: the duplicates really are one person
        merge(s, Customer, survivor.id, [o.id for o in others])
        print(f"  {s.customers.count()} customers after the final merge")


def reps_view(crm: crmcore.Crm, tenant: str) -> None:
    step("4. a sales rep's view")
    policy = (
        Policy.builder()
        .role("sales_rep")
        .allow(
            "own-customers",
            roles="sales_rep",
            entities="Customer",
            actions=["read", "update"],
            when=R.owner_id == P.user_id,
        )
        .fields(roles="sales_rep", entities="Customer", phone="masked:phone", all="read")
        .build()
    )
    guarded = crmcore.connect(crm_url(crm), policy=policy)
    li = Principal(user_id="li", tenant_id=tenant, roles={"sales_rep"})
    with guarded.session(li) as s:
        for c in s.customers.find(order_by="last_name").items:
            print(f"  {c.display_name}  {c.phone}  owner={c.owner_id}")


def encrypt_existing(crm: crmcore.Crm, ops: Principal, workdir: Path) -> None:
    step("5. encryption over the existing database")
    keys = Keyring(
        StaticKeyProvider([os.urandom(32)]), store=SqlKeyStore(f"sqlite:///{workdir / 'keys.db'}")
    )
    enc = Encryption(keyring=keys, migrating=True)  # only while the migration runs
    ecrm = crmcore.connect(crm_url(crm), encryption=enc)
    with ecrm.session(ops) as s:
        before = len(s.customers.find(field("email") == "anna.smith@example.com").items)
        report = reencrypt_all(s, enc, Customer)
        after = len(s.customers.find(field("email") == "anna.smith@example.com").items)
        raw = s.inner(Customer).find(field("tenant_id") == ops.tenant_id, limit=1).items[0]
    print(f"  lookup before: {before}, after: {after}; {report.rewritten} records sealed")
    print(f"  stored email column now: {raw.email!r}; envelope: {str(raw.sealed)[:40]}...")


def lead_to_forecast(crm: crmcore.Crm, tenant: str) -> None:
    step("6. a lead converted, a deal won, the forecast")
    li = Principal(user_id="li", tenant_id=tenant, roles={"sales_rep"})
    with crm.session(li) as s:
        lead = s.leads.add(Lead(first_name="强", last_name="赵", company="远航物流", owner_id="li"))
        lead = transition(s, lead, "contact")
        lead = transition(s, lead, "qualify")
        conv = convert_lead(s, lead, opportunity=True, amount=Money(80000, "CNY"))
        assert conv.opportunity is not None
        won = transition(s, conv.opportunity, "win")
        print(f"  {conv.customer.display_name} at {conv.account.name}: deal {won.stage}")
    with crm.session(li, restore=True) as s:  # deals from the old CRM, in their stages
        s.opportunities.add_many(
            [
                Opportunity(
                    name="Fleet tracking",
                    stage="negotiation",
                    amount=Money(120000, "CNY"),
                    owner_id="li",
                    expected_close_date=dt.date(2027, 1, 20),
                ),
                Opportunity(
                    name="Warehouse pilot",
                    stage="proposal",
                    amount=Money(30000, "CNY"),
                    owner_id="wang",
                    expected_close_date=dt.date(2027, 2, 10),
                ),
            ]
        )
    with crm.session(li) as s:
        print(forecast(s, by=["owner"]))


def crm_url(crm: crmcore.Crm) -> str:
    return str(crm.store.url)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to put the SQLite files (default: a temp dir)")
    args = parser.parse_args()
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="crmcore-walkthrough-"))
    workdir.mkdir(parents=True, exist_ok=True)
    crm = crmcore.connect(f"sqlite:///{workdir / 'crm.db'}")
    tenant = "acme"
    ops = Principal(user_id="ops", tenant_id=tenant, roles={"admin"})
    load_messy(crm, ops)
    cluster = quality_and_duplicates(crm, ops)
    if cluster:
        merge_and_undo(crm, ops, cluster)
    reps_view(crm, tenant)
    encrypt_existing(crm, ops, workdir)
    lead_to_forecast(crm, tenant)
    print(f"\nfiles in {workdir}")


if __name__ == "__main__":
    main()
