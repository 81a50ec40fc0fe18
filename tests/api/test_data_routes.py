"""Imports and reports over HTTP: the same validation, atomicity and policy as in code."""

from __future__ import annotations

from typing import Any

from .conftest import TestClient

ROWS = [
    {"姓名": "张伟", "手机": "138 0013 8000", "邮箱": "zhang.wei@example.cn"},
    {"姓名": "王芳", "手机": "139 1234 5678", "邮箱": "wang.fang@example.cn"},
]


def _customers(client: TestClient) -> list[dict[str, Any]]:
    got = client.get("/customers")
    assert got.status_code == 200
    items: list[dict[str, Any]] = got.json()["items"]
    return items


def test_a_dry_run_reports_and_writes_nothing(client: TestClient) -> None:
    bad = [*ROWS, {"姓名": "李娜", "手机": "12345", "邮箱": "li.na@"}]
    got = client.post("/imports/Customer", json={"rows": bad, "dry_run": True})
    assert got.status_code == 200, got.text
    report = got.json()
    assert (report["dry_run"], report["committed"], report["rows"]) == (True, False, 3)
    assert report["invalid"] == 1
    assert {e["row"] for e in report["errors"]} == {3}  # posted rows count from 1
    assert {e["column"] for e in report["errors"]} <= {"手机", "邮箱"}
    assert _customers(client) == []


def test_an_import_maps_chinese_headers_and_normalises(client: TestClient) -> None:
    got = client.post("/imports/Customer", json={"rows": ROWS})
    assert got.status_code == 200, got.text
    assert got.json()["created"] == 2
    stored = {c["phone"]: c for c in _customers(client)}
    assert set(stored) == {"+8613800138000", "+8613912345678"}
    assert stored["+8613800138000"]["last_name"] == "张"


def test_unknown_entities_and_empty_bodies_are_client_errors(client: TestClient) -> None:
    assert client.post("/imports/Nope", json={"rows": ROWS}).status_code == 422
    assert client.post("/imports/Customer", json={"rows": []}).status_code == 422
    assert client.post("/imports/Customer", json={"rows": ROWS, "x": 1}).status_code == 422


def test_a_report_section_as_rows(client: TestClient) -> None:
    client.post(
        "/opportunities", json={"name": "ERP", "amount": {"amount": "5000", "currency": "CNY"}}
    )
    got = client.get("/reports/funnel")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["title"] and body["columns"]
    assert isinstance(body["rows"], list)
    assert client.get("/reports/nope").status_code == 422


def test_anonymous_callers_cannot_import_or_report(anonymous: TestClient) -> None:
    assert anonymous.post("/imports/Customer", json={"rows": ROWS}).status_code == 401
    assert anonymous.get("/reports/funnel").status_code == 401
