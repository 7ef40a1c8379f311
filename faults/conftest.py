"""Fixtures of the fault tests. They never use pytest-django's test database: every test builds dedicated databases
(SQLite files in a temporary directory, or ``<name>_faults…`` databases beside the one ``DATABASE_URL`` names on
PostgreSQL) and runs the platform in processes of its own, as in production.

``FAULTS_SEED`` repeats a run's random choices (the seed is printed in the header); ``FAULTS_KILL_RUNS`` and
``FAULTS_CHECK_KILL_RUNS`` set how many times the worker is killed during an apply and during a check."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Cluster, Databases, databases_for, postgres_bin

SEED = int(os.environ.get("FAULTS_SEED") or secrets.randbelow(1_000_000))


def pytest_report_header() -> str:
    return f"fault seed: {SEED} (FAULTS_SEED={SEED} repeats the random choices)"


@pytest.fixture(scope="session")
def fault_seed() -> int:
    return SEED


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files of the platform processes: their var directory, logs, SQLite databases, import files."""
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="session")
def databases(scratch: Path) -> Iterator[tuple[Databases, str]]:
    """Where the tests' own databases go, and the prefix of their names; they are dropped after the session
    (SQLite files stay in pytest's temporary directory with the logs, for a look after a failure)."""
    found, prefix = databases_for(os.environ.get("DATABASE_URL", ""), scratch)
    yield found, prefix
    if found.vendor == "postgresql":
        found.drop_all()


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of the tests' own, which they may stop and restart (needs the server binaries)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin or initdb on the PATH)")
    made = Cluster(bindir).init()
    yield made
    made.destroy()
