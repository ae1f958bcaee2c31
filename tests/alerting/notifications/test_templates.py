"""Message templates: every event renders in Chinese and English from a snapshot."""

# Chinese message text uses full-width colons, commas and brackets on purpose.

from __future__ import annotations

from pathlib import Path

import pytest

from alerting.notifications import templates
from alerting.notifications.choices import Language, NotificationEvent
from alerting.notifications.templates import TemplateError, render

CONTEXT = {
    "number": "INC000042",
    "title": "核心交换机 core-sw-01 宕机",
    "priority": "P1",
    "state": "assigned",
    "kind": "incident",
    "ci": "core-sw-01",
    "group": "网络组",
    "assignee": None,
    "first_responsible": "张伟",
    "created_at": "2026-11-22T01:00:00+00:00",
    "at": "2026-11-22T01:15:00+00:00",
    "level": "second_responsible",
    "after_minutes": 15,
    "channel": "ops-room",
}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("event", list(NotificationEvent))
def test_every_event_renders_in_both_languages(
    language: Language, event: NotificationEvent
) -> None:
    message = render(language, event, CONTEXT, ["张伟"], "Asia/Shanghai")
    assert message.title
    assert message.body
    assert "{" not in message.title + message.body


def test_chinese_escalation_reads_as_the_customer_writes_it() -> None:
    message = render(
        Language.ZH, NotificationEvent.ESCALATED, CONTEXT, ["张伟", "李娜"], "Asia/Shanghai"
    )
    assert message.title == "【P1】故障升级至第二负责人 INC000042：核心交换机 core-sw-01 宕机"
    assert "已超过 15 分钟无人受理，请 张伟、李娜 立即处理。" in message.body
    assert "状态：已分派" in message.body
    # 01:00 UTC is 09:00 in Beijing; a missing assignee reads "无".
    assert "创建时间：2026-11-22 09:00" in message.body
    assert "当前处理人：无" in message.body


def test_english_uses_english_labels_and_the_configured_zone() -> None:
    message = render(Language.EN, NotificationEvent.OPENED, CONTEXT, [], "UTC")
    assert message.title == "[P1] New incident INC000042: 核心交换机 core-sw-01 宕机"
    assert "State: assigned" in message.body
    assert "Time: 2026-11-22 01:15" in message.body


def test_templates_may_name_plain_fields_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (templates.TEMPLATE_DIR / "en.yaml").read_text(encoding="utf-8")
    (tmp_path / "en.yaml").write_text(
        source.replace("{number}", "{number.__class__}", 1), encoding="utf-8"
    )
    monkeypatch.setattr(templates, "TEMPLATE_DIR", tmp_path)
    templates.load.cache_clear()
    try:
        with pytest.raises(TemplateError, match="not a plain field name"):
            templates.load(Language.EN)
    finally:
        templates.load.cache_clear()
