"""Alert delivery: webhook retries with backoff against a real local HTTP receiver, a receiver
that stays down, and the whole path end to end through the real app (a burst of negative billing
complaints raises one alert, delivered once). SQLite and, when one answers, PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from nabiz.serving.alerts.delivery import Backoff, deliver_due
from nabiz.serving.alerts.models import AlertDelivery
from nabiz.serving.app import create_app
from nabiz.settings import Settings
from tests.serving.test_alerts import (  # noqa: F401  (fixtures and helpers)
    NOW,
    SPIKE,
    VOLUME,
    check,
    database_url,
    rules_of,
    seed_days,
    seed_recent,
    sessions,
)
from tests.serving.test_queue import ScriptedPredictor

# --- delivery -----------------------------------------------------------------------------------


class Receiver:
    """A real HTTP server on 127.0.0.1 that records posted JSON and answers scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                code = outer.statuses.pop(0) if outer.statuses else 200
                if code < 300:
                    outer.bodies.append(body)
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def deliveries(factory) -> list[AlertDelivery]:
    with factory() as session:
        return list(session.query(AlertDelivery).order_by(AlertDelivery.id))


def test_a_failing_webhook_is_retried_with_backoff_until_it_accepts(sessions):  # noqa: F811
    seed_recent(sessions, "now", 8, NOW)
    backoff = Backoff(base_s=0.2, max_s=10)
    with Receiver(statuses=[500, 503]) as receiver, httpx.Client(timeout=2) as client:
        check(sessions, rules_of(hacim={**VOLUME, **SPIKE}), webhooks=[receiver.url])
        first = deliver_due(sessions, client, backoff)
        assert (first.delivered, first.failed) == (0, 1)
        [row] = deliveries(sessions)
        assert row.status == "pending" and row.attempts == 1 and "HTTP 500" in row.last_error
        # not yet due: nothing is posted before the backoff has passed
        assert deliver_due(sessions, client, backoff).failed == 0
        time.sleep(0.25)
        assert deliver_due(sessions, client, backoff).failed == 1
        [row] = deliveries(sessions)
        assert row.attempts == 2
        wait = (row.next_attempt_at - datetime.now(UTC)).total_seconds()
        assert 0.2 < wait <= 0.4  # doubled: 0.2 s, then 0.4 s
        time.sleep(0.45)
        assert deliver_due(sessions, client, backoff).delivered == 1
        assert deliver_due(sessions, client, backoff).delivered == 0  # delivered once
    [row] = deliveries(sessions)
    assert row.status == "delivered" and row.attempts == 3
    [body] = receiver.bodies
    assert body["text"].startswith("Nabız uyarısı: Hacim artışı") and body["numbers"]["count"] == 8


def test_a_receiver_that_stays_down_keeps_the_delivery_pending(sessions):  # noqa: F811
    seed_recent(sessions, "now", 8, NOW)
    with Receiver() as receiver:
        down = receiver.url
    backoff = Backoff(base_s=0.01, max_s=0.02)
    check(sessions, rules_of(hacim={**VOLUME, **SPIKE}), webhooks=[down])
    with httpx.Client(timeout=1) as client:
        for _ in range(6):
            deliver_due(sessions, client, backoff)
            time.sleep(0.03)
    [row] = deliveries(sessions)
    assert row.status == "pending" and row.attempts == 6
    assert "ConnectError" in row.last_error
    assert row.next_attempt_at - datetime.now(UTC) <= timedelta(seconds=0.02)  # capped


# --- end to end ---------------------------------------------------------------------------------


def test_a_burst_of_negative_billing_complaints_raises_one_alert_delivered_once(
    database_url,  # noqa: F811
    sessions,  # noqa: F811
    default_schema,
):
    """The real app, the default rules file, a real webhook receiver; items posted over HTTP."""
    now = datetime.now(UTC)
    # a week of ordinary billing traffic on SMS, about one in ten negative, and today's so far
    totals = [10, 30, 15, 35, 20, 25, 40]
    seed_days(sessions, "n", [t - t // 10 for t in totals], now)
    seed_days(sessions, "neg", [t // 10 for t in totals], now, sentiment="olumsuz")
    seed_recent(sessions, "today", 15, now - timedelta(minutes=30))
    with Receiver() as receiver:
        settings = Settings(
            database_url=database_url,
            alert_webhooks=[receiver.url],
            alert_check_interval_s=30,
            alert_retry_base_s=0.2,
            device="cpu",
        )
        app = create_app(settings, predictor=ScriptedPredictor(default_schema))
        with TestClient(app) as client:
            for i in range(12):  # the burst
                response = client.post(
                    "/v1/feedback",
                    json={
                        "id": f"burst-{i}",
                        "text": f"Faturam yine yanlış geldi #{i} "
                        "[sentiment=olumsuz][topic=fatura_odeme][urgency=orta]",
                        "channel": "SMS",
                    },
                )
                assert response.status_code == 201, response.text

            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not receiver.bodies:
                time.sleep(0.05)
            time.sleep(1.0)  # time for any duplicate to show up
            page = client.get("/v1/alerts").json()

    assert page["count"] == 1, page
    [alert] = page["items"]
    assert alert["rule"] == "olumsuz_oran_artisi"
    assert alert["group"] == {"topic": "fatura_odeme", "channel": "sms"}
    numbers = alert["numbers"]
    assert numbers["matching"] >= 10 and numbers["share"] > numbers["threshold"]
    assert numbers["baseline_mean"] == pytest.approx(0.1, abs=0.02)
    assert numbers["trigger_feedback_id"].startswith("burst-")
    assert alert["deliveries"][0]["status"] == "delivered"
    [body] = receiver.bodies
    assert body["alert_id"] == alert["id"] and body["numbers"] == numbers
    assert "Fatura ve ödeme / SMS" in body["text"] and "Olumsuz oranı" in body["text"]
