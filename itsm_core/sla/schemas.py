"""Validated input and output shapes of the SLA layer.

Calendar inputs reuse the pure definition models (``WeekSchedule``, ``DayOverride``,
``OfficialNotice``), so an overlapping interval or a bad time zone is refused while the
request is parsed, with the error keyed by its field (``week.mon``, ``timezone``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from itsm_core.fields import DbId
from itsm_core.incidents.choices import Priority
from itsm_core.sla.calendar import DayClassification
from itsm_core.sla.choices import DayKind, DaySource, SlaEventKind, SlaMetric, SlaState
from itsm_core.sla.definition import (
    CalendarDefinition,
    DayOverride,
    OfficialNotice,
    WeekSchedule,
    WorkingInterval,
    check_timezone,
    printable,
)
from itsm_core.sla.models import SlaCalendar, SlaEvent, SlaPolicy
from itsm_core.sla.views import IncidentSlaView, RecordView

Name = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$"),
    AfterValidator(printable),
]
Description = Annotated[str, Field(max_length=500), AfterValidator(printable)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_timezone)]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday.")]
Overrides = Annotated[tuple[DayOverride, ...], Field(max_length=3000)]
Notices = Annotated[tuple[OfficialNotice, ...], Field(max_length=200)]
# A year of business minutes at most; a target beyond that is a typo.
Minutes = Annotated[int, Field(ge=1, le=525_600)]
CiClassName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

# PATCH fields that may be omitted but never set to null.
_CALENDAR_NOT_NULL = (
    "name",
    "description",
    "timezone",
    "week",
    "use_prc_holidays",
    "makeup_weekday",
    "overrides",
    "official_notices",
)
_POLICY_NOT_NULL = (
    "name",
    "description",
    "priority",
    "calendar_id",
    "time_to_own_minutes",
    "time_to_resolve_minutes",
    "active",
)


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may not be null")
    return value


class CalendarCreate(BaseModel):
    """A new business calendar; ``timezone`` defaults to ``[sla] default_timezone``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    timezone: TimeZone | None = None
    week: WeekSchedule
    use_prc_holidays: bool = Field(
        default=False, description="Follow the PRC statutory holidays and make-up days (调休)."
    )
    makeup_weekday: Weekday = Field(
        default=0, description="Whose hours a make-up working day has (0 = Monday)."
    )
    overrides: Overrides = ()
    official_notices: Notices = ()


class CalendarPatch(BaseModel):
    """Changes to a calendar; only the fields sent change (lists are replaced whole)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    timezone: TimeZone | None = None
    week: WeekSchedule | None = None
    use_prc_holidays: bool | None = None
    makeup_weekday: Weekday | None = None
    overrides: Overrides | None = None
    official_notices: Notices | None = None

    @field_validator(*_CALENDAR_NOT_NULL)
    @classmethod
    def _no_nulls(cls, value: Any) -> Any:
        return _not_null(value)


class CalendarOut(BaseModel):
    id: int
    name: str
    description: str
    version: int
    timezone: str
    week: WeekSchedule
    use_prc_holidays: bool
    makeup_weekday: int
    overrides: tuple[DayOverride, ...]
    official_notices: tuple[OfficialNotice, ...]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, calendar: SlaCalendar) -> CalendarOut:
        definition: CalendarDefinition = calendar.parsed()
        return cls(
            id=calendar.id,
            name=calendar.name,
            description=calendar.description,
            version=calendar.version,
            timezone=definition.timezone,
            week=definition.week,
            use_prc_holidays=definition.use_prc_holidays,
            makeup_weekday=definition.makeup_weekday,
            overrides=definition.overrides,
            official_notices=definition.official_notices,
            created_at=calendar.created_at,
            updated_at=calendar.updated_at,
        )


class DayOut(BaseModel):
    """How a calendar treats one local date, and which source decided it."""

    date: date
    weekday: int
    working: bool
    kind: DayKind
    intervals: list[WorkingInterval]
    source: DaySource
    provisional: bool
    name: str | None

    @classmethod
    def of(cls, day: DayClassification) -> DayOut:
        return cls(
            date=day.day,
            weekday=day.day.weekday(),
            working=day.is_working_day,
            kind=day.kind,
            intervals=list(day.intervals),
            source=day.source,
            provisional=day.provisional,
            name=day.name,
        )


class PolicyCreate(BaseModel):
    """A new SLA policy: targets in business minutes of ``calendar_id``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    priority: Priority
    ci_class: CiClassName | None = Field(
        default=None, description="Match only incidents whose primary CI is of this class."
    )
    service_ci_id: DbId | None = Field(
        default=None,
        description="Match only incidents naming this business service (primary or affected).",
    )
    calendar_id: DbId
    time_to_own_minutes: Minutes
    time_to_resolve_minutes: Minutes
    active: bool = True


