"""Credentials stay secret: never stored, never logged, never in an error or a checkpoint."""

from __future__ import annotations

import json
import logging
import random

import pytest

from keepdown.errors import ConfigurationError, InvalidInput
from keepdown.exchanges.fakes import (
    FakeNcmec,
    FakeStopNcii,
    FakeThreatExchange,
    NcmecEntry,
    StopNciiHash,
    TeIndicator,
)
from keepdown.exchanges.model import check_secret_refs
from keepdown.exchanges.secrets import Secret, resolve
from tests.exchanges.conftest import ENV, EPOCH, Feeds, md5_hex, pdq_hex

SECRET_VALUES = [v for v in ENV.values()] + ["fake-app-secret"]


def test_a_feed_stores_where_secrets_are_never_what_they_are() -> None:
    assert check_secret_refs({"password": "NCMEC_PASSWORD"}) == {"password": "NCMEC_PASSWORD"}
    with pytest.raises(InvalidInput, match="environment variable"):
        check_secret_refs({"password": "hunter2!"})  # a pasted password is refused


def test_resolving_names_the_variable_not_the_value() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve("ncmec", {"password": "NCMEC_PASSWORD"}, environ={})
    assert "$NCMEC_PASSWORD" in caught.value.message
    secret = resolve("ncmec", {"password": "P"}, environ={"P": "hunter2"})["password"]
    assert repr(secret) == str(secret) == "Secret('***')"
    assert secret.reveal() == "hunter2"
    assert "hunter2" not in f"{secret} {secret!r} {[secret]}"


def test_no_secret_in_logs_checkpoints_or_descriptions(
    feeds: Feeds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(1)
    with FakeNcmec(page_size=3) as ncmec, FakeStopNcii() as stopncii, FakeThreatExchange() as te:
        stopncii.clock = feeds.clock.now().timestamp()
        ncmec.put(
            NcmecEntry(42, f"e{i}", EPOCH + i, fingerprints={"md5": md5_hex(rng)}) for i in range(7)
        )
        stopncii.put(StopNciiHash(pdq_hex(rng), EPOCH + i) for i in range(7))
        te.put(
            TeIndicator(str(i + 1), "HASH_MD5", md5_hex(rng), EPOCH + i, descriptors=[{"id": "9"}])
            for i in range(7)
        )
        made = [
            feeds.add("n", "ncmec", ncmec.url),
            feeds.add("s", "stopncii", stopncii.url, page_size=3),
            feeds.add("t", "threatexchange", te.url, privacy_group="303", page_size=3),
        ]
        stopncii.schedule({2: "503"})
        for feed in made:
            assert feeds.sync().run(feed).caught_up
        ncmec.password = "changed"  # a refusal: its error message must not carry a secret either
        feeds.clock.advance(3600)
        failed = feeds.sync().run(feeds.store.get_feed("n"))
    assert failed.error
    stored = json.dumps([feeds.store.get_state(f.id).checkpoint.to_json() for f in made])
    described = json.dumps([feeds.store.get_feed(f.name).describe() for f in made])
    events = json.dumps([e.to_dict() for e in feeds.storage.events.read()], default=str)
    for text in (caplog.text, stored, described, events, failed.error):
        for value in SECRET_VALUES:
            assert value not in text
    assert "access_token=***" in caplog.text  # httpx's own request lines, redacted
    assert Secret("x") != Secret("y")
