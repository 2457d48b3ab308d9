"""``keepdown blocklist``: export, delta, domains, appeals and keys from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from keepdown.app import Runtime
from keepdown.cli import cli
from keepdown.settings import load_settings

from .conftest import Locations


def test_the_command_line_round(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    settings = load_settings(environ={}, overrides={"data_dir": data})
    with Runtime.open(settings) as runtime:
        Locations(runtime.storage.engine, runtime.clock.now()).add(
            "http://img.h.test/1.jpg", runtime.clock.now()
        )

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--data-dir", data, "blocklist", *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert run("refresh").startswith("serial 1: 3 entries")
    assert "url/location\t1" in run("show")
    doc = json.loads(run("export", "--format", "json"))
    assert "http://img.h.test/1.jpg" in {e["target"] for e in doc["entries"]}
    run("domain", "add", "dedicated.test", "--reason", "made for it", "--analyst", "ana")
    assert "*.dedicated.test" in run("export", "--format", "rpz")
    assert "+dedicated.test" in run("delta", "--since", "1", "--format", "rpz")
    assert ".dedicated.test" in run("export", "--format", "squid-domains")
    assert "deny_info" in run("squid-config", "--dir", "/etc/squid")
    key_one = run("licensee-key", "isp-one").strip()
    assert key_one != run("licensee-key", "isp-two").strip()
    with Runtime.open(settings) as runtime:
        runtime.blocklist.service.appeal("dedicated.test", contact="", reason="mine")
    assert "open" in run("appeals")
    assert "upheld" in run("decide", "1", "--uphold", "--analyst", "ana", "--note", "ok")
    assert "dedicated.test" not in run("export", "--format", "rpz")
    run("domain", "lift", "dedicated.test", "--reason", "gone", "--analyst", "ana")
    with Runtime.open(settings) as runtime:
        actions = {r.action for r in runtime.auth.audit_log.list_records(limit=100)}
    assert {"blocklist.export", "blocklist.domain_list", "blocklist.appeal_decide"} <= actions
    assert "blocklist.feed_key" in actions
