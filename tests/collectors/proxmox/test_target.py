"""Targets, tokens and the [proxmox] settings: secrets never leak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from collectors.proxmox import ProxmoxSettings, ProxmoxTarget, parse_token
from itsm_core.settings import Settings

SECRET = "6f1b7c3e-9a2d-4c51-8e0f-2b9d5a7c1e44"


@pytest.mark.parametrize(
    "token", [f"fulcrum@pve!monitor={SECRET}", f"PVEAPIToken=fulcrum@pve!monitor={SECRET}"]
)
def test_both_token_forms_parse(token: str) -> None:
    token_id, secret = parse_token(token)
    assert token_id == "fulcrum@pve!monitor"
    assert secret.get_secret_value() == SECRET


@pytest.mark.parametrize(
    "token",
    [SECRET, f"fulcrum@pve={SECRET}", f"fulcrum!monitor={SECRET}", "fulcrum@pve!monitor="],
)
def test_a_malformed_token_is_refused_without_repeating_it(token: str) -> None:
    with pytest.raises(ValueError, match="user@realm!tokenid=secret") as refused:
        parse_token(token)
    assert SECRET not in str(refused.value)


def test_target_parts_and_masking() -> None:
    target = ProxmoxTarget.from_token(
        "https://pve.example:8443/proxy/api2/json/", f"fulcrum@pve!monitor={SECRET}"
    )
    assert (target.host, target.port, target.path_prefix) == ("pve.example", 8443, "proxy")
    assert (target.user, target.token_name) == ("fulcrum@pve", "monitor")
    assert target.tls_verify is True
    assert ProxmoxTarget.from_token("https://10.0.1.1", f"a@pam!b={SECRET}").port == 8006
    assert SECRET not in repr(target)
    assert SECRET not in target.model_dump_json()
    assert target.model_dump()["token_secret"] == "**********"
    with_ca = target.model_copy(update={"ca_bundle": Path("/etc/ca.pem")})
    assert with_ca.tls_verify == "/etc/ca.pem"
    assert target.model_copy(update={"verify_tls": False}).tls_verify is False


@pytest.mark.parametrize(
    "url",
    [
        "http://pve.example:8006",
        "pve.example:8006",
        f"https://root:{SECRET}@pve.example:8006",
        "https://pve.example:99999",
    ],
)
def test_only_plain_https_urls_are_targets(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ProxmoxTarget(url=url, token_id="a@pve!b", token_secret=SecretStr(SECRET))
    assert SECRET not in str(refused.value)


def test_settings_fill_in_tls_and_timeouts_and_show_no_secret() -> None:
    settings = Settings({"proxmox": {"ca_bundle": "/etc/fulcrum/pve-ca.pem", "timeout_seconds": 4}})
    section = settings.section(ProxmoxSettings)
    target = section.target("https://pve-01:8006", "fulcrum@pve!monitor", SecretStr(SECRET))
    assert target.ca_bundle == Path("/etc/fulcrum/pve-ca.pem")
    assert target.verify_tls is True
    assert target.timeout_seconds == 4
    lab = section.target(
        "https://lab:8006", "a@pve!b", SecretStr(SECRET), verify_tls=False, cluster="lab"
    )
    assert (lab.verify_tls, lab.cluster) == (False, "lab")
    shown = json.dumps(settings.describe())
    assert '"proxmox"' in shown


def test_the_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULCRUM_PROXMOX_VERIFY_TLS", "false")
    section = Settings({"proxmox": {"verify_tls": True}}).section(ProxmoxSettings)
    assert section.verify_tls is False
