"""``fulcrum routing``: load, export, list and dry-run the alert routing rules.

The rule file format is described in ``docs/routing.md`` and ``alerting.routing.rulefile``;
``deploy/routing-rules.example.yaml`` is a worked example for the demo estate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.canonical import Severity
from alerting.routing import engine, loader, rulefile, service
from alerting.routing.engine import DryRun
from alerting.routing.models import ContingencyPlan, RoutingRule
from api.cli.context import context
from itsm_core.actor import SYSTEM
from itsm_core.cmdb.models import ConfigurationItem
from itsm_core.db import unit_of_work
from itsm_core.errors import FulcrumError
from itsm_core.people.models import Group

app = typer.Typer(help="Alert routing rules and contingency plans.", no_args_is_help=True)


def _fail(exc: FulcrumError, code: int = 1) -> typer.Exit:
    typer.echo(f"refused: {exc.detail}" if not exc.errors else "refused:", err=True)
    for key, messages in exc.errors.items():
        for message in messages:
            typer.echo(f"  {key}: {message}", err=True)
    return typer.Exit(code)


@app.command("load")
def load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A rule file (YAML).")],
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete rules the file does not name.")
    ] = False,
) -> None:
    """Upsert the file's plans and rules by name, in the file's order (all or nothing)."""
    try:
        parsed = rulefile.parse(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        typer.echo(f"{file}: not UTF-8 text", err=True)
        raise typer.Exit(2) from exc
    except FulcrumError as exc:
        raise _fail(exc, 2) from exc
    cli = context(ctx)
    try:
        with unit_of_work(cli.sessions) as session:
            report = loader.load(session, SYSTEM, parsed, prune=prune)
    except FulcrumError as exc:
        raise _fail(exc) from exc
    finally:
        cli.engine.dispose()
    typer.echo(
        f"rules: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.deleted} deleted"
        f"{'; order changed' if report.reordered else ''}\n"
        f"plans: {report.plans_created} created, {report.plans_updated} updated"
    )


@app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write here, not stdout.")
    ] = None,
) -> None:
    """Write every plan and rule as a rule file (loadable again with ``load``)."""
    cli = context(ctx)
    try:
        with cli.sessions() as session:
            text = rulefile.dump(rulefile.export(session))
    finally:
        cli.engine.dispose()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


def _describe(rule: RoutingRule, groups: dict[int, str], plans: dict[int, str]) -> str:
    conditions = [str(m["label"]) + str(m["op"]) + repr(m["value"]) for m in rule.matchers]
    for label, values in (
        ("severity", rule.severities),
        ("class", rule.ci_classes),
        ("site", rule.site_ids),
        ("site kind", rule.site_kinds),
    ):
        if values:
            conditions.append(f"{label} in {','.join(map(str, values))}")
    outcome = [
        f"group={groups.get(rule.assignment_group_id or 0, '-')}",
        f"fault={rule.fault_type or '-'}",
        f"urgency={rule.urgency or 'from severity'}",
    ]
    if rule.contingency_plan_id:
        outcome.append(f"plan={plans.get(rule.contingency_plan_id, '?')}")
    if rule.auto_resolve:
        outcome.append("auto-resolve")
    state = "" if rule.enabled else " (disabled)"
    when = " and ".join(conditions) or "any alert"
    return (
        f"{rule.position:>3}. {rule.name}{state}\n     when {when}\n     then {' '.join(outcome)}"
    )


@app.command("list")
def list_rules(ctx: typer.Context) -> None:
    """The rules in matching order, each with its conditions and outcome."""
    cli = context(ctx)
    try:
        with cli.sessions() as session:
            groups = dict(session.execute(select(Group.id, Group.name)).all())
            plans = dict(session.execute(select(ContingencyPlan.id, ContingencyPlan.name)).all())
            lines = [_describe(rule, groups, plans) for rule in service.list_rules(session)]
    finally:
        cli.engine.dispose()
    typer.echo("\n".join(lines) if lines else "no routing rules: every alert goes to the NOC queue")


def _labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r} is not label=value")
        labels[name] = value
    return labels


def _find_ci(session: Session, ref: str) -> int:
    if ref.isdigit():
        return int(ref)
    ids = list(session.scalars(select(ConfigurationItem.id).where(ConfigurationItem.name == ref)))
    if len(ids) != 1:
        raise typer.BadParameter(
            f"{len(ids)} CIs are named {ref!r}; give the id", param_hint="--ci"
        )
    return ids[0]


def _show(run: DryRun) -> str:
    lines = []
    for step in run.trace:
        verdict = "MATCH" if step.reason is None else f"no: {step.reason}"
        lines.append(f"  {step.position:>3}. {step.name}: {verdict}")
    d = run.decision
    lines.append(f"rule: {d.rule_name or '(none: the default, NOC queue)'}")
    for field in (
        "fault_type",
        "kind",
        "impact",
        "urgency",
        "assignment_group_id",
        "first_responsible_id",
        "second_responsible_id",
        "contingency_plan",
        "auto_resolve",
    ):
        lines.append(f"  {field}: {getattr(d, field)}")
    return "\n".join(lines)


@app.command("test")
def dry_run(
    ctx: typer.Context,
    pairs: Annotated[
        list[str] | None, typer.Argument(metavar="[LABEL=VALUE]...", help="The alert's labels.")
    ] = None,
    labels: Annotated[
        list[str] | None, typer.Option("--labels", "-l", help="label=value; may repeat.")
    ] = None,
    severity: Annotated[Severity, typer.Option(help="The alert's severity.")] = Severity.WARNING,
    name: Annotated[str, typer.Option(help="The alert's name (alertname).")] = "",
    ci: Annotated[str | None, typer.Option(help="The CI's id or exact name.")] = None,
) -> None:
    """Dry-run: which rule an alert would match, why the earlier ones did not, and the
    decision (nothing is stored)."""
    alert = engine.sample_alert(_labels([*(pairs or []), *(labels or [])]), severity, name)
    cli = context(ctx)
    try:
        with cli.sessions() as session:
            ci_id = _find_ci(session, ci) if ci is not None else None
            run = engine.dry_run(session, alert, ci_id)
    except FulcrumError as exc:
        raise _fail(exc) from exc
    finally:
        cli.engine.dispose()
    typer.echo(_show(run))
