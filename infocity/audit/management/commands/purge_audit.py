"""Remove audit events past the retention period (at least 180 days); younger events are never removed."""

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from infocity.audit.integrity import purge
from infocity.audit.models import Action
from infocity.audit.services import record


class Command(BaseCommand):
    help = "清理早于指定日期的审计事件（只清理超过保存期限的记录，保存期限至少 180 天），并留下校验起点。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before", required=True, help="清理此日期（YYYY-MM-DD，北京时间 0 时）之前的事件")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = datetime.date.fromisoformat(options["before"])
        except ValueError as error:
            raise CommandError(f"日期格式不正确：{options['before']}，请写成 YYYY-MM-DD。") from error
        before = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
        try:
            checkpoint = purge(before)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if checkpoint is None:
            self.stdout.write("没有早于该日期、可以清理的审计事件。")
            return
        record(Action.AUDIT_PURGE, detail={"before": day.isoformat(), "purged": checkpoint.purged})
        self.stdout.write(
            f"已清理 {checkpoint.purged} 条 {day} 之前的审计事件；校验从链记录 {checkpoint.last_seal_id} 之后继续。"
        )
