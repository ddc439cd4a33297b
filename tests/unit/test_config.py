"""The non-secret settings file: where it lives, what it holds, how it is written."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from close_tui.core.config import (
    DEFAULT_BASE_URL,
    AppSettings,
    Config,
    ConfigError,
    Profile,
    config_path,
    get_last_filter,
    load_config,
    resolve_base_url,
    save_config,
    set_last_filter,
    update_profile,
)
from close_tui.core.filters import EventFilter


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    for name in ("CLOSE_API_KEY", "CLOSE_ACCESS_TOKEN", "CLOSE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


def test_config_lives_under_xdg_config_home(isolated_home: Path) -> None:
    assert config_path() == isolated_home / "xdg-config" / "close-tui" / "config.json"


def test_missing_file_gives_defaults_and_writes_nothing() -> None:
    cfg = load_config()
    assert cfg == Config()
    assert cfg.profiles == {}
    assert cfg.settings.theme is None
    assert not config_path().exists()


def test_round_trip_keeps_every_field() -> None:
    cfg = Config(
        profiles={
            "default": Profile(
                base_url="http://127.0.0.1:8765/api/v1",
                organization_name="Acme [/] Inc",
                user_name="Jane Doe",
                last_filter={"lead_id": "lead_abc", "object_type": "activity.note"},
            ),
            "work": Profile(organization_name="Work Org"),
        },
        settings=AppSettings(theme="nord"),
    )
    save_config(cfg)
    assert load_config() == cfg


def test_file_is_private_and_written_without_leftovers() -> None:
    save_config(Config(settings=AppSettings(theme="nord")))
    path = config_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]
    assert json.loads(path.read_text())["settings"]["theme"] == "nord"


def test_a_failed_write_keeps_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    save_config(Config(settings=AppSettings(theme="old")))

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch, pytest.raises(OSError, match="No space"):
        patch.setattr(os, "replace", broken_replace)
        save_config(Config(settings=AppSettings(theme="new")))
    assert load_config().settings.theme == "old"
    assert [p.name for p in config_path().parent.iterdir()] == ["config.json"]


def test_unknown_fields_such_as_a_pasted_key_are_not_written_back() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    secret = "api_5bTzQh1sKxWvYp3Lm9Ra.4fGd8Jc2NnXe6Uo07xQz"
    path.write_text(
        json.dumps(
            {
                "profiles": {"default": {"api_key": secret, "organization_name": "Acme"}},
                "api_key": secret,
            }
        )
    )
    cfg = load_config()
    assert cfg.profile().organization_name == "Acme"
    save_config(cfg)
    assert secret not in path.read_text()


def test_the_models_have_no_place_for_a_key() -> None:
    names = set(Profile.model_fields) | set(Config.model_fields) | set(AppSettings.model_fields)
    assert not {n for n in names if "key" in n or "token" in n or "secret" in n}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not a valid close-tui config"),
        ('{"profiles": {"default": {"last_filter": [1, 2]}}}', "profiles.default.last_filter"),
        ("[]", "not a valid close-tui config"),
    ],
)
def test_a_broken_file_is_reported_with_its_path(content: str, says: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(path) in str(caught.value)
    assert says in str(caught.value)


def test_profile_accessor_creates_missing_profiles() -> None:
    cfg = Config()
    cfg.profile("work").base_url = "https://example.test/api/v1"
    assert cfg.profiles["work"].base_url == "https://example.test/api/v1"
    assert cfg.profile(None) is cfg.profiles["default"]


def test_last_filter_per_profile_round_trips_an_event_filter() -> None:
    chosen = EventFilter(
        lead_id="lead_abc",
        object_type="activity.note",
        date_updated__gte=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
    )
    set_last_filter("work", chosen.to_params())
    assert get_last_filter("default") is None
    saved = get_last_filter("work")
    assert saved == chosen.to_params()
    assert saved is not None and EventFilter.from_params(saved) == chosen
    set_last_filter("work", None)
    assert get_last_filter("work") is None


def test_update_profile_keeps_other_fields_and_rejects_unknown_ones() -> None:
    update_profile("default", base_url="http://127.0.0.1:1/api/v1")
    update_profile("default", organization_name="Acme")
    prof = load_config().profile()
    assert (prof.base_url, prof.organization_name) == ("http://127.0.0.1:1/api/v1", "Acme")
    with pytest.raises(TypeError):
        update_profile("default", api_key="nope")


def test_base_url_resolution_order() -> None:
    cfg = Config(profiles={"work": Profile(base_url="http://127.0.0.1:3/api/v1/")})
    env = {"CLOSE_BASE_URL": "http://127.0.0.1:2/api/v1"}
    assert resolve_base_url("http://127.0.0.1:1/api/v1/", "work", env, cfg) == (
        "http://127.0.0.1:1/api/v1"
    )
    assert resolve_base_url(None, "work", env, cfg) == "http://127.0.0.1:2/api/v1"
    assert resolve_base_url(None, "work", {}, cfg) == "http://127.0.0.1:3/api/v1"
    assert resolve_base_url(None, "other", {}, cfg) == DEFAULT_BASE_URL
    assert resolve_base_url(None, None, {}, cfg) == DEFAULT_BASE_URL
    assert DEFAULT_BASE_URL == "https://api.close.com/api/v1"


def test_base_url_resolution_reads_the_saved_config_by_default() -> None:
    update_profile(None, base_url="http://127.0.0.1:4/api/v1")
    assert resolve_base_url(None, None, {}) == "http://127.0.0.1:4/api/v1"
    assert resolve_base_url(None, "work", {}) == DEFAULT_BASE_URL


# ---------------------------------------------------------------------------- any bytes


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'{"profiles": "\xc3"}', "not UTF-8 text"),
        (b"[" * 100_000, "not a valid close-tui config"),
        (b"\x00\x01\x02", "not a valid close-tui config"),
    ],
    ids=["utf-16 bom", "cut utf-8", "deep", "binary"],
)
def test_bad_bytes_are_one_error_naming_the_file(raw: bytes, says: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(raw)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(path) in str(caught.value) and says in str(caught.value)
    assert caught.value.path == str(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("raw", [b"", b"  \n\t"], ids=["empty", "whitespace"])
def test_an_empty_file_is_an_empty_config(raw: bytes) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(raw)
    assert load_config() == Config()


def test_a_folder_where_the_file_should_be_is_one_error() -> None:
    config_path().mkdir(parents=True)
    with pytest.raises(ConfigError, match="Cannot read the config file"):
        load_config()


def test_config_error_is_a_close_error_for_the_ui() -> None:
    from close_tui.core.errors import CloseError, LocalFileError

    assert issubclass(ConfigError, LocalFileError) and issubclass(ConfigError, CloseError)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_give_a_config_or_one_config_error(raw: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_bytes(raw)
        try:
            load_config(path)
        except ConfigError as exc:
            assert str(path) in str(exc)
