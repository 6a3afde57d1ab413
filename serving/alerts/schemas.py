"""Request and response models of the alerts API (``GET /v1/alerts``, ``POST …/ack``)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nabiz.serving.alerts.models import Alert
from nabiz.serving.inputs import storable


class DeliveryPublic(BaseModel):
    url: str
    status: str = Field(description="pending (retried with backoff) or delivered.")
    attempts: int
    next_attempt_at: datetime | None = Field(description="Null once delivered.")
    last_error: str | None
    delivered_at: datetime | None


class AlertPublic(BaseModel):
    """One alert. ``message`` is the Turkish sentence people read; ``numbers`` what triggered it."""

    id: int
    rule: str = Field(description="The rule's id in the rules file.")
    kind: str = Field(description="volume_spike, share_spike or overdue.")
    title: str = Field(description="The rule's Turkish headline.")
    message: str = Field(description="What happened, with the numbers, in Turkish.")
    group: dict[str, Any] = Field(description="The topic/channel (etc.) the alert is about.")
    numbers: dict[str, Any] = Field(
        description="Observed count or share, the baseline's mean and σ, the threshold, windows."
    )
    feedback_id: str | None = Field(description="The overdue item, or the item that triggered it.")
    created_at: datetime
    acknowledged: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    deliveries: list[DeliveryPublic]

    @classmethod
    def from_row(cls, row: Alert, *, zone: tzinfo) -> AlertPublic:
        """The alert as the API answers it; its times in ``zone`` (the priority policy's, as the
        queue's and ``/v1/predict``'s), the same instants as stored (in UTC)."""

        def local(moment: datetime | None) -> datetime | None:
            return None if moment is None else moment.astimezone(zone)

        return cls(
            id=row.id,
            rule=row.rule,
            kind=row.kind,
            title=row.title,
            message=row.message,
            group=row.group,
            numbers=row.numbers,
            feedback_id=row.feedback_id,
            created_at=local(row.created_at),
            acknowledged=row.acknowledged_at is not None,
            acknowledged_at=local(row.acknowledged_at),
            acknowledged_by=row.acknowledged_by,
            deliveries=[
                DeliveryPublic(
                    url=d.url,
                    status=d.status,
                    attempts=d.attempts,
                    next_attempt_at=None if d.delivered_at else local(d.next_attempt_at),
                    last_error=d.last_error,
                    delivered_at=local(d.delivered_at),
                )
                for d in sorted(row.deliveries, key=lambda d: d.id)
            ],
        )


class AlertPage(BaseModel):
    """Newest first; ``count`` is how many match."""

    count: int
    items: list[AlertPublic]
    limit: int
    offset: int


class AlertAck(BaseModel):
    """Who acknowledged the alert (optional)."""

    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(
        default=None,
        max_length=128,
        description="The person's name or id; ignored when the server asks for API keys (the "
        "key's name is recorded instead).",
    )

    @field_validator("by")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return storable(value)


class AlertsAck(AlertAck):
    """Every unacknowledged alert up to the newest a person has seen (an import of old feedback
    can raise dozens of overdue alerts at once), optionally of one rule."""

    up_to_id: int = Field(
        ge=1,
        le=2**31 - 1,
        description="The newest alert id the person saw: alerts raised after it stay "
        "unacknowledged, nobody has read them yet.",
    )
    rule: str | None = Field(default=None, max_length=64, description="Only this rule's alerts.")

    @field_validator("rule")
    @classmethod
    def _storable_rule(cls, value: str | None) -> str | None:
        return storable(value)  # a NUL would reach PostgreSQL's WHERE as an error, not a 422


class AlertsAcked(BaseModel):
    acknowledged: int = Field(description="How many alerts this acknowledged.")
