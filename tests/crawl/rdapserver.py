"""A loopback RDAP server speaking RFC 9082/9083 IP network lookups, for attribution tests.

``GET /ip/<address>`` answers an ``ip network`` object (``application/rdap+json``) for the
networks it was given: handle, start/end addresses, ``cidr0_cidrs``, country, origin AS
numbers (ARIN's ``arin_originas0_originautnums`` extension), and entities with roles
(``registrant`` with a vCard ``fn``; ``abuse`` with a vCard ``email``, nested inside the
registrant as RIPE and ARIN do). An address in none of them gets a 404 RDAP error object.

Misbehaviour on purpose, per network: ``slow`` (answers after ``delay`` seconds), ``broken``
(a 200 whose body is not JSON), ``error`` (HTTP 500), ``wrong`` (valid JSON, not an ip
network), ``redirect`` (302 to the same lookup under ``/rir``, as rdap.org redirects to the
right registry). Every request is logged in :attr:`RdapServer.requests`.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["RdapNet", "RdapServer"]


@dataclass(frozen=True)
class RdapNet:
    cidr: str
    name: str
    country: str = ""
    abuse_email: str | None = None
    asns: tuple[int, ...] = ()
    behaviour: str = "ok"  # ok, slow, broken, error, wrong, redirect
    delay: float = 0.0
    nested_abuse: bool = True  # the abuse entity inside the registrant (RIPE style)


def _vcard(**values: str) -> list:
    items = [["version", {}, "text", "4.0"]]
    items += [[key, {}, "text", value] for key, value in values.items()]
    return ["vcard", items]


def network_object(net: RdapNet) -> dict:
    """The RFC 9083 ip network object for ``net``."""
    network = ipaddress.ip_network(net.cidr)
    prefix_key = "v4prefix" if network.version == 4 else "v6prefix"
    abuse = {
        "objectClassName": "entity",
        "handle": f"ABUSE-{net.name.upper()}",
        "roles": ["abuse"],
        "vcardArray": _vcard(fn=f"{net.name} abuse desk", email=net.abuse_email or ""),
    }
    registrant = {
        "objectClassName": "entity",
        "handle": f"ORG-{net.name.upper()}",
        "roles": ["registrant"],
        "vcardArray": _vcard(fn=net.name, kind="org"),
        "entities": [abuse] if net.abuse_email and net.nested_abuse else [],
    }
    entities = [registrant]
    if net.abuse_email and not net.nested_abuse:
        entities.append(abuse)
    return {
        "rdapConformance": ["rdap_level_0", "cidr0", "arin_originas0"],
        "objectClassName": "ip network",
        "handle": f"NET-{net.cidr}",
        "startAddress": str(network[0]),
        "endAddress": str(network[-1]),
        "ipVersion": f"v{network.version}",
        "name": f"{net.name.upper()}-NET",
        "type": "ASSIGNED",
        "country": net.country,
        "cidr0_cidrs": [{prefix_key: str(network.network_address), "length": network.prefixlen}],
        "arin_originas0_originautnums": list(net.asns),
        "entities": entities,
        "links": [{"rel": "self", "href": f"https://rdap.test/ip/{net.cidr}"}],
    }


@dataclass
class RdapServer:
    """Serves :class:`RdapNet` networks on 127.0.0.1 (a free port) from a thread."""

    networks: list[RdapNet] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def find(self, address: str) -> RdapNet | None:
        ip = ipaddress.ip_address(address)
        hits = [n for n in self.networks if ip in ipaddress.ip_network(n.cidr)]
        return max(hits, key=lambda n: ipaddress.ip_network(n.cidr).prefixlen, default=None)

    def start(self) -> RdapServer:
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def log(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on the slow answer is the point of that answer


def _handler(rdap: RdapServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/rdap+json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            rdap.log(self.path)
            path = self.path.removeprefix("/rir")
            if not path.startswith("/ip/"):
                self._send(400, json.dumps({"errorCode": 400, "title": "bad request"}).encode())
                return
            try:
                net = rdap.find(path[4:])
            except ValueError:
                net = None
            if net is None:
                self._send(404, json.dumps({"errorCode": 404, "title": "not found"}).encode())
                return
            self._answer(net, redirected=self.path.startswith("/rir"))

        def _answer(self, net: RdapNet, *, redirected: bool) -> None:
            if net.behaviour == "redirect" and not redirected:
                self.send_response(302)
                self.send_header("Location", "/rir" + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if net.behaviour == "slow":
                time.sleep(net.delay)
            if net.behaviour == "broken":
                self._send(200, b'{"objectClassName": "ip network", "handle": ')
            elif net.behaviour == "error":
                self._send(500, b'{"errorCode": 500}')
            elif net.behaviour == "wrong":
                self._send(200, json.dumps({"objectClassName": "autnum", "handle": "AS1"}).encode())
            else:
                self._send(200, json.dumps(network_object(net)).encode())

    return Handler
