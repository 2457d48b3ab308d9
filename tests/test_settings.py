import importlib.util
import sys
from pathlib import Path

import pytest

from keepdown.errors import ConfigurationError
from keepdown.settings import SETTINGS, Settings, load_settings
from keepdown.settings.setting import DURATION_CAPS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _settings_doc():
    spec = importlib.util.spec_from_file_location("settings_doc", ROOT / "scripts/settings_doc.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("settings_doc", module)
    spec.loader.exec_module(module)
    return module


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`{s.env_var}`" not in text]
    assert not missing, f"settings missing from docs/settings.md: {missing}"


def test_settings_page_is_generated_from_the_declarations():
    rendered = _settings_doc().render()
    assert (DOCS / "settings.md").read_text(encoding="utf-8") == rendered, (
        "docs/settings.md is stale: run python scripts/settings_doc.py"
    )


def test_values_are_typed_attributes_and_the_class_holds_the_declarations():
    s = load_settings(environ={})
    assert isinstance(s.max_image_pixels, int)
    assert isinstance(s.crawl_timeout_seconds, float)
    assert Settings.max_image_pixels.name == "max_image_pixels"
    with pytest.raises(AttributeError):
        s.no_such_setting  # noqa: B018


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("notice_watch_every_hours", "0"),
        ("notice_watch_every_hours", "-3"),
        ("notice_watch_every_hours", "half"),
        ("notice_recheck_floor_minutes", "0"),
        ("notice_recheck_floor_minutes", "1.5"),
        ("notice_recheck_error_hours", "1e300"),  # no upper bound used to mean an overflow
        ("crawl_timeout_seconds", "604801"),
        ("notice_link_days", "36600"),
        ("crawl_timeout_seconds", "0"),
        ("crawl_lease_seconds", "-1"),
        ("pdq_quality_floor", "101"),
        ("api_port", "70000"),
        ("worker_periodic_seconds", "nan"),
        ("index_refresh_seconds", "inf"),
        ("max_image_pixels", "\u0661\u0662"),  # Arabic-Indic digits: int() takes them, we don't
        ("smtp_tls", "ssl"),
        ("hash_mode", "quick"),
    ],
)
def test_out_of_range_values_name_the_setting(name, raw):
    variable = "KEEPDOWN_" + name.upper()
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(environ={variable: raw})
    with pytest.raises(ConfigurationError, match=name):
        load_settings(environ={}).replace(**{name: raw})


def test_every_duration_and_count_has_a_range():
    """A number that can be nonsense (a negative duration, a zero cadence) must say what it
    accepts; only settings where any value means something are exempt."""
    unbounded = [
        s.name
        for s in SETTINGS
        if s.type in (int, float) and not s.accepts and not s.name.startswith("rate_limit_")
    ]
    assert unbounded == []


def test_every_duration_has_a_unit_and_a_bound_a_date_can_take():
    """A setting named for its unit is bounded by it (issue 25, item 3), and its largest
    value still makes a date."""
    from datetime import UTC, datetime, timedelta

    durations = [s for s in SETTINGS if s.name.rsplit("_", 1)[-1] in DURATION_CAPS]
    assert len(durations) > 30
    for s in durations:
        unit = s.name.rsplit("_", 1)[-1]
        assert s.maximum is not None, s.name
        assert s.maximum <= DURATION_CAPS[unit], s.name
        assert s.minimum is not None or s.above is not None, s.name
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(**{unit: s.maximum})
        assert "<=" in s.accepts, s.name  # docs/settings.md says it


def test_choices_ignore_case():
    assert load_settings(environ={"KEEPDOWN_SMTP_TLS": " STARTTLS "}).smtp_tls == "starttls"


def test_every_setting_has_help_and_a_unique_name():
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(s.help.strip() for s in SETTINGS)


def test_environment_overrides_default_and_is_typed():
    s = load_settings(
        environ={"KEEPDOWN_MAX_IMAGE_PIXELS": "1_000", "KEEPDOWN_MATCH_DIHEDRAL": "no"}
    )
    assert s.max_image_pixels == 1000
    assert s.match_dihedral is False


def test_bad_value_is_a_clear_configuration_error():
    with pytest.raises(ConfigurationError, match="KEEPDOWN_MAX_IMAGE_PIXELS"):
        load_settings(environ={"KEEPDOWN_MAX_IMAGE_PIXELS": "lots"})


def test_config_file_then_env_then_overrides(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text("[keepdown]\npdq_quality_floor = 60\npdq_match_threshold = 20\n")
    s = load_settings(
        config_file=cfg,
        environ={"KEEPDOWN_PDQ_MATCH_THRESHOLD": "25"},
        overrides={"pdq_quality_floor": 70},
    )
    assert s.pdq_match_threshold == 25
    assert s.pdq_quality_floor == 70


def test_unknown_setting_in_file_is_refused(tmp_path):
    cfg = tmp_path / "k.toml"
    cfg.write_text("no_such_thing = 1\n")
    with pytest.raises(ConfigurationError, match="no_such_thing"):
        load_settings(config_file=cfg, environ={})


def test_default_database_is_sqlite_in_data_dir(tmp_path):
    s = load_settings(environ={}, overrides={"data_dir": str(tmp_path)})
    assert s.resolved_database_url == f"sqlite:///{tmp_path}/keepdown.sqlite3"


def test_the_fast_simulation_settings_of_the_notices_page_load(tmp_path):
    """docs/notices.md, "A fast simulation": its settings file is valid, and the cadences it
    promises are the ones keepdown then uses (issue 24, item 5)."""
    from datetime import timedelta

    from keepdown.notices.policy import policy_for
    from keepdown.notices.providers import Provider

    page = (DOCS / "notices.md").read_text()
    block = page.split("## A fast simulation", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = tmp_path / "fast.toml"
    cfg.write_text(block)
    s = load_settings(config_file=cfg, environ={})
    sim = Provider(name="Sim", recheck_minutes=1, renotice_minutes=10, escalate_minutes=30)
    policy = policy_for(sim, s)
    minute = timedelta(minutes=1)
    assert (policy.cadence.recheck, policy.cadence.renotice) == (minute, 10 * minute)
    assert policy.cadence.escalate_after == 30 * minute
    assert (policy.watch_every, policy.confirm_after) == (3 * minute, minute)
    assert policy.error_retry == timedelta(hours=0.02)
    assert s.notice_worker_seconds == 10
