"""Label matchers in Alertmanager's syntax: ``name = "v"``, ``!=``, ``=~``, ``!~``.

A rule file may write a matcher as Alertmanager does (``'job =~ "snmp|blackbox"'``);
the API and the database use the structured form ``{label, op, value}``. Both go
through :func:`parse` / :class:`LabelMatcher` so they mean the same thing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alerting.routing.choices import MatchOp

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_LABEL_NAME = 100
MAX_VALUE = 1000

_SYNTAX = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


class MatcherError(ValueError):
    """A matcher that cannot be used: bad syntax, bad label name, a regex that won't compile."""


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    """One condition on one label of an alert."""

    label: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        if not LABEL_NAME.match(self.label) or len(self.label) > MAX_LABEL_NAME:
            raise MatcherError(f"bad label name {self.label!r}")
        if len(self.value) > MAX_VALUE:
            raise MatcherError(f"value longer than {MAX_VALUE} characters")
        if self.op.regex:
            compile_regex(self.value)

    def __str__(self) -> str:
        # json.dumps quotes like Go's strconv for everything a label value holds.
        return f"{self.label}{self.op.value}{json.dumps(self.value, ensure_ascii=False)}"

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "op": self.op.value, "value": self.value}

    def predicate(self) -> Callable[[Mapping[str, str]], bool]:
        """A fast test of a label set (missing labels read as ``""``)."""
        label, value = self.label, self.value
        if self.op is MatchOp.EQUAL:
            return lambda labels: labels.get(label, "") == value
        if self.op is MatchOp.NOT_EQUAL:
            return lambda labels: labels.get(label, "") != value
        fullmatch = compile_regex(value).fullmatch
        if self.op is MatchOp.REGEX:
            return lambda labels: fullmatch(labels.get(label, "")) is not None
        return lambda labels: fullmatch(labels.get(label, "")) is None


def compile_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled, or ``MatcherError`` saying why not."""
    try:
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        raise MatcherError(f"regular expression {pattern!r} does not compile: {exc}") from exc


def parse(text: str) -> LabelMatcher:
    """``'severity=~"critical|major"'`` → a matcher; the value may be quoted or bare."""
    found = _SYNTAX.match(text)
    if found is None:
        raise MatcherError(f'{text!r} is not a matcher; write label="value" (or !=, =~, !~)')
    label, op, raw = found.groups()
    if raw.startswith('"'):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise MatcherError(f"{text!r}: badly quoted value") from exc
        if not isinstance(value, str):
            raise MatcherError(f"{text!r}: badly quoted value")
    elif '"' in raw:
        raise MatcherError(f"{text!r}: quote the whole value or none of it")
    else:
        value = raw
    return LabelMatcher(label, MatchOp(op), value)


def from_any(item: object) -> LabelMatcher:
    """A matcher from a rule file entry: a string or a ``{label, op, value}`` mapping."""
    if isinstance(item, str):
        return parse(item)
    if isinstance(item, Mapping):
        extra = set(item) - {"label", "op", "value"}
        if extra:
            raise MatcherError(f"unknown key(s) {', '.join(sorted(map(str, extra)))}")
        label, op, value = item.get("label"), item.get("op", "="), item.get("value", "")
        if not isinstance(label, str) or not isinstance(value, str):
            raise MatcherError("label and value must be text")
        try:
            match_op = MatchOp(op)
        except ValueError as exc:
            raise MatcherError(f"op must be one of {', '.join(MatchOp)}") from exc
        return LabelMatcher(label, match_op, value)
    raise MatcherError("a matcher is a string like 'job=\"snmp\"' or a {label, op, value} map")
