"""Stored alerts and their webhook deliveries (an outbox), in the triage-queue database.

``alert.dedup_key`` is unique: the rule, the group and the cooldown period (or the overdue item),
so an alert is stored once even when two checks race. Each alert gets one ``alert_delivery`` row
per webhook configured when it was stored; a delivery stays ``pending`` and is retried with
exponential backoff until the receiver accepts it; it is never dropped.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nabiz.serving.queue.models import ID_MAX_LENGTH, Base, UTCDateTime, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"


class Alert(Base):
    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(512), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    message: Mapped[str] = mapped_column(Text)
    group: Mapped[dict[str, Any]] = mapped_column(JSON)
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON)
    feedback_id: Mapped[str | None] = mapped_column(String(ID_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))

    deliveries: Mapped[list[AlertDelivery]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index(None, "created_at"),
        Index(None, "rule", "created_at"),
    )


class AlertDelivery(Base):
    __tablename__ = "alert_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    alert: Mapped[Alert] = relationship(back_populates="deliveries")

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered')", name="status_valid"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "alert_id"),
    )
