"""Read-only API of published indicator framework editions (open to everyone, like the dictionary)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import get_language, override
from ninja import Router, Schema

from infocity.tokens.errors import errors

from .compute import target_text
from .formula import in_words, parse
from .models import DataItem, Edition, Indicator

router = Router(tags=["指标体系 Indicator framework"])

PUBLIC_STATUSES = [Edition.Status.PUBLISHED, Edition.Status.RETIRED]


class AreaOut(Schema):
    code: str
    name_zh: str
    name_en: str


class FormOut(Schema):
    code: str
    name_zh: str
    name_en: str
    frequency: str


class EditionOut(Schema):
    code: str
    year: int
    status: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    based_on: str | None
    indicator_count: int


class EditionDetailOut(EditionOut):
    areas: list[AreaOut]
    forms: list[FormOut]


class TargetOut(Schema):
    kind: str
    operator: str
    value: Decimal | None
    basis: str
    note_zh: str
    note_en: str
    text_zh: str


class IndicatorOut(Schema):
    code: str
    area: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    unit: str
    direction: str
    frequency: str
    source: str
    formula: str
    formula_in_words_zh: str
    decimals: int
    target: TargetOut


class DataItemOut(Schema):
    code: str
    area: str
    form: str
    frequency: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    unit: str
    type: str
    min: Decimal | None
    max: Decimal | None
    required: bool
    source: str


def public_editions() -> QuerySet[Edition]:
    """Editions anyone may read: published or retired, never drafts."""
    return Edition.objects.filter(status__in=PUBLIC_STATUSES)


def _edition(code: str) -> Edition:
    edition = public_editions().filter(code=code).first()
    if edition is None:
        raise Http404("没有该指标体系版本，或尚未发布。")
    return edition


def _edition_out(edition: Edition) -> dict[str, object]:
    return {
        "code": edition.code,
        "year": edition.year,
        "status": edition.status,
        "name_zh": edition.name_zh,
        "name_en": edition.name_en,
        "description_zh": edition.description_zh,
        "description_en": edition.description_en,
        "based_on": edition.based_on.code if edition.based_on else None,
        "indicator_count": edition.indicators.count(),
    }


def names_of(edition: Edition, language: str | None = None) -> dict[str, str]:
    """Codes to names in ``language`` (the active one by default), falling back to Chinese."""
    english = (language or get_language()) == "en"
    names: dict[str, str] = {}
    for queryset in (edition.items, edition.indicators):
        for code, zh, en in queryset.values_list("code", "name_zh", "name_en"):
            names[code] = en if english and en else zh
    return names


def indicator_out(indicator: Indicator, names: dict[str, str]) -> dict[str, object]:
    return {
        "code": indicator.code,
        "area": indicator.area.code,
        "name_zh": indicator.name_zh,
        "name_en": indicator.name_en,
        "definition_zh": indicator.definition_zh,
        "definition_en": indicator.definition_en,
        "unit": indicator.unit,
        "direction": indicator.direction,
        "frequency": indicator.frequency,
        "source": indicator.source,
        "formula": indicator.formula,
        "formula_in_words_zh": in_words(parse(indicator.formula), names),
        "decimals": indicator.decimals,
        "target": {
            "kind": indicator.target_kind,
            "operator": indicator.target_operator,
            "value": indicator.target_value,
            "basis": indicator.target_basis,
            "note_zh": indicator.target_note_zh,
            "note_en": indicator.target_note_en,
            "text_zh": target_text(indicator),
        },
    }


def item_out(item: DataItem) -> dict[str, object]:
    return {
        "code": item.code,
        "area": item.area.code,
        "form": item.form.code,
        "frequency": item.form.frequency,
        "name_zh": item.name_zh,
        "name_en": item.name_en,
        "definition_zh": item.definition_zh,
        "definition_en": item.definition_en,
        "unit": item.unit,
        "type": item.value_type,
        "min": item.min_value,
        "max": item.max_value,
        "required": item.required,
        "source": item.source,
    }


@router.get("/editions", response={200: list[EditionOut], **errors()}, auth=None, summary="已发布的指标体系版本")
def list_editions(request: HttpRequest) -> list[dict[str, object]]:
    return [_edition_out(e) for e in public_editions().select_related("based_on")]


@router.get("/editions/{code}", response={200: EditionDetailOut, **errors(404)}, auth=None, summary="指标体系版本详情")
def get_edition(request: HttpRequest, code: str) -> dict[str, object]:
    edition = _edition(code)
    return {
        **_edition_out(edition),
        "areas": list(edition.areas.values("code", "name_zh", "name_en")),
        "forms": list(edition.forms.values("code", "name_zh", "name_en", "frequency")),
    }


@router.get(
    "/editions/{code}/indicators", response={200: list[IndicatorOut], **errors(404)}, auth=None, summary="指标列表"
)
def list_indicators(request: HttpRequest, code: str, area: str | None = None) -> list[dict[str, object]]:
    edition = _edition(code)
    indicators = edition.indicators.select_related("area")
    if area:
        indicators = indicators.filter(area__code=area)
    names = names_of(edition, "zh-hans")
    with override("zh-hans"):
        return [indicator_out(i, names) for i in indicators]


@router.get(
    "/editions/{code}/indicators/{indicator}",
    response={200: IndicatorOut, **errors(404)},
    auth=None,
    summary="指标详情",
)
def get_indicator(request: HttpRequest, code: str, indicator: str) -> dict[str, object]:
    edition = _edition(code)
    found = edition.indicators.select_related("area").filter(code=indicator).first()
    if found is None:
        raise Http404("该版本中没有这个指标。")
    with override("zh-hans"):
        return indicator_out(found, names_of(edition, "zh-hans"))


@router.get(
    "/editions/{code}/data-items", response={200: list[DataItemOut], **errors(404)}, auth=None, summary="填报项列表"
)
def list_data_items(
    request: HttpRequest, code: str, area: str | None = None, form: str | None = None
) -> list[dict[str, object]]:
    items = _edition(code).items.select_related("area", "form")
    if area:
        items = items.filter(area__code=area)
    if form:
        items = items.filter(form__code=form)
    return [item_out(i) for i in items]
