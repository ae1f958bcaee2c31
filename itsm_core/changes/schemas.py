"""Validated input and output shapes for changes, approvals and templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from itsm_core.changes.choices import (
    ChangeState,
    ChangeType,
    Decision,
    EventKind,
    ReviewOutcome,
    Risk,
)
from itsm_core.changes.conflicts import WindowConflict
from itsm_core.changes.models import Approval, Change, ChangeEvent
from itsm_core.changes.quorum import GroupTally, QuorumStatus, Requirement
from itsm_core.fields import DbId


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail at the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _plausible(value: datetime) -> datetime:
    # Far-off years only overflow date arithmetic; no change is planned for them.
    if not 2000 <= value.year <= 2200:
        raise ValueError("must be between the years 2000 and 2200")
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_plausible)]
Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]
LongText = Annotated[str, Field(max_length=20_000), AfterValidator(_no_nul)]
Reason = Annotated[str, Field(max_length=2_000), AfterValidator(_no_nul)]
Category = Annotated[str, Field(max_length=64), AfterValidator(_no_nul)]
Label = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_nul)]
IdList = Annotated[list[DbId], Field(max_length=200)]


class ChangeCreate(BaseModel):
    """An RFC (normal or emergency; standard changes come from a template)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    change_type: ChangeType = ChangeType.NORMAL
    description: LongText = ""
    risk: Risk | None = Field(
        default=None, description="Omit to take the floor set by the CIs' criticality."
    )
    category: Category = ""
    planned_start: UtcDatetime | None = None
    planned_end: UtcDatetime | None = None
    implementation_plan: LongText = ""
    backout_plan: LongText = ""
    ci_ids: IdList = Field(default_factory=list)
    incident_ids: IdList = Field(default_factory=list)
    problem_ids: IdList = Field(default_factory=list)
    implementer_id: DbId | None = None


class ChangeUpdate(BaseModel):
    """Fields to edit; omitted fields stay as they are (null only where it means "none")."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    change_type: ChangeType | None = None
    description: LongText | None = None
    risk: Risk | None = None
    category: Category | None = None
    planned_start: UtcDatetime | None = None
    planned_end: UtcDatetime | None = None
    implementation_plan: LongText | None = None
    backout_plan: LongText | None = None
    ci_ids: IdList | None = None
    incident_ids: IdList | None = None
    problem_ids: IdList | None = None
    implementer_id: DbId | None = None

    @field_validator(
        "title",
        "change_type",
        "description",
        "risk",
        "category",
        "implementation_plan",
        "backout_plan",
        "ci_ids",
        "incident_ids",
        "problem_ids",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class RequirementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: DbId
    required: int = Field(ge=1, le=50)


class TransitionIn(BaseModel):
    """A move to another state, with what that move needs."""

    model_config = ConfigDict(extra="forbid")

    to: ChangeState
    reason: Reason | None = None
    force: bool = Field(
        default=False, description="Schedule past conflicting changes (change:manage, reason)."
    )
    review_outcome: ReviewOutcome | None = None
    review_notes: LongText | None = None
    approver_groups: list[RequirementIn] | None = Field(
        default=None,
        max_length=10,
        description="When submitting for approval: replaces the default policy.",
    )

    def requirements(self) -> list[Requirement] | None:
        if self.approver_groups is None:
            return None
        return [Requirement(r.group_id, r.required) for r in self.approver_groups]


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    comment: Reason = Field(default="", description="Required when rejecting.")


class ChangeOut(BaseModel):
    id: int
    number: str
    title: str
    description: str
    change_type: ChangeType
    state: ChangeState
    risk: Risk
    category: str
    requested_by: str
    requester_id: int | None
    implementer_id: int | None
    template_id: int | None
    planned_start: datetime | None
    planned_end: datetime | None
    implementation_plan: str
    backout_plan: str
    ci_ids: list[int]
    incident_ids: list[int]
    problem_ids: list[int]
    state_reason: str | None
    review_outcome: ReviewOutcome | None
    review_notes: str | None
    created_at: datetime
    updated_at: datetime
    approved_at: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None
    failed_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, change: Change) -> ChangeOut:
        names = cls.model_fields.keys()
        return cls(**{name: getattr(change, name) for name in names})


class ConflictOut(BaseModel):
    change_id: int
    number: str
    title: str
    state: ChangeState
    change_type: ChangeType
    planned_start: datetime
    planned_end: datetime
    shared_ci_ids: list[int]
    blocking: bool = Field(description="The other change is scheduled or implementing.")

    @classmethod
    def of(cls, conflict: WindowConflict) -> ConflictOut:
        other = conflict.change
        assert other.planned_start is not None
        assert other.planned_end is not None
        return cls(
            change_id=other.id,
            number=other.number,
            title=other.title,
            state=other.state,
            change_type=other.change_type,
            planned_start=other.planned_start,
            planned_end=other.planned_end,
            shared_ci_ids=list(conflict.ci_ids),
            blocking=conflict.blocking,
        )


class ChangeDetail(ChangeOut):
    """One change with what overlaps it and where it may go next."""

    conflicts: list[ConflictOut]
    allowed_targets: list[ChangeState]

    @classmethod
    def build(
        cls, change: Change, conflicts: list[WindowConflict], targets: list[ChangeState]
    ) -> ChangeDetail:
        base = ChangeOut.of(change).model_dump()
        return cls(
            **base, conflicts=[ConflictOut.of(c) for c in conflicts], allowed_targets=targets
        )


class ApprovalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    approver_id: int
    approver_name: str
    decision: Decision
    comment: str
    group_ids: list[int]
    at: datetime


class RequirementOut(BaseModel):
    group_id: int
    group_name: str
    required: int
    approved: int
    met: bool

    @classmethod
    def of(cls, tally: GroupTally) -> RequirementOut:
        return cls(
            group_id=tally.requirement.group_id,
            group_name=tally.group_name,
            required=tally.requirement.required,
            approved=tally.approved,
            met=tally.met,
        )


class ApprovalStatusOut(BaseModel):
    change_id: int
    state: ChangeState
    quorum_met: bool
    requirements: list[RequirementOut]
    votes: list[ApprovalOut]

    @classmethod
    def of(cls, change: Change, status: QuorumStatus) -> ApprovalStatusOut:
        return cls(
            change_id=change.id,
            state=change.state,
            quorum_met=status.met,
            requirements=[RequirementOut.of(t) for t in status.tallies],
            votes=[ApprovalOut.model_validate(v) for v in status.votes],
        )


class VoteOut(BaseModel):
    """The vote, the change after it, and what blocks scheduling if the quorum is met."""

    vote: ApprovalOut
    change: ChangeOut
    quorum_met: bool
    requirements: list[RequirementOut]
    blocked_by: list[ConflictOut]

    @classmethod
    def build(
        cls,
        vote: Approval,
        change: Change,
        status: QuorumStatus,
        blocked_by: list[WindowConflict],
    ) -> VoteOut:
        return cls(
            vote=ApprovalOut.model_validate(vote),
            change=ChangeOut.of(change),
            quorum_met=status.met,
            requirements=[RequirementOut.of(t) for t in status.tallies],
            blocked_by=[ConflictOut.of(c) for c in blocked_by],
        )


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    kind: EventKind
    message: str
    from_state: ChangeState | None
    to_state: ChangeState | None
    data: dict[str, Any]

    @classmethod
    def of(cls, event: ChangeEvent) -> EventOut:
        return cls.model_validate(event)


class CalendarOut(BaseModel):
    start: datetime
    end: datetime
    truncated: bool = Field(description="More changes matched than the answer holds.")
    items: list[ChangeOut]
