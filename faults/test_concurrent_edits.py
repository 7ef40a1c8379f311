"""Two people edit the same submission at the same moment, from the same version of its page: the city's reporter
and its approver, each signed in through the login page, their autosaves posted together (a barrier releases both
requests at once) to the platform under gunicorn. Whoever is second must not overwrite the first silently: on the
same item exactly one value is saved and the other person is shown the conflict, with their value kept as a version
of its own (README, "Reporting"); on different items both are saved. Two clicks on the same workflow action at
once act once. On SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from .clients import Browser, EntryPage, call
from .harness import Cluster, Databases, PostgresDatabases, SqliteDatabases, gunicorn, platform_env, step, steps
from .steps import PASSWORD

ROUNDS = 9  # submissions edited by both at once: two in three on the same item, the rest on different items
CONFLICT = 'data-testid="conflicts"'


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, databases: tuple[Databases, str], scratch: Path) -> str:
    """A dedicated database: an SQLite file, or a PostgreSQL database — beside the one ``DATABASE_URL`` names, or
    on the tests' own cluster when ``DATABASE_URL`` is SQLite."""
    found, prefix = databases
    if request.param == "sqlite":
        return SqliteDatabases(scratch).create("faults_edits")
    if found.vendor == "postgresql":
        return found.create(f"{prefix}_edits")
    cluster: Cluster = request.getfixturevalue("cluster")
    return PostgresDatabases(cluster.url).create("infocity_edits")


def at_once(*calls: Callable[[threading.Barrier], Any]) -> list[Any]:
    """Run the calls in threads of their own, released together by a barrier just before each sends its request."""
    start = threading.Barrier(len(calls))
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda made: made(start), calls))


def test_two_people_saving_the_same_submission_at_once_never_lose_an_update(database_url: str, scratch: Path) -> None:
    env = platform_env(database_url, scratch)
    person = step(env, "setup", "--cities=1", "--accounts=1", "--tokens")["people"][0]
    monthly = [s for s in person["submissions"] if s["form"] == "M"]
    rounds = monthly[:ROUNDS]
    answers: list[tuple[str, str]] = []
    with gunicorn(env, scratch / f"gunicorn-edits-{database_url.split(':')[0]}.log", workers=2, threads=2) as base:
        reporter = Browser(base, person["reporter"], PASSWORD).sign_in()
        approver = Browser(base, person["approver"], PASSWORD).sign_in()
        for number, submission in enumerate(rounds):
            pages: list[EntryPage] = [reporter.open(submission["id"]), approver.open(submission["id"])]
            assert pages[0].base_version == pages[1].base_version == 0
            same = number % 3 != 2
            mine = {"FBB_USERS": str(100_000 + number)}
            theirs = {"FBB_USERS": str(200_000 + number)} if same else {"MOBILE_USERS": str(300_000 + number)}
            saved = at_once(
                *[partial(page.autosave, changes) for page, changes in zip(pages, [mine, theirs], strict=True)]
            )
            answers.append((saved[0], saved[1]))

        # The approver's button pressed twice at once (two tabs, a double click): one approval. First a whole
        # form with no earlier period is filled through the API, so that the approval has nothing to object to.
        last = next(s for s in person["submissions"] if s["form"] == "Q")
        rows = [{"submission": last["id"], "item": code, "value": value} for code, value in last["values"].items()]
        written = call(base, person["reporter_token"], "/api/v1/values", {"values": rows}, "full-form")
        assert written.status == 200, written.answer
        version = written.answer["submissions"][0]["version"]
        path = f"/api/v1/submissions/{last['id']}/approve-city"

        def approve(start: threading.Barrier) -> Any:
            start.wait(timeout=30)
            return call(base, person["approver_token"], path, {"expected_version": version})

        clicks = at_once(approve, approve)

    histories = steps(env, *[f"versions:{s['id']}" for s in [*rounds, last]])
    for number, ((mine_answer, theirs_answer), history) in enumerate(zip(answers, histories, strict=False)):
        same = number % 3 != 2
        saves = [v for v in history["history"] if v["action"] == "save" and v["applied"]]
        conflicts = [v for v in history["history"] if v["action"] == "conflict"]
        if not same:  # different items: both saved, nobody told of a conflict
            assert CONFLICT not in mine_answer and CONFLICT not in theirs_answer
            assert history["values"] == {"FBB_USERS": str(100_000 + number), "MOBILE_USERS": str(300_000 + number)}
            assert len(saves) == 2 and not conflicts, history
            continue
        # the same item: exactly one saved, the other told and kept as a version
        assert (CONFLICT in mine_answer) != (CONFLICT in theirs_answer), (mine_answer[:300], theirs_answer[:300])
        values = {person["reporter"]: str(100_000 + number), person["approver"]: str(200_000 + number)}
        winner, loser = (person["approver"], person["reporter"]) if CONFLICT in mine_answer else (
            person["reporter"], person["approver"])  # fmt: skip
        told = mine_answer if loser == person["reporter"] else theirs_answer
        assert values[winner] in told and values[loser] in told  # "他人保存的数值" beside "您填写的数值"
        assert history["values"] == {"FBB_USERS": values[winner]}, history
        assert [(v["actor"], v["values"]) for v in saves] == [(winner, {"FBB_USERS": values[winner]})], history
        assert [(v["actor"], v["applied"], v["values"]["FBB_USERS"]) for v in conflicts] == [
            (loser, False, values[loser])
        ], history
        assert history["version"] == 2

    statuses = sorted((c.status, c.answer.get("code", "")) for c in clicks)
    assert statuses == [(200, ""), (409, "already_done")], [(c.status, c.answer) for c in clicks]
    approvals = [v for v in histories[-1]["history"] if v["action"] == "approve_city"]
    assert len(approvals) == 1 and histories[-1]["status"] == "city_approved", histories[-1]
    same_rounds = sum(number % 3 != 2 for number in range(len(rounds)))
    print(f"\nconcurrent edits on {database_url.split(':')[0]}: {same_rounds} rounds on the same item (one saved, "
          f"one conflict kept), {len(rounds) - same_rounds} on different items (both saved); double approval: "
          f"{statuses}")  # fmt: skip
