"""Which doors hash the robust query variants: the ``robust_doors`` setting, and only while a
bank opted in (otherwise the variants would find nothing and cost CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepdown.app import Runtime
from keepdown.errors import ConfigurationError
from keepdown.settings import load_settings


def _settings(tmp_path: Path, **overrides: object):
    values = {"data_dir": str(tmp_path / "data"), "operator_organisation": "hotline", **overrides}
    return load_settings(environ={}, overrides=values)


def test_crawls_and_scans_by_default_uploads_as_an_option(tmp_path: Path) -> None:
    with Runtime.open(_settings(tmp_path)) as runtime:
        runtime.auth.ensure_organisation("hotline")
        runtime.banks.create_bank("wide", owner="hotline")
        chain = runtime.matcher
        assert not any(chain.wants_robust(d) for d in ("crawl", "scan", "upload"))  # no opt-in
        runtime.banks.change("wide", robust=True)
        chain.refresh()
        assert [chain.wants_robust(d) for d in ("crawl", "scan", "match", "recheck")] == [True] * 4
        assert not chain.wants_robust("upload")
        assert not chain.wants_robust("lookup")  # a bare hash has no picture to vary
        runtime.banks.set_enabled("wide", False)
        chain.refresh()
        assert not chain.wants_robust("crawl")  # a disabled bank is not searched
    with Runtime.open(_settings(tmp_path, robust_doors="upload")) as runtime:
        runtime.banks.set_enabled("wide", True)
        runtime.matcher.refresh()
        assert runtime.matcher.wants_robust("upload")
        assert not runtime.matcher.wants_robust("crawl")


def test_an_unknown_door_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path, robust_doors="crawl,uploads")
    with Runtime.open(settings) as runtime, pytest.raises(ConfigurationError, match="uploads"):
        runtime.matcher  # noqa: B018 - built on first use
