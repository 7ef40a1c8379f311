"""State changes of reporting (填报 → 审核 → 受理). One function per action; each runs in one transaction,
records an immutable version of the submission and an audit event, and notifies the people concerned.
Views, the Excel upload and the API all call these."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse

from infocity.accounts.models import Role, User
from infocity.audit.models import Action
from infocity.audit.services import record, record_many
from infocity.frameworks.compute import CompiledEdition, format_value
from infocity.frameworks.formula import Value
from infocity.frameworks.models import DataItem, Edition, Form
from infocity.organisations.models import Cohort, CohortMembership, Organisation

from . import clock, content
from .calendar import standard_periods
from .models import (
    DataValue,
    Notification,
    Period,
    ReportingCycle,
    Status,
    Submission,
    SubmissionVersion,
    UnlockRequest,
)
from .signals import submission_changed
from .validation import CheckResult, ParseError, check_values, parse_value

V = SubmissionVersion.Action
# What is kept of a typed value that is not valid (a draft shows it again with its error).
MAX_TYPED = 500
CITY_ROLES = {Role.CITY_REPORTER, Role.CITY_APPROVER}


class WorkflowError(ValidationError):
    """A transition that cannot happen now, with a Chinese explanation of why and what to do."""


class AlreadyDone(WorkflowError):
    """The same action was already carried out (e.g. a double-clicked button): nothing happens twice."""


# --- cycles and the calendar ----------------------------------------------------------------------


@transaction.atomic
def create_cycle(
    *,
    actor: User | None,
    name: str,
    year: int,
    edition: Edition,
    cohorts: Iterable[Cohort],
    forms: Iterable[Form],
    description: str = "",
    request: HttpRequest | None = None,
) -> ReportingCycle:
    """A new cycle with the standard calendar for the frequencies of its forms (dates can be edited after)."""
    if edition.status != Edition.Status.PUBLISHED:
        raise ValidationError("填报周期只能使用已发布的指标体系版本。")
    forms = list(forms)
    if not forms:
        raise ValidationError("请至少选择一张填报表。")
    if any(f.edition_id != edition.pk for f in forms):
        raise ValidationError("所选填报表不属于该指标体系版本。")
    if ReportingCycle.objects.filter(name=name).exists():
        raise ValidationError(f"已有名为“{name}”的填报周期，请换一个名称。")
    cycle = ReportingCycle.objects.create(name=name, year=year, edition=edition, description=description)
    cycle.cohorts.set(cohorts)
    cycle.forms.set(forms)
    for spec in standard_periods(year, {f.frequency for f in forms}):
        Period.objects.create(cycle=cycle, **spec.__dict__)
    created = sync_expected_submissions(cycle)
    record(
        Action.CYCLE_CREATE,
        actor=actor,
        request=request,
        target=cycle,
        detail={"edition": edition.code, "periods": cycle.periods.count(), "submissions": created},
    )
    return cycle


@transaction.atomic
def update_cycle(
    *,
    actor: User,
    cycle: ReportingCycle,
    name: str,
    description: str,
    cohorts: Iterable[Cohort],
    forms: Iterable[Form],
    expected_version: int,
    request: HttpRequest | None = None,
) -> ReportingCycle:
    """Rename, or add cohorts and forms. Expected submissions are added for what was added; submissions that
    exist are never removed (nothing a city entered is lost)."""
    locked = ReportingCycle.objects.select_for_update().get(pk=cycle.pk)
    if locked.version != expected_version:
        raise ValidationError("该填报周期在您打开页面后已被他人修改，您的修改未保存。请刷新后重试。")
    forms = list(forms)
    if any(f.edition_id != locked.edition_id for f in forms):
        raise ValidationError("所选填报表不属于该周期的指标体系版本。")
    removed_forms = set(locked.forms.values_list("pk", flat=True)) - {f.pk for f in forms}
    if removed_forms and Submission.objects.filter(period__cycle=locked, form__in=removed_forms, version__gt=0):
        raise ValidationError("已有城市填报的填报表不能从周期中移除。")
    if ReportingCycle.objects.filter(name=name).exclude(pk=locked.pk).exists():
        raise ValidationError(f"已有名为“{name}”的填报周期，请换一个名称。")
    locked.name, locked.description = name, description
    locked.version += 1
    locked.save()
    locked.cohorts.set(cohorts)
    locked.forms.set(forms)
    existing = set(locked.periods.values_list("frequency", flat=True))
    for spec in standard_periods(locked.year, {f.frequency for f in forms} - existing):
        Period.objects.create(cycle=locked, **spec.__dict__)
    created = sync_expected_submissions(locked)
    dropped = _drop_unexpected(locked)
    record(
        Action.CYCLE_UPDATE,
        actor=actor,
        request=request,
        target=locked,
        detail={"new_submissions": created, "dropped_empty_submissions": dropped},
    )
    return locked


@transaction.atomic
def update_period_dates(
    *,
    actor: User,
    period: Period,
    opens_on: datetime.date,
    due_on: datetime.date,
    expires_on: datetime.date,
    request: HttpRequest | None = None,
) -> Period:
    if not opens_on <= due_on <= expires_on:
        raise ValidationError("日期须满足：开始填报 ≤ 报送期限 ≤ 关闭日期。")
    locked = Period.objects.select_for_update().get(pk=period.pk)
    before = {"opens_on": str(locked.opens_on), "due_on": str(locked.due_on), "expires_on": str(locked.expires_on)}
    locked.opens_on, locked.due_on, locked.expires_on = opens_on, due_on, expires_on
    locked.save()
    created = sync_expected_submissions(locked.cycle)
    record(
        Action.CYCLE_UPDATE,
        actor=actor,
        request=request,
        target=locked.cycle,
        detail={"period": locked.code, "before": before, "after": {"opens_on": str(opens_on), "due_on": str(due_on),
                "expires_on": str(expires_on)}, "new_submissions": created},
    )  # fmt: skip
    return locked


def _drop_unexpected(cycle: ReportingCycle) -> int:
    """After a cohort or form is removed from a cycle, the submissions it no longer expects are dropped — only
    those nobody has touched (no version): anything a city entered stays."""
    cities = CohortMembership.objects.filter(cohort__in=cycle.cohorts.all()).values("city_id")
    stale = Submission.objects.filter(period__cycle=cycle, version=0).exclude(
        city_id__in=cities, form__in=cycle.forms.all()
    )
    count, _ = stale.delete()
    return count


def sync_expected_submissions(cycle: ReportingCycle) -> int:
    """Create the submissions the cycle expects: each city of its cohorts, each form, each period of the form's
    frequency that opens on or after the day the city joined (not retroactively). Returns how many were new."""
    joined: dict[int, datetime.date] = {}
    memberships = CohortMembership.objects.filter(cohort__in=cycle.cohorts.all())
    for city_id, day in memberships.values_list("city_id", "joined_on"):
        joined[city_id] = min(day, joined.get(city_id, day))
    periods = list(cycle.periods.all())
    existing = set(Submission.objects.filter(period__cycle=cycle).values_list("period_id", "form_id", "city_id"))
    new = [
        Submission(period=period, form=form, city_id=city_id)
        for form in cycle.forms.all()
        for period in periods
        if period.frequency == form.frequency
        for city_id, day in joined.items()
        if period.opens_on >= day and (period.pk, form.pk, city_id) not in existing
    ]
    Submission.objects.bulk_create(new)
    return len(new)


# --- reading a submission -------------------------------------------------------------------------


_compiled: dict[tuple[int, int], CompiledEdition] = {}


def compiled_edition(edition: Edition) -> CompiledEdition:
    """Published editions never change, so their compiled form is kept per process (keyed by version)."""
    key = (edition.pk, edition.version)
    if key not in _compiled:
        _compiled[key] = CompiledEdition(edition)
    return _compiled[key]


_form_items: dict[int, list[DataItem]] = {}


def form_items(submission: Submission) -> list[DataItem]:
    """The form's items, grouped by area. Forms of published editions never change, so they are kept per
    process; drafts are never reported on."""
    if submission.form_id not in _form_items:
        items = DataItem.objects.filter(form_id=submission.form_id).select_related("area")
        _form_items[submission.form_id] = list(items.order_by("area__order", "order"))
    return _form_items[submission.form_id]


def canonical(item: DataItem, value: Value | None) -> str | None:
    """How a value is written in versions and compared: plain digits, 是/否, or the text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Fraction):
        # Typed values are decimals, so the division is exact; normalize() drops trailing zeros only.
        return format((Decimal(value.numerator) / Decimal(value.denominator)).normalize(), "f")
    return str(value)


