"""Check that nobody altered, removed or reordered audit events: every event's keyed digest and the hash chain."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infocity.audit.integrity import describe, seal, verify


class Command(BaseCommand):
    help = "校验审计日志：逐条核对事件摘要（HMAC）并沿哈希链检查有无删除、插入或调换；发现篡改时以非零状态退出。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-seal", action="store_true", help="校验前不把新事件接入哈希链")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出校验结果")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_seal"]:
            seal()
        report = verify()
        if options["json"]:
            self.stdout.write(json.dumps(describe(report), ensure_ascii=False))
        else:
            self.stdout.write(
                f"审计事件 {report.events} 条，已接入哈希链 {report.sealed} 条，未接入 {report.unsealed} 条。"
                f"链尾摘要：{report.head}（请记录在平台以外，用于核对链尾未被截断）。"
            )
        if not report.ok:
            problems = []
            if report.altered:
                problems.append(f"内容被改动的事件（编号）：{', '.join(map(str, report.altered[:20]))}")
            if report.broken:
                problems.append(f"哈希链断开处（链记录编号）：{', '.join(map(str, report.broken[:20]))}")
            if report.missing:
                problems.append(f"事件已被删除的链记录（编号）：{', '.join(map(str, report.missing[:20]))}")
            raise CommandError("审计日志校验失败，日志可能被篡改。" + "；".join(problems))
        self.stdout.write("校验通过：未发现篡改。")
