"""State changes of indicator framework editions (指标体系). Each runs in one transaction and writes its
audit event. A published edition is immutable: every change goes to a draft, made by copying."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from infocity.audit.models import Action
from infocity.audit.services import record

from .checks import check_edition
from .interchange import edition_to_dict, normalise
from .models import Area, DataItem, Edition, Form, Indicator, ValidationRule

if TYPE_CHECKING:
    from infocity.accounts.models import User


class EditionInvalid(ValidationError):
    """Publishing refused: ``problems`` lists everything that must be fixed first."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems


def _locked_draft(edition: Edition, expected_version: int | None) -> Edition:
    locked = Edition.objects.select_for_update().get(pk=edition.pk)
    if locked.status != Edition.Status.DRAFT:
        raise ValidationError(
            _("“%(name)s”已发布或已停用，不能再修改。请复制为新的草稿版本后修改。") % {"name": locked.name_zh}
        )
    if expected_version is not None and locked.version != expected_version:
        raise ValidationError(_("该版本在您打开页面后已被他人修改，您的修改未保存。请刷新页面后重试。"))
    return locked


def _bump(edition: Edition) -> None:
    edition.version += 1
    edition.save(update_fields=["version"])


@transaction.atomic
def create_edition_from_data(
    *,
    actor: User | None,
    data: Any,
    code: str | None = None,
    based_on: Edition | None = None,
    request: HttpRequest | None = None,
) -> Edition:
    """Create a draft edition from interchange data (a loaded YAML/JSON/Excel file, or a copy).

    Raises :class:`~.interchange.InterchangeError` listing every problem; nothing is created then.
    """
    clean = normalise(data)
    if code:
        clean["code"] = code
    if Edition.objects.filter(code=clean["code"]).exists():
        raise ValidationError(
            _("版本代码“%(code)s”已被使用，请换一个代码（例如 %(year)s-修订）。")
            % {"code": clean["code"], "year": clean["year"]}
        )
    edition = Edition.objects.create(
        code=clean["code"],
        year=clean["year"],
        name_zh=clean["name_zh"],
        name_en=clean["name_en"],
        description_zh=clean["description_zh"],
        description_en=clean["description_en"],
        based_on=based_on,
    )
    areas = {row["code"]: Area.objects.create(edition=edition, order=n, **row) for n, row in enumerate(clean["areas"])}
    forms = {row["code"]: Form.objects.create(edition=edition, order=n, **row) for n, row in enumerate(clean["forms"])}
    for n, row in enumerate(clean["items"]):
        DataItem.objects.create(
            edition=edition,
            order=n,
            code=row["code"],
            area=areas[row["area"]],
            form=forms[row["form"]],
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            definition_zh=row["definition_zh"],
            definition_en=row["definition_en"],
            unit=row["unit"],
            value_type=row["type"],
            min_value=row["min"],
            max_value=row["max"],
            required=row["required"],
            source=row["source"],
        )
    for n, row in enumerate(clean["indicators"]):
        target = row["target"]
        Indicator.objects.create(
            edition=edition,
            order=n,
            code=row["code"],
            area=areas[row["area"]],
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            definition_zh=row["definition_zh"],
            definition_en=row["definition_en"],
            unit=row["unit"],
            direction=row["direction"],
            frequency=row["frequency"],
            source=row["source"],
            formula=row["formula"],
            decimals=row["decimals"],
            target_kind=target["kind"],
            target_operator=target["operator"],
            target_value=target["value"],
            target_basis=target["basis"],
            target_note_zh=target["note_zh"],
            target_note_en=target["note_en"],
        )
    for n, row in enumerate(clean["rules"]):
        ValidationRule.objects.create(edition=edition, order=n, **row)
    record(
        Action.FRAMEWORK_CREATE,
        actor=actor,
        request=request,
        target=edition,
        detail={
            "based_on": based_on.code if based_on else None,
            "indicators": len(clean["indicators"]),
            "items": len(clean["items"]),
            "rules": len(clean["rules"]),
        },
    )
    return edition


def copy_edition(
    *, actor: User, source: Edition, code: str, year: int, name_zh: str, request: HttpRequest | None = None
) -> Edition:
    """The next edition starts as a draft copy of a published one (下一版本)."""
    if source.status == Edition.Status.DRAFT:
        raise ValidationError(_("只能复制已发布或已停用的版本；草稿版本请直接修改。"))
    data = edition_to_dict(source)
    data.update(code=code, year=year, name_zh=name_zh)
    return create_edition_from_data(actor=actor, data=data, based_on=source, request=request)