def stored_value(dv: DataValue) -> Value | None:
    """A stored data value as a value of its item's type."""
    if dv.number is not None:
        return bool(dv.number) if dv.item.value_type == DataItem.Type.BOOLEAN else Fraction(dv.number)
    return dv.text or None


def current_values(submission: Submission) -> tuple[dict[str, str | None], dict[str, str]]:
    """The submission's values (canonical strings; unparseable drafts kept as typed) and explanations."""
    rows = DataValue.objects.filter(submission_id=submission.pk).values_list(
        "item__code", "item__value_type", "number", "text", "explanation"
    )
    return _state_of(rows)


def _row(item: DataItem, dv: DataValue) -> tuple[str, str, Decimal | None, str, str]:
    return item.code, item.value_type, dv.number, dv.text, dv.explanation


def _state_of(
    rows: Iterable[tuple[str, str, Decimal | None, str, str]],
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Values and explanations from stored rows of (item code, value type, number, text, explanation)."""
    values: dict[str, str | None] = {}
    explanations: dict[str, str] = {}
    for code, value_type, number, text, explanation in rows:
        if number is not None:
            if value_type == DataItem.Type.BOOLEAN:
                values[code] = "是" if number else "否"
            else:
                values[code] = format(number.normalize(), "f")
        elif text:
            values[code] = text
        if explanation:
            explanations[code] = explanation
    return values, explanations


# Latest period first; two cycles may have periods of the same dates, and the later-created submission wins there, so
# that the pages, the checks and the bulk channels always compare with the same one.
_LATEST_FIRST = ("-period__ends_on", "-period__starts_on", "-pk")


def _comparable(form_code: str, frequency: str, before: datetime.date, **where: Any) -> QuerySet[Submission]:
    """Submissions of a form (by code: editions differ between cycles) and frequency for periods that ended before
    ``before`` and that have values — the candidates for "the previous comparable period" — latest first."""
    return Submission.objects.filter(
        Exists(DataValue.objects.filter(submission=OuterRef("pk"))),
        form__code=form_code,
        period__frequency=frequency,
        period__ends_on__lt=before,
        **where,
    ).order_by(*_LATEST_FIRST)


@dataclass(frozen=True)
class PreviousPeriod:
    """What the checks and the entry page compare a submission with: the previous comparable period's submission,
    its period's label and its values (canonical strings, as :func:`current_values` gives them)."""

    submission_id: int
    label: str
    values: dict[str, str | None]


def previous_period(submission: Submission) -> PreviousPeriod | None:
    """The same city's and form's submission for the latest earlier period of the same frequency that has values —
    in this cycle or an earlier one — with its period's label and its values, in one query."""
    period = submission.period
    candidates = _comparable(submission.form.code, period.frequency, period.starts_on, city_id=submission.city_id)
    chosen = candidates.values("pk")[:1]
    rows = list(
        DataValue.objects.filter(submission_id=Subquery(chosen)).values_list(
            "submission_id",
            "submission__period__label",
            "item__code",
            "item__value_type",
            "number",
            "text",
            "explanation",
        )
    )
    if not rows:
        return None
    values, _ = _state_of(row[2:] for row in rows)
    return PreviousPeriod(submission_id=rows[0][0], label=rows[0][1], values=values)


def parsed_values(raw: Mapping[str, str | None], items: list[DataItem]) -> dict[str, Value | None]:
    """Canonical strings (as :func:`current_values` gives them) as values of their items' types; None where a
    value does not parse."""
    parsed: dict[str, Value | None] = {}
    for item in items:
        try:
            parsed[item.code] = parse_value(item, raw.get(item.code) or "")
        except ParseError:
            parsed[item.code] = None
    return parsed


def previous_values_many(submissions: list[Submission]) -> dict[int, tuple[str, dict[str, Value | None]]]:
    """:func:`previous_period` for many submissions at once (bulk imports): per submission the label of its
    previous comparable period and that period's values, parsed."""
    groups: dict[tuple[str, str], list[Submission]] = {}
    for submission in submissions:
        groups.setdefault((submission.form.code, submission.period.frequency), []).append(submission)
    chosen: dict[int, Submission] = {}
    for (code, frequency), members in groups.items():
        before = max(s.period.starts_on for s in members)
        candidates = _comparable(code, frequency, before, city_id__in={s.city_id for s in members})
        candidates = candidates.select_related("period")
        by_city: dict[int, list[Submission]] = {}
        for candidate in candidates:
            by_city.setdefault(candidate.city_id, []).append(candidate)
        for submission in members:
            found = next(
                (c for c in by_city.get(submission.city_id, []) if c.period.ends_on < submission.period.starts_on),
                None,
            )
            if found is not None:
                chosen[submission.pk] = found
    stored: dict[int, list[tuple[str, str, Decimal | None, str, str]]] = {}
    rows = DataValue.objects.filter(submission_id__in={c.pk for c in chosen.values()}).values_list(
        "submission_id", "item__code", "item__value_type", "number", "text", "explanation"
    )
    for pk, code, value_type, number, text, explanation in rows:
        stored.setdefault(pk, []).append((code, value_type, number, text, explanation))
    raw = {pk: _state_of(values)[0] for pk, values in stored.items()}
    answer: dict[int, tuple[str, dict[str, Value | None]]] = {}
    for submission in submissions:
        previous = chosen.get(submission.pk)
        if previous is None:
            answer[submission.pk] = ("上期", {})
            continue
        parsed = parsed_values(raw.get(previous.pk, {}), form_items(submission))
        answer[submission.pk] = (f"上期（{previous.period.label}）", parsed)
    return answer


def check_submission(
    submission: Submission, raw: Mapping[str, str | None] | None = None
) -> tuple[CheckResult, PreviousPeriod | None]:
    """Validate the submission's current values (or ``raw`` instead) against the edition's rules; also the
    previous period it was compared with."""
    items = form_items(submission)
    typed = {code: value or "" for code, value in (raw if raw is not None else current_values(submission)[0]).items()}
    previous = previous_period(submission)
    label = f"上期（{previous.label}）" if previous else "上期"
    before = parsed_values(previous.values, items) if previous else {}
    compiled = compiled_edition(submission.period.cycle.edition)
    return check_values(compiled, items, typed, before, previous_label=label), previous


# --- saving ---------------------------------------------------------------------------------------


@dataclass
class Conflict:
    code: str
    name: str
    theirs: str | None
    yours: str | None
    explanation: bool = False


@dataclass
class SaveResult:
    submission: Submission
    applied: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    check: CheckResult | None = None
    previous: PreviousPeriod | None = None  # the previous period the check compared with
    values: tuple[dict[str, str | None], dict[str, str]] | None = None  # the values and explanations now stored


def _city_member(user: User, submission: Submission) -> bool:
    return user.is_active and user.role in CITY_ROLES and user.organisation_id == submission.city_id


def _province_of(user: User, submission: Submission) -> bool:
    return (
        user.is_active
        and user.role == Role.PROVINCE_REVIEWER
        and submission.city.path.startswith(user.organisation.path)
    )


def _state_at(submission: Submission, number: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Values and explanations as they stood after version ``number`` (conflict versions changed nothing)."""
    version = (
        submission.versions.filter(number__lte=number, applied=True).order_by("-number").first() if number else None
    )
    return (version.values, version.explanations) if version else ({}, {})


def _new_version(
    submission: Submission,
    action: str,
    actor: User | None,
    *,
    applied: bool = True,
    values: dict[str, Any] | None = None,
    explanations: dict[str, Any] | None = None,
    comment: str = "",
    item_comments: dict[str, str] | None = None,
) -> SubmissionVersion:
    if values is None or explanations is None:
        handler = content.handler_for(submission)
        values, explanations = handler.snapshot(submission) if handler else current_values(submission)
    submission.version += 1
    submission.updated_at = clock.now()
    submission.save()
    return SubmissionVersion.objects.create(
        submission=submission,
        number=submission.version,
        action=action,
        applied=applied,
        actor=actor,
        created_at=clock.now(),
        status=submission.status,
        values=values,
        explanations=explanations,
        comment=comment,
        item_comments=item_comments or {},
    )


def _check_open_for_city(submission: Submission) -> None:
    today = clock.today()
    if today < submission.period.opens_on:
        raise WorkflowError(
            f"{submission.period.label}的数据自 {submission.period.opens_on:%Y-%m-%d} 起开放填报，请届时再填写。"
        )
    if submission.needs_extension(today):
        raise WorkflowError(
            f"{submission.period.label}的报送已于 {submission.period.expires_on:%Y-%m-%d} 关闭。"
            "如需补报，请联系省级主管部门或监测机构申请延期。"
        )


def check_open(submission: Submission) -> None:
    """Raise :class:`WorkflowError` when the city cannot change the submission today (not yet open, or closed)."""
    _check_open_for_city(submission)


def _lock_state(submission: Submission) -> Submission:
    """Lock the submission's row and read its state again under the lock (status, version, unlocked items, …),
    in one single-table query, into the caller's object. Which period, form and city a submission belongs to never
    changes, so what the caller already read of them (``get_submission_for``: the period, cycle, edition, form and
    city) is kept; the period's dates are read unlocked, as they always were (the period row is not locked)."""
    state = [f.attname for f in Submission._meta.concrete_fields if not f.is_relation and not f.primary_key]
    submission.refresh_from_db(fields=state, from_queryset=Submission.objects.select_for_update())
    return submission


def save_draft(
    *,
    actor: User,
    submission: Submission,
    raw: Mapping[str, str],
    explanations: Mapping[str, str],
    base_version: int,
    request: HttpRequest | None = None,
) -> SaveResult:
    """Save what the city typed (暂存). Only the values and explanations the user changed since ``base_version``
    are written; one that someone else changed in between is not overwritten: it is reported as a conflict, and
    the user's attempt is kept as a version of its own. ``submission`` is locked and brought up to date in place
    (its state, and its version after the save); ``result.submission`` is the same object."""
    with transaction.atomic():
        locked = _lock_state(submission)
        if not _city_member(actor, locked):
            raise PermissionDenied("只有本市的填报员和负责人可以填写本市的报送。")
        if locked.status != Status.DRAFT:
            raise WorkflowError(f"该报送当前状态为“{locked.get_status_display()}”，不能修改。")
        _check_open_for_city(locked)
        if base_version > locked.version or base_version < 0:
            raise WorkflowError("页面版本无效，请刷新页面后重试。")
        items = {item.code: item for item in form_items(locked)}
        by_pk = {item.pk: item for item in items.values()}
        # Every stored row of the submission, read once: the current state, and the rows a change updates.
        stored = {dv.item_id: dv for dv in DataValue.objects.filter(submission_id=locked.pk) if dv.item_id in by_pk}
        current, current_explanations = _state_of(_row(by_pk[dv.item_id], dv) for dv in stored.values())
        if base_version == locked.version:
            # Nothing happened since the user's page, which showed what is stored. (Every write of stored values
            # makes a version under this row lock — the autosave, bulk fills, imports of accepted data — so the
            # stored rows are the latest applied version's snapshot; a conflict version changes neither.)
            base_values, base_explanations = current, current_explanations
        else:
            base_values, base_explanations = _state_at(locked, base_version)

        posted: dict[str, str | None] = {}
        for code, item in items.items():
            if code not in raw:
                continue
            typed = clean_text(raw.get(code), MAX_TYPED)
            try:
                posted[code] = canonical(item, parse_value(item, typed))
            except ParseError:
                posted[code] = typed  # kept as typed: the draft shows it again with its error
        posted_explanations = {code: clean_text(explanations.get(code)) for code in items if code in explanations}

        result = SaveResult(submission=locked)
        changes: dict[str, str | None] = {}
        explanation_changes: dict[str, str] = {}
        for code, value in posted.items():
            outcome = _merge(value, base_values.get(code), current.get(code), locked.item_editable(code))
            if outcome == "apply":
                changes[code] = value
            elif outcome == "conflict":
                result.conflicts.append(Conflict(code, items[code].name_zh, current.get(code), value))
            elif outcome == "locked":
                result.locked.append(code)
        for code, text in posted_explanations.items():
            outcome = _merge(
                text, base_explanations.get(code, ""), current_explanations.get(code, ""), locked.item_editable(code)
            )
            if outcome == "apply":
                explanation_changes[code] = text
            elif outcome == "conflict":
                name = f"{items[code].name_zh}的说明"
                result.conflicts.append(Conflict(code, name, current_explanations.get(code), text, explanation=True))
            elif outcome == "locked":
                result.locked.append(code)

        if result.conflicts:
            _new_version(
                locked,
                V.CONFLICT,
                actor,
                applied=False,
                values={**current, **posted},
                explanations={**current_explanations, **posted_explanations},
                comment="；".join(f"{c.name}：您填写 {c.yours}，他人已改为 {c.theirs}" for c in result.conflicts),
            )
        after = current, current_explanations
        if changes or explanation_changes:
            now = clock.now()
            touched = [items[code] for code in sorted(set(changes) | set(explanation_changes))]
            # The submission's row lock keeps anyone else from adding its values meanwhile, so the rows that do not
            # exist yet are simply inserted.
            new: list[DataValue] = []
            for item in touched:
                dv = stored.get(item.pk) or DataValue(submission=locked, item=item)
                if item.code in changes:
                    _store(dv, item, changes[item.code])
                if item.code in explanation_changes:
                    dv.explanation = explanation_changes[item.code]
                dv.updated_at, dv.updated_by = now, actor
                if dv.pk is None:
                    new.append(dv)
                else:
                    dv.save(update_fields=["number", "text", "explanation", "updated_at", "updated_by"])
            DataValue.objects.bulk_create(new)
            after = current_values(locked)  # as stored (rounded to the column), once for the version and the check
            _new_version(locked, V.SAVE, actor, values=after[0], explanations=after[1])
            result.applied = sorted(changes)
        if changes or explanation_changes or result.conflicts:
            record(
                Action.SUBMISSION_SAVE,
                actor=actor,
                request=request,
                target=locked,
                detail={"items": sorted(changes), "explanations": sorted(explanation_changes),
                        "conflicts": [c.code for c in result.conflicts]},
            )  # fmt: skip
    result.check, result.previous = check_submission(locked, after[0])
    result.values = after
    return result


@dataclass
class DraftFill:
    """What a bulk channel writes into one draft: canonical values (None clears) and explanations, checked
    against ``version`` — if the submission changed since, nothing of the whole call is written."""

    submission_id: int
    version: int
    values: dict[str, str | None]
    explanations: dict[str, str]


def may_fill_in_bulk(user: User, submission: Submission) -> bool:
    """A city's own reporter and approver, and — for bulk imports only — the reviewer of its province (the
    通信管理局 holds the operators' figures for all its cities); the city still approves and sends."""
    return _city_member(user, submission) or _province_of(user, submission)


_CANONICAL_NUMBER = re.compile(r"-?\d{1,14}(\.\d{1,6})?")
_NUMERIC = {DataItem.Type.INTEGER, DataItem.Type.DECIMAL, DataItem.Type.PERCENT}


def _number_text(item: DataItem, value: str | None) -> tuple[Decimal | None, str]:
    """What :func:`_store` writes for a canonical value (plain decimals directly, anything else through it)."""
    if value is not None and item.value_type in _NUMERIC and _CANONICAL_NUMBER.fullmatch(value):
        return Decimal(value), ""
    dv = DataValue()
    _store(dv, item, value)
    return dv.number, dv.text


def _upsert_values(rows: list[tuple[Any, ...]]) -> None:
    """Insert or update data values set-based on the one-value-per-item key, without a model object per row:
    on PostgreSQL the rows are COPied into a temporary table and merged with one ``INSERT … SELECT … ON CONFLICT DO
    UPDATE``; on SQLite (in-process, no protocol to cross) multi-row ``INSERT … ON CONFLICT DO UPDATE`` statements."""
    quote = connection.ops.quote_name
    table = quote(DataValue._meta.db_table)
    columns = ["submission_id", "item_id", "number", "text", "explanation", "updated_at", "updated_by_id"]
    names = ", ".join(quote(c) for c in columns)
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns[2:])
    conflict = f"ON CONFLICT (submission_id, item_id) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS infocity_value_load (submission_id bigint, item_id bigint, "
                "number numeric(20, 6), text varchar(500), explanation text, updated_at timestamptz, "
                "updated_by_id bigint) ON COMMIT DELETE ROWS"
            )
            cursor.execute("TRUNCATE infocity_value_load")
            with cursor.cursor.copy(f"COPY infocity_value_load ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM infocity_value_load {conflict}"  # noqa: S608
            )
            return
        placeholder = f"({', '.join(['%s'] * len(columns))})"
        for start in range(0, len(rows), 1000):
            batch = rows[start : start + 1000]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([placeholder] * len(batch))} {conflict}",  # noqa: S608
                [value for row in batch for value in row],
            )


