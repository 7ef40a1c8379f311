"""The indicator framework: the shipped 2016 edition, publishing checks, immutability, round trips."""

from __future__ import annotations

import io
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from infocity.audit.models import Action, AuditEvent
from infocity.frameworks.compute import Attainment, CompiledEdition, assess_target, target_text
from infocity.frameworks.formula import Missing, Value, to_fraction
from infocity.frameworks.interchange import (
    InterchangeError,
    edition_to_dict,
    from_text,
    from_xlsx,
    to_json,
    to_xlsx,
    to_yaml,
)
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.frameworks.models import DataItem, Edition, Indicator
from infocity.frameworks.services import (
    EditionInvalid,
    copy_edition,
    create_edition_from_data,
    publish_edition,
    retire_edition,
    save_part,
)

from .conftest import Cast

F = Fraction
CODES_2016 = [f"A0{i}" for i in range(1, 10)] + [f"B0{i}" for i in range(1, 8)] + [f"C0{i}" for i in range(1, 10)]
CODES_2016 += ["D01", "D02", "D03"] + [f"E0{i}" for i in range(1, 6)] + [f"F0{i}" for i in range(1, 6)] + ["G01"]


@pytest.fixture
def edition(db: None) -> Edition:
    return load_edition_file(EDITION_2016)


# Realistic values for a mid-sized eastern demonstration city in 2016.
SAMPLE = {
    "URBAN_HH": 1_450_000, "FIBRE_READY_HH": 1_450_000, "FBB_USERS": 10_000, "FBB_20M_USERS": 6_200,
    "FTTH_USERS": 7_660, "HOUSEHOLDS": 2_300_000, "HH_BB_USERS": 1_564_000, "MOBILE_USERS": 12_500_000,
    "LTE_USERS": 7_500_000, "KEY_BUILDINGS": 820, "LTE_INDOOR_BUILDINGS": 701, "PUBLIC_AREAS": 64, "WLAN_AREAS": 64,
    "ADMIN_VILLAGES": 1_980, "FIBRE_VILLAGES": 1_901, "NEW_SITES": 1_200, "SHARED_NEW_SITES": 1_032,
    "SMART_HW_OUTPUT": Decimal("312.5"), "SURVEY_HH": 3_000, "SURVEY_SMART_HOME_HH": 540,
    "INDUSTRIAL_CLOUD_FIRMS": 1_850, "SOFTWARE_REVENUE": Decimal("2150.4"), "BASIC_SOFTWARE_REVENUE": Decimal("48.3"),
    "REGISTERED_RESULTS": 2_400, "INDUSTRIALISED_RESULTS": 720, "SMART_TERMINAL_IC_OUTPUT": Decimal("860.2"),
    "GOV_SYSTEMS": 420, "CONNECTED_SYSTEMS": 386, "DATA_CATALOGUES": 1_600, "OPEN_CATALOGUES": 560,
    "OPEN_CATALOGUE_PUBLISHED": True, "WATER_METERS": 1_000, "SMART_WATER_METERS": 300, "POWER_METERS": 1_000,
    "SMART_POWER_METERS": 900, "GAS_METERS": 500, "SMART_GAS_METERS": 100, "KEY_TRANSPORT_FACILITIES": 150,
    "SENSED_TRANSPORT_FACILITIES": 96, "GOV_SERVICE_ITEMS": 1_250, "ONLINE_SERVICE_ITEMS": 1_000,
    "OUTPATIENT_VISITS": Decimal("4200"), "BOOKED_VISITS": Decimal("1470"), "COMMUNITIES": 900,
    "SMART_COMMUNITIES": 270, "SATISFACTION_SCORE": Decimal("86.5"), "DIGITAL_CULTURE_REVENUE": Decimal("410"),
    "READING_TERMINAL_COMMUNITIES": 360, "DIGITAL_RESOURCES_TB": Decimal("520.8"), "ONLINE_RETAIL": Decimal("3600"),
    "RETAIL_SALES": Decimal("12000"), "INDUSTRIAL_ECOMMERCE": Decimal("5200"), "PARCELS": Decimal("98000"),
    "RESIDENT_POPULATION": Decimal("980"), "ABOVE_SIZE_FIRMS": 7_200, "DIGITAL_RD_FIRMS": 4_680, "MAKER_SPACES": 126,
    "INCUBATED_TEAMS": 5_400, "MFG_PLATFORMS": 38, "INFO_CONSUMPTION": Decimal("1800"), "GRADED_SYSTEMS": 300,
    "ASSESSED_SYSTEMS": 276,
}  # fmt: skip


