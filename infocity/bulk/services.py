"""Bulk import (批量导入): check an uploaded file — a dry run that lists every change and every problem — then
apply exactly what was checked, all or nothing, through the reporting services like web entry.

The file is read as a stream and never held whole: rows are grouped per submission into ``ImportEntry`` rows
(flushed every few thousand values), each batch of entries is checked against the edition's rules with a few
set-based queries, and applying writes batches of drafts with :func:`reporting.fill_drafts` in one transaction.
Files above ``BULK_BACKGROUND_BYTES`` are checked, and imports above ``BULK_BACKGROUND_CHANGES`` applied, by
the task worker while the page shows a progress bar."""

from __future__ import annotations

import datetime
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django_tasks import task

from infocity.accounts.models import Role, User
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.frameworks.models import DataItem
from infocity.reporting import services as reporting
from infocity.reporting.models import DataValue, Status, Submission
from infocity.reporting.scoping import submissions_visible_to
from infocity.reporting.services import MAX_TYPED, clean_text
from infocity.reporting.validation import CheckResult, check_values

from .models import Blob, Import, ImportEntry
from .reading import HEADERS, Cell, UploadRefused, cell_text, open_upload

logger = logging.getLogger(__name__)

IMPORT_ROLES = frozenset({Role.CITY_REPORTER, Role.CITY_APPROVER, Role.PROVINCE_REVIEWER})
MAX_STORED_PROBLEMS = 1000
FLUSH_VALUES = 20_000  # values held in memory before they are written to ImportEntry rows
BATCH = 500  # submissions checked or applied per round of queries
COLUMN_NAMES = {key: name for name, key in HEADERS.items()}


class ImportError_(ValueError):
    """The checked import can no longer be applied as checked."""


def _problem(cell: Cell | None, message: str, item: str = "") -> dict[str, Any]:
    if cell is None:
        return {"sheet": "", "row": None, "column": None, "item": item, "message": message}
    return {"sheet": cell.sheet, "row": cell.row, "column": cell.column, "item": item, "message": message}


def _stored_problem(position: list[Any], message: str, item: str) -> dict[str, Any]:
    _text, sheet, row, column = position
    return {"sheet": sheet, "row": row, "column": column, "item": item, "message": message}


# --- upload and check ----------------------------------------------------------------------------


def check_upload(*, actor: User, filename: str, file: Any, request: HttpRequest | None = None) -> Import:
    """Store the uploaded file and check it: in this request when it is small, else by the task worker (the
    import page follows its progress). ``file`` is an uploaded file or any binary file object."""
    if actor.role not in IMPORT_ROLES:
        raise PermissionDenied("只有城市填报员、城市负责人和省级审核员可以导入数据。")
    with transaction.atomic():
        blob = Blob.store(filename, file)
        upload = Import.objects.create(
            uploaded_by=actor, filename=filename[:200], sha256=blob.sha256, file=blob, stage="排队等待检查"
        )
        background = blob.size > settings.BULK_BACKGROUND_BYTES
        if background:
            check_import_task.enqueue(upload.pk)  # the task row commits with the upload
    if not background:
        run_check(upload.pk, request=request)
    upload.refresh_from_db()
    return upload


@task()
def check_import_task(import_id: int) -> None:
    run_check(import_id)


def run_check(import_id: int, request: HttpRequest | None = None) -> None:
    """Check a queued upload. Only ``ImportEntry`` rows and the upload's own progress are written."""
    claimed = Import.objects.filter(pk=import_id, status=Import.Status.QUEUED).update(
        status=Import.Status.CHECKING, stage="正在读取文件", progress=0, touched_at=timezone.now()
    )
    if not claimed:
        return  # already checked (a task delivered twice)
    upload = Import.objects.select_related("uploaded_by", "file").get(pk=import_id)
    checker = _Checker(upload)
    try:
        with upload.file.as_file() as path:
            try:
                source = open_upload(upload.filename, path)
                Import.objects.filter(pk=import_id).update(kind=source.kind)
                checker.read(source)
                checker.check()
            except UploadRefused as refused:
                checker.refuse(str(refused))
        checker.finish(request)
    except Exception as error:  # a bug, or the database went away: the upload says so, nothing was changed
        logger.exception("import %s could not be checked", import_id)
        ImportEntry.objects.filter(upload_id=import_id).delete()
        Import.objects.filter(pk=import_id).update(
            status=Import.Status.FAILED,
            stage="检查未完成",
            failure=f"检查时出错（{type(error).__name__}）。请稍后重新上传；如再次出错，请联系系统管理员。",
        )


