"""The insight endpoints' former way, kept as the reference their SQL aggregates must agree with:
every item of the window read into a feedback frame (nabiz.serving.console.frame), then the
frame functions of nabiz.serving.console.analytics (which the HTML report still uses).

Two queries, not an ORM walk: the items' own columns in the time window, and their effective
sentiment/topic/urgency labels from ``feedback_label`` (the correction where a person made one),
pivoted in pandas.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from nabiz.serving.console.frame import (
    DEFAULT_ROLES,
    SENTIMENT_TASK,
    TOPIC_TASK,
    URGENCY_TASK,
    Roles,
    normalize_frame,
    urgency_index,
)
from nabiz.serving.queue.models import Feedback, FeedbackLabel

ROLE_TASKS = (SENTIMENT_TASK, TOPIC_TASK, URGENCY_TASK)


def load_frame(
    session: Session,
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    with_text: bool = False,
    urgency_order: tuple[str, ...] | None = None,
    roles: Roles = DEFAULT_ROLES,
) -> pd.DataFrame:
    """Every item received in ``[received_from, received_to)`` as a feedback frame."""
    conditions = []
    if received_from is not None:
        conditions.append(Feedback.received_at >= received_from)
    if received_to is not None:
        conditions.append(Feedback.received_at < received_to)
    columns = [
        Feedback.id,
        Feedback.channel,
        Feedback.received_at,
        Feedback.priority_level.label("level"),
        Feedback.respond_by,
        Feedback.answered_at,
        Feedback.status,
        Feedback.survey_kind,
        Feedback.survey_score,
    ]
    if with_text:
        columns.append(Feedback.text)
    # Core rows turned into plain tuples: the ORM's result layer and pandas' probing of Row
    # objects cost 30 s for 100,000 items; this way it is the database's own time.
    connection = session.connection()
    items = pd.DataFrame.from_records(
        [tuple(row) for row in connection.execute(select(*columns).where(*conditions)).all()],
        columns=[c.key for c in columns],
    )
    statement = select(FeedbackLabel.feedback_id, FeedbackLabel.task, FeedbackLabel.label).where(
        FeedbackLabel.task.in_(ROLE_TASKS)
    )
    if conditions:  # a time window: only the labels of its items
        statement = statement.join(Feedback, Feedback.id == FeedbackLabel.feedback_id).where(
            *conditions
        )
    label_rows = connection.execute(statement).all()
    labels = pd.DataFrame.from_records(
        [tuple(row) for row in label_rows], columns=["id", "task", "label"]
    )
    wide = (
        labels.drop_duplicates(["id", "task"]).pivot(index="id", columns="task", values="label")
        if not labels.empty
        else pd.DataFrame(index=pd.Index([], name="id"))
    )
    frame = items.set_index("id").join(wide.reindex(columns=list(ROLE_TASKS))).reset_index()
    if urgency_order is not None:
        frame[URGENCY_TASK] = urgency_index(frame[URGENCY_TASK], urgency_order)
    else:
        frame[URGENCY_TASK] = urgency_index(frame[URGENCY_TASK])
    return normalize_frame(frame, roles)
