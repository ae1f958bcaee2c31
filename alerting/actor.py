"""The identity the alert pipeline acts as: timelines and the audit log say ``alerting``."""

from __future__ import annotations

from itsm_core.actor import Actor
from itsm_core.people.roles import Role

# A system actor (no user id) with the system's rights, named so a reader of a timeline
# or the audit log can tell the pipeline's doing from a background job's or a person's.
ALERTING = Actor(name="alerting", roles=frozenset({Role.ADMIN}))
