"""The platform's side of the fault tests, run in processes of their own with their own ``DATABASE_URL``, as the
app and the worker are: ``python -m faults.steps ACTION…`` prints a JSON list of answers, ``… serve`` answers lists
of actions line by line (:class:`faults.harness.Platform`).

Every change goes through the platform's services — accounts, organisations, the framework, the reporting cycle,
the bulk upload, check and apply (with the page's ``expire_stalled`` before each look), API tokens — so an action
does what a user would. The exceptions are said where they are: ``*-later`` moves an import's last sign of life
back by ``BULK_STALLED_MINUTES`` instead of waiting that long, and ``state`` links new audit events into the hash
chain (what ``manage.py seal_audit`` does every minute) before verifying it; ``state`` and the verifications read
the tables directly, to see exactly what is stored."""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "Faults@2016pass"  # every account of the fault tests' world  # noqa: S105
PROVINCE = "330000"
PROVINCE_USER = "faults-province"


def _digest(rows: list[Any]) -> str:
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


# --- the world: a province, its cities, a monthly edition, a cycle whose periods are all open ------------


def setup(cities: int, accounts: int, tokens: bool, import_csv: str, seed: int) -> dict[str, Any]:
    """Migrate, then build the world (as bench/ingest.py does): ``cities`` synthetic cities of 浙江 in one cohort, the
    2016 edition with every form monthly, a 2016 cycle whose periods are all open on the pinned day, the province's
    reviewer (who imports for all its cities) and, for the first ``accounts`` cities, a reporter and an approver
    with API tokens when ``tokens``. ``import_csv``: where to write the province's import file (every value of every
    city for the year, in the template's layout)."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction

    from infocity.accounts.models import Role
    from infocity.accounts.services import create_account
    from infocity.demo.monitoring import City, values_for
    from infocity.frameworks.loading import publish_monthly_2016
    from infocity.organisations.models import Division, Organisation, OrganisationKind
    from infocity.organisations.services import add_cities_to_cohort, create_cohort, create_organisation
    from infocity.reporting import services as reporting
    from infocity.reporting.models import Period, Submission
    from infocity.tokens.services import issue_token

    call_command("migrate", verbosity=0, interactive=False)
    rng = random.Random(seed)  # noqa: S311 — synthetic data
    kind = OrganisationKind
    password_hash = make_password(PASSWORD)
    with transaction.atomic():
        ministry = create_organisation(actor=None, kind=kind.MINISTRY, name="工业和信息化部")
        agency = create_organisation(actor=None, kind=kind.AGENCY, name="监测机构（故障测试）", parent=ministry)
        province = create_organisation(
            actor=None, kind=kind.PROVINCE, name="浙江省", parent=ministry, division=Division.objects.get(code=PROVINCE)
        )
        codes = [f"33{5000 + n:04d}" for n in range(cities)]
        Division.objects.bulk_create(
            [Division(code=c, name=f"示范城市{c}", level=Division.Level.PREFECTURE, parent_id=PROVINCE) for c in codes],
            ignore_conflicts=True,
        )
        orgs = [
            create_organisation(actor=None, kind=kind.CITY, name=f"示范城市{c}", parent=province,
                                division=Division.objects.get(code=c))
            for c in codes
        ]  # fmt: skip

        def account(username: str, organisation: Organisation, role: str) -> Any:
            return create_account(actor=None, username=username, full_name=username, organisation=organisation,
                                  role=role, password="", password_hash=password_hash,
                                  must_change_password=False)  # fmt: skip

        analyst = account("faults-analyst", agency, Role.ANALYST)
        account(PROVINCE_USER, province, Role.PROVINCE_REVIEWER)
        cohort = create_cohort(actor=None, name="故障测试城市", year=2016, description="")
        add_cities_to_cohort(actor=None, cohort=cohort, cities=orgs, joined_on=datetime.date(2016, 1, 1))
        edition = publish_monthly_2016()
        reporting.create_cycle(actor=analyst, name="2016 年度监测（故障测试）", year=2016, edition=edition,
                               cohorts=[cohort], forms=edition.forms.all())  # fmt: skip
        # Every period open on the pinned day (REPORTING_TODAY), so imports and saves follow the normal rules.
        Period.objects.update(opens_on=datetime.date(2016, 1, 1), expires_on=datetime.date(2017, 12, 31))

    periods = list(Period.objects.order_by("ends_on"))
    forms = [f for f in edition.forms.order_by("order") if f.items.exists()]
    items = {f.code: list(f.items.order_by("order").values_list("code", flat=True)) for f in forms}
    profiles = {c.pk: City(c, rng.uniform(100, 900), rng.uniform(0.8, 1.05), random.Random(rng.random())) for c in orgs}  # noqa: S311
    planned: dict[tuple[int, str, str], dict[str, str]] = {}
    for city in orgs:
        for period in periods:
            for form in forms:
                values = values_for(profiles[city.pk], form.code, period.ends_on)
                planned[(city.pk, period.code, form.code)] = {code: values[code] for code in items[form.code]}
    rows = 0
    if import_csv:
        with Path(import_csv).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["区划代码", "报告期", "填报表", "填报项代码", "本期数值", "说明"])
            for city in orgs:  # a province's file: city by city, month by month, form by form
                for period in periods:
                    for form in forms:
                        for code, value in planned[(city.pk, period.code, form.code)].items():
                            writer.writerow([city.division_id, period.code, form.code, code, value, ""])
                            rows += 1

    people = []
    for city in orgs[:accounts]:
        reporter = account(f"faults-r-{city.division_id}", city, Role.CITY_REPORTER)
        approver = account(f"faults-a-{city.division_id}", city, Role.CITY_APPROVER)
        entry: dict[str, Any] = {"city": city.division_id, "reporter": reporter.username,
                                 "approver": approver.username}  # fmt: skip
        if tokens:
            entry["reporter_token"] = issue_token(actor=None, user=reporter, scope="write", name="故障测试")[1]
            entry["approver_token"] = issue_token(actor=None, user=approver, scope="write", name="故障测试")[1]
        submissions = Submission.objects.filter(city=city).select_related("period", "form")
        entry["submissions"] = [
            {"id": s.pk, "period": s.period.code, "form": s.form.code,
             "values": planned[(city.pk, s.period.code, s.form.code)]}
            for s in submissions.order_by("period__ends_on", "form__order")
            if (city.pk, s.period.code, s.form.code) in planned
        ]  # fmt: skip
        people.append(entry)
    return {"cities": len(orgs), "submissions": Submission.objects.count(), "rows": rows, "people": people}


# --- the bulk import, as the province's reviewer does it on the page ------------------------------------------


def _province_user() -> Any:
    from infocity.accounts.models import User

    return User.objects.get(username=PROVINCE_USER)


def upload(path: str) -> dict[str, Any]:
    """上传并检查: large files are stored and queued for the worker's check."""
    from infocity.bulk import services

    with Path(path).open("rb") as handle:
        checked = services.check_upload(actor=_province_user(), filename=Path(path).name, file=handle)
    return {"import": checked.pk, "status": checked.status}


