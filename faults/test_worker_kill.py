"""The task worker killed with SIGKILL at a random moment of a large import (a province's file of 29,760 values,
checked and applied by ``manage.py db_worker``): the database holds all of the import or none of it, never a
duplicate; the import does not claim to be applied when it is not; the audit log matches what is stored; and when
the user does it again — presses 导入 again once the import says it was interrupted, or uploads the same file again
— the result is exactly that of a clean run, with nothing written twice.

A killed worker is replaced at once by a fresh one, as systemd restarts the service. Each run starts from a copy of
the same database, so the runs are independent; the moment of the kill is drawn from the seeded generator
(``FAULTS_SEED``) within the duration of the clean run's apply (or check)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .harness import Databases, Platform, Worker, platform_env, step

KILL_RUNS = int(os.environ.get("FAULTS_KILL_RUNS", "10"))
CHECK_KILL_RUNS = int(os.environ.get("FAULTS_CHECK_KILL_RUNS", "2"))
CITIES = 40  # × 12 months × 62 items = 29,760 values: seconds of applying, all by the worker
APPLY = "apply_import_task"
CHECK = "check_import_task"


@dataclass
class Reference:
    base: str  # the world, nothing uploaded
    checked: str  # … and the file uploaded and checked, waiting for 导入
    import_id: int
    file: Path
    scratch: Path
    state: dict[str, Any]
    check_seconds: float
    apply_seconds: float


@pytest.fixture(scope="module")
def reference(databases: tuple[Databases, str], scratch: Path) -> Reference:
    """The world, the file checked by a worker, then a clean apply to completion: what every run must end with."""
    found, prefix = databases
    base, checked, clean = f"{prefix}_base", f"{prefix}_checked", f"{prefix}_clean"
    file = scratch / "全省填报数据.csv"
    made = step(platform_env(found.create(base), scratch), "setup", f"--cities={CITIES}", f"--import-csv={file}")
    assert made["rows"] == CITIES * 12 * 62

    env = platform_env(found.create(checked, template=base), scratch)
    queued = step(env, f"upload:{file}")
    assert queued["status"] == "queued"  # larger than BULK_BACKGROUND_KB: the worker checks it
    worker = Worker(env, scratch / "worker-reference.log").start()
    try:
        check_seconds = worker.wait_for(CHECK, "SUCCESSFUL") - worker.wait_for(CHECK, "RUNNING")
    finally:
        worker.stop()

    env = platform_env(found.create(clean, template=checked), scratch)
    applying = step(env, f"apply:{queued['import']}")
    assert applying["status"] == "applying"  # more than BULK_BACKGROUND_CHANGES: the worker applies it
    worker = Worker(env, scratch / "worker-reference.log").start()
    try:
        apply_seconds = worker.wait_for(APPLY, "SUCCESSFUL") - worker.wait_for(APPLY, "RUNNING")
    finally:
        worker.stop()
    state = step(env, "state")
    assert state["values"]["count"] == made["rows"] and state["values"]["duplicates"] == 0
    assert state["imports"][0]["status"] == "applied" and state["versions"]["saves_per_submission"] == [1]
    found.drop(clean)
    print(f"\nclean run on {found.vendor}: check {check_seconds:.1f} s, apply {apply_seconds:.1f} s "
          f"({made['rows']:,} values)")  # fmt: skip
    return Reference(base, checked, queued["import"], file, scratch, state, check_seconds, apply_seconds)


@dataclass
class Run:
    """One run: its own copy of the database, the platform's pages (a :class:`Platform`) and its worker."""

    reference: Reference
    kind: str
    databases: Databases
    name: str
    env: dict[str, str]
    platform: Platform
    worker: Worker

    def start_worker(self, suffix: str) -> Worker:
        self.worker = Worker(self.env, self.reference.scratch / f"worker-{self.kind}-{suffix}.log").start()
        return self.worker

    def kill_worker(self) -> Worker:
        """SIGKILL the worker now and start a fresh one, as systemd restarts the service (once the killed
        worker's database session is gone, so that what is read next is what the database kept)."""
        self.worker.kill()
        self.databases.wait_idle(self.name)
        return self.start_worker("restarted")

    def finish_by_upload_again(self) -> int:
        """The user uploads the same file again, waits for its check and presses 导入; the new import's id."""
        checks, applies = self.worker.count(CHECK, "SUCCESSFUL"), self.worker.count(APPLY, "SUCCESSFUL")
        again = self.platform.one(f"upload:{self.reference.file}")
        self.worker.wait_for(CHECK, "SUCCESSFUL", count=checks + 1)
        pressed = self.platform.one(f"apply:{again['import']}")
        if pressed["status"] == "applying":  # nothing was written before the kill: the whole import again
            self.worker.wait_for(APPLY, "SUCCESSFUL", count=applies + 1)
        else:  # all was written before the kill: the same file again changes nothing, and is done at once
            assert pressed["status"] == "applied", pressed
        return int(again["import"])


