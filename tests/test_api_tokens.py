"""API tokens and the reporting API: tokens stored hashed, shown once, revoked; read and write scopes; scoping;
bulk writes all-or-nothing in JSON and CSV with Idempotency-Key; the workflow through the API by each role's own
token; one error shape."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from infocity.audit.models import Action, AuditEvent
from infocity.reporting import api as reporting_api
from infocity.reporting.models import DataValue, ReportingCycle, Status, Submission
from infocity.tokens.models import ApiToken
from infocity.tokens.services import issue_token, revoke_token

from .conftest import Cast
from .test_analytics import cycle_2016

M11 = {"FBB_USERS": "10000", "FBB_20M_USERS": "6200", "FTTH_USERS": "7660", "MOBILE_USERS": "20000",
       "LTE_USERS": "12000"}  # fmt: skip


@pytest.fixture
def world(cast: Cast, settings: Any) -> ReportingCycle:
    return cycle_2016(cast, settings)


def command_token(username: str, scope: str = "write") -> str:
    out = io.StringIO()
    call_command("issue_token", username, "--scope", scope, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def hz_m11() -> Submission:
    return Submission.objects.get(city__name="杭州市", period__code="2016-M11", form__code="M")


def test_tokens_are_stored_hashed_shown_once_and_audited(cast: Cast, world: ReportingCycle) -> None:
    token, plaintext = issue_token(actor=cast.users["city-hz"], user=cast.users["city-hz"], scope="read", name="对接")
    assert plaintext.startswith("ic_") and plaintext.split("_", 2)[2] not in token.digest
    assert not ApiToken.objects.filter(digest__contains=plaintext).exists()
    assert AuditEvent.objects.filter(action=Action.TOKEN_ISSUE, object_id=str(token.pk)).exists()
    assert api(plaintext).get("/api/v1/submissions").status_code == 200
    revoke_token(actor=cast.users["city-hz"], token=token)
    response = api(plaintext).get("/api/v1/submissions")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    assert AuditEvent.objects.filter(action=Action.TOKEN_REVOKE, object_id=str(token.pk)).exists()


def test_no_or_wrong_token_is_refused_with_one_error_shape(cast: Cast, world: ReportingCycle) -> None:
    for client in (Client(), api("ic_nothing_here"), api("garbage")):
        response = client.get("/api/v1/submissions")
        assert response.status_code == 401
        assert set(response.json()) == {"code", "message", "details"}
    assert Client().post("/api/v1/values", {}, content_type="application/json").status_code == 401
    # The published framework stays open to everyone.
    assert Client().get("/api/v1/editions").status_code == 200


def test_a_disabled_account_s_token_stops_working(cast: Cast, world: ReportingCycle) -> None:
    plaintext = command_token("city-hz", "read")
    user = cast.users["city-hz"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert api(plaintext).get("/api/v1/submissions").status_code == 401


def test_reading_is_scoped(cast: Cast, world: ReportingCycle) -> None:
    hz = api(command_token("city-hz", "read"))
    listed = hz.get("/api/v1/submissions", {"period": "2016-M11"}).json()
    assert listed["total"] == 1 and listed["items"][0]["city"] == "330100" and listed["items"][0]["form"] == "M"
    other = Submission.objects.get(city__name="广州市", period__code="2016-M11", form__code="M")
    response = hz.get(f"/api/v1/submissions/{other.pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor=cast.users["city-hz"]).exists()
    orgs = hz.get("/api/v1/organisations").json()
    names = {o["name"] for o in orgs["items"]}
    assert "杭州市" in names and "广州市" not in names and "浙江省" not in names
    province = api(command_token("province-zj", "read")).get("/api/v1/submissions", {"period": "2016-M11"}).json()
    assert {s["city"] for s in province["items"]} == {"330100", "330400"}
    page = api(command_token("analyst", "read")).get("/api/v1/submissions", {"limit": 2, "offset": 1}).json()
    assert page["limit"] == 2 and page["offset"] == 1 and len(page["items"]) == 2 and page["total"] > 2


def test_read_token_cannot_write(cast: Cast, world: ReportingCycle) -> None:
    reader = api(command_token("city-hz", "read"))
    body = {"values": [{"submission": hz_m11().pk, "item": "FBB_USERS", "value": "1"}]}
    response = reader.post("/api/v1/values", body, content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "read_only_token"
    assert not DataValue.objects.exists()


def test_bulk_write_is_all_or_nothing(cast: Cast, world: ReportingCycle) -> None:
    writer = api(command_token("city-hz"))
    target = hz_m11()
    rows = [{"submission": target.pk, "item": code, "value": value} for code, value in M11.items()]
    bad = [*rows, {"city": "440100", "period": "2016-M11", "form": "M", "item": "FBB_USERS", "value": "5"},
           {"submission": target.pk, "item": "NO_SUCH_ITEM", "value": "1"},
           {"submission": target.pk, "item": "LTE_USERS", "value": "很多"}]  # fmt: skip
    response = writer.post("/api/v1/values", {"values": bad}, content_type="application/json")
    assert response.status_code == 422
    problems = response.json()["details"]
    assert [p["code"] for p in problems] == ["submission_not_found", "unknown_item", "invalid_value"]
    assert [p["row"] for p in problems] == [6, 7, 8]
    assert not DataValue.objects.exists()
    # A rule failing (20M users above all users) rolls back too.
    rule = [*rows[:1], {"submission": target.pk, "item": "FBB_20M_USERS", "value": "20000"}]
    response = writer.post("/api/v1/values", {"values": rule}, content_type="application/json")
    assert response.status_code == 422 and response.json()["details"][0]["code"] == "rule_failed"
    assert not DataValue.objects.exists()
    ok = writer.post("/api/v1/values", {"values": rows}, content_type="application/json")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["applied"] == 5 and DataValue.objects.filter(submission=target).count() == 5
    save = AuditEvent.objects.filter(action=Action.SUBMISSION_SAVE, actor=cast.users["city-hz"]).latest("pk")
    assert save.object_id == str(target.pk)


def test_csv_with_bom_by_codes(cast: Cast, world: ReportingCycle) -> None:
    writer = api(command_token("city-hz"))
    lines = ["city,period,form,item,value,explanation"] + [
        f'330100,2016-M11,M,{code},"{int(value):,}",' for code, value in M11.items()
    ]
    body = "\ufeff" + "\r\n".join(lines) + "\r\n"
    response = writer.generic("POST", "/api/v1/values", body.encode("utf-8"), content_type="text/csv")
    assert response.status_code == 200, response.json()
    assert DataValue.objects.get(submission=hz_m11(), item__code="FBB_USERS").number == 10000
    gbk = writer.generic("POST", "/api/v1/values", "城市".encode("gbk"), content_type="text/csv")
    assert gbk.status_code == 400 and gbk.json()["code"] == "bad_encoding"


def test_idempotency_key(cast: Cast, world: ReportingCycle) -> None:
    writer = api(command_token("city-hz"))
    body = {"values": [{"submission": hz_m11().pk, "item": "FBB_USERS", "value": "10000"}]}
    first = writer.post("/api/v1/values", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    versions = hz_m11().version
    again = writer.post("/api/v1/values", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == first.status_code == 200 and again.json() == first.json()
    assert hz_m11().version == versions  # not applied twice
    other = {"values": [{"submission": hz_m11().pk, "item": "FBB_USERS", "value": "9"}]}
    clash = writer.post("/api/v1/values", other, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert clash.status_code == 409 and clash.json()["code"] == "idempotency_key_reused"


def test_bad_requests_get_clear_errors(cast: Cast, world: ReportingCycle) -> None:
    writer = api(command_token("city-hz"))
    for body, code in (("{not json", "bad_json"), ("[1, 2]", "bad_request"), ('{"values": []}', "empty"),
                       ('{"values": [1]}', "bad_request")):  # fmt: skip
        response = writer.generic("POST", "/api/v1/values", body.encode(), content_type="application/json")
        assert response.status_code == 400 and response.json()["code"] == code, body
    response = writer.post(f"/api/v1/submissions/{hz_m11().pk}/submit", {}, content_type="application/json")
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    response = writer.post(
        f"/api/v1/submissions/{hz_m11().pk}/launch", {"expected_version": 0}, content_type="application/json"
    )
    assert response.status_code == 404 and response.json()["code"] == "unknown_action"


def test_acceptance_the_whole_path_by_each_role_s_own_token(cast: Cast, world: ReportingCycle) -> None:
    """Values written and sent with the city's tokens, approved by the province's, accepted by the analyst's."""
    reporter, approver = api(command_token("city-hz")), api(command_token("city-hz-approver"))
    province, analyst = api(command_token("province-zj")), api(command_token("analyst"))
    target = hz_m11()
    rows = [{"city": "330100", "period": "2016-M11", "form": "M", "item": c, "value": v} for c, v in M11.items()]
    assert reporter.post("/api/v1/values", {"values": rows}, content_type="application/json").status_code == 200

    def act(client: Client, action: str, **extra: Any) -> Any:
        version = Submission.objects.get(pk=target.pk).version
        return client.post(f"/api/v1/submissions/{target.pk}/{action}", {"expected_version": version, **extra},
                           content_type="application/json")  # fmt: skip

    refused = act(reporter, "submit")
    assert refused.status_code == 403 and refused.json()["code"] == "approver_required"
    assert act(approver, "submit").json()["status"] == Status.SUBMITTED
    wrong = act(api(command_token("province-gd")), "approve")
    assert wrong.status_code == 404  # another province does not even see it
    returned = act(province, "return", reason="请核实光纤用户数。", item_comments={"FTTH_USERS": "偏高"})
    assert returned.json()["status"] == Status.DRAFT and returned.json()["return_reason"] == "请核实光纤用户数。"
    fix = [{"submission": target.pk, "item": "FTTH_USERS", "value": "7600"}]
    assert reporter.post("/api/v1/values", {"values": fix}, content_type="application/json").status_code == 200
    assert act(approver, "submit").json()["status"] == Status.SUBMITTED
    assert act(province, "approve").json()["status"] == Status.PROVINCE_APPROVED
    accepted = act(analyst, "accept")
    assert accepted.json()["status"] == Status.ACCEPTED
    again = analyst.post(f"/api/v1/submissions/{target.pk}/accept", {"expected_version": 0},
                         content_type="application/json")  # fmt: skip
    assert again.status_code == 409
    values = analyst.get("/api/v1/values", {"submission": target.pk}).json()
    assert {v["item"]: v["value"] for v in values["items"]}["FTTH_USERS"] == "7600"
    locked = reporter.post("/api/v1/values", {"values": fix}, content_type="application/json")
    assert locked.status_code == 409 and locked.json()["code"] == "workflow"


