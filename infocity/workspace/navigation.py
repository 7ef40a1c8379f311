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


ENTRIES: list[Entry] = [
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


def entries_for(user: Any) -> list[Entry]:
    role = getattr(user, "role", "")
    if not role:
        return []
    return [entry for entry in ENTRIES if role in entry.roles]