def fill_drafts(*, actor: User, fills: list[DraftFill], request: HttpRequest | None = None, via: str = "bulk") -> int:
    """Write many drafts at once, set-based: one statement per table for the whole batch, one version per
    submission, one audit event per submission. The same rules as :func:`save_draft` (who may fill, drafts
    only, open periods, locked items after acceptance); instead of merging, a submission changed since it was
    checked stops the whole call (the caller's transaction is undone). Returns the number of values written."""
    if not fills:
        return 0
    with transaction.atomic():
        by_id = {fill.submission_id: fill for fill in fills}
        locked = {
            s.pk: s
            for s in Submission.objects.select_for_update(of=("self",))
            .select_related("period__cycle__edition", "form", "city")
            .filter(pk__in=by_id)
            .order_by("pk")  # always locked in the same order: two imports never wait on each other in a circle
        }
        now = clock.now()
        for pk, fill in by_id.items():
            submission = locked.get(pk)
            if submission is None or not may_fill_in_bulk(actor, submission):
                raise PermissionDenied("您无权填写这份报送。")
            if submission.status != Status.DRAFT:
                raise WorkflowError(f"{submission}当前状态为“{submission.get_status_display()}”，不能修改。")
            _check_open_for_city(submission)
            if submission.version != fill.version:
                raise WorkflowError(f"{submission}在检查之后已被修改，请重新检查后再导入。")
            for code in set(fill.values) | set(fill.explanations):
                if not submission.item_editable(code):
                    raise WorkflowError(f"{submission}的{code}已受理锁定，不能修改。")
        existing: dict[tuple[int, int], DataValue] = {
            (dv.submission_id, dv.item_id): dv for dv in DataValue.objects.filter(submission_id__in=by_id)
        }
        by_item_id = {pk: {item.pk: item for item in form_items(submission)} for pk, submission in locked.items()}
        grouped: dict[int, list[DataValue]] = {pk: [] for pk in by_id}
        for (pk, _item_id), dv in existing.items():
            grouped[pk].append(dv)
        state = {pk: _state_of(_row(by_item_id[pk][dv.item_id], dv) for dv in rows) for pk, rows in grouped.items()}
        rows: list[tuple[Any, ...]] = []
        written = 0
        moment = connection.ops.adapt_datetimefield_value(now)
        for pk, fill in by_id.items():
            items = {item.code: item for item in by_item_id[pk].values()}
            values, explanations = state[pk]
            for code in sorted(set(fill.values) | set(fill.explanations)):
                item = items[code]
                old = existing.get((pk, item.pk))
                number, text = (old.number, old.text) if old else (None, "")
                explanation = old.explanation if old else ""
                if code in fill.values:
                    number, text = _number_text(item, fill.values[code])
                    values[code] = fill.values[code]
                    written += 1
                if code in fill.explanations:
                    explanation = explanations[code] = clean_text(fill.explanations[code])
                adapted = None if number is None else connection.ops.adapt_decimalfield_value(number, 20, 6)
                rows.append((pk, item.pk, adapted, text, explanation, moment, actor.pk))
        _upsert_values(rows)
        versions = []
        for pk, (values, explanations) in state.items():
            submission = locked[pk]
            submission.version += 1
            versions.append(SubmissionVersion(
                submission=submission, number=submission.version, action=V.SAVE, applied=True, actor=actor,
                created_at=now, status=submission.status, comment=via,
                values={code: value for code, value in values.items() if value is not None},
                explanations=explanations,
            ))  # fmt: skip
        Submission.objects.filter(pk__in=by_id).update(version=models.F("version") + 1, updated_at=now)
        SubmissionVersion.objects.bulk_create(versions, batch_size=500)
        record_many(
            Action.SUBMISSION_SAVE,
            actor=actor,
            request=request,
            targets=[locked[pk] for pk in by_id],
            details=[{"items": sorted(fill.values), "explanations": sorted(fill.explanations), "via": via}
                     for fill in by_id.values()],
        )  # fmt: skip
    return written


