"""Validated input and output shapes of escalation policies and incident escalations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerting.escalation.choices import CancelReason, EscalationLevel, EscalationState
from alerting.escalation.models import IncidentEscalation
from itsm_core.fields import DbId
from itsm_core.incidents.choices import Priority
from itsm_core.incidents.models import format_number

# A week: an escalation later than that is a report, not an escalation.
Minutes = Annotated[int, Field(ge=1, le=10_080)]


class PolicyIn(BaseModel):
    """The steps of one priority; a null step is skipped, set steps must grow in time."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    first_after_minutes: Minutes | None = Field(
        default=None, description="Unaccepted this long: the first responsible is told."
    )
    second_after_minutes: Minutes | None = Field(
        default=None, description="Unaccepted this long: the second responsible is told."
    )
    management_after_minutes: Minutes | None = Field(
        default=None, description="Unaccepted this long: the management group is told."
    )
    first_responsible_id: DbId | None = Field(
        default=None, description="Told (and named on the incident) when it names nobody."
    )
    second_responsible_id: DbId | None = Field(
        default=None, description="Told (and named on the incident) when it names nobody."
    )
    management_group_id: DbId | None = Field(
        default=None, description="Default: the group named by [escalation] management_group."
    )

    @model_validator(mode="after")
    def _steps_grow(self) -> PolicyIn:
        steps = [
            m
            for m in (
                self.first_after_minutes,
                self.second_after_minutes,
                self.management_after_minutes,
            )
            if m is not None
        ]
        if steps != sorted(set(steps)):
            raise ValueError("each step must come later than the one before it")
        return self


class PolicyOut(PolicyIn):
    """A policy in force; ``configured`` is false for a built-in default."""

    model_config = ConfigDict(extra="ignore")

    priority: Priority
    configured: bool
    updated_by: str | None = None
    updated_at: datetime | None = None


class IncidentEscalationOut(BaseModel):
    """One planned, fired or cancelled escalation step of an incident."""

    id: int
    incident_id: int
    incident_number: str
    level: EscalationLevel
    state: EscalationState
    priority: Priority
    after_minutes: int
    cycle_started_at: datetime
    due_at: datetime
    fired_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: CancelReason | None
    target_user_id: int | None
    target_group_id: int | None

    @classmethod
    def of(cls, row: IncidentEscalation) -> IncidentEscalationOut:
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            incident_number=format_number(row.incident_id),
            level=row.level,
            state=row.state,
            priority=row.priority,
            after_minutes=row.after_minutes,
            cycle_started_at=row.cycle_started_at,
            due_at=row.due_at,
            fired_at=row.fired_at,
            cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason,
            target_user_id=row.target_user_id,
            target_group_id=row.target_group_id,
        )
