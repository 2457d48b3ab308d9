"""Notices are not sent with response links a provider cannot open (issue 15): they went out
with ``http://127.0.0.1:8000/...`` links (the ``notice_public_base_url`` default) and no
warning. Outside the demo, delivery waits until the setting names a reachable address, and the
message says which setting to set."""

from __future__ import annotations

import pytest

from keepdown.errors import ConfigurationError
from keepdown.notices.links import check_public_base_url
from keepdown.settings import load_settings


def _settings(**overrides: object):
    return load_settings(environ={}, overrides=overrides)


@pytest.mark.parametrize(
    "url",
    ["", "http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]/", "keepdown.org"],
)
def test_unset_or_loopback_links_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        check_public_base_url(_settings(notice_public_base_url=url))
    assert "notice_public_base_url" in refused.value.message
    assert "KEEPDOWN_NOTICE_PUBLIC_BASE_URL" in refused.value.message
    assert refused.value.exit_code == 78


def test_the_default_is_refused_and_a_real_address_is_not() -> None:
    with pytest.raises(ConfigurationError):
        check_public_base_url(_settings())
    check_public_base_url(_settings(notice_public_base_url="https://keepdown.hotline.example"))
    check_public_base_url(_settings(notice_links_on_loopback=True))  # the demo, tests


def test_the_notice_pass_drafts_and_plans_but_does_not_deliver(tmp_path) -> None:
    import asyncio

    from keepdown.app import open_notice_services

    settings = _settings(data_dir=str(tmp_path / "d"))
    services = open_notice_services(settings)
    try:
        with pytest.raises(ConfigurationError, match="notice_public_base_url"):
            asyncio.run(services.service.send_due())
    finally:
        services.close()
