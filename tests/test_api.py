"""The JSON API: a valid OpenAPI description, published editions readable by anyone, drafts never."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from openapi_spec_validator import validate

from infocity.frameworks.loading import EDITION_2016, load_edition_file
from infocity.frameworks.models import Edition
from infocity.frameworks.services import copy_edition

from .conftest import Cast
from .test_frameworks import CODES_2016


@pytest.fixture
def edition(db: None) -> Edition:
    return load_edition_file(EDITION_2016)


def test_openapi_description_is_valid(db: None, anon: Client) -> None:
    response = anon.get("/api/v1/openapi.json")
    assert response.status_code == 200
    duplicates: list[str] = []

    def no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        duplicates.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(pairs)

    # Swagger UI refuses a description with a key twice in one object (e.g. responses "200" and 200 merged).
    spec = json.loads(response.content, object_pairs_hook=no_duplicates)
    assert not duplicates, duplicates
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/editions/{code}/indicators/{indicator}" in spec["paths"]


def test_interactive_docs_are_served_locally(db: None, anon: Client) -> None:
    html = anon.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert '"validatorUrl": null' in html


def test_published_edition_is_readable_without_login(edition: Edition, anon: Client) -> None:
    editions = anon.get("/api/v1/editions").json()
    assert [e["code"] for e in editions] == ["2016"]
    assert editions[0]["indicator_count"] == len(CODES_2016)
    indicators = anon.get("/api/v1/editions/2016/indicators").json()
    assert [i["code"] for i in indicators] == CODES_2016
    a02 = anon.get("/api/v1/editions/2016/indicators/A02").json()
    assert a02["formula_in_words_zh"] == "20M以上宽带用户数 ÷ 固定宽带用户数 × 100"
    assert a02["target"]["text_zh"] == "＞ 50%（指南明确）"
    items = anon.get("/api/v1/editions/2016/data-items", {"form": "M"}).json()
    assert {i["code"] for i in items} == {"FBB_USERS", "FBB_20M_USERS", "FTTH_USERS", "MOBILE_USERS", "LTE_USERS"}
    assert anon.get("/api/v1/editions/2016/indicators", {"area": "G"}).json()[0]["code"] == "G01"


def test_drafts_and_unknown_codes_are_404(edition: Edition, cast: Cast, anon: Client) -> None:
    copy_edition(actor=cast.users["ministry"], source=edition, code="2017", year=2017, name_zh="2017草稿")
    assert anon.get("/api/v1/editions/2017").status_code == 404
    assert anon.get("/api/v1/editions/2017/indicators").status_code == 404
    assert [e["code"] for e in anon.get("/api/v1/editions").json()] == ["2016"]
    assert anon.get("/api/v1/editions/2016/indicators/Z99").status_code == 404