@contextmanager
def fresh_run(reference: Reference, databases: tuple[Databases, str], kind: str) -> Iterator[Run]:
    """A copy of the database — checked and waiting for 导入 (``applying``), or with nothing uploaded yet
    (``checking``) — with the platform and a worker on it; all stopped and dropped afterwards."""
    found, prefix = databases
    name = f"{prefix}_{kind}_run"
    env = platform_env(found.create(name, template=reference.checked if kind == "applying" else reference.base),
                       reference.scratch)  # fmt: skip
    platform = Platform(env, reference.scratch / f"platform-{kind}.log")
    worker = Worker(env, reference.scratch / f"worker-{kind}.log").start()
    made = Run(reference, kind, found, name, env, platform, worker)
    try:
        yield made
    finally:
        made.worker.stop()
        platform.close()
        found.drop(name)


@pytest.fixture
def applying(reference: Reference, databases: tuple[Databases, str]) -> Iterator[Run]:
    with fresh_run(reference, databases, "applying") as made:
        yield made


@pytest.fixture
def checking(reference: Reference, databases: tuple[Databases, str]) -> Iterator[Run]:
    with fresh_run(reference, databases, "checking") as made:
        yield made


def assert_all_or_nothing(after: dict[str, Any], reference: Reference, import_id: int) -> bool:
    """The state right after the kill: all of the import or none of it. True when all of it is there."""
    values, clean = after["values"], reference.state["values"]
    assert after["integrity"] == "ok" and after["audit_chain"]["ok"], after
    assert values["duplicates"] == 0
    status = {i["id"]: i["status"] for i in after["imports"]}[import_id]
    saves = after["audit"]["submission.save"]
    if values["count"] == 0:
        assert after["versions"]["count"] == 0 and not saves, after
        assert status != "applied" and after["audit"]["bulk.import"] == [], after
        return False
    assert values == clean, "part of the import was left after the kill"
    assert after["versions"]["digest"] == reference.state["versions"]["digest"]
    assert status == "applied" and after["audit"]["bulk.import"] == [import_id]
    assert saves == {f"import:{import_id}": clean["submissions"]}
    return True


def assert_as_clean_run(final: dict[str, Any], reference: Reference, queued: dict[str, int]) -> None:
    """Exactly the clean run's data and history: the same values, one save version per submission, one import
    that wrote them with its audit events, every other import failed (or, uploaded again after all was written,
    applied at once with nothing to change), and the worker given each check and apply exactly ``queued`` times."""
    assert final["integrity"] == "ok" and final["audit_chain"]["ok"], final
    assert final["values"] == reference.state["values"]
    assert final["versions"] == reference.state["versions"]
    applied = [i for i in final["imports"] if i["status"] == "applied"]
    writing = [i["id"] for i in applied if i["changes"]]
    assert len(writing) == 1, final["imports"]
    assert all(i["status"] == "failed" for i in final["imports"] if i not in applied), final["imports"]
    assert final["audit"]["bulk.import"] == sorted(i["id"] for i in applied)
    assert final["audit"]["submission.save"] == {f"import:{writing[0]}": reference.state["values"]["submissions"]}
    tasks = final["tasks"]
    assert not [t for t in tasks if t.endswith("READY")], tasks
    for task, count in queued.items():
        assert sum(n for t, n in tasks.items() if t.startswith(task)) == count, (task, tasks)


def report(kind: str, number: int, seed: int, delay: float, written: bool, recovery: str, seconds: float) -> None:
    outcome = "all of it written" if written else "nothing written"
    print(f"\n{kind} kill run {number} (seed {seed}): killed {delay:.2f} s into the task, {outcome}; "
          f"recovered by {recovery}; {seconds:.1f} s")  # fmt: skip


