"""导出填报数据: the data values a user may see, filtered, as CSV (streamed row by row) or Excel (written in
openpyxl's write-only mode, so memory stays flat). Large Excel exports, and every export requested through the
API, are built by the task worker into a stored file with a progress bar. Every text cell that a spreadsheet
could take for a formula (= + - @ tab CR) is neutralised with a leading apostrophe."""

from __future__ import annotations

import csv
import logging
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_tasks import task

from infocity.accounts.models import User
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.reporting import services as reporting
from infocity.reporting.models import DataValue
from infocity.reporting.scoping import submissions_visible_to
from infocity.scoping import parse_id

from .models import Blob, Export

logger = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["区划代码", "城市", "报告期", "填报表", "状态", "填报项代码", "填报项", "单位", "数值", "说明"]
FILTERS = {
    "cycle": "submission__period__cycle_id",
    "period": "submission__period__code",
    "form": "submission__form__code",
    "city": "submission__city__division_id",
    "status": "submission__status",
}


def clean_filters(raw: Any) -> dict[str, str]:
    """The known filters with a value, as text (an unknown or empty filter is dropped)."""
    answer = {}
    for key in FILTERS:
        value = raw.get(key)
        if value not in (None, ""):
            text = str(value).replace("\x00", "").strip()[:40]
            answer[key] = str(parse_id(text)) if key == "cycle" else text
    return answer


def values_for(user: User, filters: dict[str, str]) -> QuerySet[DataValue]:
    values = DataValue.objects.filter(submission__in=submissions_visible_to(user))
    for key, value in filters.items():
        values = values.filter(**{FILTERS[key]: value})
    return values


def safe(value: Any) -> Any:
    """A cell that cannot run as a formula: text starting with = + - @ tab or CR gets a leading apostrophe
    (numbers, including negative ones, stay numbers)."""
    text = "" if value is None else str(value)
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def rows(values: QuerySet[DataValue]) -> Iterator[list[Any]]:
    ordered = values.select_related("submission__city", "submission__period", "submission__form", "item").order_by(
        "submission__period__ends_on", "submission__city__division_id", "submission__form__order", "item__order"
    )
    for dv in ordered.iterator(chunk_size=2000):
        s = dv.submission
        value = reporting.canonical(dv.item, reporting.stored_value(dv))
        yield [safe(x) for x in (s.city.code, s.city.name, s.period.code, s.form.code, s.get_status_display(),
                                 dv.item.code, dv.item.name_zh, dv.item.unit, value, dv.explanation)]  # fmt: skip


class Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(values: QuerySet[DataValue]) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield "\ufeff" + writer.writerow(HEADER)
    for row in rows(values):
        yield writer.writerow(row)


def write_xlsx(values: QuerySet[DataValue], path: str, total: int, step: Any = None) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("填报数据")
    sheet.append(HEADER)
    count = 0
    for row in rows(values):
        row[8] = _number(row[8])
        sheet.append(row)
        count += 1
        if step is not None and count % 5000 == 0:
            step(count, total)
    book.save(path)
    return count


def _number(text: str) -> Any:
    """A canonical decimal as an Excel number when a double holds it exactly as written, else the text."""
    if not text or not (text[0].isdigit() or text[0] == "-"):
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    exact = format(Decimal(repr(number)).normalize(), "f") == format(Decimal(text).normalize(), "f")
    return (int(number) if number.is_integer() and abs(number) < 2**53 else number) if exact else text


def audit_export(actor: User, filters: dict[str, str], fmt: str, request: HttpRequest | None) -> None:
    with transaction.atomic():
        record(Action.REPORT_EXPORT, actor=actor, request=request,
               detail={"report": "data-values", "format": fmt, **filters})  # fmt: skip


def request_export(*, actor: User, filters: dict[str, str], fmt: str, request: HttpRequest | None = None) -> Export:
    """Queue an export to be built by the task worker."""
    with transaction.atomic():
        export = Export.objects.create(requested_by=actor, format=fmt, filters=filters)
        record(Action.REPORT_EXPORT, actor=actor, request=request, target=export,
               detail={"report": "data-values", "format": fmt, "background": True, **filters})  # fmt: skip
        build_export.enqueue(export.pk)
    export.refresh_from_db()
    return export


@task()
def build_export(export_id: int) -> None:
    claimed = Export.objects.filter(pk=export_id, status=Export.Status.QUEUED).update(status=Export.Status.RUNNING)
    if not claimed:
        return
    export = Export.objects.select_related("requested_by").get(pk=export_id)
    values = values_for(export.requested_by, export.filters)
    total = values.count()

    def step(done: int, total: int) -> None:
        Export.objects.filter(pk=export_id).update(progress=min(99, int(100 * done / max(total, 1))), rows=done)

    try:
        with tempfile.NamedTemporaryFile(suffix="." + export.format, dir=settings.BULK_TEMP_DIR) as handle:
            if export.format == Export.Format.XLSX:
                count = write_xlsx(values, handle.name, total, step)
            else:
                count = 0
                with Path(handle.name).open("w", encoding="utf-8", newline="") as text:
                    for line in csv_lines(values):
                        text.write(line)
                        count += 1
                        if count % 5000 == 0:
                            step(count, total)
                count -= 1  # the header
            with Path(handle.name).open("rb") as built, transaction.atomic():
                blob = Blob.store(export.filename, built)
                Export.objects.filter(pk=export_id).update(
                    status=Export.Status.DONE, progress=100, rows=count, file=blob, finished_at=timezone.now()
                )
    except Exception as error:
        logger.exception("export %s failed", export_id)
        Export.objects.filter(pk=export_id).update(
            status=Export.Status.FAILED,
            failure=f"导出时出错（{type(error).__name__}）。请稍后重试；如再次出错，请联系系统管理员。",
            finished_at=timezone.now(),
        )
