"""One alert's passage through the pipeline: what it did to its row and to incidents."""

from __future__ import annotations

from dataclasses import dataclass

from alerting.binding import UNBOUND, Bound
from alerting.canonical import AlertStatus, CanonicalAlert, Severity
from alerting.choices import OccurrenceRole
from alerting.correlation import Upstream
from alerting.dedup import Verdict
from alerting.flapping import Flap
from alerting.intake_models import Alert

SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


@dataclass(eq=False)
class Work:
    """An alert of the payload that changed state, and the pipeline's decisions for it.

    ``role`` stays None while the alert still looks for an incident; ``target`` is the
    incident it opened, joined or reopened; ``root_ci`` names another alert's CI in the
    same payload, upstream of this one, whose new incident this one joins as a symptom.
    """

    alert: CanonicalAlert
    row: Alert
    verdict: Verdict
    bound: Bound = UNBOUND
    previous_incident_id: int | None = None
    role: OccurrenceRole | None = None
    target: int | None = None
    upstream: Upstream | None = None
    root_ci: int | None = None
    flap: Flap | None = None

    @property
    def ci_id(self) -> int | None:
        return self.bound.ci_id

    @property
    def new_occurrence(self) -> bool:
        return self.verdict in (Verdict.NEW, Verdict.REFIRE)

    @property
    def firing(self) -> bool:
        return self.row.status == AlertStatus.FIRING

    def decide(self, role: OccurrenceRole, target: int | None = None) -> None:
        """Record the decision; the row points at ``target`` only once it is locked
        (``link``): writing the foreign key earlier would take a share lock on the
        incident out of the lock order."""
        self.role = role
        self.target = target

    def link(self) -> None:
        """Point the alert at its target incident (after the incident was locked)."""
        if self.target is not None:
            self.row.incident_id = self.target

    @property
    def incident_id(self) -> int | None:
        """The incident the alert belongs to once this delivery is through."""
        return self.target if self.target is not None else self.row.incident_id

    def describe(self) -> str:
        """``NodeDown on cpe-07`` for timeline entries."""
        where = self.bound.ci.name if self.bound.ci is not None else "no CI"
        text = f"{self.alert.name} on {where}"
        if self.upstream is not None:
            text += f" (symptom of {self.upstream.name}: {self.upstream.path})"
        return text


def lead_of(works: list[Work]) -> Work:
    """The most severe alert of a group (the first one among equals)."""
    return min(works, key=lambda w: SEVERITY_RANK[w.alert.severity])
