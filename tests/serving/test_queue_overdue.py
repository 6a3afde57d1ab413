"""One overdue rule — past respond-by and not resolved — for the ``overdue=true`` filter, the
overdue-first order and each item's ``overdue`` flag, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.serving.test_queue import (  # noqa: F401 - fixtures
    app,
    client,
    policy,
    post,
    scripted,
    tiny_predictor,
)

EVERY_STATUS = {"status": ["open", "in_progress", "resolved"]}


def seed_late_and_fresh(client) -> None:  # noqa: F811
    """``late-open`` and ``late-resolved`` are past their respond-by; ``fresh-p1`` is not."""
    now = datetime.now(UTC)
    old = now - timedelta(days=3)
    post(client, "fresh-p1", "[urgency=yuksek][sentiment=olumsuz] x", received_at=now)
    post(client, "late-open", "[urgency=dusuk][sentiment=olumlu] y", received_at=old)
    post(client, "late-resolved", "[urgency=dusuk][sentiment=olumlu] z", received_at=old)
    resolved = client.patch("/v1/feedback/late-resolved", json={"status": "resolved"})
    assert resolved.status_code == 200, resolved.text


def test_the_overdue_filter_lists_exactly_the_items_flagged_overdue(client, scripted):  # noqa: F811
    seed_late_and_fresh(client)
    every = client.get("/v1/queue", params=EVERY_STATUS).json()["items"]
    flagged = {item["id"] for item in every if item["overdue"]}
    filtered = client.get("/v1/queue", params={**EVERY_STATUS, "overdue": "true"}).json()
    assert flagged == {"late-open"}
    assert {item["id"] for item in filtered["items"]} == flagged
    assert filtered["count"] == 1


def test_a_resolved_item_past_its_respond_by_does_not_rise_as_overdue(client, scripted):  # noqa: F811
    seed_late_and_fresh(client)
    every = client.get("/v1/queue", params=EVERY_STATUS).json()["items"]
    assert [item["id"] for item in every] == ["fresh-p1", "late-open", "late-resolved"]