def _merge(posted: str | None, base: str | None, current: str | None, editable: bool) -> str:
    """What to do with one posted field: "keep" (the user did not change it, or it already is so), "conflict"
    (someone else changed it since the user's version), "locked", or "apply"."""
    base = base or None
    current = current or None
    posted = posted or None
    if posted in (base, current):
        return "keep"
    if current != base:
        return "conflict"
    if not editable:
        return "locked"
    return "apply"


def _store(dv: DataValue, item: DataItem, value: str | None) -> None:
    dv.number, dv.text = None, ""
    if value is None:
        return
    try:
        parsed = parse_value(item, value)
    except ParseError:
        dv.text = value[:MAX_TYPED]
        return
    if isinstance(parsed, bool):
        dv.number = Decimal(1 if parsed else 0)
    elif isinstance(parsed, Fraction):
        dv.number = Decimal(parsed.numerator) / Decimal(parsed.denominator)
    elif parsed is not None:
        dv.text = str(parsed)


@transaction.atomic
def import_accepted(
    *,
    actor: User | None,
    submission: Submission,
    values: Mapping[str, str],
    note: str,
    request: HttpRequest | None = None,
) -> Submission:
    """Take over figures already accepted elsewhere (e.g. the previous year's from the earlier spreadsheets),
    as one accepted, locked version with the note saying where they came from."""
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if locked.version:
        raise WorkflowError("该报送已有数据，不能再作为历史数据导入。")
    items = {item.code: item for item in form_items(locked)}
    now = clock.now()
    rows = []
    for code, value in values.items():
        dv = DataValue(submission=locked, item=items[code], updated_at=now, updated_by=actor)
        _store(dv, items[code], value)
        rows.append(dv)
    DataValue.objects.bulk_create(rows)
    locked.status = Status.ACCEPTED
    locked.ever_accepted = True
    locked.first_submitted_at = locked.submitted_at = locked.accepted_at = now
    _new_version(locked, V.ACCEPT, actor, values=current_values(locked)[0], explanations={}, comment=note)
    submission_changed.send(sender=Submission, submission=locked)
    record(Action.SUBMISSION_ACCEPT, actor=actor, request=request, target=locked, detail={"imported": note})
    return locked


