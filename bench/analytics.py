"""Analytics benchmark: dashboards and the incremental update on a large, seeded data set.

    .venv/bin/python bench/analytics.py                      # 300 cities × 62 items × 24 months, SQLite
    .venv/bin/python bench/analytics.py --full               # 3,000 cities × 62 items × 60 months (11.2M values)
    .venv/bin/python bench/analytics.py --database-url postgres://postgres@127.0.0.1:55432/bench

What it does (see bench/README.md for the exact data shape):

1. Generates a seeded data set in its own database (never the project's ``var/``): the organisation tree (ministry,
   31 provinces, N demonstration cities), a cohort, one reporting cycle per year, every expected submission accepted
   and filled with plausible values, then ``infocity.analytics.services.rebuild()`` once (timed).
2. Measures, through Django's test client on the real views: the national dashboard and its data requests (the
   CSV downloads), a province dashboard, a city dashboard — each ``--requests`` times after one cold request.
3. Measures the incremental update: ``services.recompute(city, period)`` after one changed value, and the whole
   ``reporting.services.accept()`` of a province-approved submission (which recomputes through the signal).
4. Checks that the incrementally kept aggregates equal a fresh ``rebuild()`` of the periods touched.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from infocity.accounts.models import User
    from infocity.frameworks.models import Edition
    from infocity.organisations.models import Organisation
    from infocity.reporting.models import Period

FIRST_YEAR = 2015  # the demonstration value trajectories start in January 2015
DEFAULT_CITIES, DEFAULT_MONTHS = 300, 24
FULL_CITIES, FULL_MONTHS = 3000, 60
COHORT_NAME = "基准测试城市"
BENCH_EDITION = "2016-monthly"
# The goals of the issue, on PostgreSQL.
DASHBOARD_GOAL_MS = 300.0
UPDATE_GOAL_MS = 200.0


# --- command line and environment -----------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="infocity analytics benchmark (dashboards and incremental update on seeded data).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--cities", type=int, default=DEFAULT_CITIES, help="demonstration cities")
    parser.add_argument("--months", type=int, default=DEFAULT_MONTHS, help="months of data (a multiple of 12)")
    parser.add_argument(
        "--full", action="store_true", help=f"the issue's size: {FULL_CITIES} cities × {FULL_MONTHS} months"
    )
    parser.add_argument(
        "--shape",
        choices=["monthly", "2016"],
        default="monthly",
        help="monthly: every item of the 2016 edition reported monthly (62 items a month); "
        "2016: the 2016 edition as shipped (M/Q/H/A forms, 166 values per city and year)",
    )
    parser.add_argument("--seed", type=int, default=2016, help="random seed of the generator")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--repeats", type=int, default=20, help="timed incremental updates of each kind")
    parser.add_argument(
        "--database-url",
        default="",
        help="e.g. postgres://postgres@127.0.0.1:55432/bench (default: an SQLite file in --var-dir)",
    )
    parser.add_argument(
        "--var-dir",
        default=str(Path(tempfile.gettempdir()) / "infocity-bench"),
        help="INFOCITY_VAR_DIR of the benchmark (secret key, default SQLite file)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep data generated earlier with the same parameters (skip generation)"
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="wipe a database given by --database-url that already holds data (PostgreSQL: drops schema public)",
    )
    parser.add_argument(
        "--rebuild-months",
        type=int,
        default=0,
        help="rebuild() the indicators of the latest N months only (0: all); earlier months then have no indicator "
        "values, which shortens the city dashboard's trend charts",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the incremental = rebuild check")
    args = parser.parse_args(argv)
    if args.full:
        args.cities, args.months = FULL_CITIES, FULL_MONTHS
    if args.months <= 0 or args.months % 12:
        parser.error("--months must be a positive multiple of 12 (one reporting cycle per year)")
    if args.cities < 2 * args.repeats + 2:
        parser.error(f"--cities must be at least {2 * args.repeats + 2} for --repeats {args.repeats}")
    return args


def last_year(args: argparse.Namespace) -> int:
    months: int = args.months
    return FIRST_YEAR + months // 12 - 1


def configure(args: argparse.Namespace) -> None:
    """Environment for infocity.settings — before Django is set up."""
    var_dir = Path(args.var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    default_sqlite = var_dir / f"bench-{args.shape}-{args.cities}x{args.months}-seed{args.seed}.sqlite3"
    if not args.database_url:
        args.database_url = f"sqlite:///{default_sqlite}"
        if not args.reuse:  # our own file: start afresh
            for suffix in ("", "-wal", "-shm"):
                Path(f"{default_sqlite}{suffix}").unlink(missing_ok=True)
    os.environ["INFOCITY_VAR_DIR"] = str(var_dir)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["TASK_BACKEND"] = "immediate"
    # The dashboards' completeness counts the submissions due by "today": after the last period has expired.
    os.environ["REPORTING_TODAY"] = f"{last_year(args) + 1}-03-01"
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    os.environ["SECURE_COOKIES"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "infocity.settings"


# --- results --------------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)  # milliseconds
    cold_ms: float | None = None
    note: str = ""
    goal_ms: float | None = None
    error: str = ""

    def row(self) -> str:
        if self.error:
            return f"{self.name:<46} ERROR — {self.error.strip().splitlines()[-1]}"
        if not self.samples:
            return f"{self.name:<46} (not measured) {self.note}"
        p50, p95 = statistics.median(self.samples), percentile(self.samples, 0.95)
        goal = ""
        if self.goal_ms is not None:
            goal = f"  goal ≤{self.goal_ms:.0f}: {'met' if p95 <= self.goal_ms else 'MISSED'}"
        cold = f"  cold {self.cold_ms:7.1f}" if self.cold_ms is not None else " " * 14
        return (
            f"{self.name:<46} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  max {max(self.samples):8.1f} ms"
            f"  n={len(self.samples):<3}{cold}{goal}  {self.note}"
        ).rstrip()


@dataclass
class Report:
    header: list[str] = field(default_factory=list)
    steps: list[tuple[str, float]] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def print(self) -> None:
        print()
        for line in self.header:
            print(line)
        if self.steps:
            print("  ".join(f"{name} {seconds:.1f} s" for name, seconds in self.steps))
        for timing in self.timings:
            print(timing.row())
        if self.problems:
            print("\nProblems seen:")
            for problem in self.problems:
                print(problem.rstrip())


@dataclass
class Clock:
    started: float = field(default_factory=time.perf_counter)

    def lap(self) -> float:
        now = time.perf_counter()
        elapsed, self.started = now - self.started, now
        return elapsed


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the database ---------------------------------------------------------------------------------


def prepare_database(args: argparse.Namespace) -> None:
    """Refuse to overwrite data we did not make, unless --reset; then bring the schema up to date."""
    from django.core.management import call_command
    from django.db import connection

    tables = set(connection.introspection.table_names())
    if "organisations_organisation" in tables and not args.reuse:
        from infocity.organisations.models import Organisation

        if Organisation.objects.exists():
            if not args.reset:
                sys.exit(
                    f"The database {args.database_url} already holds data: pass --reuse to measure it as it is "
                    "(if this benchmark generated it) or --reset to wipe it."
                )
            wipe(args)
    log("migrate")
    call_command("migrate", verbosity=0, interactive=False)


def wipe(args: argparse.Namespace) -> None:
    from django.db import connection

    log("wiping the benchmark database (--reset)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
    elif connection.vendor == "sqlite":
        name = Path(str(connection.settings_dict["NAME"]))
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
    else:
        sys.exit(f"--reset is not supported on {connection.vendor}")


def code_version() -> str:
    """The commit measured (and whether the tree had changes), for comparing runs."""
    git = ["git", "-C", str(ROOT)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)  # noqa: S603
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "infocity"], capture_output=True, text=True)  # noqa: S603
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes in infocity/" if dirty.stdout.strip() else "")


def describe_database() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]
        settings = connection.settings_dict
        return f"PostgreSQL {version} ({settings['HOST']}:{settings['PORT']}/{settings['NAME']}, {size})"
    if connection.vendor == "sqlite":
        import sqlite3

        name = Path(str(connection.settings_dict["NAME"]))
        size = name.stat().st_size / 2**20 if name.exists() else 0
        return f"SQLite {sqlite3.sqlite_version} ({name}, {size:.0f} MiB)"
    return connection.vendor


# --- the generator --------------------------------------------------------------------------------


@dataclass
class Cast:
    """What the measurements need from the generated data (kept in the cohort's description for --reuse)."""

    params: dict[str, Any]
    dashboard_city: int
    recompute_cities: list[int]
    accept_submissions: list[int]
    analyst: str = "bench-analyst"
    city_user: str = "bench-city"

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


def params_of(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "shape": args.shape,
        "cities": args.cities,
        "months": args.months,
        "seed": args.seed,
        "rebuild_months": args.rebuild_months,
    }


def bench_edition(shape: str) -> Edition:
    """The 2016 edition as shipped, or the same edition with every form and indicator monthly."""
    from infocity.frameworks.loading import EDITION_2016, load_edition_file, publish_monthly_2016

    if shape == "2016":
        return load_edition_file(EDITION_2016)
    return publish_monthly_2016(BENCH_EDITION, "基准测试：全部按月填报")


def organisation_tree(count: int, rng: random.Random) -> tuple[Any, Any, dict[str, Any], list[Any]]:
    """The ministry, the monitoring agency, the 31 provinces (real GB/T 2260 divisions) and ``count`` cities
    (``city_places``). The ministry, agency and provinces are created by the service; thousands of cities are
    bulk-created with the same fields and materialised path as ``create_organisation()`` (no audit event each).
    Returns (ministry, agency, provinces by division code, cities)."""
    from infocity.organisations.models import Division, Organisation, OrganisationKind
    from infocity.organisations.services import create_organisation

    kind = OrganisationKind
    ministry = create_organisation(actor=None, kind=kind.MINISTRY, name="工业和信息化部")
    agency = create_organisation(actor=None, kind=kind.AGENCY, name="信息消费监测分析中心（基准测试）", parent=ministry)
    provinces = {
        division.code: create_organisation(
            actor=None, kind=kind.PROVINCE, name=division.name, parent=ministry, division=division
        )
        for division in Division.objects.filter(level=Division.Level.PROVINCE).order_by("code")
    }
    places = city_places(count, rng)
    existing = set(Division.objects.values_list("code", flat=True))
    Division.objects.bulk_create(
        [
            Division(code=code, name=name, level=Division.Level.PREFECTURE, parent_id=province)
            for code, name, province in places
            if code not in existing
        ]
    )
    cities = Organisation.objects.bulk_create(
        [
            Organisation(name=name, kind=kind.CITY, parent=provinces[province], division_id=code, path="")
            for code, name, province in places
        ],
        batch_size=1000,
    )
    for city in cities:
        assert city.parent is not None
        city.path = f"{city.parent.path}{city.pk}/"
    Organisation.objects.bulk_update(cities, ["path"], batch_size=1000)
    return ministry, agency, provinces, cities


def city_profiles(cities: list[Any], rng: random.Random) -> dict[int, Any]:
    """Each city's profile for the demonstration's value trajectories (``infocity.demo.monitoring.values_for``):
    its region's level, a seeded population between 30 and 3,000 (10,000 people) and its own noise."""
    from infocity.demo.monitoring import CENTRAL, EAST, City

    profiles: dict[int, City] = {}
    for city in cities:
        assert city.division_id is not None
        prefix = city.division_id[:2]
        base = 1.0 if prefix in EAST else 0.85 if prefix in CENTRAL else 0.72
        population = min(3000.0, max(30.0, rng.lognormvariate(math.log(450), 0.6)))
        noise = random.Random(rng.random())  # noqa: S311 — synthetic data
        profiles[city.pk] = City(city, population, base * rng.uniform(0.93, 1.05), noise)
    return profiles


def city_places(count: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(division code, name, province division code) for ``count`` cities: the real prefecture-level cities and
    municipalities first (in a seeded order), then synthetic divisions ``PP9nnn`` spread over the provinces."""
    from infocity.organisations.models import Division

    provinces = list(Division.objects.filter(level=Division.Level.PROVINCE).order_by("code"))
    real = [(p.code, p.name, p.code) for p in provinces if p.is_municipality]
    real += [
        (d.code, d.name, str(d.parent_id))
        for d in Division.objects.filter(level=Division.Level.PREFECTURE, separately_planned=False).order_by("code")
    ]
    rng.shuffle(real)
    places = real[:count]
    spread = [p for p in provinces if not p.is_municipality]
    for n in range(count - len(places)):
        province = spread[n % len(spread)]
        places.append((f"{province.code[:2]}9{n // len(spread):03d}", f"示范城市{n + 1:04d}", province.code))
    return places


def generate(args: argparse.Namespace, report: Report) -> Cast:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from infocity.accounts.models import Role
    from infocity.accounts.services import create_account
    from infocity.analytics import services as analytics
    from infocity.demo.monitoring import values_for
    from infocity.frameworks.models import DataItem
    from infocity.organisations.services import add_cities_to_cohort, create_cohort
    from infocity.reporting import services as reporting
    from infocity.reporting.models import DataValue, Period, Status, Submission

    rng = random.Random(args.seed)  # noqa: S311 — synthetic data
    clock = Clock()
    log(f"generating: {args.cities} cities, {args.months} months, shape {args.shape}, seed {args.seed}")
    with transaction.atomic():
        _, agency, _, cities = organisation_tree(args.cities, rng)

        def account(username: str, organisation: Organisation, role: str) -> User:
            return create_account(
                actor=None,
                username=username,
                full_name=username,
                organisation=organisation,
                role=role,
                password="",
                password_hash=make_password(None),  # unusable: the benchmark logs in with force_login
                must_change_password=False,
            )

        analyst = account("bench-analyst", agency, Role.ANALYST)
        chosen = rng.sample(cities, 2 * args.repeats + 1)
        dashboard_city, recompute_cities, accept_cities = (
            chosen[0],
            chosen[1 : args.repeats + 1],
            chosen[1 + args.repeats :],
        )
        account("bench-city", dashboard_city, Role.CITY_REPORTER)
        for city in accept_cities:  # accept() notifies the city's users
            account(f"bench-city-{city.pk}", city, Role.CITY_REPORTER)
            account(f"bench-city-{city.pk}-approver", city, Role.CITY_APPROVER)

        cohort = create_cohort(actor=None, name=COHORT_NAME, year=FIRST_YEAR, description="{}")
        add_cities_to_cohort(actor=None, cohort=cohort, cities=cities, joined_on=datetime.date(FIRST_YEAR, 1, 1))
        edition = bench_edition(args.shape)
        for year in range(FIRST_YEAR, last_year(args) + 1):
            reporting.create_cycle(
                actor=analyst,
                name=f"{year} 年度监测（基准测试）",
                year=year,
                edition=edition,
                cohorts=[cohort],
                forms=edition.forms.all(),
            )
    report.steps.append(("organisations+cycles", clock.lap()))
    log(f"  organisations, cycles and {Submission.objects.count():,} expected submissions created")

    profiles = city_profiles(cities, rng)
    items: dict[int, tuple[str, list[tuple[str, int, bool]]]] = {}
    for item in DataItem.objects.filter(edition=edition).select_related("form").order_by("form__order", "order"):
        entry = items.setdefault(item.form_id, (item.form.code, []))
        entry[1].append((item.code, item.pk, item.value_type == DataItem.Type.BOOLEAN))

    periods = list(Period.objects.filter(cycle__edition=edition).order_by("ends_on", "frequency", "pk"))
    total = 0
    for number, period in enumerate(periods, start=1):
        # Read before the insert starts: no other query may run on the connection during a COPY.
        submissions = Submission.objects.filter(period=period).order_by("city_id", "form__order")
        slots = list(submissions.values_list("pk", "city_id", "form_id"))

        def rows(period: Period = period, slots: list[tuple[int, int, int]] = slots) -> Iterator[tuple[int, int, str]]:
            for pk, city_id, form_id in slots:
                if form_id not in items:  # the progress report's form (P) has sections, no data items
                    continue
                form_code, form_items = items[form_id]
                values = values_for(profiles[city_id], form_code, period.ends_on)
                for code, item_id, boolean in form_items:
                    raw = values[code]
                    yield pk, item_id, ("1" if raw == "是" else "0") if boolean else raw

        with transaction.atomic():
            total += insert_values(DataValue._meta.db_table, rows())
            moment = timezone.make_aware(datetime.datetime.combine(period.due_on, datetime.time(10)))
            Submission.objects.filter(period=period).update(
                status=Status.ACCEPTED,
                ever_accepted=True,
                first_submitted_at=moment,
                submitted_at=moment,
                accepted_at=moment,
                updated_at=moment,
            )
        if number % 6 == 0 or number == len(periods):
            log(f"  {number}/{len(periods)} periods, {total:,} data values")
    # The submissions whose acceptance is timed wait at the province-approved stage (in the provisional basis).
    latest = latest_monthly_period()
    reserved = Submission.objects.filter(period=latest, form__code="M", city__in=accept_cities)
    accept_ids = list(reserved.order_by("city_id").values_list("pk", flat=True))
    reserved.update(status=Status.PROVINCE_APPROVED, ever_accepted=False, accepted_at=None)
    report.steps.append(("data values", clock.lap()))

    rebuilt = periods if not args.rebuild_months else periods_of_latest_months(periods, args.rebuild_months)
    log(f"analytics.rebuild() of {len(rebuilt)} periods")
    written = analytics.rebuild(rebuilt)
    report.steps.append(("rebuild", clock.lap()))
    log(f"  {written:,} indicator values")
    if connection.vendor == "postgresql":
        log("VACUUM ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        report.steps.append(("vacuum analyze", clock.lap()))

    cast = Cast(
        params=params_of(args),
        dashboard_city=dashboard_city.pk,
        recompute_cities=[c.pk for c in recompute_cities],
        accept_submissions=accept_ids,
    )
    cohort.description = cast.to_json()  # written last: a half-generated database is not reused
    cohort.save(update_fields=["description"])
    return cast


def periods_of_latest_months(periods: list[Period], months: int) -> list[Period]:
    """The periods that end within the latest ``months`` months."""
    end = max(p.ends_on for p in periods)
    first = datetime.date(end.year, end.month, 1)
    for _ in range(months - 1):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return [p for p in periods if p.ends_on >= first]


def insert_values(table: str, rows: Iterator[tuple[int, int, str]]) -> int:
    """Bulk insert of DataValue rows (COPY on PostgreSQL, executemany on SQLite); the caller holds a transaction."""
    from django.db import connection

    columns = "submission_id, item_id, number, text, explanation"
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row((*row, "", ""))
                    count += 1
            return count
        sql = f"INSERT INTO {connection.ops.quote_name(table)} ({columns}) VALUES (%s, %s, %s, '', '')"  # noqa: S608
        batch: list[tuple[int, int, str]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 50_000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def latest_monthly_period() -> Period:
    from infocity.reporting.models import Period

    return Period.objects.filter(frequency="M").order_by("-ends_on", "-pk")[0]


def reuse(args: argparse.Namespace) -> Cast:
    """The data generated earlier; submissions accepted by an earlier run go back to province-approved (and their
    indicators are recomputed, untimed) so that acceptance can be timed again."""
    from django.db import transaction

    from infocity.analytics import services as analytics
    from infocity.organisations.models import Cohort
    from infocity.reporting.models import Status, Submission

    cohort = Cohort.objects.filter(name=COHORT_NAME).first()
    stored = json.loads(cohort.description) if cohort is not None else {}
    if stored.get("params") != params_of(args):
        sys.exit(f"--reuse: the database holds no complete benchmark data for {params_of(args)} (found {stored}).")
    cast = Cast(**stored)
    accepted = Submission.objects.filter(pk__in=cast.accept_submissions, status=Status.ACCEPTED)
    if accepted.exists():
        log(f"--reuse: {accepted.count()} submissions back to province-approved")
        with transaction.atomic():
            for submission in accepted.select_related("city", "period"):
                submission.status, submission.ever_accepted, submission.accepted_at = (
                    Status.PROVINCE_APPROVED,
                    False,
                    None,
                )
                submission.save(update_fields=["status", "ever_accepted", "accepted_at"])
                analytics.recompute(submission.city, submission.period)
    return cast


# --- measurements ---------------------------------------------------------------------------------


def measure_pages(args: argparse.Namespace, cast: Cast, report: Report) -> None:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from infocity.accounts.models import User
    from infocity.accounts.second_factor import signed_in_client
    from infocity.organisations.models import Organisation

    # Signed in as after a full login (the analyst with the second factor passed).
    analyst = signed_in_client(User.objects.get(username=cast.analyst), HTTP_HOST="127.0.0.1")
    city_user = signed_in_client(User.objects.get(username=cast.city_user), HTTP_HOST="127.0.0.1")
    city = Organisation.objects.get(pk=cast.dashboard_city)
    assert city.parent is not None
    download = "analytics:download"
    dashboard = reverse("analytics:dashboard")
    city_page = reverse("analytics:city", args=[city.pk])
    pages: list[tuple[str, Client, str]] = [
        ("national dashboard (page)", analyst, dashboard),
        ("  data: attainment.csv", analyst, reverse(download, args=["attainment"])),
        ("  data: cities.csv?indicator=A02", analyst, reverse(download, args=["cities"]) + "?indicator=A02"),
        ("  data: provinces.csv?indicator=A02", analyst, reverse(download, args=["provinces"]) + "?indicator=A02"),
        ("province dashboard", analyst, f"{dashboard}?scope={city.parent.pk}"),
        ("city dashboard (analyst)", analyst, city_page),
        ("  data: city.csv", analyst, f"{reverse(download, args=['city'])}?city={city.pk}"),
        ("city dashboard (the city's reporter)", city_user, city_page),
    ]
    for name, client, url in pages:
        timing = Timing(name, goal_ms=DASHBOARD_GOAL_MS)
        report.timings.append(timing)
        log(f"{name.strip()}: {url}")
        try:
            started = time.perf_counter()
            response = client.get(url)
            timing.cold_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                timing.error = f"HTTP {response.status_code} for {url}"
                report.problems.append(f"{name.strip()}: HTTP {response.status_code} for {url}")
                continue
            queries = QueryCounter()
            with connection.execute_wrapper(queries):
                response = client.get(url)
            size = len(response.content)
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(url)
                timing.samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.status_code
            timing.note = f"{queries.count} queries, {size / 1024:.0f} KiB"
            if name == "province dashboard":
                timing.note += f", {city.parent.name}"
        except Exception:
            timing.error = traceback.format_exc()
            report.problems.append(f"{name.strip()} ({url}):\n{timing.error}")


class QueryCounter:
    """Counts the SQL statements of one request (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def timed(timing: Timing, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    action()
    timing.samples.append((time.perf_counter() - started) * 1000)


def measure_updates(cast: Cast, report: Report) -> list[Period]:
    """The incremental update: recompute after a changed value (latest period; an earlier one, which also
    recomputes the period after it), and the whole acceptance of a province-approved submission."""
    from django.db import transaction

    from infocity.accounts.models import User
    from infocity.analytics import services as analytics
    from infocity.organisations.models import Organisation
    from infocity.reporting import services as reporting
    from infocity.reporting.models import DataValue, Period
    from infocity.reporting.scoping import submissions_visible_to

    latest = latest_monthly_period()
    earlier = Period.objects.filter(frequency="M", ends_on__lt=latest.starts_on).order_by("-ends_on", "-pk").first()
    rng = random.Random(len(cast.recompute_cities))  # noqa: S311
    analyst = User.objects.get(username=cast.analyst)

    def change_one_value(city: Organisation, period: Period) -> None:
        value = DataValue.objects.filter(
            submission__city=city, submission__period=period, item__code="FBB_20M_USERS"
        ).get()
        assert value.number is not None
        value.number += rng.randint(1, 500)
        value.save(update_fields=["number"])

    def recompute_series(name: str, period: Period, note: str) -> None:
        timing = Timing(name, goal_ms=UPDATE_GOAL_MS, note=note)
        report.timings.append(timing)
        log(name.strip())
        try:
            for pk in cast.recompute_cities:
                city = Organisation.objects.get(pk=pk)
                with transaction.atomic():
                    change_one_value(city, period)
                timed(timing, partial(analytics.recompute, city, period))
        except Exception:
            timing.error = traceback.format_exc()
            report.problems.append(f"{name.strip()}:\n{timing.error}")

    recompute_series(
        "incremental: recompute(city, latest month)", latest, f"{latest.code}, one value changed before each"
    )
    touched = [latest]
    if earlier is not None:
        recompute_series(
            "incremental: recompute(city, earlier month)", earlier, f"{earlier.code}, also recomputes {latest.code}"
        )
        touched.insert(0, earlier)

    timing = Timing("incremental: accept() one submission", goal_ms=UPDATE_GOAL_MS, note=f"{latest.code} form M, "
                    "whole service: lock, version, audit, signal → recompute, notifications")  # fmt: skip
    report.timings.append(timing)
    log("accept()")
    try:
        for pk in cast.accept_submissions:
            submission = submissions_visible_to(analyst).get(pk=pk)
            accept = partial(
                reporting.accept, actor=analyst, submission=submission, expected_version=submission.version
            )
            timed(timing, accept)
    except Exception:
        timing.error = traceback.format_exc()
        report.problems.append(f"accept():\n{timing.error}")
    return touched


def verify(periods: list[Period], report: Report) -> None:
    """The aggregates kept incrementally must equal a fresh rebuild of the same periods."""
    from infocity.analytics import services as analytics
    from infocity.analytics.models import AggregatePart, AggregateValue, IndicatorValue

    Rows = dict[tuple[Any, ...], tuple[Any, ...]]

    def snapshot() -> tuple[Rows, Rows, Rows]:
        aggregates = {
            (a.period_id, a.scope_id, a.indicator_id, a.basis): (a.value, a.cities_included, a.met, a.not_met,
                                                                 a.no_value)
            for a in AggregateValue.objects.filter(period__in=periods)
        }  # fmt: skip
        values = {
            (v.period_id, v.city_id, v.indicator_id, v.basis): (v.value, v.previous_value, v.attainment, v.gap,
                                                                v.missing_reason, v.parts)
            for v in IndicatorValue.objects.filter(period__in=periods)
        }  # fmt: skip
        parts = {
            (p.period_id, p.scope_id, p.indicator_id, p.basis, p.item_code): (p.total, p.cities)
            for p in AggregatePart.objects.filter(period__in=periods)
        }
        return aggregates, values, parts

    log("verify: incremental aggregates = rebuild")
    kept = snapshot()
    timing = Timing(f"rebuild({', '.join(p.code for p in periods)}) for the check", note="one run")
    report.timings.append(timing)
    timed(timing, lambda: analytics.rebuild(periods))
    fresh = snapshot()
    labels = ("aggregate", "indicator value", "aggregate part")
    for label, incremental, rebuilt in zip(labels, kept, fresh, strict=True):
        keys = set(incremental) | set(rebuilt)
        differ = sorted((k for k in keys if incremental.get(k) != rebuilt.get(k)), key=str)
        verdict = "identical" if not differ else f"{len(differ)} DIFFER"
        report.header.append(f"check: {len(keys):,} {label} rows, incremental vs rebuild: {verdict}")
        if differ:
            examples = "\n".join(
                f"    {k}: incremental {incremental.get(k)} ≠ rebuild {rebuilt.get(k)}" for k in differ[:5]
            )
            report.problems.append(f"{label}s kept incrementally differ from a rebuild:\n{examples}")


def counts() -> str:
    from infocity.analytics.models import AggregateValue, IndicatorValue
    from infocity.organisations.models import Organisation, OrganisationKind
    from infocity.reporting.models import DataValue, Period, Submission

    cities = Organisation.objects.filter(kind=OrganisationKind.CITY).count()
    return (
        f"{cities:,} cities, {Period.objects.count()} periods, {Submission.objects.count():,} submissions, "
        f"{DataValue.objects.count():,} data values, {IndicatorValue.objects.count():,} indicator values, "
        f"{AggregateValue.objects.count():,} aggregates"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure(args)
    import django

    django.setup()
    from django.db import connection

    report = Report()
    prepare_database(args)
    vendor = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(connection.vendor, connection.vendor)
    cast = reuse(args) if args.reuse else generate(args, report)
    items = 62
    shape = (
        f"{items} items monthly × {args.months} months"
        if args.shape == "monthly"
        else f"2016 edition as shipped (M/Q/H/A) × {args.months // 12} years"
    )
    report.header += [
        f"infocity analytics benchmark — {vendor}, {args.cities:,} cities × {shape}, seed {args.seed}"
        + (" (--full)" if args.full else "")
        + (" (data reused)" if args.reuse else "")
        + (f"; indicators rebuilt for the latest {args.rebuild_months} months only" if args.rebuild_months else ""),
        f"database: {describe_database()}",
        f"data: {counts()}",
        f"code {code_version()}; var dir {os.environ['INFOCITY_VAR_DIR']}; "
        f"REPORTING_TODAY {os.environ['REPORTING_TODAY']}; Python {platform.python_version()}; {os.cpu_count()} CPUs",
    ]
    measure_pages(args, cast, report)
    touched = measure_updates(cast, report)
    if not args.no_verify:
        verify(touched, report)
    report.print()
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
