"""Checking the alert rules against the triage queue, and storing what fires (once).

:func:`evaluate` is a pure read: for each rule it counts items per group in the recent window and
in each window of the trailing baseline (SQL ``GROUP BY`` per window, on the ``received_at``
index; the baseline windows end at :func:`baseline_anchor`, cached and slid hour by hour). It
returns
an :class:`AlertDraft` for every group above ``mean + k·σ`` with at least ``min_count`` items, and
for every overdue item. :func:`store_alerts` writes the drafts that are new — a rule and group
that fired within the rule's cooldown, or an overdue item already reported, is skipped, and the
unique ``dedup_key`` settles a race — with one pending delivery per webhook.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import String, case, exists, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nabiz.serving.alerts.models import Alert, AlertDelivery, DeliveryStatus
from nabiz.serving.alerts.rules import (
    CHANNEL,
    AlertRules,
    OverdueRule,
    ShareSpikeRule,
    VolumeSpikeRule,
)
from nabiz.serving.queue.models import Feedback, FeedbackLabel
from nabiz.text import turkish_number

# The baseline windows end at now rounded down to the hour; their counts are read once and then
# slid hour by hour (BaselineCache), so that a check reads little more than the recent window,
# which always ends at now. Scheduled checks rebuild the counts every BASELINE_REBUILD.
BASELINE_STEP = timedelta(hours=1)
BASELINE_REBUILD = timedelta(hours=6)


Counts = dict[tuple[str, ...], tuple[int, int]]


@dataclass
class AlertDraft:
    """An alert that a rule raised, before it is stored."""

    rule: str
    kind: str
    dedup_key: str
    title: str
    message: str
    group: dict[str, Any] = field(default_factory=dict)
    numbers: dict[str, Any] = field(default_factory=dict)
    feedback_id: str | None = None


def _has_label(task: str, label: str) -> Any:
    return exists().where(
        FeedbackLabel.feedback_id == Feedback.id,
        FeedbackLabel.task == task,
        FeedbackLabel.label == label,
    )


def _label_of(task: str) -> Any:
    """The item's effective label of ``task`` (the first, for a multi-label task), as a column."""
    return (
        select(FeedbackLabel.label)
        .where(FeedbackLabel.feedback_id == Feedback.id, FeedbackLabel.task == task)
        .order_by(FeedbackLabel.label)
        .limit(1)
        .scalar_subquery()
    )


def _items(rule: VolumeSpikeRule | ShareSpikeRule, start: datetime, end: datetime) -> Any:
    """Items received in [start, end) as rows ``(received_at, g0, g1, …, hit)``.

    The window's items are found on the ``received_at`` index first; each one's labels are then
    looked up by primary key (a join on the label table made SQLite scan every label of the task).
    """
    columns = [
        (Feedback.channel if key == CHANNEL else _label_of(key)).label(f"g{i}")
        for i, key in enumerate(rule.group_by)
    ]
    if isinstance(rule, ShareSpikeRule):
        [(task, value)] = rule.share_of.items()
        hit = case((_has_label(task, value), 1), else_=0)
    else:
        hit = literal(1)
    return select(Feedback.received_at.label("received_at"), *columns, hit.label("hit")).where(
        Feedback.received_at >= start,
        Feedback.received_at < end,
        *[_has_label(task, label) for task, label in rule.where.items()],
    )


def _window_counts(
    session: Session, rule: VolumeSpikeRule | ShareSpikeRule, start: datetime, end: datetime
) -> Counts:
    """group → (items, items with ``share_of``) for items received in [start, end), counted in
    SQL."""
    items = _items(rule, start, end).subquery()
    groups = [items.c[f"g{i}"] for i in range(len(rule.group_by))]
    statement = select(*groups, func.count(), func.sum(items.c.hit))
    if groups:
        statement = statement.group_by(*groups)
    counts = {}
    for row in session.execute(statement):
        *group, total, hits = row
        if total and all(value is not None for value in group):
            counts[tuple(str(value) for value in group)] = (int(total), int(hits or 0))
    return counts


def _describe_group(
    rule: VolumeSpikeRule | ShareSpikeRule, group: dict[str, str], rules: AlertRules
) -> str:
    shown = [rules.shown(key, group[key]) for key in rule.group_by]
    return " / ".join(shown) if group else "tüm geri bildirim"


def _hours(value: float) -> str:
    if value < 48:
        return f"{turkish_number(value, None)} saat"
    return f"{turkish_number(value / 24, None)} gün"


def _lateness(minutes: int) -> str:
    """How late, as the console's queue says it: ``10 g 19 sa``, ``5 sa 3 dk``, ``40 dk``."""
    days, hours, rest = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} g {hours} sa"
    return f"{hours} sa {rest} dk" if hours else f"{rest} dk"


