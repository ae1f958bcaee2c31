"""The CI list filters, and the class registry."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from itsm_core.actor import SYSTEM
from itsm_core.cmdb import classes, service
from itsm_core.cmdb.choices import Criticality, Lifecycle
from itsm_core.cmdb.queries import CIFilter, ci_query
from itsm_core.errors import ValidationFailed
from itsm_core.people import service as people
from tests.itsm_core.cmdb.factories import make_ci


def _names(session: Session, **criteria: object) -> list[str]:
    stmt = ci_query(CIFilter(**criteria), session.get_bind().dialect.name)  # type: ignore[arg-type]
    return sorted(ci.name for ci in session.scalars(stmt))


@pytest.fixture
def estate(session: Session) -> None:
    site = make_ci(session, "site", "dc")
    group = people.create_group(session, SYSTEM, "network")
    make_ci(
        session,
        "network_device",
        "Core-SW-01",
        site_id=site.id,
        owner_group_id=group.id,
        criticality="high",
        tags=["core", "dc"],
        management_address="10.0.0.1",
        source="snmp",
        external_id="10.0.0.1",
    )
    make_ci(session, "network_device", "cpe-01", tags=["village"], management_address="CPE-01.lan")
    make_ci(session, "vm", "his-db", criticality="clinical_critical", tags=["his"])
    retired = make_ci(session, "vm", "old-vm")
    service.retire_ci(session, SYSTEM, retired)


@pytest.mark.usefixtures("estate")
def test_each_filter_narrows_the_list(session: Session) -> None:
    group = people.find_group(session, "network")
    assert group is not None
    site_id = session.scalars(ci_query(CIFilter(ci_class="site"), "x")).one().id
    assert _names(session) == ["Core-SW-01", "cpe-01", "dc", "his-db"]
    assert _names(session, ci_class="vm") == ["his-db"]
    assert _names(session, site_id=site_id) == ["Core-SW-01"]
    assert _names(session, owner_group_id=group.id) == ["Core-SW-01"]
    assert _names(session, criticality=Criticality.CLINICAL_CRITICAL) == ["his-db"]
    assert _names(session, tag="village") == ["cpe-01"]
    assert _names(session, tag="core") == ["Core-SW-01"]
    assert _names(session, tag="cor") == []
    assert _names(session, q="sw") == ["Core-SW-01"]
    assert _names(session, q="%") == []
    assert _names(session, source="snmp") == ["Core-SW-01"]
    assert _names(session, external_id="10.0.0.1") == ["Core-SW-01"]
    assert _names(session, management_address="cpe-01.LAN.") == ["cpe-01"]


@pytest.mark.usefixtures("estate")
def test_retired_cis_are_listed_only_when_asked_for(session: Session) -> None:
    assert _names(session, lifecycle=(Lifecycle.RETIRED,)) == ["old-vm"]
    assert _names(session, ci_class="vm", lifecycle=(Lifecycle.ACTIVE, Lifecycle.RETIRED)) == [
        "his-db",
        "old-vm",
    ]


def test_the_builtin_classes_are_registered() -> None:
    assert classes.class_names() == [
        "application",
        "business_service",
        "database",
        "hypervisor_node",
        "interface",
        "network_device",
        "site",
        "vm",
    ]
    schema = classes.get_class("vm").json_schema()
    assert {"node", "vmid", "vcpus", "memory_mb"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_attribute_values_are_normalised() -> None:
    assert classes.validate_attributes(
        "interface", {"mac": "AA:BB:CC:DD:EE:FF", "speed_mbps": "1000"}
    ) == {"mac": "aa:bb:cc:dd:ee:ff", "speed_mbps": 1000}
    assert classes.validate_attributes("application", {"version": 6.0}) == {"version": "6.0"}
    assert classes.validate_attributes("business_service", {"clinical": "true"}) == {
        "clinical": True
    }


def test_bad_attributes_are_keyed_attributes_dot_name() -> None:
    with pytest.raises(ValidationFailed) as caught:
        classes.validate_attributes(
            "network_device", {"sys_object_id": "not-an-oid", "snmp_port": 0, "colour": "red"}
        )
    assert set(caught.value.errors) == {
        "attributes.sys_object_id",
        "attributes.snmp_port",
        "attributes.colour",
    }


def test_a_class_with_a_secret_looking_attribute_cannot_be_registered() -> None:
    class Leaky(classes.Attributes):
        snmp_community: str | None = None

    with pytest.raises(ValueError, match="secrets"):
        classes.register(classes.CIClass("leaky", "Leaky", "", Leaky))
    assert "leaky" not in classes.class_names()


def test_a_new_class_can_be_registered() -> None:
    class UpsAttributes(classes.Attributes):
        runtime_minutes: int | None = None

    try:
        classes.register(classes.CIClass("ups", "UPS", "Uninterruptible power", UpsAttributes))
        assert classes.validate_attributes("ups", {"runtime_minutes": "30"}) == {
            "runtime_minutes": 30
        }
    finally:
        classes._REGISTRY.pop("ups", None)
