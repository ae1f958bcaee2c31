"""Label templates: which CI a Prometheus series belongs to, from its labels.

A template is text with ``{label}`` placeholders, each optionally filtered:
``{instance}`` → ``10.1.2.3:9100``; ``{instance|host}`` → ``10.1.2.3`` (port and IPv6
brackets dropped); ``{job|lower}``. A series that lacks a label the template names has
no CI (it is kept, unbound). Only label lookups are possible — no attribute or index
access as ``str.format`` would allow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from collectors.samples import CIRef

# ``ci_source`` value meaning "the rendered text is a CI *name*", not an external id.
CI_NAME_SOURCE = "name"

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _host(value: str) -> str:
    """``host:port`` → ``host``; ``[::1]:9100`` → ``::1``; a bare host stays as it is."""
    if value.startswith("["):
        return value[1 : value.index("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


FILTERS: dict[str, Callable[[str], str]] = {
    "host": _host,
    "lower": str.lower,
    "upper": str.upper,
}


@dataclass(frozen=True, slots=True)
class _Part:
    literal: str
    label: str | None = None
    filters: tuple[Callable[[str], str], ...] = ()


class LabelTemplate:
    """A compiled template; :meth:`render` returns ``None`` when a label is missing."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._parts = _compile(text)

    def labels(self) -> list[str]:
        return [p.label for p in self._parts if p.label is not None]

    def render(self, labels: Mapping[str, str]) -> str | None:
        out: list[str] = []
        for part in self._parts:
            out.append(part.literal)
            if part.label is None:
                continue
            value = labels.get(part.label)
            if value is None or value == "":
                return None
            for apply in part.filters:
                value = apply(value)
            out.append(value)
        rendered = "".join(out)
        return rendered or None

    def ci_ref(self, labels: Mapping[str, str], source: str) -> CIRef | None:
        """The CI of a series labelled ``labels``: ``CIRef(source, rendered)`` or None."""
        rendered = self.render(labels)
        return None if rendered is None else CIRef(source=source, external_id=rendered)


def _compile(text: str) -> list[_Part]:
    parts: list[_Part] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        literal = text[pos : match.start()]
        if "{" in literal or "}" in literal:
            raise ValueError(f"unbalanced brace in template {text!r}")
        label, *filter_names = (piece.strip() for piece in match.group(1).split("|"))
        if not _LABEL.fullmatch(label):
            raise ValueError(f"{label!r} is not a Prometheus label name (template {text!r})")
        unknown = [name for name in filter_names if name not in FILTERS]
        if unknown:
            raise ValueError(
                f"unknown template filter(s) {', '.join(unknown)}; known: {', '.join(FILTERS)}"
            )
        parts.append(_Part(literal, label, tuple(FILTERS[name] for name in filter_names)))
        pos = match.end()
    tail = text[pos:]
    if "{" in tail or "}" in tail:
        raise ValueError(f"unbalanced brace in template {text!r}")
    parts.append(_Part(tail))
    return parts
