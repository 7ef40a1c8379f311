"""The simulated city users of the deadline-day benchmark (``bench/deadline.py``), run with locust as a library.

    .venv/bin/python bench/deadline_locustfile.py --plan PLAN.json --host http://127.0.0.1:PORT --out RESULT.json \
        --users 500 --duration 300 --spawn-seconds 50

``bench/deadline.py`` sets up the database, starts gunicorn, runs this in its own process (gevent's monkey patching
stays out of the Django process) and verifies the result; run it by hand only against a server started that way.

Every simulated user is one person of a city, and users come in pairs: the even one is the city's reporter
(城市填报员), the odd one its approver (城市负责人), sharing a desk. They behave as the browser does on the real pages:

- log in through the login form (CSRF token from the page, the password, the redirect to the home page) and open the
  work queue (待办);
- the reporter opens the entry page of each open submission of the city and types the values one item at a time,
  waiting the think time before each; every change posts the whole form to the autosave (``…/save/``, as htmx:
  ``HX-Request``, the CSRF header, ``base_version`` taken from the previous answer) and then the inline check
  (``…/check/``). An explanation box the answer reveals (a warning) gets an explanation, typed and saved the same way.
  The filled submission goes to the desk;
- the approver signs in when the reporter has filled the first form (they are told; the product notifies too), then
  waits at the work queue (refreshing it when nothing came for a while), opens each filled submission
  and presses 审核通过并报送省级 (``…/act/``, ``approve_and_submit`` with the version the page showed), then follows
  the redirect to the page, which must show the success message;
- when the city has nothing open any more, both sign out (the logout form) and the pair takes the next city of the
  plan, as the next city's people arriving.

Acknowledged means what the page shows as done: an autosave answer saying 已自动保存（…，第 N 版）, a page after the
workflow button showing 本市审核通过，已报送省级。 Each acknowledgement is written to the result with what was posted,
so that ``bench/deadline.py`` can check the database afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import gevent  # type: ignore[import-untyped]  # no stubs installed
from gevent.queue import Empty, Queue  # type: ignore[import-untyped]
from locust import FastHttpUser, constant, task
from locust.env import Environment
from locust.exception import StopUser

SAVE_ACK = re.compile(r"已自动保存（[^）]*第 (\d+) 版）")
BASE_VERSION = re.compile(r'name="base_version" id="base-version" value="(\d+)"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REVEALED = re.compile(r'id="explain-wrap-([A-Za-z0-9_]+)"')
APPROVE_VERSION = re.compile(
    r'name="expected_version" value="(\d+)">\s*<button[^>]*name="action" value="approve_and_submit"'
)
SHOWN_VALUE = re.compile(r'name="value-([A-Za-z0-9_]+)" id="value-[A-Za-z0-9_]+"\s*value="([^"]*)"')
SHOWN_EXPLANATION = re.compile(r'name="explain-([A-Za-z0-9_]+)" id="explain-[A-Za-z0-9_]+">([^<]*)</textarea>')
BLOCKERS = re.compile(r"还有 (\d+) 个问题须处理")
SUBMITTED_MESSAGE = "本市审核通过，已报送省级。"
EXPLANATION = "本期数值经核实无误，变化原因：统计口径调整及季节因素（基准测试）。"
MAX_TRIES = 3  # attempts at one submission (or one approval) before the person gives up on it
IDLE_WAIT_SECONDS = 30.0  # an approver with nothing to approve refreshes the work queue this often


# --- the plan and the shared state of the run ----------------------------------------------------------------


@dataclass
class SubmissionPlan:
    pk: int
    label: str
    items: list[tuple[str, str]]  # (item code, value as the person types it), in the form's order


@dataclass
class CityPlan:
    code: str
    reporter: str
    approver: str
    submissions: list[SubmissionPlan]


@dataclass
class Ready:
    """A filled submission the reporter hands to the approver of the same city."""

    city: CityPlan
    submission: SubmissionPlan
    tries: int = MAX_TRIES


@dataclass
class Desk:
    """What a reporter and an approver of the same city share."""

    ready: Queue[Ready | None] = field(default_factory=Queue)


@dataclass
class Run:
    password: str = ""
    think: tuple[float, float] = (1.0, 5.0)
    cities: list[CityPlan] = field(default_factory=list)
    next_city: itertools.count[int] = field(default_factory=itertools.count)
    next_user: itertools.count[int] = field(default_factory=itertools.count)
    desks: dict[int, Desk] = field(default_factory=dict)
    started: float = 0.0
    # Results.
    samples: list[tuple[str, float, bool, float]] = field(default_factory=list)  # kind, ms, ok, offset s
    errors: dict[str, int] = field(default_factory=dict)
    saves: list[dict[str, Any]] = field(default_factory=list)
    submits: list[dict[str, Any]] = field(default_factory=list)
    unacknowledged: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[dict[str, Any]] = field(default_factory=list)
    gave_up: list[dict[str, Any]] = field(default_factory=list)

    def claim_city(self) -> CityPlan | None:
        number = next(self.next_city)
        return self.cities[number] if number < len(self.cities) else None

    def error(self, kind: str, reason: str) -> None:
        key = f"{kind}: {reason}"
        self.errors[key] = self.errors.get(key, 0) + 1


RUN = Run()


def load_plan(path: str) -> tuple[str, list[CityPlan]]:
    with open(path, encoding="utf-8") as handle:  # noqa: PTH123
        data = json.load(handle)
    cities = [
        CityPlan(
            code=city["code"],
            reporter=city["reporter"],
            approver=city["approver"],
            submissions=[
                SubmissionPlan(pk=s["pk"], label=s["label"], items=[(code, value) for code, value in s["items"]])
                for s in city["submissions"]
            ],
        )
        for city in data["cities"]
    ]
    return str(data["password"]), cities


# --- the simulated person -----------------------------------------------------------------------------------


class CityPerson(FastHttpUser):
    """A city's reporter or approver (by spawn order: even → reporter, odd → its approver)."""

    wait_time = constant(0)  # the think time is spent inside the flows, where a person pauses
    network_timeout = 60.0
    connection_timeout = 10.0
    default_headers = {
        "Accept-Language": "zh-CN,zh;q=0.9",
        "User-Agent": "infocity-bench-deadline (locust)",
    }

    def on_start(self) -> None:
        number = next(RUN.next_user)
        self.reporter = number % 2 == 0
        self.desk = RUN.desks.setdefault(number // 2, Desk())
        self.logged_in_as = ""
        self.csrf = ""
        self.city: CityPlan | None = None
        self.todo: list[tuple[SubmissionPlan, int]] = []
        self.origin = (self.host or "").rstrip("/")

    # -- helpers -----------------------------------------------------------------------------------------------

    def think(self, scale: float = 1.0) -> None:
        low, high = RUN.think
        gevent.sleep(random.uniform(low, high) * scale)  # noqa: S311 — think time, not security

    def page(self, url: str, kind: str) -> str:
        """GET a page as the browser does; the CSRF token of its forms is kept for the next post."""
        with self.client.get(url, name=kind, catch_response=True, allow_redirects=False) as response:
            text = response.text or ""
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                RUN.error(kind, f"HTTP {response.status_code}")
                return ""
            response.success()
        token = CSRF_INPUT.search(text)
        if token:
            self.csrf = token.group(1)
        return text

    def post(self, url: str, fields: list[tuple[str, str]], kind: str, htmx: bool = False) -> Any:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin}
        if htmx:
            headers |= {"HX-Request": "true", "X-CSRFToken": self.csrf, "HX-Current-URL": f"{self.origin}{url}"}
        return self.client.post(
            url,
            data=urlencode(fields),
            headers=headers,
            name=kind,
            catch_response=True,
            allow_redirects=False,
        )

    def login(self, username: str) -> bool:
        if self.logged_in_as:
            self.logout()
        if not self.page("/accounts/login/", "GET /accounts/login/"):
            return False
        fields = [("csrfmiddlewaretoken", self.csrf), ("next", ""), ("username", username),
                  ("password", RUN.password)]  # fmt: skip
        with self.post("/accounts/login/", fields, "POST /accounts/login/") as response:
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code != 302 or "/accounts/login/" in location:
                response.failure(f"login refused (HTTP {response.status_code})")
                RUN.error("POST /accounts/login/", f"login refused (HTTP {response.status_code})")
                return False
            response.success()
        self.logged_in_as = username
        self.page("/", "GET / (home)")
        return True

    def logout(self) -> None:
        with self.post("/accounts/logout/", [("csrfmiddlewaretoken", self.csrf)], "POST /accounts/logout/") as r:
            if r.status_code != 302:
                r.failure(f"HTTP {r.status_code}")
                RUN.error("POST /accounts/logout/", f"HTTP {r.status_code}")
            else:
                r.success()
        self.client.cookiejar.clear()
        self.logged_in_as = ""

    # -- the two people ----------------------------------------------------------------------------------------

    @task
    def work(self) -> None:
        if self.reporter:
            self.report()
        else:
            self.approve()

    def report(self) -> None:
        """Take the next city, fill in every open submission of it and hand each to the approver. A request that
        failed is retried the way a person would: open the page again and go on from what it shows."""
        if self.city is None:
            self.city = RUN.claim_city()
            if self.city is None:  # every city of the plan is taken: the person has nothing left to do today
                if self.logged_in_as:
                    self.logout()
                self.desk.ready.put(None)
                raise StopUser
            self.todo = [(submission, MAX_TRIES) for submission in self.city.submissions]
        city = self.city
        if self.logged_in_as != city.reporter:
            if not self.login(city.reporter):
                self.think()
                return
            self.think()
            self.page("/reporting/", "GET /reporting/ (queue)")
        while self.todo:
            submission, tries = self.todo[0]
            self.think()
            if self.fill(city, submission):
                self.desk.ready.put(Ready(city, submission))
            elif tries > 1:
                self.todo[0] = (submission, tries - 1)
                continue
            else:
                RUN.gave_up.append({"submission": submission.pk, "user": city.reporter, "kind": "fill"})
            self.todo.pop(0)
        self.think()
        self.logout()
        self.city = None

    def fill(self, city: CityPlan, submission: SubmissionPlan) -> bool:
        url = f"/reporting/submissions/{submission.pk}/"
        text = self.page(url, "GET entry page")
        found = BASE_VERSION.search(text)
        if not found:
            RUN.error("GET entry page", "no entry form on the page")
            return False
        base = found.group(1)
        # What the page already shows (an earlier attempt) is not typed again.
        typed = {code: value for code, value in SHOWN_VALUE.findall(text) if value}
        explanations = {code: value for code, value in SHOWN_EXPLANATION.findall(text) if value}
        pending = [(code, value) for code, value in submission.items if code not in typed]
        while pending:
            code, value = pending.pop(0)
            self.think()
            if code.startswith("explain:"):
                explanations[code.removeprefix("explain:")] = value
            else:
                typed[code] = value
            fields = [("csrfmiddlewaretoken", self.csrf), ("base_version", base)]
            fields += [(f"value-{c}", typed.get(c, "")) for c, _v in submission.items if not c.startswith("explain:")]
            fields += [(f"explain-{c}", text) for c, text in explanations.items()]
            answer = self.save(city, submission, fields, dict(typed), dict(explanations))
            if answer is None:
                return False
            base, revealed = answer
            for revealed_code in revealed:  # a warning: the person writes the explanation the box asks for
                if revealed_code not in explanations and (f"explain:{revealed_code}", EXPLANATION) not in pending:
                    explanations[revealed_code] = ""  # the box is visible (posted, empty) until typed into
                    pending.insert(0, (f"explain:{revealed_code}", EXPLANATION))
            check_fields = [(k, v) for k, v in fields if k != "base_version"]
            with self.post(f"{url}check/", check_fields, "POST check (inline validation)", htmx=True) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")
                    RUN.error("POST check (inline validation)", f"HTTP {response.status_code}")
                else:
                    response.success()
        return True

    def save(
        self,
        city: CityPlan,
        submission: SubmissionPlan,
        fields: list[tuple[str, str]],
        typed: dict[str, str],
        explanations: dict[str, str],
    ) -> tuple[str, list[str]] | None:
        """One autosave; the new base version and the explanation boxes the answer reveals, or None."""
        kind = "POST save (autosave)"
        url = f"/reporting/submissions/{submission.pk}/save/"
        attempt = {"submission": submission.pk, "user": city.reporter, "values": typed, "explanations": explanations}
        with self.post(url, fields, kind, htmx=True) as response:
            text = response.text or ""
            acknowledged = SAVE_ACK.search(text) if response.status_code == 200 else None
            version = BASE_VERSION.search(text)
            if acknowledged is None or version is None or 'data-testid="conflicts"' in text:
                reason = (
                    f"HTTP {response.status_code}" if response.status_code != 200 else "no 已自动保存 in the answer"
                )
                response.failure(reason)
                RUN.error(kind, reason)
                RUN.unacknowledged.append({**attempt, "kind": "save", "reason": reason})
                return None
            response.success()
        RUN.saves.append({**attempt, "version": int(acknowledged.group(1))})
        return version.group(1), REVEALED.findall(text)

    def approve(self) -> None:
        """Wait at the work queue for a filled submission of the city, then approve it and send it on."""
        try:
            ready = self.desk.ready.get(timeout=IDLE_WAIT_SECONDS)
        except Empty:
            if self.logged_in_as:
                self.page("/reporting/", "GET /reporting/ (queue)")
            return
        if ready is None:  # the reporter has no city left
            if self.logged_in_as:
                self.logout()
            raise StopUser
        if self.logged_in_as != ready.city.approver and not self.login(ready.city.approver):
            self.retry(ready)
            return
        self.page("/reporting/", "GET /reporting/ (queue)")
        self.think()
        if not self.approve_one(ready):
            self.retry(ready)

    def retry(self, ready: Ready) -> None:
        if ready.tries > 1:
            ready.tries -= 1
            self.desk.ready.put(ready)
        else:
            RUN.gave_up.append({"submission": ready.submission.pk, "user": ready.city.approver, "kind": "approve"})

    def approve_one(self, ready: Ready) -> bool:
        """Open the submission and press 审核通过并报送省级; False when a request failed (worth trying again)."""
        url = f"/reporting/submissions/{ready.submission.pk}/"
        text = self.page(url, "GET entry page")
        if not text:
            return False
        version = APPROVE_VERSION.search(text)
        attempt = {"submission": ready.submission.pk, "user": ready.city.approver}
        if version is None:  # errors or unexplained warnings, or an earlier unanswered attempt went through
            blockers = BLOCKERS.search(text)
            reason = f"{blockers.group(1)} problems block approval" if blockers else "no 审核通过并报送省级 button"
            RUN.blocked.append({**attempt, "reason": reason})
            return True
        self.think()  # reads the page before pressing the button
        fields = [("csrfmiddlewaretoken", self.csrf), ("expected_version", version.group(1)),
                  ("action", "approve_and_submit")]  # fmt: skip
        kind = "POST act approve_and_submit"
        with self.post(f"{url}act/", fields, kind) as response:
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code != 302:
                response.failure(f"HTTP {response.status_code}")
                RUN.error(kind, f"HTTP {response.status_code}")
                RUN.unacknowledged.append({**attempt, "kind": "submit", "reason": f"HTTP {response.status_code}"})
                return False
            response.success()
        shown = self.page(location or url, "GET entry page after the action")
        if SUBMITTED_MESSAGE not in shown:
            if shown:
                RUN.error(kind, "the page after the action shows no success")
            RUN.unacknowledged.append({**attempt, "kind": "submit", "reason": "no success message"})
            return False
        RUN.submits.append(attempt)
        return True


