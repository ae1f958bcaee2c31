"""The demo estate is seed 000's county network, and seeding it twice changes nothing."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.demo.estate import CLINICS_BEHIND_FIRST, TOWNSHIPS, Estate, seed_estate
from api.demo.seed import seed_demo
from itsm_core.cmdb.choices import Criticality
from itsm_core.cmdb.impact import impact_of_cis
from itsm_core.cmdb.models import CIRelationship, ConfigurationItem


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _seed(session: Session) -> Estate:
    estate = seed_estate(session)
    session.commit()
    return estate


def test_estate_has_the_county_network(session: Session) -> None:
    estate = _seed(session)
    classes = {}
    for ci in estate.cis.values():
        classes[ci.ci_class] = classes.get(ci.ci_class, 0) + 1
    assert classes["hypervisor_node"] == 3
    routers = [k for k in estate.cis if k.startswith("rt-")]
    assert len(routers) == len(TOWNSHIPS) == 19
    services = [ci for ci in estate.cis.values() if ci.ci_class == "business_service"]
    assert {s.criticality for s in services} == {Criticality.CLINICAL_CRITICAL}
    assert len(services) == 5


def test_a_township_router_takes_its_clinics_and_telemedicine_down(session: Session) -> None:
    estate = _seed(session)
    summary = impact_of_cis(session, [estate.cis["rt-t01"].id])
    cpes = [n for n in summary.impacted if n.name.endswith("CPE")]
    assert len(cpes) == CLINICS_BEHIND_FIRST
    assert [s.name for s in summary.business_services] == ["远程会诊 (Telemedicine)"]


def test_one_telemedicine_gateway_only_degrades_the_service(session: Session) -> None:
    estate = _seed(session)
    one = impact_of_cis(session, [estate.cis["tele-gw-01"].id])
    assert one.business_services == []
    assert [s.name for s in one.degraded_business_services] == ["远程会诊 (Telemedicine)"]
    both = impact_of_cis(session, [estate.cis["tele-gw-01"].id, estate.cis["tele-gw-02"].id])
    assert [s.name for s in both.business_services] == ["远程会诊 (Telemedicine)"]


def test_emr_database_vm_reaches_a_clinical_critical_service(session: Session) -> None:
    estate = _seed(session)
    summary = impact_of_cis(session, [estate.cis["emr-db-01"].id])
    assert summary.clinical_critical
    assert "电子病历 (EMR)" in [s.name for s in summary.business_services]


def test_seeding_twice_changes_nothing(session: Session) -> None:
    seed_demo(session)
    session.commit()
    before = (_count(session, ConfigurationItem), _count(session, CIRelationship))
    seed_demo(session)
    session.commit()
    assert (_count(session, ConfigurationItem), _count(session, CIRelationship)) == before


def test_demo_has_sla_policies_for_every_priority_and_open_incidents(session: Session) -> None:
    from itsm_core.incidents.models import Incident
    from itsm_core.sla.models import SlaPolicy

    seed_demo(session)
    session.commit()
    policies = session.scalars(select(SlaPolicy)).all()
    assert sorted(p.priority for p in policies) == ["P1", "P2", "P3", "P4", "P5"]
    assert _count(session, Incident) == 3