@pytest.mark.parametrize("username", ["city-hz", "province-zj"])
def test_token_page_creates_shows_once_and_revokes(cast: Cast, world: ReportingCycle, username: str) -> None:
    client = cast.client(username)
    page = client.post("/tokens/", {"name": "运营商对接", "scope": "write"})
    plaintext = page.context["plaintext"]
    assert plaintext.startswith("ic_") and plaintext in page.content.decode()
    assert plaintext not in client.get("/tokens/").content.decode()  # shown once
    token = ApiToken.objects.get(user=cast.users[username])
    other = cast.client("analyst").post(f"/tokens/{token.pk}/revoke/")
    assert other.status_code == 404 and ApiToken.objects.get(pk=token.pk).revoked_at is None
    client.post(f"/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert cast.client("expert").get("/tokens/").status_code == 403


def test_an_expired_token_stops_working(cast: Cast, world: ReportingCycle) -> None:
    out = io.StringIO()
    call_command("issue_token", "city-hz", "--scope", "read", "--days", "30", stdout=out, stderr=io.StringIO())
    plaintext = out.getvalue().strip()
    token = ApiToken.objects.get(user=cast.users["city-hz"])
    assert token.expires_at is not None and 29 <= (token.expires_at - timezone.now()).days <= 30
    assert api(plaintext).get("/api/v1/cycles").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert api(plaintext).get("/api/v1/cycles").status_code == 401
    with pytest.raises(CommandError):
        call_command("issue_token", "city-hz", "--days", "0", stdout=io.StringIO(), stderr=io.StringIO())
    page = cast.client("city-hz").post("/tokens/", {"name": "一年", "scope": "read", "days": "365"})
    assert "已过期" in page.content.decode()
    assert ApiToken.objects.get(name="一年").expires_at is not None


def test_the_api_answers_in_its_own_shape_everywhere(cast: Cast, world: ReportingCycle) -> None:
    writer = api(command_token("city-hz"))
    unknown = writer.get("/api/v1/nothing/here")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert Client().post("/api/v1/nothing").json()["code"] == "not_found"  # no login page, no CSRF page
    wrong_method = writer.delete("/api/v1/submissions")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
    assert wrong_method["Allow"] == "GET"
    anonymous = Client().get("/api/v1/values")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    xml = writer.generic("POST", "/api/v1/values", b"<values/>", content_type="application/xml")
    assert xml.status_code == 415 and xml.json()["code"] == "unsupported_media_type"
    broken = writer.generic(
        "POST", f"/api/v1/submissions/{hz_m11().pk}/approve-city", b"{oops", content_type="application/json"
    )
    assert broken.status_code == 400 and broken.json()["code"] == "bad_request"
    assert "JSON" in broken.json()["message"]


def test_the_openapi_description_documents_bearer_tokens_and_the_error_shape(cast: Cast) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    assert {s["scheme"] for s in spec["components"]["securitySchemes"].values()} == {"bearer"}
    write = spec["paths"]["/api/v1/values"]["post"]
    assert write["security"] and {"401", "403", "409", "422"} <= set(write["responses"])
    assert write["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert {"code", "message", "details"} <= set(spec["components"]["schemas"]["ErrorOut"]["required"])
    assert "security" not in spec["paths"]["/api/v1/editions"]["get"]  # the framework stays public


def test_the_same_key_arriving_twice_at_once_applies_once(
    cast: Cast, world: ReportingCycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second request did not see the first's stored answer yet: it fails on the unique key, everything it
    did is undone, and it answers with the first request's answer."""
    writer = api(command_token("city-hz"))
    body = {"values": [{"submission": hz_m11().pk, "item": "FBB_USERS", "value": "10000"}]}
    first = writer.post("/api/v1/values", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2")
    change = {"values": [{"submission": hz_m11().pk, "item": "FBB_USERS", "value": "9000"}]}
    assert writer.post("/api/v1/values", change, content_type="application/json").status_code == 200
    version = hz_m11().version
    real = reporting_api._earlier
    calls: list[str] = []

    def not_yet_visible(token: ApiToken, key: str) -> Any:
        calls.append(key)
        return None if len(calls) == 1 else real(token, key)

    monkeypatch.setattr(reporting_api, "_earlier", not_yet_visible)
    again = writer.post("/api/v1/values", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert len(calls) == 2 and again.status_code == 200 and again.json() == first.json()
    assert hz_m11().version == version
    assert DataValue.objects.get(submission=hz_m11(), item__code="FBB_USERS").number == 9000


def test_nul_characters_are_refused_before_any_query(cast: Cast, world: ReportingCycle) -> None:
    reader = api(command_token("analyst", "read"))
    response = reader.get("/api/v1/submissions", {"period": "2016\x00M11"})
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    page = cast.client("analyst").get("/analytics/", {"indicator": "A0\x002"})
    assert page.status_code == 400 and "NUL" in page.content.decode()
