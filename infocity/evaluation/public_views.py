"""The public page of the published annual evaluation: the ranking with its uncertainty and the confirmed awards.
Only runs the ministry has published appear; nothing here reads a draft, a trial run or an expert's marks."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from infocity.demo.models import DemoDataset

from .models import Award, EvaluationRun


def published_runs() -> Any:
    return EvaluationRun.objects.filter(
        published_at__isnull=False, official=True, status=EvaluationRun.Status.DONE
    ).select_related("scheme__cycle")


@login_not_required
def results(request: HttpRequest, year: int | None = None) -> HttpResponse:
    runs = list(published_runs().order_by("-scheme__cycle__year", "-published_at"))
    years = sorted({r.scheme.cycle.year for r in runs}, reverse=True)
    if year is None and years:
        year = years[0]
    run = next((r for r in runs if r.scheme.cycle.year == year), None)
    if year is not None and run is None:
        raise Http404
    context: dict[str, Any] = {"years": years, "year": year, "run": run, "demo": DemoDataset.objects.exists()}
    if run is not None and run.result is not None:
        result = run.result
        uncertainty = result["uncertainty"]
        rows = [
            {"rank": result["ranks"][i], "city": city, "score": result["scores"][i],
             "median": uncertainty["median"][i] if uncertainty else None,
             "p5": uncertainty["p5"][i] if uncertainty else None, "p95": uncertainty["p95"][i] if uncertainty else None}
            for i, city in enumerate(result["cities"])
        ]  # fmt: skip
        context.update(
            rows=sorted(rows, key=lambda r: (r["rank"], r["city"]["code"])),
            unranked=result.get("unranked", []),
            awards=run.awards.filter(status=Award.Status.CONFIRMED)
            .select_related("city", "application")
            .order_by("-kind", "position"),
            snapshot=run.scheme_snapshot or {},
        )
    return render(request, "evaluation/public_results.html", context)
