"""A batch import killed mid-way (SIGKILL) resumes from its checkpoints to the same end state."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import crmcore
from crmcore.io import import_records
from crmcore.model import ImportBatch, ImportJob

SRC = str(Path(__file__).resolve().parents[2] / "src")


def messy_rows(n: int) -> list[list[str]]:
    rows = [["姓名", "手机", "邮箱", "来源编号"]]
    for i in range(n):
        phone = f"139{i:08d}" if i % 9 else "12"  # every ninth row is invalid
        email = f"p{i % 40}@example.cn"  # rows 40.. repeat earlier e-mails: upserts
        rows.append([f"张{'伟芳娜静'[i % 4]}{i}", phone, email, f"X{i}"])
    return rows


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {src!r})
    import crmcore
    from crmcore import Customer
    from crmcore.io import import_records

    calls = 0

    def killer(record):
        global calls
        calls += 1
        if calls == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)
        return record

    crm = crmcore.connect({url!r}, validators={{Customer: killer}})
    with crm.session() as s:
        import_records(s, {path!r}, key="email", batch_size=10, source_system="crm-old")
    print("finished")
    """
)


def _state(url: str) -> tuple[list[tuple[object, ...]], dict[str, int]]:
    crm = crmcore.connect(url)
    try:
        with crm.session() as s:
            people = sorted(
                (c.last_name, c.first_name, c.phone, c.email, c.source, c.version)
                for c in s.customers
            )
            (job,) = list(s.repo(ImportJob))
            return people, dict(job.counts) | {"status": job.status == "done"}  # type: ignore[operator]
    finally:
        crm.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    path = tmp_path / "messy.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(messy_rows(75))
    killed = f"sqlite:///{tmp_path / 'killed.db'}"
    script = CHILD.format(src=SRC, kill_at=35, url=killed, path=str(path))
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "finished" not in child.stdout

    crm = crmcore.connect(killed)
    with crm.session() as s:
        (job,) = list(s.repo(ImportJob))
        assert job.status == "running"
        committed = sorted(b.seq for b in s.repo(ImportBatch))
        partial = s.customers.count()
    assert committed == [0, 1, 2]  # the validator ran 35 times: batch 3 died before its commit
    assert partial > 0
    with crm.session() as s:
        report = import_records(s, path, resume=job.id)
    assert report.resumed_batches == 3
    crm.close()

    whole = f"sqlite:///{tmp_path / 'whole.db'}"
    crm = crmcore.connect(whole)
    with crm.session() as s:
        import_records(s, path, key="email", batch_size=10, source_system="crm-old")
    crm.close()
    killed_state, whole_state = _state(killed), _state(whole)
    assert killed_state[0] == whole_state[0]
    assert len(killed_state[0]) == 39  # e-mail p36 is only on invalid rows
    assert killed_state[1]["status"] and whole_state[1]["status"]
    assert killed_state[1] == whole_state[1]  # the same counts: created, updated, invalid...
    assert report.invalid == 9 and report.created + report.updated + report.unchanged == 66


def test_resume_refuses_another_file_and_a_finished_import(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(messy_rows(5))
    crm = crmcore.connect("memory://")
    with crm.session() as s:
        report = import_records(s, path, key="email")
    with (
        crm.session() as s,
        pytest.raises(crmcore.errors.ConfigurationError, match="nothing to resume"),
    ):
        import_records(s, path, resume=report.import_id)
    with crm.session() as s:
        job = s.repo(ImportJob).get(report.import_id)
        s.inner(ImportJob).update(crmcore.model.replace_trusted(job, status="running"))
    other = tmp_path / "b.csv"
    other.write_text(
        path.read_text(encoding="utf-8") + "王五,13900000000,w@example.cn,X9\n", encoding="utf-8"
    )
    with crm.session() as s, pytest.raises(crmcore.errors.ConfigurationError, match="another file"):
        import_records(s, other, resume=report.import_id)
    _ = os.sep
