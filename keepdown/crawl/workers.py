"""Who holds a lease, and whether that worker is certainly dead.

A crawl worker writes its identity into every lease it takes (:func:`this_worker`). When a
worker is killed (``kill -9``, an out-of-memory kill, a power cut), its leases stay behind
until they expire. A worker started afterwards on the same machine can often tell at once that
the owner is gone, and take its leases back without waiting (:func:`known_dead`).

"Certainly dead" is all that matters: answering "dead" for a live worker would hand its URLs
to a second worker. So the identity names the machine's boot, the PID namespace, the process
id and the process's start time, and the answer is "dead" only when

- the owner ran on this machine in an earlier boot (the boot id differs, the host name is the
  same), or
- the owner ran on this machine in this boot and PID namespace, and no process has its id, or
  the process with its id started at another time (the id was reused).

Anything else (another machine, another container's PID namespace, a system without
``/proc``) is "not known": the lease simply expires.
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WorkerId", "known_dead", "this_worker"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class WorkerId:
    """A worker process, as written in ``crawl_urls.lease_owner`` (``str()``, at most 200)."""

    host: str
    boot: str
    pid_namespace: str
    pid: int
    started: str

    def __str__(self) -> str:
        return "/".join((self.host, self.boot, self.pid_namespace, str(self.pid), self.started))

    @classmethod
    def parse(cls, text: str) -> WorkerId | None:
        """The identity written by :meth:`__str__`, or None for anything else."""
        parts = text.rsplit("/", 4)
        if len(parts) != 5 or not (parts[3].isascii() and parts[3].isdigit()):
            return None
        return cls(parts[0], parts[1], parts[2], int(parts[3]), parts[4])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def _start_time(pid: int, proc: Path) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of ``stat``); None if no
    such process; "" when it cannot be read here."""
    if not proc.is_dir():
        return ""
    stat = _read(proc / str(pid) / "stat")
    if not stat:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after "(command name)", which may hold spaces
    return fields[19] if len(fields) > 19 else ""


def _namespace(proc: Path) -> str:
    try:
        return os.readlink(proc / "self" / "ns" / "pid")
    except OSError:
        return ""


def _describe(pid: int, proc: Path) -> WorkerId:
    return WorkerId(
        host=socket.gethostname()[:80].replace("/", "_"),
        boot=_read(proc / "sys" / "kernel" / "random" / "boot_id"),
        pid_namespace=_namespace(proc),
        pid=pid,
        started=_start_time(pid, proc) or "",
    )


@functools.cache
def this_worker() -> str:
    """This process's identity (computed once per process: the PID does not change)."""
    return str(_describe(os.getpid(), _PROC))


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False


def known_dead(owner: str, *, here: str | None = None, proc: Path = _PROC) -> bool:
    """True only if the worker ``owner`` names is certainly not running (module docstring)."""
    them = WorkerId.parse(owner)
    me = WorkerId.parse(here if here is not None else this_worker())
    if them is None or me is None or them.host != me.host or not them.boot:
        return False
    if them.boot != me.boot:
        return True  # this machine rebooted since: every process of that boot is gone
    if them.pid_namespace != me.pid_namespace or not them.started:
        return False
    if them.pid == me.pid and them.started == me.started:
        return False  # ourselves
    started = _start_time(them.pid, proc)
    if started is None:
        return _process_gone(them.pid)
    return bool(started) and started != them.started  # "": cannot tell; else the id was reused