def _seen(import_id: int, later: bool) -> Any:
    """The import as its page shows it — loading the page runs ``expire_stalled`` — now, or ``later``: after
    ``BULK_STALLED_MINUTES`` and a minute more, when the import's last sign of life is that much older (the test
    moves ``touched_at`` back instead of waiting; nothing else about the import changes)."""
    from django.conf import settings
    from django.db.models import F

    from infocity.bulk import services
    from infocity.bulk.models import Import

    if later:
        shift = datetime.timedelta(minutes=settings.BULK_STALLED_MINUTES + 1)
        Import.objects.filter(pk=import_id, touched_at__isnull=False).update(touched_at=F("touched_at") - shift)
    return services.expire_stalled(Import.objects.get(pk=import_id))


def _shown(upload: Any) -> dict[str, Any]:
    return {"import": upload.pk, "status": upload.status, "stage": upload.stage, "failure": upload.failure}


def look(import_id: int, later: bool) -> dict[str, Any]:
    """Open the import's page."""
    return _shown(_seen(import_id, later))


def apply(import_id: int, later: bool) -> dict[str, Any]:
    """Open the import's page and press 确认导入 (what the view does: ``expire_stalled``, then ``apply_import``)."""
    from infocity.bulk import services

    seen = _seen(import_id, later)
    try:
        done = services.apply_import(actor=_province_user(), upload=seen)
    except services.ImportError_ as refused:
        return {**_shown(seen), "refused": str(refused)}
    return _shown(done)


