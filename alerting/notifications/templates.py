"""Message templates in Chinese and English (``templates/zh.yaml``, ``templates/en.yaml``).

Each file has ``labels`` (words for states, escalation levels, incident kinds) and one
``title``/``body`` pair per event, written with ``str.format`` placeholders. Templates
may name plain fields only — ``{number}``, never ``{a.b}`` or ``{a[0]}`` — which is checked
when the file is loaded, so a template can read nothing but the values given to it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from alerting.notifications.choices import Language, NotificationEvent

TEMPLATE_DIR = Path(__file__).parent / "templates"
TIME_FIELDS = ("at", "created_at")


class TemplateError(ValueError):
    """A template file is missing, malformed or uses a field it may not."""


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered message: ``title`` (mail subject) and ``body``."""

    title: str
    body: str


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """The templates and labels of one language."""

    labels: dict[str, Any]
    events: dict[str, dict[str, str]]


def _fields(text: str) -> list[str]:
    names = []
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise TemplateError(f"placeholder {{{field}}} is not a plain field name")
        names.append(field)
    return names


@cache
def load(language: Language) -> TemplateSet:
    """The templates of ``language``, checked (cached: the files ship with the code)."""
    path = TEMPLATE_DIR / f"{language.value}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read {path.name}: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), dict):
        raise TemplateError(f"{path.name}: needs `labels` and `events`")
    events: dict[str, dict[str, str]] = {}
    for event in NotificationEvent:
        entry = raw["events"].get(event.value)
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("title", "body")
        ):
            raise TemplateError(f"{path.name}: event {event.value!r} needs a title and a body")
        for key in ("title", "body"):
            _fields(entry[key])
        events[event.value] = {"title": entry["title"], "body": entry["body"]}
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict):
        raise TemplateError(f"{path.name}: `labels` must be a mapping")
    return TemplateSet(labels=labels, events=events)


class _Values(dict[str, str]):
    """Format values; a field nobody filled in reads as the language's "none"."""

    def __init__(self, values: Mapping[str, str], none: str) -> None:
        super().__init__(values)
        self.none = none

    def __missing__(self, key: str) -> str:
        return self.none


def _local(value: Any, zone: ZoneInfo) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def render(
    language: Language,
    event: NotificationEvent,
    context: Mapping[str, Any],
    recipients: list[str],
    timezone: str,
) -> Message:
    """The message about ``event`` in ``language``.

    ``context`` is the delivery's snapshot (see ``outbox.incident_context``);
    ``recipients`` the names of the people addressed (``{targets}``).
    """
    templates = load(language)
    labels = templates.labels
    none = str(labels.get("none", "-"))
    zone = ZoneInfo(timezone)
    values: dict[str, str] = {
        k: str(v) for k, v in context.items() if v is not None and v != "" and k not in TIME_FIELDS
    }
    for key in TIME_FIELDS:
        local = _local(context.get(key), zone)
        if local:
            values[key] = local
    for field, table in (("state", "states"), ("level", "levels"), ("kind", "kinds")):
        raw = context.get(field)
        if raw:
            values[f"{field}_label"] = str((labels.get(table) or {}).get(raw, raw))
    if recipients:
        values["targets"] = str(labels.get("separator", ", ")).join(recipients)
    entry = templates.events[event.value]
    formatted = _Values(values, none)
    return Message(
        title=entry["title"].format_map(formatted), body=entry["body"].format_map(formatted)
    )
