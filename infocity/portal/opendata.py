"""公共数据开放 (open data): what the ministry has published, as datasets with DCAT metadata, downloadable as CSV,
JSON and SDMX-CSV and read by the public API (:mod:`infocity.portal.api`).

Only three sources are read, so nothing unpublished can appear: :func:`~infocity.portal.services.live_releases`
(数据发布 not withdrawn), :func:`~infocity.evaluation.public_views.published_runs` and
:func:`~infocity.evaluation.services.published_awards` (confirmed awards of published runs). Withdrawing a release
removes its rows from every dataset at once; a dataset with no rows left is no longer listed.

The datasets, with stable identifiers:

- ``indicator-values-<year>`` — 监测指标发布数据: the released values of the year's cycles under one framework edition
  (``indicator-values-<year>-<edition>`` when the edition's code is not the year). The release is the unit: each
  row names the period the release is as of (``release``), several releases of a year are all included.
- ``evaluation-<year>`` — 年度评估结果: the ranking of the year's published evaluation: score, rank, the median rank
  and the 90% interval over the weight perturbations; cities not ranked for lack of data are listed unranked.
- ``awards`` — 表彰名单: every confirmed award of every published evaluation.

Rows are plain dicts of JSON values (decimals as exact text, e.g. ``"62.5"``). Every row carries ``demo``: true
when it comes from demonstration data (a release published while demonstration data was loaded, or evaluation
results on a platform with demonstration data).

SDMX-CSV 1.0 (the SDMX 2.1 CSV format, ``application/vnd.sdmx.data+csv;version=1.0.0``): one observation per line;
the first column ``DATAFLOW`` is ``INFOCITY:DF_<IDENTIFIER>(1.0)`` (the identifier in capitals, ``-`` → ``_``),
then the dimensions, ``OBS_VALUE`` and the attributes:

- indicator values: dimensions ``FREQ`` (M, Q, S half-year, A), ``RELEASE`` (the release's period code),
  ``REF_AREA`` (the city's GB/T 2260 division code; ``_T`` for the value over all the cycle's cities),
  ``INDICATOR`` (the indicator code of the edition) and ``TIME_PERIOD`` (``2016-11``, ``2016-Q4``, ``2016-S2``,
  ``2016``); attributes ``UNIT_MEASURE`` (the indicator's unit as written in the framework), ``OBS_STATUS``
  (``A`` a value, ``O`` missing), ``TARGET``, ``ATTAINMENT`` (met, not_met, no_value, no_target), ``CITIES_MET``
  and ``CITIES_ASSESSED`` (``_T`` rows only), ``DEMO``.
- evaluation: dimensions ``REF_AREA``, ``MEASURE`` (SCORE on the 100-point scale, RANK, RANK_MEDIAN, RANK_P5,
  RANK_P95) and ``TIME_PERIOD`` (the year); attributes ``UNIT_MEASURE`` (POINTS or RANK), ``OBS_STATUS``, ``DEMO``.
- awards: dimensions ``AWARD`` (CITY 信息消费先进示范城市, APPLICATION 优秀典型应用), ``POSITION``, ``REF_AREA`` and
  ``TIME_PERIOD``; ``OBS_VALUE`` is the award's score; attributes ``UNIT_MEASURE`` (POINTS), ``OBS_STATUS``,
  ``APPLICATION`` (the application's title), ``CERTIFICATE`` (the certificate number), ``DEMO``.

The plain CSV starts with a byte order mark (Excel opens UTF-8 only with it) and neutralises text a spreadsheet
would run as a formula; the SDMX-CSV has no byte order mark (it is read by programs) but is guarded alike.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, Min, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language

from infocity.bulk.exports import safe
from infocity.demo.models import demo_data_loaded
from infocity.evaluation.models import Award, EvaluationRun
from infocity.evaluation.public_views import published_runs
from infocity.evaluation.services import published_awards

from .models import Release, ReleasedValue
from .services import live_releases

Row = dict[str, Any]
TOTAL = "_T"  # the code of the value over all the cycle's cities (SDMX's code for a total)
TOTAL_NAME = "全部示范城市"
AWARD_LABELS = {
    Award.Kind.ADVANCED_CITY.value: "信息消费先进示范城市",
    Award.Kind.EXCELLENT_APPLICATION.value: "优秀典型应用",
}
API_ROOT = "/api/v1/public/"

VALUES = "indicator-values"
EVALUATION = "evaluation"
AWARDS = "awards"

PUBLISHER_ZH = "中华人民共和国工业和信息化部"
PUBLISHER_EN = "Ministry of Industry and Information Technology of the People's Republic of China"
PUBLISHER_HOMEPAGE = "https://www.miit.gov.cn/"


def _english() -> bool:
    return get_language() == "en"


@dataclass(frozen=True)
class Licence:
    """The licence of every dataset: CC BY 4.0, attributing the ministry (a proposal the ministry confirms)."""

    code: str = "CC-BY-4.0"
    url: str = "https://creativecommons.org/licenses/by/4.0/"
    legal_code: str = "https://creativecommons.org/licenses/by/4.0/legalcode.zh-hans"
    name_zh: str = "知识共享署名 4.0 国际许可协议（CC BY 4.0）"
    name_en: str = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
    attribution_zh: str = "数据来源：工业和信息化部，信息消费示范城市监测平台"
    attribution_en: str = (
        "Source: Ministry of Industry and Information Technology, information consumption demonstration city "
        "monitoring platform"
    )

    @property
    def name(self) -> str:
        return self.name_en if _english() else self.name_zh

    @property
    def attribution(self) -> str:
        return self.attribution_en if _english() else self.attribution_zh


LICENCE = Licence()


@dataclass(frozen=True)
class Format:
    """A download format of every dataset (a DCAT distribution)."""

    key: str
    url_name: str
    suffix: str
    media_type: str
    label: str
    file_type: str  # the EU file-type authority table's URI, for dct:format


FORMATS = (
    Format("csv", "opendata:csv", ".csv", "text/csv", "CSV",
           "http://publications.europa.eu/resource/authority/file-type/CSV"),
    Format("json", "opendata:json", ".json", "application/json", "JSON",
           "http://publications.europa.eu/resource/authority/file-type/JSON"),
    Format("sdmx", "opendata:sdmx", ".sdmx.csv", "application/vnd.sdmx.data+csv;version=1.0.0", "SDMX-CSV 1.0",
           "http://publications.europa.eu/resource/authority/file-type/SDMX"),
)  # fmt: skip
FORMAT_BY_KEY = {f.key: f for f in FORMATS}


@dataclass(frozen=True)
class Column:
    """One column of a dataset: its name (the CSV header and JSON key), its title and the XML Schema type of its
    values."""

    name: str
    title_zh: str
    title_en: str
    datatype: str = "string"
    note_zh: str = ""

    @property
    def title(self) -> str:
        return self.title_en if _english() else self.title_zh


COLUMNS: dict[str, tuple[Column, ...]] = {
    VALUES: (
        Column("release", "发布（截至报告期）", "Release (as of period)", note_zh="该次数据发布所截至的报告期代码"),
        Column("release_label", "发布报告期名称", "Release period"),
        Column("published", "发布日期", "Published on", "date"),
        Column("indicator", "指标代码", "Indicator code"),
        Column("indicator_name", "指标名称", "Indicator"),
        Column("indicator_name_en", "指标英文名称", "Indicator (English)"),
        Column("unit", "单位", "Unit"),
        Column("period", "数据报告期", "Period of the value", note_zh="各指标按其频度取截至发布报告期的最近一期"),
        Column("period_label", "数据报告期名称", "Period"),
        Column("city_code", "区划代码", "Division code", note_zh="GB/T 2260 行政区划代码；_T 为全部示范城市合计"),
        Column("city", "城市", "City"),
        Column("province", "省份", "Province"),
        Column("value", "指标值", "Value", "decimal"),
        Column("target", "目标值", "Target"),
        Column("attainment", "达标情况", "Attainment",
               note_zh="met 达标，not_met 未达标，no_value 无数据，no_target 无目标"),
        Column("gap", "距目标差距", "Gap to target", "decimal"),
        Column("met", "达标城市数", "Cities meeting the target", "integer", "仅合计行"),
        Column("assessed", "参与评价城市数", "Cities assessed", "integer", "仅合计行"),
        Column("demo", "演示数据", "Demonstration data", "boolean"),
    ),
    EVALUATION: (
        Column("year", "年度", "Year", "integer"),
        Column("cycle", "填报周期", "Reporting cycle"),
        Column("city_code", "区划代码", "Division code", note_zh="GB/T 2260 行政区划代码"),
        Column("city", "城市", "City"),
        Column("province", "省份", "Province"),
        Column("ranked", "参与排名", "Ranked", "boolean", "数据覆盖不足的城市不参与排名"),
        Column("rank", "名次", "Rank", "integer"),
        Column("score", "总分", "Score", "decimal", "百分制，保留两位小数"),
        Column("median_rank", "中位名次", "Median rank", "integer", "权重扰动（蒙特卡洛）下的中位名次"),
        Column("rank_p5", "名次区间下限（90%）", "Rank, 5th percentile", "integer"),
        Column("rank_p95", "名次区间上限（90%）", "Rank, 95th percentile", "integer"),
        Column("demo", "演示数据", "Demonstration data", "boolean"),
    ),
    AWARDS: (
        Column("year", "年度", "Year", "integer"),
        Column("kind", "奖项代码", "Award code", note_zh="city 信息消费先进示范城市，application 优秀典型应用"),
        Column("kind_label", "奖项", "Award"),
        Column("city_code", "区划代码", "Division code", note_zh="GB/T 2260 行政区划代码"),
        Column("city", "城市", "City"),
        Column("province", "省份", "Province"),
        Column("application", "典型应用", "Application"),
        Column("position", "名次", "Position", "integer"),
        Column("score", "得分", "Score", "decimal"),
        Column("certificate", "证书编号", "Certificate number"),
        Column("demo", "演示数据", "Demonstration data", "boolean"),
    ),
}  # fmt: skip

PERIODICITY = {  # EU frequency authority table codes, with what they mean here
    "IRREG": ("不定期（随部级数据发布更新）", "Irregular (updated when the ministry publishes)"),
    "ANNUAL": ("每年", "Annual"),
}
THEMES = (
    "http://publications.europa.eu/resource/authority/data-theme/ECON",
    "http://publications.europa.eu/resource/authority/data-theme/TECH",
    "http://publications.europa.eu/resource/authority/data-theme/GOVE",
)
KEYWORDS = ("信息消费", "示范城市", "工业和信息化部", "information consumption", "demonstration cities")


@dataclass(frozen=True)
class Dataset:
    """One dataset of the catalogue: its DCAT metadata, and the filter its rows are read with."""

    identifier: str
    kind: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    issued: datetime.datetime
    modified: datetime.datetime
    start: datetime.date
    end: datetime.date
    periodicity: str
    demo: bool
    count: int
    year: int | None = None
    edition: str = ""
    keywords: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return self.title_en if _english() else self.title_zh

    @property
    def description(self) -> str:
        return self.description_en if _english() else self.description_zh

    @property
    def periodicity_label(self) -> str:
        zh, en = PERIODICITY[self.periodicity]
        return en if _english() else zh

    @property
    def columns(self) -> tuple[Column, ...]:
        return COLUMNS[self.kind]

    @property
    def dataflow(self) -> str:
        """The SDMX dataflow reference of the SDMX-CSV download."""
        return f"INFOCITY:DF_{self.identifier.upper().replace('-', '_')}(1.0)"

    def rows(self, offset: int = 0, limit: int | None = None) -> list[Row]:
        return ROWS[self.kind](self, offset, limit)


# --- the catalogue --------------------------------------------------------------------------------


def values_identifier(year: int, edition: str) -> str:
    return f"{VALUES}-{year}" if edition == str(year) else f"{VALUES}-{year}-{edition}"


def _value_datasets(demo: bool) -> list[Dataset]:
    groups: dict[tuple[int, str], list[Release]] = {}
    for release in live_releases().select_related("cycle__edition").order_by("published_at", "pk"):
        groups.setdefault((release.cycle.year, release.cycle.edition.code), []).append(release)
    stats = {
        (s["release__cycle__year"], s["release__cycle__edition__code"]): s
        for s in released_values()
        .order_by()
        .values("release__cycle__year", "release__cycle__edition__code")
        .annotate(n=Count("pk"), start=Min("period__starts_on"), end=Max("period__ends_on"))
    }
    datasets = []
    for (year, code), releases in sorted(groups.items(), key=lambda g: (-g[0][0], g[0][1])):
        stat = stats.get((year, code))
        if stat is None:
            continue
        edition = releases[0].cycle.edition
        labelled = demo or any(r.demo for r in releases)
        periods = "、".join(r.period.label for r in releases)
        datasets.append(
            Dataset(
                identifier=values_identifier(year, code), kind=VALUES, year=year, edition=code,
                title_zh=f"{year}年信息消费示范城市监测指标发布数据（{code}版指标体系）",
                title_en=f"Published monitoring indicator values of the information consumption demonstration "
                f"cities, {year} ({code} framework edition)",
                description_zh=_demo_zh(labelled)
                + f"工业和信息化部发布的{year}年各示范城市监测指标值及全部示范城市合计值，含目标值、达标情况和"
                f"距目标差距；指标定义见“{edition.name_zh}”。已发布：{periods}。每次发布为一个单元，行中注明发布所截至"
                "的报告期；撤回的发布不再包含。",
                description_en=_demo_en(labelled)
                + f"Indicator values of each demonstration city and over all the cities, {year}, with targets, "
                f"attainment and the gap to the target, as published by the ministry; indicators as defined in "
                f"'{edition.name_en or edition.name_zh}'. Each release is a unit named in every row; withdrawn "
                "releases are not included.",
                issued=releases[0].published_at, modified=max(r.published_at for r in releases),
                start=stat["start"], end=stat["end"], periodicity="IRREG", demo=labelled, count=stat["n"],
                keywords=("监测指标", "indicators", str(year)),
            )
        )  # fmt: skip
    return datasets


def _ranked_runs() -> QuerySet[EvaluationRun]:
    """Published runs with their result (not the frozen inputs, which can be large)."""
    runs: QuerySet[EvaluationRun] = published_runs()
    return runs.filter(result__isnull=False).defer("inputs", "scheme_snapshot", "code_version")


def _evaluation_datasets(demo: bool) -> list[Dataset]:
    years: dict[int, list[EvaluationRun]] = {}
    for run in _ranked_runs().order_by("published_at", "pk"):
        years.setdefault(run.scheme.cycle.year, []).append(run)
    datasets = []
    for year in sorted(years, reverse=True):
        runs = years[year]
        count = sum(len(r.result["cities"]) + len(r.result.get("unranked", [])) for r in runs if r.result)
        datasets.append(
            Dataset(
                identifier=f"{EVALUATION}-{year}", kind=EVALUATION, year=year,
                title_zh=f"{year}年信息消费示范城市年度评估结果",
                title_en=f"Annual evaluation of the information consumption demonstration cities, {year}",
                description_zh=_demo_zh(demo)
                + f"工业和信息化部发布的{year}年度评估排名：各示范城市的总分（百分制）、名次，以及权重在一定范围内"
                "变动时的中位名次和 90% 名次区间；数据不足、未参与排名的城市单独标明。",
                description_en=_demo_en(demo)
                + f"The published annual evaluation of {year}: each city's score out of 100, its rank, and the "
                "median rank and 90% rank interval when the weights are perturbed; cities without enough data "
                "are listed as not ranked.",
                issued=min(_published(r) for r in runs), modified=max(_published(r) for r in runs),
                start=datetime.date(year, 1, 1), end=datetime.date(year, 12, 31), periodicity="IRREG", demo=demo,
                count=count, keywords=("年度评估", "evaluation", "ranking", str(year)),
            )
        )  # fmt: skip
    return datasets


def _award_datasets(demo: bool) -> list[Dataset]:
    summary = published_awards().aggregate(
        n=Count("pk"), first=Min("run__scheme__cycle__year"), last=Max("run__scheme__cycle__year"),
        issued=Min("run__published_at"), modified=Max("run__published_at"),
    )  # fmt: skip
    if not summary["n"]:
        return []
    first, last = summary["first"], summary["last"]
    return [
        Dataset(
            identifier=AWARDS, kind=AWARDS, title_zh="信息消费示范城市表彰名单",
            title_en="Commendations of the information consumption demonstration cities",
            description_zh=_demo_zh(demo)
            + "工业和信息化部确认并随年度评估结果发布的表彰：信息消费先进示范城市和优秀典型应用，含名次、得分和"
            "证书编号。",
            description_en=_demo_en(demo)
            + "The awards the ministry confirmed and published with the annual evaluation: advanced demonstration "
            "cities and excellent typical applications, with position, score and certificate number.",
            issued=summary["issued"], modified=summary["modified"], start=datetime.date(first, 1, 1),
            end=datetime.date(last, 12, 31), periodicity="ANNUAL", demo=demo, count=summary["n"],
            keywords=("表彰", "典型应用", "awards"),
        )
    ]  # fmt: skip


def _demo_zh(demo: bool) -> str:
    return "【演示数据：合成数据，不代表真实统计】" if demo else ""


def _demo_en(demo: bool) -> str:
    return "[Demonstration data: synthetic, not real statistics] " if demo else ""


def _published(run: EvaluationRun) -> datetime.datetime:
    assert run.published_at is not None
    return run.published_at


def catalogue() -> list[Dataset]:
    """Every dataset with published rows: indicator values by year, evaluations by year, then the awards."""
    demo = demo_data_loaded()
    return [*_value_datasets(demo), *_evaluation_datasets(demo), *_award_datasets(demo)]


def find(identifier: str) -> Dataset | None:
    return next((d for d in catalogue() if d.identifier == identifier), None)


# --- rows -----------------------------------------------------------------------------------------


def decimal_text(value: Decimal | None) -> str | None:
    """A decimal as exact text without trailing zeros or an exponent (``62.000000`` → ``62``)."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def released_values() -> QuerySet[ReleasedValue]:
    """Every value of the live releases, in the order of the downloads."""
    return (
        ReleasedValue.objects.filter(release__in=live_releases())
        .select_related("release__period", "city__parent", "indicator", "period")
        .order_by(
            "release__period__ends_on", "release_id", "indicator__order", "indicator__code",
            F("city__division_id").asc(nulls_first=True), "pk",
        )
    )  # fmt: skip


