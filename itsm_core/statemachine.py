"""Explicit lifecycles: which moves exist, and the rules each move must pass.

A ``StateMachine`` is declared once per entity (incident, change, remediation…) and used
by every caller — API, background jobs, CLI, tests — so a forbidden move is refused the
same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from itsm_core.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)
C = TypeVar("C")

# A rule looks at the context of a move and returns why it is refused, or None.
Rule = Callable[[C], str | None]


@dataclass(frozen=True)
class Transition(Generic[S, C]):
    """One allowed move, from any of ``sources`` to ``target``, guarded by ``rules``."""

    name: str
    sources: frozenset[S]
    target: S
    rules: tuple[Rule[C], ...] = ()


@dataclass
class StateMachine(Generic[S, C]):
    """The set of allowed transitions of one entity type."""

    entity: str
    transitions: list[Transition[S, C]] = field(default_factory=list)

    def allow(
        self, name: str, sources: Iterable[S], target: S, *rules: Rule[C]
    ) -> StateMachine[S, C]:
        self.transitions.append(Transition(name, frozenset(sources), target, tuple(rules)))
        return self

    def find(self, current: S, target: S) -> Transition[S, C] | None:
        for transition in self.transitions:
            if current in transition.sources and transition.target == target:
                return transition
        return None

    def targets(self, current: S) -> list[S]:
        """States reachable from ``current`` in one move (rules not applied)."""
        return [t.target for t in self.transitions if current in t.sources]

    def check(self, current: S, target: S, context: C) -> Transition[S, C]:
        """Return the transition, or raise ``InvalidTransition`` saying why not."""
        transition = self.find(current, target)
        if transition is None:
            allowed = ", ".join(sorted(self.targets(current))) or "none"
            raise InvalidTransition(self.entity, current, target, f"allowed from here: {allowed}")
        for rule in transition.rules:
            reason = rule(context)
            if reason:
                raise InvalidTransition(self.entity, current, target, reason)
        return transition

    def edges(self) -> Mapping[tuple[S, S], str]:
        """Every allowed (source, target) pair with its transition name (for tests/docs)."""
        return {(s, t.target): t.name for t in self.transitions for s in t.sources}
