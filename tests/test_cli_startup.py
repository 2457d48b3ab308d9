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


def test_help_lists_every_verb_without_importing_them() -> None:
    # Issue 15: keepdown --help took ~7 s on a loaded machine (every verb imported, and the
    # application with them).
    probe = (
        "import sys\n"
        "from keepdown.cli import main\n"
        "main(['--help'])\n"
        "heavy = sorted(m for m in ('fastapi', 'keepdown.app', 'alembic', 'sqlalchemy', 'numba')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    for name in COMMAND_MODULES:
        assert f"  {name.removesuffix('_cmd')} " in out.stdout


def test_the_short_help_read_from_source_is_the_commands_own() -> None:
    from keepdown.cli import short_help

    for name in COMMAND_MODULES:
        command = importlib.import_module(f"keepdown.cli.{name}").command
        verb = name.removesuffix("_cmd")
        assert short_help(verb, 45) == command.get_short_help_str(45), verb


def test_global_options_work_after_the_verb(tmp_path) -> None:
    # Issue 15: --data-dir only worked before the verb.
    from click.testing import CliRunner

    from keepdown.cli import hoist_global_options

    assert hoist_global_options(["bank", "list", "--data-dir", "D", "--database-url=U"]) == [
        "--data-dir",
        "D",
        "--database-url=U",
        "bank",
        "list",
    ]
    assert hoist_global_options(["hash", "--", "--data-dir"]) == ["hash", "--", "--data-dir"]
    runner = CliRunner()
    made = runner.invoke(cli, ["org", "add", "acme", "--data-dir", str(tmp_path / "d")])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(cli, ["org", "list", "--data-dir", str(tmp_path / "d")])
    assert "acme" in listed.output
    other = runner.invoke(cli, ["--data-dir", str(tmp_path / "e"), "org", "list"])
    assert "acme" not in other.output
