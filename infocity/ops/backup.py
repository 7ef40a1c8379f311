"""Backup and restore of the whole database (数据库备份与恢复), checked against a manifest.

A backup is a directory (mode 0700, files 0600) holding

- the database copy: ``database.sqlite3`` made with SQLite's online backup API, or ``database.dump`` made with
  ``pg_dump --format=custom``;
- ``manifest.json``: the engine, when it was made, the platform's version, the latest applied migration of each app,
  the SHA-256 of the copy and, for every table, its row count and a SHA-256 over its rows in primary-key order.

The manifest describes exactly what was saved: on SQLite it is computed from the copy itself; on PostgreSQL from
the same snapshot pg_dump reads (a REPEATABLE READ transaction exports its snapshot and stays open while pg_dump
runs with ``--snapshot``). A restore, or a check of a backup, recomputes the tables and compares them one by one.

What the backup does not hold: the keys (``SECRET_KEY`` or ``var/secret_key``, ``AUDIT_HMAC_KEY``,
``PERSONAL_DATA_KEY``). The audit log verifies and personal data decrypts only under the same keys, which must stay
out of the database's backups (docs/backup.md); the manifest records a fingerprint of the audit key so that a restore
can warn before it brings back an audit log the configured key cannot verify.
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import hmac
import importlib.metadata
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import dj_database_url
import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from psycopg import sql
from psycopg.conninfo import make_conninfo

from infocity.audit import integrity
from infocity.audit.models import Action, Outcome
from infocity.audit.services import record

PgConnection = psycopg.Connection[tuple[Any, ...]]

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_COPY = "database.sqlite3"
POSTGRESQL_DUMP = "database.dump"
CHUNK = 1 << 20
ROW_BATCH = 2000
# pg_restore gives up (and rolls back) instead of waiting forever behind an application still connected.
RESTORE_LOCK_TIMEOUT = "60s"
# The settings under which PostgreSQL prints values as text, fixed so that a checksum never depends on the server's
# or the role's defaults.
PG_OUTPUT_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
}
# Connection keywords of libpq and the environment variables pg_dump and pg_restore read them from (so that the
# password never appears on a command line).
LIBPQ_ENVIRONMENT = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says, in Chinese, what is wrong and what to do."""


@dataclass(frozen=True)
class TableSum:
    rows: int
    sha256: str


