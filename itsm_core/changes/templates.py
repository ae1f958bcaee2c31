"""Standard-change templates: pre-approved, repeatable changes, and instantiating them.

A template is the CAB's approval given once for a kind of change ("reboot a stateless
gateway VM"). ``create_from_template`` makes a standard change and moves it straight to
``scheduled`` through ``lifecycle`` (``pre_approve``), recorded as pre-approved on the
timeline and in the audit log. It is refused, and nothing is created, when:

- the template is retired;
- a CI falls outside the template's conditions (class, tags, criticality);
- the CIs make the change high risk (a standard change is low or medium risk by
  definition; raise a normal change for the CAB instead);
- the window overlaps a committed change on a shared CI, unless a change manager forces.

Managing templates (create, edit, retire) is the change manager's (``change:manage``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.changes import conflicts, lifecycle, service
from itsm_core.changes.choices import COMMITTED_STATES, ChangeState, ChangeType, Risk
from itsm_core.changes.models import Change, ChangeTemplate
from itsm_core.changes.risk import CRITICALITY_ORDER, higher, risk_floor
from itsm_core.cmdb.choices import Criticality
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.timeutil import utcnow

ENTITY = "change_template"
TEMPLATE_FIELDS = frozenset(
    {
        "name",
        "description",
        "category",
        "ci_classes",
        "ci_tags",
        "max_criticality",
        "default_risk",
        "default_duration_minutes",
        "implementation_plan",
        "backout_plan",
        "active",
    }
)


def _view(t: ChangeTemplate) -> dict[str, Any]:
    return {name: getattr(t, name) for name in sorted(TEMPLATE_FIELDS)}


def get_template(session: Session, template_id: int) -> ChangeTemplate:
    template = session.get(ChangeTemplate, template_id)
    if template is None:
        raise NotFound(f"change template {template_id} does not exist")
    return template


def create_template(
    session: Session,
    actor: Actor,
    *,
    name: str,
    implementation_plan: str,
    backout_plan: str,
    description: str = "",
    category: str = "",
    ci_classes: Sequence[str] = (),
    ci_tags: Sequence[str] = (),
    max_criticality: Criticality | None = None,
    default_risk: Risk = Risk.LOW,
    default_duration_minutes: int = 60,
) -> ChangeTemplate:
    """Register a pre-approved standard change."""
    template = ChangeTemplate(created_by=actor.name, active=True)
    _apply(
        session,
        template,
        {
            "name": name,
            "description": description,
            "category": category,
            "ci_classes": list(ci_classes),
            "ci_tags": list(ci_tags),
            "max_criticality": max_criticality,
            "default_risk": default_risk,
            "default_duration_minutes": default_duration_minutes,
            "implementation_plan": implementation_plan,
            "backout_plan": backout_plan,
        },
    )
    session.add(template)
    session.flush()
    audit.record(
        session, actor, "change_template.create", ENTITY, template.id, after=_view(template)
    )
    return template


def update_template(
    session: Session, actor: Actor, template: ChangeTemplate, fields: Mapping[str, Any]
) -> ChangeTemplate:
    """Edit a template (``active=False`` retires it); changes already made keep their copy."""
    unknown = set(fields) - TEMPLATE_FIELDS
    if unknown:
        raise ValidationFailed.on(sorted(unknown)[0], "cannot be edited")
    before = _view(template)
    _apply(session, template, fields)
    session.flush()
    audit.record(
        session,
        actor,
        "change_template.update",
        ENTITY,
        template.id,
        before=before,
        after=_view(template),
    )
    return template


def _apply(session: Session, template: ChangeTemplate, fields: Mapping[str, Any]) -> None:
    if "name" in fields:
        name = str(fields["name"]).strip()
        if not name:
            raise ValidationFailed.on("name", "must not be blank")
        taken = session.scalar(
            select(ChangeTemplate.id).where(
                ChangeTemplate.name == name, ChangeTemplate.id != template.id
            )
        )
        if taken is not None:
            raise Conflict(f"template {name!r} already exists", errors={"name": ["taken"]})
        template.name = name
    if "default_risk" in fields and Risk(fields["default_risk"]) is Risk.HIGH:
        raise ValidationFailed.on("default_risk", "a standard change is low or medium risk")
    for plan in ("implementation_plan", "backout_plan"):
        if plan in fields and not str(fields[plan]).strip():
            raise ValidationFailed.on(plan, "a standard change carries its plans")
    if "default_duration_minutes" in fields and fields["default_duration_minutes"] < 1:
        raise ValidationFailed.on("default_duration_minutes", "must be at least 1")
    for key, value in fields.items():
        if key in ("ci_classes", "ci_tags"):
            value = sorted(set(value))
        if key != "name":
            setattr(template, key, value)


def mismatches(template: ChangeTemplate, cis: Iterable[ConfigurationItem]) -> list[str]:
    """Why each CI falls outside the template's conditions (empty: all fit)."""
    problems = []
    for ci in cis:
        if template.ci_classes and ci.ci_class not in template.ci_classes:
            problems.append(
                f"CI {ci.name!r} is a {ci.ci_class}, not {'/'.join(template.ci_classes)}"
            )
        missing = sorted(set(template.ci_tags) - set(ci.tags))
        if missing:
            problems.append(f"CI {ci.name!r} lacks tag(s) {', '.join(missing)}")
        ceiling = template.max_criticality
        if ceiling is not None and CRITICALITY_ORDER[ci.criticality] > CRITICALITY_ORDER[ceiling]:
            problems.append(f"CI {ci.name!r} is {ci.criticality}, above {ceiling}")
    return problems


