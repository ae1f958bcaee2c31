from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.errors import Conflict, Unauthorized
from itsm_core.people import service as people
from itsm_core.people.models import ApiToken
from itsm_core.people.roles import Permission, Role
from itsm_core.timeutil import utcnow


def test_token_authenticates_as_its_user_and_role_only(session: Session) -> None:
    user = people.create_user(session, SYSTEM, "li.wei", roles={Role.ENGINEER, Role.ON_CALL})
    issued = people.create_token(session, SYSTEM, user, Role.ENGINEER)
    session.commit()
    actor = people.authenticate(session, issued.secret)
    assert actor.name == "li.wei"
    assert actor.roles == {Role.ENGINEER}
    assert actor.can(Permission.CI_WRITE)
    assert not actor.can(Permission.CHANGE_APPROVE)


def test_only_a_hash_of_the_secret_is_stored(session: Session) -> None:
    user = people.create_user(session, SYSTEM, "zhang", roles={Role.VIEWER})
    issued = people.create_token(session, SYSTEM, user, Role.VIEWER)
    session.commit()
    stored = session.get(ApiToken, issued.token.id)
    assert stored is not None
    assert issued.secret not in stored.token_hash


def test_revoked_expired_and_unknown_tokens_are_refused(session: Session) -> None:
    user = people.create_user(session, SYSTEM, "wang", roles={Role.VIEWER})
    revoked = people.create_token(session, SYSTEM, user, Role.VIEWER)
    people.revoke_token(session, SYSTEM, revoked.token)
    expired = people.create_token(
        session, SYSTEM, user, Role.VIEWER, expires_at=utcnow() - timedelta(seconds=1)
    )
    session.commit()
    for secret in (revoked.secret, expired.secret, "ful_nope"):
        with pytest.raises(Unauthorized):
            people.authenticate(session, secret)


def test_token_stops_working_when_its_role_is_revoked(session: Session) -> None:
    user = people.create_user(session, SYSTEM, "chen", roles={Role.ADMIN})
    issued = people.create_token(session, SYSTEM, user, Role.ADMIN)
    people.revoke_role(session, SYSTEM, user, Role.ADMIN)
    session.commit()
    with pytest.raises(Unauthorized, match="no longer held"):
        people.authenticate(session, issued.secret)


def test_cannot_issue_a_token_for_a_role_not_held(session: Session) -> None:
    user = people.create_user(session, SYSTEM, "liu", roles={Role.VIEWER})
    with pytest.raises(Conflict):
        people.create_token(session, SYSTEM, user, Role.ADMIN)
