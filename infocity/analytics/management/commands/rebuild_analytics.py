from typing import Any

from django.core.management.base import BaseCommand

from infocity.analytics.services import rebuild


class Command(BaseCommand):
    help = "重新计算全部指标值和汇总值（批量导入数据或调整计算方法后使用；日常由报送流转自动增量更新）。"

    def handle(self, *args: Any, **options: Any) -> None:
        written = rebuild()
        self.stdout.write(self.style.SUCCESS(f"已重新计算 {written} 个指标值。"))
