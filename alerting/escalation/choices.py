"""Enumerations of escalation."""

from __future__ import annotations

from enum import StrEnum


class EscalationLevel(StrEnum):
    """The three steps of the customer's escalation ladder, in order."""

    FIRST_RESPONSIBLE = "first_responsible"
    SECOND_RESPONSIBLE = "second_responsible"
    MANAGEMENT = "management"


LEVELS: tuple[EscalationLevel, ...] = tuple(EscalationLevel)


class EscalationState(StrEnum):
    """Where a planned escalation step is: waiting, done, or called off."""

    ARMED = "armed"
    FIRED = "fired"
    CANCELLED = "cancelled"


class CancelReason(StrEnum):
    """Why an armed step will never fire."""

    ACCEPTED = "accepted"  # someone took the incident (in_progress / pending)
    CLOSED = "closed"  # resolved, closed or cancelled
    CHILD = "child"  # became the child of a major incident, which escalates instead
    POLICY = "policy"  # the policy of its priority no longer has this step
    SUPERSEDED = "superseded"  # a newer unaccepted stretch started its own ladder
