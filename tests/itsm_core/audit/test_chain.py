from sqlalchemy import update
from sqlalchemy.orm import Session

from itsm_core import audit
from itsm_core.actor import SYSTEM, Actor
from itsm_core.audit.models import AuditEntry


def _write_three(session: Session) -> None:
    alice = Actor(name="alice", user_id=1)
    audit.record(session, alice, "incident.create", "incident", 1, after={"state": "new"})
    audit.record(
        session,
        alice,
        "incident.assign",
        "incident",
        1,
        before={"state": "new"},
        after={"state": "assigned", "assignee": "bob"},
    )
    audit.record(session, SYSTEM, "incident.resolve", "incident", 1, after={"state": "resolved"})
    session.commit()


def test_untouched_chain_verifies(session: Session) -> None:
    _write_three(session)
    report = audit.verify_chain(session)
    assert report.ok
    assert report.entries == 3


def test_edited_entry_is_caught(session: Session) -> None:
    _write_three(session)
    session.execute(
        update(AuditEntry)
        .where(AuditEntry.id == 2)
        .values(after={"state": "assigned", "assignee": "eve"})
    )
    session.commit()
    report = audit.verify_chain(session)
    assert not report.ok
    assert report.first_bad_id == 2


def test_rehashed_forgery_breaks_the_next_link(session: Session) -> None:
    _write_three(session)
    session.execute(
        update(AuditEntry).where(AuditEntry.id == 2).values(actor="mallory", hash="f" * 64)
    )
    session.commit()
    report = audit.verify_chain(session)
    assert report.first_bad_id == 2


def test_deleted_entry_is_caught(session: Session) -> None:
    _write_three(session)
    session.delete(session.get(AuditEntry, 2))
    session.commit()
    report = audit.verify_chain(session)
    assert report.first_bad_id == 2
    assert "missing" in (report.problem or "")


def test_secrets_never_reach_the_log(session: Session) -> None:
    entry = audit.record(
        session,
        SYSTEM,
        "target.create",
        "target",
        7,
        after={
            "host": "10.0.0.1",
            "community": "s3cret",
            "auth_key": "k3y",
            "nested": {"password": "pw"},
        },
    )
    session.commit()
    text = str(entry.after)
    assert "s3cret" not in text
    assert "k3y" not in text
    assert "pw'" not in text
    assert entry.after is not None
    assert entry.after["host"] == "10.0.0.1"
