"""Alerts to financial institutions through the outbox: sent once, retried, given up, left
for an operator after a crash mid-send (e-mail), re-sent with the same key (webhook)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from keepdown.clock import FrozenClock
from keepdown.errors import Conflict, DeliveryError, InvalidInput, NotFound
from keepdown.finance.alerts import Alerter, Subscription, validate_subscription
from keepdown.finance.model import Indicator
from keepdown.storage.indicator_store import SqlAlertStore

from .conftest import T0


def indicator(ident: int, confirmed: int, kind: str = "btc") -> Indicator:
    return Indicator(
        id=ident,
        type=kind,
        value=f"value-{ident}",
        detail="",
        pages=("http://page.test/secret",),
        providers=("Hosting A",),
        first_seen=T0,
        last_seen=T0,
        confirmed_sightings=confirmed,
        confirmed_pages=1,
    )


class Indicators:
    def __init__(self, found):
        self.found = found

    def indicators(self, **_):
        return list(self.found)


class Recorder:
    def __init__(self, fail=()):
        self.sent, self.fail = [], list(fail)

    async def __call__(self, alert, sub):
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((alert, sub))


def make(engine, found, deliver, clock):
    from sqlalchemy import insert

    from keepdown.storage.tables_finance import finance_indicators

    with engine.begin() as conn:
        for ind in found:
            conn.execute(
                insert(finance_indicators).values(
                    id=ind.id, type=ind.type, value=ind.value, created_at=T0
                )
            )
    store = SqlAlertStore(engine)
    alerter = Alerter(
        Indicators(found), store, deliver, clock, operator="Hotline", tlp="amber", max_attempts=2
    )
    return store, alerter


def test_threshold_types_and_once_only(engine):
    clock = FrozenClock(T0)
    found = [indicator(1, 1), indicator(2, 3), indicator(3, 5, "eth")]
    deliver = Recorder()
    store, alerter = make(engine, found, deliver, clock)
    store.add_subscription(Subscription("Bank", "email", "fiu@bank.test", threshold=3), T0)
    store.add_subscription(
        Subscription("Eth only", "email", "x@bank.test", threshold=1, types=("eth",)), T0
    )
    report = asyncio.run(alerter.send_due())
    assert sorted((a.indicator_id, s.name) for a, s in deliver.sent) == [
        (2, "Bank"),
        (3, "Bank"),
        (3, "Eth only"),
    ]
    assert len(report.sent) == 3
    again = asyncio.run(alerter.send_due())
    assert (again.planned, again.sent) == ([], [])
    assert len(deliver.sent) == 3
    alert = deliver.sent[0][0]
    assert alert.subject.startswith("[TLP:AMBER]")
    assert "http://page.test/secret" not in alert.body  # never a page URL
    assert {a.state for a in store.alerts()} == {"sent"}
    with pytest.raises(Conflict):
        store.add_subscription(Subscription("Bank", "email", "y@bank.test"), T0)
    store.remove_subscription("Bank")
    assert [a.subscription_id for a in store.alerts()] == [2]
    with pytest.raises(NotFound):
        store.remove_subscription("Bank")


def test_retry_then_give_up_and_permanent_failures(engine):
    clock = FrozenClock(T0)
    deliver = Recorder(fail=[DeliveryError("busy"), DeliveryError("busy again")])
    store, alerter = make(engine, [indicator(1, 5)], deliver, clock)
    store.add_subscription(Subscription("Bank", "email", "fiu@bank.test"), T0)
    first = asyncio.run(alerter.send_due())
    assert (first.retry, first.sent) == ([1], [])
    second = asyncio.run(alerter.send_due())
    assert second.failed == [1]  # max_attempts = 2
    (alert,) = store.alerts()
    assert (alert.state, alert.attempts, alert.last_error) == ("failed", 2, "busy again")
    assert asyncio.run(alerter.send_due()).sent == []


def test_permanent_refusal_is_not_retried(engine):
    clock = FrozenClock(T0)
    deliver = Recorder(fail=[DeliveryError("no such mailbox", permanent=True)])
    store, alerter = make(engine, [indicator(1, 5)], deliver, clock)
    store.add_subscription(Subscription("Bank", "email", "fiu@bank.test"), T0)
    assert asyncio.run(alerter.send_due()).failed == [1]
    assert store.alerts()[0].attempts == 1


def test_a_crash_mid_send_leaves_email_uncertain_and_resends_webhooks(engine):
    clock = FrozenClock(T0)
    deliver = Recorder()
    store, alerter = make(engine, [indicator(1, 5)], deliver, clock)
    store.add_subscription(Subscription("Mail", "email", "fiu@bank.test"), T0)
    store.add_subscription(
        Subscription("Hook", "webhook", "https://bank.test/h", secret="s" * 20), T0
    )
    alerter.plan()
    # two senders died holding their claims
    claimed = [store.claim_alert(clock.now(), 60), store.claim_alert(clock.now(), 60)]
    assert all(c is not None for c in claimed)
    keys = {c.subscription_id: c.message_key for c in claimed}
    clock.advance(timedelta(minutes=5))
    report = asyncio.run(alerter.send_due())
    assert len(report.uncertain) == 1
    (sent_alert, sub) = deliver.sent[0]
    assert sub.name == "Hook"
    assert sent_alert.message_key == keys[sub.id]  # the same Idempotency-Key as before
    states = {store.subscription(a.subscription_id).name: a.state for a in store.alerts()}
    assert states == {"Mail": "uncertain", "Hook": "sent"}


@pytest.mark.parametrize(
    "bad",
    [
        Subscription("", "email", "a@b.test"),
        Subscription("x", "fax", "a@b.test"),
        Subscription("x", "email", "not-an-address"),
        Subscription("x", "webhook", "ftp://bank.test/", secret="s" * 20),
        Subscription("x", "webhook", "https://bank.test/"),
        Subscription("x", "email", "a@b.test", threshold=0),
        Subscription("x", "email", "a@b.test", types=("dogecoin",)),
    ],
)
def test_bad_subscriptions_are_refused(bad):
    with pytest.raises(InvalidInput):
        validate_subscription(bad)


def test_secret_is_never_shown():
    sub = validate_subscription(
        Subscription(" Bank ", "webhook", "https://bank.test/", secret="super-secret-value-1")
    )
    assert sub.name == "Bank"
    assert "super-secret" not in repr(sub)
    assert "super-secret" not in str(sub.to_public())
    assert sub.to_public()["secret_set"] is True
    assert replace(sub, secret=None).to_public()["secret_set"] is False
