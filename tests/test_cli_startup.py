"""The ``keepdown`` command loads only the verb it runs (start-up cost, docs/hashing.md)."""

from __future__ import annotations

import importlib
import subprocess
import sys

from keepdown.cli import COMMAND_MODULES, cli


def test_each_verb_module_provides_the_verb_named_after_it() -> None:
    for name in COMMAND_MODULES:
        command = importlib.import_module(f"keepdown.cli.{name}").command
        assert command.name == name.removesuffix("_cmd")
    assert set(cli.list_commands(None)) >= {n.removesuffix("_cmd") for n in COMMAND_MODULES}  # type: ignore[arg-type]


def test_hash_does_not_import_the_application() -> None:
    probe = (
        "import sys\n"
        "from keepdown.cli import main\n"
        "main(['hash', '--help'])\n"
        "heavy = sorted(m for m in ('fastapi', 'keepdown.app', 'alembic', 'sqlalchemy') "
        "if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