def state() -> dict[str, Any]:
    """Everything the consistency checks compare, read straight from the tables."""
    from django.db import connection
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from infocity.audit.integrity import seal, verify
    from infocity.audit.models import Action, AuditEvent
    from infocity.bulk.models import Import, ImportEntry
    from infocity.reporting.models import DataValue, SubmissionVersion

    values = [
        [city, period, form, item, None if number is None else format(number.normalize(), "f"), text, note, by]
        for city, period, form, item, number, text, note, by in DataValue.objects.values_list(
            "submission__city__division_id", "submission__period__code", "submission__form__code", "item__code",
            "number", "text", "explanation", "updated_by__username",
        )
    ]  # fmt: skip
    values.sort(key=lambda row: row[:4])
    slots = Counter(tuple(row[:4]) for row in values)
    versions = [
        [city, period, form, number, action, applied, actor, vals, notes]
        for city, period, form, number, action, applied, actor, vals, notes in SubmissionVersion.objects.values_list(
            "submission__city__division_id", "submission__period__code", "submission__form__code", "number",
            "action", "applied", "actor__username", "values", "explanations",
        )
    ]  # fmt: skip
    versions.sort(key=lambda row: row[:4])
    per_submission = Counter((row[0], row[1], row[2]) for row in versions if row[4] == "save")
    imports = [
        {"id": i.pk, "status": i.status, "stage": i.stage, "failure": i.failure, "changes": i.change_count,
         "submissions": i.submission_count, "entries": ImportEntry.objects.filter(upload=i).count()}
        for i in Import.objects.order_by("pk")
    ]  # fmt: skip
    events = AuditEvent.objects.filter(action__in=[Action.BULK_IMPORT, Action.BULK_CHECK, Action.SUBMISSION_SAVE])
    via = Counter(
        str(detail.get("via", ""))
        for detail in events.filter(action=Action.SUBMISSION_SAVE).values_list("detail", flat=True)
    )
    tasks = Counter(
        f"{path.rsplit('.', 1)[-1]} {status}"
        for path, status in DBTaskResult.objects.values_list("task_path", "status")
    )
    with connection.cursor() as cursor:
        integrity = "ok"
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA integrity_check")
            integrity = ";".join(row[0] for row in cursor.fetchall())
            cursor.execute("PRAGMA foreign_key_check")
            if cursor.fetchall():
                integrity += ";foreign keys broken"
    seal()
    chain = verify()
    return {
        "values": {"count": len(values), "digest": _digest(values), "duplicates": sum(n > 1 for n in slots.values()),
                   "submissions": len({row[:3] for row in (tuple(r) for r in values)})},
        "versions": {"count": len(versions), "digest": _digest([v[:3] + v[4:] for v in versions]),
                     "saves_per_submission": sorted(set(per_submission.values())),
                     "by_action": dict(Counter(row[4] for row in versions))},
        "imports": imports,
        "audit": {
            "bulk.import": sorted(int(pk) for pk in events.filter(action=Action.BULK_IMPORT)
                                  .values_list("object_id", flat=True)),
            "bulk.check": events.filter(action=Action.BULK_CHECK).count(),
            "submission.save": dict(via),
            "by_action": dict(events.values_list("action").annotate(n=Count("id")).values_list("action", "n")),
        },
        "tasks": dict(tasks),
        "integrity": integrity,
        "audit_chain": {"ok": chain.ok, "events": chain.events},
    }  # fmt: skip


# --- the PostgreSQL restart: what the clients were told against what is stored ---------------------------------


def verify_writes(log_path: str) -> dict[str, Any]:
    """Compare the clients' log (every request with its answer) with the database: every write a client was told
    succeeded is stored exactly once, with exactly the values sent."""
    from infocity.audit.integrity import seal, verify
    from infocity.audit.models import Action, AuditEvent
    from infocity.frameworks.models import DataItem
    from infocity.reporting.models import DataValue, Submission, SubmissionVersion
    from infocity.reporting.services import canonical, stored_value
    from infocity.reporting.validation import parse_value
    from infocity.tokens.models import IdempotentRequest

    log = json.loads(Path(log_path).read_text(encoding="utf-8"))
    problems: list[str] = []
    written = {r["submission"]: r for r in log if r["kind"] == "values" and 200 <= r["status"] < 300}
    # a submit answered 409 "already done" on a retry had been done by the first attempt
    sent = {r["submission"]: r for r in log if r["kind"] == "submit" and r["status"] in (200, 409)}
    stored: dict[int, dict[str, str | None]] = {}
    for dv in DataValue.objects.filter(submission_id__in=written).select_related("item"):
        stored.setdefault(dv.submission_id, {})[dv.item.code] = canonical(dv.item, stored_value(dv))
    items = {item.code: item for item in DataItem.objects.filter(edition__code="2016-monthly")}
    saves = Counter(
        SubmissionVersion.objects.filter(submission_id__in=written, action="save").values_list(
            "submission_id", flat=True
        )
    )
    submits = Counter(
        SubmissionVersion.objects.filter(submission_id__in=written, action="submit").values_list(
            "submission_id", flat=True
        )
    )
    audited = Counter(
        int(pk) for pk in AuditEvent.objects.filter(action=Action.SUBMISSION_SAVE).values_list("object_id", flat=True)
    )
    keys = Counter(IdempotentRequest.objects.values_list("key", flat=True))
    statuses = dict(Submission.objects.filter(pk__in=written).values_list("pk", "status"))
    for pk, request in written.items():
        expected = {code: canonical(items[code], parse_value(items[code], str(value)))
                    for code, value in request["values"].items()}  # fmt: skip
        if stored.get(pk) != expected:
            problems.append(f"submission {pk}: stored {stored.get(pk)} ≠ acknowledged {expected}")
        if saves[pk] != 1 or audited[pk] != 1:
            problems.append(f"submission {pk}: {saves[pk]} save versions, {audited[pk]} save events (expected 1)")
        if keys[request["key"]] != 1:
            problems.append(f"key {request['key']}: {keys[request['key']]} stored answers (expected 1)")
    for pk in sent:
        if statuses.get(pk) != "submitted" or submits[pk] != 1:
            problems.append(f"submission {pk}: acknowledged submit, now {statuses.get(pk)} with {submits[pk]} submits")
    seal()
    chain = verify()
    return {
        "acknowledged_writes": len(written),
        "acknowledged_submits": len(sent),
        "values_stored": DataValue.objects.count(),
        "idempotent_answers": sum(keys.values()),
        "problems": problems[:50],
        "audit_chain_ok": chain.ok,
    }