def value_row(value: ReleasedValue) -> Row:
    city = value.city
    return {
        "release": value.release.period.code,
        "release_label": value.release.period.label,
        "published": timezone.localdate(value.release.published_at).isoformat(),
        "indicator": value.indicator.code,
        "indicator_name": value.indicator.name_zh,
        "indicator_name_en": value.indicator.name_en,
        "unit": value.indicator.unit,
        "period": value.period.code,
        "period_label": value.period.label,
        "city_code": city.code if city else TOTAL,
        "city": city.name if city else TOTAL_NAME,
        "province": city.parent.name if city and city.parent else "",
        "value": decimal_text(value.value),
        "target": value.target,
        "attainment": value.attainment,
        "gap": decimal_text(value.gap),
        "met": value.met,
        "assessed": value.assessed,
        "demo": value.release.demo,
    }


def _value_rows(dataset: Dataset, offset: int, limit: int | None) -> list[Row]:
    assert dataset.year is not None
    values = released_values().filter(release__cycle__year=dataset.year, release__cycle__edition__code=dataset.edition)
    page = values[offset : offset + limit] if limit is not None else values[offset:]
    return [value_row(v) for v in page]


def evaluation_rows(year: int | None = None) -> list[Row]:
    """The ranking of the published evaluations (of one year): ranked cities by rank, then the unranked ones."""
    demo = demo_data_loaded()
    runs = _ranked_runs().order_by("scheme__cycle__year", "published_at", "pk")
    if year is not None:
        runs = runs.filter(scheme__cycle__year=year)
    rows: list[Row] = []
    for run in runs:
        result = run.result
        assert result is not None
        base = {"year": run.scheme.cycle.year, "cycle": run.scheme.cycle.name}
        uncertainty = result["uncertainty"]
        ranked = [
            {**base, **_city(city), "ranked": True, "rank": result["ranks"][i], "score": _score(result["scores"][i]),
             "median_rank": uncertainty["median"][i] if uncertainty else None,
             "rank_p5": uncertainty["p5"][i] if uncertainty else None,
             "rank_p95": uncertainty["p95"][i] if uncertainty else None, "demo": demo}
            for i, city in enumerate(result["cities"])
        ]  # fmt: skip
        rows += sorted(ranked, key=lambda r: (r["rank"], r["city_code"]))
        rows += [
            {**base, **_city(entry["city"]), "ranked": False, "rank": None, "score": None, "median_rank": None,
             "rank_p5": None, "rank_p95": None, "demo": demo}
            for entry in result.get("unranked", [])
        ]  # fmt: skip
    return rows


