from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from infocity.organisations.divisions import DIVISIONS_CSV, sync_divisions
from infocity.organisations.models import Division


class Command(BaseCommand):
    help = "从 CSV 文件同步行政区划代码（新增代码、更新名称；不删除已有代码）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=DIVISIONS_CSV, help="区划 CSV（默认为随平台发布的文件）")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        with transaction.atomic():
            created, updated = sync_divisions(Division, file)
        self.stdout.write(self.style.SUCCESS(f"行政区划已同步：新增 {created} 条，更新 {updated} 条。"))
