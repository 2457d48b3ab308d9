"""A notice sender that is killed (``os._exit``, no cleanup) at one step of a delivery.

Run by tests/notices/test_outbox_kills.py as ``python -m tests.notices.outbox_child ARGS``
where ARGS is a JSON object: database_url, data_dir, smtp_port, step. Steps, in the order a
delivery goes through them:

- ``after_intent``: the intent is recorded (``pending``), nothing claimed yet;
- ``after_claim``: claimed (``sending``), before any connection;
- ``after_handover``: the handover is recorded, just before the message would leave;
- ``after_delivered``: the server accepted the message; the result is not recorded yet;
- ``after_recorded``: ``sent`` is recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from keepdown.app import open_notice_services
from keepdown.clock import FrozenClock
from keepdown.notices.sealing import secret_box
from keepdown.notices.senders import SmtpSender, WebhookSender
from keepdown.settings import load_settings
from tests.notices.conftest import T0, notice_settings

KILLED = 137


class KillingSender:
    def __init__(self, inner, step: str) -> None:
        self.inner = inner
        self.step = step

    async def send(self, delivery, provider, handover=lambda: None) -> None:
        if self.step == "after_claim":
            os._exit(KILLED)
        if self.step == "after_handover":
            handover()
            os._exit(KILLED)
        await self.inner.send(delivery, provider, handover)
        if self.step == "after_delivered":
            os._exit(KILLED)


def main(args: dict) -> None:
    base = load_settings(
        environ={},
        overrides={"data_dir": args["data_dir"], "database_url": args["database_url"]},
    )
    settings = notice_settings(base, smtp_port=args["smtp_port"])
    clock = FrozenClock(T0)
    step = args["step"]
    senders = {
        "email": KillingSender(SmtpSender(settings, clock), step),
        "webhook": KillingSender(WebhookSender(settings, clock, secret_box(settings)), step),
    }
    services = open_notice_services(settings, clock=clock, senders=senders)
    if step == "after_intent":

        async def die(*_a, **_k):
            os._exit(KILLED)

        services.service.outbox.deliver = die
    if step == "after_recorded":
        real = services.service.outbox.record_sent

        def record_then_die(*a, **k):
            real(*a, **k)
            os._exit(KILLED)

        services.service.outbox.record_sent = record_then_die
    asyncio.run(services.service.send_due())
    sys.exit(0)  # not killed: the step was never reached


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
