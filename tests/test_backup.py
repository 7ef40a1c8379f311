"""`manage.py backup` and `manage.py restore`: a backup is the database copy and a manifest of every table (row count
and checksum); a restore brings the data back exactly, checked table by table; a damaged backup, one made by newer
code, or a restore without confirmation changes nothing; the audit log still verifies after a restore.

Runs on SQLite and PostgreSQL alike. The tests are transactional: the backup is read by another connection (SQLite)
or by pg_dump (PostgreSQL), which see only committed data. Restores go into the test database itself, whose schema
they leave as it was, so the usual flush at the end of a transactional test leaves it as the next test expects."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from infocity.accounts.models import Role, User
from infocity.accounts.services import create_account, update_account
from infocity.audit.models import Action, AuditEvent, Outcome
from infocity.ops import backup as ops
from infocity.organisations.models import Division

from .conftest import PASSWORD, Cast

transactional = pytest.mark.django_db(transaction=True)


@pytest.fixture
def var_dir(tmp_path: Path, settings: Any) -> Path:
    """Default backups (the one made before a restore) go under the test's own VAR_DIR."""
    settings.VAR_DIR = tmp_path / "var"
    return Path(settings.VAR_DIR)


@pytest.fixture(scope="module")
def scratch_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str | None]:
    """On PostgreSQL, an empty scratch database for `backup --verify` (None on SQLite, which needs none). One per
    module: dropping a database makes the server checkpoint, which is slow."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            yield None
            return
        live = connection.settings_dict
        name = f"{live['NAME']}_scratch"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
    user = quote(live["USER"] or "", safe="") + (f":{quote(live['PASSWORD'], safe='')}" if live["PASSWORD"] else "")
    yield f"postgres://{user}@{quote(live['HOST'] or 'localhost', safe='')}:{live['PORT'] or 5432}/{name}"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def take_backup(folder: Path) -> dict[str, Any]:
    assert "已备份到" in run("backup", "--output", str(folder))
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return manifest


def edit_manifest(folder: Path, change: Any) -> None:
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def newcomer(cast: Cast) -> User:
    return create_account(actor=None, username="newcomer", full_name="新来的", organisation=cast.orgs["guangzhou"],
                          password=PASSWORD, role=Role.CITY_REPORTER, must_change_password=False)  # fmt: skip


@transactional
def test_a_backup_is_the_copy_and_a_manifest_of_every_table(cast: Cast, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    manifest = take_backup(folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {path.name: path.stat().st_mode & 0o777 for path in folder.iterdir()} == {
        "manifest.json": 0o600, manifest["dump"]["file"]: 0o600,
    }  # fmt: skip
    assert manifest["engine"] == connection.vendor
    assert manifest["dump"]["sha256"] == ops.sha256_of(folder / manifest["dump"]["file"])
    assert manifest["app_version"] == ops.app_version()
    leaves = dict(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())
    assert (
        manifest["migrations"]["audit"] == leaves["audit"] and manifest["migrations"]["accounts"] == leaves["accounts"]
    )
    tables = manifest["tables"]
    assert tables["accounts_user"]["rows"] == User.objects.count() == len(cast.users)
    assert tables["organisations_division"]["rows"] == Division.objects.count() > 300
    assert all(len(table["sha256"]) == 64 for table in tables.values())
    # The event is written after the backup, in the live database: it names the copy it describes.
    event = AuditEvent.objects.filter(action=Action.BACKUP_CREATE).get()
    assert event.outcome == Outcome.SUCCESS and event.detail["path"] == str(folder)
    assert event.detail["sha256"] == manifest["dump"]["sha256"] and event.detail["tables"] == len(tables)
    with pytest.raises(CommandError, match="不是空目录"):
        run("backup", "--output", str(folder))


@transactional
def test_restore_brings_back_every_row_and_the_audit_log_still_verifies(
    cast: Cast, tmp_path: Path, var_dir: Path
) -> None:
    folder = tmp_path / "backup"
    manifest = take_backup(folder)
    divisions = Division.objects.count()
    # After the backup: an account created, another renamed, reference data lost.
    newcomer(cast)
    guangzhou = cast.users["city-gz"]
    update_account(actor=cast.users["sysadmin"], user=guangzhou, full_name="改过的名字", email="", phone="",
                   organisation=guangzhou.organisation, expected_version=guangzhou.version)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM organisations_division WHERE code LIKE %s", ["65%"])
    assert Division.objects.count() < divisions

    output = run("restore", str(folder), "--yes")

    assert "校验通过" in output and f"{len(manifest['tables'])} 张表" in output
    assert not User.objects.filter(username="newcomer").exists()
    assert User.objects.get(username="city-gz").full_name == "city-gz"
    assert Division.objects.count() == divisions
    # The database is the backup's, row for row (apart from the restore's own audit event, written afterwards).
    live = ops.database_tables()
    audit = {"audit_auditevent"}
    assert {k: v for k, v in live.items() if k not in audit} == {
        k: ops.TableSum(v["rows"], v["sha256"]) for k, v in manifest["tables"].items() if k not in audit
    }
    assert live["audit_auditevent"].rows == manifest["tables"]["audit_auditevent"]["rows"] + 1
    # The backup's own event came after it, so it is gone; the restore's event is in the restored database.
    assert not AuditEvent.objects.filter(action=Action.BACKUP_CREATE).exists()
    event = AuditEvent.objects.get(action=Action.BACKUP_RESTORE)
    assert event.outcome == Outcome.SUCCESS and event.detail["backup"] == str(folder)
    assert event.detail["sha256"] == manifest["dump"]["sha256"] and event.detail["mismatches"] == []
    # What was there before the restore was backed up first (with the account created after the backup).
    safety = Path(event.detail["safety_backup"])
    assert safety.parent == var_dir / "backups" and safety.name.endswith("-before-restore")
    before = json.loads((safety / "manifest.json").read_text())
    assert before["tables"]["accounts_user"]["rows"] == manifest["tables"]["accounts_user"]["rows"] + 1
    assert "校验通过：未发现篡改" in run("verify_audit")


@transactional
def test_a_backup_is_one_snapshot_checked_without_touching_the_live_database(
    cast: Cast, tmp_path: Path, scratch_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An account is created while the backup runs: on PostgreSQL after the snapshot was exported and before pg_dump
    # starts, on SQLite after the copy was made. Neither the copy nor the manifest has it, and they agree.
    if connection.vendor == "postgresql":
        start = subprocess.Popen

        def start_meanwhile(arguments: list[str], **kwargs: Any) -> Any:
            if "--format=custom" in arguments:  # pg_dump itself (not `pg_dump --version` before the snapshot)
                monkeypatch.setattr(subprocess, "Popen", start)
                newcomer(cast)
            return start(arguments, **kwargs)

        monkeypatch.setattr(subprocess, "Popen", start_meanwhile)
    else:
        describe = ops._sqlite_describe

        def describe_meanwhile(database: sqlite3.Connection) -> tuple[dict[str, ops.TableSum], dict[str, str]]:
            monkeypatch.setattr(ops, "_sqlite_describe", describe)
            newcomer(cast)
            return describe(database)

        monkeypatch.setattr(ops, "_sqlite_describe", describe_meanwhile)
    folder = tmp_path / "backup"
    manifest = take_backup(folder)
    assert manifest["tables"]["accounts_user"]["rows"] == len(cast.users)
    arguments = ["--verify", str(folder)] + (["--scratch-database-url", scratch_url] if scratch_url else [])
    output = run("backup", *arguments)
    assert "SHA-256 与备份清单一致" in output and "备份的迁移状态与当前代码一致" in output
    assert f"校验通过：{len(manifest['tables'])} 张表" in output
    assert User.objects.filter(username="newcomer").exists()  # the live database was not touched
    if scratch_url:
        with pytest.raises(CommandError, match="正是平台正在使用的数据库"):
            run("backup", "--verify", str(folder), "--scratch-database-url", live_url(scratch_url))
        # Without a scratch database a PostgreSQL backup is checked as far as it can be without restoring it.
        assert "未逐表校验" in run("restore", str(folder), "--check-only")
    else:
        assert "校验通过" in run("restore", str(folder), "--check-only")


def live_url(scratch_url: str) -> str:
    return scratch_url.removesuffix("_scratch")


@transactional
def test_a_copy_with_one_byte_flipped_is_refused(cast: Cast, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    manifest = take_backup(folder)
    newcomer(cast)
    dump = folder / manifest["dump"]["file"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="SHA-256 与备份清单不符"):
        run("restore", str(folder), "--yes")
    with pytest.raises(CommandError, match="文件已损坏或被改动"):
        run("backup", "--verify", str(folder))
    assert User.objects.filter(username="newcomer").exists()
    assert not AuditEvent.objects.filter(action=Action.BACKUP_RESTORE).exists()
    (folder / "manifest.json").unlink()
    with pytest.raises(CommandError, match="不是一份完整的备份"):
        run("restore", str(folder), "--yes")


@transactional
def test_a_table_that_differs_from_the_manifest_is_reported(cast: Cast, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    take_backup(folder)

    def tamper(data: dict[str, Any]) -> None:
        data["tables"]["accounts_user"]["sha256"] = "0" * 64
        data["tables"]["organisations_cohort"]["rows"] += 1

    edit_manifest(folder, tamper)
    if connection.vendor == "sqlite":  # a PostgreSQL backup is checked in a scratch database (test above)
        with pytest.raises(CommandError, match="2 张表与备份清单不一致") as refused:
            run("backup", "--verify", str(folder))
        assert "accounts_user：" in str(refused.value) and "organisations_cohort：" in str(refused.value)
    # A restore of it goes through but says so, exits non-zero and records the failure in the restored database.
    with pytest.raises(CommandError, match="2 张表与备份清单不一致") as failed:
        run("restore", str(folder), "--yes", "--no-safety-backup")
    assert "accounts_user：行数相同（12 行），但内容校验和不同" in str(failed.value)
    assert "organisations_cohort：行数应为 3，实际为 2" in str(failed.value)
    assert "恢复后的数据与备份清单不一致：请勿开放平台" in str(failed.value)
    event = AuditEvent.objects.get(action=Action.BACKUP_RESTORE)
    assert event.outcome == Outcome.FAILURE
    assert event.detail["mismatches"] == ["accounts_user", "organisations_cohort"] and not event.detail["safety_backup"]
    assert "校验通过：未发现篡改" in run("verify_audit")


@transactional
def test_a_backup_from_newer_code_or_another_engine_is_refused(cast: Cast, tmp_path: Path, settings: Any) -> None:
    folder = tmp_path / "backup"
    take_backup(folder)
    newcomer(cast)
    assert "审计密钥" not in run("backup", "--verify", str(folder))
    settings.AUDIT_HMAC_KEY = "another key"  # e.g. a new server without the old keys: warned before restoring
    assert "当前配置的审计密钥（AUDIT_HMAC_KEY，未设置时由 SECRET_KEY 派生）与备份时不同" in run(
        "backup", "--verify", str(folder)
    )
    edit_manifest(folder, lambda data: data["migrations"].update(audit="9999_from_a_newer_release"))
    with pytest.raises(CommandError, match=r"更新版本的代码：当前代码中没有这些迁移：audit\.9999_from_a_newer_release"):
        run("restore", str(folder), "--yes")
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    edit_manifest(folder, lambda data: data.update(engine=other))
    with pytest.raises(CommandError, match="不能跨数据库类型恢复"):
        run("restore", str(folder), "--yes")
    assert User.objects.filter(username="newcomer").exists()


class Keyboard(io.StringIO):
    def isatty(self) -> bool:
        return True


@transactional
def test_restore_asks_before_it_replaces_the_data(cast: Cast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "backup"
    take_backup(folder)
    newcomer(cast)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="请加上 --yes"):
        run("restore", str(folder))
    monkeypatch.setattr(sys, "stdin", Keyboard("no\n"))
    with pytest.raises(CommandError, match="未确认，没有恢复"):
        run("restore", str(folder))
    assert User.objects.filter(username="newcomer").exists()
    monkeypatch.setattr(sys, "stdin", Keyboard("yes\n"))
    assert "校验通过" in run("restore", str(folder), "--no-safety-backup")
    assert not User.objects.filter(username="newcomer").exists()


def test_the_checksum_follows_every_value_in_key_order() -> None:
    def table_sum(rows: list[tuple[int, object]]) -> ops.TableSum:
        database = sqlite3.connect(":memory:")
        database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
        database.executemany("INSERT INTO t VALUES (?, ?)", rows)
        return ops.sqlite_table_sums(database)["t"]

    base = table_sum([(1, "杭州"), (2, None), (3, 1.5)])
    assert table_sum([(3, 1.5), (1, "杭州"), (2, None)]) == base  # insertion order does not matter
    assert base.rows == 3
    changes: list[list[tuple[int, object]]] = [
        [(1, "杭州"), (2, ""), (3, 1.5)],  # NULL is not the empty string
        [(1, "杭州"), (2, 0), (3, 1.5)],  # nor zero
        [(1, "杭州"), (2, None), (3, "1.5")],  # a number is not its text
        [(1, "杭州 "), (2, None), (3, 1.5)],
        [(1, "杭州".encode()), (2, None), (3, 1.5)],  # text is not its bytes
    ]
    for changed in changes:
        assert table_sum(changed) != base


def test_pg_tools_come_from_pg_bin_dir_and_the_password_only_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG_BIN_DIR", str(tmp_path))
    with pytest.raises(ops.BackupError, match=f"PG_BIN_DIR={tmp_path} 指向的目录中没有可执行的 pg_dump"):
        ops.pg_tool("pg_dump")
    tool = tmp_path / "pg_dump"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert ops.pg_tool("pg_dump") == tool
    parameters = ops.libpq_parameters({"NAME": "infocity", "USER": "infocity", "PASSWORD": "s3cret", "HOST": "db",
                                        "PORT": 5432, "OPTIONS": {"sslmode": "require", "pool": True}})  # fmt: skip
    environment = ops.tool_environment(parameters, "-c lock_timeout=60s")
    assert environment["PGPASSWORD"] == "s3cret" and environment["PGDATABASE"] == "infocity"
    assert environment["PGSSLMODE"] == "require" and environment["PGOPTIONS"] == "-c lock_timeout=60s"
    assert "pool" not in parameters
