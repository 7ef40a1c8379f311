from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infocity.accounts.models import User
from infocity.accounts.services import unlock


class Command(BaseCommand):
    help = "解除账号的登录锁定（运维人员在服务器上使用，例如系统管理员本人被锁定时）。操作记入审计日志。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有用户名为“{username}”的账号。")
        unlock(actor=None, user=user)
        self.stdout.write(self.style.SUCCESS(f"账号 {username} 已解除锁定。"))
