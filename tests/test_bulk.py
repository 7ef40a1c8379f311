# ruff: noqa: E501 — hand-written OOXML parts for the hostile-file corpus are long lines
"""Bulk channels: the Excel template round trip (openpyxl- and LibreOffice-written), the dry run and all-or-nothing
apply, idempotent re-upload, and a corpus of malformed and hostile files generated here — each refused with its own
message while nothing in the database changes."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from infocity.audit.models import Action, AuditEvent
from infocity.bulk.models import Import
from infocity.reporting.models import DataValue, ReportingCycle, Submission, SubmissionVersion

from .conftest import Cast
from .test_api_tokens import M11
from .test_api_tokens import world as world  # the 2016 cycle fixture


def hz_m11() -> Submission:
    return Submission.objects.get(city__name="杭州市", period__code="2016-M11", form__code="M")


def download_template(client: Client, place: int, period: int, form: str = "M") -> bytes:
    response = client.get("/bulk/template.xlsx", {"place": str(place), "period": str(period), "form": form})
    assert response.status_code == 200, response.status_code
    return response.content


def fill(template: bytes, values: dict[str, Any], notes: dict[str, str] | None = None) -> bytes:
    book = load_workbook(io.BytesIO(template))
    sheet = book["填报"]
    for row in sheet.iter_rows(min_row=2):
        code = str(row[4].value)
        if code in values:
            row[8].value = values[code]
        if notes and code in notes:
            row[9].value = notes[code]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client: Client, name: str, data: bytes) -> Import:
    response = client.post("/bulk/upload/", {"file": _file(name, data)})
    assert response.status_code == 302, response.status_code
    return Import.objects.latest("pk")


def _file(name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def new_values(checked: Import) -> set[str]:
    return {c["new"] for e in checked.entries.all() for c in e.changes}


def state() -> tuple[int, int, list[tuple[Any, ...]]]:
    return (
        DataValue.objects.count(),
        SubmissionVersion.objects.count(),
        sorted(DataValue.objects.values_list("submission_id", "item_id", "number", "text")),
    )


NUMBERS = {code: int(value) for code, value in M11.items()}


def test_template_round_trip_with_dry_run_apply_and_idempotent_reupload(cast: Cast, world: ReportingCycle) -> None:
    client = cast.client("city-hz")
    target = hz_m11()
    template = download_template(client, cast.orgs["hangzhou"].pk, target.period_id)
    book = load_workbook(io.BytesIO(template))
    assert book.sheetnames == ["说明", "填报", "_meta"] and book["_meta"].sheet_state == "hidden"
    sheet = book["填报"]
    assert [c.value for c in sheet[1]][:5] == ["区划代码", "城市", "报告期", "填报表", "填报项代码"]
    assert sheet.data_validations.dataValidation  # numbers and bounds checked in Excel too
    filled = fill(template, NUMBERS)
    checked = upload(client, "杭州11月.xlsx", filled)
    assert checked.status == Import.Status.CHECKED and checked.change_count == 5, checked.errors
    assert not DataValue.objects.exists()  # the dry run changes nothing
    page = client.get(f"/bulk/imports/{checked.pk}/").content.decode()
    assert "确认导入" in page and "FBB_USERS" in page
    client.post(f"/bulk/imports/{checked.pk}/apply/")
    assert Import.objects.get(pk=checked.pk).status == Import.Status.APPLIED
    stored = {dv.item.code: dv.number for dv in DataValue.objects.filter(submission=target).select_related("item")}
    assert stored == dict(NUMBERS)
    assert AuditEvent.objects.filter(action=Action.BULK_IMPORT, object_id=str(checked.pk)).exists()
    versions = SubmissionVersion.objects.count()
    again = upload(client, "杭州11月.xlsx", filled)
    assert again.status == Import.Status.CHECKED and again.change_count == 0  # nothing to change: idempotent
    client.post(f"/bulk/imports/{checked.pk}/apply/")  # a second click on the first one
    assert SubmissionVersion.objects.count() == versions


def test_a_libreoffice_written_file_round_trips(cast: Cast, world: ReportingCycle, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (.ci/run installs libreoffice-calc-nogui)")
    client = cast.client("city-hz")
    filled = fill(download_template(client, cast.orgs["hangzhou"].pk, hz_m11().period_id), NUMBERS)
    source = tmp_path / "openpyxl.xlsx"
    source.write_bytes(filled)
    for target in ("ods", "xls", "xlsx"):
        out = tmp_path / target
        subprocess.run(  # noqa: S603 — LibreOffice on a file the test wrote
            [
                soffice,
                "--headless",
                f"-env:UserInstallation=file://{tmp_path}/profile",
                "--convert-to",
                target,
                "--outdir",
                str(out),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        converted = next(out.iterdir()).read_bytes()
        checked = upload(client, f"libreoffice.{target}", converted)
        assert checked.status == Import.Status.CHECKED and checked.change_count == 5, (target, checked.errors)
        assert new_values(checked) == {str(v) for v in NUMBERS.values()}


def test_csv_in_gbk_and_utf8_with_bom(cast: Cast, world: ReportingCycle) -> None:
    client = cast.client("city-hz")
    lines = [["区划代码", "城市", "报告期", "填报表", "填报项代码", "本期数值", "说明"]]
    lines += [["330100", "杭州市", "2016-M11", "M", code, f"{value:,}", ""] for code, value in NUMBERS.items()]
    text = io.StringIO()
    csv.writer(text).writerows(lines)
    for encoding in ("gbk", "utf-8-sig"):
        checked = upload(client, "数据.csv", text.getvalue().encode(encoding))
        assert checked.status == Import.Status.CHECKED and checked.change_count == 5, (encoding, checked.errors)


def test_errors_are_listed_by_row_and_marked_in_a_copy(cast: Cast, world: ReportingCycle) -> None:
    client = cast.client("city-hz")
    template = download_template(client, cast.orgs["hangzhou"].pk, hz_m11().period_id)
    bad = fill(template, {**NUMBERS, "FBB_20M_USERS": 20000, "LTE_USERS": "很多"})
    before = state()
    checked = upload(client, "bad.xlsx", bad)
    assert checked.status == Import.Status.REJECTED
    messages = {p["item"]: p for p in checked.errors}
    assert messages["LTE_USERS"]["column"] == 9 and messages["LTE_USERS"]["sheet"] == "填报"
    assert {"FBB_USERS", "FBB_20M_USERS"} & set(messages)  # the rule: 20M users cannot exceed all users
    assert state() == before
    response = client.post(f"/bulk/imports/{checked.pk}/apply/")
    assert response.status_code == 302 and state() == before
    copy = load_workbook(io.BytesIO(client.get(f"/bulk/imports/{checked.pk}/marked.xlsx").content))
    row = messages["LTE_USERS"]["row"]
    cell = copy["填报"].cell(row, 9)
    assert cell.comment is not None and "LTE" not in cell.comment.text and cell.fill.fgColor.rgb.endswith("F8D7DA")


def _xlsx_with(sheet_xml: str, extra: dict[str, bytes] | None = None, content_types: bytes | None = None) -> bytes:
    """A minimal .xlsx written by hand, so hostile variants are easy to make."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            content_types
            or (
                b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                b'<Default Extension="xml" ContentType="application/xml"/>'
                b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                b'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
            ),
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="填报" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buffer.getvalue()


