"""The Prometheus HTTP API as the collector uses it: instant and range queries.

Every failure leaves this module as a :mod:`collectors.errors` class — no answer
(refused, timeout, DNS) → ``TargetUnreachable``; 401/403 → ``AuthenticationFailed``;
a server certificate we do not trust, any other non-2xx, a body that is not
Prometheus' JSON envelope, or a query error (``{"status": "error", "errorType":
"bad_data", …}``) → ``ProtocolError`` carrying Prometheus' own message.

Range queries longer than ``max_points`` steps are split into consecutive requests that
keep the original step grid, so the pieces join without gaps or overlaps.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from collectors.errors import AuthenticationFailed, ProtocolError, TargetUnreachable

log = logging.getLogger("fulcrum.collectors.prometheus")

# One result series: its labels and its (milliseconds, value) points.
Points = list[tuple[int, float]]


@dataclass(frozen=True, slots=True)
class Series:
    labels: dict[str, str]
    points: Points


def display_target(url: str) -> str:
    """The URL without credentials, for error messages and PollResult.target."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


def range_windows(
    start_ms: int, end_ms: int, step_ms: int, max_points: int
) -> Iterator[tuple[int, int]]:
    """``(start, end)`` pieces of a range query, each with at most ``max_points`` points.

    Prometheus evaluates at ``start + k·step`` up to ``end``; piece *i* starts exactly
    ``i·max_points`` steps in, so every piece stays on the original grid.
    """
    if step_ms <= 0:
        raise ValueError("step must be positive")
    if max_points < 1:
        raise ValueError("max_points must be positive")
    span = (max_points - 1) * step_ms
    piece_start = start_ms
    while piece_start <= end_ms:
        yield piece_start, min(piece_start + span, end_ms)
        piece_start += max_points * step_ms


def _seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _parse_value(raw: Any) -> tuple[int, float]:
    ts, value = raw
    return round(float(ts) * 1000), float(value)


class PrometheusApi:
    """Queries one Prometheus over ``client`` (whose base_url is the server's)."""

    def __init__(self, client: httpx.AsyncClient, target: str) -> None:
        self._client = client
        self.target = target

    async def instant(self, promql: str, at_ms: int | None = None) -> list[Series]:
        form = {"query": promql}
        if at_ms is not None:
            form["time"] = _seconds(at_ms)
        return self._series(await self._post("/api/v1/query", form))

    async def range(
        self, promql: str, start_ms: int, end_ms: int, step_ms: int, max_points: int
    ) -> list[Series]:
        """``query_range`` over [start, end], in as many requests as the limit needs."""
        merged: dict[tuple[tuple[str, str], ...], Points] = {}
        labels_of: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        for piece_start, piece_end in range_windows(start_ms, end_ms, step_ms, max_points):
            form = {
                "query": promql,
                "start": _seconds(piece_start),
                "end": _seconds(piece_end),
                "step": _seconds(step_ms),
            }
            for series in self._series(await self._post("/api/v1/query_range", form)):
                key = tuple(sorted(series.labels.items()))
                labels_of.setdefault(key, series.labels)
                merged.setdefault(key, []).extend(series.points)
        out = []
        for key, points in merged.items():
            unique = sorted(dict(points).items())  # pieces never overlap; be safe anyway
            out.append(Series(labels_of[key], unique))
        return out

    # -- transport and envelope -----------------------------------------------------
    async def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        try:
            answer = await self._client.post(path, data=form)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ProtocolError(self.target, f"bad URL: {exc}") from exc
        except httpx.TransportError as exc:
            if _untrusted_certificate(exc):
                # It answered; we do not trust who answered: a configuration matter.
                raise ProtocolError(self.target, f"TLS certificate not trusted: {exc}") from exc
            raise TargetUnreachable(self.target, f"{type(exc).__name__}: {exc}") from exc
        if answer.status_code in (401, 403):
            raise AuthenticationFailed(self.target, f"HTTP {answer.status_code} from {path}")
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProtocolError(
                self.target,
                f"HTTP {answer.status_code} from {path}: not a Prometheus API answer "
                f"({answer.headers.get('content-type', 'no content type')})",
            )
        if body.get("status") != "success" or not answer.is_success:
            kind = body.get("errorType", "error")
            message = body.get("error", "no error message")
            raise ProtocolError(
                self.target, f"HTTP {answer.status_code} from {path}: {kind}: {message}"
            )
        for warning in body.get("warnings") or ():
            log.warning("%s %s: %s", self.target, path, warning)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProtocolError(self.target, f"{path}: answer without data")
        return data

    def _series(self, data: dict[str, Any]) -> list[Series]:
        kind = data.get("resultType")
        result: Any = data.get("result")
        try:
            if kind == "scalar":
                return [Series({}, [_parse_value(result)])]
            if kind == "vector":
                return [
                    Series(_labels(item["metric"]), [_parse_value(item["value"])])
                    for item in result
                ]
            if kind == "matrix":
                return [
                    Series(_labels(item["metric"]), [_parse_value(v) for v in item["values"]])
                    for item in result
                ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(self.target, f"malformed {kind} result: {exc!r}") from exc
        raise ProtocolError(self.target, f"unsupported result type {kind!r}")


def _untrusted_certificate(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _labels(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise TypeError("series labels are not an object")
    return {str(k): str(v) for k, v in raw.items()}
