"""The one place that turns errors into HTTP answers, all in one JSON shape.

Every error body is ``{type, title, detail, errors, request_id}`` with ``errors`` keyed by
field name. A 500 means a bug: it is logged with its request id and answered in the
same shape without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from itsm_core import errors as domain

log = logging.getLogger("fulcrum.api")

_STATUS: dict[type[domain.FulcrumError], int] = {
    domain.NotFound: 404,
    domain.InvalidTransition: 409,
    domain.Conflict: 409,
    domain.Forbidden: 403,
    domain.Unauthorized: 401,
    domain.ValidationFailed: 422,
    domain.DependencyUnavailable: 503,
}

_HTTP_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "service_unavailable",
}


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer."""

    type: str = Field(description="Stable machine-readable error kind, e.g. `not_found`.")
    title: str
    detail: str
    errors: dict[str, list[str]] = Field(default_factory=dict)
    request_id: str


def _type_of(exc: domain.FulcrumError) -> str:
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def error_response(
    request: Request,
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        type=kind,
        title=title,
        detail=detail,
        errors=errors or {},
        request_id=getattr(request.state, "request_id", "-"),
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "impact") -> "impact"; ("query", "limit") -> "limit"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(domain.FulcrumError)
    async def _domain(request: Request, exc: domain.FulcrumError) -> JSONResponse:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 503:
            headers = {"Retry-After": "5"}
        return error_response(
            request, status, _type_of(exc), exc.title, exc.detail, exc.errors, headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            errors.setdefault(_field_name(tuple(err.get("loc", ()))), []).append(err["msg"])
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
        return error_response(request, 422, "validation_error", "Validation failed", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _HTTP_TYPES.get(exc.status_code, "http_error")
        title = kind.replace("_", " ").capitalize()
        return error_response(
            request, exc.status_code, kind, title, str(exc.detail), headers=dict(exc.headers or {})
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error on %s: %s", request.url.path, exc.orig)
        return error_response(
            request, 409, "conflict", "Conflict", "the change conflicts with existing records"
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # Input the schemas let through but the database refuses (a NUL byte in text on
        # PostgreSQL, say): the caller's data, so a 422, never a 500.
        log.info("data error on %s: %s", request.url.path, exc.orig)
        return error_response(
            request,
            422,
            "validation_error",
            "Validation failed",
            "the database refused a value in the request (e.g. a NUL character in text)",
        )

    @app.exception_handler(OperationalError)
    async def _unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
        log.warning("database unavailable on %s: %s", request.url.path, exc.orig)
        return error_response(
            request,
            503,
            "service_unavailable",
            "Service unavailable",
            "the database is unavailable; retry later",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(
            request, 500, "internal_error", "Internal error", "an unexpected error occurred"
        )
