"""Demonstration content (演示数据) for progress reports and typical applications.

Deterministic: every figure and every choice of wording comes from a `random.Random` seeded with the city, province,
year (and period), so the same city always gets the same report, and a city's H1 and full-year figures agree (the
full-year ones are the further ones). Eastern provinces sit ahead of the central and western ones, around the
national 2016 figures of the product brief §11. Every section and every application text starts with
"【演示数据】", organisations end in "（演示）", people are "张某某", phone numbers use the unassigned 1XX-0000-XXXX
pattern and e-mail addresses @example.cn, so nobody can mistake any of it for a real city's report.

The output is the sanitised-HTML subset the report editor stores (p, strong, ul/ol/li, table/thead/tbody/tr/th/td).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from .sections import AREA_CODES, SECTION_KEYS

DEMO_LABEL = "【演示数据】"
CENTS = Decimal("0.01")
PERIODS = ("H1", "Y")

_EAST = ("北京", "天津", "河北", "上海", "江苏", "浙江", "福建", "山东", "广东", "海南", "辽宁")
_CENTRAL = ("山西", "安徽", "江西", "河南", "湖北", "湖南", "吉林", "黑龙江")


def _rng(*parts: object) -> random.Random:
    # A str seed is hashed with SHA-512: the same on every run and platform, whatever PYTHONHASHSEED.
    return random.Random("|".join(str(p) for p in parts))  # noqa: S311 — demonstration text, not security


def _tier(province: str) -> str:
    if province.startswith(_EAST):
        return "east"
    if province.startswith(_CENTRAL):
        return "central"
    return "west"


def _short(city: str) -> str:
    for suffix in ("市", "地区", "自治州", "盟"):
        if city.endswith(suffix) and len(city) > len(suffix) + 1:
            return city[: -len(suffix)]
    return city


# --------------------------------------------------------------------------------------------------------------
# HTML helpers (the editor's subset)


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _ul(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _ol(items: Sequence[str]) -> str:
    return "<ol>" + "".join(f"<li>{i}</li>" for i in items) + "</ol>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "<thead><tr>" + "".join(f"<th>{h}</th>" for h in headers) + "</tr></thead>"
    body = "<tbody>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows) + "</tbody>"
    return f"<table>{head}{body}</table>"


def _f1(x: float) -> str:
    return f"{x:.1f}"


# --------------------------------------------------------------------------------------------------------------
# A city's figures: (H1 value, full-year value) pairs drawn once per city and year


@dataclass(frozen=True)
class _Ctx:
    city: str  # escaped
    short: str  # escaped, without 市
    province: str  # escaped
    year: int
    full_year: bool
    fig: dict[str, float]
    rng: random.Random

    @property
    def span(self) -> str:
        return f"{self.year}年" if self.full_year else f"{self.year}年上半年"

    @property
    def as_of(self) -> str:
        return f"截至{self.year}年10月底" if self.full_year else f"截至{self.year}年6月底"

    @property
    def half(self) -> str:
        return "全年" if self.full_year else "上半年"

    def v(self, name: str) -> float:
        return self.fig[f"{name}_y" if self.full_year else f"{name}_h1"]

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(list(options))


def _figures(city: str, province: str, year: int) -> dict[str, float]:
    rng = _rng("figures", city, province, year)
    tier = _tier(province)
    scale = {"east": 1.0, "central": 0.7, "west": 0.5}[tier] * rng.uniform(0.6, 1.6)
    lead = {"east": 0.0, "central": -4.0, "west": -8.0}[tier]
    fig: dict[str, float] = {}

    def pct(name: str, low: float, high: float, gain: tuple[float, float], cap: float = 99.9) -> None:
        y = min(cap, rng.uniform(low, high) + lead)
        fig[f"{name}_y"] = round(y, 1)
        fig[f"{name}_h1"] = round(max(0.0, y - rng.uniform(*gain)), 1)

    def amount(name: str, low: float, high: float, h1_share: tuple[float, float] = (0.42, 0.5)) -> None:
        y = rng.uniform(low, high) * scale
        fig[f"{name}_y"] = round(y, 1)
        fig[f"{name}_h1"] = round(y * rng.uniform(*h1_share), 1)

    def count(name: str, low: int, high: int, h1_share: tuple[float, float] = (0.7, 0.9)) -> None:
        y = max(1, round(rng.randint(low, high) * scale))
        fig[f"{name}_y"] = y
        fig[f"{name}_h1"] = max(1, round(y * rng.uniform(*h1_share)))

    fibre_y = 100.0 if rng.random() < (0.8 if tier == "east" else 0.5) else round(rng.uniform(97.5, 99.8), 1)
    fig["fibre_y"], fig["fibre_h1"] = fibre_y, round(fibre_y - rng.uniform(1.5, 4.5), 1)
    fig["fibre_start"] = round(fig["fibre_h1"] - rng.uniform(2.0, 5.0), 1)
    pct("ftth", 80, 92, (3, 7))
    pct("m20", 68, 86, (7, 14))
    pct("g4", 62, 80, (4, 8))
    pct("g4deep", 82, 96, (5, 10))
    pct("wlan", 94, 104, (6, 15), cap=100.0)
    pct("villages", 93, 103, (2, 6), cap=100.0)
    pct("shared", 78, 93, (2, 5))
    pct("gov_connected", 86, 97, (5, 12))
    pct("open_share", 35, 62, (6, 12))
    pct("meters", 55, 85, (4, 9))
    pct("online", 72, 95, (6, 14))
    pct("booking", 38, 66, (4, 9))
    pct("retail_share", 14, 26, (0.5, 2))
    pct("gb_assessed", 88, 103, (10, 25), cap=100.0)
    pct("monitor_ontime", 96, 103, (1, 4), cap=100.0)
    count("new_ftth", 12, 60, (0.45, 0.6))
    count("base_stations", 1500, 6000, (0.45, 0.6))
    count("g4_users", 250, 1100, (0.88, 0.95))
    count("hotspots", 1500, 9000)
    count("key_areas", 60, 220, (1.0, 1.0))
    count("villages_new", 60, 400, (0.45, 0.6))
    count("wearable_firms", 30, 160)
    count("cloud_firms", 400, 3200, (0.55, 0.75))
    count("catalogues", 300, 1400)
    count("datasets", 120, 900, (0.5, 0.75))
    count("departments", 25, 48, (0.8, 0.95))
    count("smart_communities", 40, 320, (0.6, 0.8))
    count("reading_terminals", 80, 600, (0.55, 0.75))
    count("culture_tb", 40, 480, (0.8, 0.92))
    count("rural_stations", 150, 1600, (0.6, 0.8))
    count("maker_spaces", 25, 160, (0.75, 0.9))
    count("national_spaces", 3, 18, (0.8, 1.0))
    count("incubated", 900, 7000, (0.75, 0.9))
    count("mfg_platforms", 6, 45, (0.6, 0.85))
    count("graded_systems", 120, 600, (0.9, 1.0))
    count("inspections", 40, 260, (0.45, 0.6))
    count("events", 8, 40, (0.4, 0.6))
    count("media", 60, 420, (0.4, 0.6))
    count("matchmaking_deals", 12, 90, (0.35, 0.55))
    amount("hardware_output", 60, 520)
    amount("software_revenue", 260, 3200)
    amount("chip_output", 40, 900)
    amount("culture_revenue", 30, 420)
    amount("retail", 700, 5200)
    amount("b2b", 400, 4800)
    amount("info_consumption", 600, 4200)
    amount("special_fund", 5000, 32000, (0.5, 0.65))
    amount("rural_fund", 800, 6000, (0.5, 0.7))
    amount("vc_fund", 5, 60, (0.8, 1.0))
    fig["retail_growth"] = round(rng.uniform(24, 42), 1)
    fig["ic_growth"] = round(rng.uniform(19, 31), 1)
    fig["software_growth"] = round(rng.uniform(12, 26), 1)
    fig["fee_drop"] = round(rng.uniform(22, 45), 1)
    fig["parcels_y"] = round(rng.uniform(25, 90) * (scale**0.5), 1)
    fig["parcels_h1"] = round(fig["parcels_y"] * rng.uniform(0.42, 0.48), 1)
    fig["satisfaction_y"] = round(rng.uniform(86, 94), 1)
    fig["satisfaction_h1"] = round(fig["satisfaction_y"] - rng.uniform(0.5, 2.5), 1)
    fig["design_tools_y"] = round(rng.uniform(55, 82) + lead, 1)
    fig["design_tools_h1"] = round(fig["design_tools_y"] - rng.uniform(2, 5), 1)
    fig["tasks"] = rng.randint(36, 96)
    fig["projects"] = rng.randint(12, 40)
    fig["members"] = rng.randint(18, 36)
    fig["lockdown_days"] = rng.randint(3, 7)
    return fig


# --------------------------------------------------------------------------------------------------------------
# Sections


def _overview(c: _Ctx) -> str:
    focus = c.pick(
        [
            "以“光网城市”和“互联网+政务服务”为抓手",
            "以信息基础设施提速降费和公共数据开放为突破口",
            "以智慧民生应用和工业互联网为重点",
            "坚持需求牵引、供给创新、环境优化",
        ]
    )
    verdict = (
        "各项示范任务总体进展顺利，年度主要目标基本完成"
        if c.full_year
        else "各项示范任务按计划推进，时间过半、任务过半"
    )
    m20 = c.v("m20")
    rows = [
        ["城市光纤网络覆盖率", "100%", f"{_f1(c.v('fibre'))}%", "已完成" if c.v("fibre") >= 100 else "推进中"],
        ["20M以上宽带用户占比", "&gt;50%", f"{_f1(m20)}%", "已完成" if m20 > 50 else "推进中"],
        ["重点公共区域WLAN覆盖率", "100%", f"{_f1(c.v('wlan'))}%", "已完成" if c.v("wlan") >= 100 else "推进中"],
        ["政府信息系统互联互通率", "基本实现", f"{_f1(c.v('gov_connected'))}%", "推进中"],
    ]
    gaps = c.rng.sample(
        [
            "农村地区宽带接入能力与城区仍有差距，部分偏远行政村光纤改造进度偏慢",
            "部门间数据共享仍以批量交换为主，公共数据开放的数量和质量有待提高",
            "本地信息产品和服务的高端供给能力不足，核心技术和龙头企业偏少",
            "信息消费统计口径尚不统一，部分监测数据依赖测算",
            "双创平台运营能力参差不齐，创新成果转化效率有待提升",
        ],
        2,
    )
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}{c.span}，{c.city}按照《{c.year}年国家信息消费示范城市建设指南》的部署，"
                f"{focus}，统筹推进信息基础设施升级改造、信息消费高端供给、公共服务能力提升、新兴文化服务、"
                f"信息消费新需求和大众创业万众创新六个方面的示范工作，{verdict}。"
            ),
            _p(
                f"{c.as_of}，全市城市光纤网络覆盖率达到{_f1(c.v('fibre'))}%，20M以上宽带用户占比{_f1(m20)}%，"
                f"4G用户占移动电话用户的{_f1(c.v('g4'))}%；政务服务事项网上办理率达到{_f1(c.v('online'))}%；"
                f"网络零售额{_f1(c.v('retail'))}亿元，同比增长{_f1(c.fig['retail_growth'])}%；"
                f"{'预计全年' if c.full_year else '上半年'}信息消费规模{_f1(c.v('info_consumption'))}亿元，"
                f"同比增长{_f1(c.fig['ic_growth'])}%。主要目标完成情况如下："
            ),
            _table(["指标", "目标", "完成情况", "进度"], rows),
            _p(f"同时也要看到，{gaps[0]}；{gaps[1]}。这些问题将在下一阶段工作中重点加以解决。"),
        ]
    )


def _infrastructure(c: _Ctx) -> str:
    m20 = c.v("m20")
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}全面推动宽带提速升级。{c.span}，全市新增光纤到户覆盖家庭{int(c.v('new_ftth'))}万户，"
                f"城市光纤网络覆盖率由年初的{_f1(c.fig['fibre_start'])}%提高到{_f1(c.v('fibre'))}%；"
                f"光纤接入（FTTH/O）用户占固定宽带用户的{_f1(c.v('ftth'))}%，20M以上宽带用户占比达到{_f1(m20)}%，"
                f"{'已超过' if m20 > 50 else '正在向'}指南提出的50%目标{'' if m20 > 50 else '迈进'}。"
            ),
            _p(
                f"扩大4G网络深度覆盖。{c.span}新建4G基站{int(c.v('base_stations'))}个，重点楼宇、交通枢纽和地下空间"
                f"的4G深度覆盖率达到{_f1(c.v('g4deep'))}%，4G用户{int(c.v('g4_users'))}万户。"
                f"在主要商业区、旅游景点、产业园区等{int(c.v('key_areas'))}处重点公共区域部署WLAN热点"
                f"{int(c.v('hotspots'))}个，覆盖率{_f1(c.v('wlan'))}%。"
            ),
            _p(
                f"扩大升级宽带网络覆盖。积极参与电信普遍服务试点，市财政安排农村宽带配套资金"
                f"{_f1(c.v('rural_fund'))}万元，完成{int(c.v('villages_new'))}个行政村光纤改造，"
                f"行政村光纤通达率达到{_f1(c.v('villages'))}%。推进铁塔、管道等信息基础设施共建共享，"
                f"新建铁塔共享率{_f1(c.v('shared'))}%。主要举措："
            ),
            _ul(
                [
                    f"出台《{c.city}加快高速宽带网络建设推进网络提速降费实施方案》（演示），明确年度建设任务",
                    "将光纤到户和移动通信配套设施纳入新建住宅、公共建筑的规划审批和竣工验收",
                    f"与三家基础电信企业签订提速降费合作协议，家庭宽带平均单位带宽资费下降{_f1(c.fig['fee_drop'])}%",
                    c.pick(
                        [
                            "开放党政机关、公园、场馆等公共设施免费用于基站和WLAN建设",
                            "建立通信基础设施建设“绿色通道”，集中协调进场难问题",
                        ]
                    ),
                ]
            ),
        ]
    )


def _supply(c: _Ctx) -> str:
    projects = c.rng.sample(
        [
            f"{c.short}工业云公共服务平台（演示）",
            "智能可穿戴设备研发及产业化项目（演示）",
            "智慧家庭综合解决方案推广项目（演示）",
            "新型显示模组生产线项目（演示）",
            "实时数据库与工业控制软件研发项目（演示）",
            "智能网联汽车车载信息服务平台（演示）",
        ],
        3,
    )
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}扩大中高端信息产品供给。{c.span}，全市可穿戴设备、智能家居等智能硬件企业"
                f"达到{int(c.v('wearable_firms'))}家，实现产值{_f1(c.v('hardware_output'))}亿元；"
                f"引导企业围绕智慧家庭、智能穿戴、智能网联汽车开发在线服务，培育系统解决方案供应商。"
            ),
            _p(
                f"推进工业云等重大项目建设。{c.as_of}，接入工业云平台的企业{int(c.v('cloud_firms'))}家；"
                f"软件和信息技术服务业实现收入{_f1(c.v('software_revenue'))}亿元，同比增长"
                f"{_f1(c.fig['software_growth'])}%，智能终端和集成电路产业产值{_f1(c.v('chip_output'))}亿元。"
            ),
            _p("加快核心技术创新和产业化，重点推进以下项目："),
            _ol(projects),
            _p(
                c.pick(
                    [
                        "同时优化面向新一代信息技术的产业生态，引导信息产业向网络化、服务化、集成化方向转型。",
                        "同时完善多部门协同、多主体参与的推广机制，形成信息产品和服务产业链联动发展格局。",
                    ]
                )
            ),
        ]
    )


def _public_services(c: _Ctx) -> str:
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}推动公共数据资源开放共享。{c.city}{'出台' if c.full_year else '起草'}"
                f"《{c.city}公共信息资源开放共享管理办法》（演示）{'和开放目录' if c.full_year else '并公开征求意见'}，"
                "编制政务信息资源目录"
                f"{int(c.v('catalogues'))}类，{int(c.v('departments'))}个部门接入共享交换平台，"
                f"政府信息系统互联互通率{_f1(c.v('gov_connected'))}%，面向社会开放数据集{int(c.v('datasets'))}个。"
            ),
            _p(
                f"支持公共基础设施智能化改造。居民水电气智能表覆盖率达到{_f1(c.v('meters'))}%，"
                f"{c.pick(['地铁、公交枢纽', '高速公路、机场', '港口、铁路站场'])}等重点交通设施实现实时感知。"
            ),
            _p(
                f"提升公共服务网络化水平。政务服务事项网上办理率{_f1(c.v('online'))}%，"
                f"二级以上医院预约诊疗率{_f1(c.v('booking'))}%，建成智慧社区{int(c.v('smart_communities'))}个，"
                f"网上公共服务群众满意度{_f1(c.v('satisfaction'))}分。"
            ),
            _table(
                ["指标", "年初", "当前"],
                [
                    [
                        "政务服务事项网上办理率",
                        f"{_f1(max(0.0, c.fig['online_h1'] - 8))}%",
                        f"{_f1(c.v('online'))}%",
                    ],
                    ["二级以上医院预约诊疗率", f"{_f1(max(0.0, c.fig['booking_h1'] - 6))}%", f"{_f1(c.v('booking'))}%"],
                    ["居民水电气智能表覆盖率", f"{_f1(max(0.0, c.fig['meters_h1'] - 5))}%", f"{_f1(c.v('meters'))}%"],
                ],
            ),
        ]
    )


def _culture(c: _Ctx) -> str:
    trend = c.pick(
        ["原创动漫作品在主流视频平台上线播出", "网络文学和数字出版企业加快集聚", "围绕智能家居的文化内容服务开始推广"]
    )
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}发展新型数字文化。{c.span}，全市动漫、数字图书、网络出版等数字文化产业实现营业收入"
                f"{_f1(c.v('culture_revenue'))}亿元，"
                f"{trend}。"
            ),
            _p(
                f"推动社区数字文化建设。市图书馆、博物馆、文化馆与社区合作，在{int(c.v('reading_terminals'))}个社区"
                f"布设智能化数字阅读终端，公共文化机构数字资源总量达到{int(c.v('culture_tb'))}TB，"
                f"居民可在“家门口”借阅电子图书、观看数字展览。主要活动包括："
            ),
            _ul(
                c.rng.sample(
                    [
                        "“书香社区”数字阅读推广月",
                        "数字文化馆线上公益培训课程",
                        "博物馆藏品三维数字化展示",
                        "非物质文化遗产数字影像采集",
                        "社区智慧文化生活体验日",
                    ],
                    3,
                )
            ),
        ]
    )


def _demand(c: _Ctx) -> str:
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}推动电子商务本地化融合发展。{c.as_of}，全市网络零售额{_f1(c.v('retail'))}亿元，"
                f"占社会消费品零售总额的{_f1(c.v('retail_share'))}%；建成农村电子商务服务站点"
                f"{int(c.v('rural_stations'))}个，带动{c.pick(['茶叶', '水果', '特色农产品', '小商品', '纺织服装'])}等"
                f"本地产业上线销售。"
            ),
            _p(
                f"发展线上线下相结合的生活服务和智慧物流，人均快递业务量达到{_f1(c.v('parcels'))}件。"
                f"鼓励发展工业电子商务，工业电子商务交易额{_f1(c.v('b2b'))}亿元。"
            ),
            _p(
                f"深化重点行业生产性信息服务。以工业云、工业大数据和信息物理系统（CPS）在"
                f"{c.pick(['装备制造', '纺织服装', '汽车零部件', '电子信息', '化工'])}等行业的应用为切入点，"
                f"规模以上工业企业数字化研发设计工具普及率达到{_f1(c.v('design_tools'))}%。"
            ),
        ]
    )


def _innovation(c: _Ctx) -> str:
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}推动大众创业万众创新。{c.as_of}，全市众创空间、创新工场、开源社区等双创平台"
                f"{int(c.v('maker_spaces'))}个，其中国家级{int(c.v('national_spaces'))}个；在孵企业和创业团队"
                f"{int(c.v('incubated'))}个；培育制造企业“双创”平台{int(c.v('mfg_platforms'))}个。"
            ),
            _p(
                f"完善研发测试、创业培训、投融资和创业孵化服务，设立规模{_f1(c.v('vc_fund'))}亿元的"
                f"信息消费产业创业投资引导基金（演示），推进产学研用结合，促进创新成果转化。"
            ),
            _p(
                f"优化信息消费环境。{'预计全年' if c.full_year else '上半年'}全市信息消费规模"
                f"{_f1(c.v('info_consumption'))}亿元，同比增长{_f1(c.fig['ic_growth'])}%，"
                f"{'高于' if c.fig['ic_growth'] >= 20 else '略低于'}20%的预期增速。"
            ),
        ]
    )


def _organisation(c: _Ctx) -> str:
    leader = c.pick(["市长", "常务副市长", "分管副市长"])
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}{c.city}成立由{leader}任组长的信息消费示范城市建设领导小组，{int(c.fig['members'])}个"
                f"委办局和区县为成员单位，领导小组办公室设在市经济和信息化委员会，建立月度调度、季度通报的"
                f"跨部门协调机制。"
            ),
            _p(
                f"制定示范建设任务分解表，明确{int(c.fig['tasks'])}项任务和{int(c.fig['projects'])}个重点工程的"
                f"牵头单位、责任分工和时间节点。{c.span}市财政安排信息消费专项资金{_f1(c.v('special_fund'))}万元。"
            ),
            _ul(
                [
                    "将信息消费示范建设工作纳入机关绩效考核和个人绩效考核",
                    f"{c.half}召开领导小组会议和专题推进会{2 if not c.full_year else 4}次",
                    "市政府督查室对重点任务开展专项督查，逐项销号",
                ]
            ),
        ]
    )


def _monitoring(c: _Ctx) -> str:
    check = c.pick(["对口径不一致的数据逐项核对来源", "对异常变动的数据要求部门书面说明"])
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}按照信息消费监测工作要求，{c.city}明确市经信委为监测数据报送牵头单位，统计、通信管理、"
                f"商务、卫生计生等部门和基础电信企业各指定一名联络员，{c.span}监测数据按时报送率"
                f"{_f1(c.v('monitor_ontime'))}%。"
            ),
            _p(
                "建立示范工作进展定期（半年）报送机制：各成员单位每月底前报送任务进展，领导小组办公室汇总审核后"
                f"形成半年和全年进展报告，数据经分管领导审核后报送。{check}，"
                "确保填报信息及时、准确。"
            ),
        ]
    )


def _promotion(c: _Ctx) -> str:
    exchange = c.pick(
        [
            "参加全国示范城市经验交流座谈会并作交流发言",
            "整理可复制推广的示范项目案例集",
            "配合开展“信息消费示范应用城市行”活动",
        ]
    )
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}{c.span}，{c.city}举办信息消费体验周、"
                f"{c.pick(['智慧生活嘉年华', '信息消费进社区', '智能产品体验展', '“互联网+”便民服务推介会'])}等活动"
                f"{int(c.v('events'))}场，让市民现场体验智能家居、可穿戴设备和在线公共服务。"
            ),
            _p(
                f"组织信息消费解决方案供需对接会，促成签约项目{int(c.v('matchmaking_deals'))}个；"
                f"主流媒体和政务新媒体发布相关报道{int(c.v('media'))}篇，"
                f"{exchange}。"
            ),
        ]
    )


def _security(c: _Ctx) -> str:
    return "".join(
        [
            _p(
                f"{DEMO_LABEL}加强网络与信息安全监管，梳理关键信息基础设施{int(c.v('graded_systems') // 8)}个，"
                f"完成等级保护定级的政务信息系统{int(c.v('graded_systems'))}个，其中完成等级测评的占"
                f"{_f1(c.v('gb_assessed'))}%。"
            ),
            _p(
                f"加强电子商务交易各方信息保护，对{int(c.v('inspections'))}家电子商务平台和网络服务企业开展个人信息"
                f"保护检查，督促整改问题{max(1, int(c.v('inspections') // 5))}项；"
                f"{c.pick(['组织网络安全应急演练', '开展网络安全宣传周活动', '建立网络安全信息通报机制'])}，"
                "提升系统安全防护水平。"
            ),
        ]
    )


_NEXT = [
    "加快农村宽带升级改造，实现行政村光纤全覆盖",
    "扩大公共数据开放范围，开展数据开放创新应用大赛",
    "推广智慧医疗和智慧社区应用，提高群众满意度",
    "推进工业云和工业电子商务，培育制造企业“双创”平台",
    "丰富社区数字文化资源，扩大数字阅读终端覆盖",
    "完善信息消费监测统计，提高数据报送质量",
    "加强个人信息保护和网络安全监管",
    "举办信息消费体验活动，推广可复制的示范项目",
]


def _next_steps(c: _Ctx) -> str:
    when = f"{c.year + 1}年" if c.full_year else "下半年"
    items = c.rng.sample(_NEXT, 4)
    return "".join(
        [
            _p(f"{DEMO_LABEL}{when}，{c.city}将对照示范建设目标，针对存在的问题和差距，重点做好以下工作："),
            _ol(items),
            _p(f"同时加强督查考核，确保{'各项任务按期完成' if not c.full_year else '示范建设取得持续成效'}。"),
        ]
    )


_WRITERS = {
    "overview": _overview,
    "infrastructure": _infrastructure,
    "supply": _supply,
    "public_services": _public_services,
    "culture": _culture,
    "demand": _demand,
    "innovation": _innovation,
    "organisation": _organisation,
    "monitoring": _monitoring,
    "promotion": _promotion,
    "security": _security,
    "next_steps": _next_steps,
}
assert set(_WRITERS) == set(SECTION_KEYS), "every report section needs demonstration text"


def progress_report(city: str, province: str, period: str, year: int) -> dict[str, str]:
    """Demonstration text for every section of a city's progress report: period "H1" (上半年) or "Y" (全年)."""
    if period not in PERIODS:
        raise ValueError(f"period must be 'H1' or 'Y', not {period!r}")
    fig = _figures(city, province, year)
    report = {}
    for key in SECTION_KEYS:
        ctx = _Ctx(
            city=escape(city),
            short=escape(_short(city)),
            province=escape(province),
            year=year,
            full_year=period == "Y",
            fig=fig,
            rng=_rng("section", city, province, year, period, key),
        )
        report[key] = _WRITERS[key](ctx)
    return report


