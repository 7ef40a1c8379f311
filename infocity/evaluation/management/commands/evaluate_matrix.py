from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infocity.evaluation import matrix
from infocity.evaluation.engine import EvaluationError


class Command(BaseCommand):
    help = (
        "用平台的评估引擎计算 CSV 矩阵（行为城市、列为指标）中各城市的得分与排名，输出 CSV 或 JSON。"
        "文件格式见 infocity/evaluation/matrix.py 与 README。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        matrix.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            output = matrix.run(options)
        except EvaluationError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(output, ending="")
