"""Pages of the indicator framework: the public dictionary (指标字典) and the ministry's editing pages."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infocity.accounts.models import Role, User
from infocity.accounts.permissions import role_required
from infocity.scoping import get_visible_or_404

from . import services
from .api import names_of, public_editions
from .checks import ITEM_KINDS, check_edition
from .compute import format_value, target_text
from .forms import (
    PART_FORMS,
    CopyEditionForm,
    EditionDetailsForm,
    ImportEditionForm,
)
from .formula import (
    FormulaError,
    Kind,
    Missing,
    check,
    evaluate,
    in_words,
    parse,
    references,
    to_decimal,
    to_fraction,
)
from .interchange import InterchangeError, edition_to_dict, from_text, from_xlsx, to_json, to_xlsx, to_yaml
from .messages import render as render_message
from .models import DataItem, Edition, Indicator

EDITORS = (Role.MINISTRY,)
READERS = (Role.MINISTRY, Role.ANALYST)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- public dictionary ----------------------------------------------------------------------------


def _dictionary_edition(code: str | None) -> Edition:
    editions = public_editions()
    edition = (
        editions.filter(code=code).first()
        if code
        else editions.filter(status=Edition.Status.PUBLISHED).order_by("-year", "-published_at").first()
    )
    if edition is None:
        raise Http404
    return edition


@login_not_required
def dictionary(request: HttpRequest, edition_code: str | None = None) -> HttpResponse:
    """指标字典: every indicator of a published edition, by area."""
    edition = _dictionary_edition(edition_code)
    indicators = Indicator.objects.filter(edition=edition).select_related("area")
    areas = edition.areas.prefetch_related(Prefetch("indicators", queryset=indicators))
    rows = [(area, [(i, target_text(i)) for i in area.indicators.all()]) for area in areas]
    return render(
        request,
        "frameworks/dictionary.html",
        {"edition": edition, "areas": rows, "editions": public_editions(), "count": indicators.count()},
    )


@login_not_required
def dictionary_indicator(request: HttpRequest, edition_code: str, code: str) -> HttpResponse:
    edition = _dictionary_edition(edition_code)
    indicator = edition.indicators.select_related("area").filter(code=code).first()
    if indicator is None:
        raise Http404
    tree = parse(indicator.formula)
    read = references(tree)
    items = edition.items.select_related("form").filter(code__in={c for c, _ in read})
    used_indicators = edition.indicators.filter(code__in={c for c, _ in read})
    return render(
        request,
        "frameworks/dictionary_indicator.html",
        {
            "edition": edition,
            "indicator": indicator,
            "formula_words": in_words(tree, names_of(edition)),
            "target": target_text(indicator),
            "items": items,
            "used_indicators": used_indicators,
            "uses_previous": any(previous for _, previous in read),
            "aggregation": _aggregation_words(list(items)),
        },
    )


def _aggregation_words(items: list[DataItem]) -> str:
    """How the indicator's items are combined over cities, e.g. "各城市的固定宽带用户数相加"."""
    from infocity.analytics.services import item_method

    summed = [item.name for item in items if item_method(item) == "sum"]
    averaged = [item.name for item in items if item_method(item) == "mean"]
    parts = []
    if summed:
        parts.append(_("各城市的%(items)s相加") % {"items": "、".join(summed)})
    if averaged:
        parts.append(_("%(items)s取参与城市的平均值") % {"items": "、".join(averaged)})
    return "；".join(parts)


# --- ministry pages -------------------------------------------------------------------------------


def editions_visible_to(user: Any) -> QuerySet[Edition]:
    """The ministry and the monitoring agency see every edition, drafts included."""
    if getattr(user, "role", "") in READERS:
        return Edition.objects.all()
    return Edition.objects.none()


def _edition_for(request: HttpRequest, pk: int) -> Edition:
    return get_visible_or_404(request.user, editions_visible_to(request.user), pk)


@role_required(*READERS)
def edition_list(request: HttpRequest) -> HttpResponse:
    editions = editions_visible_to(request.user).annotate(
        indicator_count=Count("indicators", distinct=True), item_count=Count("items", distinct=True)
    )
    return render(
        request,
        "frameworks/edition_list.html",
        {"editions": editions, "import_form": ImportEditionForm(), "can_edit": _user(request).role in EDITORS},
    )


@role_required(*READERS)
def edition_detail(request: HttpRequest, pk: int) -> HttpResponse:
    edition = _edition_for(request, pk)
    can_edit = _user(request).role in EDITORS
    indicators = edition.indicators.select_related("area")
    names = names_of(edition)
    context = {
        "edition": edition,
        "can_edit": can_edit and edition.is_draft,
        "can_manage": can_edit,
        "areas": edition.areas.all(),
        "forms": edition.forms.annotate(item_count=Count("items")),
        "items": edition.items.select_related("area", "form"),
        "indicators": [(i, target_text(i), _safe_words(i.formula, names)) for i in indicators],
        "rules": [
            (
                rule,
                _safe_words(rule.expression, names),
                render_message(rule.message_zh, names, lambda code: "…", lambda code: "…"),
            )
            for rule in edition.rules.all()
        ],
        "copy_form": CopyEditionForm(initial={"year": edition.year + 1, "code": str(edition.year + 1)}),
        "details_form": EditionDetailsForm(instance=edition),
    }
    return render(request, "frameworks/edition_detail.html", context)


