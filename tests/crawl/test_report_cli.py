"""``keepdown report``: URLs from arguments, a file or stdin; refusals; subcommands first."""

from __future__ import annotations

import click
from click.testing import CliRunner

from keepdown.app import open_crawl_services
from keepdown.cli import cli
from keepdown.cli.report_cmd import command as report_group


def _run(settings, *args: str, input: str | None = None):
    db = f"sqlite:///{settings.data_dir}/kd.sqlite3"
    return CliRunner().invoke(cli, ["--database-url", db, "report", *args], input=input), db


def test_urls_from_a_file_and_stdin_deduplicated(settings, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "# hotline batch\nhttp://a.example/x\n\nhttp://A.example/x#2\nhttp://b.example/\n"
    )
    result, db = _run(settings, "--file", str(listing), "--reporter-type", "hotline")
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.output.splitlines()]
    assert [(kind, url) for _, kind, url in lines] == [
        ("new", "http://a.example/x"),
        ("repeat", "http://a.example/x"),
        ("new", "http://b.example/"),
    ]
    assert lines[0][0] == lines[1][0] != lines[2][0]
    again, _ = _run(settings, "--file", "-", input="http://b.example/\n")
    assert again.output.split("\t")[:2] == [lines[2][0], "repeat"]
    services = open_crawl_services(settings.replace(database_url=db))
    try:
        reports = services.reports.list_reports()
        assert {(r.url, r.times_reported, r.reporter_type) for r in reports} == {
            ("http://a.example/x", 2, "hotline"),
            ("http://b.example/", 2, "hotline"),
        }
        assert services.storage.events.count("url_reported") == 4
    finally:
        services.close()


def test_bad_urls_are_refused_but_good_ones_kept(settings):
    result, _ = _run(settings, "http://ok.example/", "file:///etc/passwd", "javascript:x")
    assert result.exit_code == 65
    assert "2 of 3 URLs were refused" in result.output
    assert result.output.count("\tnew\t") == 1
    nothing, _ = _run(settings)
    assert nothing.exit_code == 2


def test_a_subcommand_wins_over_the_default(settings):
    @click.command("demo-sub")
    def demo() -> None:
        click.echo("subcommand ran")

    report_group.add_command(demo)
    try:
        result, _ = _run(settings, "demo-sub")
        assert result.output == "subcommand ran\n"
    finally:
        report_group.commands.pop("demo-sub")


def test_scope_options_shape_the_crawl_and_caps_hold(settings):
    args = ["http://c.example/", "--max-depth", "2", "--max-pages", "40", "--any-site"]
    args += ["--include", "/gallery/", "--exclude", r"\.pdf$", "--max-bytes", "1000000"]
    result, db = _run(settings, *args)
    assert result.exit_code == 0, result.output
    services = open_crawl_services(settings.replace(database_url=db))
    try:
        crawl = services.crawls.get(services.reports.list_reports()[0].crawl_id)
        assert (crawl.max_depth, crawl.max_pages, crawl.max_bytes, crawl.same_site) == (
            2,
            40,
            1_000_000,
            False,
        )
        assert (crawl.include, crawl.exclude) == (("/gallery/",), (r"\.pdf$",))
    finally:
        services.close()
    over, _ = _run(settings, "http://d.example/", "--max-depth", "999")
    assert over.exit_code == 65
    assert "crawl_cap_depth" in over.output
    bad, _ = _run(settings, "http://d.example/", "--include", "([")
    assert bad.exit_code == 65
    assert "bad include pattern" in bad.output