def _city(city: dict[str, Any]) -> Row:
    return {"city_code": city["code"], "city": city["name"], "province": city.get("province", "")}


def _score(score: float | None) -> str | None:
    return None if score is None else f"{score:.2f}"


def _evaluation_rows(dataset: Dataset, offset: int, limit: int | None) -> list[Row]:
    rows = evaluation_rows(dataset.year)
    return rows[offset : offset + limit] if limit is not None else rows[offset:]


def award_rows(year: int | None = None, kind: str = "", offset: int = 0, limit: int | None = None) -> list[Row]:
    """The confirmed awards of published evaluations, by year, advanced cities first, by position."""
    demo = demo_data_loaded()
    awards = published_awards().select_related("run__scheme__cycle", "city__parent", "application")
    if year is not None:
        awards = awards.filter(run__scheme__cycle__year=year)
    if kind:
        awards = awards.filter(kind=kind)
    awards = awards.order_by("run__scheme__cycle__year", "run__published_at", "-kind", "position", "pk")
    page = awards[offset : offset + limit] if limit is not None else awards[offset:]
    return [_award_row(a, demo) for a in page]


def _award_row(award: Award, demo: bool) -> Row:
    return {
        "year": award.run.scheme.cycle.year,
        "kind": award.kind,
        "kind_label": AWARD_LABELS[award.kind],
        "city_code": award.city.code,
        "city": award.city.name,
        "province": award.city.parent.name if award.city.parent else "",
        "application": award.application.title if award.application else None,
        "position": award.position,
        "score": decimal_text(award.score),
        "certificate": award.number,
        "demo": demo,
    }


