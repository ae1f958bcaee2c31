"""Two people acting on one incident at the same moment: the row lock decides."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from itsm_core.errors import InvalidTransition
from itsm_core.incidents import service, timeline
from itsm_core.incidents.choices import IncidentState, TimelineKind
from tests.itsm_core.incidents import factories as f


def test_two_engineers_accepting_at_once_one_wins(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        alice, bob = f.user(s, "alice"), f.user(s, "bob")
        actors = {"alice": f.actor_of(alice), "bob": f.actor_of(bob)}
        incident_id = f.incident(s).id

    start = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def take(name: str) -> None:
        start.wait()
        try:
            with sessions() as s, s.begin():
                incident = service.get_incident(s, incident_id, for_update=True)
                service.accept(s, actors[name], incident)
            outcome[name] = "accepted"
        except InvalidTransition:
            outcome[name] = "refused"

    threads = [threading.Thread(target=take, args=(name,)) for name in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcome.values()) == ["accepted", "refused"]
    winner = next(name for name, result in outcome.items() if result == "accepted")
    with sessions() as s:
        incident = service.get_incident(s, incident_id)
        assert incident.state == IncidentState.IN_PROGRESS
        assert incident.assignee_id == actors[winner].user_id
        accepted = timeline.entries(s, incident_id, [TimelineKind.STATE_CHANGE])
        assert len(accepted) == 1