def create_from_template(
    session: Session,
    actor: Actor,
    template: ChangeTemplate,
    *,
    ci_ids: Iterable[int],
    planned_start: datetime | None = None,
    planned_end: datetime | None = None,
    title: str | None = None,
    description: str = "",
    incident_ids: Iterable[int] = (),
    problem_ids: Iterable[int] = (),
    implementer_id: int | None = None,
    force: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
) -> Change:
    """Make a standard change from ``template`` and schedule it (pre-approved).

    The window defaults to starting ``now`` and lasting the template's default duration.
    """
    now = now or utcnow()
    if not template.active:
        raise Conflict(f"template {template.name!r} is retired", errors={"template": ["retired"]})
    cis = service.load_cis(session, ci_ids)
    if not cis:
        raise ValidationFailed.on("ci_ids", "a standard change names the CIs it touches")
    problems = mismatches(template, cis)
    if problems:
        raise ValidationFailed("; ".join(problems), errors={"ci_ids": problems})
    level = higher(template.default_risk, risk_floor(cis))
    if level is Risk.HIGH:
        raise ValidationFailed.on(
            "ci_ids", "these CIs make it a high-risk change; raise a normal change for the CAB"
        )
    start = planned_start or now
    end = planned_end or start + timedelta(minutes=template.default_duration_minutes)
    if end <= start:
        raise ValidationFailed.on("planned_end", "must be after planned_start")
    if force:
        lifecycle.check_force(actor, ChangeState.SCHEDULED, reason)
    else:
        # Checked before anything is written, so a refusal leaves no half-made change.
        clash = conflicts.overlapping(
            session, [c.id for c in cis], start, end, states=COMMITTED_STATES
        )
        if clash:
            found = [c.describe() for c in clash]
            raise Conflict("the window overlaps " + "; ".join(found), errors={"conflicts": found})
    change = service.new_change(
        session,
        actor,
        title=title or template.name,
        change_type=ChangeType.STANDARD,
        description=description or template.description,
        risk=level,
        category=template.category,
        planned_start=start,
        planned_end=end,
        implementation_plan=template.implementation_plan,
        backout_plan=template.backout_plan,
        ci_ids=[c.id for c in cis],
        incident_ids=incident_ids,
        problem_ids=problem_ids,
        implementer_id=implementer_id,
        template=template,
    )
    return lifecycle.transition(
        session, actor, change, ChangeState.SCHEDULED, force=force, reason=reason, now=now
    )