@dataclass
class Manifest:
    engine: str
    created_at: str
    app_version: str
    server_version: str
    migrations: dict[str, str]
    dump_file: str
    dump_sha256: str
    dump_bytes: int
    tables: dict[str, TableSum]
    audit_key: str = ""  # fingerprint of the audit log's HMAC key at backup time (see audit_key_fingerprint)

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables.values())

    def describe(self) -> str:
        """One line for the operator: what the backup holds."""
        engine = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(self.engine, self.engine)
        try:
            created = f"{timezone.localtime(datetime.datetime.fromisoformat(self.created_at)):%Y-%m-%d %H:%M:%S}"
        except ValueError:
            created = self.created_at
        return (
            f"{engine} {self.server_version}，创建于 {created}，平台版本 {self.app_version}；{len(self.tables)} 张表，"
            f"共 {self.rows} 行；数据库副本 {self.dump_file}（{self.dump_bytes / 1048576:.1f} MB）"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "engine": self.engine,
            "created_at": self.created_at,
            "app_version": self.app_version,
            "server_version": self.server_version,
            "migrations": self.migrations,
            "dump": {"file": self.dump_file, "sha256": self.dump_sha256, "bytes": self.dump_bytes},
            "tables": {name: {"rows": t.rows, "sha256": t.sha256} for name, t in sorted(self.tables.items())},
            "audit_key": self.audit_key,
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        try:
            if data["format"] != FORMAT:
                raise BackupError(f"备份清单的格式版本 {data['format']} 不受支持（当前代码读取版本 {FORMAT}）。")
            dump = data["dump"]
            return cls(
                engine=str(data["engine"]),
                created_at=str(data["created_at"]),
                app_version=str(data["app_version"]),
                server_version=str(data["server_version"]),
                migrations={str(app): str(name) for app, name in data["migrations"].items()},
                dump_file=str(dump["file"]),
                dump_sha256=str(dump["sha256"]),
                dump_bytes=int(dump["bytes"]),
                tables={str(name): TableSum(int(t["rows"]), str(t["sha256"])) for name, t in data["tables"].items()},
                audit_key=str(data.get("audit_key", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BackupError(f"备份清单 {MANIFEST} 不完整或格式不对（{error!r}），无法使用这份备份。") from error


@dataclass(frozen=True)
class Mismatch:
    table: str
    expected: TableSum | None
    actual: TableSum | None

    def describe(self) -> str:
        if self.actual is None:
            assert self.expected is not None
            return f"{self.table}：备份中有此表（{self.expected.rows} 行），数据库中却没有"
        if self.expected is None:
            return f"{self.table}：数据库中有此表（{self.actual.rows} 行），备份中没有"
        if self.expected.rows != self.actual.rows:
            return f"{self.table}：行数应为 {self.expected.rows}，实际为 {self.actual.rows}"
        return f"{self.table}：行数相同（{self.actual.rows} 行），但内容校验和不同"


@dataclass
class Verification:
    """The outcome of comparing a database with a backup's manifest."""

    tables: int = 0
    rows: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # checks other than the tables (e.g. SQLite integrity_check)
    skipped: str = ""  # why the tables were not compared (PostgreSQL check without a scratch database)

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.problems)

    def summary(self) -> str:
        if self.skipped:
            return self.skipped
        if self.ok:
            return f"校验通过：{self.tables} 张表、共 {self.rows} 行，行数和校验和与备份清单逐表一致。"
        lines = [f"校验失败：{len(self.mismatches)} 张表与备份清单不一致（清单共 {self.tables} 张表）。"]
        if not self.mismatches:
            lines = [f"校验失败：{self.tables} 张表的行数和校验和与备份清单一致，但有以下问题。"]
        lines += [f"  - {problem}" for problem in self.problems]
        lines += [f"  - {mismatch.describe()}" for mismatch in self.mismatches]
        return "\n".join(lines)


@dataclass(frozen=True)
class MigrationStatus:
    newer: list[str]  # migrations applied in the backup that the code does not have
    behind: list[str]  # apps whose latest migration in the code is not applied in the backup

    def describe(self) -> str:
        if self.newer:
            return "备份来自更新版本的代码：当前代码中没有这些迁移：" + "、".join(self.newer)
        if self.behind:
            return (
                f"备份早于当前代码（{len(self.behind)} 个应用有备份之后的新迁移：{'、'.join(self.behind)}），"
                "恢复后请运行 manage.py migrate。"
            )
        return "备份的迁移状态与当前代码一致。"


# --- shared helpers -------------------------------------------------------------------------------------------------


def app_version() -> str:
    try:
        return importlib.metadata.version("infocity")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover — always installed by make
        return "unknown"


def default_output(suffix: str = "") -> Path:
    """``var/backups/<local time>``: the folder a backup goes to when no ``--output`` is given."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Path(settings.VAR_DIR) / "backups" / f"{stamp}{suffix}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _engine(settings_dict: dict[str, Any]) -> str:
    name = str(settings_dict["ENGINE"])
    if name.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in name:
        return "postgresql"
    raise BackupError(f"不支持备份此类数据库（{name}）：只支持 SQLite 和 PostgreSQL。")


def _private_folder(path: Path) -> Path:
    """Create the backup folder with mode 0700 (refusing one that already holds files)."""
    path = path.resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"输出位置 {path} 已存在且不是空目录：请换一个目录，或删除其中的旧文件后重试。")
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)  # e.g. var/backups, readable by its owner only
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    return path


@contextmanager
def _private_file(path: Path) -> Iterator[IO[bytes]]:
    """A new file only its owner can read (0600), flushed to disk when closed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    """Written last, under a temporary name then renamed: a folder without manifest.json is an unfinished backup."""
    partial = folder / f"{MANIFEST}.partial"
    with _private_file(partial) as handle:
        handle.write(json.dumps(manifest.to_json(), ensure_ascii=False, indent=2).encode())
    partial.replace(folder / MANIFEST)


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BackupError(f"找不到备份目录 {folder}：请检查路径。")
    if not path.is_file():
        raise BackupError(
            f"{folder} 中没有 {MANIFEST}：这不是一份完整的备份（可能在备份过程中中断），请改用另一份备份。"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(f"无法读取备份清单 {path}（{error}），请改用另一份备份。") from error
    return Manifest.from_json(data)


def check_dump(folder: Path, manifest: Manifest) -> Path:
    """The database copy must be exactly the one the manifest describes (a flipped byte, a truncated copy)."""
    dump = folder / manifest.dump_file
    if Path(manifest.dump_file).name != manifest.dump_file or not dump.is_file():
        raise BackupError(f"备份目录 {folder} 中缺少数据库副本 {manifest.dump_file}，请改用另一份备份。")
    actual = sha256_of(dump)
    if actual != manifest.dump_sha256:
        raise BackupError(
            f"数据库副本 {dump} 的 SHA-256 与备份清单不符（清单 {manifest.dump_sha256}，实际 {actual}）："
            "文件已损坏或被改动，不能用于恢复。请改用另一份备份（例如异地保存的副本）。"
        )
    return dump


def compare(expected: dict[str, TableSum], actual: dict[str, TableSum]) -> Verification:
    result = Verification(tables=len(expected), rows=sum(t.rows for t in expected.values()))
    for name in sorted(expected.keys() | actual.keys()):
        if expected.get(name) != actual.get(name):
            result.mismatches.append(Mismatch(name, expected.get(name), actual.get(name)))
    return result


def migration_status(manifest: Manifest) -> MigrationStatus:
    """Compare the backup's migration state with the code's (read from the migration files, not a database)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    newer = [f"{app}.{name}" for app, name in sorted(manifest.migrations.items()) if (app, name) not in known]
    leaves = dict(loader.graph.leaf_nodes())
    behind = [app for app, name in sorted(leaves.items()) if manifest.migrations.get(app) != name]
    return MigrationStatus(newer=newer, behind=behind)


def audit_key_fingerprint() -> str:
    """Tells whether the audit key configured now is the one a backup was made under, without revealing it (an HMAC
    of a fixed text under the key, shortened)."""
    return integrity.key_fingerprint(b"infocity backup: audit key check")


def key_warning(manifest: Manifest) -> str:
    """Empty, or a warning that the audit log of this backup will not verify under the key configured now."""
    if not manifest.audit_key or hmac.compare_digest(manifest.audit_key, audit_key_fingerprint()):
        return ""
    return (
        "注意：当前配置的审计密钥（AUDIT_HMAC_KEY，未设置时由 SECRET_KEY 派生）与备份时不同，恢复后 verify_audit 将报告"
        "所有事件被改动。请先配置备份时使用的密钥（SECRET_KEY、AUDIT_HMAC_KEY、PERSONAL_DATA_KEY）再恢复。"
    )


def _latest_migrations(rows: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The last applied migration of each app (rows of django_migrations in the order they were applied)."""
    latest: dict[str, str] = {}
    for app, name in rows:
        latest[app] = name
    return dict(sorted(latest.items()))


def _operator() -> dict[str, str]:
    """Who ran the command on the server (management commands have no signed-in user)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {"os_user": user, "host": socket.gethostname()}


# --- SQLite -----------------------------------------------------------------------------------------------------------


def _sqlite_path(settings_dict: dict[str, Any]) -> Path:
    name = str(settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        raise BackupError("内存中的 SQLite 数据库无法备份或恢复。")
    return Path(name).resolve()


def _sqlite_open(path: Path, mode: str, timeout: float = 20.0) -> sqlite3.Connection:
    """Open by URI so that ``mode=ro``/``rw`` hold (``rw`` never creates a missing file)."""
    database = sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=timeout, isolation_level=None)
    # Text that is not valid UTF-8 is still data: keep its bytes instead of failing.
    database.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
    return database


def _encode(value: object) -> str:
    """One value in the checksum's serialisation: its type and an exact text form."""
    if value is None:
        return "N"
    if isinstance(value, int):
        return f"I{value}"
    if isinstance(value, float):
        return f"R{value!r}"
    if isinstance(value, str):
        return "T" + json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return "B" + value.hex()
    raise TypeError(f"unexpected SQLite value {type(value).__name__}")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sqlite_table_sums(database: sqlite3.Connection) -> dict[str, TableSum]:
    """Row count and SHA-256 of every table, rows in primary-key order (rowid without one). An FTS5 table is read
    through its shadow tables (its own rows are those of the content table)."""
    tables = database.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "ORDER BY name"
    ).fetchall()
    sums: dict[str, TableSum] = {}
    for name, ddl in tables:
        if str(ddl or "").upper().startswith("CREATE VIRTUAL TABLE"):
            continue
        columns = database.execute("SELECT name, pk FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", [name])
        order = ", ".join(_quote(column) for column, _ in columns) or "rowid"
        digest = hashlib.sha256()
        count = 0
        for row in database.execute(f"SELECT * FROM {_quote(name)} ORDER BY {order}"):  # noqa: S608 — quoted names
            digest.update((",".join(_encode(value) for value in row) + "\n").encode("utf-8", "surrogateescape"))
            count += 1
        sums[name] = TableSum(count, digest.hexdigest())
    return sums


def _sqlite_describe(database: sqlite3.Connection) -> tuple[dict[str, TableSum], dict[str, str]]:
    """Tables and migration state, read in one transaction (one consistent view of the file)."""
    database.execute("BEGIN")
    try:
        tables = sqlite_table_sums(database)
        migrations: dict[str, str] = {}
        if "django_migrations" in tables:  # absent from a database never migrated (a new instance)
            migrations = _latest_migrations(database.execute("SELECT app, name FROM django_migrations ORDER BY id"))
    finally:
        database.execute("ROLLBACK")
    return tables, migrations


def _backup_sqlite(settings_dict: dict[str, Any], folder: Path) -> Manifest:
    live = _sqlite_path(settings_dict)
    if not live.is_file():
        raise BackupError(f"找不到数据库文件 {live}：请检查 DATABASE_URL 和 INFOCITY_VAR_DIR。")
    target = folder / SQLITE_COPY
    with _private_file(target):
        pass  # created 0600 before SQLite writes into it
    source = _sqlite_open(live, "rw")
    copy = _sqlite_open(target, "rw")
    try:
        # One step (pages=-1): the whole copy is read under one read transaction, i.e. one consistent snapshot,
        # while the application keeps working (WAL readers do not block writers).
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        copy.close()
        source.close()
    with target.open("rb") as handle:
        os.fsync(handle.fileno())
    saved = _sqlite_open(target, "ro")
    try:
        tables, migrations = _sqlite_describe(saved)
    finally:
        saved.close()
    return Manifest(
        engine="sqlite",
        created_at=timezone.now().isoformat(),
        app_version=app_version(),
        server_version=sqlite3.sqlite_version,
        migrations=migrations,
        dump_file=SQLITE_COPY,
        dump_sha256=sha256_of(target),
        dump_bytes=target.stat().st_size,
        tables=tables,
        audit_key=audit_key_fingerprint(),
    )


def _verify_sqlite(dump: Path, manifest: Manifest) -> Verification:
    copy = _sqlite_open(dump, "ro")
    try:
        integrity = [str(row[0]) for row in copy.execute("PRAGMA integrity_check")]
        tables, _ = _sqlite_describe(copy)
    finally:
        copy.close()
    result = compare(manifest.tables, tables)
    if integrity != ["ok"]:
        result.problems.append("SQLite 完整性检查（integrity_check）发现问题：" + "；".join(integrity[:10]))
    return result


def _restore_sqlite(settings_dict: dict[str, Any], dump: Path) -> dict[str, TableSum]:
    live = _sqlite_path(settings_dict)
    if not live.exists():  # a new instance: the database file readable by its owner only
        live.parent.mkdir(parents=True, exist_ok=True)
        with _private_file(live):
            pass
    source = _sqlite_open(dump, "ro")
    target = _sqlite_open(live, "rw")
    try:
        # One step, one write transaction on the live file: it holds either the old data or the backup's, never
        # a mixture. A WAL database stays in WAL mode.
        source.backup(target)
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        target.close()
        source.close()
    return database_tables(settings_dict)


# --- PostgreSQL -------------------------------------------------------------------------------------------------------


def libpq_parameters(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq connection keywords of a Django database setting (Django's own OPTIONS, such as the pool, left out)."""
    parameters = {
        "dbname": settings_dict.get("NAME") or "",
        "user": settings_dict.get("USER") or "",
        "password": settings_dict.get("PASSWORD") or "",
        "host": settings_dict.get("HOST") or "",
        "port": str(settings_dict.get("PORT") or ""),
    }
    for key, value in (settings_dict.get("OPTIONS") or {}).items():
        if key in LIBPQ_ENVIRONMENT and isinstance(value, str | int):
            parameters[key] = str(value)
    return {key: value for key, value in parameters.items() if value}


def tool_environment(parameters: dict[str, str], options: str = "") -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in LIBPQ_ENVIRONMENT.values()}
    for key, value in parameters.items():
        environment[LIBPQ_ENVIRONMENT[key]] = value
    if options:
        environment["PGOPTIONS"] = f"{parameters.get('options', '')} {options}".strip()
    return environment


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name)) or (0,)


def find_pg_program(name: str) -> Path | None:
    """A PostgreSQL program (``pg_dump``, ``pg_restore``, ``initdb`` …) not named in ``PG_BIN_DIR``: the newest under
    /usr/lib/postgresql/*/bin (a newer pg_dump reads older servers, an older one refuses newer servers), else on
    PATH; None if neither has it."""
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=_version_key)
    installed = [path for path in installed if os.access(path, os.X_OK)]
    if installed:
        return installed[-1]
    found = shutil.which(name)
    return Path(found) if found else None


def pg_tool(name: str) -> Path:
    """``pg_dump`` or ``pg_restore``: from ``PG_BIN_DIR`` if set, else as :func:`find_pg_program` finds it."""
    explicit = os.environ.get("PG_BIN_DIR")
    if explicit:
        candidate = Path(explicit) / name
        if not os.access(candidate, os.X_OK):
            raise BackupError(f"环境变量 PG_BIN_DIR={explicit} 指向的目录中没有可执行的 {name}：请改正该变量。")
        return candidate
    found = find_pg_program(name)
    if found is not None:
        return found
    raise BackupError(
        f"找不到 PostgreSQL 客户端程序 {name}：请安装与数据库服务器同版本或更新的客户端"
        "（如 apt-get install postgresql-client-15），或用环境变量 PG_BIN_DIR 指明其所在目录。"
    )


def _check_tool_version(tool: Path, server_version: int) -> None:
    output = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    found = re.search(r"(\d+)(?:\.(\d+))?", output)
    major = int(found.group(1)) if found else 0
    if major < server_version // 10000:
        raise BackupError(
            f"{tool} 的版本（{output.strip()}）低于数据库服务器（{server_version // 10000}）：请安装同版本或更新的"
            "PostgreSQL 客户端，并用环境变量 PG_BIN_DIR 指向其 bin 目录。"
        )


def _pg_connect(parameters: dict[str, str]) -> PgConnection:
    """A connection of our own (not Django's: the manifest needs its own REPEATABLE READ transaction), with the
    output settings fixed, in a read-only REPEATABLE READ transaction from its first statement."""
    try:
        pg = psycopg.connect(make_conninfo(**parameters), autocommit=True)
    except psycopg.Error as error:
        raise BackupError(f"无法连接 PostgreSQL 数据库 {parameters.get('dbname', '')}：{error}") from error
    for setting, value in PG_OUTPUT_SETTINGS.items():
        pg.execute("SELECT set_config(%s, %s, false)", [setting, value])
    pg.autocommit = False
    pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    pg.read_only = True
    return pg


def _pg_describe(pg: PgConnection) -> tuple[dict[str, TableSum], dict[str, str]]:
    """Row count and SHA-256 of every table in primary-key order (text keys in byte order, so the server's locale
    does not matter), each row as PostgreSQL prints it; and the migration state. Call inside one transaction."""
    tables = pg.execute(
        "SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
        "ORDER BY n.nspname, c.relname"
    ).fetchall()
    sums: dict[str, TableSum] = {}
    for oid, schema, name in tables:
        keys = pg.execute(
            "SELECT a.attname, t.typcollation <> 0 FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.position",
            [oid],
        ).fetchall()
        order: sql.Composable = sql.SQL(", ").join(
            sql.SQL('{} COLLATE "C"').format(sql.Identifier(column)) if text else sql.Identifier(column)
            for column, text in keys
        )
        if not keys:
            order = sql.SQL('1 COLLATE "C"')
        query = sql.SQL("SELECT ROW(x.*)::text FROM {}.{} AS x ORDER BY {}").format(
            sql.Identifier(schema), sql.Identifier(name), order
        )
        digest = hashlib.sha256()
        count = 0
        with pg.cursor(name="infocity_backup_rows") as rows:
            rows.itersize = ROW_BATCH
            rows.execute(query)
            while batch := rows.fetchmany(ROW_BATCH):
                for (text,) in batch:
                    digest.update(f"{text}\n".encode())
                count += len(batch)
        sums[name if schema == "public" else f"{schema}.{name}"] = TableSum(count, digest.hexdigest())
    migrations: dict[str, str] = {}
    if "django_migrations" in sums:  # absent from a database never migrated (a new instance)
        migrations = _latest_migrations(pg.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall())
    return sums, migrations


def _run_tool(arguments: list[str], environment: dict[str, str]) -> None:
    finished = subprocess.run(arguments, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
    if finished.returncode != 0:
        tool = Path(arguments[0]).name
        raise BackupError(f"{tool} 运行失败（退出码 {finished.returncode}）：{finished.stderr.strip()[-2000:]}")


def _backup_postgresql(settings_dict: dict[str, Any], folder: Path) -> Manifest:
    parameters = libpq_parameters(settings_dict)
    pg_dump = pg_tool("pg_dump")
    target = folder / POSTGRESQL_DUMP
    with _pg_connect(parameters) as pg:
        server_version = int(pg.info.server_version)
        server_label = pg.info.parameter_status("server_version") or str(server_version)  # "15.8 (Debian …)"
        _check_tool_version(pg_dump, server_version)
        exported = pg.execute("SELECT pg_export_snapshot()").fetchone()
        assert exported is not None
        snapshot = str(exported[0])
        with _private_file(target) as output, tempfile.TemporaryFile() as errors:
            # pg_dump reads the snapshot this transaction exported, so the dump and the manifest computed below
            # see the same data whatever the application writes meanwhile. The transaction stays open until
            # pg_dump has finished.
            dump = subprocess.Popen(  # noqa: S603 — fixed arguments, the password only in the environment
                [str(pg_dump), "--format=custom", f"--snapshot={snapshot}", "--no-password"],
                stdout=output,
                stderr=errors,
                env=tool_environment(parameters),
            )
            try:
                tables, migrations = _pg_describe(pg)
            except BaseException:
                dump.kill()
                dump.wait()
                raise
            if dump.wait() != 0:
                errors.seek(0)
                message = errors.read().decode(errors="replace").strip()
                raise BackupError(f"pg_dump 失败（退出码 {dump.returncode}）：{message}")
        pg.rollback()
    return Manifest(
        engine="postgresql",
        created_at=timezone.now().isoformat(),
        app_version=app_version(),
        server_version=server_label,
        migrations=migrations,
        dump_file=POSTGRESQL_DUMP,
        dump_sha256=sha256_of(target),
        dump_bytes=target.stat().st_size,
        tables=tables,
        audit_key=audit_key_fingerprint(),
    )


def _restore_postgresql(settings_dict: dict[str, Any], dump: Path) -> dict[str, TableSum]:
    """``pg_restore --clean --if-exists --no-owner --single-transaction``: all of the backup or, on any error,
    nothing (the database is left as it was). Then the tables as restored."""
    parameters = libpq_parameters(settings_dict)
    pg_restore = pg_tool("pg_restore")
    arguments = [str(pg_restore), "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
    # --dbname makes pg_restore restore into a database (rather than print SQL); the password stays in PGPASSWORD.
    target = parameters.get("dbname") or make_conninfo(service=parameters.get("service", ""))
    arguments += ["--no-password", f"--dbname={target}", str(dump)]
    try:
        _run_tool(arguments, tool_environment(parameters, f"-c lock_timeout={RESTORE_LOCK_TIMEOUT}"))
    except BackupError as error:
        raise BackupError(
            f"{error}\n数据库未作任何改动（恢复在一个事务中进行，出错即整体撤销）。如提示等待锁超时（lock timeout），"
            "说明仍有应用或任务进程连接着数据库：请先停止它们再恢复。"
        ) from error
    return database_tables(settings_dict)


def _same_postgresql_database(one: dict[str, str], other: dict[str, str]) -> bool:
    def where(parameters: dict[str, str]) -> tuple[str, str, str]:
        host = parameters.get("host", "")
        host = "localhost" if host in {"", "127.0.0.1", "::1", "/tmp", "/var/run/postgresql"} else host  # noqa: S108
        return host, parameters.get("port", "5432"), parameters.get("dbname", "")

    return where(one) == where(other)


def _verify_postgresql(dump: Path, manifest: Manifest, scratch_url: str | None) -> Verification:
    pg_restore = pg_tool("pg_restore")
    # --list reads the whole table of contents: an archive pg_restore cannot read fails here.
    _run_tool([str(pg_restore), "--list", str(dump)], dict(os.environ))
    if not scratch_url:
        return Verification(
            tables=len(manifest.tables),
            rows=manifest.rows,
            skipped=(
                "数据库副本的 SHA-256 与清单一致，归档可被 pg_restore 读取；未逐表校验：PostgreSQL 的备份要先恢复到"
                "一个临时数据库才能逐表核对，请用 --scratch-database-url 指定一个空的临时数据库（不会动正式数据库）。"
            ),
        )
    scratch = dict(dj_database_url.parse(scratch_url))
    if _engine(scratch) != "postgresql":
        raise BackupError("--scratch-database-url 必须是 PostgreSQL 数据库地址（postgres://…）。")
    if _same_postgresql_database(libpq_parameters(scratch), libpq_parameters(dict(connection.settings_dict))):
        raise BackupError("--scratch-database-url 指向的正是平台正在使用的数据库：请另建一个临时数据库用于校验。")
    return compare(manifest.tables, _restore_postgresql(scratch, dump))


def database_tables(settings_dict: dict[str, Any] | None = None) -> dict[str, TableSum]:
    """Row count and checksum of every table of a database (by default the configured one), as in a manifest."""
    settings_dict = dict(settings_dict or connection.settings_dict)
    if _engine(settings_dict) == "sqlite":
        database = _sqlite_open(_sqlite_path(settings_dict), "rw")
        try:
            return _sqlite_describe(database)[0]
        finally:
            database.close()
    with _pg_connect(libpq_parameters(settings_dict)) as pg:
        tables = _pg_describe(pg)[0]
        pg.rollback()
    return tables


# --- the operations ---------------------------------------------------------------------------------------------------


def create_backup(output: Path | None = None) -> tuple[Path, Manifest]:
    """Back up the configured database into ``output`` (default ``var/backups/<time>``) and record the event."""
    settings_dict = dict(connection.settings_dict)
    engine = _engine(settings_dict)
    folder = _private_folder(output or default_output())
    started = time.monotonic()
    try:
        if engine == "sqlite":
            manifest = _backup_sqlite(settings_dict, folder)
        else:
            manifest = _backup_postgresql(settings_dict, folder)
        _write_manifest(folder, manifest)
    except (BackupError, OSError, sqlite3.Error) as error:
        with suppress(DatabaseError), transaction.atomic():  # the database itself may be what failed
            record(
                Action.BACKUP_CREATE,
                outcome=Outcome.FAILURE,
                detail={"path": str(folder), "engine": engine, "error": str(error)[:500], **_operator()},
            )
        if isinstance(error, BackupError):
            raise
        raise BackupError(f"备份失败：{error}") from error
    with transaction.atomic():
        record(
            Action.BACKUP_CREATE,
            detail={
                "path": str(folder), "engine": engine, "sha256": manifest.dump_sha256, "bytes": manifest.dump_bytes,
                "tables": len(manifest.tables), "rows": manifest.rows,
                "seconds": round(time.monotonic() - started, 2), **_operator(),
            },
        )  # fmt: skip
    return folder, manifest


def verify_backup(folder: Path, scratch_url: str | None = None) -> tuple[Manifest, Verification]:
    """Check a backup without touching the live database: the copy's SHA-256, then (SQLite) the copy opened
    read-only and recomputed, or (PostgreSQL) the dump restored into a scratch database and recomputed."""
    manifest = read_manifest(folder)
    dump = check_dump(folder, manifest)
    if manifest.engine == "sqlite":
        return manifest, _verify_sqlite(dump, manifest)
    if manifest.engine == "postgresql":
        return manifest, _verify_postgresql(dump, manifest, scratch_url)
    raise BackupError(f"备份清单中的数据库类型 {manifest.engine} 不受支持。")


def check_restorable(folder: Path) -> tuple[Manifest, MigrationStatus]:
    """Everything checked before a restore touches anything: the manifest, the copy's SHA-256, the engine, and
    that the backup was not made by newer code than this."""
    manifest = read_manifest(folder)
    check_dump(folder, manifest)
    engine = _engine(dict(connection.settings_dict))
    if manifest.engine != engine:
        raise BackupError(
            f"这是 {manifest.engine} 数据库的备份，而当前配置的是 {engine} 数据库：不能跨数据库类型恢复。"
            "请检查 DATABASE_URL。"
        )
    status = migration_status(manifest)
    if status.newer:
        raise BackupError(
            f"{status.describe()}。这份备份由更新版本的平台（{manifest.app_version}）生成，"
            "请先把平台升级到该版本或更新的版本，再恢复。"
        )
    return manifest, status


def _holds_data(settings_dict: dict[str, Any]) -> bool:
    """False for a new instance (a restore drill, a new server): no SQLite file yet, or a database never migrated."""
    if _engine(settings_dict) == "sqlite" and not _sqlite_path(settings_dict).is_file():
        return False
    return "django_migrations" in connection.introspection.table_names()


@dataclass
class RestoreResult:
    manifest: Manifest
    migrations: MigrationStatus
    verification: Verification
    safety_backup: Path | None
    seconds: float


def restore_backup(folder: Path, *, safety_backup: Path | None = None) -> RestoreResult:
    """Replace the configured database with the backup in ``folder`` and compare it with the manifest, table by
    table. The application must be stopped. With ``safety_backup`` the current data is backed up there first.

    The audit event is written after the restore, into the restored database, so it is not overwritten; it names
    the backup and records whether the comparison succeeded."""
    manifest, status = check_restorable(folder)
    if connection.in_atomic_block:
        raise BackupError("不能在数据库事务中恢复备份。")
    settings_dict = dict(connection.settings_dict)
    saved: Path | None = None
    if safety_backup is not None and _holds_data(settings_dict):
        saved, _ = create_backup(safety_backup)
    dump = folder / manifest.dump_file
    # Our own connection must not hold the old file or old tables open across the restore.
    connection.close()
    started = time.monotonic()
    detail: dict[str, Any] = {
        "backup": str(folder), "created_at": manifest.created_at, "sha256": manifest.dump_sha256,
        "app_version": manifest.app_version, "safety_backup": str(saved or ""), **_operator(),
    }  # fmt: skip
    try:
        if manifest.engine == "sqlite":
            tables = _restore_sqlite(settings_dict, dump)
        else:
            tables = _restore_postgresql(settings_dict, dump)
    except (BackupError, OSError, sqlite3.Error) as error:
        with suppress(DatabaseError), transaction.atomic():  # into the database as it was (nothing was restored)
            record(Action.BACKUP_RESTORE, outcome=Outcome.FAILURE, detail={**detail, "error": str(error)[:500]})
        if isinstance(error, BackupError):
            raise
        raise BackupError(f"恢复失败：{error}") from error
    seconds = time.monotonic() - started
    verification = compare(manifest.tables, tables)
    with transaction.atomic():
        record(
            Action.BACKUP_RESTORE,
            outcome=Outcome.SUCCESS if verification.ok else Outcome.FAILURE,
            detail={
                **detail, "tables": verification.tables, "rows": verification.rows, "seconds": round(seconds, 2),
                "mismatches": [mismatch.table for mismatch in verification.mismatches][:50],
            },
        )  # fmt: skip
    return RestoreResult(manifest, status, verification, saved, seconds)
