"""Bulk import (批量导入): check an uploaded file (a dry run that lists every change and every problem), then
apply exactly what was checked — all or nothing, through the reporting services like web entry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from infocity.accounts.models import Role, User
from infocity.audit.models import Action
from infocity.audit.services import record
from infocity.frameworks.models import DataItem
from infocity.reporting import services as reporting
from infocity.reporting.models import Status, Submission
from infocity.reporting.scoping import submissions_visible_to
from infocity.reporting.validation import ParseError, parse_value

from .models import Import
from .reading import Cell, UploadRefused, cell_text, read_upload

IMPORT_ROLES = frozenset({Role.CITY_REPORTER, Role.CITY_APPROVER})


class ImportError_(ValueError):
    """The checked import can no longer be applied as checked."""


@dataclass
class _Entry:
    submission: Submission
    items: dict[str, DataItem]
    values: dict[str, tuple[str, Cell]]
    explanations: dict[str, str]


def _problem(cell: Cell | None, message: str, item: str = "") -> dict[str, Any]:
    if cell is None:
        return {"sheet": "", "row": None, "column": None, "item": item, "message": message}
    return {"sheet": cell.sheet, "row": cell.row, "column": cell.column, "item": item, "message": message}


def check_upload(*, actor: User, filename: str, data: bytes, request: HttpRequest | None = None) -> Import:
    """Read and check the file; store it with its plan (what would change) or its problems. Nothing else changes."""
    if actor.role not in IMPORT_ROLES:
        raise PermissionDenied("只有城市填报员和城市负责人可以导入本市的数据。")
    digest = hashlib.sha256(data).hexdigest()
    kind = ""
    problems: list[dict[str, Any]] = []
    plan: list[dict[str, Any]] = []
    try:
        table = read_upload(filename, data)
        kind = table.kind
    except UploadRefused as refused:
        problems.append(_problem(None, str(refused)))
    else:
        plan, problems = _plan(actor, table.rows)
    with transaction.atomic():
        upload = Import.objects.create(
            uploaded_by=actor, filename=filename[:200], sha256=digest, content=data, kind=kind,
            status=Import.Status.REJECTED if problems else Import.Status.CHECKED, plan=plan, errors=problems,
        )  # fmt: skip
        record(Action.BULK_CHECK, actor=actor, request=request, target=upload,
               detail={"file": filename[:200], "sha256": digest, "changes": upload.change_count,
                       "problems": len(problems)})  # fmt: skip
    return upload


def _plan(actor: User, rows: list[dict[str, Cell]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []
    visible = submissions_visible_to(actor).select_related("period__cycle__edition", "form", "city")
    entries: dict[tuple[str, str, str], _Entry | None] = {}
    for row in rows:
        key = (cell_text(row["city"]), cell_text(row["period"]), cell_text(row["form"]))
        if key not in entries:
            submission = visible.filter(city__division_id=key[0], period__code=key[1], form__code=key[2]).first()
            if submission is None or submission.city_id != actor.organisation_id:
                entries[key] = None
            else:
                items = {item.code: item for item in reporting.form_items(submission)}
                entries[key] = _Entry(submission, items, {}, {})
        entry = entries[key]
        if entry is None:
            problems.append(
                _problem(row["city"], f"找不到可由您填写的报送：{key[0]} {key[1]} {key[2]}（只能导入本市的数据）。")
            )
            continue
        code = cell_text(row["item"])
        item = entry.items.get(code)
        if item is None:
            problems.append(_problem(row["item"], f"填报项代码“{code}”不在{entry.submission.form.name_zh}中。", code))
            continue
        cell = row["value"]
        if cell.formula_without_value:
            problems.append(
                _problem(
                    cell, f"{item.name_zh}：单元格是公式但没有计算结果。请在 Excel/WPS 中打开并保存后再上传。", code
                )
            )
            continue
        try:
            text = cell_text(cell)
            if text:
                parse_value(item, text)
        except (ParseError, ValueError) as error:
            problems.append(_problem(cell, f"{item.name_zh}：{error}", code))
            continue
        if code in entry.values:
            problems.append(_problem(cell, f"{item.name_zh}在文件中出现了不止一次。", code))
            continue
        if text:
            entry.values[code] = (text, cell)
        explanation = row.get("explanation")
        if explanation is not None and cell_text(explanation):
            entry.explanations[code] = cell_text(explanation)
    plan: list[dict[str, Any]] = []
    for entry in entries.values():
        if entry is None or not (entry.values or entry.explanations):
            continue
        problems += _check_entry(entry)
        plan.append(_changes(entry))
    return [p for p in plan if p["changes"]], problems


def _check_entry(entry: _Entry) -> list[dict[str, Any]]:
    """The edition's rules on the values as they would be after the import (errors, and warnings without a note)."""
    submission = entry.submission
    first = next(iter(entry.values.values()), (None, None))[1]
    if submission.status != Status.DRAFT:
        return [_problem(first, f"{submission}当前状态为“{submission.get_status_display()}”，不能修改。")]
    current, explanations = reporting.current_values(submission)
    merged = {code: value or "" for code, value in current.items()} | {c: v for c, (v, _) in entry.values.items()}
    notes = explanations | entry.explanations
    check, _previous = reporting.check_submission(submission, merged)
    problems = []
    for message in check.messages:
        if message.code not in entry.values:
            continue
        cell = entry.values[message.code][1]
        if message.severity == "error":
            problems.append(_problem(cell, message.text, message.code))
        elif not notes.get(message.code, "").strip():
            problems.append(_problem(cell, f"{message.text}（请在“说明”列填写说明）", message.code))
    return problems


