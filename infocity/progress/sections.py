"""The structure of a demonstration city's progress report (示范工作进展报告), as data.

Source: MIIT's 《2016年国家信息消费示范城市建设指南》. 三(三) asks every demonstration city to report its progress
every half year (上半年进展 in early August, 全年进展 plus 信息消费典型应用 at the end of November). A report follows
the guide: an opening summary, one section per demonstration area of 二、示范内容 (titles are the guide's own
headings), the measures of 三、措施与要求 that a city itself carries out, and the next steps.

Keys are short stable ASCII slugs: stored reports refer to them, so never rename one; add new sections instead.
"""

from __future__ import annotations

from typing import NamedTuple

from django.utils.translation import get_language


class Section(NamedTuple):
    key: str
    title_zh: str
    title_en: str
    guidance_zh: str
    area: str | None = None  # the demonstration area code (A–F) for the sections of 二、示范内容
    guide_ref: str = ""  # where the guide speaks about it, e.g. "二（一）"


class Area(NamedTuple):
    code: str
    name_zh: str
    name_en: str

    @property
    def name(self) -> str:
        """The name in the active language."""
        return self.name_en if get_language() == "en" else self.name_zh


# The six demonstration areas, named as in the 2016 indicator framework (infocity/frameworks/data/edition-2016.yaml,
# areas A–F); a typical application (典型应用) belongs to one of them.
AREAS: tuple[Area, ...] = (
    Area("A", "信息基础设施升级改造", "Information infrastructure upgrading"),
    Area("B", "信息消费高端供给", "High-end supply for information consumption"),
    Area("C", "公共服务能力", "Public service capability"),
    Area("D", "新兴文化服务", "Emerging digital culture services"),
    Area("E", "信息消费新需求", "New demand for information consumption"),
    Area("F", "大众创业万众创新", "Mass entrepreneurship and innovation"),
)

AREA_CODES: tuple[str, ...] = tuple(a.code for a in AREAS)

SECTIONS: tuple[Section, ...] = (
    Section(
        "overview",
        "总体进展",
        "Overall progress",
        "概述本期示范工作总体进展、主要目标完成情况和取得的阶段性成效，"
        "对照“城市光纤网络全覆盖、20M以上宽带用户比例超过50%、政府信息系统基本实现互联互通”等主要目标说明进度。",
        guide_ref="一",
    ),
    Section(
        "infrastructure",
        "加快信息基础设施升级改造",
        "Upgrading information infrastructure",
        "说明光网城市建设、宽带提速、4G网络深度覆盖和重点公共区域WLAN覆盖情况，"
        "以及农村宽带和电信普遍服务、行政村光纤通达、信息基础设施集约化建设的进展和数据。",
        area="A",
        guide_ref="二（一）",
    ),
    Section(
        "supply",
        "增强信息消费高端供给水平",
        "Strengthening high-end supply",
        "说明可穿戴产品、智能家居等中高端信息产品和基于智能产品的在线服务的推广，"
        "工业云等重大项目、基础软件和智能终端、集成电路等核心技术产业化及信息产业转型升级的进展。",
        area="B",
        guide_ref="二（二）",
    ),
    Section(
        "public_services",
        "提升公共服务能力",
        "Improving public service capability",
        "说明公共信息资源开放共享管理办法和开放目录、公共基础设施智能化改造（水电气智能表、交通设施感知），"
        "以及智慧医疗、智慧社区、电子政务一体化等公共服务网络化的进展和群众满意度。",
        area="C",
        guide_ref="二（三）",
    ),
    Section(
        "culture",
        "推动新兴文化服务发展",
        "Developing emerging cultural services",
        "说明动漫、数字图书、网络出版等数字文化内容消费的发展，"
        "以及社区与图书馆、博物馆、文化馆合作建设数字文化资源、引进智能化数字阅读终端的情况。",
        area="D",
        guide_ref="二（四）",
    ),
    Section(
        "demand",
        "挖掘信息消费新需求",
        "Tapping new demand",
        "说明电子商务本地化融合发展、线上线下生活服务、智慧物流和工业电子商务的进展，"
        "以及工业云、工业大数据、信息物理系统（CPS）在重点行业的应用推广。",
        area="E",
        guide_ref="二（五）",
    ),
    Section(
        "innovation",
        "释放大众创业万众创新潜能",
        "Unleashing mass entrepreneurship and innovation",
        "说明制造企业“双创”平台、众创空间等创业创新服务平台的建设和孵化成效，"
        "以及培育信息消费新模式新业态、优化信息消费环境的政策和保障措施。",
        area="F",
        guide_ref="二（六）",
    ),
    Section(
        "organisation",
        "组织保障",
        "Organisation and coordination",
        "说明信息消费工作领导机制和跨部门协调机制、各单位责任分工和任务目标、政策资金支持，"
        "以及将示范建设纳入绩效考核和督查考核的情况。",
        guide_ref="三（一）",
    ),
    Section(
        "monitoring",
        "监测报送",
        "Monitoring and progress reporting",
        "说明配合信息消费监测工作、及时准确填报监测信息的情况，"
        "以及本市示范工作进展定期（半年）报送机制的建立和运行情况。",
        guide_ref="三（二）、三（三）",
    ),
    Section(
        "promotion",
        "宣传推广",
        "Promotion",
        "说明本市开展信息消费宣传推广、公众互动体验、解决方案供需对接和经验交流的活动，以及可复制推广的示范项目。",
        guide_ref="三（四）",
    ),
    Section(
        "security",
        "信息安全保障",
        "Information security",
        "说明网络与信息安全监管、关键信息基础设施安全防护和系统安全防护水平的提升，"
        "以及电子商务交易各方信息和消费者个人信息保护的措施。",
        guide_ref="三（五）",
    ),
    Section(
        "next_steps",
        "下一步工作计划",
        "Next steps",
        "针对存在的问题和差距，提出下一阶段的重点任务、重点工程、时间安排和保障措施。",
    ),
)

SECTION_KEYS: tuple[str, ...] = tuple(s.key for s in SECTIONS)

_BY_KEY = {s.key: s for s in SECTIONS}
_AREA_BY_CODE = {a.code: a for a in AREAS}


def section(key: str) -> Section:
    """The section with this key (KeyError for an unknown key)."""
    return _BY_KEY[key]


def area(code: str) -> Area:
    """The demonstration area with this code, "A".."F" (KeyError otherwise)."""
    return _AREA_BY_CODE[code]
