"""What the fault tests drive from outside the platform: dedicated databases (SQLite files, or databases on a
PostgreSQL server), the platform's steps (:mod:`faults.steps`), the task worker and gunicorn as real processes, and
a PostgreSQL cluster of the test's own that it can restart."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import psycopg.conninfo

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = "faults-secret-key-for-tests-only-0123456789-abcdefghijklmnop"  # noqa: S105 — test processes only


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def platform_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of every platform process of a test: its own database and var directory, one secret key
    (so the audit digests agree across processes), the reporting calendar pinned to 2016-12-20 (every period of the
    world open), tasks in the database for ``manage.py db_worker``, and no persistent database connections."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BULK_", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url,
        INFOCITY_VAR_DIR=str(var_dir),
        SECRET_KEY=SECRET,
        AUDIT_HMAC_KEY=SECRET[::-1],
        DJANGO_SETTINGS_MODULE="infocity.settings",
        REPORTING_TODAY="2016-12-20",
        TASK_BACKEND="database",
        CONN_MAX_AGE="0",
        DEBUG="0",
        LOG_LEVEL="WARNING",
        PASSWORD_MAX_AGE_DAYS="0",  # noqa: S106 — not a password: the password-age rule off
        PYTHONUNBUFFERED="1",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    env.update(extra)
    return env


def steps(env: dict[str, str], *actions: str, timeout: float = 600) -> list[dict[str, Any]]:
    """Actions of :mod:`faults.steps`, one after the other in one process of the platform; their JSON answers."""
    done = subprocess.run(  # noqa: S603 — our own module with our own arguments
        [PYTHON, "-m", "faults.steps", *actions], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(f"steps {actions} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    answers: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return answers


def step(env: dict[str, str], action: str, *options: str) -> dict[str, Any]:
    """One action of :mod:`faults.steps` (``setup`` takes its options after it)."""
    return steps(env, action, *options)[0]


class Platform:
    """A process of the platform that stays up and does :mod:`faults.steps` actions on request (what a user does
    on the pages, what the checks read), so a test starts Django once rather than for every action."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        with log_path.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(  # noqa: S603 — our own module
                [PYTHON, "-m", "faults.steps", "serve"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1,
            )  # fmt: skip
        self.ready = False

    def do(self, *actions: str) -> list[dict[str, Any]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        if not self.ready:
            started = self.process.stdout.readline()
            assert started.strip() == '{"ready": true}', f"the platform did not start: {started!r}"
            self.ready = True
        self.process.stdin.write(json.dumps(list(actions)) + "\n")
        line = self.process.stdout.readline()
        assert line, f"the platform process exited ({self.process.wait()})"
        answer = json.loads(line)
        if isinstance(answer, dict) and "error" in answer:
            raise AssertionError(f"{actions} failed in the platform:\n{answer['error']}")
        answers: list[dict[str, Any]] = answer
        return answers

    def one(self, action: str) -> dict[str, Any]:
        return self.do(action)[0]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- databases ------------------------------------------------------------------------------------------


class Databases(ABC):
    """Where a test's databases live: SQLite files in a directory, or databases on a PostgreSQL server. The two
    kinds below say how a database is named, made and dropped; the rest is common."""

    def __init__(self) -> None:
        self.made: list[str] = []

    @property
    @abstractmethod
    def vendor(self) -> str:
        """``sqlite`` or ``postgresql``, as Django's ``connection.vendor``."""

    @abstractmethod
    def url(self, name: str) -> str:
        """The ``DATABASE_URL`` of the database ``name``."""

    @abstractmethod
    def _create(self, name: str, template: str | None) -> None:
        """Make the database ``name``: empty, or a copy of ``template``."""

    @abstractmethod
    def drop(self, name: str) -> None:
        """Remove the database ``name`` if it exists."""

    def create(self, name: str, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``, which no process may be using); its URL."""
        self.drop(name)
        self._create(name, template)
        self.made.append(name)
        return self.url(name)

    @abstractmethod
    def wait_idle(self, name: str, timeout: float = 60) -> None:
        """Until no session is left on the database (a killed client's server process may still be finishing what
        it was sent — even a COMMIT)."""

    def drop_all(self) -> None:
        for name in reversed(dict.fromkeys(self.made)):
            self.drop(name)
        self.made.clear()


class SqliteDatabases(Databases):
    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    @property
    def vendor(self) -> str:
        return "sqlite"

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.sqlite3"

    def url(self, name: str) -> str:
        return f"sqlite:///{self.path(name)}"

    def _create(self, name: str, template: str | None) -> None:
        if template is not None:  # SQLite's online backup: a consistent copy, whatever the WAL holds
            source, copy = sqlite3.connect(self.path(template)), sqlite3.connect(self.path(name))
            try:
                source.backup(copy)
            finally:
                source.close()
                copy.close()

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path(name)}{suffix}").unlink(missing_ok=True)

    def wait_idle(self, name: str, timeout: float = 60) -> None:
        return  # nothing outlives the client with SQLite: the client was the database


class PostgresDatabases(Databases):
    """Databases on a PostgreSQL server reached as ``postgres://user[:password]@host:port``."""

    def __init__(self, server_url: str) -> None:
        super().__init__()
        parts = urlsplit(server_url)
        self.server = f"{parts.scheme}://{parts.netloc}"
        # the maintenance database of the same server, as the same user
        self.admin = psycopg.conninfo.make_conninfo(
            host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=parts.username or "postgres",
            password=parts.password or None, dbname="postgres", connect_timeout=10,
        )  # fmt: skip

    @property
    def vendor(self) -> str:
        return "postgresql"

    def url(self, name: str) -> str:
        return f"{self.server}/{name}"

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.admin, autocommit=True) as connection:
            connection.execute(sql.encode())

    def _create(self, name: str, template: str | None) -> None:
        suffix = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{suffix}')

    def drop(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def wait_idle(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.admin, autocommit=True) as connection:
            while True:
                query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                row = connection.execute(query, (name,)).fetchone()
                if row is None or row[0] == 0:
                    return
                assert time.monotonic() < deadline, f"sessions still open on {name} after {timeout} s"
                time.sleep(0.05)


def databases_for(database_url: str, directory: Path) -> tuple[Databases, str]:
    """The test's databases beside the one ``DATABASE_URL`` names (PostgreSQL), or SQLite files in ``directory``;
    and the prefix of their names (``infocity_faults`` for ``…/infocity``)."""
    if database_url.startswith(("postgres://", "postgresql://")):
        name = urlsplit(database_url).path.lstrip("/") or "infocity"
        return PostgresDatabases(database_url), f"{name}_faults"
    return SqliteDatabases(directory), "faults"


# --- processes ------------------------------------------------------------------------------------------


@dataclass
class Worker:
    """``manage.py db_worker`` as operators run it, its log lines timestamped as they arrive."""

    env: dict[str, str]
    log_path: Path
    lines: list[tuple[float, str]] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> Worker:
        command = [PYTHON, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"]
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.log_path.open("a", encoding="utf-8") as log:
            for line in self.process.stdout:
                log.write(line)
                with self.changed:
                    self.lines.append((time.monotonic(), line.rstrip()))
                    self.changed.notify_all()

    def wait_for(self, task: str, state: str, count: int = 1, timeout: float = 300) -> float:
        """When the ``count``-th log line "path=…``task`` state=``state``" arrived (waiting for it)."""
        pattern = re.compile(rf"path=\S*\.{task} state=({state})")
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                seen = [moment for moment, line in self.lines if pattern.search(line)]
                if len(seen) >= count:
                    return seen[count - 1]
                failed = [line for _moment, line in self.lines if f"{task} state=FAILED" in line]
                if failed and state != "FAILED":
                    raise AssertionError(f"the worker's task failed: {failed[-1]}\n{self.tail()}")
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.tail()}")
                if not self.changed.wait(max(0.0, deadline - time.monotonic())) and time.monotonic() >= deadline:
                    raise AssertionError(f"no {task} {state} within {timeout} s:\n{self.tail()}")

    def count(self, task: str, state: str) -> int:
        """How many log lines so far say "path=…``task`` state=``state``"."""
        with self.changed:
            return sum(f".{task} state={state}" in line for _moment, line in self.lines)

    def tail(self) -> str:
        return "\n".join(line for _moment, line in self.lines[-30:])

    def kill(self) -> None:
        """SIGKILL: no handler runs, no transaction is finished, no task is marked."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path, workers: int = 2, threads: int = 4) -> Iterator[str]:
    """The platform served by gunicorn (``infocity.wsgi:application``) on a free port; its base URL."""
    port = free_port()
    command = [PYTHON, "-m", "gunicorn", "infocity.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "10",
               "--access-logfile", "-", "--error-logfile", "-"]  # fmt: skip
    with log_path.open("a", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"gunicorn exited ({process.returncode}), see {log_path}")
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:  # noqa: S310 — our server
                        if answer.status == 200:
                            break
                except OSError:  # not listening yet
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"gunicorn did not answer /healthz within 60 s, see {log_path}")
                time.sleep(0.2)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- a PostgreSQL cluster of the test's own ------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The directory of the PostgreSQL server binaries: the newest ``/usr/lib/postgresql/*/bin`` with ``initdb``, else
    ``initdb`` on the PATH (``find_pg_program``, which the backup command uses when ``PG_BIN_DIR`` is not set)."""
    from infocity.ops.backup import find_pg_program

    initdb = find_pg_program("initdb")
    return initdb.resolve().parent if initdb else None


def unprivileged_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: as root, the server runs as ``pgci`` (the account .ci/run uses, created as
    it creates it) or an existing ``pgtest``; as anyone else, as that user."""
    if os.geteuid() != 0:
        return None
    for name in ("pgci", "pgtest"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "pgci"], check=True)  # noqa: S607
    return pwd.getpwnam("pgci")


class Cluster:
    """A throw-away PostgreSQL cluster in a temporary directory, on a free port, that the test stops and starts."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = unprivileged_user()
        self.directory = Path(tempfile.mkdtemp(prefix="infocity-faults-pg."))
        if self.user is not None:
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = free_port()

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A PostgreSQL binary, as the unprivileged user when the test runs as root."""
        uid, gid = (None, None) if self.user is None else (self.user.pw_uid, self.user.pw_gid)
        env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(self.directory)}
        return subprocess.run(  # noqa: S603 — the PostgreSQL binaries with our arguments
            [str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout, env=env,
            cwd=self.directory, check=False, user=uid, group=gid, extra_groups=None if uid is None else [],
        )  # fmt: skip

    def _ok(self, done: subprocess.CompletedProcess[str]) -> None:
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise AssertionError(f"{done.args}: {done.stdout}{done.stderr}\n{log}")

    def init(self) -> Cluster:
        self._ok(self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                          "--locale=C.UTF-8"))  # fmt: skip
        self.start()
        return self

    def start(self) -> None:
        options = f"-k {self.directory} -p {self.port} -c listen_addresses=127.0.0.1"
        self._ok(self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"))

    def stop(self, mode: str = "fast") -> None:
        self._ok(self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"))

    def restart(self, mode: str = "fast") -> None:
        options = f"-k {self.directory} -p {self.port} -c listen_addresses=127.0.0.1"
        self._ok(self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-o", options, "-l", str(self.log), "-w",
                          "restart"))  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def destroy(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
