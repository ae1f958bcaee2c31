"""Enumerations of changes (RFCs)."""

from __future__ import annotations

from enum import StrEnum


class ChangeType(StrEnum):
    """Seed 000: the CAB and the emergency CAB define normal, emergency and standard changes."""

    # Pre-approved, low risk, always created from a ``ChangeTemplate``.
    STANDARD = "standard"
    # Assessed, then approved by the CAB (a quorum of approvers).
    NORMAL = "normal"
    # Expedited: may skip assessment, one approver of the emergency CAB suffices.
    EMERGENCY = "emergency"


class ChangeState(StrEnum):
    """Where a change is in its lifecycle (see ``lifecycle`` for the moves)."""

    NEW = "new"
    ASSESSMENT = "assessment"
    AWAITING_APPROVAL = "awaiting_approval"
    SCHEDULED = "scheduled"
    IMPLEMENTING = "implementing"
    REVIEW = "review"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


# Nothing moves out of these.
FINAL_STATES = frozenset({ChangeState.CLOSED, ChangeState.REJECTED, ChangeState.CANCELLED})
# Fields of the request itself may be edited only here (before anyone judged it).
EDITABLE_STATES = frozenset({ChangeState.NEW, ChangeState.ASSESSMENT})
# Still intends to touch its CIs in its window: overlaps with these are reported.
OPEN_STATES = frozenset(
    {
        ChangeState.NEW,
        ChangeState.ASSESSMENT,
        ChangeState.AWAITING_APPROVAL,
        ChangeState.SCHEDULED,
        ChangeState.IMPLEMENTING,
    }
)
# Approved (or under way): an overlap with one of these blocks scheduling another.
COMMITTED_STATES = frozenset({ChangeState.SCHEDULED, ChangeState.IMPLEMENTING})


class Risk(StrEnum):
    """How likely and how bad a failure would be; ``RISK_ORDER`` ranks them."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


RISK_ORDER = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2}


class ReviewOutcome(StrEnum):
    """The verdict of the post-implementation review (seed 001: 回顾与关闭)."""

    SUCCESSFUL = "successful"
    SUCCESSFUL_WITH_ISSUES = "successful_with_issues"
    # The back-out plan was carried out; the CIs are as they were before.
    BACKED_OUT = "backed_out"
    UNSUCCESSFUL = "unsuccessful"


# A change that went through ``failed`` cannot be reviewed as a success.
FAILURE_OUTCOMES = frozenset({ReviewOutcome.BACKED_OUT, ReviewOutcome.UNSUCCESSFUL})


class Decision(StrEnum):
    """An approver's vote."""

    APPROVE = "approve"
    REJECT = "reject"


class EventKind(StrEnum):
    """What a line of a change's timeline records."""

    CREATED = "created"
    UPDATED = "updated"
    TRANSITION = "transition"
    PRE_APPROVED = "pre_approved"
    VOTE = "vote"
    # Overlapping windows seen on create/update, or overridden by a forced schedule.
    CONFLICT = "conflict"
