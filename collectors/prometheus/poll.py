"""One poll of one Prometheus: run the configured queries, map series to samples and CIs.

The entry point (the CLI's ``fulcrum poll prometheus`` and the scheduler call it)::

    async def poll_prometheus(
        url: str,
        queries: Sequence[PrometheusQuery | str],
        *,
        token: str | None = None,                    # bearer token
        basic_auth: tuple[str, str] | None = None,   # or user + password
        timeout: float = 10.0,                       # seconds, per request
        verify: bool | str | ssl.SSLContext = True,  # TLS: on, off, a CA file, a context
        at: datetime | None = None,                  # evaluation time (default: now)
        max_points: int = 11_000,                    # per series per range request
        client: httpx.AsyncClient | None = None,     # reuse a client (its base_url wins)
    ) -> PollResult

A plain string in ``queries`` is an instant query named ``query`` (``query_2`` … for
later ones). Each series point becomes ``Sample(metric=query.name, value, ts, labels,
ci)`` with the series' labels minus ``__name__``, and ``ci`` rendered from the query's
label template (``None`` when the template is unset or a label is missing). The first
failing query fails the poll with a :mod:`collectors.errors` exception that names it.

``poll_with_settings(PrometheusSettings)`` does the same from the ``[prometheus]``
settings.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from collectors.errors import CollectorError
from collectors.prometheus.api import PrometheusApi, Series, display_target
from collectors.prometheus.settings import (
    PROMETHEUS_MAX_POINTS,
    PrometheusQuery,
    PrometheusSettings,
)
from collectors.result import PollResult
from collectors.samples import Sample
from itsm_core.timeutil import utcnow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tls_context(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    """httpx wants a context for a CA bundle (a path string is deprecated there)."""
    if not isinstance(verify, str):
        return verify
    if Path(verify).is_dir():
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


def as_queries(queries: Sequence[PrometheusQuery | str]) -> list[PrometheusQuery]:
    """Plain PromQL strings become instant queries named ``query``, ``query_2`` …"""
    out: list[PrometheusQuery] = []
    for index, query in enumerate(queries, start=1):
        if isinstance(query, str):
            name = "query" if index == 1 else f"query_{index}"
            query = PrometheusQuery(name=name, promql=query)
        out.append(query)
    return out


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _samples(query: PrometheusQuery, series: list[Series]) -> list[Sample]:
    template = query.template()
    out: list[Sample] = []
    for one in series:
        labels = {k: v for k, v in one.labels.items() if k != "__name__"}
        ci = None if template is None else template.ci_ref(one.labels, query.ci_source)
        out.extend(
            Sample(
                metric=query.name,
                value=value,
                ts=_EPOCH + timedelta(milliseconds=ms),
                labels=labels,
                ci=ci,
            )
            for ms, value in one.points
        )
    return out


async def _run(
    api: PrometheusApi,
    queries: list[PrometheusQuery],
    at_ms: int,
    max_points: int,
) -> list[Sample]:
    samples: list[Sample] = []
    for query in queries:
        try:
            if query.range_seconds is None:
                series = await api.instant(query.promql, at_ms)
            else:
                step_ms = max(1, round(query.step_seconds * 1000))
                end_ms = at_ms - at_ms % step_ms  # on the step grid: polls line up
                start_ms = end_ms - round(query.range_seconds * 1000)
                series = await api.range(query.promql, start_ms, end_ms, step_ms, max_points)
        except CollectorError as exc:
            # Same class, with the query named so the operator knows which one to fix.
            raise type(exc)(exc.target, f"query {query.name!r}: {exc.detail}") from exc
        samples.extend(_samples(query, series))
    return samples


async def poll_prometheus(
    url: str,
    queries: Sequence[PrometheusQuery | str],
    *,
    token: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    timeout: float = 10.0,
    verify: bool | str | ssl.SSLContext = True,
    at: datetime | None = None,
    max_points: int = PROMETHEUS_MAX_POINTS,
    client: httpx.AsyncClient | None = None,
) -> PollResult:
    """Run ``queries`` against the Prometheus at ``url``; see the module docstring."""
    if token is not None and basic_auth is not None:
        raise ValueError("give either a bearer token or basic auth, not both")
    target = display_target(url)
    parsed = list(as_queries(queries))
    at_ms = _ms(at if at is not None else utcnow())
    limit = max(1, min(max_points, PROMETHEUS_MAX_POINTS))
    if client is not None:
        samples = await _run(PrometheusApi(client, target), parsed, at_ms, limit)
        return PollResult(target=target, samples=samples)
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"),
        headers=headers,
        auth=basic_auth,
        timeout=timeout,
        verify=tls_context(verify),
        follow_redirects=False,
    ) as own_client:
        samples = await _run(PrometheusApi(own_client, target), parsed, at_ms, limit)
    return PollResult(target=target, samples=samples)


async def poll_with_settings(
    config: PrometheusSettings, *, at: datetime | None = None
) -> PollResult:
    """One poll of the ``[prometheus]`` server with its configured queries."""
    if not config.url:
        raise ValueError("[prometheus] url is not set")
    verify: bool | str = config.verify_tls
    if config.verify_tls and config.ca_bundle is not None:
        verify = str(config.ca_bundle)
    return await poll_prometheus(
        config.url,
        config.queries,
        token=config.token(),
        basic_auth=config.basic_auth(),
        timeout=config.timeout_seconds,
        verify=verify,
        at=at,
        max_points=config.max_points_per_request,
    )