@dataclass
class BaselineCache:
    """Each rule's baseline window counts, the anchor they end at and when they were read.

    When the anchor moves on by an hour, every window slides by an hour: it gains the hour at its
    newer end and loses the hour at its older end, and the hour one window loses is the hour the
    next one gains. So a check reads ``baseline_windows + 1`` hours (SQL counts) instead of a week
    of items. Items stored with a ``received_at`` inside an hour already counted (an import of old
    feedback) are not in the slid counts: the engine empties the cache for the check after such
    an item (``AlertEngine.feedback_stored``), and a scheduled check (``refresh=True``) rebuilds
    it every :data:`BASELINE_REBUILD` whatever arrived (items written to the database by other
    means, or by another server process).
    """

    entries: dict[str, tuple[datetime, datetime, list[Counts]]] = field(default_factory=dict)
    refresh: bool = True


def baseline_anchor(now: datetime) -> datetime:
    """``now`` rounded down to :data:`BASELINE_STEP`: the baseline windows end here."""
    step = BASELINE_STEP.total_seconds()
    return datetime.fromtimestamp(now.timestamp() // step * step, tz=now.tzinfo)


def _add(counts: Counts, delta: Counts, sign: int) -> Counts:
    result = dict(counts)
    for key, (total, hits) in delta.items():
        old_total, old_hits = result.get(key, (0, 0))
        new = (old_total + sign * total, old_hits + sign * hits)
        if new[0] > 0:
            result[key] = new
        else:
            result.pop(key, None)
    return result


def _baseline(
    session: Session,
    name: str,
    rule: VolumeSpikeRule | ShareSpikeRule,
    now: datetime,
    cache: BaselineCache | None,
) -> list[Counts]:
    """Counts of each baseline window, newest first (the windows end at the anchor)."""
    anchor = baseline_anchor(now)
    window = timedelta(hours=rule.window_hours)
    cached = cache.entries.get(name) if cache is not None else None
    if cached is not None:
        old_anchor, built_at, counts = cached
        stale = cache is not None and cache.refresh and now - built_at >= BASELINE_REBUILD
        if not stale and old_anchor == anchor:
            return counts
        if not stale and old_anchor < anchor and anchor - old_anchor < window:
            edges = [  # the hours gained at each window's newer end (lost by the next window)
                _window_counts(session, rule, old_anchor - window * j, anchor - window * j)
                for j in range(1, rule.baseline_windows + 2)
            ]
            counts = [
                _add(_add(counts[i], edges[i], +1), edges[i + 1], -1) for i in range(len(counts))
            ]
            assert cache is not None
            cache.entries[name] = (anchor, built_at, counts)
            return counts
    counts = [
        _window_counts(session, rule, anchor - window * (i + 1), anchor - window * i)
        for i in range(1, rule.baseline_windows + 1)
    ]
    if cache is not None:
        cache.entries[name] = (anchor, now, counts)
    return counts


def _spike(
    session: Session,
    name: str,
    rules: AlertRules,
    now: datetime,
    cache: BaselineCache | None = None,
) -> list[AlertDraft]:
    rule = rules.rules[name]
    assert isinstance(rule, VolumeSpikeRule | ShareSpikeRule)
    window = timedelta(hours=rule.window_hours)
    current = _window_counts(session, rule, now - window, now)
    baseline = _baseline(session, name, rule, now, cache)
    period = int(now.timestamp() // (rule.cooldown_hours * 3600))
    drafts = []
    for key, (total, hits) in current.items():
        group = dict(zip(rule.group_by, key, strict=True))
        if isinstance(rule, ShareSpikeRule):
            observed_count = hits
            observed: float = hits / total
            values = [counts[key][1] / counts[key][0] for counts in baseline if key in counts]
            if len(values) < rule.min_baseline_windows:
                continue  # no usual share to rise above
        else:
            observed_count = total
            observed = float(total)
            values = [float(counts.get(key, (0, 0))[0]) for counts in baseline]
        mean = statistics.fmean(values) if values else 0.0
        std = statistics.stdev(values) if len(values) >= 2 else 0.0
        threshold = mean + rule.k * std
        if observed_count < rule.min_count or observed <= threshold:
            continue
        numbers = {
            "window_hours": rule.window_hours,
            "window_start": (now - window).isoformat(),
            "window_end": now.isoformat(),
            "count": total,
            "baseline_days": rule.baseline_days,
            "baseline_windows": rule.baseline_windows,
            "baseline_values": [round(value, 4) for value in values],
            "baseline_mean": round(mean, 4),
            "baseline_std": round(std, 4),
            "k": rule.k,
            "threshold": round(threshold, 4),
            "min_count": rule.min_count,
        }
        where = _describe_group(rule, group, rules)
        span = f"son {_hours(rule.window_hours)}"
        base = f"önceki {_hours(rule.baseline_days * 24)}"
        if isinstance(rule, ShareSpikeRule):
            [(task, label)] = rule.share_of.items()
            numbers.update({"matching": hits, "share": round(observed, 4), "share_of": task})
            scale, unit = 100, "%"
            shown = rules.shown(task, label)
            observed_text = f"{shown} oranı %{observed * 100:.0f} ({hits}/{total})"
        else:
            scale, unit = 1, ""
            observed_text = f"{total} geri bildirim"
        mean_text, std_text = turkish_number(mean * scale), turkish_number(std * scale)
        message = (
            f"{rule.title} — {where}: {span} içinde {observed_text}; {base} ortalaması "
            f"{unit}{mean_text} (σ {std_text}), eşik {unit}{turkish_number(threshold * scale)} "
            f"(ortalama + {turkish_number(rule.k, None)}σ), en az {rule.min_count}"
        )
        group_key = ",".join(f"{k}={v}" for k, v in group.items())
        drafts.append(
            AlertDraft(
                rule=name,
                kind=rule.kind,
                dedup_key=f"{name}|{group_key}|{period}",
                title=rule.title,
                message=message,
                group=group,
                numbers=numbers,
            )
        )
    return drafts


def _overdue(
    session: Session,
    name: str,
    rules: AlertRules,
    now: datetime,
    zone: tzinfo,
) -> list[AlertDraft]:
    rule, topic_task = rules.rules[name], rules.topic_task
    assert isinstance(rule, OverdueRule)
    rows = session.scalars(
        select(Feedback)
        .where(
            Feedback.priority_level.in_(rule.levels),
            Feedback.status.in_(rule.statuses),
            Feedback.respond_by < now,
            ~exists().where(Alert.dedup_key == literal(f"{name}|", String).concat(Feedback.id)),
        )
        .order_by(Feedback.respond_by, Feedback.id)
        .limit(rule.max_alerts_per_check)
    ).all()
    drafts = []
    for row in rows:
        late = now - row.respond_by
        minutes = int(late.total_seconds() // 60)
        topic = row.effective_labels().get(topic_task) if topic_task else None
        group = {"channel": row.channel, "level": row.priority_level}
        if isinstance(topic, str):
            group[topic_task] = topic
        channel = rules.shown("channel", row.channel) if row.channel else "kanal yok"
        message = (
            f"{rule.title}: {row.id} ({row.priority_level}, {channel}"
            + (f", {rules.shown(topic_task, topic)}" if isinstance(topic, str) else "")
            + f") {_lateness(minutes)} gecikti; yanıt süresi "
            f"{row.respond_by.astimezone(zone):%d.%m.%Y %H:%M} idi"
        )
        drafts.append(
            AlertDraft(
                rule=name,
                kind=rule.kind,
                dedup_key=f"{name}|{row.id}",
                title=rule.title,
                message=message,
                group=group,
                numbers={
                    "respond_by": row.respond_by.isoformat(),
                    "late_minutes": minutes,
                    "level": row.priority_level,
                    "status": row.status,
                },
                feedback_id=row.id,
            )
        )
    return drafts


def evaluate(
    session: Session,
    rules: AlertRules,
    now: datetime,
    cache: BaselineCache | None = None,
    zone: tzinfo = UTC,
) -> list[AlertDraft]:
    """Every alert the rules raise at ``now`` (not yet checked against stored ones); the times
    in their messages in ``zone`` (the priority policy's).

    ``cache`` (the engine keeps one) holds each rule's baseline counts and slides them as the
    hours pass (:class:`BaselineCache`), so a check reads little more than the recent window.
    """
    drafts: list[AlertDraft] = []
    for name, rule in rules.rules.items():
        if isinstance(rule, OverdueRule):
            drafts.extend(_overdue(session, name, rules, now, zone))
        else:
            drafts.extend(_spike(session, name, rules, now, cache))
    session.rollback()  # a read: hold no transaction
    return drafts


def _cooling_down(session: Session, draft: AlertDraft, rules: AlertRules, now: datetime) -> bool:
    rule = rules.rules.get(draft.rule)
    if not isinstance(rule, VolumeSpikeRule | ShareSpikeRule):
        return False
    since = now - timedelta(hours=rule.cooldown_hours)
    recent = session.scalars(
        select(Alert.group).where(Alert.rule == draft.rule, Alert.created_at > since)
    ).all()
    return any(group == draft.group for group in recent)


def store_alerts(
    session: Session,
    drafts: Sequence[AlertDraft],
    rules: AlertRules,
    webhooks: Sequence[str],
    now: datetime,
    trigger: str | None = None,
) -> list[Alert]:
    """Store the drafts that are new, each with a pending delivery per webhook; returns them."""
    stored = []
    for draft in drafts:
        if _cooling_down(session, draft, rules, now):
            continue
        numbers = dict(draft.numbers)
        if trigger is not None:
            numbers["trigger_feedback_id"] = trigger
        alert = Alert(
            rule=draft.rule,
            kind=draft.kind,
            dedup_key=draft.dedup_key,
            title=draft.title,
            message=draft.message,
            group=draft.group,
            numbers=numbers,
            feedback_id=draft.feedback_id or trigger,
            created_at=now,
            deliveries=[
                AlertDelivery(
                    url=url, status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now
                )
                for url in webhooks
            ],
        )
        session.add(alert)
        try:
            session.commit()
        except IntegrityError:  # stored by a concurrent check: once is enough
            session.rollback()
            continue
        stored.append(alert)
    return stored
