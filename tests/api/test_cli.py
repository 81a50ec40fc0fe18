"""``crmcore serve``: argument wiring, token files, and the app it would run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crmcore.__main__ import main
from crmcore.api import add_serve_command
from crmcore.api._cli import load_tokens
from crmcore.errors import ConfigurationError


def test_serve_is_registered_with_its_options() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_serve_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--url", "memory://", "--host", "0.0.0.0", "--port", "9"])
    assert (args.url, args.host, args.port) == ("memory://", "0.0.0.0", 9)
    assert callable(args.run)


def test_serve_without_a_url_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CRMCORE_URL", raising=False)
    assert main(["serve"]) == 2
    assert "--url" in capsys.readouterr().err


def test_tokens_come_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"abc": {"user_id": "u1", "tenant_id": "acme", "roles": ["rep"]}}))
    tokens = load_tokens(path)
    assert tokens["abc"].user_id == "u1" and tokens["abc"].roles == frozenset({"rep"})
    monkeypatch.setenv("CRMCORE_API_TOKENS", json.dumps({"x": {"user_id": "u2"}}))
    assert load_tokens(None)["x"].tenant_id == "default"
    path.write_text(json.dumps({"abc": {"user_id": "u1", "password": "p"}}))
    with pytest.raises(ConfigurationError, match="unknown principal keys"):
        load_tokens(path)
    path.write_text("[1, 2]")
    with pytest.raises(ConfigurationError):
        load_tokens(path)


def test_serve_runs_the_app_over_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    ran: dict[str, Any] = {}

    def fake_run(app: Any, host: str, port: int) -> None:
        ran.update(host=host, port=port)
        client = TestClient(app, headers={"Authorization": "Bearer t0k"})
        ran["created"] = client.post("/accounts", json={"name": "Acme"}).status_code
        ran["anonymous"] = TestClient(app).get("/accounts").status_code

    monkeypatch.setattr(uvicorn, "run", fake_run)
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"t0k": {"user_id": "admin", "system": True}}))
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    status = main(["serve", "--url", url, "--port", "8123", "--tokens", str(tokens)])
    assert status == 0
    assert ran == {"host": "127.0.0.1", "port": 8123, "created": 201, "anonymous": 401}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["serve", "--url", url, "--tokens", str(bad)]) == 1
    assert "cannot read the API tokens" in capsys.readouterr().err
