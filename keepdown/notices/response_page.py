"""The page a provider sees when it opens a notice's signed link (no account, no script).

Plain HTML with one form per answer (acknowledge; per location: report removed, dispute with
a reason), in the notice's language. Every value is HTML-escaped (URLs come from crawled
sites). The forms post to the same signed link, so the token is the only credential; the API
adds the headers that keep the page out of frames, caches and referrers (keepdown.api).
Nothing about the content is shown: URLs, hashes and states only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from keepdown.notices.model import Notice

__all__ = ["LABELS", "render_response_page"]

_ENV = Environment(
    loader=PackageLoader("keepdown.notices", "templates"),
    autoescape=select_autoescape(["html.j2"], default=True),
    undefined=StrictUndefined,
)

LABELS = {
    "en": {
        "title": "Notice",
        "intro": "A removal notice sent to",
        "state": "State",
        "done": "Recorded",
        "never": "Do not open or download the files: the hashes identify them.",
        "acknowledge": "Acknowledge this notice",
        "acknowledged": "Acknowledged on",
        "locations": "Locations",
        "location": "Location",
        "answer": "Your answer",
        "member": "Archive entry",
        "removed": "Report removed",
        "reason": "Why this location is not this material",
        "dispute": "Dispute",
        "expires": "This link is valid until",
    },
    "fr": {
        "title": "Signalement",
        "intro": "Une demande de retrait adressée à",
        "state": "État",
        "done": "Enregistré",
        "never": "N'ouvrez pas les fichiers : les empreintes les identifient.",
        "acknowledge": "Accuser réception",
        "acknowledged": "Reçu le",
        "locations": "Emplacements",
        "location": "Emplacement",
        "answer": "Votre réponse",
        "member": "Dans l'archive",
        "removed": "Déclarer retiré",
        "reason": "Pourquoi cet emplacement n'est pas ce contenu",
        "dispute": "Contester",
        "expires": "Ce lien est valable jusqu'au",
    },
}


def _when(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else None


def render_response_page(
    notice: Notice, *, actions: dict[str, str], expires_at: datetime, done: str | None = None
) -> str:
    """The HTML page; ``actions`` maps acknowledge/removed/dispute to their form URLs."""
    lang = notice.language if notice.language in LABELS else "en"
    context: dict[str, Any] = {
        "lang": lang,
        "t": LABELS[lang],
        "reference": notice.reference,
        "provider": notice.provider,
        "state": notice.state.value,
        "acknowledged": _when(notice.acknowledged_at),
        "done": done,
        "actions": actions,
        "expires_at": _when(expires_at),
        "locations": [
            {
                "id": loc.id,
                "media_url": loc.media_url,
                "archive_member": loc.archive_member,
                "sha256": loc.sha256,
                "state": loc.status.state.value,
                "open": loc.status.open,
            }
            for loc in notice.locations
        ],
    }
    return _ENV.get_template("response.html.j2").render(context)
