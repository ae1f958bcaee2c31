"""Incident numbers as people type them."""

from __future__ import annotations

import pytest

from itsm_core.incidents.queries import parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INC000123", 123),
        ("inc123", 123),
        ("  INC0000001 ", 1),
        ("INC", None),
        ("123", None),
        ("INC12a", None),
        ("router INC000123", None),
    ],
)
def test_parse_number(text: str, expected: int | None) -> None:
    assert parse_number(text) == expected
