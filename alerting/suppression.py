"""Suppression: alerts recorded and annotated, but opening no incident and paging nobody.

An alert that would open (or join) an incident is suppressed, its reason stored on the
alert and its occurrence, when

- its CI's lifecycle is ``maintenance``;
- an active maintenance window covers it (see ``MaintenanceWindow`` for the scope);
- an approved change is being implemented on its CI: state ``implementing`` and ``now``
  inside the change's planned window, the CI linked to the change;
- with ``[alerting] maintenance_covers_downstream``, a window or change covers a CI it
  depends on (upstream, within ``upstream_depth``): the clinics behind a router under
  maintenance stay quiet too.

Active windows and changes in progress are few: each payload reads all of them once
(two small queries), then everything is decided in memory. A suppressed alert that keeps
firing is checked again on each delivery, so it opens an incident once the window ends.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.orm import Session

from alerting.intake_models import MaintenanceWindow
from itsm_core.changes.choices import ChangeState
from itsm_core.changes.models import Change, ChangeCI, format_number
from itsm_core.cmdb.choices import Lifecycle
from itsm_core.cmdb.models import ConfigurationItem


@functools.lru_cache(maxsize=512)
def _pattern(value: str) -> re.Pattern[str]:
    return re.compile(value)


def matcher_holds(matcher: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One Alertmanager-style matcher (``=``, ``!=``, ``=~``, ``!~``) against labels.

    A missing label reads as the empty string, as in Alertmanager.
    """
    value = labels.get(str(matcher.get("label", "")), "")
    wanted = str(matcher.get("value", ""))
    op = matcher.get("op", "=")
    if op == "=":
        return value == wanted
    if op == "!=":
        return value != wanted
    hit = _pattern(wanted).fullmatch(value) is not None
    return hit if op == "=~" else not hit


def window_matches_labels(window: MaintenanceWindow, labels: Mapping[str, str]) -> bool:
    return all(matcher_holds(m, labels) for m in window.matchers or [])


@dataclass(frozen=True, slots=True)
class _ChangeInProgress:
    ci_id: int
    number: str
    title: str


_NOW: BindParameter[datetime] = bindparam("now")
_ACTIVE_WINDOWS = (
    select(MaintenanceWindow)
    .where(MaintenanceWindow.starts_at <= _NOW, MaintenanceWindow.ends_at > _NOW)
    .order_by(MaintenanceWindow.id)
)
_CHANGES_IN_PROGRESS = (
    select(ChangeCI.ci_id, Change.id, Change.title)
    .join(Change, Change.id == ChangeCI.change_id)
    .where(
        Change.state == ChangeState.IMPLEMENTING,
        Change.planned_start <= _NOW,
        Change.planned_end > _NOW,
    )
    .order_by(Change.id, ChangeCI.ci_id)
)


def active_windows(session: Session, now: datetime) -> list[MaintenanceWindow]:
    return list(session.scalars(_ACTIVE_WINDOWS, {"now": now}))


def changes_in_progress(session: Session, now: datetime) -> list[_ChangeInProgress]:
    return [
        _ChangeInProgress(ci_id, format_number(change_id), title)
        for ci_id, change_id, title in session.execute(_CHANGES_IN_PROGRESS, {"now": now})
    ]


class Suppressor:
    """Decides suppression for one payload (reads windows and changes on first use)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self._session = session
        self._now = now
        self._loaded = False
        self._windows: list[MaintenanceWindow] = []
        self._changes: dict[int, _ChangeInProgress] = {}

    def _load(self) -> None:
        if not self._loaded:
            self._windows = active_windows(self._session, self._now)
            for change in changes_in_progress(self._session, self._now):
                self._changes.setdefault(change.ci_id, change)
            self._loaded = True

    @property
    def ci_scoped(self) -> bool:
        """Whether any window or change names CIs (only then do upstream CIs matter)."""
        self._load()
        return bool(self._changes) or any(w.ci_ids for w in self._windows)

    def direct(self, labels: Mapping[str, str], ci: ConfigurationItem | None) -> str | None:
        """Why an alert with ``labels`` on ``ci`` is suppressed by its own CI or labels."""
        if ci is not None and ci.lifecycle == Lifecycle.MAINTENANCE:
            return f"CI {ci.name} is in maintenance (lifecycle)"
        self._load()
        ci_id = ci.id if ci is not None else None
        for window in self._windows:
            if window.ci_ids and ci_id not in window.ci_ids:
                continue
            if window_matches_labels(window, labels):
                return f"maintenance window #{window.id}: {window.reason}"[:500]
        if ci_id is not None and ci_id in self._changes:
            change = self._changes[ci_id]
            return f"change {change.number} in progress: {change.title}"[:500]
        return None

    def upstream(
        self, labels: Mapping[str, str], upstream: Iterable[tuple[int, str]]
    ) -> str | None:
        """Why an alert is suppressed by a window or change on a CI it depends on.

        ``upstream`` lists (CI id, CI name), nearest first.
        """
        self._load()
        for ci_id, name in upstream:
            for window in self._windows:
                covered = window.ci_ids and ci_id in window.ci_ids
                if covered and window_matches_labels(window, labels):
                    reason = f"maintenance window #{window.id} on upstream {name}: {window.reason}"
                    return reason[:500]
            if ci_id in self._changes:
                change = self._changes[ci_id]
                reason = f"change {change.number} in progress on upstream {name}: {change.title}"
                return reason[:500]
        return None
