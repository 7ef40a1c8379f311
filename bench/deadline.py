"""Deadline-day benchmark: city users saving and submitting forms against gunicorn and PostgreSQL on loopback.

    .venv/bin/python bench/deadline.py --database-url postgres://postgres@127.0.0.1:5433/bench_deadline --reset
    .venv/bin/python bench/deadline.py --database-url … --reset --users 50 --duration 30      # a smoke run

What it does (see bench/README.md):

1. Sets up its own database (never the project's): refuses a database that holds data unless ``--reset``, migrates,
   creates the organisation tree (the ministry, the 31 provinces, N demonstration cities — the real prefecture-level
   cities first, then synthetic ones), a reporter and an approver with a password for every city, the 2016 edition as
   shipped and one 2016 cycle through ``reporting.services.create_cycle()``. The reporting clock is set to the
   deadline day (``--today``, default 10 July 2016: the June figures are due, the second quarter and the first half
   are open); every period closed by then is accepted with the demonstration's plausible values (the 上期 column and
   the change checks have something to compare with), the open ones are drafts waiting for the city.
2. Starts gunicorn (``infocity.wsgi:application``, ``--workers``) with DEBUG off, ``CONN_MAX_AGE`` and the database
   task backend, and waits for ``/healthz``.
3. Runs the simulated city users (``bench/deadline_locustfile.py``, locust as a library, in its own process): pairs
   of a city's reporter and approver log in through the login form, the reporter types the values into the entry
   page (each change: the autosave and the inline check, as htmx posts them), the approver approves and sends each
   filled submission to the province — with think time between actions.
4. Prints requests, throughput, p50/p95/p99 latency overall and per request kind, errors; the processor time of
   gunicorn, PostgreSQL and the load generator; what PostgreSQL's sessions were waiting for.
5. Verifies the database: every acknowledged autosave is stored (in the version it acknowledged, and as the current
   value), every acknowledged submission is submitted exactly once (one approve and one submit version, one audit
   event each), version numbers without gaps or duplicates, one audit event per saved version. Exits non-zero
   if the goal (p95 ≤ 500 ms, no error, nothing lost) is missed, saying why.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.analytics import (  # noqa: E402
    city_profiles,
    code_version,
    describe_database,
    insert_values,
    log,
    organisation_tree,
    percentile,
)

if TYPE_CHECKING:
    from infocity.organisations.models import Organisation

DEADLINE_DAY = "2016-07-10"  # June's monthly figures due; Q2 and H1 open
PASSWORD = "Deadline#2016-bench"  # noqa: S105 — every simulated account's (documented; a benchmark database only)
OPEN_FORMS = ("M", "Q", "H")  # the forms with an entry page (the progress report has its own pages)
GOAL_P95_MS = 500.0
COHORT_NAME = "截止日基准测试城市"


# --- command line and environment ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        description="infocity deadline-day benchmark (city users saving and submitting, gunicorn + PostgreSQL).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--database-url", required=True, help="PostgreSQL, e.g. postgres://postgres@127.0.0.1:5433/bench"
    )
    parser.add_argument("--reset", action="store_true", help="wipe a database that holds data (drops schema public)")
    parser.add_argument("--users", type=int, default=500, help="simulated city users (pairs of reporter + approver)")
    parser.add_argument("--duration", type=float, default=300, help="seconds of load")
    parser.add_argument(
        "--spawn-seconds",
        type=float,
        default=0,
        help="all users are up after this many seconds (0: 50, or a third of a shorter --duration)",
    )
    parser.add_argument("--think-min", type=float, default=1.0, help="shortest pause between a person's actions (s)")
    parser.add_argument("--think-max", type=float, default=5.0, help="longest pause between a person's actions (s)")
    parser.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn worker processes")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (--worker-class gthread)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="CONN_MAX_AGE of the app processes")
    parser.add_argument("--cities", type=int, default=0, help="cities in the database (0: enough for the run, ≥ 500)")
    parser.add_argument("--today", default=DEADLINE_DAY, help="the deadline day (REPORTING_TODAY)")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--seed", type=int, default=2016, help="random seed of the data and the users")
    parser.add_argument(
        "--var-dir",
        default=str(Path(tempfile.gettempdir()) / "infocity-bench-deadline"),
        help="INFOCITY_VAR_DIR of the benchmark (secret key, the plan, gunicorn's log, the raw results)",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a PostgreSQL database (the goal is defined on PostgreSQL)")
    if args.users < 2 or args.users % 2:
        parser.error("--users must be an even number ≥ 2 (a reporter and an approver per city)")
    if not 0 < args.think_min <= args.think_max:
        parser.error("need 0 < --think-min ≤ --think-max")
    if not args.spawn_seconds:
        args.spawn_seconds = min(50.0, args.duration / 3)
    if not args.cities:
        # A pair gets through a city's three open forms in about 100–150 s of think time; more cities than they
        # can finish, so the load lasts the whole run.
        args.cities = max(500, math.ceil(args.users / 2 * args.duration / 100))
    args.reuse = False  # bench.analytics.prepare_database's option; this benchmark always generates afresh
    return args


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    """The settings of the app processes (and of this process while it sets up and verifies)."""
    return {
        "INFOCITY_VAR_DIR": args.var_dir,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": "infocity.settings",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_COOKIES": "0",  # plain HTTP on loopback; behind nginx the cookies are Secure
        "CONN_MAX_AGE": str(args.conn_max_age),
        "TASK_BACKEND": "database",
        "REPORTING_TODAY": args.today,
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


# --- set-up -------------------------------------------------------------------------------------------------


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the data and return the plan of the simulated users (cities, accounts, what they type)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from bench.analytics import prepare_database
    from infocity.accounts.models import Role
    from infocity.accounts.services import create_account
    from infocity.frameworks.loading import EDITION_2016, load_edition_file
    from infocity.organisations.services import add_cities_to_cohort, create_cohort
    from infocity.reporting import services as reporting

    prepare_database(args)
    rng = random.Random(args.seed)  # noqa: S311 — synthetic data
    log(f"generating: {args.cities} cities with a reporter and an approver each")
    password_hash = make_password(PASSWORD)  # one hash for every account: hashing is deliberately slow
    with transaction.atomic():
        _, agency, provinces, cities = organisation_tree(args.cities, rng)

        def account(username: str, organisation: Organisation, role: str) -> None:
            create_account(actor=None, username=username, full_name=username, organisation=organisation, role=role,
                           password="", password_hash=password_hash, must_change_password=False)  # fmt: skip

        analyst = create_account(actor=None, username="bench-analyst", full_name="bench-analyst", organisation=agency,
                                 role=Role.ANALYST, password="", password_hash=make_password(None),
                                 must_change_password=False)  # fmt: skip
        used = {city.parent_id for city in cities}  # submit() notifies the province
        for code, province in provinces.items():
            if province.pk in used:
                account(f"province-{code}", province, Role.PROVINCE_REVIEWER)
        for city in cities:
            account(f"city-{city.division_id}", city, Role.CITY_REPORTER)
            account(f"city-{city.division_id}-approver", city, Role.CITY_APPROVER)
        cohort = create_cohort(actor=None, name=COHORT_NAME, year=2016, description="")
        add_cities_to_cohort(actor=None, cohort=cohort, cities=cities, joined_on=datetime.date(2016, 1, 1))
        edition = load_edition_file(EDITION_2016)
        reporting.create_cycle(
            actor=analyst,
            name="2016 年度监测（截止日基准测试）",
            year=2016,
            edition=edition,
            cohorts=[cohort],
            forms=edition.forms.filter(code__in=(*OPEN_FORMS, "A")),
        )
    plan = fill_history_and_plan(args, cities, rng)
    log("VACUUM ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return plan


def fill_history_and_plan(args: argparse.Namespace, cities: list[Organisation], rng: random.Random) -> dict[str, Any]:
    """Accept every period closed before the deadline day with plausible values; plan what the cities type into
    the open ones."""
    from django.db import transaction
    from django.utils import timezone

    from infocity.demo.monitoring import values_for
    from infocity.frameworks.models import DataItem
    from infocity.reporting.models import DataValue, Period, Status, Submission

    today = datetime.date.fromisoformat(args.today)
    profiles = city_profiles(cities, rng)
    items: dict[int, list[tuple[str, int, bool]]] = defaultdict(list)
    for item in DataItem.objects.filter(form__code__in=(*OPEN_FORMS, "A")).order_by("form__order", "order"):
        items[item.form_id].append((item.code, item.pk, item.value_type == DataItem.Type.BOOLEAN))

    closed = list(Period.objects.filter(expires_on__lt=today).order_by("ends_on"))
    for period in closed:
        of_period = Submission.objects.filter(period=period)
        slots = list(of_period.values_list("pk", "city_id", "form_id", "form__code"))

        def rows(period: Period = period, slots: list[tuple[int, int, int, str]] = slots) -> Any:
            for pk, city_id, form_id, form_code in slots:
                values = values_for(profiles[city_id], form_code, period.ends_on)
                for code, item_id, boolean in items[form_id]:
                    raw = values[code]
                    yield pk, item_id, ("1" if raw == "是" else "0") if boolean else raw

        with transaction.atomic():
            insert_values(DataValue._meta.db_table, rows())
            moment = timezone.make_aware(datetime.datetime.combine(period.due_on, datetime.time(10)))
            Submission.objects.filter(period=period).update(status=Status.ACCEPTED, ever_accepted=True,
                                                            first_submitted_at=moment, submitted_at=moment,
                                                            accepted_at=moment, updated_at=moment)  # fmt: skip
    log(f"  accepted with values: {', '.join(p.code for p in closed)}")

    open_periods = [p for p in Period.objects.order_by("ends_on", "frequency") if p.opens_on <= today <= p.expires_on]
    open_submissions = Submission.objects.filter(
        period__in=open_periods, form__code__in=OPEN_FORMS, status=Status.DRAFT
    )
    by_city: dict[int, list[Submission]] = defaultdict(list)
    for submission in open_submissions.select_related("form", "period").order_by("period__ends_on", "form__order"):
        by_city[submission.city_id].append(submission)
    log(f"  open on {today}: {', '.join(p.code for p in open_periods)} — {open_submissions.count()} drafts")
    plan_cities = []
    for city in cities:
        submissions = []
        for submission in by_city[city.pk]:
            values = values_for(profiles[city.pk], submission.form.code, submission.period.ends_on)
            typed = [(code, values[code]) for code, _pk, _boolean in items[submission.form_id]]
            submissions.append({"pk": submission.pk, "label": f"{submission.period.code} {submission.form.code}",
                                "items": typed})  # fmt: skip
        plan_cities.append({"code": city.division_id, "reporter": f"city-{city.division_id}",
                            "approver": f"city-{city.division_id}-approver", "submissions": submissions})  # fmt: skip
    return {"password": PASSWORD, "today": args.today, "cities": plan_cities}


# --- gunicorn -----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_gunicorn(args: argparse.Namespace, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn), "infocity.wsgi:application", "--workers", str(args.workers), "--bind",
               f"127.0.0.1:{port}", "--worker-class", args.worker_class, "--threads", str(args.threads),
               "--timeout", "60", "--graceful-timeout", "10", "--no-control-socket"]  # fmt: skip
    log_path = Path(args.var_dir) / "gunicorn.log"
    environment = {**os.environ, **app_environment(args), "PYTHONPATH": str(ROOT)}
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped at start (exit {server.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:  # noqa: S310 — loopback
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        stop_gunicorn(server)
        sys.exit(f"gunicorn did not answer /healthz within 90 s; see {log_path}")
    # Every worker imports the code at start; these load the URLs and the login page's templates in each.
    for _ in range(3 * args.workers):
        with urllib.request.urlopen(f"{base}/accounts/login/", timeout=30) as answer:  # noqa: S310 — loopback
            answer.read()
    return server, log_path


def stop_gunicorn(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- watching the machine during the load -------------------------------------------------------------------


@dataclass
class Watch:
    """Processor time of the app, the database and the load generator; PostgreSQL's wait events, sampled."""

    server_pid: int
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_end: dict[str, float] = field(default_factory=dict)
    waits: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def cpu(self) -> dict[str, float]:
        import psutil  # type: ignore[import-untyped]  # locust's dependency; no stubs installed

        totals: defaultdict[str, float] = defaultdict(float)
        server = psutil.Process(self.server_pid)
        for process in [server, *server.children(recursive=True)]:
            totals["gunicorn"] += _cpu_seconds(process)
        for process in psutil.process_iter(["name"]):
            if process.info["name"] in ("postgres", "postmaster"):  # the whole server: other databases too
                totals["PostgreSQL"] += _cpu_seconds(process)
        times = psutil.cpu_times()
        totals["machine (busy)"] = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        return dict(totals)

    def sample_waits(self, database_url: str) -> None:
        import psycopg

        query = (
            "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, 'running') FROM pg_stat_activity "
            "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(database_url, autocommit=True) as connection:
            while not self.stop.wait(0.5):
                self.samples += 1
                for event_type, event in connection.execute(query).fetchall():
                    self.waits[f"{event_type}:{event}"] += 1


def _cpu_seconds(process: Any) -> float:
    try:
        times = process.cpu_times()
    except Exception:
        return 0.0
    return float(times.user + times.system + getattr(times, "children_user", 0) + getattr(times, "children_system", 0))


# --- the load -----------------------------------------------------------------------------------------------


def run_load(args: argparse.Namespace, plan_path: Path, base: str, watch: Watch) -> dict[str, Any]:
    out = Path(args.var_dir) / "result.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, str(ROOT / "bench" / "deadline_locustfile.py"), "--plan", str(plan_path), "--host",
               base, "--out", str(out), "--users", str(args.users), "--duration", str(args.duration),
               "--spawn-seconds", str(args.spawn_seconds), "--think-min", str(args.think_min), "--think-max",
               str(args.think_max), "--seed", str(args.seed)]  # fmt: skip
    log(f"load: {args.users} users for {args.duration:.0f} s (all up after {args.spawn_seconds:.0f} s)")
    load_log = Path(args.var_dir) / "locust.log"
    with load_log.open("wb") as log_file:
        load = subprocess.Popen(command, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
        watch.cpu_start = watch.cpu()
        sampler = threading.Thread(target=watch.sample_waits, args=(args.database_url,), daemon=True)
        sampler.start()
        try:
            load.wait(timeout=args.duration + args.spawn_seconds + 180)
        except subprocess.TimeoutExpired:
            load.kill()
            load.wait()
        watch.cpu_end = watch.cpu()
        watch.stop.set()
        sampler.join(timeout=5)
    if load.returncode != 0 or not out.exists():
        sys.exit(f"the load generator failed (exit {load.returncode}); see {load_log}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


# --- verification -------------------------------------------------------------------------------------------


@dataclass
class Verification:
    lines: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # acknowledged but not stored as acknowledged
    anomalies: list[str] = field(default_factory=list)  # duplicates, gaps, missing audit events


def verify(result: dict[str, Any]) -> Verification:
    from infocity.audit.models import Action, AuditEvent
    from infocity.frameworks.models import DataItem
    from infocity.reporting import services
    from infocity.reporting.models import Status, Submission, SubmissionVersion
    from infocity.reporting.validation import ParseError, parse_value

    V = SubmissionVersion.Action
    check = Verification()
    saves: list[dict[str, Any]] = result["saves"]
    submits: list[dict[str, Any]] = result["submits"]
    touched = {s["submission"] for s in saves} | {s["submission"] for s in submits}
    touched |= {a["submission"] for a in result["unacknowledged"]}
    submissions = {s.pk: s for s in Submission.objects.filter(pk__in=touched).select_related("form")}
    items = {
        (i.form_id, i.code): i for i in DataItem.objects.filter(form__in={s.form_id for s in submissions.values()})
    }
    versions: dict[int, dict[int, SubmissionVersion]] = defaultdict(dict)
    duplicates = 0
    for stored in SubmissionVersion.objects.filter(submission_id__in=touched).select_related("actor"):
        if stored.number in versions[stored.submission_id]:
            duplicates += 1
        versions[stored.submission_id][stored.number] = stored
    events = Counter(
        (int(object_id), action)
        for object_id, action in AuditEvent.objects.filter(
            object_type="reporting.Submission", object_id__in=[str(pk) for pk in touched]
        ).values_list("object_id", "action")
    )

    def expected(submission: Submission, code: str, typed: str) -> str | None:
        item = items[(submission.form_id, code)]
        try:
            return services.canonical(item, parse_value(item, typed))
        except ParseError:
            return typed

    # Every acknowledged autosave: stored in the version it named, by its user, and still the current value.
    current = {pk: services.current_values(submission) for pk, submission in submissions.items()}
    saves_lost = 0
    for save in saves:
        before = len(check.lost)
        submission = submissions[save["submission"]]
        version = versions[submission.pk].get(save["version"])
        label = f"submission {submission.pk} save v{save['version']}"
        if version is None or version.action != V.SAVE or not version.applied or version.actor is None:
            check.lost.append(f"{label}: no applied save version {save['version']}")
            saves_lost += 1
            continue
        if version.actor.username != save["user"]:
            check.lost.append(f"{label}: version by {version.actor.username}, acknowledged to {save['user']}")
        values, explanations = current[submission.pk]
        for code, typed in save["values"].items():
            want = expected(submission, code, typed)
            if version.values.get(code) != want:
                check.lost.append(f"{label}: {code} is {version.values.get(code)!r} in the version, saved {want!r}")
            if values.get(code) != want:
                check.lost.append(f"{label}: {code} is {values.get(code)!r} now, saved {want!r}")
        for code, text in save["explanations"].items():
            if text and (version.explanations.get(code) != text or explanations.get(code) != text):
                check.lost.append(f"{label}: the explanation of {code} is not stored")
        saves_lost += len(check.lost) > before
    # Every acknowledged submission: sent to the province exactly once.
    submitted_once = 0
    for submit in submits:
        submission = submissions[submit["submission"]]
        actions = Counter(v.action for v in versions[submission.pk].values())
        label = f"submission {submission.pk}"
        problems = []
        if submission.status != Status.SUBMITTED:
            problems.append(f"status {submission.status}")
        if actions[V.APPROVE_CITY] != 1 or actions[V.SUBMIT] != 1:
            problems.append(f"{actions[V.APPROVE_CITY]} approve versions, {actions[V.SUBMIT]} submit versions")
        audited = (
            events[(submission.pk, Action.SUBMISSION_APPROVE_CITY)],
            events[(submission.pk, Action.SUBMISSION_SUBMIT)],
        )
        if audited != (1, 1):
            problems.append(f"audit events approve/submit {audited[0]}/{audited[1]}")
        if problems:
            check.lost.append(f"{label} (acknowledged as submitted): {'; '.join(problems)}")
        else:
            submitted_once += 1
    # Every submission touched: versions 1…n without gaps or duplicates, one audit event per saved version.
    gaps = audit_mismatch = 0
    for pk, submission in submissions.items():
        numbers = sorted(versions[pk])
        if numbers != list(range(1, submission.version + 1)):
            gaps += 1
            check.anomalies.append(f"submission {pk}: versions {numbers[:5]}… but version counter {submission.version}")
        saved = sum(1 for v in versions[pk].values() if v.action in (V.SAVE, V.CONFLICT))
        if events[(pk, Action.SUBMISSION_SAVE)] != saved:
            audit_mismatch += 1
            check.anomalies.append(
                f"submission {pk}: {saved} saved versions, {events[(pk, Action.SUBMISSION_SAVE)]} save audit events"
            )
    statuses = Counter(s.status for s in submissions.values())
    check.lines += [
        f"acknowledged autosaves: {len(saves):,} — stored as acknowledged: {len(saves) - saves_lost:,}",
        f"acknowledged submissions (approved and sent to the province): {len(submits):,} — submitted exactly once: "
        f"{submitted_once:,}",
        f"submissions touched: {len(submissions):,} ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}); "
        f"version gaps or duplicates: {gaps + duplicates}; save audit events ≠ saved versions: {audit_mismatch}",
        f"lost (acknowledged but not stored as acknowledged): {len(check.lost)}",
    ]
    return check


# --- the report ---------------------------------------------------------------------------------------------


def latency_table(samples: list[list[Any]]) -> tuple[list[str], dict[str, float]]:
    """One row per request kind (the name the simulated users give it) and one for all requests."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    failures: Counter[str] = Counter()
    for kind, ms, ok, _offset in samples:
        by_kind[kind].append(float(ms))
        if not ok:
            failures[kind] += 1
    every = [float(s[1]) for s in samples]
    overall = {
        "requests": float(len(every)),
        "p50": percentile(every, 0.50) if every else 0.0,
        "p95": percentile(every, 0.95) if every else 0.0,
        "p99": percentile(every, 0.99) if every else 0.0,
        "errors": float(sum(failures.values())),
    }
    lines = [f"{'request kind':<36} {'count':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"]
    for kind in sorted(by_kind, key=lambda k: -len(by_kind[k])):
        times = by_kind[kind]
        lines.append(
            f"{kind:<36} {len(times):>7,} {failures[kind]:>6} {percentile(times, 0.5):>8.0f} "
            f"{percentile(times, 0.95):>8.0f} {percentile(times, 0.99):>8.0f} {max(times):>8.0f}"
        )
    lines.append(
        f"{'all requests':<36} {len(every):>7,} {int(overall['errors']):>6} {overall['p50']:>8.0f} "
        f"{overall['p95']:>8.0f} {overall['p99']:>8.0f} {max(every, default=0):>8.0f}"
    )
    return lines, overall


def by_minute(samples: list[list[Any]], elapsed: float) -> list[str]:
    minutes: dict[int, list[float]] = defaultdict(list)
    for _kind, ms, _ok, offset in samples:
        minutes[int(offset // 60)].append(float(ms))
    return [
        f"  minute {m + 1}: {len(t):>6,} requests ({len(t) / max(1.0, min(60.0, elapsed - 60 * m)):5.1f}/s)  "
        f"p50 {percentile(t, 0.5):6.0f} ms  "
        f"p95 {percentile(t, 0.95):6.0f} ms  p99 {percentile(t, 0.99):6.0f} ms"
        for m, t in sorted(minutes.items())
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    os.environ.update(app_environment(args))
    import django

    django.setup()
    from django.db import connection

    started = time.perf_counter()
    plan = setup(args)
    plan_path = Path(args.var_dir) / "plan.json"
    plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    database = describe_database()
    connection.close()  # the app processes get the connections; this one comes back for the check
    log(f"set-up done in {time.perf_counter() - started:.0f} s; gunicorn: {args.workers} {args.worker_class} workers")
    port = args.port or free_port()
    server, server_log = start_gunicorn(args, port)
    watch = Watch(server_pid=server.pid)
    load_before = os.getloadavg()
    try:
        result = run_load(args, plan_path, f"http://127.0.0.1:{port}", watch)
    finally:
        stop_gunicorn(server)
    log("verifying the database")
    check = verify(result)

    elapsed = float(result["elapsed"])
    samples = result["samples"]
    table, overall = latency_table(samples)
    errors = int(overall["errors"]) + sum(int(e.split("×")[0]) for e in result["exceptions"])
    cpu = {k: watch.cpu_end.get(k, 0.0) - watch.cpu_start.get(k, 0.0) for k in watch.cpu_end}
    cpu["load generator"] = float(result["cpu_seconds"])
    print()
    print(f"infocity deadline-day benchmark — {args.users} users ({args.users // 2} reporter + approver pairs), "
          f"{args.duration:.0f} s, all up after {args.spawn_seconds:.0f} s, think time {args.think_min:g}–"
          f"{args.think_max:g} s, deadline day {args.today}")  # fmt: skip
    print(f"server: gunicorn {args.workers} {args.worker_class} workers"
          + (f" × {args.threads} threads" if args.worker_class == "gthread" else "")
          + f", CONN_MAX_AGE {args.conn_max_age}, DEBUG off; database: {database}")  # fmt: skip
    print(f"code {code_version()}; Python {platform.python_version()}; {os.cpu_count()} CPUs; load generator "
          f"locust (FastHttpUser) on the same machine; raw results {Path(args.var_dir) / 'result.json'}")  # fmt: skip
    print(
        f"cities: {result['cities_started']} of {result['cities_planned']} taken up by the pairs; machine load "
        f"average {load_before[0]:.1f} before the load, {os.getloadavg()[0]:.1f} at its end (1 min)"
    )
    print()
    print(f"requests: {len(samples):,} in {elapsed:.0f} s — throughput {len(samples) / elapsed:.1f} req/s")
    for line in table:
        print(line)
    print("by minute of the run:")
    for line in by_minute(samples, elapsed):
        print(line)
    error_rate = errors / max(len(samples), 1)
    print(f"errors: {errors} ({error_rate:.2%})")
    for reason, count in sorted(result["errors"].items(), key=lambda kv: -kv[1]):
        print(f"  {count}× {reason}")
    for exception in result["exceptions"]:
        print(f"  exception in a simulated user: {exception}")
    for blocked in result["blocked"][:5]:
        print(f"  approval impossible: submission {blocked['submission']}: {blocked['reason']}")
    if result["blocked"] or result["gave_up"] or result["unacknowledged"]:
        print(
            f"  {len(result['blocked'])} approvals impossible, {len(result['gave_up'])} submissions given up after "
            f"repeated failures, {len(result['unacknowledged'])} workflow posts without acknowledgement"
        )
    print()
    busy = cpu.get("machine (busy)", 0.0)
    print(f"processor time during the load ({elapsed:.0f} s × {os.cpu_count()} cores): "
          + ", ".join(f"{k} {v:.0f} s ({v / elapsed:.2f} cores)" for k, v in cpu.items() if k != "machine (busy)")
          + f"; the whole machine busy {busy:.0f} s ({busy / elapsed:.2f} cores, other jobs included)")  # fmt: skip
    if watch.samples:
        top = ", ".join(f"{name} {n / watch.samples:.2f}" for name, n in watch.waits.most_common(6))
        print(f"PostgreSQL active sessions (mean over {watch.samples} samples, by wait event): {top or 'none'}")
    print()
    for line in check.lines:
        print(line)
    for problem in (check.lost + check.anomalies)[:20]:
        print(f"  !! {problem}")

    missed = []
    if overall["p95"] > GOAL_P95_MS:
        missed.append(f"p95 {overall['p95']:.0f} ms > {GOAL_P95_MS:.0f} ms")
    if errors:
        missed.append(f"{errors} errors")
    if check.lost:
        missed.append(f"{len(check.lost)} acknowledged changes lost")
    if check.anomalies:
        missed.append(f"{len(check.anomalies)} version/audit anomalies")
    if not result["saves"] or not result["submits"]:
        missed.append("no submission was acknowledged (nothing was measured end to end)")
    print()
    print(
        f"goal (p95 ≤ {GOAL_P95_MS:.0f} ms, 0 errors, 0 lost): "
        + ("met" if not missed else "MISSED — " + "; ".join(missed))
    )
    print(f"gunicorn log: {server_log}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
