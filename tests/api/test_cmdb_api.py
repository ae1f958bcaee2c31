"""The CMDB over HTTP: CRUD, filters, history, relationships, impact, import/export."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app as cli_app
from itsm_core.people.roles import Role
from itsm_core.settings import Settings
from tests.conftest import TokenFactory

ERROR_KEYS = {"type", "title", "detail", "errors", "request_id"}
API = "/api/v1"


@pytest.fixture
def writer(auth: TokenFactory) -> dict[str, str]:
    return auth(Role.ENGINEER, "eng")


def _create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/cis", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_create_read_update_retire(client: TestClient, writer: dict[str, str]) -> None:
    ci = _create(
        client,
        writer,
        **{"class": "vm", "name": "his-db-01", "attributes": {"vcpus": 4, "vmid": 101}},
    )
    assert ci["class"] == "vm"
    assert ci["lifecycle"] == "active"
    url = f"{API}/cis/{ci['id']}"
    assert client.get(url, headers=writer).json()["name"] == "his-db-01"

    patched = client.patch(
        url,
        json={"criticality": "clinical_critical", "attributes": {"vcpus": 8, "vmid": None}},
        headers=writer,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["attributes"] == {"vcpus": 8}

    retired = client.delete(url, headers=writer)
    assert retired.status_code == 200
    assert retired.json()["lifecycle"] == "retired"
    assert client.get(url, headers=writer).status_code == 200

    history = client.get(f"{url}/history", headers=writer).json()["items"]
    fields = [h["field"] for h in history]
    assert fields == [
        "lifecycle",
        "attributes.vmid",
        "attributes.vcpus",
        "criticality",
        "created",
    ]
    assert history[0]["actor"] == "eng"
    only_attributes = client.get(
        f"{url}/history", params={"field": "attributes.*"}, headers=writer
    ).json()["items"]
    assert [h["field"] for h in only_attributes] == ["attributes.vmid", "attributes.vcpus"]


def test_errors_have_the_one_shape(client: TestClient, writer: dict[str, str]) -> None:
    missing = client.get(f"{API}/cis/99999", headers=writer)
    assert missing.status_code == 404
    assert set(missing.json()) == ERROR_KEYS

    bad = client.post(
        f"{API}/cis",
        json={"class": "vm", "name": "x", "attributes": {"vcpus": "many", "colour": "red"}},
        headers=writer,
    )
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"attributes.vcpus", "attributes.colour"}

    unknown = client.post(f"{API}/cis", json={"class": "toaster", "name": "t"}, headers=writer)
    assert unknown.status_code == 422
    assert "class" in unknown.json()["errors"]

    extra = client.post(f"{API}/cis", json={"class": "vm", "name": "x", "x": 1}, headers=writer)
    assert extra.status_code == 422
    assert "x" in extra.json()["errors"]

    _create(client, writer, **{"class": "vm", "name": "a", "source": "pve", "external_id": "1"})
    dup = client.post(
        f"{API}/cis",
        json={"class": "vm", "name": "b", "source": "pve", "external_id": "1"},
        headers=writer,
    )
    assert dup.status_code == 409
    assert set(dup.json()) == ERROR_KEYS
    assert "external_id" in dup.json()["errors"]

    ci = _create(client, writer, **{"class": "vm", "name": "c"})
    null_name = client.patch(f"{API}/cis/{ci['id']}", json={"name": None}, headers=writer)
    assert null_name.status_code == 422
    planned = client.patch(f"{API}/cis/{ci['id']}", json={"lifecycle": "planned"}, headers=writer)
    assert planned.status_code == 409
    assert "lifecycle" in planned.json()["errors"]


def test_list_filters_and_pages(client: TestClient, writer: dict[str, str]) -> None:
    site = _create(client, writer, **{"class": "site", "name": "dc"})
    for i in range(5):
        _create(
            client,
            writer,
            **{
                "class": "network_device",
                "name": f"Core-SW-{i}",
                "site_id": site["id"],
                "tags": ["core"] if i % 2 == 0 else [],
                "management_address": f"10.0.0.{i}",
            },
        )
    _create(client, writer, **{"class": "vm", "name": "his"})

    def names(**params: Any) -> list[str]:
        response = client.get(f"{API}/cis", params=params, headers=writer)
        assert response.status_code == 200, response.text
        return sorted(ci["name"] for ci in response.json()["items"])

    assert names(**{"class": "vm"}) == ["his"]
    assert names(site_id=site["id"], tag="core") == ["Core-SW-0", "Core-SW-2", "Core-SW-4"]
    assert names(q="core-sw-3") == ["Core-SW-3"]
    assert names(management_address="10.0.0.1") == ["Core-SW-1"]
    assert names(lifecycle="retired") == []

    seen: list[str] = []
    params: dict[str, Any] = {"class": "network_device", "limit": 2}
    while True:
        page = client.get(f"{API}/cis", params=params, headers=writer).json()
        seen += [ci["name"] for ci in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == 5

    bad_class = client.get(f"{API}/cis", params={"class": "toaster"}, headers=writer)
    assert bad_class.status_code == 422


def test_relationships_endpoints(client: TestClient, writer: dict[str, str]) -> None:
    vm = _create(client, writer, **{"class": "vm", "name": "vm-1"})
    node = _create(client, writer, **{"class": "hypervisor_node", "name": "pve-01"})
    url = f"{API}/cis/{vm['id']}/relationships"
    created = client.post(
        url, json={"relation": "runs_on", "target_id": node["id"]}, headers=writer
    )
    assert created.status_code == 201, created.text
    rel = created.json()
    assert rel["source"]["name"] == "vm-1"
    assert rel["target"]["class"] == "hypervisor_node"

    again = client.post(url, json={"relation": "runs_on", "target_id": node["id"]}, headers=writer)
    assert again.status_code == 409
    inverse = client.post(
        f"{API}/cis/{node['id']}/relationships",
        json={"relation": "hosts", "target_id": vm["id"]},
        headers=writer,
    )
    assert inverse.status_code == 409
    self_edge = client.post(
        url, json={"relation": "depends_on", "target_id": vm["id"]}, headers=writer
    )
    assert self_edge.status_code == 422
    assert "target_id" in self_edge.json()["errors"]
    wrong_pair = client.post(
        f"{API}/cis/{node['id']}/relationships",
        json={"relation": "runs_on", "target_id": vm["id"]},
        headers=writer,
    )
    assert wrong_pair.status_code == 422
    assert "relation" in wrong_pair.json()["errors"]
    no_target = client.post(url, json={"relation": "runs_on", "target_id": 99999}, headers=writer)
    assert no_target.status_code == 404

    listed = client.get(f"{API}/cis/{node['id']}/relationships", headers=writer).json()
    assert [r["id"] for r in listed["items"]] == [rel["id"]]
    outgoing = client.get(
        f"{API}/cis/{node['id']}/relationships", params={"side": "outgoing"}, headers=writer
    ).json()
    assert outgoing["items"] == []
    assert client.get(f"{API}/relationships/{rel['id']}", headers=writer).status_code == 200

    deleted = client.delete(f"{API}/relationships/{rel['id']}", headers=writer)
    assert deleted.status_code == 204
    assert client.delete(f"{API}/relationships/{rel['id']}", headers=writer).status_code == 404
    history = client.get(f"{API}/cis/{vm['id']}/history", headers=writer).json()["items"]
    assert [h["field"] for h in history[:2]] == ["relationship", "relationship"]


def test_impact_endpoint(client: TestClient, writer: dict[str, str]) -> None:
    core = _create(client, writer, **{"class": "network_device", "name": "core"})
    router = _create(client, writer, **{"class": "network_device", "name": "router"})
    cpe = _create(client, writer, **{"class": "network_device", "name": "cpe"})
    svc = _create(
        client,
        writer,
        **{"class": "business_service", "name": "telemed", "criticality": "clinical_critical"},
    )
    for source, relation, target in (
        (router, "connected_to", core),
        (cpe, "connected_to", router),
        (svc, "depends_on", cpe),
    ):
        response = client.post(
            f"{API}/cis/{source['id']}/relationships",
            json={"relation": relation, "target_id": target["id"]},
            headers=writer,
        )
        assert response.status_code == 201

    url = f"{API}/cis/{core['id']}/impact"
    body = client.get(url, params={"depth": 6}, headers=writer).json()
    assert body["total"] == {"downstream": 3, "downstream_degraded": 0, "upstream": 0}
    assert body["highest_criticality"] == "clinical_critical"
    (service,) = body["business_services"]
    assert service["depth"] == 3
    assert [step["name"] for step in service["path"]] == ["core", "router", "cpe", "telemed"]
    assert service["path"][1]["sentence"] == "router connected_to core"
    assert body["truncated"] is False

    shallow = client.get(url, params={"depth": 1}, headers=writer).json()
    assert [c["name"] for c in shallow["cis"]] == ["router"]
    limited = client.get(url, params={"limit": 1}, headers=writer).json()
    assert limited["truncated"] is True
    only = client.get(url, params={"class": "business_service"}, headers=writer).json()
    assert [c["name"] for c in only["cis"]] == ["telemed"]

    up = client.get(
        f"{API}/cis/{svc['id']}/impact", params={"direction": "upstream"}, headers=writer
    ).json()
    assert [c["name"] for c in up["cis"]] == ["cpe", "router", "core"]
    assert [c["direction"] for c in up["cis"]] == ["upstream"] * 3

    assert client.get(url, params={"depth": 11}, headers=writer).status_code == 422
    assert client.get(url, params={"direction": "sideways"}, headers=writer).status_code == 422
    assert client.get(f"{API}/cis/99999/impact", headers=writer).status_code == 404


def test_registry_endpoints(client: TestClient, auth: TokenFactory) -> None:
    viewer = auth(Role.VIEWER)
    classes = client.get(f"{API}/ci-classes", headers=viewer).json()
    vm = next(c for c in classes if c["name"] == "vm")
    assert "vmid" in vm["attributes_schema"]["properties"]
    relations = {
        r["relation"]: r for r in client.get(f"{API}/ci-relation-types", headers=viewer).json()
    }
    assert relations["hosts"]["dependent"] == "target"
    assert relations["connected_to"]["dependent"] == "source"
    assert "vm hypervisor_node" in relations["runs_on"]["allowed"]


def test_viewers_read_but_do_not_write(client: TestClient, auth: TokenFactory) -> None:
    viewer = auth(Role.VIEWER)
    assert client.get(f"{API}/cis", headers=viewer).status_code == 200
    refused = client.post(f"{API}/cis", json={"class": "vm", "name": "x"}, headers=viewer)
    assert refused.status_code == 403
    refused_import = client.post(
        f"{API}/cmdb/import?format=csv", content=b"class,name\nvm,x\n", headers=viewer
    )
    assert refused_import.status_code == 403


def test_import_and_export_over_http(client: TestClient, writer: dict[str, str]) -> None:
    csv_body = b"class,name,criticality\nsite,dc,high\nvm,his-db,clinical_critical\n"
    headers = {**writer, "Content-Type": "text/csv"}
    dry = client.post(
        f"{API}/cmdb/import", params={"dry_run": "true"}, content=csv_body, headers=headers
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["created"] == 2
    assert client.get(f"{API}/cis", headers=writer).json()["items"] == []

    done = client.post(f"{API}/cmdb/import", content=csv_body, headers=headers)
    assert done.json()["created"] == 2

    exported = client.get(f"{API}/cmdb/export", params={"format": "yaml"}, headers=writer)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/yaml")
    yaml_headers = {**writer, "Content-Type": "application/yaml"}
    again = client.post(f"{API}/cmdb/import", content=exported.content, headers=yaml_headers)
    assert again.json()["unchanged"] == 2

    csv_out = client.get(f"{API}/cmdb/export", params={"format": "csv"}, headers=writer)
    assert csv_out.headers["content-type"].startswith("text/csv")
    assert "his-db" in csv_out.text

    broken = client.post(
        f"{API}/cmdb/import", content=b"class,name\nvm,\ntoaster,t\n", headers=headers
    )
    assert broken.status_code == 422
    assert set(broken.json()) == ERROR_KEYS
    assert set(broken.json()["errors"]) == {"row 2: name", "row 3: class"}

    unknown_format = client.post(f"{API}/cmdb/import", content=b"x", headers=writer)
    assert unknown_format.status_code == 422
    assert "format" in unknown_format.json()["errors"]
    binary = client.post(
        f"{API}/cmdb/import", params={"format": "csv"}, content=b"\xff\xfe\x00\x81", headers=writer
    )
    assert binary.status_code == 422


def test_cli_import_and_export(
    engine: Engine,
    settings: Settings,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    monkeypatch.setenv("FULCRUM_DATABASE_URL", settings.database.url.get_secret_value())
    estate = tmp_path / "estate.yaml"
    estate.write_text(
        "cis:\n  - {class: site, name: dc}\n  - {class: vm, name: his, site: dc}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    dry = runner.invoke(cli_app, ["cmdb", "import", str(estate), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("dry run, nothing kept: 2 CI(s) created")
    done = runner.invoke(cli_app, ["cmdb", "import", str(estate)])
    assert done.exit_code == 0, done.output
    assert "2 CI(s) created" in done.output

    exported = runner.invoke(cli_app, ["cmdb", "export", "--format", "csv"])
    assert exported.exit_code == 0
    assert "ci,vm,his,,import,dc," in exported.output
    out = tmp_path / "dump.yaml"
    assert runner.invoke(cli_app, ["cmdb", "export", "-o", str(out)]).exit_code == 0
    assert "name: his" in out.read_text(encoding="utf-8")

    bad = tmp_path / "bad.csv"
    bad.write_text("class,name\ntoaster,t\n", encoding="utf-8")
    failed = runner.invoke(cli_app, ["cmdb", "import", str(bad)])
    assert failed.exit_code == 1
    assert "row 2: class" in failed.output
    unknown = tmp_path / "estate.txt"
    unknown.write_text("", encoding="utf-8")
    assert runner.invoke(cli_app, ["cmdb", "import", str(unknown)]).exit_code == 2
