from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from infocity.accounts.models import User
from infocity.tokens.services import issue_token


class Command(BaseCommand):
    help = "为账号创建 API 令牌（只显示一次，平台只保存其摘要）；操作记入审计日志。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scope", choices=["read", "write"], default="read", help="read 只读，write 读写")
        parser.add_argument("--name", default="命令行创建", help="令牌用途")
        parser.add_argument("--days", type=int, default=None, help="有效天数（不给则长期有效，直到撤销）")

    def handle(self, *args: Any, username: str, scope: str, name: str, days: int | None, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有用户名为“{username}”的账号。")
        try:
            _token, plaintext = issue_token(actor=None, user=user, scope=scope, name=name, days=days)
        except (ValidationError, PermissionDenied) as error:
            raise CommandError("；".join(getattr(error, "messages", [str(error)]))) from error
        self.stderr.write(f"账号 {username} 的 API 令牌（{scope}，仅显示一次）：")
        self.stdout.write(plaintext)
