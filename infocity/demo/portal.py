"""The public side of the demonstration (演示数据), through the portal services only: the ministry publishes the
2015 comparison year and the 2016 data as of the first half and as of the annual figures, and publishes every
typical application whose full-year report the agency has accepted to the showcase; cities and the demonstration
enterprises post on the supply–demand board (:func:`load_board_demo`)."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.db.models import Q

from infocity.accounts.models import Role, User
from infocity.portal import board
from infocity.portal import services as portal
from infocity.portal.models import BoardPost
from infocity.reporting import clock
from infocity.reporting.models import Period

RELEASES = [
    ("2015-M12", datetime.date(2016, 8, 1), "2015 年全年监测数据（对比数据），供与 2016 年对照。"),
    ("2016-H1", datetime.date(2016, 9, 20), "2016 年上半年已受理的监测数据。"),
    ("2016-A", datetime.date(2016, 12, 5), "2016 年年度监测数据，含截至 10 月的月度、截至三季度的季度和上半年数据。"),
]
SHOWCASE_DAY = datetime.date(2016, 12, 5)


def _at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(10), tzinfo=ZoneInfo("Asia/Shanghai"))


def load_portal_demo() -> dict[str, object]:
    ministry = User.objects.get(username="ministry")
    releases = 0
    for code, day, note in RELEASES:
        period = Period.objects.filter(code=code).first()
        if period is not None and portal.releasable_periods(period.cycle).filter(pk=period.pk).exists():
            with clock.at(_at(day)):
                portal.publish_release(actor=ministry, period=period, note="【演示数据】" + note, demo=True)
            releases += 1
    items = 0
    with clock.at(_at(SHOWCASE_DAY)):
        for application in portal.showcase_candidates().order_by("pk"):
            portal.publish_application(actor=ministry, application=application)
            items += 1
    posted = load_board_demo()
    # An approved solution from the board, published as a replicable solution.
    with clock.at(_at(SHOWCASE_DAY)):
        for post in portal.solution_candidates().filter(title=SHOWCASE_SOLUTION):
            portal.publish_solution(actor=ministry, post=post)
            items += 1
    return {"releases": releases, "showcase": items, "board": posted}


# (city division code or enterprise username, title, area, description) — the demonstration board.
NEEDS = [
    (
        "330100",
        "社区居家养老智慧服务平台建设需求",
        "C",
        "拟在全市 200 个社区建设居家养老服务平台，整合紧急呼叫、助餐助浴、健康监测和家政服务，"
        "要求支持手机应用和电视端，2017 年上半年完成首批 50 个社区试点，预算约 800 万元。",
    ),
    (
        "320500",
        "全域旅游智慧导览与客流监测需求",
        "E",
        "为市内主要景区建设统一的智慧导览、电子票务和客流实时监测系统，支持多语种讲解和景区承载量预警。",
    ),
    (
        "430100",
        "中小学智慧课堂与数字教育资源需求",
        "C",
        "面向全市中小学建设智慧课堂和数字教育资源公共服务平台，覆盖 300 所学校，支持优质课程共享和在线教研。",
    ),
    (
        "440100",
        "工业企业上云和数字化改造服务需求",
        "B",
        "征集面向中小制造企业的工业云平台、设备联网和生产管理软件服务，首批支持 100 家企业上云。",
    ),
]
SOLUTIONS = [
    (
        "enterprise1",
        "千兆光网入户与智慧家庭组网方案",
        "A",
        "提供千兆光纤入户、全屋无线组网和智慧家庭网关，已在多个城市完成百万户规模部署，支持 IPTV 和家庭安防。",
    ),
    (
        "enterprise2",
        "社区居家养老服务平台解决方案",
        "C",
        "社区居家养老服务平台：紧急呼叫、健康监测、助餐助浴和家政服务一体化，手机应用和电视端同步，"
        "已服务 12 个城市的 600 余个社区。",
    ),
    (
        "enterprise2",
        "景区智慧导览与客流分析方案",
        "E",
        "景区智慧导览、电子票务和基于手机信令的客流实时分析与预警，支持多语种讲解，已在 30 余个景区应用。",
    ),
]
PENDING = "工业企业上云和数字化改造服务需求"  # left for the analyst to moderate
SHOWCASE_SOLUTION = "社区居家养老服务平台解决方案"


def load_board_demo() -> dict[str, int]:
    """Needs posted by four cities and solutions by the two demonstration enterprises, approved by the analyst
    (one left to moderate); one contact request accepted (both sides then see each other's contact) and one
    waiting for an answer."""
    analyst = User.objects.get(username="analyst")
    posts: dict[str, BoardPost] = {}
    number = 0
    for owner, title, area, description in [*NEEDS, *SOLUTIONS]:
        actor = User.objects.filter(
            Q(username=owner) | Q(organisation__division_id=owner, organisation__kind="city", role=Role.CITY_REPORTER)
        ).first()
        if actor is None:
            continue
        number += 1
        data = {"title": title, "area": area, "description": description, "contact_name": f"演示联系人{number}",
                "contact_phone": f"1380000{number:04d}", "contact_email": f"demo{number}@example.cn"}  # fmt: skip
        post = board.save_post(actor=actor, data=data)
        if title != PENDING:
            post = board.moderate(actor=analyst, post=post, approve=True, expected_version=post.version)
        posts[title] = post
    pairs = [("社区居家养老服务平台解决方案", "社区居家养老智慧服务平台建设需求", True),
             ("景区智慧导览与客流分析方案", "全域旅游智慧导览与客流监测需求", False)]  # fmt: skip
    requests = 0
    for solution, need, accepted in pairs:
        if solution not in posts or need not in posts:
            continue
        made = board.request_contact(
            actor=User.objects.get(username="enterprise2"), from_post=posts[solution], post=posts[need],
            message="【演示数据】我们的方案与贵市需求相符，希望进一步对接。",
        )  # fmt: skip
        requests += 1
        if accepted:
            answerer = User.objects.get(organisation=posts[need].organisation, role=Role.CITY_REPORTER)
            board.decide_request(actor=answerer, contact_request=made, accept=True)
    return {"posts": len(posts), "requests": requests}
