from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from infocity.accounts.models import User
from infocity.accounts.services import reset_password


class Command(BaseCommand):
    help = (
        "为账号生成一次性临时密码（运维人员在服务器上使用，用于安全管理员、审计管理员等不能在平台上"
        "由他人重置的账号）。本人下次登录须修改密码；操作记入审计日志。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有用户名为“{username}”的账号。")
        try:
            password = reset_password(actor=None, user=user)
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from error
        self.stdout.write(f"账号 {username} 的临时密码（仅显示一次）：{password}")
