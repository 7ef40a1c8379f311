"""Restore the whole database from a backup made by ``manage.py backup``, then compare every table with the
backup's manifest. It replaces all current data: the application must be stopped, and it asks for confirmation."""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from infocity.ops.backup import (
    BackupError,
    check_restorable,
    default_output,
    key_warning,
    restore_backup,
    verify_backup,
)


class Command(BaseCommand):
    help = (
        "用 manage.py backup 生成的备份替换当前数据库的全部数据，然后逐表核对行数和校验和；"
        "恢复前请停止 web 服务和任务进程。加 --check-only 则只校验备份，不改动数据库。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help="备份目录（含 manifest.json）")
        parser.add_argument("--yes", action="store_true", help="确认用备份替换当前数据（不再询问）")
        parser.add_argument(
            "--no-safety-backup",
            action="store_true",
            help="恢复前不先备份当前数据库（默认先备份到 var/backups/<日期-时间>-before-restore）",
        )
        parser.add_argument("--check-only", action="store_true", help="只校验备份（同 backup --verify），不恢复")
        parser.add_argument(
            "--scratch-database-url", help="与 --check-only 一起：校验 PostgreSQL 备份时使用的空临时数据库"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["backup"].resolve()
        try:
            if options["check_only"]:
                self._check(folder, options["scratch_database_url"])
            else:
                self._restore(folder, confirmed=options["yes"], safety=not options["no_safety_backup"])
        except BackupError as error:
            raise CommandError(str(error)) from error

    def _check(self, folder: Path, scratch_url: str | None) -> None:
        manifest, verification = verify_backup(folder, scratch_url)
        self.stdout.write(f"备份：{folder}\n  {manifest.describe()}\n数据库副本的 SHA-256 与备份清单一致。")
        if not verification.ok:
            raise CommandError(verification.summary())
        self.stdout.write(verification.summary())

    def _restore(self, folder: Path, *, confirmed: bool, safety: bool) -> None:
        manifest, status = check_restorable(folder)
        database = connection.settings_dict["NAME"]
        self.stdout.write(f"备份：{folder}\n  {manifest.describe()}")
        self.stdout.write(f"数据库副本的 SHA-256 与备份清单一致。{status.describe()}")
        if warning := key_warning(manifest):
            self.stdout.write(warning)
        self.stdout.write(
            f"将用这份备份替换数据库 {database} 中的全部数据；备份之后写入的数据都会丢失。"
            "请确认已停止 web 服务和任务进程（db_worker），恢复期间不要有人使用平台。"
        )
        if not confirmed:
            if not sys.stdin.isatty():
                raise CommandError("恢复会替换当前数据库中的全部数据：确认无误后，请加上 --yes 再运行。")
            if input("确认恢复请输入 yes：").strip().lower() != "yes":
                raise CommandError("未确认，没有恢复，数据库未作改动。")
        result = restore_backup(folder, safety_backup=default_output("-before-restore") if safety else None)
        if result.safety_backup is not None:
            self.stdout.write(f"恢复前的数据已先备份到 {result.safety_backup}（如恢复错了备份，可用它恢复回来）。")
        self.stdout.write(f"恢复完成，用时 {result.seconds:.1f} 秒。已在恢复后的数据库中写入审计事件“恢复数据库”。")
        if not result.verification.ok:
            raise CommandError(
                f"{result.verification.summary()}\n恢复后的数据与备份清单不一致：请勿开放平台，按 docs/backup.md"
                "“校验失败怎么办”处理（改用另一份备份，或用恢复前的备份恢复回来）。"
            )
        self.stdout.write(result.verification.summary())
        if result.migrations.behind:
            self.stdout.write("备份早于当前代码：请先运行 manage.py migrate，再启动平台。")
        self.stdout.write("请运行 manage.py verify_audit 核对审计日志，确认无误后再启动 web 服务和任务进程。")
