"""The current one-time code of a demonstration account (the demo's stand-in for an authenticator app)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infocity.accounts.models import User
from infocity.accounts.second_factor import confirmed_device, current_code, demo_key
from infocity.demo.models import demo_data_loaded


class Command(BaseCommand):
    help = "显示演示账号当前的动态验证码（仅限演示数据；正式环境请使用手机验证器）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if not demo_data_loaded():
            raise CommandError("只有载入演示数据的平台才能用此命令；正式账号的验证码只在本人的验证器中。")
        user = User.objects.filter(username=options["username"]).first()
        device = confirmed_device(user) if user else None
        if user is None or device is None or device.bin_key != demo_key(user.username):
            raise CommandError(f"{options['username']} 不是绑定了演示验证器的演示账号。")
        self.stdout.write(current_code(device))
