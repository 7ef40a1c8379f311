"""公共数据开放: the catalogue with DCAT metadata, the CSV, JSON and SDMX-CSV downloads, and the public API — all
showing exactly what the ministry published (withdrawn releases and unpublished evaluations never), labelled when
it is demonstration data, and the API rate-limited with the limit in its OpenAPI description."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from openapi_spec_validator import validate

from infocity.demo.models import DemoDataset
from infocity.evaluation import services as evaluation
from infocity.evaluation.models import Award, EvaluationRun
from infocity.portal.api import describe_rate
from infocity.portal.models import Release, ReleasedValue
from infocity.portal.services import publish_release, withdraw_release
from infocity.progress.models import TypicalApplication
from infocity.reporting.models import Period, ReportingCycle

from .conftest import Cast
from .test_analytics import accept, monthly
from .test_api_tokens import world as world  # the 2016 cycle fixture
from .test_evaluation_workflow import application, approve, experts, full_year_report, give, monitoring, runnable_scheme

SDMX = "application/vnd.sdmx.data+csv;version=1.0.0"
OPERATIONS = [
    "/api/v1/public/datasets",
    "/api/v1/public/datasets/{identifier}",
    "/api/v1/public/datasets/{identifier}/rows",
    "/api/v1/public/indicator-values",
    "/api/v1/public/evaluation-results",
    "/api/v1/public/awards",
]


@pytest.fixture(autouse=True)
def _fresh_rate_limit(settings: Any) -> Iterator[None]:
    """The API's limit counts in the default cache, which outlives a test; each test starts (and leaves) it empty."""
    settings.PUBLIC_API_RATE = "1000/min"
    cache.clear()
    yield
    cache.clear()


def period(code: str) -> Period:
    return Period.objects.get(code=code)


@pytest.fixture
def released(cast: Cast, world: ReportingCycle) -> Release:
    """November's accepted figures of three cities, published; October's (with a distinctive 杭州 figure)
    published and then withdrawn."""
    monitoring(cast)
    ministry = cast.users["ministry"]
    live = publish_release(actor=ministry, period=period("2016-M11"), note="11月数据")
    accept(cast, "hangzhou", "2016-M10", monthly(12345, 4321, ftth=5000, lte=11000))
    withdrawn = publish_release(actor=ministry, period=period("2016-M10"))
    withdraw_release(actor=ministry, release=withdrawn, reason="数据有误")
    return live


def released_value(release: Release, code: str, indicator: str) -> ReleasedValue:
    if code == "_T":
        return ReleasedValue.objects.get(release=release, city__isnull=True, indicator__code=indicator)
    return ReleasedValue.objects.get(release=release, city__division_id=code, indicator__code=indicator)


def withdrawn_values() -> set[str]:
    """The figures only the withdrawn October release has, as the downloads would write them."""
    october = Release.objects.get(period__code="2016-M10")
    november = {v.value for v in ReleasedValue.objects.filter(release__period__code="2016-M11")}
    return {str(v.value.normalize()) for v in october.values.all() if v.value is not None and v.value not in november}


def read_csv(content: bytes, bom: bool = True) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf") is bom
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


# --- the catalogue and the downloads --------------------------------------------------------------


