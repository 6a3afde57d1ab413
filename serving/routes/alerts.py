"""The alerts API.

``GET /v1/alerts``
    Stored alerts, newest first; filters ``acknowledged`` (true/false), ``rule``; ``limit``
    (1..200, default 50) and ``offset``.
``GET /v1/alerts/{id}``
    One alert (404 when unknown).
``POST /v1/alerts/ack``
    Every unacknowledged alert up to ``up_to_id`` (the newest the person saw), optionally of one
    ``rule``, at once; answers how many.
``POST /v1/alerts/{id}/ack``
    A person acknowledges it (``{"by": "ayse"}``, optional; when keys are asked for, who
    acknowledged is the API key's name and the body's ``by`` is ignored, as ``corrected_by`` on
    ``PATCH /v1/feedback``). Acknowledging again changes nothing and answers the alert as it was
    first acknowledged. Acknowledging does not stop deliveries: the webhook still gets the alert.

Times are in the priority policy's timezone, as on the queue's routes. Scopes: ``queue:read`` for
the ``GET`` routes, ``queue:write`` to acknowledge (:mod:`nabiz.serving.auth`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from nabiz.serving.alerts.models import Alert
from nabiz.serving.alerts.schemas import AlertAck, AlertPage, AlertPublic, AlertsAck, AlertsAcked
from nabiz.serving.auth import QueueReadScope, QueueWriteScope
from nabiz.serving.deps import PolicyDep
from nabiz.serving.inputs import Storable
from nabiz.serving.queue.deps import SessionDep
from nabiz.serving.queue.models import utcnow
from nabiz.serving.routes.queue import AUTH, MAX_OFFSET

router = APIRouter(prefix="/v1", tags=["alerts"])
NOT_FOUND = {404: {"description": "No alert with this id."}, **AUTH}
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # inside every database's integer


def _get(session: SessionDep, alert_id: int) -> Alert:
    row = session.get(Alert, alert_id, options=[selectinload(Alert.deliveries)])
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no alert with id {alert_id}")
    return row


@router.get("/alerts", response_model=AlertPage, responses=AUTH)
def list_alerts(
    session: SessionDep,
    _caller: QueueReadScope,
    policy: PolicyDep,
    acknowledged: Annotated[bool | None, Query(description="Only (un)acknowledged.")] = None,
    rule: Annotated[str | None, Query(max_length=64), Storable] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AlertPage:
    """Alerts, newest first."""
    conditions = []
    if acknowledged is not None:
        column = Alert.acknowledged_at
        conditions.append(column.is_not(None) if acknowledged else column.is_(None))
    if rule is not None:
        conditions.append(Alert.rule == rule)
    count = session.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0
    rows = session.scalars(
        select(Alert)
        .where(*conditions)
        .options(selectinload(Alert.deliveries))
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return AlertPage(
        count=count,
        items=[AlertPublic.from_row(r, zone=policy.zone) for r in rows],
        limit=limit,
        offset=offset,
    )


@router.get("/alerts/{alert_id}", response_model=AlertPublic, responses=NOT_FOUND)
def read_alert(
    alert_id: AlertId, session: SessionDep, _caller: QueueReadScope, policy: PolicyDep
) -> AlertPublic:
    """One alert with its deliveries."""
    return AlertPublic.from_row(_get(session, alert_id), zone=policy.zone)


@router.post("/alerts/ack", response_model=AlertsAcked, responses=AUTH)
def acknowledge_alerts(
    session: SessionDep, caller: QueueWriteScope, body: AlertsAck
) -> AlertsAcked:
    """A person acknowledges every unacknowledged alert they saw (up to `up_to_id`), of one
    `rule` or all; who, as for one alert."""
    conditions = [Alert.acknowledged_at.is_(None), Alert.id <= body.up_to_id]
    if body.rule is not None:
        conditions.append(Alert.rule == body.rule)
    who = caller.name if caller is not None else body.by
    done = session.execute(
        update(Alert).where(*conditions).values(acknowledged_at=utcnow(), acknowledged_by=who)
    )
    session.commit()
    return AlertsAcked(acknowledged=done.rowcount or 0)


@router.post("/alerts/{alert_id}/ack", response_model=AlertPublic, responses=NOT_FOUND)
def acknowledge_alert(
    alert_id: AlertId,
    session: SessionDep,
    caller: QueueWriteScope,
    policy: PolicyDep,
    body: AlertAck | None = None,
) -> AlertPublic:
    """A person has seen the alert and takes it on.

    Who acknowledged comes from the API key's name; `by` in the body counts only when the server
    asks for no keys."""
    row = _get(session, alert_id)
    if row.acknowledged_at is None:
        row.acknowledged_at = utcnow()
        row.acknowledged_by = caller.name if caller is not None else (body.by if body else None)
        session.commit()
    return AlertPublic.from_row(row, zone=policy.zone)
