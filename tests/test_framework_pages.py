"""The public indicator dictionary and the ministry's framework pages."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from infocity.audit.models import Action, AuditEvent
from infocity.frameworks.interchange import edition_to_dict, to_xlsx, to_yaml
from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.frameworks.models import Edition, Indicator
from infocity.frameworks.services import copy_edition

from .conftest import Cast
from .test_frameworks import CODES_2016, broken_data


@pytest.fixture
def edition(db: None) -> Edition:
    return load_edition_file(EDITION_2016)


# --- dictionary -----------------------------------------------------------------------------------


def test_dictionary_lists_every_indicator_without_login(edition: Edition, anon: Client) -> None:
    response = anon.get("/indicators/")
    assert response.status_code == 200
    html = response.content.decode()
    for code in CODES_2016:
        assert f'href="/indicators/2016/{code}/"' in html
    assert "20M以上宽带用户占比" in html
    assert "＞ 50%（指南明确）" in html


def test_indicator_page_at_a_stable_url(edition: Edition, anon: Client) -> None:
    html = anon.get("/indicators/2016/A02/").content.decode()
    for expected in (
        "20M以上宽带用户占比",
        "接入速率20Mbit/s及以上的固定宽带用户数占固定宽带用户总数的比例。",
        "20M以上宽带用户数 ÷ 固定宽带用户数 × 100",
        "＞ 50%（指南明确）",
        "越高越好",
        "月度",
        "基础电信企业",
        "FBB_USERS",
        "不会按 0 计算",
    ):
        assert expected in html, expected
    assert "上一个可比报告期" in anon.get("/indicators/2016/F05/").content.decode()


def test_dictionary_in_english(edition: Edition) -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/indicators/2016/A02/").content.decode()
    assert "Share of fixed broadband users at 20 Mbit/s or more" in html
    assert "Fixed broadband users at 20 Mbit/s or more as a share of all fixed broadband users." in html


def test_drafts_are_not_in_the_dictionary(edition: Edition, cast: Cast, anon: Client) -> None:
    copy_edition(actor=cast.users["ministry"], source=edition, code="2017", year=2017, name_zh="2017草稿")
    assert anon.get("/indicators/2017/").status_code == 404
    assert anon.get("/indicators/2017/A02/").status_code == 404
    assert anon.get("/indicators/2016/Z99/").status_code == 404
    assert "2017" not in anon.get("/indicators/").content.decode()


def test_empty_dictionary_is_a_404_not_an_error(db: None, anon: Client) -> None:
    assert anon.get("/indicators/").status_code == 404


# --- ministry pages -------------------------------------------------------------------------------


def test_only_ministry_edits_analyst_reads(edition: Edition, cast: Cast) -> None:
    detail = reverse("frameworks:detail", args=[edition.pk])
    assert cast.client("ministry").get(detail).status_code == 200
    assert cast.client("analyst").get(detail).status_code == 200
    for username in ("city-hz", "province-zj", "sysadmin", "auditor", "expert"):
        assert cast.client(username).get(detail).status_code == 403
    response = cast.client("analyst").post(
        reverse("frameworks:copy", args=[edition.pk]), {"code": "2017", "year": 2017, "name_zh": "x"}
    )
    assert response.status_code == 403
    assert Edition.objects.count() == 1


def test_copy_edit_and_publish_through_the_pages(edition: Edition, cast: Cast) -> None:
    client = cast.client("ministry")
    response = client.post(
        reverse("frameworks:copy", args=[edition.pk]), {"code": "2017", "year": 2017, "name_zh": "2017年指标体系"}
    )
    draft = Edition.objects.get(code="2017")
    assert response["Location"] == reverse("frameworks:detail", args=[draft.pk])
    a02 = draft.indicators.get(code="A02")
    url = reverse("frameworks:part_edit", args=[draft.pk, "indicator", a02.pk])
    form = client.get(url).context["form"]
    data = {name: ("" if value is None else value) for name, value in form.initial.items()}
    data.update(area=a02.area_id, target_value="60", version=draft.version)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    assert Indicator.objects.get(pk=a02.pk).target_value == 60
    # Publishing from the page.
    draft.refresh_from_db()
    response = client.post(reverse("frameworks:publish", args=[draft.pk]), {"version": draft.version})
    draft.refresh_from_db()
    assert draft.status == Edition.Status.PUBLISHED
    assert "2017" in Client().get("/indicators/2017/").content.decode()


def test_publishing_a_broken_draft_shows_every_problem(db: None, cast: Cast) -> None:
    from infocity.frameworks.services import create_edition_from_data

    draft = create_edition_from_data(actor=None, data=broken_data())
    response = cast.client("ministry").post(reverse("frameworks:publish", args=[draft.pk]), {"version": draft.version})
    assert response.status_code == 422
    problems = response.context["problems"]
    assert len(problems) == 5
    html = response.content.decode()
    assert "未知的代码“NO_SUCH_ITEM”" in html and "循环引用" in html


def test_live_formula_check(edition: Edition, cast: Cast) -> None:
    draft = copy_edition(actor=cast.users["ministry"], source=edition, code="2017", year=2017, name_zh="x")
    url = reverse("frameworks:check_formula", args=[draft.pk])
    client = cast.client("ministry")
    response = client.post(url, {"formula": "FBB_20M_USERS / FBB_USERS * 100"})
    assert "20M以上宽带用户数 ÷ 固定宽带用户数 × 100" in response.content.decode()
    response = client.post(
        url,
        {"formula": "FBB_20M_USERS / FBB_USERS * 100", "sample-FBB_20M_USERS": "6,200", "sample-FBB_USERS": "10000"},
    )
    assert "试算结果" in response.content.decode() and "<strong>62</strong>" in response.content.decode()
    response = client.post(url, {"formula": "FBB_20M_USERS / FBB_USERS * 100", "sample-FBB_20M_USERS": "6200"})
    assert "无数据" in response.content.decode()
    response = client.post(url, {"formula": "FBB_USERS + NOPE"})
    assert "未知的代码“NOPE”" in response.content.decode()
    response = client.post(url, {"formula": "FBB_USERS +"})
    assert "公式不完整" in response.content.decode()


def test_stale_edit_form_is_refused(edition: Edition, cast: Cast) -> None:
    draft = copy_edition(actor=cast.users["ministry"], source=edition, code="2017", year=2017, name_zh="x")
    area = draft.areas.get(code="A")
    url = reverse("frameworks:part_edit", args=[draft.pk, "area", area.pk])
    client = cast.client("ministry")
    stale = draft.version
    client.post(url, {"code": "A", "name_zh": "基础设施", "name_en": "", "order": 0, "version": stale})
    response = client.post(url, {"code": "A", "name_zh": "另一个名字", "name_en": "", "order": 0, "version": stale})
    assert "已被他人修改" in response.content.decode()
    assert draft.areas.get(code="A").name_zh == "基础设施"


def test_exports_download_and_are_audited(edition: Edition, cast: Cast) -> None:
    client = cast.client("analyst")
    response = client.get(reverse("frameworks:export", args=[edition.pk, "xlsx"]))
    assert response["Content-Disposition"] == 'attachment; filename="infocity-framework-2016.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook["指标"]["A3"].value == "A01"
    yaml_text = client.get(reverse("frameworks:export", args=[edition.pk, "yaml"])).content.decode()
    assert "FBB_20M_USERS / FBB_USERS * 100" in yaml_text
    assert AuditEvent.objects.filter(action=Action.FRAMEWORK_EXPORT, actor=cast.users["analyst"]).count() == 2
    assert client.get(reverse("frameworks:export", args=[edition.pk, "exe"])).status_code == 404


@pytest.mark.parametrize("fmt", ["yaml", "xlsx"])
def test_import_creates_a_draft(edition: Edition, cast: Cast, fmt: str) -> None:
    data = edition_to_dict(edition)
    content = to_yaml(data).encode() if fmt == "yaml" else to_xlsx(data)
    upload = SimpleUploadedFile(f"edition.{fmt}", content)
    response = cast.client("ministry").post(reverse("frameworks:import"), {"file": upload, "code": f"copy-{fmt}"})
    imported = Edition.objects.get(code=f"copy-{fmt}")
    assert response["Location"] == reverse("frameworks:detail", args=[imported.pk])
    assert imported.is_draft and imported.indicators.count() == len(CODES_2016)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("macro.xlsm", b"PK\x03\x04", "只能导入"),
        ("broken.xlsx", b"not a zip", "无法读取"),
        ("gbk.yaml", "code: 测试".encode("gbk"), "不是 UTF-8"),
        ("bomb.yaml", b"a: &a [1,1,1]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]", "别名"),
        ("evil.yaml", b"!!python/object/apply:os.system ['id']", "不是有效的 YAML"),
    ],
)
def test_hostile_imports_are_refused_and_change_nothing(
    edition: Edition, cast: Cast, name: str, content: bytes, message: str
) -> None:
    before = Edition.objects.count()
    response = cast.client("ministry").post(reverse("frameworks:import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 422
    assert any(message in p for p in response.context["problems"]), response.context["problems"]
    assert Edition.objects.count() == before
