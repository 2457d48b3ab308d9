"""Debian's unbound and squid, started by the tests on loopback with configurations of their
own in a temporary folder, fed the block list's published forms.

A missing binary skips the test with the reason, unless KEEPDOWN_REQUIRE_BLOCKLIST_SERVICES is
set (CI sets it in .ci/run; scripts/check.sh installs both when missing), which fails it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import httpx

from tests.conftest import skip_or_fail

UNBOUND = "/usr/sbin/unbound"
UNBOUND_CONTROL = "/usr/sbin/unbound-control"
SQUID = "/usr/sbin/squid"
REQUIRE = "KEEPDOWN_REQUIRE_BLOCKLIST_SERVICES"


def need(binary: str) -> None:
    if not Path(binary).exists():
        skip_or_fail(
            f"{binary} is not installed (apt-get install unbound squid; scripts/check.sh "
            "installs them when run as root)",
            REQUIRE,
        )


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shared_dir() -> Path:
    """A folder the services can read when they drop root (pytest's tmp is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="keepdown-blocklist-"))
    folder.chmod(0o777)
    return folder


# --- unbound ---------------------------------------------------------------------------------


def _unbound_server(folder: Path, name: str, port: int, extra: str) -> Path:
    conf = folder / f"{name}.conf"
    conf.write_text(
        "server:\n"
        "  interface: 127.0.0.1\n"
        f"  port: {port}\n"
        "  do-ip6: no\n"
        "  do-daemonize: no\n"
        '  username: ""\n'
        '  chroot: ""\n'
        f'  directory: "{folder}"\n'
        f'  pidfile: "{folder}/{name}.pid"\n'
        "  use-syslog: no\n"
        '  logfile: ""\n'
        "  access-control: 127.0.0.0/8 allow\n"
        '  local-zone: "test." nodefault\n'  # unbound answers test. itself by default
        f"{extra}",
        encoding="utf-8",
    )
    return conf


def _start_unbound(conf: Path, port: int) -> subprocess.Popen[bytes]:
    checked = subprocess.run(
        ["/usr/sbin/unbound-checkconf", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    process = subprocess.Popen(
        [UNBOUND, "-d", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            question = dns.message.make_query("ready.invalid", dns.rdatatype.A)
            dns.query.udp(question, "127.0.0.1", port=port, timeout=0.5)
            return process
        except (dns.exception.Timeout, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"unbound did not start: {output}") from None


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Resolver:
    """An ISP's resolver: unbound on 127.0.0.1:<port> with keepdown's RPZ zone, resolving
    ``test.`` names through a second unbound that stands in for the internet's authoritative
    servers (so names reach the resolver the way real ones do, and RPZ applies to them)."""

    def __init__(self, folder: Path, zone_name: str, records: dict[str, str]) -> None:
        self.folder = folder
        self.port = free_port(socket.SOCK_DGRAM)
        self.auth_port = free_port(socket.SOCK_DGRAM)
        self.zone_name = zone_name
        self.zone = folder / "keepdown.rpz"
        names = "".join(f"{name}. 60 IN A {ip}\n" for name, ip in records.items())
        (folder / "test.zone").write_text(
            "$ORIGIN test.\n$TTL 60\n"
            "@ IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 60\n"
            "@ IN NS ns.test.\nns IN A 127.0.0.1\n" + names,
            encoding="utf-8",
        )
        self.auth_conf = _unbound_server(
            folder,
            "authoritative",
            self.auth_port,
            f'auth-zone:\n  name: "test."\n  zonefile: "{folder}/test.zone"\n'
            "  for-downstream: yes\n  for-upstream: no\n",
        )
        self.conf = _unbound_server(
            folder,
            "resolver",
            self.port,
            '  module-config: "respip iterator"\n'
            "  do-not-query-localhost: no\n"
            "  verbosity: 1\n"
            f'stub-zone:\n  name: "test."\n  stub-addr: 127.0.0.1@{self.auth_port}\n'
            "remote-control:\n"
            "  control-enable: yes\n"
            f'  control-interface: "{folder}/unbound.ctl"\n'
            "  control-use-cert: no\n"
            "rpz:\n"
            f'  name: "{zone_name}"\n'
            f'  zonefile: "{self.zone}"\n'
            "  rpz-log: yes\n",
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, zone_text: str) -> None:
        self.zone.write_text(zone_text, encoding="utf-8")
        self.processes.append(_start_unbound(self.auth_conf, self.auth_port))
        self.processes.append(_start_unbound(self.conf, self.port))

    def reload(self, zone_text: str) -> None:
        """Replace the zone file and tell unbound to read it again (what an ISP's cron does),
        then drop cached answers."""
        self.zone.write_text(zone_text, encoding="utf-8")
        for command in (["auth_zone_reload", self.zone_name], ["flush_zone", "test."]):
            done = subprocess.run(
                [UNBOUND_CONTROL, "-c", str(self.conf), *command], capture_output=True, text=True
            )
            assert done.returncode == 0, done.stdout + done.stderr

    def query(self, name: str, timeout: float = 3.0) -> dns.message.Message:
        question = dns.message.make_query(name, dns.rdatatype.A)
        return dns.query.udp(question, "127.0.0.1", port=self.port, timeout=timeout)

    def answer(self, name: str) -> tuple[str, list[str]]:
        """``(rcode, [record texts])`` for an A query of ``name``."""
        reply = self.query(name)
        records = [f"{rr.rdtype.name} {rr}" for rrset in reply.answer for rr in rrset]
        return dns.rcode.to_text(reply.rcode()), records

    def stop(self) -> None:
        for process in reversed(self.processes):
            _stop(process)


@contextmanager
def unbound(zone_name: str, zone_text: str, records: dict[str, str]) -> Iterator[Resolver]:
    need(UNBOUND)
    folder = _shared_dir()
    resolver = Resolver(folder, zone_name, records)
    try:
        resolver.start(zone_text)
        yield resolver
    finally:
        resolver.stop()
        shutil.rmtree(folder, ignore_errors=True)


# --- an origin site and squid -----------------------------------------------------------------


@contextmanager
def origin() -> Iterator[int]:
    """A loopback site answering every path with a short benign text naming the path."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"origin content at {self.path}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


class Proxy:
    """squid on 127.0.0.1:<port> with the block list's ACL files and squid.conf lines."""

    def __init__(self, folder: Path, hosts: dict[str, str], acl_lines: str) -> None:
        self.folder = folder
        self.port = free_port()
        (folder / "hosts").write_text(
            "".join(f"{ip} {name}\n" for name, ip in hosts.items()), encoding="utf-8"
        )
        self.conf = folder / "squid.conf"
        self.conf.write_text(
            f"http_port 127.0.0.1:{self.port}\n"
            f"pid_filename {folder}/squid.pid\n"
            f"cache_log {folder}/cache.log\n"
            f"access_log stdio:{folder}/access.log\n"
            f"coredump_dir {folder}\n"
            f"hosts_file {folder}/hosts\n"
            "dns_nameservers 127.0.0.1\n"
            "cache deny all\n"
            "cache_mem 8 MB\n"
            "shutdown_lifetime 0 seconds\n"
            f"{acl_lines}"
            "http_access allow localhost\n"
            "http_access deny all\n",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def write(self, domains: str, urls: str) -> None:
        (self.folder / "keepdown-domains.txt").write_text(domains, encoding="utf-8")
        (self.folder / "keepdown-urls.txt").write_text(urls, encoding="utf-8")
        for path in self.folder.iterdir():
            path.chmod(0o666)

    def start(self) -> None:
        checked = subprocess.run([SQUID, "-k", "parse", "-f", str(self.conf)], capture_output=True)
        assert checked.returncode == 0, checked.stderr.decode()
        self.process = subprocess.Popen(
            [SQUID, "-N", "-f", str(self.conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "cache.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"squid did not start: {log}") from None
                time.sleep(0.1)

    def reconfigure(self) -> None:
        """Read the ACL files again (``squid -k reconfigure``), as an ISP's cron does."""
        subprocess.run([SQUID, "-k", "reconfigure", "-f", str(self.conf)], check=True)

    def get(self, url: str) -> httpx.Response:
        with httpx.Client(proxy=f"http://127.0.0.1:{self.port}", timeout=10) as client:
            return client.get(url, follow_redirects=True)

    def stop(self) -> None:
        _stop(self.process)


@contextmanager
def squid(hosts: dict[str, str], acl_lines: str, domains: str, urls: str) -> Iterator[Proxy]:
    need(SQUID)
    folder = _shared_dir()
    proxy = Proxy(folder, hosts, acl_lines.replace("{dir}", str(folder)))
    proxy.write(domains, urls)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        shutil.rmtree(folder, ignore_errors=True)


def required() -> bool:
    return os.environ.get(REQUIRE, "").strip().lower() in {"1", "true", "yes", "on"}


class Served:
    """keepdown's app on uvicorn in a thread (as ``keepdown serve`` runs it): the splash page."""

    def __init__(self, app: object) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("keepdown did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def eventually(check, what: str, seconds: float = 20.0):  # type: ignore[no-untyped-def]
    """Poll ``check`` until it returns something true (a service re-reads its files on its
    own time); fail with ``what`` after ``seconds``. The result, not the time, is asserted."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.2)
