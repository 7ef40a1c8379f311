"""The menu: what each role can do. The layout's navigation and each role's home page both read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from infocity.accounts.models import Role

R = Role


@dataclass(frozen=True)
class Entry:
    label: str | Promise
    url_name: str
    roles: frozenset[str]
    description: str | Promise = ""
    # A role-specific description where the same page serves different duties.
    descriptions: dict[str, str | Promise] = field(default_factory=dict)

    def describe(self, role: str) -> str | Promise:
        return self.descriptions.get(role, self.description)

    @property
    def namespace(self) -> str:
        """The URL namespace of the entry's pages, so the menu item stays highlighted on all of them."""
        return self.url_name.split(":", 1)[0]


REPORTING_ROLES = frozenset({R.MINISTRY, R.ANALYST, R.PROVINCE_REVIEWER, R.CITY_REPORTER, R.CITY_APPROVER})

ENTRIES: list[Entry] = [
    Entry(
        _("待办"),
        "reporting:queue",
        REPORTING_ROLES,
        descriptions={
            R.CITY_REPORTER: _("填写本市各报告期的监测数据：待填报、已逾期、被退回的报送。"),
            R.CITY_APPROVER: _("审核本市已填写的报送并报送省级；处理被退回的报送。"),
            R.PROVINCE_REVIEWER: _("审核本省示范城市报送的数据，通过或退回；查看逾期未报的城市。"),
            R.ANALYST: _("受理省级已审核的报送，处理解锁申请，跟踪被退回的报送。"),
            R.MINISTRY: _("查看全国逾期未报的报送。"),
        },
    ),
    Entry(
        _("报送查询"),
        "reporting:submissions",
        REPORTING_ROLES,
        _("按填报周期、报告期、填报表、状态、省份和城市查询报送，查看版本记录。"),
    ),
    Entry(
        _("进展报告"),
        "progress:list",
        REPORTING_ROLES | {R.ENTERPRISE},
        descriptions={
            R.CITY_REPORTER: _("撰写本市上半年和全年示范工作进展报告，上传附件，填报信息消费典型应用。"),
            R.CITY_APPROVER: _("审核本市的进展报告和典型应用，确认企业填报的典型应用，报送省级。"),
            R.PROVINCE_REVIEWER: _("审核本省示范城市的进展报告和典型应用，逐部分提出意见，通过或退回。"),
            R.ANALYST: _("受理省级已审核的进展报告，导出 PDF 或 Word 供专家评审。"),
            R.MINISTRY: _("查看各示范城市的进展报告和典型应用。"),
            R.ENTERPRISE: _("通过所在城市填报信息消费典型应用，由城市确认后随全年进展报告报送。"),
        },
    ),
    Entry(
        _("年度评估"),
        "evaluation:index",
        frozenset({R.MINISTRY, R.ANALYST}),
        descriptions={
            R.ANALYST: _(
                "制定评估方案，组织专家评审，运行年度评估（排名、不确定性区间、得分解释），作出验收结论并生成表彰建议。"
            ),
            R.MINISTRY: _("审批评估方案，查看评估结果与得分解释，确认表彰名单并发布，下载表彰证书。"),
        },
    ),
    Entry(
        _("专家评审"),
        "evaluation:my_reviews",
        frozenset({R.EXPERT}),
        _("评审分配给您的全年进展报告和典型应用：逐项打分并填写评审意见；评审结束前其他专家看不到您的评分。"),
    ),
    Entry(
        _("填报周期"),
        "reporting:cycles",
        REPORTING_ROLES,
        _("查看各填报周期的报告期、开始填报日期、报送期限和关闭日期。"),
        {R.MINISTRY: _("创建和修改填报周期：指标体系版本、城市批次、填报表和各报告期的日期。")},
    ),
    Entry(
        _("完整性与及时性"),
        "reporting:completeness",
        frozenset({R.MINISTRY, R.ANALYST, R.PROVINCE_REVIEWER}),
        _("按省份和城市统计应报、已受理、按时和逾期报送，计算完整率与及时率，可下载 CSV。"),
    ),
    Entry(
        _("监测看板"),
        "analytics:dashboard",
        REPORTING_ROLES,
        descriptions={
            R.MINISTRY: _("全国各指标达标情况、省份地图、城市明细和完整性；逐级查看省份和城市。"),
            R.ANALYST: _("全国各指标达标情况、省份地图、城市明细和完整性；逐级查看省份和城市，下载图表数据。"),
            R.PROVINCE_REVIEWER: _("本省示范城市的指标达标情况、城市明细和完整性。"),
            R.CITY_REPORTER: _("本市各指标与目标、全国汇总值的对比，趋势和年末目标进展。"),
            R.CITY_APPROVER: _("本市各指标与目标、全国汇总值的对比，趋势和年末目标进展。"),
        },
    ),
    Entry(
        _("异常值"),
        "analytics:outliers",
        frozenset({R.ANALYST}),
        _("同类城市比较（z 分数、修正 z 分数）和环比变化检测出的异常数值：标记已说明，或向城市发出询问。"),
    ),
    Entry(
        _("监测分析报告"),
        "analytics:reports",
        REPORTING_ROLES,
        _("生成全国、本省或本市的监测分析报告（PDF 与 Excel），含达标表、图表和异常值附录。"),
    ),
    Entry(
        _("解锁申请"),
        "reporting:unlocks",
        frozenset({R.ANALYST}),
        _("审批城市对已受理数据的解锁申请：同意后只重新开放申请的填报项。"),
    ),
    Entry(
        _("批量导入导出"),
        "bulk:index",
        REPORTING_ROLES,
        _("下载 Excel 填报模板，上传 Excel/CSV 批量填写（先检查后导入），导出填报数据。"),
        {
            R.PROVINCE_REVIEWER: _("下载本省城市的 Excel 填报模板，导出本省的填报数据。"),
            R.ANALYST: _("下载填报模板，导出全国的填报数据。"),
            R.MINISTRY: _("下载填报模板，导出全国的填报数据。"),
        },
    ),
    Entry(
        _("API 令牌"),
        "tokens:list",
        REPORTING_ROLES,
        _("为业务系统创建和撤销 API 令牌，通过接口读取或报送数据。"),
    ),
    Entry(
        _("组织机构"),
        "organisations:list",
        frozenset(
            {
                R.MINISTRY,
                R.ANALYST,
                R.PROVINCE_REVIEWER,
                R.CITY_REPORTER,
                R.CITY_APPROVER,
                R.EXPERT,
                R.ENTERPRISE,
                R.SYSADMIN,
                R.SECADMIN,
            }
        ),
        _("查看您可见范围内的机构：部委、省级主管部门、示范城市及其行政区划代码。"),
        {
            R.PROVINCE_REVIEWER: _("查看本省（计划单列市）及所辖示范城市。"),
            R.CITY_REPORTER: _("查看本市的机构信息、所属省份和监测批次。"),
            R.CITY_APPROVER: _("查看本市的机构信息、所属省份和监测批次。"),
            R.EXPERT: _("查看您所在单位的信息。"),
            R.ENTERPRISE: _("查看本企业的机构信息。"),
        },
    ),
    Entry(
        _("城市批次"),
        "organisations:cohort_list",
        frozenset({R.MINISTRY, R.ANALYST, R.PROVINCE_REVIEWER, R.CITY_REPORTER, R.CITY_APPROVER}),
        _("查看各监测批次（如“2016 试运行监测”“2016 全面监测”）包含的示范城市及加入日期。"),
    ),
    Entry(
        _("指标体系"),
        "frameworks:list",
        frozenset({R.MINISTRY, R.ANALYST}),
        descriptions={
            R.MINISTRY: _("管理指标体系版本：复制下一版本、修改指标、填报项和校验规则，检查并发布；导入导出。"),
            R.ANALYST: _("查阅各版本指标体系（含草稿），导出 YAML、JSON 或 Excel。"),
        },
    ),
    Entry(
        _("数据发布"),
        "portal:releases",
        frozenset({R.MINISTRY}),
        _("预览并发布已受理的监测数据，公众门户、开放数据和公开接口即时可见；发现错误时撤回。"),
    ),
    Entry(
        _("典型案例发布"),
        "showcase:manage",
        frozenset({R.MINISTRY}),
        _("把已受理的优秀典型应用发布到公众门户的典型案例（不含联系人），或撤回已发布的案例。"),
    ),
    Entry(
        _("供需对接"),
        "board:mine",
        frozenset({R.CITY_REPORTER, R.CITY_APPROVER, R.ENTERPRISE}),
        descriptions={
            R.CITY_REPORTER: _("发布本市的信息消费需求，查看平台推荐的解决方案，申请和答复对接。"),
            R.CITY_APPROVER: _("发布本市的信息消费需求，查看平台推荐的解决方案，申请和答复对接。"),
            R.ENTERPRISE: _("发布本企业的信息消费解决方案，查看平台推荐的城市需求，申请和答复对接。"),
        },
    ),
    Entry(
        _("供需审核"),
        "board:moderation",
        frozenset({R.ANALYST}),
        _("审核城市发布的需求和企业发布的解决方案，通过后公开。"),
    ),
    Entry(
        _("用户管理"),
        "accounts:user_list",
        frozenset({R.SYSADMIN, R.SECADMIN}),
        descriptions={
            R.SYSADMIN: _("创建账号、修改账号信息、停用或启用、解除锁定、重置密码。"),
            R.SECADMIN: _("为账号分配或撤销角色（角色须与所属机构类型相符）。"),
        },
    ),
    Entry(
        _("行政区划"),
        "organisations:division_list",
        frozenset({R.MINISTRY, R.ANALYST, R.SYSADMIN, R.SECADMIN}),
        _("GB/T 2260 省级与地级行政区划代码（国家统计局 2023 年统计用区划代码）。"),
    ),
    Entry(
        _("审计日志"),
        "audit:event_list",
        frozenset({R.AUDITOR}),
        _("查询登录日志与操作日志：时间、用户、机构、IP、操作、对象和结果。"),
    ),
]


def active_entry(entries: list[Entry], match: Any) -> str:
    """The menu item to highlight: the page's own entry, else the one entry of the page's app, if just one."""
    if match is None:
        return ""
    for entry in entries:
        if entry.url_name == match.view_name:
            return entry.url_name
    same_app = [entry for entry in entries if entry.namespace == match.namespace]
    return same_app[0].url_name if len(same_app) == 1 else ""


def entries_for(user: Any) -> list[Entry]:
    role = getattr(user, "role", "")
    if not role:
        return []
    return [entry for entry in ENTRIES if role in entry.roles]
