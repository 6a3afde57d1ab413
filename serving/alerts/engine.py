"""The alert engine of a running app: rules checked as feedback arrives and on a schedule,
alerts delivered from the outbox.

Two asyncio tasks started in the app's lifespan (not APScheduler: there is one periodic job and
one event, both belong to the app's own event loop and stop with it, and no new dependency or job
store is needed; several server processes stay correct because ``alert.dedup_key`` is unique and
PostgreSQL deliveries are claimed with ``SKIP LOCKED``):

* the **checker** runs the rules in a worker thread at start, when
  :meth:`AlertEngine.feedback_stored` is called (after ``POST /v1/feedback`` stored an item) and
  every ``check_interval_s``. Items that arrive while a check runs are covered by one more check
  right after it, so a burst costs a few checks, not one per item. The baselines are read once
  and then slid hour by hour (``BaselineCache``): a check reads the recent window and a few
  hours; scheduled checks rebuild them every six hours, and the check after an item dated
  before the baselines' end (an import of old feedback) rebuilds them, so that no baseline misses
  it; a check after a new item stays within seconds;
* the **deliverer** posts due deliveries, then sleeps until the next one is due, or until a new
  alert is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from nabiz.serving.alerts.delivery import Backoff, LazyClient, deliver_due, next_attempt
from nabiz.serving.alerts.evaluate import BaselineCache, baseline_anchor, evaluate, store_alerts
from nabiz.serving.alerts.models import Alert
from nabiz.serving.alerts.rules import AlertRules
from nabiz.serving.queue.models import utcnow

log = logging.getLogger("nabiz.alerts")


class AlertEngine:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        rules: AlertRules,
        *,
        webhooks: Sequence[str] = (),
        check_interval_s: float = 60.0,
        backoff: Backoff | None = None,
        webhook_timeout_s: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
        zone: tzinfo = UTC,
    ) -> None:
        self.session_factory = session_factory
        self.rules = rules
        self.webhooks = list(webhooks)
        self.check_interval_s = check_interval_s
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.zone = zone  # the priority policy's: the times in the alerts' messages
        self._client = LazyClient(webhook_timeout_s)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._check_wanted: asyncio.Event | None = None
        self._delivery_wanted: asyncio.Event | None = None
        self._trigger: str | None = None
        self._tasks: list[asyncio.Task] = []
        self._baselines = BaselineCache()
        self._baselines_missed = False  # an item dated inside counted hours arrived: rebuild
        self._checking = threading.Lock()

    # --- synchronous core (tests call these directly) ----------------------------------------

    def check(self, trigger: str | None = None, refresh: bool = True) -> list[Alert]:
        """Run every rule now and store the new alerts (``trigger``: the item that asked).

        ``refresh=False`` never rebuilds the cached baseline counts (see ``BaselineCache``).
        """
        with self._checking:  # one check at a time: they share the baseline cache
            now = self.clock()
            if self._baselines_missed:  # cleared first: an item stored during the check sets it
                self._baselines_missed = False
                self._baselines.entries.clear()
            self._baselines.refresh = refresh
            with self.session_factory() as session:
                drafts = evaluate(session, self.rules, now, self._baselines, self.zone)
                stored = store_alerts(session, drafts, self.rules, self.webhooks, now, trigger)
        if stored:
            log.info("alerts raised: %s", ", ".join(f"{a.id} {a.rule}" for a in stored))
            self._wake(self._delivery_wanted)
        return stored

    def deliver(self) -> None:
        deliver_due(self.session_factory, self._client, self.backoff)

    # --- the running app --------------------------------------------------------------------

    def feedback_stored(self, feedback_id: str, received_at: datetime | None = None) -> None:
        """Ask for a check soon (called by POST /v1/feedback after it stored an item); one
        ``received_at`` before the baselines' end (the hour now began) was not counted in them,
        so that check reads them again."""
        if received_at is not None:
            if received_at.tzinfo is None:  # stored naive in UTC (SQLite)
                received_at = received_at.replace(tzinfo=UTC)
            if received_at < baseline_anchor(self.clock()):
                self._baselines_missed = True
        self._trigger = feedback_id
        self._wake(self._check_wanted)

    def _wake(self, event: asyncio.Event | None) -> None:
        if event is None or self._loop is None or self._loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            event.set()
        else:
            self._loop.call_soon_threadsafe(event.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._check_wanted = asyncio.Event()
        self._delivery_wanted = asyncio.Event()
        self._delivery_wanted.set()  # deliveries left pending by a previous run
        self._tasks = [
            asyncio.create_task(self._check_loop(), name="nabiz-alert-checks"),
            asyncio.create_task(self._delivery_loop(), name="nabiz-alert-deliveries"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            # Cancelled again until it ends: a cancellation that arrives as the awaited event
            # fires can be lost (asyncio.wait_for in Python 3.11 returned the result instead),
            # and one lost cancellation left the shutdown waiting forever.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._client.close()

    async def _check_loop(self) -> None:
        assert self._check_wanted is not None
        scheduled = True  # the first check runs at start and reads the baselines
        while True:
            self._check_wanted.clear()
            trigger, self._trigger = self._trigger, None
            try:
                await asyncio.to_thread(self.check, trigger, scheduled)
            except Exception:  # a failed check must not stop the next one
                log.exception("alert check failed")
            try:
                async with asyncio.timeout(self.check_interval_s):
                    await self._check_wanted.wait()
                scheduled = False
            except TimeoutError:
                scheduled = True

    async def _delivery_loop(self) -> None:
        assert self._delivery_wanted is not None
        while True:
            wait_s = self.check_interval_s
            try:
                await asyncio.to_thread(self.deliver)
                due = await asyncio.to_thread(next_attempt, self.session_factory)
                if due is not None:
                    wait_s = min(wait_s, max(0.05, (due - utcnow()).total_seconds()))
            except Exception:
                log.exception("alert delivery failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._delivery_wanted.wait()
            self._delivery_wanted.clear()
