"""Which scope each route needs: the alerts and the insights like the queue, and no route left open
but the probes, the console's files and the docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nabiz.serving.alerts.models import Alert
from nabiz.serving.app import create_app
from nabiz.serving.console.web import STATIC_DIR
from nabiz.serving.queue.db import make_engine, make_session_factory, upgrade_database
from tests.serving.test_auth import bearer, client_for, make_key

ROUTES_WITH_SCOPES = [
    ("GET", "/v1/alerts", "queue:read"),
    ("GET", "/v1/alerts/{id}", "queue:read"),
    ("POST", "/v1/alerts/{id}/ack", "queue:write"),
    ("GET", "/v1/insights/trends", "queue:read"),
    ("GET", "/v1/insights/root-causes", "queue:read"),
    ("GET", "/v1/insights/survey", "queue:read"),
]
# Open whatever the keys: liveness and readiness, the console's page and files (they hold no
# data; the page asks for a key), and the docs (switched off by NABIZ_PUBLIC_DOCS=false).
OPEN_ROUTES = {"/healthz", "/readyz", "/ui", "/ui/", "/docs", "/docs/oauth2-redirect", "/redoc"}
OPEN_ROUTES |= {"/openapi.json"}


@pytest.fixture
def sqlite_queue(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    upgrade_database(url)
    return url


def store_alert(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        alert = Alert(
            rule="p1",
            kind="overdue",
            dedup_key="p1|k-1",
            title="Geciken P1",
            message="k-1 gecikti",
            group={},
            numbers={},
        )
        session.add(alert)
        session.commit()
        alert_id = alert.id
    engine.dispose()
    return alert_id


def call(client: TestClient, method: str, path: str, key: str | None = None):
    headers = bearer(key) if key else {}
    return client.request(method, path, headers=headers, json={} if method == "POST" else None)


@pytest.mark.parametrize(("method", "template", "scope"), ROUTES_WITH_SCOPES)
def test_alerts_and_insights_need_a_key_with_their_scope(
    make_settings, serving_predictor, sqlite_queue, method, template, scope
):
    path = template.format(id=store_alert(sqlite_queue))
    other = "queue:write" if scope == "queue:read" else "queue:read"
    holder = make_key(sqlite_queue, "sahibi", scope)
    stranger = make_key(sqlite_queue, "yabanci", "predict", other)
    admin = make_key(sqlite_queue, "yonetici", "admin")
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        assert call(client, method, path).status_code == 401
        assert call(client, method, path, "nbz_wrong").status_code == 401
        assert call(client, method, path, stranger).status_code == 403
        assert call(client, method, path, holder).status_code == 200
        assert call(client, method, path, admin).status_code == 200


def test_who_acknowledged_an_alert_comes_from_the_key_not_the_body(
    make_settings, serving_predictor, sqlite_queue
):
    alert_id = store_alert(sqlite_queue)
    key = make_key(sqlite_queue, "ayse", "queue:write")
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        acked = client.post(
            f"/v1/alerts/{alert_id}/ack", json={"by": "mallory"}, headers=bearer(key)
        )
        assert acked.status_code == 200, acked.text
        assert acked.json()["acknowledged_by"] == "ayse"


def test_without_keys_the_body_says_who_acknowledged(
    make_settings, serving_predictor, sqlite_queue
):
    alert_id = store_alert(sqlite_queue)
    with client_for(make_settings, serving_predictor, sqlite_queue, auth="off") as client:
        acked = client.post(f"/v1/alerts/{alert_id}/ack", json={"by": "ayşe"})
        assert acked.status_code == 200, acked.text
        assert acked.json()["acknowledged_by"] == "ayşe"


def test_every_route_but_the_probes_console_and_docs_needs_a_key(make_settings, sqlite_queue):
    settings = make_settings(database_url=sqlite_queue, auth="required", public_metrics=False)
    app = create_app(settings)
    routes = {path: set(methods) for path, methods in app.openapi()["paths"].items()}
    routes["/metrics"] = {"get"}  # the one data route left out of the schema
    wanted = {template.replace("{id}", "{alert_id}") for _, template, _ in ROUTES_WITH_SCOPES}
    assert wanted <= set(routes)
    with TestClient(app) as client:  # no key exists, and keys are required: nobody gets in
        for template, methods in routes.items():
            if template in OPEN_ROUTES:
                continue
            path = template.replace("{feedback_id}", "k-1").replace("{alert_id}", "1")
            for method in sorted(methods):
                answer = client.request(method.upper(), path)
                assert answer.status_code == 401, (method, template, answer.status_code)


def test_the_console_calls_the_api_only_through_the_helper_that_sends_the_key():
    """The alerts and insights pages use ``api()``, which adds ``Authorization: Bearer <key>``
    from the key stored under "Anahtar" (tests/serving/console/test_browser.py drives it)."""
    script = (Path(STATIC_DIR) / "app.js").read_text(encoding="utf-8")
    assert script.count("fetch(") == 1
    helper = script[script.index("function api(") : script.index("fetch(")]
    assert '"Bearer " + key' in helper
    for path in ("/v1/alerts", "/v1/insights/trends", "/v1/insights/root-causes"):
        assert f'api("{path}' in script


def test_the_openapi_document_names_the_key_scheme_on_the_routes_that_take_keys(
    make_settings, serving_predictor, sqlite_queue
):
    with client_for(make_settings, serving_predictor, sqlite_queue) as client:
        document = client.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert document["paths"]["/v1/predict"]["post"]["security"] == [{"ApiKey": []}]
    assert "security" not in document["paths"]["/healthz"]["get"]
