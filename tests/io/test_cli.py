"""The command line: import, export, backup, restore, dedupe; URL sources; exit codes."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

import crmcore
from crmcore.__main__ import EXIT_INVALID_ROWS, main

ROWS = [
    ["姓名", "手机", "邮箱"],
    ["张伟", "13800138000", "wei@example.cn"],
    ["张伟", "138 0013 8000", "wei@example.cn"],
    ["Anna Smith", "+1 415 555 0132", "anna@example.com"],
    ["李娜", "12345", "bad@"],
]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    with open(path, "w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows(ROWS)
    return path


def count(url: str) -> int:
    crm = crmcore.connect(url)
    try:
        with crm.session() as s:
            return s.customers.count()
    finally:
        crm.close()


def test_import_export_backup_restore(
    tmp_path: Path,
    csv_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("CRMCORE_URL", url)
    errors = tmp_path / "errors.csv"
    dry = main(
        ["import", str(csv_file), "--key", "phone", "--dry-run", "-q", "--errors", str(errors)]
    )
    assert dry == EXIT_INVALID_ROWS
    assert count(url) == 0
    assert "李娜" in errors.read_text(encoding="utf-8-sig")
    assert main(["import", str(csv_file), "--key", "phone", "-q"]) == EXIT_INVALID_ROWS
    assert count(url) == 2
    out = capsys.readouterr().out
    assert "2 created" in out and "1 unchanged" in out and "phone_too_short" in out

    export = tmp_path / "out.xlsx"
    assert main(["export", "customers", str(export), "--fields", "last_name,phone", "-q"]) == 0
    assert (
        main(["export", "customers", str(tmp_path / "w.csv"), "--where", "last_name=张", "-q"]) == 0
    )
    assert (tmp_path / "w.csv").read_text(encoding="utf-8-sig").count("\n") == 2

    backup = tmp_path / "b.zip"
    assert main(["backup", str(backup), "-q"]) == 0
    assert main(["restore", str(backup), "--dry-run"]) == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert main(["restore", str(backup), "--url", other, "-q"]) == 0
    assert count(other) == 2
    assert main(["restore", str(backup), "--url", other, "-q"]) == 1  # the records exist: refused
    assert count(other) == 2

    broken = tmp_path / "broken.zip"
    broken.write_bytes(backup.read_bytes()[:200])
    assert main(["restore", str(broken), "--url", f"sqlite:///{tmp_path / 'x.db'}"]) == 1
    assert "backup refused" in capsys.readouterr().err
    assert zipfile.is_zipfile(backup)


def test_the_url_comes_from_a_config_file(
    tmp_path: Path,
    csv_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("CRMCORE_URL", raising=False)
    monkeypatch.delenv("CRMCORE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["backup", "b.zip"]) == 1
    assert "no database" in capsys.readouterr().err
    url = f"sqlite:///{tmp_path / 'conf.db'}"
    (tmp_path / "crmcore.toml").write_text(f'url = "{url}"\n')
    assert main(["import", str(csv_file), "-q", "--key", "phone"]) == EXIT_INVALID_ROWS
    assert count(url) == 2


def test_suggest_and_saved_mappings(
    tmp_path: Path, csv_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "m.json"
    assert main(["import", str(csv_file), "--suggest", "--save-mapping", str(saved)]) == 0
    assert "full_name" in capsys.readouterr().out
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert (
        main(["import", str(csv_file), "--mapping", str(saved), "--url", url, "-q"])
        == EXIT_INVALID_ROWS
    )
    assert count(url) == 3


def test_dedupe_finds_and_merges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    crm = crmcore.connect(url)
    with crm.session() as s:
        for email in ("wei@example.cn", "wei@example.cn", "anna@example.com"):
            s.customers.add(
                crmcore.Customer(first_name="伟", last_name="张", phone="13800138000", email=email)
            )
    crm.close()
    pairs = tmp_path / "pairs.csv"
    assert main(["dedupe", "--url", url, "--out", str(pairs), "--merge", "--dry-run", "-q"]) == 0
    assert count(url) == 3
    assert "would merge" in capsys.readouterr().out
    assert main(["dedupe", "--url", url, "--merge", "-q"]) == 0
    assert count(url) < 3


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["import", "--duplicates", "nope", "x.csv"])
    assert stop.value.code == 2
    with pytest.raises(SystemExit) as stop:
        main(["export", "--help"])
    assert stop.value.code == 0
    assert "--fields" in capsys.readouterr().out