def values(overrides: dict[str, object] | None = None) -> dict[str, Value | None]:
    merged = {**SAMPLE, **(overrides or {})}
    return {k: to_fraction(v) for k, v in merged.items()}


def test_the_2016_edition_loads_and_is_published(edition: Edition) -> None:
    assert edition.status == Edition.Status.PUBLISHED
    assert list(edition.indicators.values_list("code", flat=True)) == CODES_2016
    assert edition.areas.count() == 7
    assert edition.rules.count() >= 20
    assert load_edition_file(EDITION_2016) == edition  # loading again changes nothing


def test_every_formula_evaluates_on_realistic_values(edition: Edition) -> None:
    compiled = CompiledEdition(edition)
    results = compiled.compute(values(), values({"INFO_CONSUMPTION": Decimal("1500")}))
    missing = {code: r for code, r in results.items() if isinstance(r, Missing)}
    assert missing == {}
    assert compiled.check_rules(values()) == []


@pytest.mark.parametrize(
    ("code", "expected", "attainment"),
    [
        ("A01", F(100), Attainment.MET),  # 1,450,000 ÷ 1,450,000 × 100
        ("A02", F(62), Attainment.MET),  # 6,200 ÷ 10,000 × 100 = 62.0 % > 50 %
        ("A03", F(766, 10), Attainment.NO_TARGET),  # 7,660 ÷ 10,000 × 100
        ("A04", F(68), Attainment.NOT_MET),  # 1,564,000 ÷ 2,300,000 × 100 = 68 % < 70 %
        ("A08", F(1901 * 100, 1980), Attainment.MET),  # 96.01 % ≥ 95 %
        ("C01", F(386 * 100, 420), Attainment.MET),  # 91.9 % ≥ 90 %
        ("C03", True, Attainment.MET),
        ("C04", F(1300 * 100, 2500), None),  # (300 + 900 + 100) ÷ (1000 + 1000 + 500) × 100 = 52 %
        ("E02", F(30), None),  # 3,600 ÷ 12,000 × 100
        ("E04", F(100), None),  # 98,000 万件 ÷ 980 万人
        ("F05", F(20), Attainment.MET),  # (1,800 ÷ 1,500 − 1) × 100 = 20 % ≥ 20 %
        ("G01", F(92), Attainment.NOT_MET),  # 276 ÷ 300 × 100
    ],
)
def test_hand_computed_values_and_targets(
    edition: Edition, code: str, expected: object, attainment: Attainment | None
) -> None:
    compiled = CompiledEdition(edition)
    results = compiled.compute(values(), values({"INFO_CONSUMPTION": Decimal("1500")}))
    assert results[code] == expected
    if attainment is not None:
        assert assess_target(edition.indicators.get(code=code), results[code]).status == attainment


def test_target_gap_and_rising_targets(edition: Edition) -> None:
    a04 = edition.indicators.get(code="A04")
    assessment = assess_target(a04, F(68))
    assert assessment.gap == Decimal("2.000000")
    a05 = edition.indicators.get(code="A05")
    assert assess_target(a05, F(60), F(55)).status == Attainment.MET
    assert assess_target(a05, F(54), F(55)).status == Attainment.NOT_MET
    no_previous = assess_target(a05, F(60), None)
    assert no_previous.status == Attainment.NO_VALUE and "上期" in no_previous.reason
    assert assess_target(a05, Missing("除数为零")).status == Attainment.NO_VALUE
    assert target_text(edition.indicators.get(code="A02")) == "＞ 50%（指南明确）"
    assert target_text(edition.indicators.get(code="C03")) == "是（指南明确）"
    assert target_text(a05) == "较上期提升（指南明确）"