def test_the_catalogue_lists_the_published_datasets_with_dcat_metadata(released: Release, anon: Client) -> None:
    page = anon.get("/open-data/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="dataset-indicator-values-2016"' in html
    assert "/open-data/indicator-values-2016.csv" in html and "/open-data/indicator-values-2016.sdmx.csv" in html
    assert "CC BY 4.0" in html and "数据来源：工业和信息化部" in html and 'rel="license"' in html
    assert 'data-testid="opendata-demo"' not in html and "/open-data/catalog.jsonld" in html
    # Nothing evaluated has been published yet.
    assert "evaluation-2016" not in html and 'data-testid="dataset-awards"' not in html

    response = anon.get("/open-data/catalog.jsonld")
    assert response["Content-Type"] == "application/ld+json"
    catalog = response.json()
    assert catalog["@type"] == "dcat:Catalog" and catalog["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    [dataset] = catalog["dcat:dataset"]
    assert dataset["@type"] == "dcat:Dataset" and dataset["dct:identifier"] == "indicator-values-2016"
    titles = {t["@language"]: t["@value"] for t in dataset["dct:title"]}
    assert titles["zh-CN"].startswith("2016年") and "2016" in titles["en"]
    assert dataset["dct:publisher"]["foaf:name"][0]["@value"] == "中华人民共和国工业和信息化部"
    assert datetime.datetime.fromisoformat(dataset["dct:issued"]["@value"]) == released.published_at
    assert datetime.datetime.fromisoformat(dataset["dct:modified"]["@value"]) == released.published_at
    assert dataset["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"
    assert dataset["dct:spatial"]["skos:prefLabel"][0]["@value"] == "中国"
    assert dataset["dct:temporal"]["dcat:endDate"]["@value"] == "2016-11-30"
    assert dataset["dct:accrualPeriodicity"]["@id"].endswith("/IRREG")
    assert "信息消费" in dataset["dcat:keyword"] and dataset["dcat:theme"]
    distributions = {d["dcat:mediaType"]: d for d in dataset["dcat:distribution"]}
    assert set(distributions) == {"text/csv", "application/json", SDMX}
    assert (
        distributions["text/csv"]["dcat:downloadURL"]["@id"] == "http://testserver/open-data/indicator-values-2016.csv"
    )
    assert distributions[SDMX]["dct:format"]["@id"].endswith("/file-type/SDMX")
    assert catalog["dcat:service"][0]["dcat:endpointURL"]["@id"] == "http://testserver/api/v1/public/"

    detail = anon.get("/open-data/indicator-values-2016/").content.decode()
    assert 'data-testid="metadata"' in detail and "dct:accrualPeriodicity" in detail and "杭州市" in detail
    assert "INFOCITY:DF_INDICATOR_VALUES_2016(1.0)" in detail and 'data-testid="preview"' in detail
    for missing in ("/open-data/awards/", "/open-data/evaluation-2016.csv", "/open-data/nothing.json"):
        assert anon.get(missing).status_code == 404, missing


def test_downloads_carry_exactly_the_released_values(released: Release, anon: Client) -> None:
    values = ReleasedValue.objects.filter(release=released)
    hz_a02 = released_value(released, "330100", "A02")
    total_a02 = released_value(released, "_T", "A02")
    assert hz_a02.value == Decimal("62") and total_a02.met is not None

    response = anon.get("/open-data/indicator-values-2016.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="indicator-values-2016.csv"'
    rows = read_csv(response.content)
    assert len(rows) == values.count()
    assert list(rows[0]) == ["release", "release_label", "published", "indicator", "indicator_name",
                             "indicator_name_en", "unit", "period", "period_label", "city_code", "city", "province",
                             "value", "target", "attainment", "gap", "met", "assessed", "demo"]  # fmt: skip
    by_key = {(r["city_code"], r["indicator"]): r for r in rows}
    for value in values.select_related("city", "indicator"):
        row = by_key[(value.city.code if value.city else "_T", value.indicator.code)]
        assert (Decimal(row["value"]) if row["value"] else None) == value.value
        assert row["release"] == "2016-M11" and row["attainment"] == value.attainment and row["demo"] == "false"
    assert by_key[("330100", "A02")]["city"] == "杭州市" and by_key[("330100", "A02")]["province"] == "浙江省"
    assert by_key[("_T", "A02")]["met"] == str(total_a02.met) and by_key[("_T", "A02")]["city"] == "全部示范城市"

    document = anon.get("/open-data/indicator-values-2016.json")
    assert document["Content-Type"] == "application/json"
    assert document["Content-Disposition"] == 'attachment; filename="indicator-values-2016.json"'
    body = document.json()
    assert body["dataset"]["dct:identifier"] == "indicator-values-2016" and body["demo"] is False
    assert body["licence"]["url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert [c["name"] for c in body["columns"]] == list(rows[0])
    assert len(body["rows"]) == len(rows)
    assert {(r["city_code"], r["indicator"]): r["value"] for r in body["rows"]}[("330100", "A02")] == "62"

    sdmx = anon.get("/open-data/indicator-values-2016.sdmx.csv")
    assert sdmx["Content-Type"] == SDMX
    assert sdmx["Content-Disposition"] == 'attachment; filename="indicator-values-2016.sdmx.csv"'
    observations = read_csv(sdmx.content, bom=False)
    assert list(observations[0])[:7] == ["DATAFLOW", "FREQ", "RELEASE", "REF_AREA", "INDICATOR", "TIME_PERIOD",
                                         "OBS_VALUE"]  # fmt: skip
    assert {o["DATAFLOW"] for o in observations} == {"INFOCITY:DF_INDICATOR_VALUES_2016(1.0)"}
    hz = next(o for o in observations if o["REF_AREA"] == "330100" and o["INDICATOR"] == "A02")
    assert (hz["FREQ"], hz["TIME_PERIOD"], Decimal(hz["OBS_VALUE"]), hz["OBS_STATUS"]) == (
        "M",
        "2016-11",
        hz_a02.value,
        "A",
    )
    assert len(observations) == values.count()


def test_a_withdrawn_release_appears_nowhere(released: Release, anon: Client) -> None:
    distinctive = withdrawn_values()
    assert distinctive
    texts = [anon.get(f"/open-data/indicator-values-2016{suffix}").content.decode("utf-8-sig")
             for suffix in (".csv", ".json", ".sdmx.csv", "/")]  # fmt: skip
    texts += [anon.get("/open-data/catalog.jsonld").content.decode()]
    texts += [anon.get(url).content.decode() for url in (
        "/api/v1/public/indicator-values?limit=1000", "/api/v1/public/datasets/indicator-values-2016/rows?limit=1000"
    )]  # fmt: skip
    for text in texts:
        assert "2016-M10" not in text and "2016年10月" not in text
        assert not [value for value in distinctive if value in text]
    # Withdrawing the last live release of the year removes the dataset.
    withdraw_release(actor=Release.objects.get(pk=released.pk).published_by, release=released, reason="更正")
    assert anon.get("/open-data/indicator-values-2016.csv").status_code == 404
    assert anon.get("/api/v1/public/datasets").json() == []


def test_demonstration_data_is_labelled(cast: Cast, world: ReportingCycle, anon: Client) -> None:
    DemoDataset.objects.create(seed=2016)
    monitoring(cast)
    release = publish_release(actor=cast.users["ministry"], period=period("2016-M11"))
    assert release.demo
    assert 'data-testid="opendata-demo"' in anon.get("/open-data/").content.decode()
    assert 'data-testid="opendata-demo"' in anon.get("/open-data/indicator-values-2016/").content.decode()
    body = anon.get("/open-data/indicator-values-2016.json").json()
    assert body["demo"] is True and all(row["demo"] is True for row in body["rows"])
    assert "演示数据" in body["dataset"]["dcat:keyword"]
    assert body["dataset"]["dct:description"][0]["@value"].startswith("【演示数据")
    assert {o["DEMO"] for o in read_csv(anon.get("/open-data/indicator-values-2016.sdmx.csv").content, bom=False)} == {
        "true"
    }
    assert anon.get("/api/v1/public/datasets").json()[0]["demo"] is True


# --- the evaluation and the awards ----------------------------------------------------------------


@pytest.fixture
def evaluated(cast: Cast, world: ReportingCycle) -> EvaluationRun:
    """An official run whose awards the ministry has confirmed (one advanced city, two excellent applications),
    not yet published; the November figures are released."""
    analyst = cast.users["analyst"]
    monitoring(cast)
    publish_release(actor=cast.users["ministry"], period=period("2016-M11"))
    beijing, _guangdong, _zhejiang = experts(cast)
    reports = {city: full_year_report(cast, city) for city in ("hangzhou", "jiaxing", "guangzhou")}
    review = evaluation.create_round(actor=analyst, cycle=world)
    for city, total in (("hangzhou", 90), ("jiaxing", 50), ("guangzhou", 80)):
        give(cast, review, beijing, total, report=reports[city])
    for title, total in (("杭州市智慧社区", 95), ("嘉兴市智慧社区", 60), ("广州市智慧社区", 88)):
        give(cast, review, beijing, total, application=application(title))
    review = evaluation.close_round(actor=analyst, review=review)
    rules = {"advanced_cities": "1", "excellent_threshold": "85", "excellent_max": "2", "mc_samples": "300"}
    scheme = approve(cast, runnable_scheme(cast, world, **rules))
    run = evaluation.request_run(actor=analyst, scheme=scheme, review=review)
    assert run.status == EvaluationRun.Status.DONE and run.result is not None
    orgs = {o.pk: o for o in cast.orgs.values()}
    for entry in evaluation.evaluated_cities(run):
        evaluation.decide_acceptance(actor=analyst, run=run, city=orgs[entry["id"]], decision="pass", comment="")
    evaluation.propose_awards(actor=analyst, run=run)
    keep = list(Award.objects.filter(run=run).values_list("pk", flat=True))
    return evaluation.confirm_awards(actor=cast.users["ministry"], run=run, keep=keep)


def test_evaluation_results_and_awards_appear_once_published(
    cast: Cast, evaluated: EvaluationRun, anon: Client
) -> None:
    awards = list(
        Award.objects.filter(run=evaluated).select_related("city", "application").order_by("-kind", "position")
    )
    assert [a.kind for a in awards] == ["city", "application", "application"]
    numbers = [a.number for a in awards]
    assert all(numbers)
    # Confirmed but not published: nowhere.
    before = [anon.get(url).content.decode() for url in (
        "/open-data/", "/open-data/catalog.jsonld", "/api/v1/public/datasets", "/api/v1/public/awards",
        "/api/v1/public/evaluation-results",
    )]  # fmt: skip
    for text in before:
        assert not [n for n in numbers if n in text] and "evaluation-2016" not in text
    assert anon.get("/api/v1/public/awards").json() == []
    assert anon.get("/api/v1/public/evaluation-results").json() == []
    for url in ("/open-data/awards.csv", "/open-data/evaluation-2016.json", "/api/v1/public/datasets/awards"):
        assert anon.get(url).status_code == 404, url

    evaluation.publish(actor=cast.users["ministry"], run=evaluated)
    run = EvaluationRun.objects.get(pk=evaluated.pk)
    assert run.result is not None
    identifiers = [d["identifier"] for d in anon.get("/api/v1/public/datasets").json()]
    assert identifiers == ["indicator-values-2016", "evaluation-2016", "awards"]

    ranking = read_csv(anon.get("/open-data/evaluation-2016.csv").content)
    assert [r["city"] for r in ranking] == ["杭州市", "广州市", "嘉兴市", "宁波市"]  # 宁波 unranked, last
    ranks = dict(zip([c["code"] for c in run.result["cities"]], run.result["ranks"], strict=True))
    scores = dict(zip([c["code"] for c in run.result["cities"]], run.result["scores"], strict=True))
    for row in ranking[:3]:
        assert row["ranked"] == "true" and int(row["rank"]) == ranks[row["city_code"]]
        assert row["score"] == f"{scores[row['city_code']]:.2f}"
        assert int(row["rank_p5"]) <= int(row["median_rank"]) <= int(row["rank_p95"])
    assert (ranking[3]["ranked"], ranking[3]["rank"], ranking[3]["score"]) == ("false", "", "")
    assert ranking[0]["province"] == "浙江省" and ranking[0]["year"] == "2016"
    api_ranking = anon.get("/api/v1/public/evaluation-results", {"year": 2016}).json()
    assert [(r["city"], r["rank"], r["score"]) for r in api_ranking] == [
        (r["city"], int(r["rank"]) if r["rank"] else None, r["score"] or None) for r in ranking
    ]
    observations = read_csv(anon.get("/open-data/evaluation-2016.sdmx.csv").content, bom=False)
    assert {o["DATAFLOW"] for o in observations} == {"INFOCITY:DF_EVALUATION_2016(1.0)"}
    score = next(o for o in observations if o["REF_AREA"] == "330100" and o["MEASURE"] == "SCORE")
    assert (score["TIME_PERIOD"], score["OBS_VALUE"], score["UNIT_MEASURE"]) == ("2016", ranking[0]["score"], "POINTS")

    listed = read_csv(anon.get("/open-data/awards.csv").content)
    assert [(r["kind"], r["city"], r["application"], r["position"], r["certificate"]) for r in listed] == [
        (a.kind, a.city.name, a.application.title if a.application else "", str(a.position), a.number) for a in awards
    ]
    assert [Decimal(r["score"]) for r in listed] == [a.score for a in awards]
    assert listed[0]["kind_label"] == "信息消费先进示范城市" and listed[1]["kind_label"] == "优秀典型应用"
    api_awards = anon.get("/api/v1/public/awards", {"year": "2016", "kind": "application"}).json()
    assert [a["certificate"] for a in api_awards] == numbers[1:]
    award_sdmx = read_csv(anon.get("/open-data/awards.sdmx.csv").content, bom=False)
    assert [(o["AWARD"], o["CERTIFICATE"]) for o in award_sdmx] == [(a.kind.upper(), a.number) for a in awards]
    page = anon.get("/open-data/").content.decode()
    assert 'data-testid="dataset-evaluation-2016"' in page and 'data-testid="dataset-awards"' in page

    # A title a spreadsheet would run as a formula is neutralised in the CSV files, kept as it is in JSON.
    formula = '=HYPERLINK("http://example.com","点击")'
    assert awards[1].application_id is not None
    TypicalApplication.objects.filter(pk=awards[1].application_id).update(title=formula)
    assert read_csv(anon.get("/open-data/awards.csv").content)[1]["application"] == "'" + formula
    assert read_csv(anon.get("/open-data/awards.sdmx.csv").content, bom=False)[1]["APPLICATION"] == "'" + formula
    assert anon.get("/open-data/awards.json").json()["rows"][1]["application"] == formula


# --- the API --------------------------------------------------------------------------------------


def test_the_api_serves_the_same_rows_as_the_downloads(released: Release, anon: Client) -> None:
    listed = anon.get("/api/v1/public/datasets").json()
    assert [d["identifier"] for d in listed] == ["indicator-values-2016"]
    assert listed[0]["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert {d["format"] for d in listed[0]["distributions"]} == {"CSV", "JSON", "SDMX-CSV 1.0"}
    detail = anon.get("/api/v1/public/datasets/indicator-values-2016").json()
    assert detail["dcat"]["@type"] == "dcat:Dataset" and detail["columns"][0]["name"] == "release"
    csv_rows = read_csv(anon.get("/open-data/indicator-values-2016.csv").content)
    page = anon.get("/api/v1/public/datasets/indicator-values-2016/rows", {"offset": 2, "limit": 5}).json()
    assert page["total"] == len(csv_rows) == detail["rows"] and len(page["items"]) == 5
    assert [r["value"] or "" for r in page["items"]] == [r["value"] for r in csv_rows[2:7]]
    assert anon.get("/api/v1/public/datasets/nothing/rows").status_code == 404
    assert anon.get("/api/v1/public/datasets/nothing").json()["code"] == "not_found"

    values = anon.get("/api/v1/public/indicator-values", {"year": "2016", "indicator": "A02", "city": "330100"}).json()
    assert values["total"] == 1
    [hz] = values["items"]
    assert Decimal(hz["value"]) == released_value(released, "330100", "A02").value and hz["release"] == "2016-M11"
    totals = anon.get("/api/v1/public/indicator-values", {"city": "_T", "indicator": "A02"}).json()["items"]
    assert [t["met"] for t in totals] == [released_value(released, "_T", "A02").met]
    assert anon.get("/api/v1/public/indicator-values", {"year": 2015}).json()["total"] == 0
    assert anon.get("/api/v1/public/indicator-values", {"limit": 5000}).status_code == 422
    assert anon.get("/api/v1/public/indicator-values", {"release": "2016-M10"}).json()["total"] == 0


def test_the_api_is_rate_limited(released: Release, anon: Client, settings: Any) -> None:
    settings.PUBLIC_API_RATE = "3/min"
    cache.clear()
    for url in ("/api/v1/public/datasets", "/api/v1/public/awards", "/api/v1/public/indicator-values"):
        assert anon.get(url).status_code == 200  # one limit over all the public operations
    refused = anon.get("/api/v1/public/datasets")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled" and "请求过于频繁" in refused.json()["message"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another address has its own allowance; the framework API is not limited; the downloads share the allowance
    # (the same data must not be fetched without limit by another door) and say so in Chinese.
    assert Client(REMOTE_ADDR="10.0.0.9").get("/api/v1/public/datasets").status_code == 200
    assert anon.get("/api/v1/editions").status_code == 200
    download = anon.get("/open-data/indicator-values-2016.csv")
    assert download.status_code == 429 and "请求过于频繁" in download.content.decode()
    assert 1 <= int(download["Retry-After"]) <= 60
    assert anon.get("/open-data/").status_code == 200  # the catalogue page itself stays readable
    # A forged X-Forwarded-For does not buy a new allowance.
    assert anon.get("/api/v1/public/datasets", HTTP_X_FORWARDED_FOR="1.2.3.4").status_code == 429
    settings.PUBLIC_API_RATE = None
    assert anon.get("/api/v1/public/datasets").status_code == 200


def test_the_openapi_description_documents_the_operations_and_the_limit(db: None, anon: Client) -> None:
    spec = anon.get("/api/v1/openapi.json").json()
    validate(spec)
    for path in OPERATIONS:
        operation = spec["paths"][path]["get"]
        assert operation["tags"] == ["公共数据开放 Open data"], path
        assert "security" not in operation, path
        assert "限流" in operation["description"] and "429" in operation["description"], path
        # The limit in words (the setting's value when the API was built), e.g. "每分钟 60 次".
        assert "Retry-After" in operation["description"] and "每分钟" in operation["description"], path
        throttled = operation["responses"]["429"]
        assert "Retry-After" in throttled["headers"], path
        assert throttled["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut"), path
    tags = {t["name"]: t["description"] for t in spec["tags"]}
    assert "CC BY 4.0" in tags["公共数据开放 Open data"]
    assert describe_rate("60/min") == ("每分钟 60 次", "60 requests per minute")
    assert describe_rate("1000/hour") == ("每小时 1000 次", "1000 requests per hour")
