"""Importing files: encodings, formats, mappings, every row's errors, upserts, duplicates, undo."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Customer, Lead
from crmcore.errors import ConfigurationError, NotFound
from crmcore.io import (
    ColumnMapping,
    detect_encoding,
    export_records,
    import_records,
    open_rows,
    record_origin,
    suggest_mapping,
    undo_import,
)
from crmcore.io._convert import RowConverter
from crmcore.model import ImportBatch, ImportJob

from .conftest import NewCrm

ROWS = [
    ["姓名", "手机", "邮箱", "生日", "城市", "客户编号"],
    ["张伟", "138 0013 8000", "wei@example.cn", "1990-01-02", "北京", "C1"],
    ["Anna Smith", "+1 415 555 0132", "anna@example.com", "1985/3/4", "Boston", "C2"],
    ["李娜", "12345", "bad@", "1990-13-45", "上海", "C3"],
    ["欧阳娜娜", "139-0013-9000", "", "", "", "C4"],
]
MAPPING = ColumnMapping(
    columns={
        "姓名": "full_name",
        "手机": "phone",
        "邮箱": "email",
        "生日": "date_of_birth",
        "城市": "addresses[0].city",
        "客户编号": "custom.external_id",
    }
)


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def crm() -> crmcore.Crm:
    return crmcore.connect("memory://")


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")],
)
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str, detected: str) -> None:
    path = write_csv(tmp_path / "c.csv", ROWS, encoding)
    assert detect_encoding(path) == detected
    with open_rows(path) as rows:
        assert rows.columns == ROWS[0]
        read = list(rows)
    assert [n for n, _ in read] == [2, 3, 4, 5]
    assert read[0][1]["姓名"] == "张伟"
    assert read[3][1]["邮箱"] is None


def test_undecodable_bytes_are_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n\xff\xfe\xfa\xfb,\x81\n")
    with pytest.raises(crmcore.ValidationError) as err:
        detect_encoding(path)
    assert err.value.errors[0].code == "encoding"


def test_every_row_error_is_reported_with_row_and_column(crm: crmcore.Crm, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ROWS)
    with crm.session() as s:
        report = import_records(s, path, MAPPING)
    assert (report.rows, report.created, report.invalid) == (4, 3, 1)
    got = {(e.row, e.column, e.code) for e in report.errors}
    assert got == {
        (4, "生日", "date_invalid"),
        (4, "邮箱", "email_invalid"),
        (4, "手机", "phone_too_short"),
    }
    with crm.session() as s:
        people = {c.custom["external_id"]: c for c in s.customers}
    assert set(people) == {"C1", "C2", "C4"}
    wei = people["C1"]
    assert (wei.last_name, wei.first_name, wei.phone) == ("张", "伟", "+8613800138000")
    assert wei.addresses[0].city == "北京"
    assert (people["C4"].last_name, people["C4"].first_name) == ("欧阳", "娜娜")
    assert (people["C2"].last_name, people["C2"].first_name) == ("Smith", "Anna")


def test_a_dry_run_reports_everything_and_writes_nothing(crm: crmcore.Crm, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ROWS)
    with crm.session() as s:
        report = import_records(s, path, MAPPING, dry_run=True)
    assert report.dry_run and not report.committed
    assert (report.created, report.invalid, len(report.errors)) == (3, 1, 3)
    with crm.session() as s:
        assert s.customers.count() == 0
        assert s.repo(ImportJob).count() == 0
        assert s.repo(ImportBatch).count() == 0


def test_a_file_transaction_writes_nothing_when_a_row_is_invalid(
    crm: crmcore.Crm, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "c.csv", ROWS)
    with crm.session() as s:
        report = import_records(s, path, MAPPING, transaction="file", batch_size=1)
    assert not report.committed and report.invalid == 1
    with crm.session() as s:
        assert s.customers.count() == 0
    fixed = write_csv(tmp_path / "ok.csv", [ROWS[0], ROWS[1], ROWS[2]])
    with crm.session() as s:
        assert import_records(s, fixed, MAPPING, transaction="file").committed
    with crm.session() as s:
        assert s.customers.count() == 2


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_error_file_can_be_fixed_and_imported_again(
    crm: crmcore.Crm, tmp_path: Path, suffix: str
) -> None:
    path = write_csv(tmp_path / "c.csv", ROWS)
    with crm.session() as s:
        report = import_records(s, path, MAPPING)
    bad = report.write_errors(tmp_path / f"errors{suffix}")
    with open_rows(bad) as rows:
        assert rows.columns == [*ROWS[0], "errors"]
        (_, row), *rest = list(rows)
    assert rest == []
    assert row["姓名"] == "李娜" and "date_invalid" in row["errors"]
    fixed = dict(row, 手机="13600136000", 邮箱="na@example.cn", 生日="1990-12-15")
    write_csv(tmp_path / "fixed.csv", [ROWS[0], [str(fixed[c] or "") for c in ROWS[0]]])
    with crm.session() as s:
        again = import_records(s, tmp_path / "fixed.csv", MAPPING)
    assert (again.created, again.invalid) == (1, 0)


def test_upsert_on_a_natural_key_updates_instead_of_creating(
    crm: crmcore.Crm, tmp_path: Path
) -> None:
    with crm.session() as s:
        s.customers.add(Customer(first_name="伟", last_name="张", phone="+8613800138000"))
    rows = [["name", "mobile", "email"], ["张伟", "138-0013-8000", "wei@example.cn"]]
    rows += [["王芳", "13700137000", "fang@example.cn"], ["王芳", "137 0013 7000", "f2@example.cn"]]
    path = write_csv(tmp_path / "u.csv", rows)
    with crm.session() as s:
        report = import_records(s, path, key="phone")
    assert (report.created, report.updated) == (1, 2)
    with crm.session() as s:
        wei = s.customers.first(phone="+8613800138000")
        fang = s.customers.first(phone="+8613700137000")
        assert s.customers.count() == 2
    assert wei is not None and wei.email == "wei@example.cn" and wei.version == 2
    assert fang is not None and fang.email == "f2@example.cn"


@pytest.mark.parametrize(
    ("action", "count", "counted"),
    [("skip", 1, "skipped"), ("merge", 1, "merged"), ("flag", 2, "flagged"), ("create", 2, None)],
)
def test_duplicate_actions(
    crm: crmcore.Crm, tmp_path: Path, action: str, count: int, counted: str | None
) -> None:
    with crm.session() as s:
        old = s.customers.add(
            Customer(
                first_name="伟", last_name="张", email="wei@example.cn", phone="+8613800138000"
            )
        )
    rows = [["姓名", "邮箱", "手机", "性别"], ["张伟", "wei@example.cn", "13800138000", "男"]]
    path = write_csv(tmp_path / "d.csv", rows)
    with crm.session() as s:
        report = import_records(s, path, duplicates=action)
    with crm.session() as s:
        people = list(s.customers)
        assert len(people) == count
        if counted is not None:
            assert getattr(report, counted) == 1
            assert report.duplicates[0].existing_id == old.id
            assert report.duplicates[0].row == 2
        if action == "merge":
            assert people[0].gender == crmcore.model.Gender.MALE  # the empty field was filled
        if action == "flag":
            assert "possible_duplicate" in next(p for p in people if p.id != old.id).tags


def test_undo_removes_what_it_created_and_restores_what_it_changed(
    crm: crmcore.Crm, tmp_path: Path
) -> None:
    with crm.session() as s:
        before = s.customers.add(Customer(first_name="伟", last_name="张", phone="+8613800138000"))
        other = s.customers.add(
            Customer(first_name="Bob", last_name="Jones", email="b@example.com")
        )
    rows = [["name", "mobile", "email"], ["张伟", "13800138000", "wei@example.cn"]]
    rows.append(["Anna Smith", "+14155550132", "anna@example.com"])
    with crm.session() as s:
        report = import_records(s, write_csv(tmp_path / "u.csv", rows), key="phone", batch_size=1)
    with crm.session() as s:
        assert s.customers.count() == 3
        undone = undo_import(s, report.import_id)
    assert (undone.removed, undone.restored) == (1, 1)
    with crm.session() as s:
        assert {c.id for c in s.customers} == {before.id, other.id}
        back = s.customers.get(before.id)
        assert (back.email, back.first_name) == (None, "伟")
        assert s.repo(ImportJob).get(report.import_id).status == "undone"
        with pytest.raises(ConfigurationError):
            undo_import(s, report.import_id)
        with pytest.raises(NotFound):
            undo_import(s, crmcore.model.new_id())


def test_suggestions_from_headers_and_values() -> None:
    columns = ["姓名", "Mobile", "E-mail", "公司", "地址", "生日", "x", "y"]
    rows = [
        {
            "姓名": "张伟",
            "Mobile": "1",
            "E-mail": "e",
            "x": "li@example.cn",
            "y": "1990-01-0" + str(i),
        }
        for i in range(1, 6)
    ]
    sug = suggest_mapping(columns, rows, entity="Lead")
    targets = {s.column: s.target for s in sug.columns}
    assert targets == {
        "姓名": "full_name",
        "Mobile": "phone",
        "E-mail": "email",
        "公司": "company",
        "地址": None,  # a lead has no addresses
        "生日": None,
        "x": None,  # e-mail is taken by the E-mail header
        "y": None,
    }
    sug = suggest_mapping(["联系方式", "z", "d"], [{"z": "a@b.cn", "d": "1990-01-02"}])
    assert {s.column: s.target for s in sug.columns} == {
        "联系方式": "phone",
        "z": "email",
        "d": "date_of_birth",
    }
    mapping = sug.mapping(z=None, 备注="custom.note")
    assert mapping.columns == {"联系方式": "phone", "d": "date_of_birth", "备注": "custom.note"}
    assert ColumnMapping.from_json(mapping.to_json()) == mapping


def test_a_mapping_names_only_real_fields() -> None:
    with pytest.raises(ConfigurationError, match="not a field of Customer"):
        ColumnMapping(columns={"a": "company"})
    with pytest.raises(ConfigurationError, match="unknown entity"):
        ColumnMapping(columns={}, entity="Nope")


def test_leads_import_from_jsonl_with_a_saved_mapping(crm: crmcore.Crm, tmp_path: Path) -> None:
    path = tmp_path / "leads.jsonl"
    lines = [{"who": "Wei Zhang", "org": "ACME", "tel": 13800138000, "tags": "vip, 展会"}]
    lines.append({"who": "Li Na", "org": None, "tel": "bad"})
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n{oops\n")
    mapping = ColumnMapping(
        entity="Lead",
        columns={"who": "full_name", "org": "company", "tel": "phone", "tags": "tags"},
    )
    mapping.save(tmp_path / "m.json")
    with crm.session() as s:
        report = import_records(
            s, path, ColumnMapping.load(tmp_path / "m.json"), source_system="fair"
        )
    assert (report.created, report.invalid) == (1, 2)
    assert {(e.row, e.code) for e in report.errors} == {(2, "phone_invalid"), (4, "unreadable")}
    with crm.session() as s:
        (lead,) = list(s.repo(Lead))
    assert (lead.company, lead.phone, lead.source) == ("ACME", "+8613800138000", "fair")
    assert lead.tags == frozenset({"vip", "展会"})


def test_parquet_xlsx_and_frames_round_trip(crm: crmcore.Crm, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {"name": ["张伟", "Anna Smith"], "phone": ["13800138000", "+14155550132"], "n": [1, None]}
    )
    with crm.session() as s:
        r = import_records(
            s, frame, {"columns": {"name": "full_name", "phone": "phone", "n": "custom.n"}}
        )
    assert r.created == 2
    for suffix in (".parquet", ".xlsx", ".jsonl", ".csv"):
        out = tmp_path / f"out{suffix}"
        with crm.session() as s:
            assert (
                export_records(s, "customers", out, fields=["last_name", "phone", "custom.n"]) == 2
            )
        with open_rows(out) as rows:
            got = [row for _, row in rows]
        assert [g["last_name"] for g in got] == ["张", "Smith"]
        assert [g["phone"] for g in got] == ["+8613800138000", "+14155550132"]
        assert got[0]["custom.n"] in (1, 1.0, "1", "1.0")


names = st.text(alphabet="张王李赵伟芳娜静", min_size=2, max_size=3)
phones = st.integers(min_value=13000000000, max_value=13999999999).map(str)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(names, phones, st.booleans()), min_size=1, max_size=12))
def test_export_then_import_gives_equal_records(people: list[tuple[str, str, bool]]) -> None:
    import tempfile

    source = crmcore.connect("memory://")
    with source.session() as s:
        for name, phone, vip in people:
            s.customers.add(
                Customer(
                    last_name=name[0],
                    first_name=name[1:],
                    phone=phone,
                    tags={"vip"} if vip else set(),
                    custom={"vip": vip},
                )
            )
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".csv", ".jsonl", ".xlsx", ".parquet"):
            out = Path(tmp) / f"all{suffix}"
            with source.session() as s:
                export_records(s, Customer, out)
                with open_rows(out) as rows:
                    columns = rows.columns
            target = crmcore.connect("memory://")
            with target.session() as s:
                report = import_records(s, out, ColumnMapping.identity(columns))
                assert report.invalid == 0, report.errors
            assert _plain(source) == _plain(target)


def _plain(crm: crmcore.Crm) -> list[dict[str, object]]:
    skip = {"created_at", "updated_at", "version"}
    with crm.session() as s:
        return [
            {k: v for k, v in crmcore.model.to_data(c).items() if k not in skip}
            for c in s.customers.stream(order_by="id")
        ]


def test_round_trip_through_every_backend(new_crm: NewCrm, tmp_path: Path) -> None:
    """Records on a backend, exported and imported elsewhere, compare equal (and back again)."""
    source = new_crm()
    with source.session() as s:
        s.customers.add_many(
            [
                Customer(
                    first_name="伟",
                    last_name="张",
                    phone="13800138000",
                    email="wei@example.cn",
                    date_of_birth=dt.date(1990, 1, 2),
                    addresses=(crmcore.Address(city="北京", country="CN"),),
                    tags={"vip"},
                    custom={"tier": "gold", "n": 3},
                ),
                Customer(first_name="Anna", last_name="Smith", phone="+14155550132"),
            ]
        )
    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"all{suffix}"
        with source.session() as s:
            assert export_records(s, "customers", out) == 2
        with open_rows(out) as rows:
            columns = rows.columns
        target = crmcore.connect("memory://")
        with target.session() as s:
            assert import_records(s, out, ColumnMapping.identity(columns)).invalid == 0
        assert _plain(target) == _plain(source)


EXPORT_POLICY = {
    "name": "export",
    "roles": {"support": {}},
    "rules": [
        {
            "name": "support-reads-east",
            "roles": ["support"],
            "entities": ["Customer"],
            "actions": ["read"],
            "condition": "resource.team_id == 'east'",
        }
    ],
    "field_rules": [
        {
            "roles": ["support"],
            "entities": ["Customer"],
            "fields": {"phone": "masked:phone", "national_id": "hidden", "*": "read"},
        }
    ],
}


def test_an_export_shows_what_the_principal_may_read(tmp_path: Path) -> None:
    from crmcore.policy import Policy

    crm = crmcore.connect("memory://", policy=Policy.from_dict(EXPORT_POLICY))
    with crm.session() as s:
        s.customers.add_many(
            [
                Customer(
                    first_name="伟",
                    last_name="张",
                    phone="13800138000",
                    team_id="east",
                    national_id="11010519491231002X",
                ),
                Customer(
                    first_name="Anna", last_name="Smith", phone="+14155550132", team_id="west"
                ),
            ]
        )
    agent = crmcore.Principal(user_id="a1", tenant_id="default", roles={"support"})
    out = tmp_path / "agent.csv"
    with crm.session(agent) as s:
        assert (
            export_records(s, "customers", out, fields=["last_name", "phone", "national_id"]) == 1
        )
    with open_rows(out) as rows:
        ((_, row),) = list(rows)
    assert row["last_name"] == "张"
    assert row["phone"] != "+8613800138000" and "8000" in str(row["phone"])
    assert row["national_id"] is None
    text = out.read_text(encoding="utf-8-sig")
    assert "11010519491231002X" not in text and "Smith" not in text


@pytest.mark.parametrize("key", ["national_id", "email", "custom.external_id"])
def test_every_record_knows_its_import_and_row(crm: crmcore.Crm, tmp_path: Path, key: str) -> None:
    rows = [["客户编号", "姓名", "身份证号", "邮箱"]]
    rows += [["K1", "张伟", "11010519491231002x", "wei@example.cn"]]
    rows += [["K2", "李娜", "110105198001010016", "na@example.cn"]]
    rows += [["K1", "张伟", "11010519491231002X", "wei@Example.CN"]]
    path = write_csv(tmp_path / "ids.csv", rows)
    with crm.session() as s:
        report = import_records(s, path, key=key, source_system="hr")
    assert report.created == 2 and report.created + report.updated + report.unchanged == 3
    with crm.session() as s:
        wei = s.customers.first(custom__external_id="K1")
        assert wei is not None and wei.national_id == "11010519491231002X"
        origin = record_origin(s, wei.id)
        assert origin is not None
        assert (origin.import_id, origin.row, origin.file_name) == (report.import_id, 2, "ids.csv")
        assert origin.source_system == "hr" and wei.source == "hr"
        assert record_origin(s, crmcore.model.new_id()) is None


def test_the_undo_journal_of_encrypted_records_holds_no_plaintext(tmp_path: Path) -> None:
    import os

    from crmcore.crypto import Encryption, Keyring, StaticKeyProvider

    keyring = Keyring(StaticKeyProvider([os.urandom(32)]))
    crm = crmcore.connect("memory://", encryption=Encryption(keyring=keyring), audit=True)
    with crm.session() as s:
        old = s.customers.add(
            Customer(
                first_name="伟",
                last_name="张",
                phone="+8613800138000",
                email="old.secret@example.cn",
            )
        )
    rows = [["手机", "邮箱"], ["13800138000", "new.secret@example.cn"]]
    with crm.session() as s:
        report = import_records(s, write_csv(tmp_path / "e.csv", rows), key="phone")
    assert report.updated == 1
    with crm.session() as s:
        (batch,) = [b for b in s.repo(ImportBatch) if b.import_id == report.import_id]
        assert "old.secret" not in json.dumps(dict(batch.updated), default=str)
        assert s.customers.get(old.id).email == "new.secret@example.cn"
        undo_import(s, report.import_id)
    with crm.session() as s:
        assert s.customers.get(old.id).email == "old.secret@example.cn"


def test_an_export_imported_back_on_its_ids_puts_the_values_back(
    crm: crmcore.Crm, tmp_path: Path
) -> None:
    with crm.session() as s:
        wei = s.customers.add(Customer(first_name="伟", last_name="张", email="wei@example.cn"))
    out = tmp_path / "snapshot.jsonl"
    with crm.session() as s:
        export_records(s, "customers", out)
        s.customers.update(
            crmcore.model.replace_trusted(s.customers.get(wei.id), email="x@example.cn")
        )
        s.customers.update(crmcore.model.replace_trusted(s.customers.get(wei.id), first_name="威"))
    with open_rows(out) as rows:
        columns = rows.columns
    with crm.session() as s:
        report = import_records(s, out, ColumnMapping.identity(columns), key="id")
    assert (report.updated, report.created) == (1, 0)
    with crm.session() as s:
        back = s.customers.get(wei.id)
    assert (back.email, back.first_name, back.version) == ("wei@example.cn", "伟", 4)


def test_repeated_cells_give_each_row_its_own_record_and_errors(crm: crmcore.Crm) -> None:
    """Files repeat names, dates and cities: every row still gets its own values and row errors."""
    rows = [
        {"姓名": "张伟", "生日": "1990年1月2日", "城市": "北京", "手机": f"1380013{i:04d}"}
        for i in range(4)
    ]
    rows += [
        {"姓名": "张伟", "生日": "1990-13-45", "城市": "北京", "手机": f"1390013{i:04d}"}
        for i in range(3)
    ]
    mapping = ColumnMapping(
        columns={
            "姓名": "full_name",
            "生日": "date_of_birth",
            "城市": "addresses[0].city",
            "手机": "phone",
        }
    )
    with crm.session() as s:
        report = import_records(s, rows, mapping)
        stored = sorted(s.repo(Customer).find(limit=100), key=lambda c: str(c.phone))
    assert report.created == 4 and report.invalid == 3
    assert sorted(e.row for e in report.errors) == [5, 6, 7]
    assert {(e.column, e.code) for e in report.errors} == {("生日", "date_invalid")}
    assert [c.last_name for c in stored] == ["张"] * 4
    assert {c.date_of_birth for c in stored} == {dt.date(1990, 1, 2)}
    assert [c.addresses[0].city for c in stored] == ["北京"] * 4
    assert len({c.id for c in stored}) == 4


def test_a_dry_run_counts_what_the_import_does_batch_by_batch(new_crm: NewCrm) -> None:
    """A dry run sees its own earlier batches (upserts across batches) and writes nothing."""
    rows = [
        {"姓名": f"客户{i % 5}", "手机": f"1380013800{i % 5}", "城市": "北京"} for i in range(12)
    ]
    rows += [{"姓名": "坏", "手机": "12", "城市": ""}]
    mapping = ColumnMapping(
        columns={"姓名": "full_name", "手机": "phone", "城市": "addresses[0].city"}
    )
    crm = new_crm()
    for transaction in ("batch", "file"):
        with crm.session() as s:
            dry = import_records(
                s, rows, mapping, key="phone", batch_size=3, dry_run=True, transaction=transaction
            )
        with crm.session() as s:
            assert s.customers.count() == 0
            assert s.inner(ImportBatch).count() == 0
    with crm.session() as s:
        real = import_records(s, rows, mapping, key="phone", batch_size=3)
    assert dry.counts() == real.counts()
    assert real.created == 5 and real.unchanged == 7 and real.invalid == 1
    with crm.session() as s:
        assert s.customers.count() == 5


def test_the_duplicate_check_finds_what_a_full_index_of_the_store_finds(
    crm: crmcore.Crm,
) -> None:
    """Only blocking keys are kept in memory; the matches and probabilities are the index's."""
    from crmcore.dedupe import BlockingIndex

    surnames, given = ["张", "王", "李", "欧阳"], ["伟", "芳", "娜", "静", "强"]
    stored = [  # 张伟 is too common a name to block on (over 200), and weighs little
        Customer(
            last_name="张" if i < 210 else surnames[i % 4],
            first_name="伟" if i < 210 else given[i % 5],
            phone=f"+86139{i:08d}",
            email=f"user{i % 30}@example.cn",
            date_of_birth=dt.date(1980 + i % 7, 1 + i % 12, 1 + i % 28),
        )
        for i in range(260)
    ]
    with crm.session() as s:
        s.customers.add_many(stored)
    with crm.session() as s:
        full = BlockingIndex(threshold=0.5)
        full.add_many(list(s.customers.stream()))
    rows = [
        {
            "姓名": "张伟" if i % 2 else surnames[i % 4] + given[(i * 3) % 5],
            "手机": f"139 {i:04d} {i * 7 % 10000:04d}" if i % 3 else f"139{(i * 11) % 260:08d}",
            "邮箱": f"user{(i * 7) % 45}@example.cn",
            "生日": f"{1980 + i % 7}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        }
        for i in range(40)
    ]
    mapping = ColumnMapping(
        columns={"姓名": "full_name", "手机": "phone", "邮箱": "email", "生日": "date_of_birth"}
    )
    with crm.session() as s:
        report = import_records(
            s, rows, mapping, duplicates="skip", duplicate_threshold=0.5, batch_size=7, dry_run=True
        )
        conv = RowConverter(mapping)
        expected = {}
        for first in range(0, len(rows), 7):
            created = []
            for n, raw in enumerate(rows[first : first + 7], start=first + 1):
                entity = s.customers.check(conv.convert(n, raw)[0])
                found = full.possible_duplicates(entity, min_probability=0.5, limit=1)
                if found:
                    expected[n] = (found[0].right, round(found[0].probability, 9))
                else:
                    created.append(entity)
            full.add_many(created)  # later batches compare with this one's records
    got = {d.row: (d.existing_id, round(d.probability, 9)) for d in report.duplicates}
    assert expected and got == expected, sorted(set(got.items()) ^ set(expected.items()))
