"""Validated input and output shapes for incidents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from itsm_core.cmdb.choices import Criticality
from itsm_core.cmdb.impact import ImpactSummary, Reached
from itsm_core.fields import DbId
from itsm_core.incidents.choices import (
    IncidentKind,
    IncidentSource,
    IncidentState,
    Level,
    PendingReason,
    Priority,
    ResolutionCode,
    TimelineKind,
)
from itsm_core.incidents.lifecycle import allowed_targets
from itsm_core.incidents.models import Incident, TimelineEntry

Title = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=20_000)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Short = Annotated[str, Field(max_length=200)]
CiIds = Annotated[list[DbId], Field(max_length=500)]


class _Input(BaseModel):
    """Base of request bodies: unknown fields refused, no NUL characters in text.

    PostgreSQL cannot store NUL in text columns; refusing it here keeps it a 422.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("may not contain NUL characters")
        return value


class _References(_Input):
    """Fields that name other records; unknown ids are answered with 404."""

    first_responsible_id: DbId | None = None
    second_responsible_id: DbId | None = None
    primary_ci_id: DbId | None = None
    affected_ci_ids: CiIds | None = None


class IncidentCreate(_References):
    """A new incident. Priority comes from impact x urgency unless ``priority`` overrides
    it, which then needs a ``priority_reason``."""

    title: Title
    description: LongText = ""
    kind: IncidentKind = IncidentKind.INCIDENT
    source: IncidentSource = IncidentSource.API
    impact: Level = Field(default=Level.MEDIUM, description="Defaults to medium.")
    urgency: Level = Field(default=Level.MEDIUM, description="Defaults to medium.")
    priority: Priority | None = None
    priority_reason: Reason | None = Field(default=None, validate_default=True)
    requester_name: Short = ""
    requester_contact: Short = ""
    requester_department: Short = ""
    assignment_group_id: DbId | None = None
    assignee_id: DbId | None = None

    @field_validator("priority_reason")
    @classmethod
    def _override_has_reason(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if "priority" not in info.data:  # priority itself was invalid; that error says it
            return reason
        return _check_override(info.data["priority"], reason)


# PATCH fields that may be omitted but never set to null.
_NOT_NULL = (
    "title",
    "description",
    "kind",
    "impact",
    "urgency",
    "major",
    "requester_name",
    "requester_contact",
    "requester_department",
    "affected_ci_ids",
)


class IncidentPatch(_References):
    """Changes to an open or resolved incident; only the fields sent are changed.

    ``priority: null`` drops a manual override and lets the matrix decide again; changing
    impact or urgency recomputes the priority (and drops an override) unless the same
    request sets ``priority``.
    """

    title: Title | None = None
    description: LongText | None = None
    kind: IncidentKind | None = None
    impact: Level | None = None
    urgency: Level | None = None
    priority: Priority | None = None
    priority_reason: Reason | None = Field(default=None, validate_default=True)
    major: bool | None = None
    requester_name: Short | None = None
    requester_contact: Short | None = None
    requester_department: Short | None = None

    @field_validator(*_NOT_NULL)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    @field_validator("priority_reason")
    @classmethod
    def _override_has_reason(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if "priority" not in info.data:  # priority itself was invalid; that error says it
            return reason
        return _check_override(info.data["priority"], reason)


def _check_override(priority: Priority | None, reason: str | None) -> str | None:
    # Runs on priority_reason (declared after priority), so the error is keyed by it.
    if priority is not None and not (reason and reason.strip()):
        raise ValueError("required when priority is set by hand")
    if priority is None and reason is not None:
        raise ValueError("only goes with priority")
    return reason


class TransitionRequest(_Input):
    """A lifecycle move; which details are needed depends on ``to``."""

    to: IncidentState
    reason: Reason | None = None
    resolution_code: ResolutionCode | None = None
    resolution_notes: LongText | None = None
    pending_category: PendingReason | None = Field(
        default=None,
        description="For `pending`: `requester` pauses the SLA clock; defaults to `other`.",
    )


class AssignRequest(_Input):
    """Give the incident to a group, a person, or both (the person must be in the group)."""

    group_id: DbId | None = None
    assignee_id: DbId | None = Field(default=None, validate_default=True)

    @field_validator("assignee_id")
    @classmethod
    def _something(cls, assignee_id: int | None, info: ValidationInfo) -> int | None:
        if assignee_id is None and info.data.get("group_id") is None:
            raise ValueError("give group_id, assignee_id or both")
        return assignee_id


class NoteCreate(_Input):
    body: Annotated[str, Field(min_length=1, max_length=20_000)]

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("may not be blank")
        return value


class ChildLink(_Input):
    child_id: DbId


class MergeRequest(_Input):
    into_id: DbId


class IncidentQuery(_Input):
    """List filters; every one given must match."""

    state: list[IncidentState] = Field(default_factory=list, max_length=10)
    priority: list[Priority] = Field(default_factory=list, max_length=10)
    kind: IncidentKind | None = None
    source: IncidentSource | None = None
    assignment_group_id: DbId | None = None
    assignee_id: DbId | None = None
    ci_id: DbId | None = Field(default=None, description="Primary or affected CI.")
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    q: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Words in the title, or an incident number (INC000123)."
    )

    @field_validator("created_after", "created_before")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # Stored times are UTC; year 1 at +14:00 has no UTC equivalent.
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError("out of range once converted to UTC") from exc


class IncidentOut(BaseModel):
    id: int
    number: str
    title: str
    description: str
    kind: IncidentKind
    source: IncidentSource
    state: IncidentState
    allowed_transitions: list[IncidentState]
    impact: Level
    urgency: Level
    priority: Priority
    priority_override_reason: str | None
    requester_name: str
    requester_contact: str
    requester_department: str
    assignment_group_id: int | None
    assignee_id: int | None
    first_responsible_id: int | None
    second_responsible_id: int | None
    primary_ci_id: int | None
    affected_ci_ids: list[int]
    major: bool
    parent_id: int | None
    child_ids: list[int]
    merged_into_id: int | None
    pending_reason: str | None
    pending_category: PendingReason | None
    pending_on_requester: bool
    resolution_code: ResolutionCode | None
    resolution_notes: str | None
    cancel_reason: str | None
    reopen_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    assigned_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        fields = {
            name: getattr(incident, name)
            for name in cls.model_fields
            if name not in ("allowed_transitions", "child_ids")
        }
        return cls(
            **fields,
            allowed_transitions=allowed_targets(incident.state),
            child_ids=[c.id for c in incident.children],
        )


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    kind: TimelineKind
    body: str
    from_state: IncidentState | None
    to_state: IncidentState | None
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryOut:
        return cls.model_validate(entry)


class ImpactedCIOut(BaseModel):
    """A CI the incident's CIs take down (or degrade), and how the failure got there."""

    id: int
    name: str
    ci_class: str
    criticality: Criticality
    depth: int
    degraded: bool
    path: list[str]

    @classmethod
    def of(cls, node: Reached) -> ImpactedCIOut:
        return cls(
            id=node.ci_id,
            name=node.name,
            ci_class=node.ci_class,
            criticality=node.criticality,
            depth=node.depth,
            degraded=node.degraded,
            path=[step.name for step in node.path],
        )


class IncidentImpactOut(BaseModel):
    """The CMDB impact of an incident's primary and affected CIs failing together."""

    incident_id: int
    number: str
    ci_ids: list[int]
    depth: int
    highest_criticality: Criticality | None
    clinical_critical: bool
    business_services: list[ImpactedCIOut]
    degraded_business_services: list[ImpactedCIOut]
    impacted: list[ImpactedCIOut]
    degraded: list[ImpactedCIOut]
    site_ids: list[int]

    @classmethod
    def of(cls, incident: Incident, summary: ImpactSummary) -> IncidentImpactOut:
        def nodes(items: list[Reached]) -> list[ImpactedCIOut]:
            return [ImpactedCIOut.of(n) for n in items]

        return cls(
            incident_id=incident.id,
            number=incident.number,
            ci_ids=summary.ci_ids,
            depth=summary.depth,
            highest_criticality=summary.highest_criticality,
            clinical_critical=summary.clinical_critical,
            business_services=nodes(summary.business_services),
            degraded_business_services=nodes(summary.degraded_business_services),
            impacted=nodes(summary.impacted),
            degraded=nodes(summary.degraded),
            site_ids=summary.site_ids,
        )
