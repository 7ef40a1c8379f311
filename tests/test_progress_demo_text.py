"""Demonstration progress-report text and typical applications: deterministic, complete, labelled, varied."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from infocity.progress import demo_text
from infocity.progress.demo_text import DEMO_LABEL, progress_report, typical_applications
from infocity.progress.sections import AREA_CODES, AREAS, SECTION_KEYS, SECTIONS

CITIES = [
    ("杭州市", "浙江省"),
    ("宁波市", "浙江省"),
    ("嘉兴市", "浙江省"),
    ("广州市", "广东省"),
    ("深圳市", "广东省"),
    ("南京市", "江苏省"),
    ("苏州市", "江苏省"),
    ("青岛市", "山东省"),
    ("福州市", "福建省"),
    ("天津市", "天津市"),
    ("合肥市", "安徽省"),
    ("武汉市", "湖北省"),
    ("长沙市", "湖南省"),
    ("郑州市", "河南省"),
    ("南昌市", "江西省"),
    ("成都市", "四川省"),
    ("重庆市", "重庆市"),
    ("贵阳市", "贵州省"),
    ("兰州市", "甘肃省"),
    ("银川市", "宁夏回族自治区"),
]
ALLOWED_TAGS = {"p", "strong", "em", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"}


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def tags_of(html: str) -> list[str]:
    collector = TagCollector()
    collector.feed(html)
    return collector.tags


def test_sections_follow_the_guide() -> None:
    keys = [s.key for s in SECTIONS]
    assert keys[0] == "overview" and keys[-1] == "next_steps"
    assert len(set(keys)) == len(keys) and all(re.fullmatch(r"[a-z_]{2,30}", k) for k in keys)
    areas = [s for s in SECTIONS if s.area]
    assert [s.area for s in areas] == list(AREA_CODES) == ["A", "B", "C", "D", "E", "F"]
    assert [s.title_zh for s in areas] == [
        "加快信息基础设施升级改造",
        "增强信息消费高端供给水平",
        "提升公共服务能力",
        "推动新兴文化服务发展",
        "挖掘信息消费新需求",
        "释放大众创业万众创新潜能",
    ]
    assert {"organisation", "monitoring", "promotion", "security"} <= set(keys)
    assert all(s.guidance_zh and s.title_en for s in SECTIONS)
    assert AREAS[0].name_zh == "信息基础设施升级改造" and AREAS[-1].name_zh == "大众创业万众创新"


@pytest.mark.parametrize("period", ["H1", "Y"])
def test_report_is_deterministic_and_complete(period: str) -> None:
    first = progress_report("杭州市", "浙江省", period, 2016)
    assert first == progress_report("杭州市", "浙江省", period, 2016)
    assert list(first) == list(SECTION_KEYS)
    for key, html in first.items():
        opening = re.match(r"<p>(.*?)</p>", html)
        assert opening and DEMO_LABEL in opening.group(1), key
        assert html.count("<p>") >= 2, key
        assert set(tags_of(html)) <= ALLOWED_TAGS, key
        assert re.search(r"\d", html) or key == "next_steps", key
    joined = "".join(first.values())
    assert "<ul>" in joined and "<ol>" in joined and "<table>" in joined


def test_periods_speak_of_their_half() -> None:
    h1 = progress_report("武汉市", "湖北省", "H1", 2016)
    full = progress_report("武汉市", "湖北省", "Y", 2016)
    assert "上半年" in h1["overview"] and "截至2016年6月底" in h1["overview"]
    assert "全年" in full["overview"] and "上半年" not in full["overview"]
    assert "下半年" in h1["next_steps"] and "2017年" in full["next_steps"]
    assert h1 != full


def test_figures_vary_by_city_and_grow_through_the_year() -> None:
    infrastructure = {progress_report(c, p, "Y", 2016)["infrastructure"] for c, p in CITIES}
    assert len(infrastructure) == len(CITIES)
    for city, province in CITIES:
        fig = demo_text._figures(city, province, 2016)
        for name in (k[:-2] for k in fig if k.endswith("_y")):
            assert fig[f"{name}_h1"] <= fig[f"{name}_y"], (city, name)
        assert all(0 <= fig[k] <= 100 for k in ("fibre_y", "m20_y", "wlan_y", "villages_y", "online_y"))
    east = demo_text._figures("苏州市", "江苏省", 2016)
    assert east == demo_text._figures("苏州市", "江苏省", 2016)


def test_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="period"):
        progress_report("杭州市", "浙江省", "Q3", 2016)


def test_typical_applications_are_complete_and_labelled() -> None:
    for city, province in CITIES:
        apps = typical_applications(city, province, 2016)
        assert apps == typical_applications(city, province, 2016)
        assert 2 <= len(apps) <= 3
        assert len({a["area"] for a in apps}) == len(apps)  # different demonstration areas
        for app in apps:
            assert app["title"].startswith(city) and len(app["title"]) <= 100
            assert app["area"] in AREA_CODES
            assert app["organisation"].endswith("（演示）") and len(app["organisation"]) <= 100
            assert app["organisation_kind"] in {"enterprise", "department"}
            assert app["description"].startswith(f"<p>{DEMO_LABEL}")
            assert app["results"].startswith(f"<p>{DEMO_LABEL}")
            assert re.search(r"\d+(%|个百分点)", app["results"])  # measurable results
            assert set(tags_of(app["description"] + app["results"])) <= ALLOWED_TAGS
            assert isinstance(app["investment"], Decimal) and app["investment"] > 0
            assert app["investment"] == app["investment"].quantize(Decimal("0.01"))
            assert isinstance(app["users_served"], int) and app["users_served"] > 0
            assert re.fullmatch(r"[\u4e00-\u9fff]某某", app["contact_name"])
            assert re.fullmatch(r"1\d\d-0000-\d{4}", app["contact_phone"])
            assert app["contact_email"].endswith("@example.cn")
            assert app["demo"] is True


def test_applications_vary_across_cities() -> None:
    themes = set()
    kinds = set()
    areas = set()
    for city, province in CITIES:
        for app in typical_applications(city, province, 2016):
            themes.add(app["title"].removeprefix(city))
            kinds.add(app["organisation_kind"])
            areas.add(app["area"])
    assert len(themes) >= 8
    assert kinds == {"enterprise", "department"}
    assert areas == set(AREA_CODES)
    assert typical_applications("杭州市", "浙江省", 2016) != typical_applications("杭州市", "浙江省", 2017)
