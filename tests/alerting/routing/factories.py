"""Plain factory functions for routing tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from alerting.canonical import AlertSourceKind, AlertStatus, CanonicalAlert, Severity
from alerting.routing import plans, service
from alerting.routing.models import ContingencyPlan, RoutingRule
from alerting.routing.schemas import PlanSpec, RuleSpec
from itsm_core.actor import SYSTEM
from itsm_core.people import service as people
from itsm_core.people.models import Group, User
from itsm_core.timeutil import utcnow

_seq = itertools.count(1)


def make_rule(session: Session, name: str | None = None, **fields: Any) -> RoutingRule:
    """A rule stored through the service (validated, audited, generation moved)."""
    spec = RuleSpec.model_validate({"name": name or f"rule-{next(_seq)}", **fields})
    return service.create_rule(session, SYSTEM, spec)


def make_plan(session: Session, name: str = "plan", **fields: Any) -> ContingencyPlan:
    spec = PlanSpec.model_validate({"name": name, "title": f"{name} 预案", **fields})
    return plans.create_plan(session, SYSTEM, spec)


def make_group(session: Session, name: str | None = None) -> Group:
    return people.create_group(session, SYSTEM, name or f"group-{next(_seq)}")


def make_user(session: Session, username: str | None = None) -> User:
    return people.create_user(session, SYSTEM, username or f"user-{next(_seq)}")


def alert(
    labels: Mapping[str, str] | None = None,
    severity: Severity = Severity.WARNING,
    name: str = "TestAlert",
) -> CanonicalAlert:
    return CanonicalAlert(
        source=AlertSourceKind.ALERTMANAGER,
        fingerprint=f"fp-{next(_seq)}",
        status=AlertStatus.FIRING,
        severity=severity,
        name=name,
        starts_at=utcnow(),
        labels=dict(labels or {}),
    )