@dataclass
class _Group:
    values: dict[str, list[Any]] = field(default_factory=dict)  # code → [text, sheet, row, column]
    explanations: dict[str, str] = field(default_factory=dict)


class _Checker:
    def __init__(self, upload: Import) -> None:
        self.upload = upload
        self.actor = upload.uploaded_by
        self.problems: list[dict[str, Any]] = []
        self.problem_count = 0
        self.rows = 0
        self.slots: dict[tuple[str, str], dict[str, list[int]]] = {}  # (period, form) → city code → submissions
        self.meta: dict[int, int] = {}  # the template's submissions (id → version), from its hidden sheet
        self.ambiguous: set[tuple[str, str, str]] = set()  # reported once
        self.forms: dict[int, int] = {}  # submission id → form id
        self.form_items: dict[int, dict[str, DataItem]] = {}  # form id → its items by code
        self.pending: dict[int, _Group] = {}
        self.pending_values = 0
        self.flushed: set[int] = set()  # submissions whose entry is written
        self.reopened: set[int] = set()  # … and met again later in the file: checked again at the end
        self.last: int | None = None  # the submission of the latest row (its group may go on)
        self.entry_problems: dict[int, int] = {}  # submission → how many problems its check found
        self.refused = False

    def items(self, submission_id: int) -> dict[str, DataItem]:
        return self.form_items[self.forms[submission_id]]

    def add(self, problem: dict[str, Any], submission_id: int | None = None) -> None:
        """Count a problem and keep it (the first MAX_STORED); a submission's problems can be withdrawn when it
        is checked again with more of its rows."""
        self.problem_count += 1
        if submission_id is not None:
            self.entry_problems[submission_id] = self.entry_problems.get(submission_id, 0) + 1
            problem = {**problem, "_submission": submission_id}
        if len(self.problems) < MAX_STORED_PROBLEMS:
            self.problems.append(problem)

    def withdraw(self, submission_id: int) -> None:
        self.problem_count -= self.entry_problems.pop(submission_id, 0)
        self.problems = [p for p in self.problems if p.get("_submission") != submission_id]

    def refuse(self, message: str) -> None:
        ImportEntry.objects.filter(upload=self.upload).delete()
        self.problems, self.problem_count, self.refused = [], 0, True
        self.add(_problem(None, message))

    def progress(self, value: float, stage: str) -> None:
        Import.objects.filter(pk=self.upload.pk).update(
            progress=int(value), stage=stage[:200], rows=self.rows, touched_at=timezone.now()
        )

    # reading: stream the rows, group them per submission ------------------------------------------

    def _submission(self, city: str, period: str, form: str, cell: Cell) -> int | None:
        """The submission a row fills. The same city, period code and form in two cycles (overlapping cohorts)
        is told apart by the template's hidden sheet; without it the row is refused rather than guessed."""
        candidates = self._candidates(city, period, form)
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        chosen = [pk for pk in candidates if pk in self.meta]
        if len(chosen) == 1:
            return chosen[0]
        if (city, period, form) not in self.ambiguous:
            self.ambiguous.add((city, period, form))
            self.add(_problem(cell, f"{city} {period} {form} 在多个报送周期中都有报送，无法确定要填写哪一份。"
                                    "请从对应周期的页面下载填报模板，填写后上传。"))  # fmt: skip
        return -1

    def _candidates(self, city: str, period: str, form: str) -> list[int]:
        key = (period, form)
        if key not in self.slots:
            visible = submissions_visible_to(self.actor).filter(period__code=period, form__code=form)
            if self.actor.role != Role.PROVINCE_REVIEWER:
                visible = visible.filter(city_id=self.actor.organisation_id)
            found: dict[str, list[int]] = {}
            for pk, code, form_id in visible.order_by("pk").values_list("pk", "city__division_id", "form_id"):
                found.setdefault(code, []).append(pk)
                self.forms[pk] = form_id
                if form_id not in self.form_items:
                    self.form_items[form_id] = {item.code: item for item in _items_of_form(form_id)}
            self.slots[key] = found
        return self.slots[key].get(city, [])

    def read(self, source: Any) -> None:
        """Read the rows, grouping them per submission; whenever FLUSH_VALUES values are held, the complete groups
        are checked and written (the latest group stays: its rows may go on)."""
        last = 0
        self.meta = source.meta
        for row in source.rows:
            self.rows += 1
            self._row(row)
            if self.pending_values >= FLUSH_VALUES:
                self.flush(keep_last=True)
            if self.rows - last >= 5000:
                last = self.rows
                self.progress(95 * source.done(), f"正在读取并检查：已读 {self.rows} 行")
        if not self.rows:
            raise source.nothing_found()
        self.flush(keep_last=False)

    def _key(self, row: dict[str, Cell], key: str) -> str | None:
        """A code cell's text; a date there (Excel turns 2016-11 into a date) is reported at the cell."""
        try:
            return clean_text(cell_text(row[key]), 100)
        except ValueError:
            self.add(_problem(row[key], f"“{COLUMN_NAMES[key]}”列应填写代码，不能是日期或时间。"
                                        "请把该列的单元格格式设为“文本”，重新填写后上传。"))  # fmt: skip
            return None

    def _row(self, row: dict[str, Cell]) -> None:
        city, period, form = (self._key(row, k) for k in ("city", "period", "form"))
        if city is None or period is None or form is None:
            return
        pk = self._submission(city, period, form, row["city"])
        if pk == -1:
            return
        if pk is None:
            scope = "本省各城市" if self.actor.role == Role.PROVINCE_REVIEWER else "本市"
            self.add(
                _problem(row["city"], f"找不到可由您填写的报送：{city} {period} {form}（只能导入{scope}的数据）。")
            )
            return
        code = self._key(row, "item")
        if code is None:
            return
        item = self.items(pk).get(code)
        if item is None:
            self.add(_problem(row["item"], f"填报项代码“{code}”不在填报表 {form} 中。", code))
            return
        cell = row["value"]
        if cell.formula_without_value:
            message = f"{item.name_zh}：单元格是公式但没有计算结果。请在 Excel/WPS 中打开并保存后再上传。"
            self.add(_problem(cell, message, code))
            return
        try:
            # the type and bounds are checked with the edition's rules, per submission; the text is kept as web
            # entry keeps it (no control characters, bounded), so a re-upload finds nothing to change
            text = clean_text(cell_text(cell), MAX_TYPED)
        except ValueError as error:
            self.add(_problem(cell, f"{item.name_zh}：{error}", code))
            return
        group = self.pending.setdefault(pk, _Group())
        self.last = pk
        if code in group.values:
            self.add(_problem(cell, f"{item.name_zh}在文件中出现了不止一次。", code))
            return
        if text:
            group.values[code] = [text, cell.sheet, cell.row, cell.column]
            self.pending_values += 1
        explanation = row.get("explanation")
        note = clean_text(cell_text(explanation, dates_as_text=True)) if explanation is not None else ""
        if note:
            group.explanations[code] = note

    def flush(self, keep_last: bool) -> None:
        """Check and write the groups held; a submission met again after its entry was written is merged into it
        and checked again at the end (files in the template's order never need that)."""
        held = {pk: g for pk, g in self.pending.items() if not (keep_last and pk == self.last)}
        self.pending = {pk: g for pk, g in self.pending.items() if pk not in held}
        self.pending_values = sum(len(g.values) for g in self.pending.values())
        fresh = [pk for pk, g in held.items() if pk not in self.flushed and (g.values or g.explanations)]
        for start in range(0, len(fresh), BATCH):
            entries = [
                ImportEntry(upload=self.upload, submission_id=pk, values=held[pk].values,
                            explanations=held[pk].explanations)
                for pk in fresh[start : start + BATCH]
            ]  # fmt: skip
            self._evaluate(entries)
            ImportEntry.objects.bulk_create(entries)
            self.flushed.update(e.submission_id for e in entries)
        for pk, group in held.items():
            if pk not in self.flushed or pk in fresh:
                continue
            entry = ImportEntry.objects.get(upload=self.upload, submission_id=pk)
            for code, position in group.values.items():
                if code in entry.values:
                    self.add(_stored_problem(position, f"{self.items(pk)[code].name_zh}在文件中出现了不止一次。",
                                             code))  # fmt: skip
            entry.values = {**group.values, **entry.values}
            entry.explanations = {**group.explanations, **entry.explanations}
            entry.save(update_fields=["values", "explanations"])
            self.reopened.add(pk)

    def check(self) -> None:
        """Check again, with all their rows, the submissions whose rows were not together in the file."""
        reopened = sorted(self.reopened)
        for start in range(0, len(reopened), BATCH):
            chunk = reopened[start : start + BATCH]
            for pk in chunk:
                self.withdraw(pk)
            entries = list(ImportEntry.objects.filter(upload=self.upload, submission_id__in=chunk).order_by("pk"))
            self._evaluate(entries)
            ImportEntry.objects.bulk_update(entries, ["version", "changes", "change_count"])
            self.progress(95 + 5 * (start + BATCH) / len(reopened), "正在检查分散在文件各处的报送")

    def _evaluate(self, entries: list[ImportEntry]) -> None:
        """The dry run of a batch of entries: the changes, and the problems by the edition's rules (a few queries
        for the whole batch)."""
        submissions = Submission.objects.select_related("period__cycle__edition", "form", "city").in_bulk(
            [e.submission_id for e in entries]
        )
        current = _current_values([e.submission_id for e in entries])
        previous = reporting.previous_values_many(list(submissions.values()))
        for entry in entries:
            submission = submissions[entry.submission_id]
            values, explanations = current.get(submission.pk, ({}, {}))
            merged = {code: value or "" for code, value in values.items()} | {c: v[0] for c, v in entry.values.items()}
            compiled = reporting.compiled_edition(submission.period.cycle.edition)
            label, before = previous[submission.pk]
            check = check_values(compiled, reporting.form_items(submission), merged, before, previous_label=label)
            entry.version = submission.version
            entry.changes = self._changes(submission, entry, check.values, values, explanations)
            entry.change_count = len(entry.changes)
            for problem in self._problems(submission, entry, check, explanations):
                self.add(problem, submission.pk)

    def _problems(
        self, submission: Submission, entry: ImportEntry, check: CheckResult, explanations: dict[str, str]
    ) -> list[dict[str, Any]]:
        first = next(iter(entry.values.values()), None) or [None, "", None, None]
        if not entry.changes:
            # Nothing to write here (a province's file may hold cities that have already sent their data): only
            # a value that cannot be read is worth telling.
            return [_stored_problem(entry.values[m.code], m.text, m.code) for m in check.messages
                    if m.severity == "error" and m.code in entry.values]  # fmt: skip
        if submission.status != Status.DRAFT:
            return [
                _stored_problem(first, f"{submission}当前状态为“{submission.get_status_display()}”，不能修改。", "")
            ]
        try:
            reporting.check_open(submission)
        except reporting.WorkflowError as closed:
            return [_stored_problem(first, f"{submission}：{' '.join(closed.messages)}", "")]
        problems = []
        for code in sorted({c["item"] for c in entry.changes}):
            if not submission.item_editable(code):
                position = entry.values.get(code, first)
                name = self.items(submission.pk)[code].name_zh
                problems.append(_stored_problem(position, f"{name}已受理锁定，不能修改；如需更正，请申请解锁。", code))
        notes = explanations | entry.explanations
        for message in check.messages:
            if message.code not in entry.values:
                continue
            position = entry.values[message.code]
            if message.severity == "error":
                problems.append(_stored_problem(position, message.text, message.code))
            elif not notes.get(message.code, "").strip():
                problems.append(_stored_problem(position, f"{message.text}（请在“说明”列填写说明）", message.code))
        return problems

    def _changes(
        self,
        submission: Submission,
        entry: ImportEntry,
        typed: dict[str, Any],
        current: dict[str, str | None],
        explanations: dict[str, str],
    ) -> list[dict[str, Any]]:
        """Old → new for every value or explanation the file changes (``typed``: the checked values)."""
        items = self.items(submission.pk)
        changes = []
        for code in entry.values:
            item = items[code]
            new = reporting.canonical(item, typed.get(code))
            note = entry.explanations.get(code, explanations.get(code, ""))
            if new != current.get(code) or note != explanations.get(code, ""):
                changes.append({"item": code, "name": item.name_zh, "old": current.get(code), "new": new,
                                "explanation": entry.explanations.get(code, "")})  # fmt: skip
        for code, note in entry.explanations.items():
            if code not in entry.values and note != explanations.get(code, ""):
                changes.append({"item": code, "name": items[code].name_zh, "old": current.get(code),
                                "new": current.get(code), "explanation": note})  # fmt: skip
        return changes

    def finish(self, request: HttpRequest | None) -> None:
        entries = ImportEntry.objects.filter(upload=self.upload)
        if self.problem_count and not self.refused:
            self.problems.sort(key=lambda p: (p["sheet"] or "", p["row"] or 0, p["column"] or 0))
        with transaction.atomic():
            changed = entries.filter(change_count__gt=0)
            changes = sum(changed.values_list("change_count", flat=True))
            upload = Import.objects.select_for_update().get(pk=self.upload.pk)
            upload.status = Import.Status.REJECTED if self.problem_count else Import.Status.CHECKED
            upload.progress, upload.stage, upload.rows = 100, "检查完成", self.rows
            upload.errors = [{k: v for k, v in p.items() if k != "_submission"} for p in self.problems]
            upload.error_count = self.problem_count
            upload.change_count, upload.submission_count = changes, changed.count()
            upload.save()
            record(Action.BULK_CHECK, actor=self.actor, request=request, target=upload,
                   detail={"file": upload.filename, "sha256": upload.sha256, "rows": self.rows, "changes": changes,
                           "problems": self.problem_count})  # fmt: skip