def versions(submission_id: int) -> dict[str, Any]:
    """A submission's history and current values (the concurrent-edit checks)."""
    from infocity.reporting.models import DataValue, Submission, SubmissionVersion
    from infocity.reporting.services import canonical, stored_value

    current = {}
    for dv in DataValue.objects.filter(submission_id=submission_id).select_related("item"):
        current[dv.item.code] = canonical(dv.item, stored_value(dv))
    history = [
        {"number": n, "action": a, "applied": applied, "actor": actor, "values": v, "comment": c}
        for n, a, applied, actor, v, c in SubmissionVersion.objects.filter(submission_id=submission_id)
        .order_by("number")
        .values_list("number", "action", "applied", "actor__username", "values", "comment")
    ]  # fmt: skip
    submission = Submission.objects.get(pk=submission_id)
    return {"version": submission.version, "status": submission.status, "values": current, "history": history}


ACTIONS: dict[str, Callable[[str], dict[str, Any]]] = {
    "upload": lambda arg: upload(arg),
    "apply": lambda arg: apply(int(arg), later=False),
    "apply-later": lambda arg: apply(int(arg), later=True),
    "look": lambda arg: look(int(arg), later=False),
    "look-later": lambda arg: look(int(arg), later=True),
    "state": lambda _arg: state(),
    "verify-writes": lambda arg: verify_writes(arg),
    "versions": lambda arg: versions(int(arg)),
}


def _run(actions: list[str], options: argparse.Namespace) -> list[dict[str, Any]]:
    from django.db import connections

    answers = []
    for action in actions:
        started = time.perf_counter()
        name, _colon, argument = action.partition(":")
        if name == "setup":
            answer = setup(options.cities, options.accounts, options.tokens, options.import_csv, options.seed)
        elif name in ACTIONS:
            answer = ACTIONS[name](argument)
        else:
            raise ValueError(f"unknown action {action}")
        answer["seconds"] = round(time.perf_counter() - started, 3)
        answers.append(answer)
    connections.close_all()  # between requests, hold no connection (nor, on SQLite, any lock)
    return answers


def main(argv: list[str] | None = None) -> int:
    """``setup --cities N …``, or actions done one after the other in this process, each written ``name`` or
    ``name:argument`` (``upload:FILE``, ``apply:ID``, ``apply-later:ID``, ``look:ID``, ``look-later:ID``, ``state``,
    ``verify-writes:LOG``, ``versions:SUBMISSION``); prints a JSON list of their answers. ``serve`` reads such
    lists of actions, one JSON list a line, and answers each with a line (``{"error": …}`` when one failed), so a
    test pays for starting the platform once."""
    parser = argparse.ArgumentParser(description="Steps of the fault tests, inside the platform.")
    parser.add_argument("actions", nargs="+", help="setup, serve, or actions such as apply:12 state")
    parser.add_argument("--cities", type=int, default=0)
    parser.add_argument("--accounts", type=int, default=0)
    parser.add_argument("--tokens", action="store_true")
    parser.add_argument("--import-csv", default="")
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infocity.settings")
    import django

    django.setup()
    if args.actions != ["serve"]:
        print(json.dumps(_run(args.actions, args), ensure_ascii=False, default=str))
        return 0
    answers, sys.stdout = sys.stdout, sys.stderr  # whatever the platform prints stays out of the answers
    print(json.dumps({"ready": True}), file=answers, flush=True)
    for line in sys.stdin:
        try:
            answer: Any = _run(json.loads(line), args)
        except Exception:  # the test reads the traceback
            answer = {"error": traceback.format_exc()}
        print(json.dumps(answer, ensure_ascii=False, default=str), file=answers, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
