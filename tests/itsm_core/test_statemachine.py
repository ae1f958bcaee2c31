from enum import StrEnum

import pytest

from itsm_core.errors import InvalidTransition
from itsm_core.statemachine import StateMachine


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"


def _needs_clear_road(ctx: dict[str, bool]) -> str | None:
    return None if ctx["clear"] else "the road is not clear"


MACHINE: StateMachine[Light, dict[str, bool]] = (
    StateMachine("light")
    .allow("go", [Light.RED], Light.GREEN, _needs_clear_road)
    .allow("slow", [Light.GREEN], Light.AMBER)
    .allow("stop", [Light.AMBER], Light.RED)
)


def test_allowed_move_passes_its_rules() -> None:
    assert MACHINE.check(Light.RED, Light.GREEN, {"clear": True}).name == "go"


def test_rule_refusal_names_the_reason() -> None:
    with pytest.raises(InvalidTransition, match="not clear"):
        MACHINE.check(Light.RED, Light.GREEN, {"clear": False})


def test_missing_edge_lists_what_is_allowed() -> None:
    with pytest.raises(InvalidTransition, match="allowed from here: amber"):
        MACHINE.check(Light.GREEN, Light.RED, {"clear": True})