def _changes(entry: _Entry) -> dict[str, Any]:
    current, explanations = reporting.current_values(entry.submission)
    changes = []
    for code, (text, _cell) in entry.values.items():
        item = entry.items[code]
        new = reporting.canonical(item, parse_value(item, text))
        if new != current.get(code) or entry.explanations.get(code, explanations.get(code, "")) != explanations.get(
            code, ""
        ):
            changes.append({"item": code, "name": item.name_zh, "old": current.get(code), "new": new,
                            "explanation": entry.explanations.get(code, "")})  # fmt: skip
    for code, note in entry.explanations.items():
        if code not in entry.values and note != explanations.get(code, ""):
            changes.append({"item": code, "name": entry.items[code].name_zh, "old": current.get(code),
                            "new": current.get(code), "explanation": note})  # fmt: skip
    return {"submission": entry.submission.pk, "label": str(entry.submission), "version": entry.submission.version,
            "changes": changes}  # fmt: skip


def apply_import(*, actor: User, upload: Import, request: HttpRequest | None = None) -> Import:
    """Apply the checked plan in one transaction; if any submission changed since the check, nothing is applied."""
    with transaction.atomic():
        locked = Import.objects.select_for_update().get(pk=upload.pk)
        if locked.uploaded_by_id != actor.pk:
            raise PermissionDenied("只能导入自己上传的文件。")
        if locked.status == Import.Status.APPLIED:
            return locked  # a second click: already done
        if locked.status != Import.Status.CHECKED:
            raise ImportError_("这个文件有错误，不能导入。请修改后重新上传。")
        for entry in locked.plan:
            submission = Submission.objects.select_for_update().get(pk=entry["submission"])
            if submission.version != entry["version"]:
                raise ImportError_(f"{entry['label']}在检查之后已被修改，请重新上传文件检查。")
            raw = {c["item"]: c["new"] or "" for c in entry["changes"] if c["new"] is not None}
            notes = {c["item"]: c["explanation"] for c in entry["changes"] if c["explanation"]}
            reporting.save_draft(actor=actor, submission=submission, raw=raw, explanations=notes,
                                 base_version=submission.version, request=request)  # fmt: skip
        locked.status, locked.applied_at = Import.Status.APPLIED, timezone.now()
        locked.save(update_fields=["status", "applied_at"])
        record(Action.BULK_IMPORT, actor=actor, request=request, target=locked,
               detail={"file": locked.filename, "sha256": locked.sha256, "changes": locked.change_count})  # fmt: skip
    return locked
