"""The ``keepdown`` command: one click group, one module per verb group.

Verb groups register themselves in :data:`COMMAND_MODULES`; each module exposes a click
command or group named ``command``. Errors from the one error tree become a one-line message
on stderr and the error's exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import click

from keepdown.errors import KeepdownError
from keepdown.settings import load_settings

__all__ = ["main"]

#: Modules under keepdown.cli that each provide one verb (or verb group) as ``command``.
COMMAND_MODULES: tuple[str, ...] = (
    "hash_cmd",
    "match_cmd",
    "bank_cmd",
    "db_cmd",
    "init_cmd",
    "index_cmd",
    "serve_cmd",
    "org_cmd",
    "key_cmd",
    "user_cmd",
    "report_cmd",
    "crawl_cmd",
    "sightings_cmd",
    "transparency_cmd",
    "provider_cmd",
    "notices_cmd",
    "finance_cmd",
    "worker_cmd",
    "scan_cmd",
    "verify_cmd",
    "evidence_cmd",
    "regulator_cmd",
    "blocklist_cmd",
    "feed_cmd",
)


class KeepdownGroup(click.Group):
    """A click group that turns keepdown errors into clean messages and exit codes.

    Verbs load on demand: ``keepdown hash`` imports :mod:`keepdown.cli.hash_cmd` alone, not
    every verb's module (they import the whole application, FastAPI included, which cost
    4-6 s before the first hash). Each module ``<verb>_cmd`` provides the verb ``<verb>``
    (tests/test_cli_startup.py checks the names).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The verbs and their short help, read from their modules' source (``--help`` took
        ~7 s on a loaded machine when it imported every verb, and the application with them)."""
        names = [
            n for n in self.list_commands(ctx) if not getattr(self.commands.get(n), "hidden", 0)
        ]
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            text = loaded.get_short_help_str(limit=limit) if loaded else short_help(name, limit)
            rows.append((name, text))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*self.commands, *(_verb(name) for name in COMMAND_MODULES)])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _VERBS:
            self.add_command(importlib.import_module(_VERBS[cmd_name]).command, cmd_name)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeepdownError as exc:
            click.echo(f"keepdown: error: {exc.message}", err=True)
            for key, value in exc.details.items():
                if key != "errors":
                    click.echo(f"  {key}: {value}", err=True)
            for line in exc.details.get("errors", [])[:50]:
                click.echo(f"  {line}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=KeepdownGroup)
@click.option("--config", type=click.Path(dir_okay=False), help="TOML settings file.")
@click.option("--data-dir", help="Folder for the embedded database and indexes.")
@click.option("--database-url", help="SQLAlchemy database URL (default: SQLite in the data dir).")
@click.version_option(package_name="keepdown")
@click.pass_context
def cli(
    ctx: click.Context, config: str | None, data_dir: str | None, database_url: str | None
) -> None:
    """keepdown: find known abuse images, get them taken down, keep them down."""
    overrides = {k: v for k, v in {"data_dir": data_dir, "database_url": database_url}.items() if v}
    ctx.obj = load_settings(config_file=config, overrides=overrides)


def _verb(module: str) -> str:
    return module.removesuffix("_cmd")


_VERBS = {_verb(name): f"keepdown.cli.{name}" for name in COMMAND_MODULES}


#: The group's own options, taken wherever they are typed (``keepdown bank list --data-dir D``
#: as well as ``keepdown --data-dir D bank list``); no verb has an option of these names.
GLOBAL_OPTIONS = ("--config", "--data-dir", "--database-url")


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with the global options (and their values) moved before the verb."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in arg or i + 1 >= len(args):
                front.append(arg)
            else:
                front += [arg, args[i + 1]]
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def short_help(verb: str, limit: int = 45) -> str:
    """A verb's short help from its module's source, without importing it: the ``short_help``
    or the docstring of the module's top-level ``@click.command``/``@click.group``, shortened
    as click shortens it (tests/test_cli_startup.py checks they agree)."""
    module = _VERBS[verb].rsplit(".", 1)[1]
    tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and isinstance(decorator.func.value, ast.Name)
                and decorator.func.value.id == "click"
                and decorator.func.attr in ("command", "group")
            ):
                continue
            for keyword in decorator.keywords:
                if keyword.arg == "short_help" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
            doc = ast.get_docstring(node) or ""
            return click.Command(verb, help=doc).get_short_help_str(limit)
    return ""


def main(argv: list[str] | None = None) -> int:
    """Entry point for the ``keepdown`` script and ``python -m keepdown``."""
    try:
        cli.main(args=argv, prog_name="keepdown", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
