from pathlib import Path

import pytest

from keepdown.errors import ConfigurationError
from keepdown.settings import SETTINGS, load_settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`{s.env_var}`" not in text]
    assert not missing, f"settings missing from docs/settings.md: {missing}"


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
