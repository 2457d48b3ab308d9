"""A loopback stand-in for NCMEC's CyberTipline reporting service (``/ispws``).

It answers the endpoints keepdown calls (status, xsd, submit, upload, fileinfo, finish,
retract) the way the service's documentation and its public clients describe: HTTP Basic
credentials (wrong ones: HTTP 401), ``<reportResponse>`` answers with a response code, 4100
for a document that is malformed or whose elements are out of order (checked against the
schema it is given: by default keepdown's own ``cybertip.xsd``), 5001 for a report it does not
hold (unknown, withdrawn, or deleted after its time-out: :meth:`CyberTipStub.expire`), 5102
for a change to a finished report.

A test schedules faults per endpoint (:attr:`CyberTipStub.faults`: a response code, an HTTP
status such as ``"503"``, or ``"drop"`` to close the connection without an answer), and can
read what reached it: every call (:attr:`calls`) and every report with its files.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP

from keepdown.filings.stubs.http import Answer, Incoming, LoopbackServer
from keepdown.filings.validate import cybertip_schema, xml_problems

__all__ = ["CyberTipStub", "StubFile", "StubReport"]


@dataclass
class StubFile:
    file_id: str
    name: str
    data: bytes
    details: bytes = b""
    details_sent: int = 0


@dataclass
class StubReport:
    report_id: str
    xml: bytes
    files: dict[str, StubFile] = field(default_factory=dict)
    finished: bool = False
    retracted: bool = False
    deleted: bool = False  # NCMEC's time-out

    @property
    def live(self) -> bool:
        return not (self.retracted or self.deleted)


class CyberTipStub:
    """The stub service (module docstring), serving at :attr:`url` + ``/ispws``."""

    def __init__(self, username: str = "esp-user", password: str = "esp-password") -> None:
        self.username = username
        self.password = password
        self.lock = threading.RLock()
        self.reports: dict[str, StubReport] = {}
        self.calls: list[tuple[str, str]] = []  # (endpoint, report id or "")
        self.faults: dict[str, list[str]] = {}
        self.schema_document = b"<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'/>"
        self._ids = itertools.count(1_000_001)
        self._server = LoopbackServer(self._handle)

    @property
    def url(self) -> str:
        return self._server.url + "/ispws"

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> CyberTipStub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- what a test reads -----------------------------------------------------------------

    def finished_reports(self) -> list[StubReport]:
        return [r for r in self.reports.values() if r.finished]

    def count(self, endpoint: str) -> int:
        return sum(1 for name, _ in self.calls if name == endpoint)

    def expire(self, report_id: str) -> None:
        """NCMEC's time-out: the unfinished report is deleted."""
        with self.lock:
            report = self.reports[report_id]
            if not report.finished:
                report.deleted = True

    # --- the service ---------------------------------------------------------------------------

    def _handle(self, req: Incoming) -> Answer:
        endpoint = req.path.split("?")[0].removeprefix("/ispws").strip("/")
        if not self._authorised(req):
            with self.lock:
                self.calls.append((endpoint, "unauthorised"))
            return Answer(401, b"", "text/plain", {"WWW-Authenticate": 'Basic realm="ispws"'})
        with self.lock:
            fault = self._fault(endpoint)
            if fault == "drop":
                self.calls.append((endpoint, "dropped"))
                return Answer(drop=True)
            if fault is not None and len(fault) == 3 and fault.startswith("5"):
                self.calls.append((endpoint, f"http {fault}"))
                return Answer(int(fault), b"busy", "text/plain")
            handler = getattr(self, f"_{endpoint}", None)
            if handler is None or (req.method == "GET") != (endpoint in ("status", "xsd")):
                return Answer(404, b"", "text/plain")
            if fault is not None:
                self.calls.append((endpoint, f"fault {fault}"))
                return _response(int(fault), "scheduled fault")
            answer: Answer = handler(req)
            return answer

    def _authorised(self, req: Incoming) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return req.headers.get("Authorization", "") == f"Basic {expected}"

    def _fault(self, endpoint: str) -> str | None:
        queue = self.faults.get(endpoint)
        return queue.pop(0) if queue else None

    def _status(self, _req: Incoming) -> Answer:
        self.calls.append(("status", ""))
        return _response(0, f"Remote User : {self.username}")

    def _xsd(self, _req: Incoming) -> Answer:
        self.calls.append(("xsd", ""))
        return Answer(200, self.schema_document, "application/xml")

    def _submit(self, req: Incoming) -> Answer:
        if xml_problems(req.body, cybertip_schema()):
            self.calls.append(("submit", "refused"))
            return _response(4100, "Validation failed")
        report_id = str(next(self._ids))
        self.reports[report_id] = StubReport(report_id, req.body)
        self.calls.append(("submit", report_id))
        return _response(0, "Success", reportId=report_id)

    def _upload(self, req: Incoming) -> Answer:
        fields = _form(req)
        report_id = fields.get("id", b"").decode()
        self.calls.append(("upload", report_id))
        refused = self._open_report(report_id)
        if refused is not None:
            return refused
        name, data = fields.get("file.name", b"file").decode(), fields.get("file", b"")
        file_id = hashlib.sha1(f"{report_id}:{len(self.reports[report_id].files)}".encode())
        stub_file = StubFile(file_id.hexdigest()[:32], name, data)
        self.reports[report_id].files[stub_file.file_id] = stub_file
        return _response(
            0,
            "Success",
            reportId=report_id,
            fileId=stub_file.file_id,
            hash=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        )

    def _fileinfo(self, req: Incoming) -> Answer:
        if xml_problems(req.body, cybertip_schema()):
            self.calls.append(("fileinfo", "refused"))
            return _response(4100, "Validation failed")
        root = ET.fromstring(req.body)
        report_id, file_id = root.findtext("reportId") or "", root.findtext("fileId") or ""
        self.calls.append(("fileinfo", report_id))
        refused = self._open_report(report_id)
        if refused is not None:
            return refused
        stub_file = self.reports[report_id].files.get(file_id)
        if stub_file is None:
            return _response(4100, "Unknown file")
        stub_file.details, stub_file.details_sent = req.body, stub_file.details_sent + 1
        return _response(0, "Success", reportId=report_id)

    def _finish(self, req: Incoming) -> Answer:
        report_id = _form(req).get("id", b"").decode()
        self.calls.append(("finish", report_id))
        refused = self._open_report(report_id)
        if refused is not None:
            return refused
        report = self.reports[report_id]
        report.finished = True
        files = "".join(f"<fileId>{f}</fileId>" for f in report.files)
        body = (
            f"<reportDoneResponse><responseCode>0</responseCode><reportId>{report_id}</reportId>"
            f"<files>{files}</files></reportDoneResponse>"
        )
        return Answer(200, body.encode())

    def _retract(self, req: Incoming) -> Answer:
        report_id = _form(req).get("id", b"").decode()
        self.calls.append(("retract", report_id))
        refused = self._open_report(report_id)
        if refused is not None:
            return refused
        self.reports[report_id].retracted = True
        return _response(0, "Success", reportId=report_id)

    def _open_report(self, report_id: str) -> Answer | None:
        report = self.reports.get(report_id)
        if report is None or not report.live:
            return _response(5001, "Report does not exist")
        if report.finished:
            return _response(5102, "Report already finished")
        return None


def _response(code: int, description: str, **children: str) -> Answer:
    root = ET.Element("reportResponse")
    ET.SubElement(root, "responseCode").text = str(code)
    ET.SubElement(root, "responseDescription").text = description
    for tag, text in children.items():
        ET.SubElement(root, tag).text = text
    return Answer(200, ET.tostring(root))


def _form(req: Incoming) -> dict[str, bytes]:
    """The fields of a multipart/form-data body (a file field also gives ``<name>.name``)."""
    head = f"Content-Type: {req.headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + req.body)
    fields: dict[str, bytes] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        fields[name] = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename:
            fields[f"{name}.name"] = filename.encode()
    return fields
