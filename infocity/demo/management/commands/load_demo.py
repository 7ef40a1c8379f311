from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from infocity.demo.loader import DemoRefused, load_demo


class Command(BaseCommand):
    help = "载入演示数据（演示城市、批次和账号）。已载入或数据库已有正式数据时不做任何修改。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2016, help="随机种子（决定合成的人名和电话）")

    def handle(self, *args: Any, seed: int, **options: Any) -> None:
        try:
            cast = load_demo(seed=seed)
        except DemoRefused as refused:
            self.stdout.write(str(refused))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"已载入演示数据：{len(cast.provinces)} 个省级主管部门、{len(cast.cities)} 个示范城市、"
                f"{len(cast.users)} 个账号（密码均为 Demo@2016）。"
            )
        )
