"""Sending stored alerts to webhooks: an outbox with retries and exponential backoff.

Every ``alert_delivery`` row is one alert for one webhook URL. :func:`deliver_due` posts the rows
whose ``next_attempt_at`` has come; a 2xx answer marks the row delivered, anything else (an error
status, a refused connection, a timeout) records the error and moves ``next_attempt_at`` by
``base · 2^(attempts-1)`` capped at ``max``. A row is never given up: a receiver that is down for a
day gets the alert when it comes back, at most ``max`` seconds later.

The body is Slack-compatible (Slack, Mattermost and Rocket.Chat incoming webhooks read ``text``)
with the alert's fields beside it for receivers that want the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from nabiz.serving.alerts.models import Alert, AlertDelivery, DeliveryStatus
from nabiz.serving.queue.models import utcnow

if TYPE_CHECKING:
    import httpx

BATCH = 50  # deliveries per pass


class LazyClient:
    """An ``httpx.Client`` made at the first post, so httpx is imported only when a webhook is
    due: httpx imports its command line (rich, pygments) with it, about 0.6 s of every server
    start that most starts never use (BENCHMARKS.md §9)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.client: httpx.Client | None = None

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        if self.client is None:
            import httpx

            self.client = httpx.Client(timeout=self.timeout_s)
        return self.client.post(url, **kwargs)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


@dataclass(frozen=True)
class Backoff:
    base_s: float = 5.0
    max_s: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failed attempt (1, 2, …)."""
        return timedelta(seconds=min(self.base_s * 2 ** max(0, attempts - 1), self.max_s))


def webhook_body(alert: Alert) -> dict[str, Any]:
    """``{"text": …}`` for chat tools, plus the alert's fields and numbers."""
    return {
        "text": f"Nabız uyarısı: {alert.message}",
        "alert_id": alert.id,
        "rule": alert.rule,
        "kind": alert.kind,
        "title": alert.title,
        "group": alert.group,
        "numbers": alert.numbers,
        "feedback_id": alert.feedback_id,
        "created_at": alert.created_at.isoformat(),
    }


@dataclass
class DeliveryPass:
    delivered: int = 0
    failed: int = 0


def deliver_due(
    session_factory: sessionmaker[Session],
    client: httpx.Client | LazyClient,
    backoff: Backoff,
    now: datetime | None = None,
) -> DeliveryPass:
    """Post every delivery that is due (up to :data:`BATCH`); record each outcome.

    The outcomes are written after the posts, in one short transaction: a write during the loop
    (a lazy load of an alert would autoflush the previous outcome) would hold SQLite's write
    lock across every following HTTP call — minutes with a receiver that times out — and make
    the queue's writes fail with "database is locked". On PostgreSQL the claimed rows stay
    locked (``SKIP LOCKED``) until that commit, so two servers never post one delivery.
    """
    now = now or utcnow()
    outcome = DeliveryPass()
    with session_factory() as session:
        rows = session.scalars(
            select(AlertDelivery)
            .where(
                AlertDelivery.status == DeliveryStatus.PENDING.value,
                AlertDelivery.next_attempt_at <= now,
            )
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)  # PostgreSQL: two servers never post one row
            .options(selectinload(AlertDelivery.alert))
        ).all()
        posts = [(delivery, webhook_body(delivery.alert)) for delivery in rows]
        results: list[tuple[AlertDelivery, str | None, datetime]] = []
        if posts:
            import httpx  # the first due webhook pays for it (see LazyClient)
        for delivery, body in posts:
            error = None
            try:
                response = client.post(delivery.url, json=body)
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            results.append((delivery, error, utcnow()))
        for delivery, error, at in results:
            delivery.attempts += 1
            if error is None:
                delivery.status = DeliveryStatus.DELIVERED.value
                delivery.delivered_at = at
                delivery.last_error = None
                outcome.delivered += 1
            else:
                delivery.last_error = error
                delivery.next_attempt_at = at + backoff.delay(delivery.attempts)
                outcome.failed += 1
        session.commit()
    return outcome


def next_attempt(session_factory: sessionmaker[Session]) -> datetime | None:
    """When the earliest pending delivery is due (None when nothing is pending)."""
    with session_factory() as session:
        return session.scalar(
            select(func.min(AlertDelivery.next_attempt_at)).where(
                AlertDelivery.status == DeliveryStatus.PENDING.value
            )
        )
