"""Priority from impact x urgency through a matrix (ITIL by default, configurable).

The default is the ITIL 3x3 table::

                 urgency high   medium   low
    impact high          P1     P2       P3
           medium        P2     P3       P4
           low           P3     P4       P5

A site changes single cells with ``[incidents] priority_matrix`` (or
``FULCRUM_INCIDENTS_PRIORITY_MATRIX`` as JSON); cells it does not name keep the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from itsm_core.incidents.choices import Level, Priority
from itsm_core.settings import IncidentSettings

H, M, L = Level.HIGH, Level.MEDIUM, Level.LOW

ITIL_DEFAULT: Mapping[tuple[Level, Level], Priority] = {
    (H, H): Priority.P1,
    (H, M): Priority.P2,
    (M, H): Priority.P2,
    (H, L): Priority.P3,
    (M, M): Priority.P3,
    (L, H): Priority.P3,
    (M, L): Priority.P4,
    (L, M): Priority.P4,
    (L, L): Priority.P5,
}


@dataclass(frozen=True)
class PriorityMatrix:
    """An immutable impact x urgency → priority table covering all nine cells."""

    cells: Mapping[tuple[Level, Level], Priority] = field(default_factory=lambda: ITIL_DEFAULT)

    def __post_init__(self) -> None:
        missing = [f"{i}/{u}" for i in Level for u in Level if (i, u) not in self.cells]
        if missing:
            raise ValueError(f"priority matrix lacks cells: {', '.join(missing)}")

    def priority(self, impact: Level, urgency: Level) -> Priority:
        return self.cells[(Level(impact), Level(urgency))]

    def with_overrides(self, overrides: Mapping[str, Mapping[str, str]]) -> PriorityMatrix:
        """A copy with some cells replaced, given as ``{impact: {urgency: priority}}``."""
        cells = dict(self.cells)
        for impact, row in overrides.items():
            for urgency, priority in row.items():
                cells[(Level(impact), Level(urgency))] = Priority(priority)
        return PriorityMatrix(cells)

    @classmethod
    def from_settings(cls, settings: IncidentSettings) -> PriorityMatrix:
        overrides = {
            str(impact): {str(urgency): str(p) for urgency, p in row.items()}
            for impact, row in settings.priority_matrix.items()
        }
        return cls().with_overrides(overrides)

    def as_table(self) -> dict[str, dict[str, str]]:
        """``{impact: {urgency: priority}}``, for display and the API."""
        return {i.value: {u.value: self.cells[(i, u)].value for u in Level} for i in Level}


DEFAULT_MATRIX = PriorityMatrix()