# --------------------------------------------------------------------------------------------------------------
# Typical applications


@dataclass(frozen=True)
class _Theme:
    key: str
    area: str
    title: str  # after the city's name
    kind: str  # enterprise | department
    organisations: tuple[str, ...]  # "{short}" is the city without 市
    what: str  # one sentence on what it is
    how: tuple[str, ...]  # features, as a list
    investment: tuple[int, int]  # 万元
    users: tuple[int, int]
    unit: str  # of users_served
    results: tuple[str, ...]  # measurable results; the placeholders are filled in _application()


_THEMES: tuple[_Theme, ...] = (
    _Theme(
        "community",
        "C",
        "智慧社区服务平台",
        "department",
        ("{short}市民政局（演示）", "{short}市社区服务中心（演示）"),
        "整合社区事务受理、养老助残、物业服务和周边商户资源，居民通过手机应用和社区自助终端一站式办理",
        ("社区事务“一窗受理、全城通办”", "居家养老紧急呼叫和上门服务", "物业报修、缴费和邻里互助"),
        (800, 4500),
        (60000, 450000),
        "人",
        ("覆盖社区{a}个，日均服务{b}人次", "社区事务办理时间平均缩短{c}%", "居民满意度提高到9{a0}%"),
    ),
    _Theme(
        "egov",
        "C",
        "“互联网+政务服务”平台",
        "department",
        ("{short}市政务服务管理办公室（演示）", "{short}市数据资源管理局（演示）"),
        "打通部门业务系统，实现政务服务事项网上申请、网上审批、网上反馈和结果快递送达",
        ("统一身份认证和电子证照共享", "行政审批“最多跑一次”", "办件进度短信和微信实时推送"),
        (1500, 9000),
        (200000, 1800000),
        "人",
        ("{m}项政务服务事项实现网上办理", "平均办件时长缩短{c}%", "日均网上办件{b}件"),
    ),
    _Theme(
        "health",
        "C",
        "智慧医疗健康服务平台",
        "department",
        ("{short}市卫生和计划生育委员会（演示）", "{short}市卫生信息中心（演示）"),
        "连接全市二级以上医院和社区卫生服务中心，提供预约挂号、检查检验结果查询、诊间支付和家庭医生签约服务",
        ("全市统一预约挂号", "检查检验结果互认共享", "诊间和移动支付"),
        (2000, 12000),
        (300000, 2500000),
        "人",
        ("接入医疗机构{a}家", "日均预约挂号{b}人次", "患者平均候诊时间缩短{c}%"),
    ),
    _Theme(
        "education",
        "C",
        "在线教育资源公共服务平台",
        "department",
        ("{short}市教育局（演示）", "{short}市电化教育馆（演示）"),
        "汇聚优质课程资源，为中小学师生和家长提供同步课堂、名师直播和在线答疑",
        ("名师同步课堂直播", "课后在线答疑", "区域教育资源共建共享"),
        (600, 5000),
        (80000, 600000),
        "人",
        ("上线课程资源{m}节", "日均学习{b}人次", "农村学校优质课程开课率提高{d}个百分点"),
    ),
    _Theme(
        "tourism",
        "E",
        "智慧旅游服务平台",
        "enterprise",
        ("{short}智游信息科技有限公司（演示）", "{short}文旅数字科技有限公司（演示）"),
        "为游客提供景区实时客流、电子门票、语音导览和本地生活服务预订，为管理部门提供客流监测和预警",
        ("景区电子门票和分时预约", "手机语音导览", "客流实时监测和预警"),
        (500, 4000),
        (150000, 2000000),
        "人",
        ("接入A级景区{s}个", "日均服务游客{b}人次", "景区入园排队时间缩短{c}%"),
    ),
    _Theme(
        "culture_centre",
        "D",
        "数字文化馆",
        "department",
        ("{short}市文化馆（演示）", "{short}市群众艺术馆（演示）"),
        "把文化馆的培训、展演和非遗资源搬到网上，市民可在线预约活动、观看直播、参加公益培训",
        ("公益培训在线报名和直播", "非遗项目数字化展示", "社区文化活动预约"),
        (300, 2500),
        (30000, 400000),
        "人",
        ("上线数字资源{a}GB", "年均线上参与{b}人次", "活动预约率提高{c}%"),
    ),
    _Theme(
        "reading",
        "D",
        "社区数字阅读服务工程",
        "department",
        ("{short}市图书馆（演示）", "{short}市文化广电新闻出版局（演示）"),
        "在社区和公共场所布设智能化数字阅读终端和24小时自助图书馆，居民扫码即可借阅电子书刊",
        ("社区数字阅读终端", "24小时自助借还", "电子书刊扫码借阅"),
        (400, 3000),
        (50000, 500000),
        "人",
        ("布设数字阅读终端{a}台", "日均借阅{b}册次", "社区居民到馆外借阅量增长{c}%"),
    ),
    _Theme(
        "rural_ecommerce",
        "E",
        "农村电子商务综合服务平台",
        "enterprise",
        ("{short}乡淘电子商务有限公司（演示）", "{short}农品汇网络科技有限公司（演示）"),
        "建设县、乡、村三级电商服务站点和冷链物流体系，帮助农户把特色农产品卖到全国",
        ("村级电商服务站代购代销", "农产品品牌培育和质量追溯", "县乡村三级物流配送"),
        (700, 5000),
        (20000, 260000),
        "户",
        ("建成村级服务站{a}个", "带动农产品网络销售额{b}万元", "农产品物流成本降低{c}%"),
    ),
    _Theme(
        "smart_home",
        "B",
        "智能家居体验中心",
        "enterprise",
        ("{short}智家科技股份有限公司（演示）", "{short}云居智能科技有限公司（演示）"),
        "集中展示智能家电、安防、照明和健康监测产品，市民可现场体验并在线定制全屋智能方案",
        ("智能家居全场景体验", "线上定制、线下安装", "产品互联互通测试"),
        (1000, 6000),
        (20000, 150000),
        "人",
        ("年接待体验市民{u}人次", "带动智能家居产品销售{a}万元", "定制方案转化率{c}%"),
    ),
    _Theme(
        "wearable",
        "B",
        "可穿戴健康监测服务",
        "enterprise",
        ("{short}康联智能穿戴科技有限公司（演示）", "{short}心晴健康科技有限公司（演示）"),
        "为慢性病患者和老年人提供可穿戴监测设备和远程健康管理，异常数据自动推送社区医生",
        ("心率、血压、血糖连续监测", "异常预警自动推送社区医生", "家属手机查看健康报告"),
        (600, 4000),
        (10000, 120000),
        "人",
        ("服务签约用户{u}人", "累计发出健康预警{a}次", "签约用户急诊就诊次数下降{c}%"),
    ),
    _Theme(
        "industrial_platform",
        "F",
        "工业互联网双创平台",
        "enterprise",
        ("{short}智造云科技有限公司（演示）", "{short}工联网络科技股份有限公司（演示）"),
        "依托龙头制造企业开放研发设计、检验检测和生产能力，为中小企业和创业团队提供众包设计和协同制造服务",
        ("众包设计和协同研发", "共享检验检测设备", "创业团队孵化和投融资对接"),
        (2000, 15000),
        (500, 8000),
        "家",
        ("入驻创业团队和中小企业{u}家", "发布众包设计任务{a}项", "新产品研发周期缩短{c}%"),
    ),
    _Theme(
        "maker_space",
        "F",
        "众创空间综合服务平台",
        "department",
        ("{short}市科学技术局（演示）", "{short}市创业服务中心（演示）"),
        "汇集全市众创空间的场地、导师、投融资和政策资源，为创客提供一站式线上服务",
        ("工位和场地在线预约", "创业导师在线辅导", "创业政策一键申报"),
        (300, 2500),
        (3000, 40000),
        "人",
        ("联合众创空间{s}个", "服务创业者{b}人次", "政策兑现时间缩短{c}%"),
    ),
    _Theme(
        "fibre",
        "A",
        "光网城市暨光纤入户工程",
        "enterprise",
        ("中国某某通信{short}分公司（演示）", "{short}信息网络有限公司（演示）"),
        "对老旧小区和城中村实施光纤到户改造，同步推进4G深度覆盖和家庭宽带提速",
        ("老旧小区光纤到户改造", "4G室内深度覆盖", "家庭宽带免费提速"),
        (5000, 40000),
        (100000, 1500000),
        "户",
        ("改造老旧小区{a}个", "新增光纤入户家庭{u}户", "用户平均下载速率提高{c}%"),
    ),
    _Theme(
        "wlan",
        "A",
        "“无线城市”公共WLAN工程",
        "enterprise",
        ("{short}无线城市建设运营有限公司（演示）", "{short}数联网络科技有限公司（演示）"),
        "在主要商业区、旅游景点、交通枢纽和产业园区建设免费公共WLAN，实名认证、一次登录全城漫游",
        ("免费公共WLAN全城漫游", "实名认证和安全审计", "热点客流分析服务"),
        (1500, 9000),
        (200000, 2200000),
        "人",
        ("部署热点{m}个", "日均连接{b}人次", "重点公共区域覆盖率提高{d}个百分点"),
    ),
    _Theme(
        "logistics",
        "E",
        "智慧物流公共信息平台",
        "enterprise",
        ("{short}物联智运科技有限公司（演示）", "{short}速链供应链管理有限公司（演示）"),
        "整合车源、货源和仓储信息，提供在线配货、车辆实时跟踪和共同配送服务",
        ("车货在线匹配", "车辆北斗实时跟踪", "城市共同配送"),
        (1200, 8000),
        (2000, 30000),
        "家",
        ("注册物流企业和车辆{u}家（辆）", "日均撮合运单{a}单", "车辆空驶率下降{c}%"),
    ),
    _Theme(
        "industrial_cloud",
        "E",
        "工业云服务平台",
        "enterprise",
        ("{short}工业云服务有限公司（演示）", "{short}数智制造科技有限公司（演示）"),
        "为中小制造企业提供研发设计软件、生产管理和设备远程运维等云服务，按需租用、降低信息化门槛",
        ("研发设计软件云端租用", "生产管理和供应链协同", "设备远程监测和预测性维护"),
        (1500, 10000),
        (300, 6000),
        "家",
        ("上云企业{u}家", "企业信息化投入平均降低{c}%", "设备故障停机时间减少{a}小时/年"),
    ),
    _Theme(
        "parking",
        "C",
        "智慧停车与出行服务平台",
        "enterprise",
        ("{short}城市智行科技有限公司（演示）", "{short}交通信息服务有限公司（演示）"),
        "接入全市公共停车场和路内泊位，提供实时空位查询、预约停车和无感支付，公交到站信息实时发布",
        ("停车位实时查询和预约", "无感支付", "公交实时到站查询"),
        (800, 6000),
        (100000, 1200000),
        "人",
        ("接入停车泊位{L}个", "日均服务{b}人次", "高峰时段寻找车位时间缩短{c}%"),
    ),
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈"


def _application(theme: _Theme, city: str, province: str, year: int, index: int) -> dict[str, Any]:
    rng = _rng("application", city, province, year, theme.key)
    short = _short(city)
    title = f"{city}{theme.title}"
    organisation = rng.choice(theme.organisations).format(short=short)
    investment = (Decimal(rng.randint(theme.investment[0] * 10, theme.investment[1] * 10)) / 10).quantize(CENTS)
    users = rng.randint(*theme.users)
    a = rng.randint(12, 480)
    b = rng.randint(800, 36000)
    pct = rng.randint(18, 62)
    numbers = {
        "s": str(rng.randint(5, 60)),  # a few dozen: scenic spots, maker spaces
        "a": str(a),  # hundreds: communities, service stations
        "m": str(rng.randint(300, 1800)),  # around a thousand: administrative services, courses, hotspots
        "b": str(b),  # tens of thousands: daily visits
        "L": str(rng.randint(10000, 90000)),  # parking spaces
        "c": str(pct),  # a percentage change
        "d": str(rng.randint(4, 25)),  # percentage points
        "u": str(users),  # the users served
        "a0": str(a % 10),
    }
    results = [r.format(**numbers) for r in theme.results]
    launched = rng.choice(["年初", "3月", "4月", "5月", "6月"])
    description = "".join(
        [
            _p(
                f"{DEMO_LABEL}{escape(title)}由{escape(organisation)}建设运营，{year}年{launched}上线。"
                f"平台{theme.what}。"
            ),
            _p("主要功能："),
            _ul(list(theme.how)),
            _p(
                f"项目总投资{investment}万元，"
                f"{rng.choice(['其中市级财政资金占', '社会资本投入占', '企业自筹资金占'])}{rng.randint(30, 70)}%。"
            ),
        ]
    )
    results_html = "".join(
        [
            _p(f"{DEMO_LABEL}截至{year}年10月底，累计服务用户{users}{theme.unit}，主要成效："),
            _ul(results),
            _p(
                rng.choice(
                    [
                        "该模式已在省内其他城市复制推广。",
                        "项目被列为本市信息消费重点示范项目。",
                        "下一步将扩大覆盖范围并开放数据接口。",
                    ]
                )
            ),
        ]
    )
    surname = _SURNAMES[rng.randrange(len(_SURNAMES))]
    return {
        "title": title,
        "area": theme.area,
        "theme": theme.key,
        "organisation": organisation,
        "organisation_kind": theme.kind,
        "description": description,
        "investment": investment,
        "users_served": users,
        "results": results_html,
        "contact_name": f"{surname}某某",
        "contact_phone": f"1{rng.choice('3589')}{rng.randint(0, 9)}-0000-{rng.randint(0, 9999):04d}",
        "contact_email": f"demo.contact{index}.{rng.randint(100, 999)}@example.cn",
        "demo": True,
    }


def typical_applications(city: str, province: str, year: int) -> list[dict[str, Any]]:
    """Two or three demonstration typical applications of a city, from different demonstration areas."""
    rng = _rng("applications", city, province, year)
    wanted = rng.choice([2, 3, 3])
    themes = list(_THEMES)
    rng.shuffle(themes)
    chosen: list[_Theme] = []
    for theme in themes:
        if theme.area not in {t.area for t in chosen}:
            chosen.append(theme)
        if len(chosen) == wanted:
            break
    return [_application(theme, city, province, year, i) for i, theme in enumerate(chosen, start=1)]


assert {t.area for t in _THEMES} <= set(AREA_CODES)