_items_by_form: dict[int, list[DataItem]] = {}


def _items_of_form(form_id: int) -> list[DataItem]:
    if form_id not in _items_by_form:
        _items_by_form[form_id] = list(DataItem.objects.filter(form_id=form_id).select_related("area"))
    return _items_by_form[form_id]


def _current_values(ids: list[int]) -> dict[int, tuple[dict[str, str | None], dict[str, str]]]:
    """:func:`reporting.current_values` for many submissions in one query."""
    answer: dict[int, tuple[dict[str, str | None], dict[str, str]]] = {pk: ({}, {}) for pk in ids}
    rows = DataValue.objects.filter(submission_id__in=ids).values_list(
        "submission_id", "item__code", "item__value_type", "number", "text", "explanation"
    )
    for pk, code, value_type, number, text, explanation in rows:
        values, explanations = answer[pk]
        if number is not None:
            is_bool = value_type == DataItem.Type.BOOLEAN
            values[code] = ("是" if number else "否") if is_bool else format(number.normalize(), "f")
        elif text:
            values[code] = text
        if explanation:
            explanations[code] = explanation
    return answer


def planned_changes(upload: Import, limit: int = 500) -> Iterator[dict[str, Any]]:
    """The dry run's changes, submission by submission (the first ``limit``), for the page."""
    shown = 0
    entries = upload.entries.filter(change_count__gt=0).select_related(
        "submission__city", "submission__form", "submission__period"
    )
    for entry in entries.order_by("pk")[:limit]:  # every entry listed has at least one change
        for number, change in enumerate(entry.changes):
            if shown >= limit:
                return
            shown += 1
            yield {**change, "label": str(entry.submission) if number == 0 else ""}


