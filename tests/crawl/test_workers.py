"""Lease owners: a worker's identity, and "certainly dead" only when it is."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from keepdown.crawl.workers import WorkerId, known_dead, this_worker


def _me() -> WorkerId:
    me = WorkerId.parse(this_worker())
    assert me is not None
    return me


def test_this_worker_names_this_process():
    me = _me()
    assert me.pid == os.getpid()
    assert str(me) == this_worker()
    assert len(this_worker()) <= 200
    if os.path.isdir("/proc"):
        assert me.boot
        assert me.pid_namespace
        assert me.started
    assert not known_dead(this_worker())


def test_a_killed_process_is_known_dead_a_running_one_is_not():
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from keepdown.crawl.workers import this_worker as t; "
            "print(t(), flush=True); import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        owner = child.stdout.readline().strip()
        assert WorkerId.parse(owner).pid == child.pid
        assert not known_dead(owner)
    finally:
        child.kill()
        child.wait(10)
    if os.path.isdir("/proc"):
        assert known_dead(owner)


def test_a_reused_process_id_is_dead_the_owner_it_named():
    me = _me()
    if not me.started:
        return  # no /proc: reuse cannot be told, and the answer is "not known" (tested below)
    reused = replace(me, started=str(int(me.started) - 1))  # same id, started at another time
    assert known_dead(str(reused))


def test_only_what_is_certain_counts():
    me = _me()
    assert known_dead(str(replace(me, boot="an-earlier-boot")))  # this machine rebooted
    assert not known_dead(str(replace(me, host="another-host", pid=999_999_999)))
    assert not known_dead(str(replace(me, pid_namespace="pid:[1]", pid=999_999_999)))
    assert not known_dead(str(replace(me, started="", pid=999_999_999)))  # no start time known
    for garbage in ("", "someone", "a/b/c/not-a-pid/e", "/".join(["x"] * 9)):
        assert not known_dead(garbage)
    gone = replace(me, pid=2**22 + 12345)  # above pid_max's default: no such process
    assert known_dead(str(gone)) == bool(me.started)
    assert not known_dead(str(gone), proc=Path("/nonexistent"))  # no /proc: cannot tell
