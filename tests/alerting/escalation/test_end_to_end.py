"""From an unaccepted incident to a WeCom group: escalate, dispatch, receive."""

# Chinese message text uses full-width colons, commas and brackets on purpose.

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from alerting.jobs_notify import run_dispatch, run_escalations
from itsm_core.settings import Settings
from tests.alerting.notifications import factories as f
from tests.itsm_core.incidents import factories as inc
from tests.peers.receivers import HttpReceiver


def test_an_unaccepted_p1_reaches_the_wecom_group_once_in_chinese(
    sessions: sessionmaker[Session], settings: Settings, http_receiver: HttpReceiver
) -> None:
    with sessions() as session, session.begin():
        zhang = inc.user(session, "zhangwei")
        zhang.display_name, zhang.phone = "张伟", "13800138000"
        network = inc.group(session, "网络组", zhang)
        f.wecom(session, http_receiver.url, name="网络组值班群", group_ids=[network.id])
        ci = inc.ci(session, "core-sw-01")
        incident = inc.incident(
            session,
            title="核心交换机 core-sw-01 宕机",
            impact="high",
            urgency="high",
            assignment_group_id=network.id,
            first_responsible_id=zhang.id,
            primary_ci_id=ci,
        )
        number, created = incident.number, incident.created_at

    due = created + timedelta(minutes=5)
    assert run_escalations(sessions, settings, due) == 1
    assert run_escalations(sessions, settings, due + timedelta(minutes=1)) == 0
    assert run_dispatch(sessions, settings, due + timedelta(minutes=1)) == 1
    assert run_dispatch(sessions, settings, due + timedelta(minutes=2)) == 0

    (post,) = http_receiver.wait_for(1)
    assert post.json() == {
        "msgtype": "text",
        "text": {
            "content": "\n".join(
                [
                    f"【P1】故障升级至第一负责人：{number}",
                    "标题：核心交换机 core-sw-01 宕机",
                    "已超过 5 分钟无人受理，请 张伟 立即处理。",
                    "配置项：core-sw-01",
                    "处理组：网络组",
                    "当前处理人：无",
                    "状态：已分派",
                    f"创建时间：{(created + timedelta(hours=8)).strftime('%Y-%m-%d %H:%M')}",
                ]
            ),
            "mentioned_mobile_list": ["13800138000"],
        },
    }
    assert len(http_receiver.requests) == 1