def expire_stalled(upload: Import) -> Import:
    """An upload whose check or apply has given no sign of life for ``BULK_STALLED_MINUTES`` was interrupted (the
    worker was stopped or the machine restarted): a check is marked failed, an apply goes back to "checked" —
    its transaction was undone, so nothing was written and it can be applied again. An apply still running holds
    its row locked and is left alone."""
    stalled = {Import.Status.CHECKING, Import.Status.APPLYING}
    if upload.status not in stalled or upload.touched_at is None:
        return upload
    cutoff = timezone.now() - datetime.timedelta(minutes=settings.BULK_STALLED_MINUTES)
    died = upload.touched_at > cutoff and _apply_worker_died(upload)
    if upload.touched_at > cutoff and not died:
        return upload
    with transaction.atomic():
        candidates = Import.objects.select_for_update(skip_locked=True).filter(pk=upload.pk, status__in=stalled)
        locked = (candidates if died else candidates.filter(touched_at__lt=cutoff)).first()
        if locked is None:
            return Import.objects.get(pk=upload.pk)
        if locked.status == Import.Status.CHECKING:
            ImportEntry.objects.filter(upload=locked).delete()
            locked.status, locked.stage = Import.Status.FAILED, "检查未完成"
            locked.failure = "检查中断（后台任务被停止或服务器重启），没有写入任何数据。请重新上传这个文件。"
        else:
            locked.status, locked.stage, locked.progress = Import.Status.CHECKED, "导入中断，可重新导入", 100
            locked.failure = "上次导入中断（后台任务被停止或服务器重启），没有写入任何数据。可以再次点击“导入”。"
            # The dead worker's task stays "running" in the task table otherwise: it failed.
            _apply_tasks(locked).filter(status="RUNNING").update(
                status="FAILED", finished_at=timezone.now(), exception_class_path="builtins.SystemExit",
                traceback="任务进程已终止（被强制结束或服务器重启），导入未完成，没有写入任何数据。",
            )  # fmt: skip
        locked.save(update_fields=["status", "stage", "progress", "failure"])
        record(Action.BULK_CHECK, actor=None, target=locked,
               detail={"file": locked.filename, "interrupted": True, "status": locked.status})  # fmt: skip
    return locked


