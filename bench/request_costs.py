"""What one request of the deadline day costs, in-process: processor time, queries and PostgreSQL's processor time
per request kind, for the city reporter's path (log in, home, work queue, entry page, then autosave and inline check
for every typed value; the explanations a warning asks for are not typed, unlike in the load benchmark).

    .venv/bin/python bench/deadline.py --database-url postgres://postgres@127.0.0.1:5433/bench_deadline --reset \
        --users 50 --duration 30                         # once: the benchmark database and its plan
    .venv/bin/python bench/request_costs.py --database-url postgres://postgres@127.0.0.1:5433/bench_deadline
    .venv/bin/python bench/request_costs.py --database-url … --code /path/to/another/checkout     # an A/B

It drives the views through Django's test client in this process (no server, no network), on the database and the
plan that ``bench/deadline.py`` set up, and takes cities whose open forms are still empty (each run fills some: run
``deadline.py --reset`` again when none are left). Per request kind it prints the median of ``time.process_time()``
around the request, the median number of queries, and the mean processor time of the PostgreSQL backend serving this
process (from its clock ticks in /proc: coarse, so a mean over many requests; only for a server on this host). The
query capture adds a little to each request's time, the same for every version. Load-free figures: they tell which
change makes a request cheaper, the deadline benchmark tells what that does under load. With ``--code`` the
platform is imported from another checkout, so two versions can be measured alternately on the same database state.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
BASE_VERSION = re.compile(r'id="base-version" value="(\d+)"')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="in-process cost of the deadline day's requests")
    parser.add_argument("--database-url", required=True, help="the database bench/deadline.py set up")
    parser.add_argument(
        "--var-dir",
        default=str(Path(tempfile.gettempdir()) / "infocity-bench-deadline"),
        help="bench/deadline.py's --var-dir (its plan of cities, accounts and values)",
    )
    parser.add_argument("--today", default="", help="the deadline day (REPORTING_TODAY; default: the plan's)")
    parser.add_argument("--cities", type=int, default=3, help="cities whose forms are filled (default 3)")
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose platform is measured (default: this)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (Path(args.var_dir) / "plan.json").open(encoding="utf-8") as handle:
        plan = json.load(handle)
    today = args.today or str(plan.get("today") or "2016-07-10")
    sys.path.insert(0, str(Path(args.code).resolve()))
    os.environ.update(
        {
            "INFOCITY_VAR_DIR": args.var_dir,
            "DATABASE_URL": args.database_url,
            "DJANGO_SETTINGS_MODULE": "infocity.settings",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_COOKIES": "0",
            "CONN_MAX_AGE": "60",
            "TASK_BACKEND": "database",
            "REPORTING_TODAY": today,
            "LOG_LEVEL": "WARNING",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from infocity.reporting.models import DataValue

    empty = [
        city
        for city in reversed(plan["cities"])
        if not DataValue.objects.filter(submission_id__in=[s["pk"] for s in city["submissions"]]).exists()
    ][: args.cities]
    if not empty:
        print("no city with empty forms left: run bench/deadline.py --reset again", file=sys.stderr)
        return 1

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    # PostgreSQL's processor time is read from its backend process, so only for a server on this host (not in a
    # container or on another machine: there the figure is left out).
    stat = Path(f"/proc/{backend}/stat")
    local = stat.exists() and b"postgres" in Path(f"/proc/{backend}/cmdline").read_bytes()

    def backend_ticks() -> int:
        if not local:
            return 0
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, after the state field

    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    costs: dict[str, list[tuple[float, int]]] = {}
    database: dict[str, int] = {}

    def timed(kind: str, request: Callable[..., Any], *args: Any, expect: int = 200, **kwargs: Any) -> Any:
        ticks = backend_ticks()
        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            response = request(*args, **kwargs)
            spent = time.process_time() - started
        database[kind] = database.get(kind, 0) + backend_ticks() - ticks
        costs.setdefault(kind, []).append((spent * 1000, len(queries)))
        if response.status_code != expect:
            raise SystemExit(f"{kind}: HTTP {response.status_code}, expected {expect}")
        return response

    for city in empty:
        client = Client(HTTP_HOST="127.0.0.1")
        page = timed("GET /accounts/login/", client.get, "/accounts/login/")
        match = CSRF.search(page.content.decode())
        assert match is not None
        login = {"username": city["reporter"], "password": plan["password"], "csrfmiddlewaretoken": match.group(1)}
        timed("POST /accounts/login/", client.post, "/accounts/login/", login, expect=302)
        timed("GET / (home)", client.get, "/")
        timed("GET /reporting/ (queue)", client.get, "/reporting/")
        for submission in city["submissions"]:
            url = f"/reporting/submissions/{submission['pk']}/"
            page = timed("GET entry page", client.get, url)
            found = BASE_VERSION.search(page.content.decode())
            assert found is not None
            base = found.group(1)
            items = [(code, value) for code, value in submission["items"]]
            typed: dict[str, str] = {}
            for code, value in items:
                typed[code] = value
                fields = {f"value-{c}": typed.get(c, "") for c, _ in items}
                htmx = {"HTTP_HX_REQUEST": "true"}
                saved = timed(
                    "POST save (autosave)", client.post, f"{url}save/", {"base_version": base, **fields}, **htmx
                )
                found = BASE_VERSION.search(saved.content.decode())
                assert found is not None
                base = found.group(1)
                timed("POST check (inline validation)", client.post, f"{url}check/", fields, **htmx)

    print(f"code {Path(args.code).resolve()}; {len(empty)} cities; in-process, no server; per request:")
    print(f"{'request kind':34} {'n':>5} {'cpu ms (median)':>16} {'queries (median)':>17} {'PostgreSQL ms (mean)':>21}")
    for kind, samples in costs.items():
        cpu = statistics.median(sample[0] for sample in samples)
        queries = statistics.median(sample[1] for sample in samples)
        pg = f"{database[kind] * tick_ms / len(samples):21.1f}" if local else f"{'—':>21}"
        print(f"{kind:34} {len(samples):5} {cpu:16.1f} {queries:17.0f} {pg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
