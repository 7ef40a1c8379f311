from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from infocity.frameworks.interchange import InterchangeError
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.frameworks.services import EditionInvalid


class Command(BaseCommand):
    help = "载入指标体系版本文件（默认为随平台发布的 2016 版）并发布。同代码的版本已存在时不做修改。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path, default=EDITION_2016, help="YAML 或 JSON 文件")
        parser.add_argument("--draft", action="store_true", help="只导入为草稿，不发布")

    def handle(self, *args: Any, file: Path, draft: bool, **options: Any) -> None:
        try:
            edition = load_edition_file(file, publish=not draft)
        except (InterchangeError, EditionInvalid) as error:
            raise CommandError("文件有以下问题：\n" + "\n".join(error.problems)) from error
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"指标体系“{edition.name_zh}”（代码 {edition.code}，{edition.get_status_display()}）："
                f"{edition.indicators.count()} 项指标、{edition.items.count()} 个填报项、"
                f"{edition.rules.count()} 条校验规则。"
            )
        )
