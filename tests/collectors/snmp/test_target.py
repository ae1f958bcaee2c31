"""SnmpTarget validation, identities and the [snmp] settings."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from collectors.snmp import SnmpSettings, SnmpTarget
from collectors.snmp.choices import SnmpVersion
from collectors.snmp.inventory import os_version_of, vendor_of


def test_v2c_needs_a_community_and_v3_a_user() -> None:
    with pytest.raises(ValidationError, match="community"):
        SnmpTarget(host="10.0.0.1")
    with pytest.raises(ValidationError, match="user"):
        SnmpTarget(host="10.0.0.1", version=SnmpVersion.V3)


def test_v3_keys_need_8_characters_and_privacy_needs_auth() -> None:
    with pytest.raises(ValidationError, match="at least 8"):
        SnmpTarget(host="h", version="v3", user="u", auth_key=SecretStr("short"))
    with pytest.raises(ValidationError, match="needs authentication"):
        SnmpTarget(host="h", version="v3", user="u", priv_key=SecretStr("long-enough"))
    target = SnmpTarget(
        host="h",
        version="v3",
        user="u",
        auth_key=SecretStr("long-enough"),
        priv_key=SecretStr("also-long-enough"),
    )
    assert target.security_level == "authPriv"


def test_secrets_are_masked_in_repr_and_str() -> None:
    target = SnmpTarget(host="10.0.0.1", community=SecretStr("very-secret-community"))
    assert "very-secret-community" not in repr(target)
    assert "very-secret-community" not in str(target)
    assert "very-secret-community" not in target.display


@pytest.mark.parametrize(
    ("host", "port", "device_id"),
    [
        ("10.0.0.1", 161, "10.0.0.1"),
        ("10.0.0.1", 1161, "10.0.0.1:1161"),
        ("[fd00::1]", 161, "[fd00::1]"),
        ("fd00::1", 1161, "[fd00::1]:1161"),
        ("core-sw.example", 161, "core-sw.example"),
    ],
)
def test_device_identity(host: str, port: int, device_id: str) -> None:
    target = SnmpTarget(host=host, port=port, community=SecretStr("c"))
    assert target.device_id == device_id


def test_an_explicit_external_id_names_the_device() -> None:
    target = SnmpTarget(host="127.0.0.1", port=1161, community=SecretStr("c"), external_id="sw1")
    assert target.device_id == "sw1"


@pytest.mark.parametrize("host", ["a b", "user@host", "http://x/", ""])
def test_hosts_that_are_not_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValidationError):
        SnmpTarget(host=host, community=SecretStr("c"))


def test_settings_give_defaults_and_credentials_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULCRUM_SNMP_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("FULCRUM_SNMP_MAX_REPETITIONS", "10")
    settings = SnmpSettings()
    target = settings.target("10.0.0.1", community=SecretStr("c"), retries=3)
    assert (target.timeout, target.retries, target.max_repetitions) == (0.5, 3, 10)
    assert target.port == 161


def test_vendor_and_version_from_system_group() -> None:
    assert vendor_of("1.3.6.1.4.1.2011.2.224.67") == "Huawei"
    assert vendor_of("1.3.6.1.4.1.25506.1.2071") == "H3C"
    assert vendor_of("1.3.6.1.4.1.999999.1") is None
    assert vendor_of(None) is None
    assert os_version_of("Cisco IOS Software, C2960 Software, Version 15.0(2)SE11, RELEASE") == (
        "15.0(2)SE11"
    )
    assert os_version_of("Linux vm 6.1.0 #1 SMP") is None
