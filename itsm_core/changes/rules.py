"""The rules of change moves: each looks at a ``Move`` and says why it is refused, or None.

``lifecycle`` attaches them to the edges of the state machine; its docstring says which
rule guards which move and why. A ``FieldRule`` names the input field its refusal is
about, so the API's error body points at it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy.orm import Session

from itsm_core.actor import Actor
from itsm_core.changes import conflicts, quorum
from itsm_core.changes.choices import FAILURE_OUTCOMES, ChangeState, ChangeType, ReviewOutcome
from itsm_core.changes.models import Change


@dataclass
class Move:
    """What the rules of a move look at; costly facts are computed only when a rule asks."""

    session: Session
    actor: Actor
    change: Change
    target: ChangeState
    now: datetime
    reason: str | None = None
    force: bool = False
    review_outcome: ReviewOutcome | None = None

    @cached_property
    def quorum(self) -> quorum.QuorumStatus:
        return quorum.status(self.session, self.change)

    @cached_property
    def committed_overlaps(self) -> list[conflicts.WindowConflict]:
        return conflicts.conflicts_of(self.session, self.change, committed_only=True)


@dataclass(frozen=True)
class FieldRule:
    """A rule whose refusal is about one input field (named in the error body)."""

    field: str
    why: Callable[[Move], str | None]

    def __call__(self, move: Move) -> str | None:
        return self.why(move)


def filled(value: str | None) -> bool:
    return bool(value and value.strip())


def _not_standard(m: Move) -> str | None:
    if m.change.change_type is ChangeType.STANDARD:
        return "standard changes are pre-approved by their template and skip assessment"
    return None


def _emergency_only(m: Move) -> str | None:
    if m.change.change_type is not ChangeType.EMERGENCY:
        return "only emergency changes may skip assessment"
    return None


def _ready(m: Move) -> str | None:
    c = m.change
    missing = [
        label
        for label, ok in (
            ("a planned window", c.has_window),
            ("an implementation plan", filled(c.implementation_plan)),
            ("a back-out plan", filled(c.backout_plan)),
            ("at least one CI", bool(c.ci_links)),
        )
        if not ok
    ]
    return f"approval needs {', '.join(missing)}" if missing else None


def _from_template(m: Move) -> str | None:
    if m.change.change_type is not ChangeType.STANDARD or m.change.template_id is None:
        return "only standard changes made from a template are pre-approved"
    return None


def _quorum_met(m: Move) -> str | None:
    if not m.quorum.met:
        return f"the approval quorum is not reached ({m.quorum.describe() or 'no requirements'})"
    return None


def _no_blocking_conflict(m: Move) -> str | None:
    if m.change.change_type is ChangeType.EMERGENCY or m.force or not m.committed_overlaps:
        return None
    found = "; ".join(c.describe() for c in m.committed_overlaps)
    return f"the window overlaps {found}; a change manager may force it with a reason"


def _rejection_voted(m: Move) -> str | None:
    if m.quorum.rejection is None:
        return "a change awaiting approval is rejected by an approver's vote (approvals)"
    return None


def _not_requester(m: Move) -> str | None:
    if m.actor.user_id is not None and m.actor.user_id == m.change.requester_id:
        return "the requester cancels their own change rather than declining it"
    return None


def _within_window(m: Move) -> str | None:
    c = m.change
    if c.change_type is ChangeType.EMERGENCY or c.planned_start is None or c.planned_end is None:
        return None
    if m.now < c.planned_start:
        return f"the approved window opens at {c.planned_start.isoformat()}"
    if m.now >= c.planned_end:
        return (
            f"the approved window closed at {c.planned_end.isoformat()}; cancel it and raise "
            "a new change"
        )
    return None


def _outcome(m: Move) -> str | None:
    if m.review_outcome is None:
        return "a review outcome is needed"
    if m.change.failed_at is not None and m.review_outcome not in FAILURE_OUTCOMES:
        return "a failed change is reviewed as backed_out or unsuccessful"
    return None


def _reason(m: Move) -> str | None:
    return None if filled(m.reason) else "a reason is needed"


NOT_STANDARD = FieldRule("change_type", _not_standard)
EMERGENCY_ONLY = FieldRule("change_type", _emergency_only)
READY = FieldRule("state", _ready)
FROM_TEMPLATE = FieldRule("template_id", _from_template)
QUORUM_MET = FieldRule("approvals", _quorum_met)
NO_BLOCKING_CONFLICT = FieldRule("conflicts", _no_blocking_conflict)
REJECTION_VOTED = FieldRule("approvals", _rejection_voted)
NOT_REQUESTER = FieldRule("requester_id", _not_requester)
WITHIN_WINDOW = FieldRule("planned_start", _within_window)
OUTCOME = FieldRule("review_outcome", _outcome)
REASON = FieldRule("reason", _reason)
