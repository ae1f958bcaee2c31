"""Roles and what each may do. One table here decides every endpoint's access."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    SERVICE_DESK = "service_desk"
    ENGINEER = "engineer"
    ON_CALL = "on_call"
    CHANGE_APPROVER = "change_approver"
    MANAGER = "manager"
    ADMIN = "admin"
    # A machine caller (Alertmanager, a monitoring bridge): may post alerts, nothing else.
    ALERT_SOURCE = "alert_source"


class Permission(StrEnum):
    CI_READ = "ci:read"
    CI_WRITE = "ci:write"
    INCIDENT_READ = "incident:read"
    INCIDENT_WRITE = "incident:write"
    CHANGE_READ = "change:read"
    CHANGE_WRITE = "change:write"
    CHANGE_APPROVE = "change:approve"
    # The change manager: standard-change templates, declining RFCs, forcing a schedule.
    CHANGE_MANAGE = "change:manage"
    SLA_READ = "sla:read"
    SLA_ADMIN = "sla:admin"
    PEOPLE_READ = "people:read"
    PEOPLE_ADMIN = "people:admin"
    AUDIT_READ = "audit:read"
    ALERT_INGEST = "alert:ingest"
    ALERT_READ = "alert:read"
    # Routing rules, maintenance windows, escalation policies, notification channels.
    ALERT_ADMIN = "alert:admin"
    METRIC_READ = "metric:read"
    # Collector targets and credentials, discovery runs.
    COLLECTOR_ADMIN = "collector:admin"


_READ = {
    Permission.CI_READ,
    Permission.INCIDENT_READ,
    Permission.CHANGE_READ,
    Permission.SLA_READ,
    Permission.PEOPLE_READ,
    Permission.ALERT_READ,
    Permission.METRIC_READ,
}
_DESK = _READ | {Permission.INCIDENT_WRITE}
_ENGINEER = _DESK | {Permission.CI_WRITE, Permission.CHANGE_WRITE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset(_READ),
    Role.SERVICE_DESK: frozenset(_DESK),
    Role.ENGINEER: frozenset(_ENGINEER),
    Role.ON_CALL: frozenset(_ENGINEER),
    # Approvers judge changes; they do not edit tickets or the CMDB by that role alone.
    Role.CHANGE_APPROVER: frozenset(_READ | {Permission.CHANGE_APPROVE}),
    Role.MANAGER: frozenset(
        _ENGINEER
        | {
            Permission.CHANGE_APPROVE,
            Permission.CHANGE_MANAGE,
            Permission.AUDIT_READ,
            Permission.SLA_ADMIN,
            Permission.ALERT_ADMIN,
            Permission.COLLECTOR_ADMIN,
        }
    ),
    Role.ADMIN: frozenset(Permission),
    Role.ALERT_SOURCE: frozenset({Permission.ALERT_INGEST}),
}


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """The union of the permissions of ``roles``."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)