def test_part_le_whole_rules_name_items_and_values(edition: Edition) -> None:
    compiled = CompiledEdition(edition)
    violations = compiled.check_rules(values({"FBB_20M_USERS": 12_000, "SMART_GAS_METERS": 600}))
    messages = [v.message for v in violations]
    assert "20M以上宽带用户数（12,000）不能超过固定宽带用户数（10,000）。" in messages
    assert "居民智能燃气表数（600）不能超过居民燃气表数（500）。" in messages
    assert all(v.blocks_submission for v in violations)
    warning = compiled.check_rules(values({"ONLINE_RETAIL": Decimal("13000")}))
    assert [v.rule.code for v in warning] == ["W_ONLINE_RETAIL"]
    assert not warning[0].blocks_submission


def test_missing_item_gives_no_value_and_skips_its_rule(edition: Edition) -> None:
    compiled = CompiledEdition(edition)
    incomplete = values()
    del incomplete["FBB_USERS"]
    results = compiled.compute(incomplete)
    assert isinstance(results["A02"], Missing) and "固定宽带用户数" in results["A02"].reason
    assert isinstance(results["F05"], Missing)  # no previous period given
    assert "R_FBB_20M" not in {v.rule.code for v in compiled.check_rules(incomplete)}


def test_division_by_zero_in_an_indicator(edition: Edition) -> None:
    results = CompiledEdition(edition).compute(values({"FBB_USERS": 0, "FBB_20M_USERS": 0, "FTTH_USERS": 0}))
    assert results["A02"] == Missing("除数为零")


# --- publishing -----------------------------------------------------------------------------------


def broken_data() -> Any:
    data = from_text(EDITION_2016.read_text(encoding="utf-8"))
    data["code"] = "broken"
    by_code = {i["code"]: i for i in data["indicators"]}
    by_code["A01"]["formula"] = "FIBRE_READY_HH / "  # syntax
    by_code["A02"]["formula"] = "FBB_20M_USERS / NO_SUCH_ITEM * 100"  # unknown code
    by_code["A03"]["formula"] = "FTTH_USERS + OPEN_CATALOGUE_PUBLISHED"  # number + yes/no
    by_code["E01"]["formula"] = "E02 * RETAIL_SALES / 100"  # E02 reads E01: a cycle
    data["rules"][0]["expression"] = "FIBRE_READY_HH + URBAN_HH"  # not a condition
    return data


def test_publishing_a_broken_edition_lists_every_problem(db: None) -> None:
    draft = create_edition_from_data(actor=None, data=broken_data())
    with pytest.raises(EditionInvalid) as caught:
        publish_edition(actor=None, edition=draft)
    problems = caught.value.problems
    assert any("A01" in p and "公式不完整" in p for p in problems)
    assert any("A02" in p and "未知的代码“NO_SUCH_ITEM”" in p for p in problems)
    assert any("A03" in p and "两边须为数值" in p for p in problems)
    assert any("循环引用" in p and "E01" in p and "E02" in p for p in problems)
    assert any("R_FIBRE_HH" in p and "条件" in p for p in problems)
    assert len(problems) == 5
    draft.refresh_from_db()
    assert draft.status == Edition.Status.DRAFT
    assert not AuditEvent.objects.filter(action=Action.FRAMEWORK_PUBLISH).exists()


def test_a_published_edition_cannot_be_changed(edition: Edition, cast: Cast) -> None:
    ministry = cast.users["ministry"]
    a02 = edition.indicators.get(code="A02")
    with pytest.raises(ValidationError, match="不能再修改"):
        save_part(
            actor=ministry,
            edition=edition,
            kind="indicator",
            part=a02,
            fields={"formula": "1"},
            expected_version=edition.version,
        )
    # Even bypassing the services, the model refuses.
    a02.formula = "1"
    with pytest.raises(PermissionError):
        a02.save()
    with pytest.raises(PermissionError):
        a02.delete()
    assert Indicator.objects.get(pk=a02.pk).formula == "FBB_20M_USERS / FBB_USERS * 100"