def _award_rows(dataset: Dataset, offset: int, limit: int | None) -> list[Row]:
    return award_rows(offset=offset, limit=limit)


ROWS: dict[str, Callable[[Dataset, int, int | None], list[Row]]] = {
    VALUES: _value_rows,
    EVALUATION: _evaluation_rows,
    AWARDS: _award_rows,
}


# --- serialisers ----------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe(value)


def _write(lines: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in lines:
        writer.writerow([_cell(v) for v in line])
    return buffer.getvalue()


def as_csv(dataset: Dataset, rows: list[Row]) -> str:
    """The rows as CSV: a header of the column names, UTF-8 with a byte order mark (for Excel)."""
    names = [c.name for c in dataset.columns]
    return "\ufeff" + _write([names, *([row[n] for n in names] for row in rows)])


def as_json(dataset: Dataset, rows: list[Row], absolute: Callable[[str], str]) -> str:
    """The DCAT metadata, the licence, the columns and the rows, as one JSON document."""
    document = {
        "dataset": dataset_jsonld(dataset, absolute, context=True),
        "licence": {"url": LICENCE.url, "name": LICENCE.name_zh, "name_en": LICENCE.name_en,
                    "attribution": LICENCE.attribution_zh, "attribution_en": LICENCE.attribution_en},
        "demo": dataset.demo,
        "columns": [{"name": c.name, "title_zh": c.title_zh, "title_en": c.title_en, "datatype": c.datatype,
                     "note_zh": c.note_zh} for c in dataset.columns],
        "rows": rows,
    }  # fmt: skip
    return json.dumps(document, ensure_ascii=False)


SDMX_TIME = (
    (re.compile(r"^(\d{4})-M(\d{2})$"), "M", "{0}-{1}"),
    (re.compile(r"^(\d{4})-Q([1-4])$"), "Q", "{0}-Q{1}"),
    (re.compile(r"^(\d{4})-H([12])$"), "S", "{0}-S{1}"),
    (re.compile(r"^(\d{4})-A$"), "A", "{0}"),
)


def sdmx_time(code: str) -> tuple[str, str]:
    """(FREQ, TIME_PERIOD) of a period code: ``2016-M11`` → (M, 2016-11), ``2016-H2`` → (S, 2016-S2)."""
    for pattern, frequency, template in SDMX_TIME:
        if match := pattern.match(code):
            return frequency, template.format(*match.groups())
    return "_Z", code


def _status(value: Any) -> str:
    return "O" if value is None else "A"


def _demo(row: Row) -> str:
    return "true" if row["demo"] else "false"


def _sdmx_values(flow: str, rows: list[Row]) -> Iterable[list[Any]]:
    yield ["DATAFLOW", "FREQ", "RELEASE", "REF_AREA", "INDICATOR", "TIME_PERIOD", "OBS_VALUE", "UNIT_MEASURE",
           "OBS_STATUS", "TARGET", "ATTAINMENT", "CITIES_MET", "CITIES_ASSESSED", "DEMO"]  # fmt: skip
    for r in rows:
        frequency, time = sdmx_time(r["period"])
        yield [flow, frequency, r["release"], r["city_code"], r["indicator"], time, r["value"], r["unit"],
               _status(r["value"]), r["target"], r["attainment"], r["met"], r["assessed"], _demo(r)]  # fmt: skip


MEASURES = (("SCORE", "score", "POINTS"), ("RANK", "rank", "RANK"), ("RANK_MEDIAN", "median_rank", "RANK"),
            ("RANK_P5", "rank_p5", "RANK"), ("RANK_P95", "rank_p95", "RANK"))  # fmt: skip


def _sdmx_evaluation(flow: str, rows: list[Row]) -> Iterable[list[Any]]:
    yield ["DATAFLOW", "REF_AREA", "MEASURE", "TIME_PERIOD", "OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS", "DEMO"]
    for r in rows:
        for measure, key, unit in MEASURES:
            yield [flow, r["city_code"], measure, r["year"], r[key], unit, _status(r[key]), _demo(r)]


def _sdmx_awards(flow: str, rows: list[Row]) -> Iterable[list[Any]]:
    yield ["DATAFLOW", "AWARD", "POSITION", "REF_AREA", "TIME_PERIOD", "OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS",
           "APPLICATION", "CERTIFICATE", "DEMO"]  # fmt: skip
    for r in rows:
        yield [flow, r["kind"].upper(), r["position"], r["city_code"], r["year"], r["score"], "POINTS",
               _status(r["score"]), r["application"], r["certificate"], _demo(r)]  # fmt: skip


SDMX: dict[str, Callable[[str, list[Row]], Iterable[list[Any]]]] = {
    VALUES: _sdmx_values,
    EVALUATION: _sdmx_evaluation,
    AWARDS: _sdmx_awards,
}


def as_sdmx_csv(dataset: Dataset, rows: list[Row]) -> str:
    """The rows as SDMX-CSV 1.0: one observation per line (structure in the module's docstring)."""
    return _write(SDMX[dataset.kind](dataset.dataflow, rows))


# --- DCAT -----------------------------------------------------------------------------------------

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def _texts(zh: str, en: str) -> list[dict[str, str]]:
    return [{"@language": "zh-CN", "@value": zh}, {"@language": "en", "@value": en}]


def _typed(value: datetime.date, kind: str = "xsd:dateTime") -> dict[str, str]:
    return {"@type": kind, "@value": value.isoformat()}


def publisher() -> dict[str, Any]:
    return {"@type": "foaf:Organization", "foaf:name": _texts(PUBLISHER_ZH, PUBLISHER_EN),
            "foaf:homepage": {"@id": PUBLISHER_HOMEPAGE}}  # fmt: skip


def download_url(dataset: Dataset, fmt: Format, absolute: Callable[[str], str]) -> str:
    return absolute(reverse(fmt.url_name, args=[dataset.identifier]))


def dataset_jsonld(dataset: Dataset, absolute: Callable[[str], str], context: bool = False) -> dict[str, Any]:
    """The dataset as a DCAT 2 ``dcat:Dataset`` (JSON-LD), with one distribution per download format."""
    page = absolute(reverse("opendata:dataset", args=[dataset.identifier]))
    document: dict[str, Any] = {"@context": CONTEXT} if context else {}
    document |= {
        "@id": page,
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.identifier,
        "dct:title": _texts(dataset.title_zh, dataset.title_en),
        "dct:description": _texts(dataset.description_zh, dataset.description_en),
        "dct:publisher": publisher(),
        "dct:issued": _typed(dataset.issued),
        "dct:modified": _typed(dataset.modified),
        "dct:license": {"@id": LICENCE.url},
        "dct:rights": _texts(LICENCE.attribution_zh, LICENCE.attribution_en),
        "dct:language": [{"@id": "http://publications.europa.eu/resource/authority/language/ZHO"}],
        "dcat:keyword": [*KEYWORDS, *dataset.keywords, *(("演示数据", "demonstration data") if dataset.demo else ())],
        "dcat:theme": [{"@id": theme} for theme in THEMES],
        "dct:spatial": {
            "@id": "http://publications.europa.eu/resource/authority/country/CHN",
            "skos:prefLabel": _texts("中国", "China"),
        },
        "dct:temporal": {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _typed(dataset.start, "xsd:date"),
            "dcat:endDate": _typed(dataset.end, "xsd:date"),
        },
        "dct:accrualPeriodicity": {
            "@id": f"http://publications.europa.eu/resource/authority/frequency/{dataset.periodicity}"
        },
        "dcat:landingPage": {"@id": page},
        "dcat:distribution": [
            {
                "@id": download_url(dataset, fmt, absolute),
                "@type": "dcat:Distribution",
                "dct:title": f"{dataset.identifier}{fmt.suffix}",
                "dcat:downloadURL": {"@id": download_url(dataset, fmt, absolute)},
                "dcat:accessURL": {"@id": page},
                "dcat:mediaType": fmt.media_type,
                "dct:format": {"@id": fmt.file_type},
                "dct:license": {"@id": LICENCE.url},
            }
            for fmt in FORMATS
        ],
    }
    return document


def catalogue_jsonld(datasets: list[Dataset], absolute: Callable[[str], str]) -> dict[str, Any]:
    """The whole catalogue as a DCAT 2 ``dcat:Catalog`` with the public API as a ``dcat:DataService``."""
    return {
        "@context": CONTEXT,
        "@id": absolute(reverse("opendata:catalog_jsonld")),
        "@type": "dcat:Catalog",
        "dct:title": _texts("信息消费示范城市监测平台公共数据开放目录",
                            "Open data catalogue of the information consumption demonstration city platform"),
        "dct:description": _texts(
            "工业和信息化部已发布的信息消费示范城市监测指标值、年度评估结果和表彰名单。",
            "Monitoring indicator values, annual evaluation results and awards of the information consumption "
            "demonstration cities, as published by the Ministry of Industry and Information Technology.",
        ),
        "dct:publisher": publisher(),
        "dct:license": {"@id": LICENCE.url},
        "dct:language": [{"@id": "http://publications.europa.eu/resource/authority/language/ZHO"}],
        "dct:spatial": {"@id": "http://publications.europa.eu/resource/authority/country/CHN"},
        "foaf:homepage": {"@id": absolute(reverse("opendata:catalogue"))},
        "dcat:dataset": [dataset_jsonld(d, absolute) for d in datasets],
        "dcat:service": [
            {
                "@type": "dcat:DataService",
                "dct:title": _texts("公共数据只读接口", "Read-only public data API"),
                "dcat:endpointURL": {"@id": absolute(API_ROOT)},
                "dcat:endpointDescription": {"@id": absolute("/api/v1/openapi.json")},
                "dct:license": {"@id": LICENCE.url},
                "dcat:servesDataset": [{"@id": absolute(reverse("opendata:dataset", args=[d.identifier]))}
                                       for d in datasets],
            }
        ],
    }  # fmt: skip
