"""PostgreSQL restarted under a load of API writes: the platform under gunicorn against a cluster of the test's own,
city clients writing data values (``POST /api/v1/values`` with an ``Idempotency-Key``) and approvers sending them to
the province, while the server is restarted (``pg_ctl restart -m fast``) and later stopped abruptly
(``-m immediate``, a crash: recovery from the WAL) and started again after a pause.

What must hold: every write a client was told succeeded (2xx) is stored, exactly once, with the values sent; a
request that met the outage got a prompt error in the API's JSON shape, never a hang; once the database is back,
requests succeed again at once; a client that sends the same request again with the same key gets the first answer
and nothing is written twice. ``CONN_MAX_AGE=0``: every request opens its own connection, so none can reuse a
connection the restart cut (a persistent connection that sat idle through the outage would fail the first request
that uses it afterwards, since the settings do not turn on ``CONN_HEALTH_CHECKS``).

Skipped only when the PostgreSQL server binaries are missing."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .clients import Call, call, is_error_shape
from .harness import Cluster, PostgresDatabases, gunicorn, platform_env, step

CITIES = 8  # one client per city; each writes its months one submission at a time and sends the monthly form
HANG = 30.0  # seconds: an answer slower than this counts as a hang
BACK_OFF = 0.5  # seconds a client waits after an error before its next request


class Load:
    """The clients: one thread per city, writing until told to stop or out of submissions."""

    def __init__(self, base: str, people: list[dict[str, Any]]) -> None:
        self.base = base
        self.people = people
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(p,), daemon=True) for p in people]

    def _keep(self, made: Call) -> Call:
        with self.lock:
            self.calls.append(made)
        return made

    def _client(self, person: dict[str, Any]) -> None:
        for submission in person["submissions"]:
            if self.stop.is_set():
                return
            rows = [{"submission": submission["id"], "item": code, "value": value}
                    for code, value in submission["values"].items()]  # fmt: skip
            key = f"{person['city']}-{submission['period']}-{submission['form']}"
            written = self._keep(call(self.base, person["reporter_token"], "/api/v1/values", {"values": rows}, key))
            if not written.acknowledged:
                time.sleep(BACK_OFF)  # a client waits a moment after an error (it tries again at the end)
            elif submission["form"] == "M":
                version = written.answer["submissions"][0]["version"]
                sent = self._keep(call(self.base, person["approver_token"],
                                       f"/api/v1/submissions/{submission['id']}/submit",
                                       {"expected_version": version}))  # fmt: skip
                if not sent.acknowledged:
                    time.sleep(BACK_OFF)

    def acknowledged(self) -> int:
        with self.lock:
            return sum(c.acknowledged for c in self.calls)

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.acknowledged() < count:
            assert time.monotonic() < deadline, f"only {self.acknowledged()} requests acknowledged"
            assert any(t.is_alive() for t in self.threads), "the clients ran out of work before the outage"
            time.sleep(0.05)


def test_every_acknowledged_write_survives_a_postgresql_restart_and_retries_write_nothing_twice(
    cluster: Cluster, scratch: Path
) -> None:
    databases = PostgresDatabases(cluster.url)
    env = platform_env(databases.create("infocity"), scratch)
    made = step(env, "setup", f"--cities={CITIES}", f"--accounts={CITIES}", "--tokens")
    people = made["people"]

    outages: list[tuple[float, float]] = []  # (database gone, database back)
    with gunicorn(env, scratch / "gunicorn-restart.log") as base:
        load = Load(base, people)
        for thread in load.threads:
            thread.start()
        load.wait_for(40)
        gone = time.monotonic()
        cluster.restart("fast")  # every session cut, then a clean start
        outages.append((gone, time.monotonic()))
        load.wait_for(load.acknowledged() + 40)
        gone = time.monotonic()
        cluster.stop("immediate")  # a crash: no checkpoint, no goodbye to the sessions
        time.sleep(3)
        cluster.start()  # recovers from the WAL
        outages.append((gone, time.monotonic()))
        load.wait_for(load.acknowledged() + 40)
        load.stop.set()
        for thread in load.threads:
            thread.join(timeout=120)

        calls = list(load.calls)
        problems = outage_problems(calls, outages)
        final, resent = retry(base, people, calls, problems)

    log = scratch / "restart-calls.json"
    records = [c.record() for c in final.values()]
    records += [c.record() for c in calls if c.kind == "submit" and (c.acknowledged or _already_done(c))]
    log.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    checked = step(env, f"verify-writes:{log}")
    problems += checked["problems"]
    if not checked["audit_chain_ok"]:
        problems.append("the audit log's hash chain does not verify")
    if checked["idempotent_answers"] != len(final):
        problems.append(f"{checked['idempotent_answers']} stored answers for {len(final)} keys")
    kinds = Counter(f"{c.kind} {c.status}" for c in load.calls)
    print(f"\nPostgreSQL restart: {len(load.calls)} requests during the load ({dict(kinds)}); "
          f"outages {[round(b - g, 1) for g, b in outages]} s; resent {dict(resent)}; "
          f"{checked['acknowledged_writes']} writes, {checked['acknowledged_submits']} submits verified")  # fmt: skip
    assert not problems, "\n".join(problems)


def outage_problems(calls: list[Call], outages: list[tuple[float, float]]) -> list[str]:
    """What the clients saw during the load that they should not have. A request may fail only if it was on its
    way while the database was away (or within half a second of its return)."""
    problems = []
    failed = [c for c in calls if not c.acknowledged]
    if not [c for c in failed if c.status >= 500 or c.status == 0]:
        problems.append("no request met the outage: the test did not test anything")
    unanswered = [f"{c.kind} {c.key}: {c.error}" for c in failed if c.status == 0]
    if unanswered:
        problems.append(f"{len(unanswered)} requests got no answer, e.g. {unanswered[:3]}")
    hung = [f"{c.kind} {c.key}: {c.elapsed:.1f} s" for c in calls if c.elapsed >= HANG]
    if hung:
        problems.append(f"{len(hung)} requests hung, e.g. {hung[:3]}")
    shapes = Counter(f"{c.status} {c.content_type}" for c in failed if c.status and not is_error_shape(c.answer))
    if shapes:
        problems.append(f"{sum(shapes.values())} errors not in the API's JSON error shape: {dict(shapes)}")
    refused = [f"{c.kind} {c.key}: {c.status} {c.answer}" for c in failed if 0 < c.status < 500]
    if refused:
        problems.append(f"{len(refused)} requests refused (not an outage error), e.g. {refused[:3]}")
    late = [
        f"{c.kind} {c.key}: {c.status}"
        for c in failed
        if not any(c.started <= back + 0.5 and c.started + c.elapsed >= gone for gone, back in outages)
    ]
    if late:
        problems.append(f"{len(late)} requests failed while the database was up, e.g. {late[:3]}")
    return problems


def retry(
    base: str, people: list[dict[str, Any]], calls: list[Call], problems: list[str]
) -> tuple[dict[str, Call], Counter[str]]:
    """The clients try again what failed, with the same key and body (a submit with the same version): each is
    done once — answered by its first result if it had in fact been applied. Then every acknowledged write is sent
    again with its key: the same answer, nothing new. The values requests by key, with their final answers."""
    final = {c.key: c for c in calls if c.kind == "values"}
    resent = Counter[str]()
    for person in people:
        tokens = {"values": person["reporter_token"], "submit": person["approver_token"]}
        for earlier in [c for c in calls if not c.acknowledged and c.submission in _ids(person)]:
            path = "/api/v1/values" if earlier.kind == "values" else f"/api/v1/submissions/{earlier.submission}/submit"
            again = call(base, tokens[earlier.kind], path, earlier.body, earlier.key)
            resent[f"{earlier.kind} {again.status}"] += 1
            if earlier.kind == "values":
                final[earlier.key] = again
                if again.status != 200:
                    problems.append(f"values {earlier.key} sent again: {again.status} {again.answer}")
            else:  # done by the first attempt after all (409 already done), or now
                calls.append(again)
                if not (again.acknowledged or _already_done(again)):
                    problems.append(f"submit {earlier.submission} sent again: {again.status} {again.answer}")
    for first in [c for c in calls if c.kind == "values" and c.acknowledged]:
        replay = call(base, _token_of(people, first.submission), "/api/v1/values", first.body, first.key)
        if (replay.status, replay.answer) != (first.status, first.answer):
            problems.append(f"values {first.key} replayed: {replay.status} {replay.answer} ≠ first answer")
    return final, resent


def _already_done(made: Call) -> bool:
    return made.status == 409 and isinstance(made.answer, dict) and made.answer.get("code") == "already_done"


def _ids(person: dict[str, Any]) -> set[int]:
    return {s["id"] for s in person["submissions"]}


def _token_of(people: list[dict[str, Any]], submission: int) -> str:
    return next(str(p["reporter_token"]) for p in people if submission in _ids(p))
