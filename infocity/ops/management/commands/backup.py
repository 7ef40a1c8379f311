"""Back up the whole database (SQLite online backup API, or pg_dump on PostgreSQL) with a manifest of every table;
or, with ``--verify``, check an existing backup without touching the live database."""

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infocity.ops.backup import BackupError, create_backup, key_warning, migration_status, verify_backup


class Command(BaseCommand):
    help = (
        "备份数据库到一个目录（数据库副本和记有各表行数、校验和的 manifest.json），并写入审计事件；"
        "加 --verify 目录 则只校验一份已有的备份，不改动正式数据库。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", type=Path, help="备份目录（须不存在或为空；默认 var/backups/<日期-时间>），权限 0700"
        )
        parser.add_argument("--verify", type=Path, metavar="BACKUP", help="校验这份备份，不做新的备份")
        parser.add_argument(
            "--scratch-database-url",
            help="校验 PostgreSQL 备份时，先把它恢复到这个空的临时数据库（postgres://…）再逐表核对；"
            "不给则只核对副本的 SHA-256 和归档能否读取",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["verify"] is not None:
                self._verify(options["verify"], options["scratch_database_url"])
            else:
                self._backup(options["output"])
        except BackupError as error:
            raise CommandError(str(error)) from error

    def _backup(self, output: Path | None) -> None:
        started = time.monotonic()
        folder, manifest = create_backup(output)
        self.stdout.write(f"已备份到 {folder}（用时 {time.monotonic() - started:.1f} 秒）")
        self.stdout.write(f"  {manifest.describe()}")
        self.stdout.write(f"  数据库副本 SHA-256：{manifest.dump_sha256}")
        self.stdout.write(
            "请把整个目录复制到本机以外的地方保存（副本含个人信息，应加密保存）；定期用 "
            "manage.py backup --verify 目录 校验，并按 docs/backup.md 做恢复演练。"
        )

    def _verify(self, folder: Path, scratch_url: str | None) -> None:
        manifest, verification = verify_backup(folder.resolve(), scratch_url)
        self.stdout.write(f"备份：{folder.resolve()}")
        self.stdout.write(f"  {manifest.describe()}")
        self.stdout.write("数据库副本的 SHA-256 与备份清单一致。")
        self.stdout.write(migration_status(manifest).describe())
        if warning := key_warning(manifest):
            self.stdout.write(warning)
        if not verification.ok:
            raise CommandError(verification.summary())
        self.stdout.write(verification.summary())