# --- transitions ----------------------------------------------------------------------------------


def _locked_for_transition(submission: Submission, expected_version: int, action: str, actor: User) -> Submission:
    """The submission, locked, if it is still at the version the user saw. If the same user already did the same
    action since then (a double click, a resubmitted form), that is said plainly and nothing happens twice."""
    locked = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("period__cycle__edition", "form", "city")
        .get(pk=submission.pk)
    )
    if locked.version != expected_version:
        if locked.versions.filter(number__gt=expected_version, action=action, actor=actor).exists():
            raise AlreadyDone("该操作已经完成，无需重复提交。")
        raise WorkflowError("该报送在您打开页面后已有变化（他人已保存或处理），请刷新页面查看后再操作。")
    return locked


def _codes(submission: Submission) -> set[str]:
    """What a return may comment on and an unlock may reopen: the form's items, or a report's parts."""
    handler = content.handler_for(submission)
    return handler.codes(submission) if handler else {item.code for item in form_items(submission)}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


def _validation_blockers(submission: Submission) -> list[str]:
    handler = content.handler_for(submission)
    if handler is not None:
        return handler.blockers(submission)
    check, _ = check_submission(submission)
    _, explanations = current_values(submission)
    problems = [m.text for m in check.errors]
    problems += [f"需要说明：{m.text}" for m in check.unexplained(explanations)]
    return problems


