"""GET /api/v1/series and /api/v1/series/{id}/samples."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from collectors.samples import CIRef
from collectors.store.retention import roll_up
from itsm_core.people.roles import Role
from tests.collectors.store.factories import T0, write
from tests.conftest import TokenFactory
from tests.itsm_core.cmdb.factories import make_ci


def _iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def test_list_filters_and_pages(client: TestClient, session: Session, auth: TokenFactory) -> None:
    with session.begin():
        core = make_ci(session, "network_device", "core", source="snmp", external_id="core")
    ref = CIRef("snmp", "core")
    a = write(session, "if_in_bps", [(0, 1.0)], {"ifIndex": "1"}, ref)
    b = write(session, "if_in_bps", [(0, 1.0)], {"ifIndex": "2"}, ref)
    c = write(session, "if_in_bps", [(0, 1.0)], {"ifIndex": "1"})
    d = write(session, "cpu", [(0, 1.0)], {}, ref)
    headers = auth(Role.VIEWER)

    def ids(**params: object) -> list[int]:
        answer = client.get("/api/v1/series", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert ids() == [d, c, b, a]
    assert ids(metric="if_in_bps") == [c, b, a]
    assert ids(ci_id=core.id) == [d, b, a]
    assert ids(label="ifIndex=1") == [c, a]
    assert ids(metric="if_in_bps", label="ifIndex=1", ci_id=core.id) == [a]
    first = client.get("/api/v1/series", params={"limit": 3}, headers=headers).json()
    assert [i["id"] for i in first["items"]] == [d, c, b]
    rest = client.get(
        "/api/v1/series", params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert [i["id"] for i in rest["items"]] == [a]
    assert rest["next_cursor"] is None
    item = first["items"][0]
    assert item["metric"] == "cpu"
    assert item["ci_id"] == core.id
    assert item["ci_source"] == "snmp"
    assert item["last_sample_at"].startswith("2026-01-05T10:00:00")


def test_samples_raw_and_rolled_up(
    client: TestClient, session: Session, auth: TokenFactory
) -> None:
    a = write(session, "cpu", [(0, 1.0), (100, 3.0), (300, 5.0), (400, 9.0)])
    headers = auth(Role.ENGINEER)
    url = f"/api/v1/series/{a}/samples"
    raw = client.get(url, params={"start": _iso(0), "end": _iso(400)}, headers=headers)
    assert raw.status_code == 200, raw.text
    body = raw.json()
    assert body["series"]["id"] == a
    assert [p["value"] for p in body["points"]] == [1.0, 3.0, 5.0]
    assert body["next_start"] is None
    limited = client.get(
        url, params={"start": _iso(0), "end": _iso(500), "limit": 2}, headers=headers
    ).json()
    assert [p["value"] for p in limited["points"]] == [1.0, 3.0]
    assert limited["next_start"].startswith("2026-01-05T10:05:00")
    with session.begin():
        roll_up(session, T0, T0 + timedelta(minutes=10))
    rolled = client.get(
        url, params={"start": _iso(0), "end": _iso(3600), "resolution": "5m"}, headers=headers
    ).json()
    assert [(p["value"], p["min"], p["max"], p["count"], p["last"]) for p in rolled["points"]] == [
        (2.0, 1.0, 3.0, 2, 3.0),
        (7.0, 5.0, 9.0, 2, 9.0),
    ]


def test_bad_ranges_and_unknown_series(
    client: TestClient, session: Session, auth: TokenFactory
) -> None:
    a = write(session, "cpu", [(0, 1.0)])
    headers = auth(Role.VIEWER)
    url = f"/api/v1/series/{a}/samples"
    reversed_range = client.get(url, params={"start": _iso(60), "end": _iso(0)}, headers=headers)
    assert reversed_range.status_code == 422
    too_long = client.get(
        url, params={"start": _iso(0), "end": _iso(401 * 86_400)}, headers=headers
    )
    assert too_long.status_code == 422
    naive = client.get(url, params={"start": "2026-01-05T10:00:00"}, headers=headers)
    assert naive.status_code == 422
    edge = client.get(url, params={"end": "0001-01-01T00:00:00+00:00"}, headers=headers)
    assert edge.status_code == 422
    assert client.get("/api/v1/series/999999/samples", headers=headers).status_code == 404
    bad_label = client.get("/api/v1/series", params={"label": "no-equals"}, headers=headers)
    assert bad_label.status_code == 422


def test_reading_needs_metric_read(client: TestClient, auth: TokenFactory) -> None:
    assert client.get("/api/v1/series").status_code == 401
    source = auth(Role.ALERT_SOURCE)
    assert client.get("/api/v1/series", headers=source).status_code == 403
    assert client.get("/api/v1/series/1/samples", headers=source).status_code == 403
