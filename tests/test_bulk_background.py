"""Large imports and exports: checked, applied and built by the task worker with a progress bar and a status in
the API; a province's file covering several cities, read in several flushes; applying that meets a changed
submission writes nothing; Excel exports open and keep numbers as numbers and formulas neutralised."""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from infocity.audit.models import Action, AuditEvent
from infocity.bulk import services
from infocity.bulk.models import Export, Import, ImportEntry
from infocity.reporting import services as reporting
from infocity.reporting.models import DataValue, ReportingCycle, Submission

from .conftest import Cast
from .test_api_tokens import M11, api, command_token
from .test_api_tokens import world as world  # the 2016 cycle fixture
from .test_bulk import download_template, fill, state, upload

DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
NUMBERS = {code: int(value) for code, value in M11.items()}
JIAXING = {"FBB_USERS": 5000, "FBB_20M_USERS": 3000, "FTTH_USERS": 4000, "MOBILE_USERS": 9000, "LTE_USERS": 6000}


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def m11(city: str) -> Submission:
    return Submission.objects.get(city__name=city, period__code="2016-M11", form__code="M")


def stored(submission: Submission) -> dict[str, Any]:
    return {dv.item.code: dv.number for dv in DataValue.objects.filter(submission=submission).select_related("item")}


def province_csv(rows: list[tuple[str, str, Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["区划代码", "报告期", "填报表", "填报项代码", "本期数值", "说明"])
    for city, code, value in rows:
        writer.writerow([city, "2016-M11", "M", code, value, ""])
    return text.getvalue().encode("utf-8")


def test_a_large_upload_is_checked_and_applied_by_the_worker_with_progress(
    cast: Cast, world: ReportingCycle, settings: Any
) -> None:
    settings.BULK_BACKGROUND_BYTES = 0
    settings.BULK_BACKGROUND_CHANGES = 0
    settings.TASKS = DUMMY  # tasks are queued, not run: the test plays the worker
    client = cast.client("city-hz")
    target = m11("杭州市")
    checked = upload(client, "杭州.xlsx", fill(download_template(client, cast.orgs["hangzhou"].pk, target.period_id),
                                             NUMBERS))  # fmt: skip
    assert checked.status == Import.Status.QUEUED
    page = client.get(f"/bulk/imports/{checked.pk}/").content.decode()
    assert 'hx-get="/bulk/imports/' in page and "排队等待检查" in page and 'role="progressbar"' in page
    fragment = client.get(f"/bulk/imports/{checked.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert fragment.startswith('<div id="import-status"') and "<html" not in fragment
    services.run_check(checked.pk)
    checked.refresh_from_db()
    assert checked.status == Import.Status.CHECKED and checked.change_count == 5 and checked.progress == 100
    assert "hx-get" not in client.get(f"/bulk/imports/{checked.pk}/").content.decode()
    client.post(f"/bulk/imports/{checked.pk}/apply/")
    checked.refresh_from_db()
    assert checked.status == Import.Status.APPLYING and not DataValue.objects.exists()
    assert "正在写入" in client.get(f"/bulk/imports/{checked.pk}/").content.decode()
    client.post(f"/bulk/imports/{checked.pk}/apply/")  # a second click while it runs queues nothing more
    services.run_apply(checked.pk)
    checked.refresh_from_db()
    assert checked.status == Import.Status.APPLIED
    assert stored(target) == NUMBERS
    services.run_apply(checked.pk)  # the task delivered twice: nothing happens
    assert target.versions.count() == 1


def test_applying_after_the_data_changed_writes_nothing_and_says_why(
    cast: Cast, world: ReportingCycle, settings: Any
) -> None:
    settings.BULK_BACKGROUND_CHANGES = 0
    settings.TASKS = DUMMY
    client = cast.client("city-hz")
    target = m11("杭州市")
    checked = upload(client, "杭州.xlsx", fill(download_template(client, cast.orgs["hangzhou"].pk, target.period_id),
                                             NUMBERS))  # fmt: skip
    assert checked.status == Import.Status.CHECKED
    reporting.save_draft(actor=cast.users["city-hz-approver"], submission=target, raw={"FBB_USERS": "1"},
                         explanations={}, base_version=0)  # fmt: skip
    before = state()
    client.post(f"/bulk/imports/{checked.pk}/apply/")
    services.run_apply(checked.pk)
    checked.refresh_from_db()
    assert checked.status == Import.Status.FAILED and "检查之后已被修改" in checked.failure
    assert state() == before
    assert "检查之后已被修改" in client.get(f"/bulk/imports/{checked.pk}/").content.decode()


def test_a_province_imports_its_cities_in_one_file_read_in_several_flushes(
    cast: Cast, world: ReportingCycle, monkeypatch: Any
) -> None:
    monkeypatch.setattr(services, "FLUSH_VALUES", 3)
    rows = []
    for (code, hz), (_code, jx) in zip(NUMBERS.items(), JIAXING.items(), strict=True):
        rows += [("330100", code, hz), ("330400", code, jx)]  # the cities interleaved: entries merge across flushes
    client = cast.client("province-zj")
    checked = upload(client, "全省.csv", province_csv(rows))
    assert checked.status == Import.Status.CHECKED, checked.errors
    assert checked.change_count == 10 and checked.submission_count == 2 and checked.rows == 10
    assert ImportEntry.objects.filter(upload=checked).count() == 2
    client.post(f"/bulk/imports/{checked.pk}/apply/")
    assert stored(m11("杭州市")) == NUMBERS and stored(m11("嘉兴市")) == JIAXING
    saves = AuditEvent.objects.filter(action=Action.SUBMISSION_SAVE, actor=cast.users["province-zj"])
    assert saves.count() == 2 and all(e.detail["via"] == f"import:{checked.pk}" for e in saves)
    version = m11("嘉兴市").versions.get()
    assert version.actor == cast.users["province-zj"] and version.values["LTE_USERS"] == "6000"
    # A value given twice, far apart in the file (after a flush), is found too.
    twice = upload(client, "重复.csv", province_csv([*rows, ("330100", "FBB_USERS", 1)]))
    assert twice.status == Import.Status.REJECTED
    assert any("不止一次" in p["message"] and p["row"] == 12 for p in twice.errors), twice.errors


def test_excel_export_inline_and_in_the_background(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    client = cast.client("city-hz")
    target = m11("杭州市")
    reporting.save_draft(actor=cast.users["city-hz"], submission=target, raw=M11,
                         explanations={"FBB_USERS": "=1+1"}, base_version=0)  # fmt: skip
    response = client.get("/bulk/export.csv", {"format": "xlsx", "period": "2016-M11"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(body(response)))
    rows = list(book["填报数据"].iter_rows(values_only=True))
    assert rows[0][0] == "区划代码" and len(rows) == 6
    by_item = {r[5]: r for r in rows[1:]}
    assert by_item["FBB_USERS"][8] == 10000 and by_item["FBB_USERS"][9] == "'=1+1"
    settings.BULK_EXPORT_INLINE_ROWS = 0
    response = client.get("/bulk/export.csv", {"format": "xlsx", "period": "2016-M11"})
    job = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/bulk/exports/{job.pk}/"
    assert job.status == Export.Status.DONE and job.rows == 5
    assert "export-download" in client.get(f"/bulk/exports/{job.pk}/").content.decode()
    built = load_workbook(io.BytesIO(body(client.get(f"/bulk/exports/{job.pk}/file"))))
    assert list(built["填报数据"].iter_rows(values_only=True)) == rows
    assert cast.client("city-hz-approver").get(f"/bulk/exports/{job.pk}/").status_code == 404


def test_imports_and_exports_through_the_api(cast: Cast, world: ReportingCycle) -> None:
    writer = api(command_token("city-hz"))
    template = download_template(cast.client("city-hz"), cast.orgs["hangzhou"].pk, m11("杭州市").period_id)
    file = SimpleUploadedFile("杭州.xlsx", fill(template, NUMBERS))
    response = writer.post("/api/v1/imports", {"file": file})
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["status"] == "checked" and answer["change_count"] == 5 and len(answer["changes"]) == 5
    assert writer.get(answer["status_url"]).json()["status"] == "checked"
    assert api(command_token("city-gz")).get(answer["status_url"]).status_code == 404
    assert api(command_token("city-hz", "read")).post(answer["apply_url"]).status_code == 403
    applied = writer.post(answer["apply_url"])
    assert applied.status_code == 202 and applied.json()["status"] == "applied"
    assert stored(m11("杭州市")) == NUMBERS
    bad = writer.post("/api/v1/imports", {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.4")}).json()
    assert bad["status"] == "rejected" and "只接受" in bad["errors"][0]["message"]
    assert writer.post(bad["apply_url"]).status_code == 409

    reader = api(command_token("province-zj", "read"))
    job = reader.post("/api/v1/exports", {"format": "csv", "period": "2016-M11"}, content_type="application/json")
    assert job.status_code == 202 and job.json()["status"] == "done"
    text = body(reader.get(job.json()["file_url"])).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 6
    assert api(command_token("province-gd", "read")).get(job.json()["status_url"]).status_code == 404


def test_fill_drafts_writes_only_what_it_is_given_and_keeps_the_rules(cast: Cast, world: ReportingCycle) -> None:
    from django.core.exceptions import PermissionDenied

    from infocity.reporting.models import SubmissionVersion
    from infocity.reporting.services import DraftFill, WorkflowError, fill_drafts

    from .test_analytics import in_time

    target = m11("杭州市")
    reporting.save_draft(actor=cast.users["city-hz"], submission=target, raw=M11, explanations={"FBB_USERS": "口径"},
                         base_version=0)  # fmt: skip
    target.refresh_from_db()
    fill = DraftFill(target.pk, target.version, {"LTE_USERS": "13000", "FTTH_USERS": None}, {"MOBILE_USERS": "新说明"})
    written = fill_drafts(actor=cast.users["province-zj"], fills=[fill])
    assert written == 2
    values = {dv.item.code: dv for dv in DataValue.objects.filter(submission=target).select_related("item")}
    assert values["LTE_USERS"].number == 13000 and values["LTE_USERS"].updated_by == cast.users["province-zj"]
    assert values["FTTH_USERS"].number is None  # None clears the value
    assert values["FBB_USERS"].explanation == "口径" and values["MOBILE_USERS"].explanation == "新说明"
    assert values["MOBILE_USERS"].number == 20000  # an explanation alone keeps the value
    version = SubmissionVersion.objects.filter(submission=target).latest("number")
    assert version.number == target.version + 1 and version.comment == "bulk"
    assert version.values == {"FBB_USERS": "10000", "FBB_20M_USERS": "6200", "MOBILE_USERS": "20000",
                              "LTE_USERS": "13000"}  # fmt: skip
    assert version.explanations == {"FBB_USERS": "口径", "MOBILE_USERS": "新说明"}
    before = state()
    with pytest.raises(WorkflowError, match="检查之后已被修改"):
        fill_drafts(actor=cast.users["city-hz"], fills=[DraftFill(target.pk, target.version, {"LTE_USERS": "1"}, {})])
    with pytest.raises(PermissionDenied):
        fill_drafts(actor=cast.users["province-gd"],
                    fills=[DraftFill(target.pk, target.version + 1, {"LTE_USERS": "1"}, {})])  # fmt: skip
    assert state() == before
    # Yes/no items are stored as 1/0, decimals exactly; a closed period refuses.
    annual = Submission.objects.get(city__name="杭州市", period__code__endswith="A", form__code="A")
    typed: dict[str, str | None] = {"OPEN_CATALOGUE_PUBLISHED": "是", "SMART_HW_OUTPUT": "12.345"}
    with in_time(annual):
        fill_drafts(actor=cast.users["city-hz"], fills=[DraftFill(annual.pk, 0, typed, {})])
    stored_annual = {
        dv.item.code: dv.number for dv in DataValue.objects.filter(submission=annual).select_related("item")
    }
    assert stored_annual == {"OPEN_CATALOGUE_PUBLISHED": 1, "SMART_HW_OUTPUT": Decimal("12.345")}
    early = Submission.objects.get(city__name="杭州市", period__code="2016-M06", form__code="M")
    with pytest.raises(WorkflowError, match="已于"):
        fill_drafts(actor=cast.users["city-hz"], fills=[DraftFill(early.pk, 0, {"LTE_USERS": "1"}, {})])


@pytest.mark.django_db(transaction=True)
def test_uploads_kept_whole_before_are_moved_into_chunks_by_the_migration(cast: Cast) -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("bulk", "0001_initial")])
    old = executor.loader.project_state([("bulk", "0001_initial")]).apps
    user = cast.users["city-hz"]
    data = b"\xef\xbb\xbf" + "区划代码,报告期\n".encode() * 1000
    for status in ("applied", "checked"):
        old.get_model("bulk", "Import").objects.create(
            uploaded_by_id=user.pk, filename=f"{status}.csv", sha256="x", content=data, kind="csv", status=status
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    applied, checked = Import.objects.order_by("pk")
    assert applied.file.read() == data and applied.file.size == len(data) and applied.status == "applied"
    assert checked.status == "rejected" and "重新上传" in checked.errors[0]["message"] and checked.error_count == 1


def _send(cast: Cast, submission: Submission, values: dict[str, Any]) -> None:
    """Hangzhou fills, approves and sends its data through the web services."""
    raw = {code: str(value) for code, value in values.items()}
    reporting.save_draft(actor=cast.users["city-hz"], submission=submission, explanations={}, raw=raw,
                         base_version=submission.version)  # fmt: skip
    submission.refresh_from_db()
    reporting.approve_city(actor=cast.users["city-hz-approver"], submission=submission,
                           expected_version=submission.version)  # fmt: skip
    submission.refresh_from_db()
    reporting.submit(actor=cast.users["city-hz-approver"], submission=submission, expected_version=submission.version)


def test_a_province_file_may_hold_cities_that_have_already_sent_their_data(cast: Cast, world: ReportingCycle) -> None:
    hangzhou = m11("杭州市")
    _send(cast, hangzhou, NUMBERS)
    client = cast.client("province-zj")
    rows = [("330100", code, value) for code, value in NUMBERS.items()]
    rows += [("330400", code, value) for code, value in JIAXING.items()]
    checked = upload(client, "全省.csv", province_csv(rows))
    assert checked.status == Import.Status.CHECKED, checked.errors
    assert checked.submission_count == 1 and checked.change_count == 5  # Hangzhou's values are already there
    client.post(f"/bulk/imports/{checked.pk}/apply/")
    assert stored(m11("嘉兴市")) == JIAXING and stored(hangzhou) == NUMBERS
    # A file that would change the sent data is refused, with the reason at Hangzhou's rows.
    changed = upload(client, "改动.csv", province_csv([("330100", "FBB_USERS", 10001)]))
    assert changed.status == Import.Status.REJECTED
    assert any("不能修改" in p["message"] and p["row"] == 2 for p in changed.errors), changed.errors


def test_applying_refuses_when_a_submission_without_changes_was_changed_since(
    cast: Cast, world: ReportingCycle
) -> None:
    """The file's values for Hangzhou were already stored when it was checked; someone changes them before the
    import is applied: applying would leave Hangzhou different from the file, so nothing is written."""
    client = cast.client("city-hz")
    target = m11("杭州市")
    template = download_template(client, cast.orgs["hangzhou"].pk, target.period_id)
    first = upload(client, "一.xlsx", fill(template, NUMBERS))
    client.post(f"/bulk/imports/{first.pk}/apply/")
    again = upload(client, "二.xlsx", fill(template, NUMBERS))
    assert again.status == Import.Status.CHECKED and again.change_count == 0
    target.refresh_from_db()
    reporting.save_draft(actor=cast.users["city-hz"], submission=target, raw={"FBB_USERS": "1"}, explanations={},
                         base_version=target.version)  # fmt: skip
    response = client.post(f"/bulk/imports/{again.pk}/apply/", follow=True)
    assert "检查之后已被修改" in response.content.decode()
    assert stored(target)["FBB_USERS"] == 1


def test_dates_control_characters_and_long_text_are_read_as_web_entry_reads_them(
    cast: Cast, world: ReportingCycle
) -> None:
    import datetime

    client = cast.client("city-hz")
    target = m11("杭州市")
    template = download_template(client, cast.orgs["hangzhou"].pk, target.period_id)
    notes = {"FBB_USERS": "口径调整" + "长" * 3000}
    data = fill(template, {**NUMBERS, "LTE_USERS": 12000}, notes)
    book = load_workbook(io.BytesIO(data))
    for row in book["填报"].iter_rows(min_row=2):
        if row[4].value == "MOBILE_USERS":
            row[9].value = datetime.date(2016, 11, 30)  # a date typed as an explanation is kept as text
    buffer = io.BytesIO()
    book.save(buffer)
    checked = upload(client, "杭州.xlsx", buffer.getvalue())
    assert checked.status == Import.Status.CHECKED, checked.errors
    client.post(f"/bulk/imports/{checked.pk}/apply/")
    explanations = dict(DataValue.objects.filter(submission=target).values_list("item__code", "explanation"))
    assert len(explanations["FBB_USERS"]) == 2000 and explanations["FBB_USERS"].startswith("口径调整长")
    assert explanations["MOBILE_USERS"] == "2016-11-30"
    again = upload(client, "杭州.xlsx", buffer.getvalue())  # the same file again: nothing to change
    assert again.status == Import.Status.CHECKED and again.change_count == 0
    # Control characters (a CSV written by another system) are dropped as web entry drops them.
    text = "区划代码,报告期,填报表,填报项代码,本期数值,说明\n"
    text += "330100,2016-M11,M,LTE_USERS,\x1b12000\x07,换\x07算\x1b口径\n"
    for _ in range(2):
        once = upload(client, "运营商.csv", text.encode())
        assert once.status == Import.Status.CHECKED, once.errors
        client.post(f"/bulk/imports/{once.pk}/apply/")
    assert once.change_count == 0  # the second upload found nothing to change
    assert DataValue.objects.get(submission=target, item__code="LTE_USERS").explanation == "换算口径"


def test_the_same_city_period_and_form_in_two_cycles_is_not_guessed(cast: Cast, world: ReportingCycle) -> None:
    from infocity.reporting.models import Period

    target = m11("杭州市")
    other_cycle = ReportingCycle.objects.create(name="2016年补充监测", year=2016, edition=world.edition)
    period = Period.objects.get(pk=target.period_id)
    period.pk, period.cycle = None, other_cycle
    period.save()
    twin = Submission.objects.create(period=period, form=target.form, city=target.city)
    client = cast.client("city-hz")
    csv_file = province_csv([("330100", code, value) for code, value in NUMBERS.items()])
    refused = upload(client, "杭州.csv", csv_file)
    assert refused.status == Import.Status.REJECTED and refused.error_count == 1
    assert "多个报送周期" in refused.errors[0]["message"]
    # The template names its submission in its hidden sheet: that tells the two apart.
    template = download_template(client, cast.orgs["hangzhou"].pk, target.period_id)
    checked = upload(client, "杭州.xlsx", fill(template, NUMBERS))
    assert checked.status == Import.Status.CHECKED, checked.errors
    assert list(checked.entries.values_list("submission_id", flat=True)) == [target.pk]
    assert twin.pk != target.pk


def test_an_interrupted_check_or_apply_is_reported_and_can_be_done_again(
    cast: Cast, world: ReportingCycle, settings: Any
) -> None:
    import datetime

    from django.utils import timezone

    settings.BULK_BACKGROUND_BYTES = 0
    settings.BULK_BACKGROUND_CHANGES = 0
    settings.TASKS = DUMMY
    client = cast.client("city-hz")
    target = m11("杭州市")
    data = fill(download_template(client, cast.orgs["hangzhou"].pk, target.period_id), NUMBERS)
    checking = upload(client, "杭州.xlsx", data)
    long_ago = timezone.now() - datetime.timedelta(minutes=settings.BULK_STALLED_MINUTES + 1)
    Import.objects.filter(pk=checking.pk).update(status=Import.Status.CHECKING, touched_at=timezone.now())
    assert "检查中断" not in client.get(f"/bulk/imports/{checking.pk}/").content.decode()  # alive: left alone
    Import.objects.filter(pk=checking.pk).update(touched_at=long_ago)  # the worker was killed long ago
    assert "检查中断" in client.get(f"/bulk/imports/{checking.pk}/").content.decode()
    checking.refresh_from_db()
    assert checking.status == Import.Status.FAILED and not checking.entries.exists()

    applying = upload(client, "杭州.xlsx", data)
    services.run_check(applying.pk)
    client.post(f"/bulk/imports/{applying.pk}/apply/")
    # A second click while the worker is at it changes nothing and says so (the page does not just sit there).
    again = client.post(f"/bulk/imports/{applying.pk}/apply/", follow=True).content.decode()
    assert "文件正在后台导入，请等待进度完成，不必再次点击" in again
    Import.objects.filter(pk=applying.pk).update(touched_at=long_ago)
    token = command_token("city-hz", "write")
    status = api(token).get(f"/api/v1/imports/{applying.pk}").json()
    assert status["status"] == "checked" and "中断" in status["failure"]
    assert not DataValue.objects.filter(submission=target).exists()
    assert "上次导入中断" in client.get(f"/bulk/imports/{applying.pk}/").content.decode()
    client.post(f"/bulk/imports/{applying.pk}/apply/")
    services.run_apply(applying.pk)
    assert stored(target) == NUMBERS


def _task_row(upload: Import, status: str, started_minutes_ago: float) -> None:
    import datetime
    import uuid

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    DBTaskResult.objects.create(
        id=uuid.uuid4(), status=status, args_kwargs={"args": [upload.pk], "kwargs": {}},
        task_path=services.apply_import_task.module_path, queue_name="default", backend_name="default",
        priority=0, run_after=now, started_at=now - datetime.timedelta(minutes=started_minutes_ago),
        exception_class_path="", traceback="",
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_dead_worker_is_recognised_at_once(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    """A worker that took the apply over a minute ago and is gone — on PostgreSQL it holds no lock on the import, on
    SQLite its process has ended — is recognised at once (not after BULK_STALLED_MINUTES); a live apply, or one
    still queued, is left alone."""
    import threading

    from django.db import connection, transaction
    from django.utils import timezone

    settings.BULK_BACKGROUND_BYTES = 10**9
    settings.TASKS = DUMMY
    client = cast.client("city-hz")
    target = m11("杭州市")
    data = fill(download_template(client, cast.orgs["hangzhou"].pk, target.period_id), NUMBERS)
    upload_ = upload(client, "杭州.xlsx", data)
    assert upload_.status == Import.Status.CHECKED
    Import.objects.filter(pk=upload_.pk).update(status=Import.Status.APPLYING, touched_at=timezone.now())
    page = f"/bulk/imports/{upload_.pk}/"

    _task_row(upload_, "READY", 0)  # queued behind other work: not dead
    assert "上次导入中断" not in client.get(page).content.decode()
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    _task_row(upload_, "RUNNING", 0.2)  # just taken: the apply may not have its lock yet
    assert "上次导入中断" not in client.get(page).content.decode()
    DBTaskResult.objects.all().delete()
    _task_row(upload_, "RUNNING", 2)

    if connection.vendor == "postgresql":
        # A live apply holds the row: left alone however long it runs.
        holding, release = threading.Event(), threading.Event()

        def apply_in_progress() -> None:
            with transaction.atomic():
                Import.objects.select_for_update().get(pk=upload_.pk)
                holding.set()
                release.wait(10)
            connection.close()

        worker = threading.Thread(target=apply_in_progress)
        worker.start()
        assert holding.wait(10)
        try:
            assert "上次导入中断" not in client.get(page).content.decode()
            assert Import.objects.get(pk=upload_.pk).status == Import.Status.APPLYING
        finally:
            release.set()
            worker.join()
        # No lock, the task taken two minutes ago: the worker died.
    else:
        # SQLite has no row locks to tell by: the worker's process does. Not recorded, or on another machine: the
        # stall period decides; alive: left alone.
        for name in ("", f"another-host:{os.getpid()}", services._worker_name()):
            Import.objects.filter(pk=upload_.pk).update(worker=name)
            assert "上次导入中断" not in client.get(page).content.decode()
            assert Import.objects.get(pk=upload_.pk).status == Import.Status.APPLYING
        finished = subprocess.Popen(["true"])  # noqa: S607 — a process that has certainly ended
        finished.wait()
        Import.objects.filter(pk=upload_.pk).update(worker=f"{socket.gethostname()}:{finished.pid}")
    assert "上次导入中断" in client.get(page).content.decode()
    assert Import.objects.get(pk=upload_.pk).status == Import.Status.CHECKED
    # The dead worker's task is marked failed instead of "running" for ever.
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["FAILED"]