@transaction.atomic
def publish_edition(
    *,
    actor: User | None,
    edition: Edition,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> Edition:
    """Check the whole edition and publish it; from then on it cannot change."""
    locked = _locked_draft(edition, expected_version)
    result = check_edition(locked)
    if not result.ok:
        raise EditionInvalid(result.problems)
    locked.status = Edition.Status.PUBLISHED
    locked.published_at = timezone.now()
    locked.published_by = actor
    locked.version += 1
    locked.save()
    record(Action.FRAMEWORK_PUBLISH, actor=actor, request=request, target=locked)
    return locked


@transaction.atomic
def retire_edition(*, actor: User, edition: Edition, request: HttpRequest | None = None) -> Edition:
    locked = Edition.objects.select_for_update().get(pk=edition.pk)
    if locked.status != Edition.Status.PUBLISHED:
        raise ValidationError(_("只有已发布的版本可以停用。"))
    locked.status = Edition.Status.RETIRED
    locked.retired_at = timezone.now()
    locked.version += 1
    locked.save()
    record(Action.FRAMEWORK_RETIRE, actor=actor, request=request, target=locked)
    return locked


@transaction.atomic
def update_edition_details(
    *,
    actor: User,
    edition: Edition,
    fields: dict[str, Any],
    expected_version: int,
    request: HttpRequest | None = None,
) -> Edition:
    locked = _locked_draft(edition, expected_version)
    changes = _apply(locked, fields)
    if changes:
        locked.full_clean()
        locked.version += 1
        locked.save()
        record(Action.FRAMEWORK_EDIT, actor=actor, request=request, target=locked, detail={"changes": changes})
    return locked


PART_MODELS: dict[str, type[Area | Form | DataItem | Indicator | ValidationRule]] = {
    "area": Area,
    "form": Form,
    "item": DataItem,
    "indicator": Indicator,
    "rule": ValidationRule,
}


def _apply(obj: Any, fields: dict[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name, value in fields.items():
        old = getattr(obj, name)
        if old != value:
            changes[name] = [_jsonable(old), _jsonable(value)]
            setattr(obj, name, value)
    return changes


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "code"):
        return value.code
    return value


@transaction.atomic
def save_part(
    *,
    actor: User,
    edition: Edition,
    kind: str,
    fields: dict[str, Any],
    expected_version: int,
    part: Any | None = None,
    request: HttpRequest | None = None,
) -> Any:
    """Create (``part`` None) or change an area, form, data item, indicator or rule of a draft edition."""
    locked = _locked_draft(edition, expected_version)
    model = PART_MODELS[kind]
    code = fields.get("code")
    clash = model.objects.filter(edition=locked, code=code)
    if part is not None:
        clash = clash.exclude(pk=part.pk)
    if clash.exists():
        raise ValidationError(
            _("本版本中已有代码为“%(code)s”的%(kind)s。") % {"code": code, "kind": model._meta.verbose_name}
        )
    if part is None:
        obj = model(edition=locked, order=model.objects.filter(edition=locked).count())
        changes = _apply(obj, fields)
        action = "create"
    else:
        obj = model.objects.select_for_update().get(pk=part.pk, edition=locked)
        changes = _apply(obj, fields)
        action = "update"
    if not changes and part is not None:
        return obj
    obj.full_clean(exclude=["edition"])
    obj.save()
    _bump(locked)
    record(
        Action.FRAMEWORK_EDIT,
        actor=actor,
        request=request,
        target=locked,
        detail={"part": kind, "code": obj.code, "action": action, "changes": changes},
    )
    return obj


@transaction.atomic
def delete_part(
    *,
    actor: User,
    edition: Edition,
    kind: str,
    part: Any,
    expected_version: int,
    request: HttpRequest | None = None,
) -> None:
    locked = _locked_draft(edition, expected_version)
    model = PART_MODELS[kind]
    obj: Any = model.objects.select_for_update().get(pk=part.pk, edition=locked)
    if kind == "area" and (obj.items.exists() or obj.indicators.exists()):
        raise ValidationError(_("领域“%(code)s”下还有填报项或指标，请先移走或删除它们。") % {"code": obj.code})
    if kind == "form" and obj.items.exists():
        raise ValidationError(_("填报表“%(code)s”下还有填报项，请先移走或删除它们。") % {"code": obj.code})
    code = obj.code
    obj.delete()
    _bump(locked)
    record(
        Action.FRAMEWORK_EDIT,
        actor=actor,
        request=request,
        target=locked,
        detail={"part": kind, "code": code, "action": "delete"},
    )


def record_export(*, actor: User | None, edition: Edition, fmt: str, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        record(Action.FRAMEWORK_EXPORT, actor=actor, request=request, target=edition, detail={"format": fmt})
