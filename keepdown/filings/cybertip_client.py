"""NCMEC's CyberTipline reporting web service, behind a small protocol.

The service (``/ispws`` on NCMEC's production and test hosts; HTTP Basic authentication):

======  =========  ===============================================================
GET     /status    who the credentials belong to (checks them)
GET     /xsd       NCMEC's own schema of the documents
POST    /submit    a ``<report>`` (text/xml): opens the report, answers its reportId
POST    /upload    multipart ``id`` + ``file``: answers the fileId and the file's MD5
POST    /fileinfo  a ``<fileDetails>`` (text/xml) for one uploaded file
POST    /finish    multipart ``id``: the report is final (``<reportDoneResponse>``)
POST    /retract   multipart ``id``: withdraws a report that is not finished
======  =========  ===============================================================

This client makes exactly one request per call and never retries on its own: whether a
repeat is safe differs from step to step, and the outbox decides (``cybertip_outbox``). Every
answer with an XML body is returned as an :class:`~keepdown.filings.cybertip_xml.Answer`
whatever its HTTP status; what its response code means is :func:`classify`'s business.
Credentials are :class:`~keepdown.filings.profiles.Secret` s, revealed only into the
``Authorization`` header; request logs carry the method and path only.

Response codes, as the public clients of the service read them (NCMEC's documentation page
could not be read from here; see docs/regulators.md): 0 success; 1000 server error (try
again); 2000 and 3100 the credentials were refused; 4100 the document was refused
(malformed, or elements out of order); 5001 no such report (unknown id, or deleted by NCMEC
after its time-out); 5102 the report is already finished.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any, Protocol

import httpx

from keepdown.errors import FilingError
from keepdown.filings.cybertip_xml import MAX_ANSWER_BYTES, Answer, parse_answer
from keepdown.filings.profiles import Secret

__all__ = ["CyberTipClient", "CyberTipService", "Outcome", "classify"]

log = logging.getLogger("keepdown.filings")

SUCCESS = 0
SERVER_ERROR = 1000
AUTH_CODES = frozenset({2000, 3100})
INVALID_DOCUMENT = 4100
NO_SUCH_REPORT = 5001
ALREADY_FINISHED = 5102


class Outcome(StrEnum):
    """What a response code means for the step that got it."""

    OK = "ok"
    TRANSIENT = "transient"  # try the same step again later
    REFUSED = "refused"  # the document was refused: sending it again cannot help
    AUTH = "auth"  # the credentials were refused
    GONE = "gone"  # NCMEC no longer has the report (or never had it)
    FINISHED = "finished"  # the report is already finished


def classify(code: int) -> Outcome:
    """The meaning of NCMEC response ``code`` (module docstring). An unknown code is taken as
    transient: tried again, then given up after the outbox's attempts."""
    if code == SUCCESS:
        return Outcome.OK
    if code in AUTH_CODES:
        return Outcome.AUTH
    if code == INVALID_DOCUMENT:
        return Outcome.REFUSED
    if code == NO_SUCH_REPORT:
        return Outcome.GONE
    if code == ALREADY_FINISHED:
        return Outcome.FINISHED
    return Outcome.TRANSIENT


class CyberTipService(Protocol):
    """The calls keepdown makes to the service (a loopback stub stands in for it in tests)."""

    def status(self) -> Answer: ...

    def schema(self) -> bytes: ...

    def submit(self, report_xml: bytes) -> Answer: ...

    def upload(self, report_id: str, file_name: str, data: bytes) -> Answer: ...

    def file_info(self, details_xml: bytes) -> Answer: ...

    def finish(self, report_id: str) -> Answer: ...

    def retract(self, report_id: str) -> Answer: ...

    def close(self) -> None: ...


class CyberTipClient:
    """The real service over HTTPS (httpx); one instance per organisation and environment."""

    def __init__(
        self,
        base_url: str,
        username: Secret,
        password: Secret,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = "keepdown-filings/0.1",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            timeout=timeout,
            auth=httpx.BasicAuth(username.reveal(), password.reveal()),
            headers={"User-Agent": user_agent},
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def status(self) -> Answer:
        return self._answer("GET", "/status")

    def schema(self) -> bytes:
        status, body = self._send("GET", "/xsd", max_bytes=4 * 1024 * 1024)
        if status != 200:
            raise _http_error("GET /xsd", status)
        return body

    def submit(self, report_xml: bytes) -> Answer:
        return self._answer("POST", "/submit", content=report_xml, xml=True)

    def upload(self, report_id: str, file_name: str, data: bytes) -> Answer:
        return self._answer(
            "POST",
            "/upload",
            data={"id": report_id},
            files={"file": (file_name or "file", data, "application/octet-stream")},
        )

    def file_info(self, details_xml: bytes) -> Answer:
        return self._answer("POST", "/fileinfo", content=details_xml, xml=True)

    def finish(self, report_id: str) -> Answer:
        return self._answer("POST", "/finish", files={"id": (None, report_id)})

    def retract(self, report_id: str) -> Answer:
        return self._answer("POST", "/retract", files={"id": (None, report_id)})

    # --- plumbing ----------------------------------------------------------------------------

    def _answer(self, method: str, path: str, *, xml: bool = False, **kwargs: Any) -> Answer:
        status, body = self._send(method, path, xml=xml, **kwargs)
        if status in (401, 403):
            raise FilingError(
                f"NCMEC refused the credentials ({method} {path}: HTTP {status})",
                permanent=True,
                auth=True,
                status=status,
            )
        if body.lstrip().startswith(b"<"):
            try:
                return parse_answer(body)
            except FilingError:
                if status < 500:
                    raise
        raise _http_error(f"{method} {path}", status)

    def _send(
        self,
        method: str,
        path: str,
        *,
        xml: bool = False,
        max_bytes: int = MAX_ANSWER_BYTES,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": "text/xml; charset=utf-8"} if xml else {}
        try:
            with self._client.stream(
                method,
                self.base_url + path,
                headers=headers,
                **kwargs,
            ) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FilingError(
                            f"{method} {path}: the answer is over {max_bytes:,} bytes",
                            permanent=False,
                        )
        except httpx.HTTPError as exc:
            raise FilingError(
                f"{method} {path} failed: {exc.__class__.__name__}", permanent=False, network=True
            ) from exc
        log.debug("%s %s -> %d (%d bytes)", method, path, response.status_code, len(body))
        return response.status_code, body


def _http_error(what: str, status: int) -> FilingError:
    return FilingError(
        f"{what} answered HTTP {status} without a CyberTipline answer",
        permanent=400 <= status < 500 and status not in (408, 429),
        status=status,
    )
