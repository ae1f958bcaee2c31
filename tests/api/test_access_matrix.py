"""Every role against every endpoint: 401 without a token, 403 without the permission.

The matrix is derived from the app itself — each route's ``require(Permission)``
dependency — so a new endpoint is covered the moment it is registered, and an endpoint
under /api/v1 that forgot to ask for a token fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import ROUTERS
from itsm_core.people.roles import ROLE_PERMISSIONS, Permission, Role
from tests.conftest import TokenFactory

OPEN_PATHS = {"/healthz", "/readyz", "/metrics"}


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependencies(sub)


def _permission(route: APIRoute) -> Permission | None:
    found = {
        getattr(call, "required_permission", None) for call in _dependencies(route.dependant)
    } - {None}
    assert len(found) <= 1, f"{route.path} asks for several permissions: {found}"
    return found.pop() if found else None


def _authenticates(route: APIRoute) -> bool:
    return any(
        getattr(call, "__name__", "") == "_current_actor" for call in _dependencies(route.dependant)
    )


def _api_routes(_app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    routes = []
    for route in (r for router in ROUTERS for r in router.routes):
        if isinstance(route, APIRoute) and route.path.startswith("/api/"):
            for method in sorted(route.methods):
                routes.append((method, route.path, route))
    return routes


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_api_route_requires_a_token(app: FastAPI, client: TestClient) -> None:
    routes = _api_routes(app)
    assert routes
    for method, path, route in routes:
        assert _authenticates(route), f"{method} {path} does not authenticate"
        response = client.request(method, _concrete(path), json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"


@pytest.mark.parametrize("role", list(Role))
def test_role_endpoint_matrix(
    role: Role, app: FastAPI, client: TestClient, auth: TokenFactory
) -> None:
    headers = auth(role)
    granted = ROLE_PERMISSIONS[role]
    for method, path, route in _api_routes(app):
        needed = _permission(route)
        response = client.request(method, _concrete(path), json={}, headers=headers)
        if needed is None or needed in granted:
            # Allowed through: whatever the answer (200, 404, 422…), it is not a refusal.
            assert response.status_code not in (401, 403), (
                f"{role} refused on {method} {path}: {response.text}"
            )
            assert response.status_code < 500, f"{method} {path}: {response.text}"
        else:
            assert response.status_code == 403, (
                f"{role} lacks {needed} but {method} {path} answered {response.status_code}"
            )


def test_matrix_covers_both_outcomes(app: FastAPI) -> None:
    # The matrix only proves something if some routes are refused to some roles.
    needed = {_permission(route) for _, _, route in _api_routes(app)} - {None}
    assert needed - ROLE_PERMISSIONS[Role.VIEWER]
    assert needed & ROLE_PERMISSIONS[Role.VIEWER]
