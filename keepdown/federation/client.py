"""A peer keepdown's published bank, read as a feed (the exchanges' ``keepdown`` kind).

:class:`KeepdownClient` is a :class:`~keepdown.exchanges.protocol.PagedClient`: the feed's
checkpoint ``since`` is the publisher's cursor (:class:`~keepdown.federation.pages.Cursor`
text) and, inside a run, the cursor of the next page. Each request carries a fresh nonce; the
answer is verified (:func:`~keepdown.federation.pages.verify_page`) before one of its changes
becomes a record, so a tampered, replayed, misdirected, stale or out-of-order page stops the
run with :class:`~keepdown.federation.wire.Refused` (the feed's status says why) and nothing
of it is applied. Everything else (a page and its checkpoint in one transaction, last writer
wins, tombstones, a full fetch's reconciliation, guards, quarantine) is the feed mechanism's.

Options: ``bank`` (the publisher's bank name), ``publisher`` (its name), ``audience`` (our
name at the publisher: the organisation of the key it issued us), ``public_key`` (its raw
Ed25519 key, base64: ``keepdown feed add NAME --kind keepdown URL --option
public_key=...``). Secret: ``api_key``, the peer-role key the publisher issued us.

Importing this module registers the kind (``keepdown.app`` does at start).
"""

from __future__ import annotations

import base64
import binascii
import secrets as token_source
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from keepdown.banks.classification import Classification
from keepdown.clock import Clock
from keepdown.errors import InvalidInput
from keepdown.exchanges.checkpoint import Checkpoint, Run
from keepdown.exchanges.clients import KINDS, ClientKind
from keepdown.exchanges.clients.options import OptionSpec, read_options
from keepdown.exchanges.http import ExchangeHttp, HttpLimits
from keepdown.exchanges.protocol import Fetched, PagedClient
from keepdown.exchanges.records import ExchangeRecord, RecordError
from keepdown.exchanges.secrets import Secret
from keepdown.federation.pages import BankPage, PageRequest, verify_page
from keepdown.hashing.types import SignalType

__all__ = ["KIND", "OPTIONS", "SECRETS", "KeepdownClient", "records_of"]

SECRETS = ("api_key",)
OPTIONS = {
    "bank": OptionSpec(str, "", "the publisher's bank name; required"),
    "publisher": OptionSpec(str, "", "the publisher's name (its federation_name); required"),
    "audience": OptionSpec(str, "", "our name at the publisher (our key's organisation)"),
    "public_key": OptionSpec(str, "", "the publisher's raw Ed25519 public key, base64"),
    "page_max_age_seconds": OptionSpec(int, 600, "a page signed longer ago is refused"),
}


def records_of(page: BankPage) -> list[ExchangeRecord | RecordError]:
    """The page's changes as exchange records (key ``<signal>:<value>``)."""
    out: list[ExchangeRecord | RecordError] = []
    for change in page.changes:
        key = f"{change.signal_type}:{change.value}"
        try:
            signal = (SignalType(change.signal_type), change.value)
            classification = change.classification
        except ValueError as exc:
            out.append(RecordError(len(out) + 1, str(exc), key=key[:120]))
            continue
        out.append(
            ExchangeRecord(
                key=key,
                updated_at=change.updated_at,
                deleted=change.deleted,
                signals=() if change.deleted else (signal,),
                label=change.label,
                classification=classification,
                status=change.op,
            )
        )
    return out


class KeepdownClient(PagedClient):
    """A publisher's bank as one feed reads it (module docstring)."""

    kind: ClassVar[str] = "keepdown"
    runs_per_sync: ClassVar[int | None] = 1  # a run pages up to the publisher's present

    def __init__(
        self,
        url: str,
        options: Mapping[str, Any],
        secrets: Mapping[str, Secret],
        clock: Clock,
        *,
        default: Classification | None = None,
        limits: HttpLimits | None = None,
        http: ExchangeHttp | None = None,
    ) -> None:
        self.options = read_options(OPTIONS, options)
        for name in ("bank", "publisher", "audience", "public_key"):
            if not str(self.options[name]).strip():
                raise InvalidInput(f"a keepdown feed needs option {name}")
        try:
            self.public_key = base64.b64decode(self.options["public_key"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("option public_key is the raw Ed25519 key in base64") from None
        if len(self.public_key) != 32:
            raise InvalidInput("option public_key is a raw 32-byte Ed25519 key")
        super().__init__(clock, cursor_ttl=timedelta(days=3650))
        self.token = secrets["api_key"]
        self.http = http or ExchangeHttp(url, limits or HttpLimits())
        self.max_age = timedelta(seconds=int(self.options["page_max_age_seconds"]))

    def close(self) -> None:
        self.http.close()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token.reveal()}"}

    def whoami(self) -> dict[str, Any]:
        import json

        reply = self.http.request("GET", "api/v1/federation/banks", headers=self._headers())
        return dict(json.loads(reply.body))

    def start_run(self, checkpoint: Checkpoint) -> Run | None:
        since = checkpoint.since
        return checkpoint.begin(since, None, full=since is None)

    def fetch(self, run: Run) -> Fetched:
        after = str(run.cursor if run.cursor is not None else (run.start or ""))
        page = self.page(after)
        records = records_of(page)
        if page.more:
            return Fetched(records, page.until)
        return Fetched(records, None, since=page.until)

    def page(self, after: str) -> BankPage:
        """The verified page after ``after`` (Refused if it is not the answer we asked for)."""
        request = PageRequest(
            self.options["publisher"],
            self.options["audience"],
            self.options["bank"],
            after,
            token_source.token_hex(16),
        )
        reply = self.http.request(
            "GET",
            f"api/v1/federation/banks/{quote(request.bank, safe='')}/pages",
            params={"after": after, "nonce": request.nonce},
            headers=self._headers(),
        )
        return verify_page(
            reply.body, self.public_key, request, self.clock.now(), max_age=self.max_age
        )


KIND = ClientKind(KeepdownClient, SECRETS, OPTIONS)
KINDS.setdefault("keepdown", KIND)
