"""Property-based fuzzing of every operation in the OpenAPI spec: no input yields a 5xx.

Schemathesis generates valid and invalid requests from the spec; each is sent with an
admin token (so authorisation never hides a handler) and must not produce a server error.
Operations run one after another in one test because the app (and its database) comes
from fixtures.
"""

from __future__ import annotations

import hypothesis
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error

from itsm_core.people.roles import Role
from tests.conftest import TokenFactory

EXAMPLES_PER_OPERATION = 30


def test_no_input_causes_a_server_error(app: FastAPI, auth: TokenFactory) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = auth(Role.ADMIN, "fuzzer")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 5

    for operation in operations:

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        run()
