"""The one table every insight is computed from, whether it came from the queue or a scored file.

Columns of a *feedback frame* (one row per feedback item):

``id``, ``text``, ``channel`` (str or None), ``received_at`` (UTC, tz-aware; NaT when unknown),
``sentiment``, ``topic`` (effective labels), ``urgency`` (the urgency label's index in the
model's order, 0 = lowest; NaN when unknown), ``level`` (P1..P4), ``respond_by`` (UTC),
``answered_at`` (UTC or NaT), ``status``, ``survey_kind`` (nps/csat/ces or None) and
``survey_score`` (float or NaN).

Which tasks play the roles of sentiment, topic and urgency is fixed by name (the default schema's
``sentiment``, ``topic``, ``urgency``); the negative sentiment label is ``olumsuz``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

SENTIMENT_TASK = "sentiment"
TOPIC_TASK = "topic"
URGENCY_TASK = "urgency"
NEGATIVE = "olumsuz"
URGENCY_ORDER = ("dusuk", "orta", "yuksek")

FRAME_COLUMNS = (
    "id",
    "text",
    "channel",
    "received_at",
    "sentiment",
    "topic",
    "urgency",
    "level",
    "respond_by",
    "answered_at",
    "status",
    "survey_kind",
    "survey_score",
)
TIME_COLUMNS = ("received_at", "respond_by", "answered_at")


def urgency_index(labels: pd.Series, order: Sequence[str] = URGENCY_ORDER) -> pd.Series:
    """Urgency labels as 0, 1, 2… in the model's order (NaN for anything else)."""
    return labels.map({label: float(i) for i, label in enumerate(order)})


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every column present and typed (missing columns become empty)."""
    out = pd.DataFrame(index=frame.index)
    for column in FRAME_COLUMNS:
        out[column] = frame.get(column)
    for column in TIME_COLUMNS:
        out[column] = pd.to_datetime(out[column], utc=True, errors="coerce", format="ISO8601")
    out["urgency"] = pd.to_numeric(out["urgency"], errors="coerce")
    out["survey_score"] = pd.to_numeric(out["survey_score"], errors="coerce")
    out["text"] = out["text"].fillna("").astype(str)
    return out.reset_index(drop=True)
