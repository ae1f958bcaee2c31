"""Label matchers: Alertmanager's syntax and semantics."""

from __future__ import annotations

import pytest

from alerting.routing.choices import MatchOp
from alerting.routing.matchers import LabelMatcher, MatcherError, from_any, parse


@pytest.mark.parametrize(
    ("text", "label", "op", "value"),
    [
        ('job="snmp"', "job", MatchOp.EQUAL, "snmp"),
        ('job = "snmp"', "job", MatchOp.EQUAL, "snmp"),
        ("job=snmp", "job", MatchOp.EQUAL, "snmp"),
        ('env!="test"', "env", MatchOp.NOT_EQUAL, "test"),
        ('severity=~"critical|major"', "severity", MatchOp.REGEX, "critical|major"),
        ('instance!~"pacs-.*"', "instance", MatchOp.NOT_REGEX, "pacs-.*"),
        ('site="城关镇卫生院"', "site", MatchOp.EQUAL, "城关镇卫生院"),
        (r'msg="say \"hi\""', "msg", MatchOp.EQUAL, 'say "hi"'),
        ('empty=""', "empty", MatchOp.EQUAL, ""),
    ],
)
def test_parse_reads_alertmanager_syntax(text: str, label: str, op: MatchOp, value: str) -> None:
    assert parse(text) == LabelMatcher(label, op, value)


def test_str_round_trips_through_parse() -> None:
    for matcher in (
        LabelMatcher("a", MatchOp.EQUAL, 'q"uote\\'),
        LabelMatcher("b", MatchOp.NOT_REGEX, "x|y.*"),
        LabelMatcher("c", MatchOp.NOT_EQUAL, "中文"),
    ):
        assert parse(str(matcher)) == matcher


@pytest.mark.parametrize(
    "text", ["job", '="x"', '1job="x"', 'job=="x"x', 'job="unterminated', 'job=~"("']
)
def test_parse_refuses_what_is_not_a_matcher(text: str) -> None:
    with pytest.raises(MatcherError):
        parse(text)


def test_regex_is_anchored_at_both_ends() -> None:
    matches = LabelMatcher("db", MatchOp.REGEX, "db.*").predicate()
    assert matches({"db": "db01"})
    assert not matches({"db": "mydb01"})
    assert not LabelMatcher("x", MatchOp.REGEX, "a|b").predicate()({"x": "ab"})


def test_negative_matchers() -> None:
    not_test = LabelMatcher("env", MatchOp.NOT_EQUAL, "test").predicate()
    assert not_test({"env": "prod"})
    assert not not_test({"env": "test"})
    not_pacs = LabelMatcher("instance", MatchOp.NOT_REGEX, "pacs-.*").predicate()
    assert not_pacs({"instance": "his-01"})
    assert not not_pacs({"instance": "pacs-01:9100"})


def test_a_missing_label_reads_as_empty() -> None:
    assert LabelMatcher("env", MatchOp.EQUAL, "").predicate()({})
    assert not LabelMatcher("env", MatchOp.EQUAL, "prod").predicate()({})
    # Alertmanager: env!="prod" holds for an alert with no env label at all.
    assert LabelMatcher("env", MatchOp.NOT_EQUAL, "prod").predicate()({})
    assert LabelMatcher("env", MatchOp.REGEX, "prod|").predicate()({})
    assert not LabelMatcher("env", MatchOp.NOT_REGEX, ".*").predicate()({})


def test_from_any_takes_strings_and_mappings() -> None:
    assert from_any('a="1"') == from_any({"label": "a", "value": "1"})
    assert from_any({"label": "a", "op": "=~", "value": "x.*"}).op is MatchOp.REGEX
    for bad in ({"label": "a", "op": "~~"}, {"label": "a", "extra": 1}, {"value": "x"}, 3):
        with pytest.raises(MatcherError):
            from_any(bad)


def test_bad_label_names_and_regexes_are_refused() -> None:
    with pytest.raises(MatcherError, match="label name"):
        LabelMatcher("bad-name", MatchOp.EQUAL, "x")
    with pytest.raises(MatcherError, match="does not compile"):
        LabelMatcher("ok", MatchOp.REGEX, "[unclosed")
    with pytest.raises(MatcherError, match="longer than"):
        LabelMatcher("ok", MatchOp.EQUAL, "x" * 1001)
