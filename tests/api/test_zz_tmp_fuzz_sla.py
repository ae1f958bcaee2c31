import hypothesis
import schemathesis
from schemathesis.checks import not_a_server_error
from itsm_core.people.roles import Role


def test_fuzz_sla(app, auth, sessions):
    from tests.itsm_core.sla.stored import office_calendar, policy, incident, local
    from itsm_core.sla import service as sla
    with sessions() as s, s.begin():
        cal = office_calendar(s)
        policy(s, cal)
        t = incident(s, local(2026, 9, 30, 17, 30))
        sla.sync_incident(s, t, local(2026, 9, 30, 17, 30))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = auth(Role.ADMIN, "fuzzer")
    ops = [r.ok() for r in schema.get_all_operations()]
    ops = [o for o in ops if "sla" in o.path]
    assert len(ops) >= 10
    for operation in ops:
        @hypothesis.settings(max_examples=100, deadline=None, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])
        run()