@pytest.mark.parametrize("number", range(1, KILL_RUNS + 1))
def test_a_worker_killed_while_applying_leaves_all_or_nothing_and_the_import_can_be_done_again(
    number: int, applying: Run, fault_seed: int
) -> None:
    started, run = time.monotonic(), applying
    reference, platform, import_id = run.reference, run.platform, run.reference.import_id
    rng = random.Random(f"{fault_seed}-apply-{number}")  # noqa: S311 — the moment of the kill
    delay = rng.uniform(0.02, 1.0) * reference.apply_seconds

    assert platform.one(f"apply:{import_id}")["status"] == "applying"
    time.sleep(max(0.0, run.worker.wait_for(APPLY, "RUNNING") + delay - time.monotonic()))
    worker = run.kill_worker()

    # Right after the kill the user presses 导入 again: the import still says "applying" (its worker is gone, but
    # nothing tells before BULK_STALLED_MINUTES), and nothing is queued or written again.
    after, again = platform.do("state", f"apply:{import_id}")
    written = assert_all_or_nothing(after, reference, import_id)
    assert again["status"] == ("applied" if written else "applying"), again
    if number % 3:  # back after the stall period: the import says it was interrupted; 导入 again
        recovery = "pressing 导入 again after BULK_STALLED_MINUTES"
        pressed = platform.one(f"apply-later:{import_id}")
        if not written:
            assert pressed["status"] == "applying" and "中断" in pressed["failure"], pressed
            worker.wait_for(APPLY, "SUCCESSFUL")
        queued = {APPLY: 1 if written else 2, CHECK: 1}
    else:  # at once, the same file again; later the interrupted import too (it must not write twice)
        recovery = "uploading the same file again"
        run.finish_by_upload_again()
        old = platform.one(f"apply-later:{import_id}")
        if not written:
            assert old["status"] == "applying", old  # back to "checked", pressed, queued …
            worker.wait_for(APPLY, "SUCCESSFUL", count=2)  # … and refused: its submissions have changed since
            shown = platform.one(f"look:{import_id}")
            assert shown["status"] == "failed" and "检查之后已被修改" in shown["failure"], shown
        queued = {APPLY: 1 if written else 3, CHECK: 2}
    assert_as_clean_run(platform.one("state"), reference, queued)
    report("apply", number, fault_seed, delay, written, recovery, time.monotonic() - started)


@pytest.mark.parametrize("number", range(1, CHECK_KILL_RUNS + 1))
def test_a_worker_killed_while_checking_writes_nothing_and_the_file_can_be_uploaded_again(
    number: int, checking: Run, fault_seed: int
) -> None:
    started, run = time.monotonic(), checking
    reference, platform = run.reference, run.platform
    rng = random.Random(f"{fault_seed}-check-{number}")  # noqa: S311
    delay = rng.uniform(0.02, 0.95) * reference.check_seconds

    import_id = platform.one(f"upload:{reference.file}")["import"]
    time.sleep(max(0.0, run.worker.wait_for(CHECK, "RUNNING") + delay - time.monotonic()))
    run.kill_worker()

    after = platform.one("state")
    assert after["values"]["count"] == 0 and after["versions"]["count"] == 0
    assert after["integrity"] == "ok" and after["audit_chain"]["ok"]
    interrupted = after["imports"][0]["status"] == "checking"  # else the check had just finished
    assert interrupted or after["imports"][0]["status"] == "checked", after["imports"]
    if number % 2:  # back after the stall period: the check says it was interrupted; the file uploaded again
        recovery = "uploading the file again after BULK_STALLED_MINUTES"
        shown = platform.one(f"look-later:{import_id}")
        assert not interrupted or (shown["status"] == "failed" and "检查中断" in shown["failure"]), shown
        run.finish_by_upload_again()
        queued = {CHECK: 2, APPLY: 1}
        if not interrupted:  # its import, checked before the kill, pressed now: refused, nothing written
            assert platform.one(f"apply:{import_id}")["status"] == "applying"
            run.worker.wait_for(APPLY, "SUCCESSFUL", count=2)
            queued[APPLY] = 2
    else:
        recovery = "uploading the same file again at once"
        run.finish_by_upload_again()
        shown = platform.one(f"apply-later:{import_id}")
        queued = {CHECK: 2, APPLY: 1}
        if interrupted:  # the page says the check was interrupted; 导入 is refused
            assert shown["status"] == "failed" and "检查中断" in shown["failure"] and "refused" in shown, shown
        else:
            assert shown["status"] == "applying", shown
            run.worker.wait_for(APPLY, "SUCCESSFUL", count=2)
            queued[APPLY] = 2
    final = platform.one("state")
    assert_as_clean_run(final, reference, queued)
    if interrupted:  # the half-checked plan is gone
        assert [i["entries"] for i in final["imports"] if i["id"] == import_id] == [0], final["imports"]
    report("check", number, fault_seed, delay, False, recovery, time.monotonic() - started)