@transaction.atomic
def approve_city(
    *, actor: User, submission: Submission, expected_version: int, request: HttpRequest | None = None
) -> Submission:
    """城市负责人 signs the draft off (本市审核通过). Errors block it; every warning needs an explanation."""
    locked = _locked_for_transition(submission, expected_version, V.APPROVE_CITY, actor)
    _require(
        actor.role == Role.CITY_APPROVER and _city_member(actor, locked), "只有本市的城市负责人可以审核本市的报送。"
    )
    if locked.status != Status.DRAFT:
        raise WorkflowError(f"该报送当前状态为“{locked.get_status_display()}”，不能审核。")
    _check_open_for_city(locked)
    if not locked.started:
        raise WorkflowError("该报送还没有填写任何数据，不能审核。")
    problems = _validation_blockers(locked)
    if problems:
        raise WorkflowError(["报送前请先处理以下问题：", *problems])
    locked.status = Status.CITY_APPROVED
    locked.returned = False
    _new_version(locked, V.APPROVE_CITY, actor)
    record(Action.SUBMISSION_APPROVE_CITY, actor=actor, request=request, target=locked)
    return locked


@transaction.atomic
def submit(
    *, actor: User, submission: Submission, expected_version: int, request: HttpRequest | None = None
) -> Submission:
    """The city sends its approved submission to the province (报送省级)."""
    locked = _locked_for_transition(submission, expected_version, V.SUBMIT, actor)
    _require(_city_member(actor, locked), "只有本市的填报员和负责人可以报送本市的数据。")
    if locked.status != Status.CITY_APPROVED:
        raise WorkflowError("报送省级前须由城市负责人审核通过。")
    _check_open_for_city(locked)
    now = clock.now()
    locked.status = Status.SUBMITTED
    locked.submitted_at = now
    if locked.first_submitted_at is None:
        locked.first_submitted_at = now
    version = _new_version(locked, V.SUBMIT, actor)
    record(Action.SUBMISSION_SUBMIT, actor=actor, request=request, target=locked)
    submission_changed.send(sender=Submission, submission=locked)
    _notify(
        _province_reviewers(locked),
        f"submitted:{locked.pk}:{version.number}",
        f"{locked.city.name}报送了{locked.period.label}{locked.form.name_zh}，等待您审核",
        locked,
    )
    return locked


@transaction.atomic
def approve_province(
    *, actor: User, submission: Submission, expected_version: int, request: HttpRequest | None = None
) -> Submission:
    locked = _locked_for_transition(submission, expected_version, V.APPROVE_PROVINCE, actor)
    _require(_province_of(actor, locked), "只有该市所在省级主管部门的审核员可以审核。")
    if locked.status != Status.SUBMITTED:
        raise WorkflowError(f"该报送当前状态为“{locked.get_status_display()}”，不能进行省级审核。")
    locked.status = Status.PROVINCE_APPROVED
    version = _new_version(locked, V.APPROVE_PROVINCE, actor)
    record(Action.SUBMISSION_APPROVE_PROVINCE, actor=actor, request=request, target=locked)
    _notify(
        User.objects.filter(role=Role.ANALYST, is_active=True),
        f"province-approved:{locked.pk}:{version.number}",
        f"{locked.city.name}{locked.period.label}{locked.form.name_zh}经省级审核通过，等待受理",
        locked,
    )
    return locked


