"""``progress=`` means one thing (crmcore._progress); quality_report's key columns and keys."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from crmcore._progress import make_progress
from crmcore.errors import ConfigurationError
from crmcore.validation import FieldRule, RuleSet, quality_report


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_none_and_false_mean_no_progress_and_callables_pass_through() -> None:
    def callback(stage: str, done: int, total: int) -> None:
        del stage, done, total

    assert make_progress(None) is None
    assert make_progress(False) is None
    assert callback is make_progress(callback)


def test_wrong_type_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not int"):
        make_progress(3)  # type: ignore[arg-type]


def test_true_without_tqdm_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ConfigurationError, match="needs tqdm"):
        make_progress(True)


def test_true_outside_a_terminal_prints_plain_lines_without_rates() -> None:
    pytest.importorskip("tqdm")
    out = io.StringIO()
    fn = make_progress(True, stream=out)
    assert fn is not None
    for done in range(101):
        fn("block", done, 100)
    lines = out.getvalue().splitlines()
    assert [f"block: {n}/100" for n in range(10, 101, 10)] == lines


def test_true_outside_a_terminal_with_unknown_total() -> None:
    pytest.importorskip("tqdm")
    out = io.StringIO()
    fn = make_progress(True, stream=out)
    assert fn is not None
    for done in (1, 5, 10, 50, 100, 250):
        fn("quality", done, 0)
    fn("quality", 250, 250)
    assert ["quality: 1", "quality: 10", "quality: 100", "quality: 250/250"] == (
        out.getvalue().splitlines()
    )


def test_true_in_a_terminal_draws_a_bar() -> None:
    pytest.importorskip("tqdm")
    out = _Tty()
    fn = make_progress(True, stream=out)
    assert fn is not None
    fn("compare", 5, 10)
    fn("compare", 10, 10)
    assert "compare" in out.getvalue()
    assert "10/10" in out.getvalue()


def test_quality_report_accepts_true_and_a_three_argument_callback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("tqdm")
    rows = [{"id": i, "email": f"u{i % 2}@example.com"} for i in range(4)]
    report = quality_report(rows, ["email"], progress=True, progress_every=2)
    assert 4 == report.total
    assert "quality: 4/4" in capsys.readouterr().err
    seen: list[tuple[str, int, int]] = []
    quality_report(
        rows, ["email"], progress=lambda s, d, t: seen.append((s, d, t)), progress_every=2
    )
    # a list has a length: the total is known from the start
    assert [("quality", 2, 4), ("quality", 4, 4), ("quality", 4, 4)] == seen


@pytest.mark.parametrize("column", ["mail", "e_mail", "E-Mail", "contact.mail", "email_address"])
def test_mail_columns_are_e_mails(column: str) -> None:
    rows: list[dict[str, Any]] = [
        {"id": 1, column: "Wei@Example.com"},
        {"id": 2, column: "wei@example.COM"},
        {"id": 3, column: "plain"},
        {"id": 4, column: "plain"},
    ]
    if "." in column:
        rows = [{"id": r["id"], "contact": {"mail": r[column]}} for r in rows]
    report = quality_report(rows, [column], key_fields=[column])
    assert [(column, "wei@example.com", 2)] == [
        (d.field, d.key, d.count) for d in report.duplicates
    ]
    assert 2 == report.invalid_records


@pytest.mark.parametrize("column", ["tel", "telephone", "cell", "phone_number"])
def test_phone_columns_are_phones(column: str) -> None:
    rows = [{"id": 1, column: "138 0013 8000"}, {"id": 2, column: "+86 13800138000"}]
    report = quality_report(rows, [column], key_fields=[column])
    assert [("+8613800138000", 2)] == [(d.key, d.count) for d in report.duplicates]


def test_values_refused_by_their_rule_are_never_duplicate_keys() -> None:
    # A rule with a custom normaliser: the key falls back to casefolded text,
    # but a value the rule refuses must not become a key.
    def code(value: Any) -> str:
        text = str(value).strip()
        if not text.isdigit():
            from crmcore.validation._common import fail

            fail("code", "invalid_code", "code must be digits", value)
        return text

    rules = RuleSet(fields={"code": FieldRule(normalizer=code)})
    rows = [{"id": i, "code": v} for i, v in enumerate(["x@", "x@", "12", "12", "plain", "plain"])]
    report = quality_report(rows, ["code"], rules=rules, key_fields=["code"])
    assert [("12", 2)] == [(d.key, d.count) for d in report.duplicates]
    assert {"invalid_code": 4} == report.field("code").invalid
