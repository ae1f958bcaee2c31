"""Input and output shapes of the alert API: alerts, occurrences, windows, the dead-man."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from alerting.canonical import AlertSourceKind, AlertStatus, Severity
from alerting.choices import Binding, OccurrenceRole
from alerting.deadman import DeadmanStatus
from alerting.intake_models import Alert, AlertOccurrence, MaintenanceWindow
from itsm_core.fields import DbId
from itsm_core.incidents.choices import IncidentState
from itsm_core.incidents.models import format_number


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("may not contain NUL characters")
    return value


def _plausible(value: datetime) -> datetime:
    # Far-off years only overflow date arithmetic; no window is planned for them.
    if not 2000 <= value.year <= 2200:
        raise ValueError("must be between the years 2000 and 2200")
    return value.astimezone(UTC)


UtcTime = Annotated[AwareDatetime, AfterValidator(_plausible)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_no_nul)]
Notes = Annotated[str, StringConstraints(max_length=5000), AfterValidator(_no_nul)]
MAX_WINDOW = timedelta(days=366)


class AlertOut(BaseModel):
    """An alert as last seen."""

    id: int
    source: AlertSourceKind
    fingerprint: str
    name: str
    status: AlertStatus
    severity: Severity
    labels: dict[str, Any]
    annotations: dict[str, Any]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    ci_id: int | None
    binding: Binding
    incident_id: int | None
    incident_number: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    occurrence_count: int
    duplicate_count: int
    flapping: bool
    flapping_since: datetime | None
    suppressed_reason: str | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(
            id=alert.id,
            source=alert.source,
            fingerprint=alert.fingerprint,
            name=alert.name,
            status=alert.status,
            severity=alert.severity,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            generator_url=alert.generator_url,
            ci_id=alert.ci_id,
            binding=alert.binding,
            incident_id=alert.incident_id,
            incident_number=format_number(alert.incident_id) if alert.incident_id else None,
            first_seen_at=alert.first_seen_at,
            last_seen_at=alert.last_seen_at,
            occurrence_count=alert.occurrence_count,
            duplicate_count=alert.duplicate_count,
            flapping=alert.flapping,
            flapping_since=alert.flapping_since,
            suppressed_reason=alert.suppressed_reason,
        )


class OccurrenceOut(BaseModel):
    """One firing episode of an alert."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    started_at: datetime
    ended_at: datetime | None
    received_at: datetime
    resolved_received_at: datetime | None
    role: OccurrenceRole
    incident_id: int | None
    suppressed_reason: str | None


class AlertDetailOut(AlertOut):
    """An alert with its occurrences, newest first (at most 100)."""

    occurrences: list[OccurrenceOut]

    @classmethod
    def with_occurrences(cls, alert: Alert, occurrences: list[AlertOccurrence]) -> AlertDetailOut:
        base = AlertOut.of(alert).model_dump()
        return cls(**base, occurrences=[OccurrenceOut.model_validate(o) for o in occurrences])


class AlertQuery(BaseModel):
    """Filters of the alert list (all optional, combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    status: AlertStatus | None = None
    source: AlertSourceKind | None = None
    severity: Severity | None = None
    ci_id: DbId | None = None
    unbound: bool | None = Field(default=None, description="true: only alerts bound to no CI.")
    incident_id: DbId | None = None
    flapping: bool | None = None
    suppressed: bool | None = None
    name: Annotated[str, StringConstraints(max_length=200)] | None = None


class Matcher(BaseModel):
    """An Alertmanager-style label matcher: ``=``, ``!=``, ``=~`` or ``!~`` (full match)."""

    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(_no_nul)]
    op: Literal["=", "!=", "=~", "!~"] = "="
    value: Annotated[str, StringConstraints(max_length=1024), AfterValidator(_no_nul)]

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return self


CiIds = Annotated[list[DbId], Field(max_length=500)]
Matchers = Annotated[list[Matcher], Field(max_length=20)]


def _check_window(
    starts_at: datetime, ends_at: datetime, ci_ids: list[int], matchers: list[Any]
) -> None:
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if ends_at - starts_at > MAX_WINDOW:
        raise ValueError("a window lasts at most 366 days")
    if not ci_ids and not matchers:
        raise ValueError("name ci_ids, matchers or both: a window must say what it covers")


class MaintenanceWindowIn(BaseModel):
    """A new maintenance window: ``[starts_at, ends_at)`` over CIs and/or label matchers."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    starts_at: UtcTime
    ends_at: UtcTime
    ci_ids: CiIds = Field(default_factory=list)
    matchers: Matchers = Field(default_factory=list)
    notes: Notes = ""

    @model_validator(mode="after")
    def _coherent(self) -> MaintenanceWindowIn:
        _check_window(self.starts_at, self.ends_at, self.ci_ids, self.matchers)
        return self


class MaintenanceWindowPatch(BaseModel):
    """Changes to a window; only the fields sent change (the result is checked whole)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None
    starts_at: UtcTime | None = None
    ends_at: UtcTime | None = None
    ci_ids: CiIds | None = None
    matchers: Matchers | None = None
    notes: Notes | None = None


class MaintenanceWindowOut(BaseModel):
    id: int
    reason: str
    starts_at: datetime
    ends_at: datetime
    ci_ids: list[int]
    matchers: list[Matcher]
    notes: str
    active: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, window: MaintenanceWindow, now: datetime) -> MaintenanceWindowOut:
        return cls(
            id=window.id,
            reason=window.reason,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            ci_ids=list(window.ci_ids or []),
            matchers=[Matcher.model_validate(m) for m in window.matchers or []],
            notes=window.notes,
            active=window.starts_at <= now < window.ends_at,
            created_by=window.created_by,
            created_at=window.created_at,
            updated_at=window.updated_at,
        )


class DeadmanOut(BaseModel):
    """The dead-man switch: ``state`` is disabled, never_seen, ok or silent."""

    name: str
    enabled: bool
    interval_minutes: int
    state: Literal["disabled", "never_seen", "ok", "silent"]
    last_heartbeat_at: datetime | None
    heartbeat_count: int
    silent_for_seconds: int | None
    incident_id: int | None
    incident_number: str | None
    incident_state: IncidentState | None

    @classmethod
    def of(cls, status: DeadmanStatus) -> DeadmanOut:
        return cls.model_validate(status, from_attributes=True)


class IngestOut(BaseModel):
    """What a delivery did. ``duplicate_delivery``: the same content was received before."""

    model_config = ConfigDict(from_attributes=True)

    received: int
    duplicate_delivery: bool
    heartbeats: int
    new: int
    repeats: int
    refired: int
    resolved: int
    stale: int
    suppressed: int
    damped: int
    incidents_opened: list[int]
    incidents_joined: list[int]
    incidents_reopened: list[int]
    incidents_resolved: list[int]
    incidents_adopted: list[int]
