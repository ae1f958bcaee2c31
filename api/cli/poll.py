"""``fulcrum poll``: Poll one target once and print its canonical samples (troubleshooting).

    fulcrum poll snmp 10.1.0.1 --community public
    fulcrum poll snmp 10.1.0.1:1161 --v3-user mon --auth-protocol SHA-256 --auth-key … \\
        --priv-protocol AES128 --priv-key …
    fulcrum poll proxmox https://pve1:8006 --token 'fulcrum@pve!monitor=…' --ca-bundle ca.pem
    fulcrum poll prometheus http://prom:9090 --query 'up' --query 'node_load1'

Each sample is one JSON line on stdout (``metric``, ``value``, ``ts``, ``labels``,
``ci``); a one-line summary goes to stderr. Nothing is stored. A failed poll prints its
reason (``unreachable``, ``authentication_failed``, ``protocol_error``) and detail on
stderr and exits 1; bad arguments exit 2. Credentials are never printed.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import SecretStr, ValidationError

from api.cli.context import context
from collectors.choices import TargetKind
from collectors.credentials import (
    Credentials,
    PrometheusCredentials,
    PrometheusOptions,
    ProxmoxCredentials,
    SnmpCredentials,
)
from collectors.errors import CollectorError
from collectors.pollers import Closeable, default_pollers, poll_once
from collectors.prometheus.poll import as_queries
from collectors.result import PollResult
from collectors.samples import Sample
from collectors.settings import CollectorSettings
from collectors.snmp import AuthProtocol, PrivProtocol, SnmpVersion
from collectors.targets import Target, snmp_address
from itsm_core.settings import Settings

app = typer.Typer(
    help="Poll one target once and print its canonical samples (troubleshooting).",
    no_args_is_help=True,
)

Timeout = Annotated[
    float | None,
    typer.Option("--timeout", min=0.1, max=3600, help="Give up after this many seconds."),
]


@app.command()
def snmp(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="HOST or HOST:PORT ([v6]:PORT).")],
    community: Annotated[str | None, typer.Option(help="SNMPv2c community.")] = None,
    v3_user: Annotated[str | None, typer.Option("--v3-user", help="SNMPv3 user.")] = None,
    auth_key: Annotated[str | None, typer.Option(help="v3 auth passphrase.")] = None,
    auth_protocol: Annotated[AuthProtocol | None, typer.Option(help="v3 auth protocol.")] = None,
    priv_key: Annotated[str | None, typer.Option(help="v3 privacy passphrase.")] = None,
    priv_protocol: Annotated[PrivProtocol | None, typer.Option(help="v3 privacy protocol.")] = None,
    timeout: Timeout = None,
) -> None:
    """Poll an SNMP agent (v2c with --community, v3 with --v3-user)."""
    if (community is None) == (v3_user is None):
        _usage("give either --community (v2c) or --v3-user (v3)")
    credentials = _build(
        SnmpCredentials,
        version=SnmpVersion.V3 if v3_user else SnmpVersion.V2C,
        community=_secret(community),
        user=v3_user,
        auth_key=_secret(auth_key),
        auth_protocol=auth_protocol,
        priv_key=_secret(priv_key),
        priv_protocol=priv_protocol,
    )
    try:
        host, port = snmp_address(address)
    except ValueError as exc:
        _usage(str(exc))
    target_address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    _run(ctx, Target(TargetKind.SNMP, target_address, 60, credentials=credentials), timeout)


@app.command()
def proxmox(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="https://HOST[:8006] of the PVE API.")],
    token: Annotated[str, typer.Option(help="API token USER@REALM!ID=SECRET.")],
    ca_bundle: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="PEM CA bundle to verify the API with."),
    ] = None,
    insecure: Annotated[bool, typer.Option(help="Do not verify the TLS certificate.")] = False,
    cluster: Annotated[str | None, typer.Option(help="Name the cluster in external ids.")] = None,
    timeout: Timeout = None,
) -> None:
    """Poll a Proxmox VE cluster (nodes, VMs, containers)."""
    credentials = _build(
        ProxmoxCredentials,
        token=SecretStr(token),
        verify_tls=False if insecure else None,
        ca_bundle=None if ca_bundle is None else str(ca_bundle),
        cluster=cluster,
    )
    _run(ctx, Target(TargetKind.PROXMOX, url.rstrip("/"), 60, credentials=credentials), timeout)


@app.command()
def prometheus(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="http(s)://HOST:9090 of the Prometheus server.")],
    query: Annotated[list[str], typer.Option(help="PromQL (instant); repeat for more.")],
    bearer_token: Annotated[str | None, typer.Option(help="Authorization: Bearer …")] = None,
    user: Annotated[str | None, typer.Option(help="Basic-auth user.")] = None,
    password: Annotated[str | None, typer.Option(help="Basic-auth password.")] = None,
    ca_bundle: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="PEM CA bundle.")
    ] = None,
    insecure: Annotated[bool, typer.Option(help="Do not verify the TLS certificate.")] = False,
    timeout: Timeout = None,
) -> None:
    """Run PromQL instant queries against a Prometheus server."""
    credentials = _build(
        PrometheusCredentials,
        bearer_token=_secret(bearer_token),
        username=user,
        password=_secret(password),
        verify_tls=not insecure,
        ca_bundle=None if ca_bundle is None else str(ca_bundle),
    )
    try:
        options = PrometheusOptions(queries=as_queries(query))
    except ValidationError as exc:
        _usage(_problems(exc))
    target = Target(
        TargetKind.PROMETHEUS, url.rstrip("/"), 60, credentials=credentials, options=options
    )
    _run(ctx, target, timeout)


def _run(ctx: typer.Context, target: Target, timeout: float | None) -> None:
    settings = context(ctx).settings
    limit = timeout or settings.section(CollectorSettings).timeout_seconds
    try:
        result = asyncio.run(_poll(settings, target, limit))
    except CollectorError as exc:
        typer.echo(f"poll of {target.key} failed: {exc.reason}: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    for sample in result.samples:
        typer.echo(json.dumps(sample_json(sample), ensure_ascii=False, allow_nan=False))
    typer.echo(
        f"{target.key}: {len(result.samples)} sample(s), {len(result.cis)} CI(s), "
        f"{len(result.relations)} relation(s)",
        err=True,
    )


async def _poll(settings: Settings, target: Target, timeout: float) -> PollResult:
    pollers = default_pollers(settings)
    poller = pollers.get(target.kind)
    try:
        return await poll_once(poller, target, timeout)
    finally:
        if isinstance(poller, Closeable):
            await poller.aclose()


def sample_json(sample: Sample) -> dict[str, Any]:
    """A sample as one JSON object (non-finite values become null)."""
    value: float | None = sample.value if math.isfinite(sample.value) else None
    ci = None if sample.ci is None else {"source": sample.ci.source, "id": sample.ci.external_id}
    return {
        "metric": sample.metric,
        "value": value,
        "ts": sample.ts.isoformat(),
        "labels": dict(sample.labels),
        "ci": ci,
    }


def _build(model: type[Credentials], **fields: Any) -> Credentials:
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        _usage(_problems(exc))


def _problems(exc: ValidationError) -> str:
    # loc + msg only: pydantic's own text would echo the input, secrets included.
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'credentials'}: "
        f"{str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors()
    )


def _secret(value: str | None) -> SecretStr | None:
    return None if value is None else SecretStr(value)


def _usage(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
