"""Self-submitted hashes and removal requests with their 48-hour clock.

A person whose intimate pictures were taken or shared (often as a child) hashes them on their
own device; only the hashes and two answers reach keepdown (:mod:`.form`). keepdown keeps them
under a case number and a PIN (:mod:`.codes`, :mod:`.service`), in the self-submitted bank of
their programme (:mod:`.programme_banks`), whose matches always go to a person for review. The
person can check the case or withdraw it at any time: the hashes then leave every bank and
every feed keepdown publishes, as tombstones.

See docs/self-submission.md.
"""

from keepdown.submissions.codes import format_case_number, new_case_number, new_pin
from keepdown.submissions.form import SubmissionForm, parse_form
from keepdown.submissions.memory import InMemorySubmissionStore
from keepdown.submissions.model import (
    HOTLINE_ONLY_SOURCE,
    PROGRAMME_SOURCE,
    AgeAtTime,
    Media,
    Programme,
    Status,
    Submission,
    SubmissionStore,
    SubmittedHash,
    is_self_submitted,
    platforms_may_use,
)
from keepdown.submissions.programme_banks import ProgrammeBanks, SyncResult
from keepdown.submissions.service import CasePolicy, Receipt, SubmissionService

__all__ = [
    "HOTLINE_ONLY_SOURCE",
    "PROGRAMME_SOURCE",
    "AgeAtTime",
    "CasePolicy",
    "InMemorySubmissionStore",
    "Media",
    "Programme",
    "ProgrammeBanks",
    "Receipt",
    "Status",
    "Submission",
    "SubmissionForm",
    "SubmissionService",
    "SubmissionStore",
    "SubmittedHash",
    "SyncResult",
    "format_case_number",
    "is_self_submitted",
    "new_case_number",
    "new_pin",
    "parse_form",
    "platforms_may_use",
]
