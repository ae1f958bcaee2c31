"""Business calendars in the database: create, edit, load official notices, read days.

A calendar row stores a ``CalendarDefinition`` as JSON; every change bumps ``version``,
is audited, and re-derives the SLA records of the open incidents timed on it (so loading
the official notice of a year turns their provisional due times into final ones).

The pure definition raises ``ValueError``; here it becomes ``ValidationFailed`` keyed by
the field it concerns.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import Actor
from itsm_core.errors import Conflict, NotFound, ValidationFailed
from itsm_core.sla.calendar import DayClassification
from itsm_core.sla.calendar_cache import business_calendar
from itsm_core.sla.definition import CalendarDefinition, OfficialNotice
from itsm_core.sla.models import SlaCalendar
from itsm_core.sla.resync import lock_for_calendar, resync
from itsm_core.sla.schemas import CalendarCreate, CalendarPatch
from itsm_core.timeutil import utcnow

MAX_DAYS = 366
"""The longest range ``days`` lists at once."""

# Model-level rules of CalendarDefinition name no field; their messages say which.
_RULE_FIELDS = (
    ("the week has no working hours", "week"),
    ("use_prc_holidays", "use_prc_holidays"),
    ("makeup_weekday", "makeup_weekday"),
    ("override", "overrides"),
    ("notice", "official_notices"),
)


def get_calendar(
    session: Session, calendar_id: int, field: str = "id", *, for_update: bool = False
) -> SlaCalendar:
    """The calendar, locked for the rest of the transaction when it is about to change."""
    calendar = session.get(SlaCalendar, calendar_id, with_for_update=True if for_update else None)
    if calendar is None:
        raise NotFound(
            f"business calendar {calendar_id} does not exist",
            errors={field: [f"no business calendar {calendar_id}"]},
        )
    return calendar


def find_calendar(session: Session, name: str) -> SlaCalendar | None:
    return session.scalar(select(SlaCalendar).where(SlaCalendar.name == name))


def definition_of(data: dict[str, Any]) -> CalendarDefinition:
    """A validated definition, or ``ValidationFailed`` keyed by field."""
    try:
        return CalendarDefinition.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            field = ".".join(str(part) for part in err["loc"]) or _field_of(message)
            errors.setdefault(field, []).append(message)
        detail = "; ".join(f"{key}: {', '.join(values)}" for key, values in errors.items())
        raise ValidationFailed(detail, errors=errors) from exc


def _field_of(message: str) -> str:
    return next((field for words, field in _RULE_FIELDS if words in message), "definition")


def _view(calendar: SlaCalendar) -> dict[str, Any]:
    definition = calendar.definition
    return {
        "name": calendar.name,
        "version": calendar.version,
        "timezone": definition.get("timezone"),
        "use_prc_holidays": definition.get("use_prc_holidays"),
        "notice_years": sorted(n["year"] for n in definition.get("official_notices", [])),
        "overrides": len(definition.get("overrides", [])),
    }


def _check_name_free(session: Session, name: str, calendar: SlaCalendar | None = None) -> None:
    found = find_calendar(session, name)
    if found is not None and found is not calendar:
        raise Conflict(f"business calendar {name!r} already exists", errors={"name": ["taken"]})


def create_calendar(
    session: Session,
    actor: Actor,
    data: CalendarCreate,
    *,
    default_timezone: str = "Asia/Shanghai",
) -> SlaCalendar:
    """Store a new calendar; without a time zone it gets ``default_timezone``."""
    _check_name_free(session, data.name)
    fields = data.model_dump(mode="json", exclude={"description"})
    fields["timezone"] = data.timezone or default_timezone
    definition = definition_of(fields)
    calendar = SlaCalendar(
        name=data.name,
        description=data.description,
        definition=definition.model_dump(mode="json"),
        version=1,
    )
    session.add(calendar)
    session.flush()
    audit.record(
        session, actor, "sla_calendar.create", "sla_calendar", calendar.id, after=_view(calendar)
    )
    return calendar


def update_calendar(
    session: Session,
    actor: Actor,
    calendar: SlaCalendar,
    patch: CalendarPatch,
    *,
    now: datetime | None = None,
) -> SlaCalendar:
    """Apply the fields ``patch`` sets; re-derives the open incidents timed on it."""
    changes = patch.model_dump(mode="json", exclude_unset=True)
    if not changes:
        return calendar
    description = changes.pop("description", calendar.description)
    if "name" in changes:
        _check_name_free(session, changes["name"], calendar)
    definition = definition_of({**calendar.definition, **changes})
    return _store(session, actor, calendar, definition, "sla_calendar.update", now, description)


def load_official_notice(
    session: Session,
    actor: Actor,
    calendar_id: int,
    notice: OfficialNotice,
    *,
    now: datetime | None = None,
) -> SlaCalendar:
    """Load (or replace) the official holiday notice of ``notice.year`` into a calendar.

    From then on every date of that year follows the notice, not the libraries'
    prediction, and due times that rested on it are recomputed and no longer provisional.
    """
    calendar = get_calendar(session, calendar_id, for_update=True)
    current = calendar.parsed()
    if not current.use_prc_holidays:
        raise ValidationFailed.on(
            "use_prc_holidays",
            f"calendar {calendar.name!r} does not follow the PRC holidays; enable that first",
        )
    notices = [n for n in current.official_notices if n.year != notice.year] + [notice]
    notices.sort(key=lambda n: n.year)
    data = current.model_dump(mode="json")
    data["official_notices"] = [n.model_dump(mode="json") for n in notices]
    definition = definition_of(data)
    return _store(session, actor, calendar, definition, "sla_calendar.load_notice", now)


def _store(
    session: Session,
    actor: Actor,
    calendar: SlaCalendar,
    definition: CalendarDefinition,
    action: str,
    now: datetime | None,
    description: str | None = None,
) -> SlaCalendar:
    affected = lock_for_calendar(session, calendar.id)
    before = _view(calendar)
    calendar.name = definition.name
    calendar.definition = definition.model_dump(mode="json")
    if description is not None:
        calendar.description = description
    calendar.version += 1
    session.flush()
    audit.record(
        session, actor, action, "sla_calendar", calendar.id, before=before, after=_view(calendar)
    )
    resync(session, affected, now or utcnow())
    return calendar


def day_info(calendar: SlaCalendar, day: date) -> DayClassification:
    """How ``calendar`` treats ``day``: working or not, hours, source, provisional."""
    return business_calendar(calendar).classify(day)


def days(calendar: SlaCalendar, start: date, end: date) -> list[DayClassification]:
    """Every day from ``start`` to ``end`` inclusive (at most ``MAX_DAYS``)."""
    if end < start:
        raise ValidationFailed.on("end", "must not be before start")
    count = (end - start).days + 1
    if count > MAX_DAYS:
        raise ValidationFailed.on("end", f"at most {MAX_DAYS} days at once")
    compiled = business_calendar(calendar)
    return [compiled.classify(start + timedelta(days=offset)) for offset in range(count)]