def _apply_tasks(upload: Import) -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=apply_import_task.module_path, args_kwargs__args=[upload.pk])


def _apply_worker_died(upload: Import) -> bool:
    """A dead worker is recognised at once, without waiting BULK_STALLED_MINUTES, when a worker took the apply's
    task over a minute ago (the task is RUNNING), it is not queued again, and the worker is gone:

    - on PostgreSQL, nobody holds the import's row — which a running apply keeps locked from its first statement to
      its commit (``run_apply``; the caller takes the row with SKIP LOCKED, so a live apply is left alone);
    - on SQLite, which has no row locks to tell by, the worker's process (recorded by ``apply_import_task``) no
      longer exists on this machine. A worker on another machine, or not recorded, leaves it to the stall period."""
    if upload.status != Import.Status.APPLYING:
        return False
    tasks = _apply_tasks(upload)
    if tasks.filter(status="READY").exists():
        return False
    started_before = timezone.now() - datetime.timedelta(minutes=1)
    if not tasks.filter(status="RUNNING", started_at__lt=started_before).exists():
        return False
    return connection.vendor == "postgresql" or _process_gone(upload.worker)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_gone(worker: str) -> bool:
    """Whether the process named by ``_worker_name()`` has ended (False when that cannot be told from here)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


# --- apply ---------------------------------------------------------------------------------------


def apply_import(*, actor: User, upload: Import, request: HttpRequest | None = None) -> Import:
    """Apply the checked import: large ones are handed to the task worker (the page shows the progress)."""
    with transaction.atomic():
        locked = Import.objects.select_for_update().get(pk=upload.pk)
        if locked.uploaded_by_id != actor.pk:
            raise PermissionDenied("只能导入自己上传的文件。")
        if locked.status in {Import.Status.APPLIED, Import.Status.APPLYING}:
            return locked  # a second click: already done, or being done
        if locked.status != Import.Status.CHECKED:
            raise ImportError_("这个文件有错误或尚未检查完，不能导入。请修改后重新上传。")
        if locked.change_count > settings.BULK_BACKGROUND_CHANGES:
            locked.status, locked.stage, locked.progress = Import.Status.APPLYING, "排队等待导入", 0
            locked.touched_at = timezone.now()
            locked.save(update_fields=["status", "stage", "progress", "touched_at"])
            apply_import_task.enqueue(locked.pk)
            return locked
    run_apply(upload.pk, request=request, inline=True)
    return Import.objects.get(pk=upload.pk)


@task()
def apply_import_task(import_id: int) -> None:
    Import.objects.filter(pk=import_id).update(worker=_worker_name())  # committed before the apply's transaction
    run_apply(import_id)


def run_apply(import_id: int, request: HttpRequest | None = None, inline: bool = False) -> None:
    """Write every planned change in one transaction: if any submission changed since the check, or any rule
    of the reporting services refuses, nothing at all is written and the upload says why."""
    try:
        with transaction.atomic():
            upload = Import.objects.select_for_update(of=("self",)).select_related("uploaded_by").get(pk=import_id)
            if upload.status not in {Import.Status.CHECKED, Import.Status.APPLYING}:
                return
            stale = (
                upload.entries.filter(change_count=0)
                .exclude(version=F("submission__version"))
                .select_related("submission__city", "submission__period", "submission__form")
                .first()
            )
            if stale is not None:  # what the file holds is no longer what it was checked against
                raise reporting.WorkflowError(f"{stale.submission}在检查之后已被修改，请重新上传检查后再导入。")
            entries = upload.entries.filter(change_count__gt=0).order_by("pk")
            ids = list(entries.values_list("pk", flat=True))
            for start in range(0, len(ids), BATCH):
                fills = []
                for entry in ImportEntry.objects.filter(pk__in=ids[start : start + BATCH]).order_by("pk"):
                    values = {c["item"]: c["new"] for c in entry.changes if c["new"] is not None}
                    notes = {c["item"]: c["explanation"] for c in entry.changes if c["explanation"]}
                    fills.append(reporting.DraftFill(entry.submission_id, entry.version, values, notes))
                reporting.fill_drafts(actor=upload.uploaded_by, fills=fills, request=request, via=f"import:{upload.pk}")
            upload.status, upload.applied_at = Import.Status.APPLIED, timezone.now()
            upload.progress, upload.stage, upload.failure = 100, "导入完成", ""
            upload.save(update_fields=["status", "applied_at", "progress", "stage", "failure"])
            record(Action.BULK_IMPORT, actor=upload.uploaded_by, request=request, target=upload,
                   detail={"file": upload.filename, "sha256": upload.sha256, "changes": upload.change_count,
                           "submissions": upload.submission_count})  # fmt: skip
    except (reporting.WorkflowError, PermissionDenied) as refused:
        message = " ".join(getattr(refused, "messages", [str(refused)]))
        if inline:
            raise ImportError_(message) from None
        Import.objects.filter(pk=import_id).update(
            status=Import.Status.FAILED, stage="未导入", failure=f"{message}（没有写入任何数据。）"
        )
    except Exception as error:
        logger.exception("import %s could not be applied", import_id)
        if inline:
            raise
        Import.objects.filter(pk=import_id).update(
            status=Import.Status.FAILED,
            stage="未导入",
            failure=f"导入时出错（{type(error).__name__}），没有写入任何数据。请稍后重试；如再次出错，请联系系统管理员。",
        )
