"""Property-based tests of the whole API from its own OpenAPI description (schemathesis, through the WSGI
application): whatever the generated parameters and bodies, no operation answers with a server error, errors use
the one JSON shape, and every operation that needs a token refuses a request without one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infocity.reporting.models import ReportingCycle
from infocity.wsgi import application

from .conftest import Cast
from .test_api_tokens import command_token, world  # noqa: F401 — the 2016 cycle fixture

EXAMPLES = 12
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def keep_connection() -> Iterator[None]:
    """The WSGI handler closes the database connection after each request; inside a test transaction it must not
    (Django's own test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def check(operation: Any, tokens: list[str], mode: GenerationMode) -> None:
    needs_token = bool(operation.definition.raw.get("security"))

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Any) -> None:
        for token in tokens:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (operation.label, response.status_code, response.text[:300])
            # Every answer, errors included, is one the description declares, with the declared body.
            case.validate_response(response, checks=CONFORMANCE)
            if response.status_code >= 400:
                assert {"code", "message"} <= set(response.json()), (operation.label, response.text[:300])
        anonymous = case.call()
        assert anonymous.status_code < 500, (operation.label, anonymous.text[:300])
        if needs_token:
            # 401 — unless the parameters themselves were refused first (a NUL character: 400, before any view).
            refused_first = anonymous.status_code == 400 and anonymous.json().get("code") == "bad_request"
            assert anonymous.status_code == 401 or refused_first, (operation.label, anonymous.status_code)

    run()


def test_no_server_errors_and_authentication_is_required(
    cast: Cast,
    world: ReportingCycle,  # noqa: F811
    keep_connection: None,
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    tokens = [command_token("city-hz-approver"), command_token("analyst")]
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the description itself is valid
        operations.append(result.ok())
    assert len(operations) >= 13  # 5 framework, 8 reporting
    for operation in operations:
        check(operation, tokens, GenerationMode.POSITIVE)
        # Then requests that break the description (wrong types, out-of-range numbers, bad bodies), where the
        # operation has something that can be broken: a plain string path parameter cannot be.
        with contextlib.suppress(Unsatisfiable):
            check(operation, tokens, GenerationMode.NEGATIVE)