@transaction.atomic
def accept(
    *, actor: User, submission: Submission, expected_version: int, request: HttpRequest | None = None
) -> Submission:
    """监测机构受理: the values become the accepted figures and are locked."""
    locked = _locked_for_transition(submission, expected_version, V.ACCEPT, actor)
    _require(actor.role == Role.ANALYST and actor.is_active, "只有监测机构分析员可以受理报送。")
    if locked.status != Status.PROVINCE_APPROVED:
        raise WorkflowError("只有经省级审核通过的报送可以受理。")
    locked.status = Status.ACCEPTED
    locked.accepted_at = clock.now()
    locked.ever_accepted = True
    locked.unlocked_items = []
    version = _new_version(locked, V.ACCEPT, actor)
    record(Action.SUBMISSION_ACCEPT, actor=actor, request=request, target=locked)
    submission_changed.send(sender=Submission, submission=locked)
    _notify(
        _city_users(locked),
        f"accepted:{locked.pk}:{version.number}",
        f"{locked.period.label}{locked.form.name_zh}已被监测机构受理",
        locked,
    )
    return locked


@transaction.atomic
def return_submission(
    *,
    actor: User,
    submission: Submission,
    reason: str,
    expected_version: int,
    item_comments: Mapping[str, str] | None = None,
    request: HttpRequest | None = None,
) -> Submission:
    """退回: back to the city as a draft, with a mandatory reason and optional comments on single items.
    The city approver returns drafts to the reporter; the province returns what was sent to it; the
    analyst returns what the province approved."""
    locked = _locked_for_transition(submission, expected_version, V.RETURN, actor)
    reason = clean_text(reason)
    if not reason:
        raise WorkflowError("退回时必须填写退回原因，说明需要修改什么。")
    if locked.status == Status.DRAFT or locked.status == Status.CITY_APPROVED:
        _require(
            actor.role == Role.CITY_APPROVER and _city_member(actor, locked), "只有本市的城市负责人可以退回本市的草稿。"
        )
    elif locked.status == Status.SUBMITTED:
        _require(_province_of(actor, locked), "只有该市所在省级主管部门的审核员可以退回。")
    elif locked.status == Status.PROVINCE_APPROVED:
        _require(actor.role == Role.ANALYST and actor.is_active, "只有监测机构分析员可以退回省级已审核的报送。")
    else:
        raise WorkflowError("已受理的报送不能退回；如需更正，请由城市提出解锁申请。")
    codes = _codes(locked)
    comments = {
        code: clean_text(text, 1000)
        for code, text in (item_comments or {}).items()
        if code in codes and clean_text(text)
    }
    previous_status = locked.status
    locked.status = Status.DRAFT
    locked.returned = True
    locked.return_reason = reason
    locked.returned_by_role = actor.role
    version = _new_version(locked, V.RETURN, actor, comment=reason, item_comments=comments)
    if previous_status in {Status.SUBMITTED, Status.PROVINCE_APPROVED}:
        submission_changed.send(sender=Submission, submission=locked)
    record(
        Action.SUBMISSION_RETURN,
        actor=actor,
        request=request,
        target=locked,
        detail={"from": previous_status, "items": sorted(comments)},
    )
    recipients = _city_users(locked)
    if previous_status == Status.PROVINCE_APPROVED:
        recipients += _province_reviewers(locked)
    _notify(
        recipients,
        f"return:{locked.pk}:{version.number}",
        f"{locked.period.label}{locked.form.name_zh}被退回：{reason[:60]}",
        locked,
    )
    return locked


# --- unlocking and extensions ---------------------------------------------------------------------


@transaction.atomic
def request_unlock(
    *, actor: User, submission: Submission, items: Iterable[str], reason: str, request: HttpRequest | None = None
) -> UnlockRequest:
    """The city asks to correct named items of an accepted submission (解锁申请)."""
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    _require(_city_member(actor, locked), "只有本市的填报员和负责人可以申请解锁。")
    if locked.status != Status.ACCEPTED:
        raise WorkflowError("只有已受理（锁定）的报送需要申请解锁。")
    codes = _codes(locked)
    wanted = sorted({code for code in items if code in codes})
    if not wanted:
        raise WorkflowError("请选择需要更正的填报项。")
    if not clean_text(reason):
        raise WorkflowError("请填写解锁理由，说明需要更正什么、为什么。")
    if locked.unlock_requests.filter(status=UnlockRequest.Decision.PENDING).exists():
        raise AlreadyDone("该报送已有待处理的解锁申请，请等待监测机构处理。")
    unlock = UnlockRequest.objects.create(
        submission=locked, items=wanted, reason=clean_text(reason), requested_by=actor, requested_at=clock.now()
    )
    record(Action.UNLOCK_REQUEST, actor=actor, request=request, target=locked, detail={"items": wanted})
    analysts = User.objects.filter(role=Role.ANALYST, is_active=True)
    _notify(
        analysts,
        f"unlock-request:{unlock.pk}",
        f"{locked.city.name}申请解锁{locked.period.label}{locked.form.name_zh}的 {len(wanted)} 个填报项",
        locked,
    )
    return unlock