HEADER_ROW = "".join(
    f'<c r="{col}1" t="inlineStr"><is><t>{text}</t></is></c>'
    for col, text in zip("ABCDE", ["区划代码", "报告期", "填报表", "填报项代码", "本期数值"], strict=True)
)


def _sheet(rows: str, dimension: str = "A1:E2") -> str:
    return (
        f'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData><row r="1">{HEADER_ROW}</row>{rows}</sheetData></worksheet>'
    )


def _row(n: int, value_cell: str) -> str:
    cells = "".join(
        f'<c r="{col}{n}" t="inlineStr"><is><t>{text}</t></is></c>'
        for col, text in zip("ABCD", ["330100", "2016-M11", "M", "FBB_USERS"], strict=True)
    )
    return f'<row r="{n}">{cells}{value_cell}</row>'


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<a>" + b"0" * 300_000_000 + b"</a>")
    return buffer.getvalue()


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><worksheet xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row>'
    "</sheetData></worksheet>"
)


def _macro_xlsx() -> bytes:
    book = Workbook()
    buffer = io.BytesIO()
    book.save(buffer)
    original = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in original.infolist():
            z.writestr(item, original.read(item.filename))
        z.writestr("xl/vbaProject.bin", b"\x00macro")
    return out.getvalue()


def _hundred_thousand_rows() -> bytes:
    rows = "".join(_row(n, f'<c r="E{n}"><v>1</v></c>') for n in range(2, 100_002))
    return _xlsx_with(_sheet(rows, "A1:E100001"))


