"""``keepdown serve --demo``: a demo organisation, a bank of the benign samples, a key and a
person to sign in to the web pages.

:func:`seed_demo` makes the demo organisation, bank (the benign sample images, hashed in
exact mode), a platform key that expires after :data:`DEMO_KEY_LIFETIME` (a demo key left
behind on a server that later holds real banks must not stay valid), and the demo analyst
(:data:`DEMO_USER`, a person of the operator organisation: the analysts who work the review
queue and the notices are the operator's, ``keepdown.auth.scope``) with a new random
password. It is idempotent apart from the new secrets:
run again, it adds nothing, issues a new key and gives the analyst a new password (which ends
the analyst's sessions). The key and the password are in the answer only, printed once.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from keepdown.app.runtime import Runtime
from keepdown.auth import Role
from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService
from keepdown.errors import Conflict, NotFound
from keepdown.hashing import hash_file
from keepdown.hashing.types import SignalType
from keepdown.settings import Settings

__all__ = ["DEMO_BANK", "DEMO_KEY_LIFETIME", "DEMO_ORG", "DEMO_USER", "DemoInfo", "seed_demo"]

DEMO_ORG = "demo"
DEMO_BANK = "demo-samples"
#: The demo analyst who signs in to the web pages.
DEMO_USER = "demo-analyst"
#: How long a demo key works.
DEMO_KEY_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class DemoInfo:
    organisation: str
    bank: str
    entries_added: int
    token: str
    samples: list[Path]
    expires_at: datetime | None = None
    web_user: str = DEMO_USER
    #: The demo analyst's password (new on every run; shown once).
    web_password: str = ""


def seed_demo(runtime: Runtime) -> DemoInfo:
    """The demo organisation, bank, a fresh platform key and the demo analyst with a fresh
    password (idempotent apart from the key and the password)."""
    from keepdown.testing import sample_image_paths

    auth, banks, settings = runtime.auth, runtime.banks, runtime.settings
    with auth.audited("demo.seed", target=DEMO_BANK) as found:
        auth.ensure_organisation(DEMO_ORG)
        with contextlib.suppress(Conflict):
            banks.create_bank(
                DEMO_BANK,
                owner=DEMO_ORG,
                source="keepdown/samples (benign stand-ins)",
                label="other",
            )
        # the operator seeding the demo accepts its bank into pooled matching (a bank of
        # another organisation matches nothing until an operator admin does: docs/banks.md)
        banks.change(DEMO_BANK, accepted=True, by="demo.seed")
        samples = sample_image_paths()
        added = sum(_add_sample(banks, path, settings) for path in samples)
        issued = auth.issue_key(DEMO_ORG, Role.PLATFORM, expires_in=DEMO_KEY_LIFETIME, label="demo")
        password = _demo_analyst(runtime)
        found.update(added=added, key_id=issued.key.key_id, web_user=DEMO_USER)
    return DemoInfo(
        DEMO_ORG,
        DEMO_BANK,
        added,
        issued.token,
        samples,
        issued.key.expires_at,
        web_user=DEMO_USER,
        web_password=password,
    )


def _demo_analyst(runtime: Runtime) -> str:
    """Create the demo analyst, or give it a new password; the password."""
    signin, settings = runtime.signin, runtime.settings
    password = secrets.token_urlsafe(15)
    operator = settings.operator_organisation
    try:
        user = signin.store.get_user(DEMO_USER)
    except NotFound:
        runtime.auth.ensure_organisation(operator)
        signin.add_user(
            DEMO_USER, password, organisation=operator, role=Role.ANALYST, display_name="Demo"
        )
        return password
    if user.organisation != operator:
        raise Conflict(f"a person called {DEMO_USER!r} exists in another organisation")
    signin.set_password(DEMO_USER, password)  # also unlocks it and ends its sessions
    signin.set_disabled(DEMO_USER, False)
    return password


def _add_sample(banks: BankService, path: Path, settings: Settings) -> int:
    result = hash_file(path, settings=settings, mode="exact")
    records = [EntryRecord(SignalType.SHA256, result.sha256.hex, source_id=path.name)]
    if result.pdq is not None:
        records.append(EntryRecord(SignalType.PDQ, result.pdq.hex, source_id=path.name))
    return sum(banks.add_entry(DEMO_BANK, record).added for record in records)
