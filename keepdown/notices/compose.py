"""What a notice says: e-mail text from Jinja2 templates, and the webhook JSON document.

Templates live in ``keepdown/notices/templates`` (``subject.<lang>.j2``, ``body.<lang>.j2``),
one pair per language (English and French ship); the provider's language picks the pair. A
notice names, per location: the media URL, the page it was seen on, its hashes (SHA-256, MD5,
PDQ), its classification category, when it was detected and first notified. It never carries
an image, a thumbnail or a description of content: :func:`render` has no access to any.

Each message carries the operator's legal and policy basis (settings
``notice_legal_basis_<lang>``), how to respond, and a signed response link (see
:mod:`keepdown.notices.links`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from keepdown.notices.links import LinkSigner
from keepdown.notices.model import DeliveryKind, Location, Notice
from keepdown.notices.providers import Provider
from keepdown.settings import Settings

__all__ = ["Composer", "Message", "location_view"]

_UNITS = {
    "en": ("hour", "hours", "minute", "minutes"),
    "fr": ("heure", "heures", "minute", "minutes"),
}


def _every(minutes: int, lang: str) -> str:
    """``24 hours``, ``90 minutes``, ``1 heure``: how often a reminder comes, in words."""
    hour, hours, minute, minutes_word = _UNITS[lang]
    if minutes % 60 == 0:
        n = minutes // 60
        return f"{n} {hour if n == 1 else hours}"
    return f"{minutes} {minute if minutes == 1 else minutes_word}"


_ENV = Environment(
    loader=PackageLoader("keepdown.notices", "templates"),
    autoescape=False,  # plain-text e-mail; nothing here is ever rendered as HTML
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Message:
    """One rendered message: the e-mail subject and text, and the webhook document."""

    subject: str
    text: str
    document: dict[str, Any]

    def webhook_body(self) -> str:
        return json.dumps(self.document, sort_keys=True, separators=(",", ":"))


def _when(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else None


def location_view(loc: Location) -> dict[str, Any]:
    """The facts about one location a notice may carry (and nothing else)."""
    return {
        "id": loc.id,
        "media_url": loc.media_url,
        "archive_member": loc.archive_member or None,
        "page_url": loc.page_url,
        "sha256": loc.sha256,
        "md5": loc.md5 or None,
        "pdq": loc.pdq,
        "category": loc.category,
        "state": loc.status.state.value,
        "detected_at": _when(loc.status.detected_at),
        "first_notice_at": _when(loc.status.first_notice_at),
        "reappearance_where": loc.reappearance_where,
    }


class Composer:
    """Renders notices for one operator's settings and link signer."""

    def __init__(self, settings: Settings, links: LinkSigner) -> None:
        self.settings = settings
        self.links = links

    def _context(
        self,
        notice: Notice,
        provider: Provider,
        kind: DeliveryKind,
        locations: list[Location],
        now: datetime,
        resend: bool,
    ) -> dict[str, Any]:
        """Everything a template may use: facts about the notice, never about content."""
        lang = provider.language.value
        return {
            "reference": notice.reference,
            "kind": kind.value,
            "resend": resend,
            "reappearance": notice.reappearance,
            "provider": provider.name,
            "operator": self.settings.notice_operator_name,
            "legal_basis": getattr(self.settings, f"notice_legal_basis_{lang}"),
            "locations": [location_view(loc) for loc in locations],
            "respond_url": self.links.url(notice.reference, provider.id),
            "link_expires_at": _when(self.links.expires_at()),
            "first_sent_at": _when(notice.first_sent_at or now),
            "renotice_every": _every(
                max(provider.renotice_minutes, self.settings.notice_recheck_floor_minutes), lang
            ),
            "escalation_target": (
                provider.escalation_target.value if provider.escalation_target else None
            ),
        }

    def render(
        self,
        notice: Notice,
        provider: Provider,
        kind: DeliveryKind,
        locations: list[Location],
        *,
        now: datetime,
        resend: bool = False,
    ) -> Message:
        """The e-mail (subject, text in the provider's language) and the webhook document;
        ``resend``: an analyst asked for it (not the re-notice schedule)."""
        lang = provider.language.value
        context = self._context(notice, provider, kind, locations, now, resend)
        subject = _ENV.get_template(f"subject.{lang}.j2").render(context).strip()
        text = _ENV.get_template(f"body.{lang}.j2").render(context)
        document = {
            "type": f"keepdown.{kind.value}",
            "reference": notice.reference,
            "provider": provider.name,
            "language": lang,
            "reappearance": notice.reappearance,
            "resend": resend,
            "locations": context["locations"],
            "legal_basis": context["legal_basis"],
            "respond": {
                "url": context["respond_url"],
                "expires_at": self.links.expires_at().isoformat(),
            },
            "operator": context["operator"],
            "created_at": now.isoformat(),
        }
        return Message(subject=subject, text=text, document=document)
