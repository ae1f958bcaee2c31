"""Per-target poll health kept in the database, so a restart neither forgets nor re-raises.

One row per target key: consecutive failures, the last failure's reason and detail
(the ``CollectorError`` text, which never carries a credential), when the target was
last tried and last answered, and whether a health alert is currently raised for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from itsm_core.db import Base


class TargetState(Base):
    """The health of one polled target (``collector_target_state``)."""

    __tablename__ = "collector_target_state"

    target_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_reason: Mapped[str | None] = mapped_column(String(40))
    last_detail: Mapped[str | None] = mapped_column(String(500))
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    # First failure of the current run of failures (None while the target answers).
    failing_since: Mapped[datetime | None] = mapped_column()
    # Set while a health alert is firing; ``alert_reason`` picks its fingerprint (the
    # alert's start is ``failing_since``).
    alert_raised: Mapped[bool] = mapped_column(default=False)
    alert_reason: Mapped[str | None] = mapped_column(String(40))
    ci_id: Mapped[int | None] = mapped_column(ForeignKey("cis.id", ondelete="SET NULL"))