def _safe_words(formula: str, names: dict[str, str]) -> str:
    try:
        return in_words(parse(formula), names)
    except FormulaError as error:
        return str(error)


@role_required(*EDITORS)
@require_POST
def edition_publish(request: HttpRequest, pk: int) -> HttpResponse:
    edition = _edition_for(request, pk)
    try:
        services.publish_edition(
            actor=_user(request), edition=edition, expected_version=_version(request), request=request
        )
    except services.EditionInvalid as invalid:
        return render(
            request,
            "frameworks/publish_problems.html",
            {"edition": edition, "problems": invalid.problems},
            status=422,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("版本已发布，此后不能再修改。"))
    return redirect("frameworks:detail", pk=edition.pk)


@role_required(*EDITORS)
@require_POST
def edition_retire(request: HttpRequest, pk: int) -> HttpResponse:
    edition = _edition_for(request, pk)
    try:
        services.retire_edition(actor=_user(request), edition=edition, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("版本已停用：仍可查阅，但不再用于新的填报周期。"))
    return redirect("frameworks:detail", pk=edition.pk)


@role_required(*EDITORS)
@require_POST
def edition_copy(request: HttpRequest, pk: int) -> HttpResponse:
    source = _edition_for(request, pk)
    form = CopyEditionForm(request.POST)
    if form.is_valid():
        try:
            copy = services.copy_edition(actor=_user(request), source=source, request=request, **form.cleaned_data)
        except InterchangeError as error:
            messages.error(request, " ".join(error.problems))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("已复制为新的草稿版本，可以修改后发布。"))
            return redirect("frameworks:detail", pk=copy.pk)
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("frameworks:detail", pk=source.pk)


@role_required(*EDITORS)
def edition_details(request: HttpRequest, pk: int) -> HttpResponse:
    edition = _edition_for(request, pk)
    form = EditionDetailsForm(request.POST or None, instance=edition)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_edition_details(
                actor=_user(request),
                edition=edition,
                fields={f: form.cleaned_data[f] for f in EditionDetailsForm.Meta.fields},
                expected_version=_version(request),
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("版本信息已保存。"))
            return redirect("frameworks:detail", pk=edition.pk)
    return render(request, "frameworks/part_form.html", {"edition": edition, "form": form, "title": _("版本信息")})


