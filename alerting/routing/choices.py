"""Enumerations of routing rules."""

from __future__ import annotations

from enum import StrEnum


class MatchOp(StrEnum):
    """How a label matcher compares, exactly as Alertmanager's ``matchers`` do.

    Regular expressions are anchored at both ends (``=~ "db.*"`` does not match
    ``mydb``), and a label the alert does not carry compares as the empty string.
    """

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"

    @property
    def negative(self) -> bool:
        return self in (MatchOp.NOT_EQUAL, MatchOp.NOT_REGEX)

    @property
    def regex(self) -> bool:
        return self in (MatchOp.REGEX, MatchOp.NOT_REGEX)


# The word a rule file uses for "urgency follows the alert's severity" (stored as NULL).
FROM_SEVERITY = "from_severity"
