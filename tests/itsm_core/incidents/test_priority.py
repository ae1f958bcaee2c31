"""Impact x urgency -> priority: the ITIL default, overrides and settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from itsm_core.incidents.choices import Level, Priority
from itsm_core.incidents.priority import DEFAULT_MATRIX, ITIL_DEFAULT, PriorityMatrix
from itsm_core.settings import IncidentSettings, Settings

H, M, L = Level.HIGH, Level.MEDIUM, Level.LOW


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [
        (H, H, Priority.P1),
        (H, M, Priority.P2),
        (M, H, Priority.P2),
        (H, L, Priority.P3),
        (M, M, Priority.P3),
        (L, H, Priority.P3),
        (M, L, Priority.P4),
        (L, M, Priority.P4),
        (L, L, Priority.P5),
    ],
)
def test_itil_default(impact: Level, urgency: Level, expected: Priority) -> None:
    assert DEFAULT_MATRIX.priority(impact, urgency) == expected


def test_default_covers_all_nine_cells() -> None:
    assert len(ITIL_DEFAULT) == 9


def test_overrides_change_only_the_cells_named() -> None:
    custom = DEFAULT_MATRIX.with_overrides({"high": {"low": "P2"}, "low": {"high": "P2"}})
    assert custom.priority(H, L) == Priority.P2
    assert custom.priority(L, H) == Priority.P2
    unchanged = [(i, u) for i in Level for u in Level if (i, u) not in {(H, L), (L, H)}]
    assert all(custom.priority(i, u) == DEFAULT_MATRIX.priority(i, u) for i, u in unchanged)


def test_overrides_leave_the_default_alone() -> None:
    DEFAULT_MATRIX.with_overrides({"low": {"low": "P1"}})
    assert DEFAULT_MATRIX.priority(L, L) == Priority.P5


def test_an_incomplete_matrix_is_refused() -> None:
    with pytest.raises(ValueError, match="low/low"):
        PriorityMatrix({k: v for k, v in ITIL_DEFAULT.items() if k != (L, L)})


def test_unknown_levels_in_overrides_are_refused() -> None:
    with pytest.raises(ValueError, match="critical"):
        DEFAULT_MATRIX.with_overrides({"critical": {"high": "P1"}})


def test_from_settings_section() -> None:
    settings = Settings({"incidents": {"priority_matrix": {"medium": {"medium": "P2"}}}})
    matrix = PriorityMatrix.from_settings(settings.incidents)
    assert matrix.priority(M, M) == Priority.P2
    assert matrix.priority(H, H) == Priority.P1


def test_from_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULCRUM_INCIDENTS_PRIORITY_MATRIX", '{"low": {"low": "P4"}}')
    matrix = PriorityMatrix.from_settings(IncidentSettings())
    assert matrix.priority(L, L) == Priority.P4


def test_default_settings_give_the_itil_matrix() -> None:
    assert PriorityMatrix.from_settings(IncidentSettings()) == DEFAULT_MATRIX


@pytest.mark.parametrize(
    "bad", [{"high": {"high": "P0"}}, {"urgent": {"high": "P1"}}, {"high": {"soon": "P1"}}]
)
def test_bad_settings_are_refused_at_start_up(bad: dict) -> None:
    with pytest.raises(ValidationError):
        Settings({"incidents": {"priority_matrix": bad}})


def test_as_table_reads_impact_then_urgency() -> None:
    table = DEFAULT_MATRIX.as_table()
    assert table["high"]["low"] == "P3"
    assert table["low"]["high"] == "P3"
    assert table["medium"]["low"] == "P4"
