"""Write docs/settings.md from the declarations in keepdown/settings (the one source).

Run after adding or changing a setting: ``python scripts/settings_doc.py``. tests/test_settings.py
fails while the page and the declarations disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from keepdown.settings import GROUPS, Setting

PAGE = Path(__file__).resolve().parent.parent / "docs" / "settings.md"

INTRO = """\
# Settings

Every setting is declared once, typed, in `keepdown/settings/` (one module per group below), with
its default, its help and the values it accepts; this page is generated from those declarations
by `python scripts/settings_doc.py` (a test fails when it is stale). Values come from, in
increasing priority: the defaults below, a TOML file (`KEEPDOWN_CONFIG` or
`keepdown --config FILE`, keys at top level or under `[keepdown]`), `KEEPDOWN_*` environment
variables, and command-line options. Booleans accept 1/0, true/false, yes/no, on/off; lists are
comma-separated in the environment; numbers may use `_` between digits. A value of the wrong
type, out of range or not among the choices stops keepdown with an error naming the setting.

Settings marked *secret* hold the **name of an environment variable** that holds the secret,
never the secret itself, so configuration files and logs never carry one.
"""


def _row(setting: Setting[object]) -> str:
    kind = "secret" if setting.secret else setting.type.__name__
    default = "" if setting.secret else f"`{setting.default!r}`"
    accepts = setting.accepts.replace("|", "\\|")
    return f"| `{setting.env_var}` | {kind} | {default} | {accepts} | {setting.help} |"


def render() -> str:
    parts = [INTRO]
    for title, settings in GROUPS:
        parts.append(f"\n## {title}\n")
        parts.append("| environment variable | type | default | accepts | what it does |")
        parts.append("| --- | --- | --- | --- | --- |")
        parts.extend(_row(s) for s in settings)
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE}\n")
