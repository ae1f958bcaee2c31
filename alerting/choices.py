"""Enumerations of the alert records (the canonical ones live in ``alerting.canonical``)."""

from __future__ import annotations

from enum import StrEnum


class Binding(StrEnum):
    """How an alert's CI was found (shown to the NOC next to the CI)."""

    SOURCE = "source"  # the source named the CI (collectors, analytics)
    CI_ID = "ci_id"  # explicit ``ci`` label holding a CI id
    CI_NAME = "ci_name"  # explicit ``ci`` label holding a CI name
    HOSTNAME = "hostname"  # ``instance``/``host`` label → CI name, hostname or sys_name
    ADDRESS = "address"  # ``instance``/``host`` label → the CI's management address
    PROXMOX = "proxmox"  # ``node`` + ``vmid`` labels → VM (``node`` alone → the node)
    NONE = "none"  # unbound


class OccurrenceRole(StrEnum):
    """What an occurrence did to the incidents."""

    OPENED = "opened"  # opened an incident
    JOINED = "joined"  # joined an open incident on the same CI (or its own)
    SYMPTOM = "symptom"  # joined the incident of a failing upstream CI
    REOPENED = "reopened"  # reopened its recently resolved incident
    SUPPRESSED = "suppressed"  # maintenance window or change in progress
    DAMPED = "damped"  # flapping: recorded only
    RECORDED = "recorded"  # a resolved alert seen for the first time, or nothing to do
