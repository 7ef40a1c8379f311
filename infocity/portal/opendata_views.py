"""公共数据开放 pages: the catalogue, one page per dataset, the downloads and the DCAT catalogue (JSON-LD). No login;
everything comes from :mod:`infocity.portal.opendata`, which reads only what the ministry has published."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from infocity.demo.models import demo_data_loaded

from . import opendata
from .api import DEFAULT_RATE, RATE_SETTING, describe_rate, rate_limited

PREVIEW_ROWS = 20


def _dataset_or_404(identifier: str) -> opendata.Dataset:
    dataset = opendata.find(identifier)
    if dataset is None:
        raise Http404("没有该数据集，或其数据已撤回。")
    return dataset


@login_not_required
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    datasets = opendata.catalogue()
    rate_zh, rate_en = describe_rate(getattr(settings, RATE_SETTING, DEFAULT_RATE))
    groups = [
        (kind, [d for d in datasets if d.kind == kind])
        for kind in (opendata.VALUES, opendata.EVALUATION, opendata.AWARDS)
    ]
    context: dict[str, Any] = {
        "datasets": datasets,
        "groups": [(kind, items) for kind, items in groups if items],
        "demo": demo_data_loaded() or any(d.demo for d in datasets),
        "licence": opendata.LICENCE,
        "formats": opendata.FORMATS,
        "api_root": opendata.API_ROOT,
        "rate": rate_en if get_language() == "en" else rate_zh,
    }
    return render(request, "portal/opendata/catalogue.html", context)


@login_not_required
@require_GET
def dataset(request: HttpRequest, identifier: str) -> HttpResponse:
    found = _dataset_or_404(identifier)
    names = [c.name for c in found.columns]
    preview = [[row[n] for n in names] for row in found.rows(limit=PREVIEW_ROWS)]
    downloads = [(fmt, opendata.download_url(found, fmt, request.build_absolute_uri)) for fmt in opendata.FORMATS]
    context = {
        "dataset": found,
        "preview": preview,
        "downloads": downloads,
        "licence": opendata.LICENCE,
        "publisher": opendata.PUBLISHER_ZH,
        "api_rows": f"{opendata.API_ROOT}datasets/{found.identifier}/rows",
    }
    return render(request, "portal/opendata/dataset.html", context)


@login_not_required
@require_GET
@rate_limited
def download(request: HttpRequest, identifier: str, fmt: str) -> HttpResponse:
    """One dataset in one format, as an attachment named after the dataset."""
    found = _dataset_or_404(identifier)
    form = opendata.FORMAT_BY_KEY[fmt]
    rows = found.rows()
    if form.key == "csv":
        body, content_type = opendata.as_csv(found, rows), "text/csv; charset=utf-8"
    elif form.key == "json":
        body, content_type = opendata.as_json(found, rows, request.build_absolute_uri), "application/json"
    else:
        body, content_type = opendata.as_sdmx_csv(found, rows), form.media_type
    response = HttpResponse(body.encode("utf-8"), content_type=content_type)
    filename = f"{found.identifier}{form.suffix}"
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    return response


@login_not_required
@require_GET
@rate_limited
def catalog_jsonld(request: HttpRequest) -> HttpResponse:
    document = opendata.catalogue_jsonld(opendata.catalogue(), request.build_absolute_uri)
    return HttpResponse(json.dumps(document, ensure_ascii=False), content_type="application/ld+json")