@transaction.atomic
def decide_unlock(
    *, actor: User, unlock: UnlockRequest, grant: bool, note: str = "", request: HttpRequest | None = None
) -> UnlockRequest:
    """The analyst grants (only the named items reopen, the submission goes back to draft) or refuses."""
    _require(actor.role == Role.ANALYST and actor.is_active, "只有监测机构分析员可以处理解锁申请。")
    locked = UnlockRequest.objects.select_for_update(of=("self",)).select_related("submission").get(pk=unlock.pk)
    if locked.status != UnlockRequest.Decision.PENDING:
        raise AlreadyDone("该解锁申请已经处理过了。")
    note = clean_text(note)
    if not grant and not note:
        raise WorkflowError("拒绝解锁时请填写理由。")
    submission = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("period", "form", "city")
        .get(pk=locked.submission_id)
    )
    locked.status = UnlockRequest.Decision.GRANTED if grant else UnlockRequest.Decision.REFUSED
    locked.decided_by, locked.decided_at, locked.decision_note = actor, clock.now(), note
    locked.save()
    if grant:
        if submission.status != Status.ACCEPTED:
            raise WorkflowError("该报送已不在受理状态，无法解锁。")
        submission.status = Status.DRAFT
        submission.unlocked_items = list(locked.items)
        submission.returned = False
        _new_version(submission, V.UNLOCK, actor, comment=f"解锁：{'、'.join(locked.items)}。{note}")
        submission_changed.send(sender=Submission, submission=submission)
    record(
        Action.UNLOCK_DECIDE,
        actor=actor,
        request=request,
        target=submission,
        detail={"granted": grant, "items": locked.items},
    )
    verdict = "已同意" if grant else "未同意"
    _notify(
        _city_users(submission),
        f"unlock-decision:{locked.pk}",
        f"{submission.period.label}{submission.form.name_zh}的解锁申请{verdict}",
        submission,
        body=note,
    )
    return locked


@transaction.atomic
def grant_extension(
    *,
    actor: User,
    submission: Submission,
    until: datetime.date,
    reason: str,
    expected_version: int,
    request: HttpRequest | None = None,
) -> Submission:
    """延期: the province (for its cities) or the analyst lets a city report after the expiry date."""
    locked = _locked_for_transition(submission, expected_version, V.EXTEND, actor)
    _require(
        _province_of(actor, locked) or (actor.role == Role.ANALYST and actor.is_active),
        "只有该市所在省级主管部门或监测机构可以批准延期。",
    )
    if not locked.needs_extension():
        raise WorkflowError("该报送尚未关闭或已有有效的延期，无需延期。")
    if until <= clock.today():
        raise WorkflowError("延期截止日期须晚于今天。")
    if not clean_text(reason):
        raise WorkflowError("请填写延期理由。")
    locked.extended_until = until
    _new_version(locked, V.EXTEND, actor, comment=f"延期至 {until:%Y-%m-%d}：{clean_text(reason)}")
    record(Action.SUBMISSION_EXTEND, actor=actor, request=request, target=locked, detail={"until": until.isoformat()})
    _notify(
        _city_users(locked),
        f"extension:{locked.pk}:{until}",
        f"{locked.period.label}{locked.form.name_zh}已延期至 {until:%Y-%m-%d}",
        locked,
        body=reason,
    )
    return locked


# --- notifications --------------------------------------------------------------------------------


def _city_users(submission: Submission) -> list[User]:
    return list(User.objects.filter(organisation_id=submission.city_id, role__in=CITY_ROLES, is_active=True))


def _province_reviewers(submission: Submission) -> list[User]:
    province = submission.city.province()
    if province is None:
        return []
    return list(User.objects.filter(organisation=province, role=Role.PROVINCE_REVIEWER, is_active=True))


def clean_text(text: str | None, limit: int = 2000) -> str:
    """User text as stored: no NUL or other control characters (PostgreSQL refuses NUL), trimmed, bounded."""
    kept = "".join(c for c in (text or "") if c in "\n\t" or (ord(c) >= 32 and ord(c) != 127))
    return kept.strip()[:limit]


def _notify(
    users: Iterable[User], event_key: str, title: str, submission: Submission | None = None, body: str = ""
) -> int:
    """One in-app notification per user and event — never twice for the same event. E-mail follows from
    ``manage.py send_reminders``. The title becomes an e-mail subject, so it is one line."""
    title = " ".join(title.split())
    url = reverse("reporting:submission", args=[submission.pk]) if submission is not None else ""
    created = 0
    for user in users:
        _obj, new = Notification.objects.get_or_create(
            user=user, event_key=event_key[:120], defaults={"title": title[:200], "body": body, "url": url}
        )
        created += int(new)
    return created


def remind(today: datetime.date | None = None) -> int:
    """Due-soon and overdue reminders for every open submission (idempotent: each is created once)."""
    from django.conf import settings

    day = today or clock.today()
    soon = day + datetime.timedelta(days=settings.REMINDER_DAYS_BEFORE_DUE)
    created = 0
    pending = Submission.objects.filter(
        status__in=[Status.DRAFT, Status.CITY_APPROVED], period__opens_on__lte=day
    ).select_related("period", "form", "city")
    for submission in pending.filter(period__due_on__gte=day, period__due_on__lte=soon):
        created += _notify(
            _city_users(submission),
            f"due-soon:{submission.pk}:{submission.period.due_on}",
            f"{submission.period.label}{submission.form.name_zh}将于 {submission.period.due_on:%Y-%m-%d} 到期，"
            "请按时报送",
            submission,
        )
    for submission in pending.filter(period__due_on__lt=day).filter(
        Q(period__expires_on__gte=day) | Q(extended_until__gte=day)
    ):
        created += _notify(
            _city_users(submission) + _province_reviewers(submission),
            f"overdue:{submission.pk}:{submission.period.due_on}",
            f"{submission.city.name}{submission.period.label}{submission.form.name_zh}已逾期未报送",
            submission,
        )
    return created


def format_for(item: DataItem, value: str | None) -> str:
    if value is None:
        return "（未填）"
    try:
        return format_value(parse_value(item, value), item)
    except ParseError:
        return value


# --- shared with the other kinds of submission ----------------------------------------------------------------
# Progress reports (infocity.progress) hold sections instead of data values; they save through these same parts
# of the workflow rather than copies of them.

city_member = _city_member
province_of = _province_of
new_version = _new_version
state_at = _state_at
locked_for_transition = _locked_for_transition


def cycle_cities(cycle: ReportingCycle) -> list[Organisation]:
    """The demonstration cities of a cycle (those with submissions in it), in division-code order."""
    ids = Submission.objects.filter(period__cycle=cycle).values("city_id")
    return list(Organisation.objects.filter(pk__in=ids).select_related("parent").order_by("division_id", "pk"))
