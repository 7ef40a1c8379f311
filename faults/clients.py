"""HTTP clients of the fault tests (the standard library's, so the tests need nothing the platform does not):
API calls recorded with their answers and timings, and a signed-in browser session that fills a submission's page
as the autosave does."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import Any


@dataclass
class Call:
    """One request and what came back: a status and a body, or the error the client got instead."""

    kind: str
    submission: int
    key: str
    body: dict[str, Any]
    started: float = 0.0
    elapsed: float = 0.0
    status: int = 0  # 0: no answer (connection refused or reset, timeout)
    answer: Any = None
    content_type: str = ""
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return 200 <= self.status < 300

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "submission": self.submission, "key": self.key, "status": self.status,
                "values": {row["item"]: row["value"] for row in self.body.get("values", [])}}  # fmt: skip


def send(
    opener: urllib.request.OpenerDirector, url: str, data: bytes | None, headers: dict[str, str], timeout: float
) -> tuple[int, dict[str, str], bytes]:
    """One request; its status, headers and body, whatever the status (an error status is an answer too)."""
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 — http://127.0.0.1
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


PLAIN = urllib.request.build_opener()


def call(base: str, token: str, path: str, body: dict[str, Any], key: str = "", timeout: float = 60) -> Call:
    """POST JSON with a bearer token (and an ``Idempotency-Key``), recording the answer."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    kind = "values" if path.endswith("/values") else path.rsplit("/", 1)[-1]
    submission = int(body["values"][0]["submission"]) if "values" in body else int(path.split("/")[-2])
    made = Call(kind, submission, key, body, started=time.monotonic())
    try:
        status, answer_headers, content = send(PLAIN, f"{base}{path}", json.dumps(body).encode(), headers, timeout)
    except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out: no answer
        made.error = f"{type(error).__name__}: {error}"
    else:
        made.status = status
        made.content_type = answer_headers.get("Content-Type", "")
        try:
            made.answer = json.loads(content)
        except ValueError:
            made.answer = content.decode(errors="replace")[:300]
    made.elapsed = time.monotonic() - made.started
    return made


def is_error_shape(answer: Any) -> bool:
    """The API's one error shape: ``{"code", "message", "details"}`` with a Chinese message."""
    return (
        isinstance(answer, dict)
        and set(answer) == {"code", "message", "details"}
        and isinstance(answer["message"], str)
        and re.search(r"[\u4e00-\u9fff]", answer["message"]) is not None
        and isinstance(answer["details"], list)
    )


class _Stay(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to look at, not to follow (a successful login answers 302)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Browser:
    """A person signed in through the login page, with the session and CSRF cookies a browser keeps."""

    base: str
    username: str
    password: str
    opener: urllib.request.OpenerDirector = field(
        default_factory=lambda: urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _Stay)
    )

    def get(self, path: str) -> str:
        status, _headers, content = send(self.opener, f"{self.base}{path}", None, {}, 30)
        assert status == 200, (path, status)
        return content.decode()

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"{self.base}{path}", **headers}
        status, _headers, content = send(self.opener, f"{self.base}{path}", data, headers, 60)
        return status, content.decode()

    def sign_in(self) -> Browser:
        page = self.get("/accounts/login/")
        status, _page = self.post(
            "/accounts/login/",
            {"username": self.username, "password": self.password, "csrfmiddlewaretoken": _csrf(page)},
            {},
        )
        assert status == 302, f"{self.username} could not sign in: {status}"
        return self

    def open(self, submission: int) -> EntryPage:
        page = self.get(f"/reporting/submissions/{submission}/")
        base_version = re.search(r'name="base_version" id="base-version" value="(\d+)"', page)
        assert base_version is not None, "the page has no entry form"
        values = {}
        for tag in re.findall(r'<input[^>]*name="value-[A-Z0-9_]+"[^>]*>', page):
            code = re.search(r'name="value-([A-Z0-9_]+)"', tag)
            value = re.search(r'\svalue="([^"]*)"', tag)
            assert code is not None
            values[code.group(1)] = value.group(1) if value else ""
        return EntryPage(self, submission, int(base_version.group(1)), _csrf(page), values)


@dataclass
class EntryPage:
    """A submission's entry page as it was loaded: the version it shows and every field's value."""

    browser: Browser
    submission: int
    base_version: int
    csrf: str
    values: dict[str, str]

    def autosave(self, changes: dict[str, str], start: threading.Barrier | None = None) -> str:
        """Type ``changes`` and let the autosave post the form (every field, as htmx does); the status it shows."""
        data = {"csrfmiddlewaretoken": self.csrf, "base_version": str(self.base_version)}
        data.update({f"value-{code}": value for code, value in {**self.values, **changes}.items()})
        if start is not None:
            start.wait(timeout=30)
        status, answer = self.browser.post(
            f"/reporting/submissions/{self.submission}/save/", data, {"HX-Request": "true"}
        )
        assert status == 200, (status, answer[:500])
        return answer


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)