def test_next_edition_is_a_copy_that_can_be_edited_then_published(edition: Edition, cast: Cast) -> None:
    ministry = cast.users["ministry"]
    draft = copy_edition(actor=ministry, source=edition, code="2017", year=2017, name_zh="2017年监测指标体系")
    assert draft.based_on == edition and draft.is_draft
    a02 = draft.indicators.get(code="A02")
    save_part(
        actor=ministry,
        edition=draft,
        kind="indicator",
        part=a02,
        fields={"target_value": Decimal("60")},
        expected_version=draft.version,
    )
    draft.refresh_from_db()
    # A stale form (the version it was loaded at) is refused.
    with pytest.raises(ValidationError, match="已被他人修改"):
        save_part(
            actor=ministry,
            edition=draft,
            kind="indicator",
            part=a02,
            fields={"target_value": Decimal("70")},
            expected_version=draft.version - 1,
        )
    published = publish_edition(actor=ministry, edition=draft)
    assert published.status == Edition.Status.PUBLISHED
    assert edition.indicators.get(code="A02").target_value == Decimal("50")
    assert published.indicators.get(code="A02").target_value == Decimal("60")
    edit = AuditEvent.objects.filter(action=Action.FRAMEWORK_EDIT).latest("id")
    assert edit.detail["changes"] == {"target_value": ["50.000000", "60"]}
    retire_edition(actor=ministry, edition=edition)
    edition.refresh_from_db()
    assert edition.status == Edition.Status.RETIRED


# --- round trips ----------------------------------------------------------------------------------


def comparable(edition: Edition) -> dict[str, Any]:
    data = edition_to_dict(edition)
    data.pop("code")
    return data


def test_yaml_json_and_excel_round_trips_are_lossless(edition: Edition) -> None:
    original = edition_to_dict(edition)
    from_yaml = create_edition_from_data(actor=None, data=from_text(to_yaml(original)), code="rt-yaml")
    from_json = create_edition_from_data(actor=None, data=from_text(to_json(original)), code="rt-json")
    from_excel = create_edition_from_data(actor=None, data=from_xlsx(to_xlsx(original)), code="rt-xlsx")
    for copy in (from_yaml, from_json, from_excel):
        assert comparable(copy) == comparable(edition)
    assert from_excel.items.get(code="OPEN_CATALOGUE_PUBLISHED").value_type == DataItem.Type.BOOLEAN
    assert from_excel.indicators.get(code="A01").target_operator == "="


def test_excel_export_writes_operators_and_formulas_as_text(edition: Edition) -> None:
    workbook = load_workbook(io.BytesIO(to_xlsx(edition_to_dict(edition))))
    sheet = workbook["指标"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!python/object/apply:os.system ['id']", "不是有效的 YAML"),
        ("- 1\n- 2", "顶层应为一组字段"),
        ("code: x\nyear: 1900\nname_zh: 测试", "2000–2100"),
        ("{code: x, year: 2017, name_zh: t, items: [{code: A, area: Z, form: M, name_zh: n}]}", "领域“Z”不存在"),
        ("{code: x, year: 2017, name_zh: t, areas: [{code: A, name_zh: a}, {code: A, name_zh: b}]}", "领域代码“A”重复"),
    ],
)
def test_bad_files_are_refused_with_every_problem_and_nothing_created(db: None, text: str, message: str) -> None:
    with pytest.raises(InterchangeError) as caught:
        create_edition_from_data(actor=None, data=from_text(text))
    assert any(message in p for p in caught.value.problems), caught.value.problems
    assert not Edition.objects.exists()


def test_damaged_workbook_is_refused(db: None) -> None:
    with pytest.raises(InterchangeError, match="无法读取"):
        from_xlsx(b"PK\x03\x04 not really a workbook")