# --- running ------------------------------------------------------------------------------------------------


def on_request(
    request_type: str, name: str, response_time: float, response_length: int, exception: Any = None, **_: Any
) -> None:
    RUN.samples.append((name, response_time, exception is None, time.monotonic() - RUN.started))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="deadline-day users (run by bench/deadline.py)")
    parser.add_argument("--plan", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--spawn-seconds", type=float, default=50)
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    RUN.password, RUN.cities = load_plan(args.plan)
    RUN.think = (args.think_min, args.think_max)

    environment = Environment(user_classes=[CityPerson], host=args.host)
    environment.events.request.add_listener(on_request)  # type: ignore[no-untyped-call]
    runner = environment.create_local_runner()
    RUN.started = time.monotonic()
    runner.start(args.users, spawn_rate=args.users / max(args.spawn_seconds, 1.0))
    gevent.spawn_later(args.duration, runner.quit)
    runner.greenlet.join()
    elapsed = time.monotonic() - RUN.started
    exceptions = [f"{e['count']}× {e['msg']}" for e in runner.exceptions.values()]
    result = {
        "elapsed": elapsed,
        "users": args.users,
        "samples": RUN.samples,
        "errors": RUN.errors,
        "exceptions": exceptions,
        "saves": RUN.saves,
        "submits": RUN.submits,
        "unacknowledged": RUN.unacknowledged,
        "blocked": RUN.blocked,
        "gave_up": RUN.gave_up,
        "cities_started": min(next(RUN.next_city), len(RUN.cities)),
        "cities_planned": len(RUN.cities),
        "cpu_warning": bool(getattr(runner, "cpu_warning_emitted", False)),
        "cpu_seconds": resource.getrusage(resource.RUSAGE_SELF).ru_utime
        + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
    }
    with open(args.out, "w", encoding="utf-8") as handle:  # noqa: PTH123
        json.dump(result, handle, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