EXPORTS = {
    "yaml": ("application/x-yaml; charset=utf-8", "yaml"),
    "json": ("application/json; charset=utf-8", "json"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


@role_required(*READERS)
def edition_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    edition = _edition_for(request, pk)
    if fmt not in EXPORTS:
        raise Http404
    data = edition_to_dict(edition)
    content: str | bytes = to_xlsx(data) if fmt == "xlsx" else to_yaml(data) if fmt == "yaml" else to_json(data)
    services.record_export(actor=_user(request), edition=edition, fmt=fmt, request=request)
    content_type, extension = EXPORTS[fmt]
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="infocity-framework-{edition.code}.{extension}"'
    return response


MAX_IMPORT_BYTES = 2 * 1024 * 1024


@role_required(*EDITORS)
@require_POST
def edition_import(request: HttpRequest) -> HttpResponse:
    form = ImportEditionForm(request.POST, request.FILES)
    problems: list[str] = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        name = upload.name.lower()
        try:
            if upload.size > MAX_IMPORT_BYTES:
                raise InterchangeError(
                    [_("文件过大（超过 2 MB），指标体系文件通常只有几十 KB，请检查是否选错了文件。")]
                )
            content = upload.read()
            if name.endswith(".xlsx"):
                data = from_xlsx(content)
            elif name.endswith((".yaml", ".yml", ".json")):
                try:
                    text = content.decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise InterchangeError([_("文件不是 UTF-8 编码的文本，请用平台导出的文件修改后导入。")]) from None
                data = from_text(text)
            else:
                raise InterchangeError([_("只能导入 .yaml、.json 或 .xlsx 文件。")])
            edition = services.create_edition_from_data(
                actor=_user(request), data=data, code=form.cleaned_data["code"] or None, request=request
            )
        except InterchangeError as error:
            problems = error.problems
        except ValidationError as error:
            problems = error.messages
        else:
            messages.success(request, _("已导入为草稿版本“%(name)s”。") % {"name": edition.name_zh})
            return redirect("frameworks:detail", pk=edition.pk)
    else:
        problems = [e for errors in form.errors.values() for e in errors]
    return render(request, "frameworks/import_problems.html", {"problems": problems}, status=422)


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


@role_required(*EDITORS)
def part_edit(request: HttpRequest, pk: int, kind: str, part_pk: int | None = None) -> HttpResponse:
    """Create or change an area, form, data item, indicator or rule of a draft edition."""
    edition = _edition_for(request, pk)
    if kind not in PART_FORMS:
        raise Http404
    form_class = PART_FORMS[kind]
    model = form_class._meta.model
    part = get_visible_or_404(request.user, model.objects.filter(edition=edition), part_pk) if part_pk else None
    form = form_class(request.POST or None, instance=part, edition=edition)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form_class._meta.fields or ()}
        try:
            services.save_part(
                actor=_user(request),
                edition=edition,
                kind=kind,
                fields=fields,
                part=part,
                expected_version=_version(request),
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已保存。"))
            problems = check_edition(edition).problems
            if problems:
                messages.warning(
                    request,
                    _("注意：本版本还有 %(n)d 个问题须在发布前解决，例如：%(first)s")
                    % {"n": len(problems), "first": problems[0]},
                )
            return redirect(f"{redirect('frameworks:detail', pk=edition.pk).url}#{kind}s")
    return render(
        request,
        "frameworks/part_form.html",
        {
            "edition": edition,
            "form": form,
            "kind": kind,
            "part": part,
            "title": model._meta.verbose_name,
            "formula_field": {"indicator": "formula", "rule": "expression"}.get(kind),
        },
    )


@role_required(*EDITORS)
@require_POST
def part_delete(request: HttpRequest, pk: int, kind: str, part_pk: int) -> HttpResponse:
    edition = _edition_for(request, pk)
    if kind not in PART_FORMS:
        raise Http404
    model = PART_FORMS[kind]._meta.model
    part = get_visible_or_404(request.user, model.objects.filter(edition=edition), part_pk)
    try:
        services.delete_part(
            actor=_user(request), edition=edition, kind=kind, part=part, expected_version=_version(request),
            request=request,
        )  # fmt: skip
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已删除 %(code)s。") % {"code": part.code})
    return redirect("frameworks:detail", pk=edition.pk)


@role_required(*EDITORS)
@require_POST
def check_formula(request: HttpRequest, pk: int) -> HttpResponse:
    """Live check of a formula or rule while it is typed (htmx): problems, the formula in words, and its
    value on the sample values the user enters for the codes it reads."""
    edition = _edition_for(request, pk)
    text = request.POST.get("formula") or request.POST.get("expression") or ""
    items = {i.code: i for i in edition.items.all()}
    indicators = {i.code: i for i in edition.indicators.all()}
    kinds: dict[str, Kind | None] = {code: ITEM_KINDS[DataItem.Type(i.value_type)] for code, i in items.items()}
    kinds.update(check_edition(edition).indicator_kinds)
    kinds.update({code: kinds.get(code) for code in indicators})
    names = names_of(edition)
    context: dict[str, Any] = {"edition": edition, "problems": [], "inputs": [], "result": None}
    try:
        tree = parse(text)
    except FormulaError as error:
        context["problems"] = [str(error)]
        return render(request, "frameworks/_formula_check.html", context)
    problems: list[str] = []
    kind = check(tree, kinds, problems)
    context["problems"] = problems
    context["words"] = in_words(tree, names)
    context["kind"] = kind.value if kind else ""
    current: dict[str, Any] = {}
    previous: dict[str, Any] = {}
    for code, is_previous in sorted(references(tree)):
        if code not in kinds:
            continue  # already reported as unknown; nothing to try it with
        field = f"sample-{'prev-' if is_previous else ''}{code}"
        raw = request.POST.get(field, "").strip().replace(",", "")
        value: Fraction | bool | None = None
        if raw:
            value = {"是": True, "否": False, "true": True, "false": False}.get(raw.lower())
            if value is None:
                converted = to_fraction(raw)
                value = converted if isinstance(converted, Fraction) else None
                if value is None:
                    problems.append(_("示例值“%(raw)s”不是数字。") % {"raw": raw})
        (previous if is_previous else current)[code] = value
        context["inputs"].append(
            {"field": field, "code": code, "name": names.get(code, code), "previous": is_previous, "raw": raw}
        )
    if not problems:
        outcome = evaluate(tree, current, previous, names)
        context["missing"] = isinstance(outcome, Missing)
        if isinstance(outcome, Missing):
            context["result"] = outcome.reason
        elif isinstance(outcome, Fraction):
            # Shown as the indicator will be: its decimal places and unit, when the form gives them.
            try:
                places = min(max(int(request.POST.get("decimals", "")), 0), 6)
            except ValueError:
                context["result"] = format_value(outcome)
            else:
                context["result"] = f"{to_decimal(outcome, places):,f}{request.POST.get('unit', '')[:20]}"
        else:
            context["result"] = format_value(outcome)
    return render(request, "frameworks/_formula_check.html", context)
