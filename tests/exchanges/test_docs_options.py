"""docs/exchanges.md names every option and secret each kind of feed takes."""

from __future__ import annotations

from pathlib import Path

from keepdown.exchanges.clients import KINDS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "exchanges.md").read_text(encoding="utf-8")


def test_every_option_and_secret_is_documented() -> None:
    missing = [
        f"{kind}: {name}"
        for kind, spec in KINDS.items()
        for name in (*spec.options, *spec.secrets, *spec.optional_secrets)
        if f"| `{name}` |" not in DOC
    ]
    assert missing == []
