"""Who may call the API: API keys with scopes, 401/403, auto and required modes, open binds."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nabiz.cli import app as cli
from nabiz.serving.app import OpenBindRefused, check_bind, create_app
from nabiz.serving.queue.db import make_engine, make_session_factory, upgrade_database
from nabiz.serving.queue.keys import ApiKeyError, create_key, hash_key, list_keys

TEXT = "Faturama haksız ücret yansımış, iade istiyorum!"
runner = CliRunner()


def make_key(url: str, name: str, *scopes: str) -> str:
    result = runner.invoke(
        cli, ["keys", "create", name, *(f"--scope={s}" for s in scopes), "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def sqlite_queue(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'queue.db'}"


def client_for(make_settings, serving_predictor, url: str, **overrides) -> TestClient:
    settings = make_settings(database_url=url, **overrides)
    return TestClient(create_app(settings, predictor=serving_predictor))


def test_keys_are_stored_as_hashes_and_printed_once(sqlite_queue):
    key = make_key(sqlite_queue, "ekip-a", "predict", "queue:read")
    assert key.startswith("nbz_") and len(key) > 40
    engine = make_engine(sqlite_queue)
    with make_session_factory(engine)() as session:
        (row,) = list_keys(session)
        assert row.key_hash == hash_key(key) and key not in (row.key_hash, row.prefix)
        assert row.scopes == ["predict", "queue:read"]
    engine.dispose()
    listed = runner.invoke(cli, ["keys", "list", "--database-url", sqlite_queue])
    assert "ekip-a" in listed.output and key not in listed.output


def test_unknown_scope_and_taken_name_are_refused(sqlite_queue):
    upgrade_database(sqlite_queue)
    engine = make_engine(sqlite_queue)
    with make_session_factory(engine)() as session:
        with pytest.raises(ApiKeyError, match="unknown scope"):
            create_key(session, "x", ["everything"])
        create_key(session, "x", ["predict"])
        with pytest.raises(ApiKeyError, match="exists already"):
            create_key(session, "x", ["admin"])
    engine.dispose()
    bad = runner.invoke(
        cli, ["keys", "create", "y", "--scope", "root", "--database-url", sqlite_queue]
    )
    assert bad.exit_code == 2 and "unknown scope" in bad.output


def test_without_keys_auto_mode_is_open(make_settings, serving_predictor, sqlite_queue):
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        assert client.post("/v1/predict", json={"items": [{"text": TEXT}]}).status_code == 200


def test_once_a_key_exists_requests_need_it_with_the_right_scope(
    make_settings, serving_predictor, sqlite_queue
):
    reader = make_key(sqlite_queue, "okuyucu", "queue:read")
    predictor_key = make_key(sqlite_queue, "tahminci", "predict")
    body = {"items": [{"text": TEXT}]}
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        missing = client.post("/v1/predict", json=body)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert client.post("/v1/predict", json=body, headers=bearer("nbz_wrong")).status_code == 401
        assert client.post("/v1/predict", json=body, headers=bearer(reader)).status_code == 403
        assert (
            client.post("/v1/predict", json=body, headers=bearer(predictor_key)).status_code == 200
        )
        assert client.get("/v1/queue", headers=bearer(reader)).status_code == 200
        assert client.get("/v1/queue", headers=bearer(predictor_key)).status_code == 403
        post = {"id": "a-1", "text": TEXT}
        assert client.post("/v1/feedback", json=post, headers=bearer(reader)).status_code == 403
        # the probes stay open
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_a_revoked_key_is_refused_after_the_next_key_refresh(
    make_settings, serving_predictor, sqlite_queue
):
    key = make_key(sqlite_queue, "gecici", "predict")
    body = {"items": [{"text": TEXT}]}
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        assert client.post("/v1/predict", json=body, headers=bearer(key)).status_code == 200
        make_key(sqlite_queue, "kalici", "admin")  # auth stays on after the revocation
        revoked = runner.invoke(cli, ["keys", "revoke", "gecici", "--database-url", sqlite_queue])
        assert revoked.exit_code == 0, revoked.output
        client.app.state.keyring.loaded_at = 0  # as if the refresh interval had passed
        assert client.app.state.keyring.keys is not None
        import asyncio

        asyncio.run(client.app.state.keyring.refresh(client.app.state.session_factory, timeout=5))
        assert client.post("/v1/predict", json=body, headers=bearer(key)).status_code == 401


def test_required_mode_refuses_everyone_without_keys(
    make_settings, serving_predictor, sqlite_queue
):
    with client_for(make_settings, serving_predictor, sqlite_queue, auth="required") as client:
        assert client.post("/v1/predict", json={"items": [{"text": TEXT}]}).status_code == 401


def test_off_mode_asks_for_nothing(make_settings, serving_predictor, sqlite_queue):
    make_key(sqlite_queue, "biri", "admin")
    with client_for(make_settings, serving_predictor, sqlite_queue, auth="off") as client:
        assert client.post("/v1/predict", json={"items": [{"text": TEXT}]}).status_code == 200


def test_who_corrected_comes_from_the_key_not_the_body(
    make_settings, serving_predictor, sqlite_queue
):
    key = make_key(sqlite_queue, "ayse", "queue:read", "queue:write")
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        created = client.post("/v1/feedback", json={"id": "k-1", "text": TEXT}, headers=bearer(key))
        assert created.status_code == 201, created.text
        patched = client.patch(
            "/v1/feedback/k-1",
            json={"corrections": {"sentiment": "olumlu"}, "corrected_by": "mallory"},
            headers=bearer(key),
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["corrected_by"] == "ayse"


def test_closing_an_item_keeps_who_corrected_it(make_settings, serving_predictor, sqlite_queue):
    ayse = make_key(sqlite_queue, "ayse", "queue:read", "queue:write")
    mehmet = make_key(sqlite_queue, "mehmet", "queue:read", "queue:write")
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        client.post("/v1/feedback", json={"id": "k-2", "text": TEXT}, headers=bearer(ayse))
        fixed = {"corrections": {"sentiment": "olumlu"}}
        assert client.patch("/v1/feedback/k-2", json=fixed, headers=bearer(ayse)).status_code == 200
        closed = client.patch(
            "/v1/feedback/k-2", json={"status": "resolved"}, headers=bearer(mehmet)
        )
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "resolved"
        assert closed.json()["corrected_by"] == "ayse"


def test_metrics_and_docs_follow_their_settings(make_settings, serving_predictor, sqlite_queue):
    admin = make_key(sqlite_queue, "yonetici", "admin")
    closed = {"public_metrics": False, "public_docs": False}
    with client_for(make_settings, serving_predictor, sqlite_queue, **closed) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer(admin)).status_code == 200
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/openapi.json").status_code == 200


def test_an_open_server_beyond_loopback_refuses_to_start(make_settings, sqlite_queue):
    settings = make_settings(database_url=sqlite_queue)
    check_bind("127.0.0.1", settings)  # loopback: always fine
    check_bind("::1", settings)
    with pytest.raises(OpenBindRefused, match="NABIZ_ALLOW_OPEN_BIND"):
        check_bind("0.0.0.0", settings)
    check_bind("0.0.0.0", make_settings(database_url=sqlite_queue, allow_open_bind=True))
    check_bind("0.0.0.0", make_settings(database_url=sqlite_queue, auth="required"))
    with pytest.raises(OpenBindRefused):
        check_bind("0.0.0.0", make_settings(database_url=sqlite_queue, auth="off"))
    make_key(sqlite_queue, "biri", "predict")
    check_bind("0.0.0.0", settings)  # a key exists: requests need it


def test_serve_cli_refuses_an_open_bind(tmp_path, serving_model_dir, monkeypatch):
    monkeypatch.setenv("NABIZ_DATABASE_URL", f"sqlite:///{tmp_path / 'q.db'}")
    result = runner.invoke(cli, ["serve", "--model", str(serving_model_dir), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "not a loopback address" in result.output


def test_a_key_name_with_turkish_letters_is_refused_naming_the_allowed_characters(sqlite_queue):
    result = runner.invoke(
        cli, ["keys", "create", "ayşe-ışık", "--scope", "predict", "--database-url", sqlite_queue]
    )
    assert result.exit_code == 2
    message = " ".join(result.output.split())  # rich may wrap the line
    assert "A-Z, a-z, 0-9, '.', '_' and '-'" in message
    assert "not allowed: 'ş', 'ı'" in message
    assert "Traceback" not in result.output
