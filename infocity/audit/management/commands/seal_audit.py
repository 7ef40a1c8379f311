"""Extend the audit log's hash chain over the events written since the last pass (run every minute)."""

from typing import Any

from django.core.management.base import BaseCommand

from infocity.audit.integrity import seal


class Command(BaseCommand):
    help = "把新写入的审计事件接入哈希链（建议每分钟由 cron 或 systemd 定时器运行一次）。"

    def handle(self, *args: Any, **options: Any) -> None:
        count = seal()
        self.stdout.write(f"已接入哈希链的审计事件：{count} 条。")
