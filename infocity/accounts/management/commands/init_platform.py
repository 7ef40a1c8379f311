"""Bootstrap a production instance: the ministry root, operator and agency, and the three administrators."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from infocity.accounts.models import Role, User
from infocity.accounts.services import create_account
from infocity.organisations.models import Organisation, OrganisationKind
from infocity.organisations.services import create_organisation

ADMINS = [("sysadmin", Role.SYSADMIN, "系统管理员"), ("secadmin", Role.SECADMIN, "安全管理员"),
          ("auditor", Role.AUDITOR, "审计管理员")]  # fmt: skip


class Command(BaseCommand):
    help = (
        "初始化正式环境：创建部委根机构、平台运营单位、监测机构和三员账号（sysadmin、secadmin、auditor）。"
        "密码从环境变量 INFOCITY_<用户名>_PASSWORD 读取，否则交互输入；三人首次登录须修改密码。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--operator", default="平台运营中心", help="平台运营单位名称")
        parser.add_argument("--agency", default="信息消费监测分析中心", help="第三方监测机构名称")

    def handle(self, *args: Any, operator: str, agency: str, **options: Any) -> None:
        if Organisation.objects.filter(kind=OrganisationKind.MINISTRY).exists() or User.objects.exists():
            raise CommandError("平台已经初始化（已有部委根机构或账号），未做任何修改。")
        passwords = {}
        for username, _, label in ADMINS:
            password = os.environ.get(f"INFOCITY_{username.upper()}_PASSWORD") or getpass.getpass(
                f"{label} {username} 的初始密码："
            )
            passwords[username] = password
        try:
            with transaction.atomic():
                ministry = create_organisation(
                    actor=None,
                    kind=OrganisationKind.MINISTRY,
                    name="工业和信息化部",
                    department="信息化和软件服务业司",
                )
                op = create_organisation(actor=None, kind=OrganisationKind.OPERATOR, name=operator, parent=ministry)
                create_organisation(actor=None, kind=OrganisationKind.AGENCY, name=agency, parent=ministry)
                for username, role, label in ADMINS:
                    create_account(
                        actor=None,
                        username=username,
                        full_name=label,
                        organisation=op,
                        role=role,
                        password=passwords[username],
                        must_change_password=True,
                    )
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from error
        self.stdout.write(self.style.SUCCESS("平台已初始化：请用 sysadmin 创建账号，用 secadmin 分配角色。"))