class PolicyPatch(BaseModel):
    """Changes to a policy; ``ci_class`` / ``service_ci_id`` set to null widen it again."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    priority: Priority | None = None
    ci_class: CiClassName | None = None
    service_ci_id: DbId | None = None
    calendar_id: DbId | None = None
    time_to_own_minutes: Minutes | None = None
    time_to_resolve_minutes: Minutes | None = None
    active: bool | None = None

    @field_validator(*_POLICY_NOT_NULL)
    @classmethod
    def _no_nulls(cls, value: Any) -> Any:
        return _not_null(value)


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    priority: Priority
    ci_class: str | None
    service_ci_id: int | None
    calendar_id: int
    time_to_own_minutes: int
    time_to_resolve_minutes: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, policy: SlaPolicy) -> PolicyOut:
        return cls.model_validate(policy)


class RecordOut(BaseModel):
    """One SLA clock of an incident, as the NOC board shows it."""

    metric: SlaMetric
    state: SlaState
    policy_id: int
    calendar_id: int
    calendar_version: int
    target_minutes: int
    started_at: datetime
    due_at: datetime | None = Field(description="UTC; null while a pause stops the clock.")
    due_at_local: datetime | None = Field(description="The due time in the calendar's zone.")
    warning_at: datetime | None
    provisional: bool = Field(
        description="The due time rests on predicted holidays (no published notice yet)."
    )
    elapsed_seconds: float = Field(description="Business time used so far (or until stopped).")
    remaining_seconds: float = Field(description="Business time left; negative when overdue.")
    warned_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None
    stopped_at: datetime | None

    @classmethod
    def of(cls, view: RecordView) -> RecordOut:
        record = view.record
        return cls(
            metric=record.metric,
            state=record.state,
            policy_id=record.policy_id,
            calendar_id=record.calendar_id,
            calendar_version=record.calendar_version,
            target_minutes=record.target_minutes,
            started_at=record.started_at,
            due_at=record.due_at,
            due_at_local=view.due_local,
            warning_at=record.warning_at,
            provisional=record.provisional,
            elapsed_seconds=view.elapsed.total_seconds(),
            remaining_seconds=view.remaining.total_seconds(),
            warned_at=record.warned_at,
            breached_at=record.breached_at,
            met_at=record.met_at,
            stopped_at=record.stopped_at,
        )


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    metric: SlaMetric
    kind: SlaEventKind
    at: datetime
    recorded_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: SlaEvent) -> EventOut:
        return cls.model_validate(event)


class IncidentSlaOut(BaseModel):
    incident_id: int
    policy_id: int | None
    policy_name: str | None
    timezone: str | None
    records: list[RecordOut]
    events: list[EventOut]

    @classmethod
    def of(cls, view: IncidentSlaView) -> IncidentSlaOut:
        return cls(
            incident_id=view.incident_id,
            policy_id=view.policy.id if view.policy else None,
            policy_name=view.policy.name if view.policy else None,
            timezone=view.timezone,
            records=[RecordOut.of(record) for record in view.records],
            events=[EventOut.of(event) for event in view.events],
        )


class EvaluationOut(BaseModel):
    """What one run of the background job did."""

    warnings: int
    breaches: int
    resynced: int