def _ods(body: str) -> bytes:
    """A minimal .ods written by hand: one sheet with the given rows."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        f'office:version="1.2"><office:body><office:spreadsheet><table:table table:name="填报">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        )
    return buffer.getvalue()


def _ods_cell(value: str) -> str:
    return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'


def _repeated_ods() -> bytes:
    """A few hundred bytes that a spreadsheet reader would expand into 100 million cells (gigabytes)."""
    header = "".join(_ods_cell(t) for t in ["区划代码", "报告期", "填报表", "填报项代码", "本期数值"])
    return _ods(
        f"<table:table-row>{header}</table:table-row>"
        '<table:table-row table:number-rows-repeated="100000"><table:table-cell office:value-type="float" '
        'office:value="1" table:number-columns-repeated="1000"><text:p>1</text:p></table:table-cell></table:table-row>'
    )


def _wide_dimension() -> bytes:
    """A sheet that declares the largest range Excel allows while holding two rows (reading it padded to the
    declared range took minutes)."""
    return _xlsx_with(
        _sheet(
            _row(2, '<c r="E2"><v>-5</v></c>') + '<row r="40000"><c r="XFD40000"><v>1</v></c></row>', "A1:XFD1048576"
        )
    )


CORPUS: list[tuple[str, str, Any]] = [
    ("empty.xlsx", "文件是空的", lambda: b""),
    ("picture.xlsx", "不是有效的", _png),
    ("truncated.xlsx", "不是有效的", lambda: _xlsx_with(_sheet(_row(2, '<c r="E2"><v>1</v></c>')))[:300]),
    ("macro.xlsm", "含宏", lambda: b"PK\x03\x04 anything"),
    ("macro-inside.xlsx", "含宏", _macro_xlsx),
    ("bomb.xlsx", "压缩", _bomb),
    ("laughs.xlsx", "不安全的 XML", lambda: _xlsx_with(LAUGHS)),
    ("formula.xlsx", "公式但没有计算结果", lambda: _xlsx_with(_sheet(_row(2, '<c r="E2"><f>SUM(1,2)</f></c>')))),
    (
        "text.xlsx",
        "不是有效的数字",
        lambda: _xlsx_with(_sheet(_row(2, '<c r="E2" t="inlineStr"><is><t>许多</t></is></c>'))),
    ),
    ("negative.xlsx", "不能为负数", lambda: _xlsx_with(_sheet(_row(2, '<c r="E2"><v>-5</v></c>')))),
    ("date.xlsx", "不能是日期", lambda: _date_xlsx()),
    ("rows.xlsx", "超过上限", _hundred_thousand_rows),
    ("repeated.ods", "数据区域过大", _repeated_ods),
    ("wide-dimension.xlsx", "不能为负数", _wide_dimension),
    ("date-in-city-column.xlsx", "区划代码", lambda: _date_xlsx(column=0)),
    ("no-header.csv", "没有找到表头", lambda: b"a,b,c\n1,2,3\n"),
    ("utf16.csv", "不可识别的字符", lambda: "区划代码,报告期\n".encode("utf-16")),
    ("data.pdf", "只接受", lambda: b"%PDF-1.4"),
    ("old.xls", "不是 Excel 97", lambda: b"not an ole file"),
]


def _date_xlsx(column: int = 4) -> bytes:
    import datetime

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["区划代码", "报告期", "填报表", "填报项代码", "本期数值"])
    row: list[Any] = ["330100", "2016-M11", "M", "FBB_USERS", 5]
    row[column] = datetime.date(2016, 11, 1)
    sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "message", "make"), CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_and_malformed_files_are_refused_and_change_nothing(
    cast: Cast, world: ReportingCycle, settings: Any, name: str, message: str, make: Any
) -> None:
    settings.BULK_MAX_ROWS = 50_000
    client = cast.client("city-hz")
    before = state()
    checked = upload(client, name, make())
    assert checked.status == Import.Status.REJECTED
    assert any(message in p["message"] for p in checked.errors), checked.errors
    assert state() == before
    assert client.get(f"/bulk/imports/{checked.pk}/").status_code == 200


def test_merged_cells_and_hidden_sheets(cast: Cast, world: ReportingCycle) -> None:
    client = cast.client("city-hz")
    template = download_template(client, cast.orgs["hangzhou"].pk, hz_m11().period_id)
    book = load_workbook(io.BytesIO(fill(template, NUMBERS)))
    book["填报"].merge_cells("J2:J3")  # merged notes: only the top-left cell keeps its value
    hidden = book.copy_worksheet(book["填报"])
    hidden.sheet_state = "hidden"
    for row in hidden.iter_rows(min_row=2):
        row[8].value = 1  # a hidden copy with other numbers is not read
    buffer = io.BytesIO()
    book.save(buffer)
    checked = upload(client, "merged.xlsx", buffer.getvalue())
    assert checked.status == Import.Status.CHECKED, checked.errors
    assert new_values(checked) == {str(v) for v in NUMBERS.values()}


def test_oversize_files_are_refused(cast: Cast, world: ReportingCycle, settings: Any) -> None:
    settings.BULK_UPLOAD_MAX_BYTES = 1000
    client = cast.client("city-hz")
    response = client.post("/bulk/upload/", {"file": _file("big.csv", b"x" * 5000)})
    assert response.status_code == 302 and not Import.objects.exists()


def test_scope_of_templates_uploads_and_exports(cast: Cast, world: ReportingCycle) -> None:
    period = hz_m11().period_id
    gz = cast.client("city-gz")
    assert (
        gz.get(
            "/bulk/template.xlsx", {"place": str(cast.orgs["hangzhou"].pk), "period": str(period), "form": "M"}
        ).status_code
        == 404
    )
    province = download_template(cast.client("province-zj"), cast.orgs["zhejiang"].pk, period)
    cities = {row[1] for row in load_workbook(io.BytesIO(province))["填报"].iter_rows(min_row=2, values_only=True)}
    assert cities == {"杭州市", "嘉兴市"}
    # A city's own people import its data, and so does its province (for all its cities); no one else.
    assert cast.client("analyst").post("/bulk/upload/", {"file": _file("a.csv", b"a")}).status_code == 403
    hz = fill(download_template(cast.client("city-hz"), cast.orgs["hangzhou"].pk, period), NUMBERS)
    by_province = upload(cast.client("province-zj"), "hz.xlsx", hz)
    assert by_province.status == Import.Status.CHECKED and by_province.change_count == 5, by_province.errors
    by_other = upload(cast.client("province-gd"), "hz.xlsx", hz)
    assert by_other.status == Import.Status.REJECTED and "本省各城市" in by_other.errors[0]["message"]
    checked = upload(
        gz, "hz.xlsx", fill(download_template(cast.client("city-hz"), cast.orgs["hangzhou"].pk, period), NUMBERS)
    )
    assert checked.status == Import.Status.REJECTED and "只能导入本市的数据" in checked.errors[0]["message"]
    assert cast.client("city-hz").get(f"/bulk/imports/{checked.pk}/").status_code == 404


def streamed(response: Any) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_export_is_streamed_scoped_and_neutralised(cast: Cast, world: ReportingCycle) -> None:
    client = cast.client("city-hz")
    target = hz_m11()
    upload_id = upload(
        client,
        "x.xlsx",
        fill(
            download_template(client, cast.orgs["hangzhou"].pk, target.period_id),
            NUMBERS,
            notes={"FBB_USERS": "+cmd|' /C calc'!A0"},
        ),
    ).pk
    client.post(f"/bulk/imports/{upload_id}/apply/")
    response = cast.client("province-zj").get("/bulk/export.csv", {"period": "2016-M11"})
    assert response.streaming
    rows = list(csv.reader(io.StringIO(streamed(response))))
    assert rows[0][0] == "区划代码" and len(rows) == 6
    note = next(r for r in rows if r[5] == "FBB_USERS")[9]
    assert note.startswith("'+cmd")
    other = cast.client("province-gd").get("/bulk/export.csv", {"period": "2016-M11"})
    assert len(list(csv.reader(io.StringIO(streamed(other))))) == 1


def test_a_number_typed_as_a_percentage_reads_as_shown(cast: Cast, world: ReportingCycle) -> None:
    """Typing "62%" in Excel stores 0.62 formatted as a percentage: the clerk meant 62, and 62 is read."""
    client = cast.client("city-hz")
    target = hz_m11()
    book = load_workbook(
        io.BytesIO(fill(download_template(client, cast.orgs["hangzhou"].pk, target.period_id), NUMBERS))
    )
    for row in book["填报"].iter_rows(min_row=2):
        if row[4].value == "FBB_20M_USERS":
            row[8].value, row[8].number_format = 0.62, "0%"
    buffer = io.BytesIO()
    book.save(buffer)
    checked = upload(client, "杭州.xlsx", buffer.getvalue())
    assert checked.status == Import.Status.CHECKED, checked.errors
    assert {c["item"]: c["new"] for e in checked.entries.all() for c in e.changes}["FBB_20M_USERS"] == "62"


def test_the_template_and_the_import_compare_with_the_previous_period(cast: Cast, world: ReportingCycle) -> None:
    """The template's 上期数值 column and the import's change check read the previous period with values — the
    same one the entry page and its checks compare with."""
    from infocity.reporting import clock, services

    october = Submission.objects.get(city__name="杭州市", period__code="2016-M10", form__code="M")
    with clock.at(clock.now().replace(month=11, day=5)):
        services.save_draft(actor=cast.users["city-hz"], submission=october, raw=M11, explanations={}, base_version=0)
    client = cast.client("city-hz")
    target = hz_m11()
    template = download_template(client, cast.orgs["hangzhou"].pk, target.period_id)
    sheet = load_workbook(io.BytesIO(template))["填报"]
    shown = {str(row[4].value): row[7].value for row in sheet.iter_rows(min_row=2)}
    assert shown["FBB_USERS"] == "10,000" and shown["LTE_USERS"] == "12,000"
    checked = upload(client, "杭州11月.xlsx", fill(template, NUMBERS | {"LTE_USERS": 19000}))
    assert "上期（2016年10月）" in str(checked.errors), checked.errors
