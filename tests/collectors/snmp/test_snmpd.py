"""The collector against Debian's net-snmp ``snmpd`` on loopback: v2c, v3, failures."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from collectors.errors import AuthenticationFailed, ProtocolError, TargetUnreachable
from collectors.snmp import RateState, SnmpTarget, poll_snmp
from collectors.snmp.choices import AuthProtocol, PrivProtocol, SnmpVersion
from collectors.snmp.session import SnmpSession
from tests.collectors.snmp.conftest import run
from tests.peers.snmp import (
    AUTH_PASS,
    PRIV_PASS,
    SnmpdPeer,
    environment_has_crypto,
    free_udp_port,
)

NET_SNMP_AUTH = {
    "MD5": AuthProtocol.MD5,
    "SHA": AuthProtocol.SHA,
    "SHA-224": AuthProtocol.SHA224,
    "SHA-256": AuthProtocol.SHA256,
    "SHA-384": AuthProtocol.SHA384,
    "SHA-512": AuthProtocol.SHA512,
}
NET_SNMP_PRIV = {
    "DES": PrivProtocol.DES,
    "AES": PrivProtocol.AES128,
    "AES-192": PrivProtocol.AES192,
    "AES-256": PrivProtocol.AES256,
}
needs_crypto = pytest.mark.skipif(
    not environment_has_crypto(),
    reason="pysnmp needs the 'cryptography' package for DES/AES privacy (not installed)",
)


def v2c(peer: SnmpdPeer, community: str | None = None, **extra: object) -> SnmpTarget:
    return SnmpTarget(
        host="127.0.0.1",
        port=peer.port,
        community=SecretStr(community or peer.community),
        **extra,  # type: ignore[arg-type]
    )


def v3(peer: SnmpdPeer, user: str, auth: str, priv: str | None, **extra: object) -> SnmpTarget:
    fields: dict[str, object] = {
        "host": "127.0.0.1",
        "port": peer.port,
        "version": SnmpVersion.V3,
        "user": user,
        "auth_protocol": NET_SNMP_AUTH[auth],
        "auth_key": SecretStr(AUTH_PASS),
    }
    if priv is not None:
        fields |= {"priv_protocol": NET_SNMP_PRIV[priv], "priv_key": SecretStr(PRIV_PASS)}
    fields |= extra
    return SnmpTarget.model_validate(fields)


def test_v2c_poll_reads_this_machines_interfaces_and_storage(snmpd_peer: SnmpdPeer) -> None:
    target = v2c(snmpd_peer)
    result = run(poll_snmp(target))

    device = result.cis[0]
    assert device.ci_class == "network_device"
    assert device.name == "fulcrum-test-snmpd"
    assert device.attributes["vendor"] == "Net-SNMP"  # sysObjectID 1.3.6.1.4.1.8072.…
    assert device.attributes["snmp_port"] == snmpd_peer.port
    interfaces = {ci.attributes["if_name"]: ci for ci in result.cis[1:]}
    assert interfaces["lo"].attributes["if_type"] == 24  # softwareLoopback
    assert interfaces["lo"].ref.external_id == f"127.0.0.1:{snmpd_peer.port}:1"
    assert {r.relation for r in result.relations} == {"part_of"}
    assert result.complete == frozenset({"interface"})
    assert result.scope == f"127.0.0.1:{snmpd_peer.port}:"

    by_metric: dict[str, list[float]] = {}
    for sample in result.samples:
        by_metric.setdefault(sample.metric, []).append(sample.value)
    assert by_metric["snmp_up"] == [1.0]
    assert by_metric["snmp_uptime_seconds"][0] > 0
    assert by_metric["snmp_response_seconds"][0] > 0
    ram = [
        s
        for s in result.samples
        if s.metric == "snmp_storage_size_bytes" and s.labels["type"] == "ram"
    ]
    assert ram
    assert ram[0].value > 64 * 2**20  # this machine has more than 64 MiB of RAM
    assert not any(m.endswith("_bps") for m in by_metric)  # no state: no rates


def test_v2c_rates_on_the_second_poll(snmpd_peer: SnmpdPeer) -> None:
    target = v2c(snmpd_peer)
    state = RateState()

    async def twice() -> list[float]:
        await poll_snmp(target, state)
        second = await poll_snmp(target, state)
        return [
            s.value
            for s in second.samples
            if s.metric in ("snmp_if_in_bps", "snmp_if_out_bps") and s.labels["ifName"] == "lo"
        ]

    lo_rates = run(twice())
    assert len(lo_rates) == 2
    assert all(rate >= 0 for rate in lo_rates)


@pytest.mark.parametrize(("user", "auth"), [("authmd5", "MD5"), ("authsha", "SHA")])
def test_v3_auth_no_priv(snmpd_peer: SnmpdPeer, user: str, auth: str) -> None:
    result = run(poll_snmp(v3(snmpd_peer, user, auth, None)))
    assert result.cis[0].attributes["snmp_version"] == "v3"
    assert any(s.metric == "snmp_if_oper_status" for s in result.samples)


@needs_crypto
@pytest.mark.parametrize(
    ("user", "auth", "priv"),
    [
        ("sha224des", "SHA-224", "DES"),
        ("sha256aes", "SHA-256", "AES"),
        ("sha384aes192", "SHA-384", "AES-192"),
        ("sha512aes256", "SHA-512", "AES-256"),
        ("md5aes256", "MD5", "AES-256"),  # short key: AES-256 key extension must match
    ],
)
def test_v3_auth_priv(snmpd_peer: SnmpdPeer, user: str, auth: str, priv: str) -> None:
    result = run(poll_snmp(v3(snmpd_peer, user, auth, priv)))
    assert result.cis[0].name == "fulcrum-test-snmpd"


@pytest.mark.skipif(environment_has_crypto(), reason="only without the cryptography package")
def test_privacy_without_a_cipher_library_fails_clearly(snmpd_peer: SnmpdPeer) -> None:
    with pytest.raises(ProtocolError, match="cryptography"):
        run(poll_snmp(v3(snmpd_peer, "sha256aes", "SHA-256", "AES")))


def test_wrong_v3_password_is_authentication_failed(snmpd_peer: SnmpdPeer) -> None:
    target = v3(snmpd_peer, "authsha", "SHA", None, auth_key=SecretStr("not-the-password"))
    with pytest.raises(AuthenticationFailed) as raised:
        run(poll_snmp(target))
    assert "authsha" in raised.value.detail
    assert raised.value.reason == "authentication_failed"


def test_unknown_v3_user_is_authentication_failed(snmpd_peer: SnmpdPeer) -> None:
    target = v3(snmpd_peer, "nobody-here", "SHA", None)
    with pytest.raises(AuthenticationFailed, match=r"[Uu]nknown"):
        run(poll_snmp(target))


def test_wrong_community_times_out_and_says_so(snmpd_peer: SnmpdPeer) -> None:
    target = v2c(snmpd_peer, "wrong-community", timeout=0.5, retries=0)
    with pytest.raises(TargetUnreachable) as raised:
        run(poll_snmp(target))
    assert "wrong community" in raised.value.detail
    assert "wrong-community" not in str(raised.value)


def test_dead_port_is_unreachable() -> None:
    target = SnmpTarget(
        host="127.0.0.1", port=free_udp_port(), community=SecretStr("x"), timeout=0.2, retries=0
    )
    with pytest.raises(TargetUnreachable, match="no answer after 1 attempt"):
        run(poll_snmp(target))


def test_unresolvable_host_is_unreachable() -> None:
    target = SnmpTarget(host="no-such-host.invalid", community=SecretStr("x"), timeout=0.2)
    with pytest.raises(TargetUnreachable, match="cannot resolve"):
        run(poll_snmp(target))


def test_column_walk_stays_inside_its_subtree(snmpd_peer: SnmpdPeer) -> None:
    # sysORTable (1.3.6.1.2.1.1.9.1.2) is followed by other groups; none may leak in.
    async def walk() -> dict[tuple[int, ...], object]:
        session = await SnmpSession.open(v2c(snmpd_peer, max_repetitions=50))
        found = await session.walk_columns(["1.3.6.1.2.1.1.9.1.2"])
        return dict(found.column("1.3.6.1.2.1.1.9.1.2"))

    rows = run(walk())
    assert rows  # snmpd registers its MIB modules there
    assert all(isinstance(value, str) and value.startswith("1.3.6.1") for value in rows.values())


def test_secrets_stay_out_of_logs_errors_and_results(
    snmpd_peer: SnmpdPeer, caplog: pytest.LogCaptureFixture
) -> None:
    community = "s3cret-community-Q7"
    auth_key = "s3cret-auth-key-Z9"
    good = v2c(snmpd_peer)
    wrong_community = v2c(snmpd_peer, community, timeout=0.3, retries=0)
    wrong_key = v3(snmpd_peer, "authsha", "SHA", None, auth_key=SecretStr(auth_key))
    texts: list[str] = [repr(wrong_community), str(wrong_key), repr(wrong_key)]
    with caplog.at_level(logging.DEBUG):
        texts.append(repr(run(poll_snmp(good))))
        for target in (wrong_community, wrong_key):
            with pytest.raises((TargetUnreachable, AuthenticationFailed)) as raised:
                run(poll_snmp(target))
            texts += [str(raised.value), repr(raised.value), raised.value.detail]
    texts.append(caplog.text)
    for secret in (community, auth_key, snmpd_peer.community, AUTH_PASS):
        assert not any(secret in text for text in texts), secret
