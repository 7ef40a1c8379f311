"""Ingest benchmark: data values imported through the bulk path, against a bare bulk insert of the same rows.

    .venv/bin/python bench/ingest.py                         # 1,000,000 values (and 100,000 for memory), SQLite
    .venv/bin/python bench/ingest.py --values 200000         # a quicker run
    .venv/bin/python bench/ingest.py --database-url postgres://postgres@127.0.0.1:55432/bench --reset

What it measures (see bench/README.md):

1. Set-up (not timed): its own database (never the project's ``var/``), one province with as many synthetic cities
   as the values need, the 2016 edition with every form monthly (62 values per city and month), one 2016 cycle
   whose periods are all open, and a province reviewer who imports for all its cities. The import file is a CSV
   written in the layout of the platform's own template (区划代码, 报告期, 填报表, 填报项代码, 本期数值), values from
   the demonstration's plausible trajectories so that the edition's rules pass.
2. The bulk path, in a fresh process each time so that its peak memory (ru_maxrss) is its own: the file stored in
   the database (chunks), checked — read as a stream, type checks, every rule of the edition against the previous
   period, the dry run's changes — and applied through ``reporting.fill_drafts`` in one transaction (a version per
   submission, an audit event per submission). Run for the smaller size first, then the full size, so peak memory
   can be compared.
3. The floor: ``DataValue.objects.bulk_create`` of the same (submission, item, value) rows into the same empty
   table on the same database, in one transaction — no reading, no checks, no versions.

The ratio is (store + check + apply) ÷ floor; the goal of the issue is ≤ 3 with peak memory independent of the
file's size.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROVINCE = "330000"
VALUES_PER_CITY_MONTH = 62
MONTHS = 12
GOAL_RATIO = 3.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="infocity ingest benchmark (bulk import vs bare bulk insert).")
    parser.add_argument("--values", type=int, default=1_000_000, help="data values in the large file")
    parser.add_argument("--small", type=int, default=100_000, help="data values in the small file (memory)")
    parser.add_argument("--database-url", default="", help="default: SQLite files under --var-dir")
    parser.add_argument("--var-dir", default="/tmp/infocity-bench-ingest")  # noqa: S108 — a scratch directory
    parser.add_argument("--reset", action="store_true", help="wipe the database given by --database-url first")
    parser.add_argument("--seed", type=int, default=2016)
    # Internal: one measured step in its own process.
    parser.add_argument("--step", choices=["setup", "import", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def configure(database_url: str, var_dir: str) -> None:
    os.environ["INFOCITY_VAR_DIR"] = var_dir
    os.environ["DATABASE_URL"] = database_url
    os.environ["TASK_BACKEND"] = "immediate"
    os.environ["REPORTING_TODAY"] = "2016-12-20"
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    os.environ["SECURE_COOKIES"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The whole file in one import, checked and applied in this process (no worker).
    os.environ["BULK_UPLOAD_MAX_MB"] = "2000"
    os.environ["BULK_UPLOAD_MAX_UNCOMPRESSED_MB"] = "4000"
    os.environ["BULK_MAX_ROWS"] = "100000000"
    os.environ["BULK_BACKGROUND_KB"] = str(10**9)
    os.environ["BULK_BACKGROUND_CHANGES"] = str(10**9)
    os.environ["DJANGO_SETTINGS_MODULE"] = "infocity.settings"
    import django

    django.setup()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# --- set-up (one process) ----------------------------------------------------------------------


def setup(args: argparse.Namespace) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    from infocity.accounts.models import Role
    from infocity.accounts.services import create_account
    from infocity.demo.monitoring import City, values_for
    from infocity.frameworks.loading import publish_monthly_2016
    from infocity.organisations.models import Division, Organisation, OrganisationKind
    from infocity.organisations.services import add_cities_to_cohort, create_cohort, create_organisation
    from infocity.reporting import services as reporting
    from infocity.reporting.models import Period, Submission

    if args.reset and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
    call_command("migrate", verbosity=0, interactive=False)
    if Organisation.objects.exists():
        sys.exit(f"{args.database_url} already holds data: pass --reset (PostgreSQL) or use an empty database.")
    cities_needed = -(-args.values // (VALUES_PER_CITY_MONTH * MONTHS))
    rng = random.Random(args.seed)  # noqa: S311 — synthetic data
    kind = OrganisationKind
    with transaction.atomic():
        ministry = create_organisation(actor=None, kind=kind.MINISTRY, name="工业和信息化部")
        agency = create_organisation(actor=None, kind=kind.AGENCY, name="监测机构（基准测试）", parent=ministry)
        province = create_organisation(
            actor=None, kind=kind.PROVINCE, name="浙江省", parent=ministry, division=Division.objects.get(code=PROVINCE)
        )
        codes = [f"33{5000 + n:04d}" for n in range(cities_needed)]
        Division.objects.bulk_create(
            [Division(code=c, name=f"示范城市{c}", level=Division.Level.PREFECTURE, parent_id=PROVINCE) for c in codes],
            ignore_conflicts=True,
        )
        cities = Organisation.objects.bulk_create(
            [Organisation(name=f"示范城市{c}", kind=kind.CITY, parent=province, division_id=c, path="") for c in codes],
            batch_size=1000,
        )
        for city in cities:
            city.path = f"{province.path}{city.pk}/"
        Organisation.objects.bulk_update(cities, ["path"], batch_size=1000)
        analyst = create_account(actor=None, username="bench-analyst", full_name="analyst", organisation=agency,
                                 role=Role.ANALYST, password="", password_hash=make_password(None),
                                 must_change_password=False)  # fmt: skip
        create_account(actor=None, username="bench-province", full_name="province", organisation=province,
                       role=Role.PROVINCE_REVIEWER, password="", password_hash=make_password(None),
                       must_change_password=False)  # fmt: skip
        cohort = create_cohort(actor=None, name="基准测试城市", year=2016, description="")
        add_cities_to_cohort(actor=None, cohort=cohort, cities=cities, joined_on=datetime.date(2016, 1, 1))
        edition = publish_monthly_2016()
        reporting.create_cycle(actor=analyst, name="2016 年度监测（基准测试）", year=2016, edition=edition,
                               cohorts=[cohort], forms=edition.forms.all())  # fmt: skip
        # Every period open on the benchmark's "today" (the import writes drafts through the normal rules).
        Period.objects.update(opens_on=datetime.date(2016, 1, 1), expires_on=datetime.date(2017, 12, 31))
    log(f"set-up: {len(cities):,} cities, {Submission.objects.count():,} submissions")

    periods = list(Period.objects.order_by("ends_on"))
    forms = list(edition.forms.order_by("order"))
    items = {f.code: list(f.items.order_by("order").values_list("code", flat=True)) for f in forms}
    profiles = {
        c.pk: City(c, rng.uniform(100, 900), rng.uniform(0.8, 1.05), random.Random(rng.random()))  # noqa: S311
        for c in cities
    }
    files = {}
    for label, count in (("small", args.small), ("large", args.values)):
        path = Path(args.var_dir) / f"ingest-{label}-{count}.csv"
        written = 0
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["区划代码", "报告期", "填报表", "填报项代码", "本期数值", "说明"])
            for city in cities:  # a province's file: city by city, month by month, form by form
                for period in periods:
                    for form in forms:
                        values = values_for(profiles[city.pk], form.code, period.ends_on)
                        for code in items[form.code]:
                            if written < count:
                                writer.writerow([city.division_id, period.code, form.code, code, values[code], ""])
                                written += 1
                if written >= count:
                    break
        files[label] = {"path": str(path), "values": written, "mib": path.stat().st_size / 2**20}
        log(f"file {path.name}: {written:,} values, {files[label]['mib']:.1f} MiB")
    return {"cities": len(cities), "files": files}


# --- the measured steps (each in its own process) ----------------------------------------------


def run_import(path: str) -> dict[str, Any]:
    from django.db import connection

    from infocity.accounts.models import User
    from infocity.bulk import services
    from infocity.bulk.models import Import
    from infocity.reporting.models import DataValue

    user = User.objects.get(username="bench-province")
    baseline = peak_mib()
    before = DataValue.objects.count()
    started = time.perf_counter()
    with open(path, "rb") as handle:  # noqa: PTH123
        upload = services.check_upload(actor=user, filename=Path(path).name, file=handle)
    checked = time.perf_counter()
    if upload.status != Import.Status.CHECKED:
        return {"error": f"{upload.status}: {upload.failure} {upload.errors[:3]}"}
    done = services.apply_import(actor=user, upload=upload)
    applied = time.perf_counter()
    return {
        "status": done.status,
        "values": DataValue.objects.count() - before,
        "changes": done.change_count,
        "submissions": done.submission_count,
        "check_s": checked - started,
        "apply_s": applied - checked,
        "total_s": applied - started,
        "peak_mib": peak_mib(),
        "baseline_mib": baseline,
        "database": connection.vendor,
    }


def run_floor(path: str) -> dict[str, Any]:
    """The same rows as plain DataValue objects, bulk-inserted into the same (emptied) table."""
    from decimal import Decimal

    from django.db import transaction

    from infocity.bulk.models import BlobChunk, ImportEntry
    from infocity.frameworks.models import DataItem
    from infocity.reporting.models import DataValue, Submission

    with transaction.atomic():
        DataValue.objects.all().delete()
        ImportEntry.objects.all().delete()
        BlobChunk.objects.all().delete()
    slots = {
        (city, period, form): pk
        for pk, city, period, form in Submission.objects.values_list(
            "pk", "city__division_id", "period__code", "form__code"
        )
    }
    item_ids = dict(DataItem.objects.filter(edition__code="2016-monthly").values_list("code", "pk"))
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:  # noqa: PTH123
        reader = csv.reader(handle)
        next(reader)
        for city, period, form, code, value, _note in reader:
            number = Decimal(1 if value == "是" else 0) if value in ("是", "否") else Decimal(value)
            rows.append((slots[(city, period, form)], item_ids[code], number))
    started = time.perf_counter()
    with transaction.atomic():
        DataValue.objects.bulk_create(
            (DataValue(submission_id=s, item_id=i, number=n) for s, i, n in rows), batch_size=1000
        )
    elapsed = time.perf_counter() - started
    return {"values": len(rows), "floor_s": elapsed}


def child(args: argparse.Namespace, step: str, file: str = "") -> dict[str, Any]:
    command = [sys.executable, __file__, "--step", step, "--database-url", args.database_url, "--var-dir",
               args.var_dir, "--values", str(args.values), "--small", str(args.small),
               "--seed", str(args.seed)]  # fmt: skip
    if args.reset:
        command.append("--reset")
    if file:
        command += ["--file", file]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        sys.exit(f"step {step} failed ({result.returncode})")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    Path(args.var_dir).mkdir(parents=True, exist_ok=True)
    if args.step:
        if not args.database_url:
            sys.exit("--database-url is required for a step")
        configure(args.database_url, args.var_dir)
        if args.step == "setup":
            print(json.dumps(setup(args)))
        elif args.step == "import":
            print(json.dumps(run_import(args.file)))
        else:
            print(json.dumps(run_floor(args.file)))
        return 0
    own_sqlite = not args.database_url
    results = []
    for label in ("small", "large"):
        if own_sqlite:
            db = Path(args.var_dir) / f"ingest-{label}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            args.database_url = f"sqlite:///{db}"
        elif label == "large":
            args.reset = True  # a fresh schema for the large run too
        log(f"{label}: set-up on {args.database_url.split('@')[-1]}")
        made = child(args, "setup")
        file = made["files"][label]
        log(f"{label}: import of {file['values']:,} values")
        imported = child(args, "import", file["path"])
        if "error" in imported:
            sys.exit(f"import refused: {imported['error']}")
        log(f"{label}: floor (bare bulk insert)")
        floor = child(args, "floor", file["path"])
        results.append((label, file, imported, floor))
        if own_sqlite:
            args.database_url = ""
    print()
    print(f"infocity ingest benchmark — {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, database {results[0][2]['database']}")  # fmt: skip
    header = f"{'file':>16} {'MiB':>6} {'check s':>8} {'apply s':>8} {'total s':>8} {'values/s':>9} {'floor s':>8}"
    print(header + f" {'ratio':>6} {'peak MiB':>9}")
    failed = False
    for _label, file, imported, floor in results:
        ratio = imported["total_s"] / floor["floor_s"]
        rate = imported["values"] / imported["total_s"]
        print(f"{file['values']:>10,} values {file['mib']:>6.1f} {imported['check_s']:>8.1f} "
              f"{imported['apply_s']:>8.1f} "
              f"{imported['total_s']:>8.1f} {rate:>9,.0f} {floor['floor_s']:>8.1f} {ratio:>6.2f} "
              f"{imported['peak_mib']:>9.0f}")  # fmt: skip
        if imported["values"] != file["values"] or imported["changes"] != file["values"]:
            print(
                f"  !! {imported['values']:,} values written, {imported['changes']:,} changes, "
                f"expected {file['values']:,}"
            )
            failed = True
    small, large = results[0][2]["peak_mib"], results[-1][2]["peak_mib"]
    print(f"peak memory: {small:.0f} MiB for {results[0][1]['values']:,} values, {large:.0f} MiB for "
          f"{results[-1][1]['values']:,} values ({large / small:.2f}×; the file is "
          f"{results[-1][1]['mib'] / results[0][1]['mib']:.0f}× larger)")  # fmt: skip
    print(f"goal: ratio ≤ {GOAL_RATIO} on the large file — {'met' if ratio <= GOAL_RATIO else 'NOT met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
