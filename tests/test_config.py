"""Settings of ``serve``: environment, config file, command line; one-line errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import SettingsError
from tests.fake_bot_api import TOKEN


def args(**kwargs: object) -> argparse.Namespace:
    base = {"knowledge": None, "config": None, "webhook_url": None, "listen": None,
            "port": None, "secret_token": None}  # fmt: skip
    return argparse.Namespace(**{**base, **kwargs})


def test_settings_from_environment() -> None:
    settings = load_settings(
        args(),
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081",
            "BOT_ADMIN_IDS": "12, 34,",
            "BOT_KNOWLEDGE_DIR": "/srv/knowledge",
        },
    )
    assert settings.admin_ids == {12, 34}
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.knowledge_dir == Path("/srv/knowledge")
    assert TOKEN not in repr(settings)
    assert settings.is_admin(12) and not settings.is_admin(None) and not settings.is_admin(56)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "  "}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "does not look like a bot token"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_ADMIN_IDS": "12,@boss"}, "not a numeric"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": "localhost"}, "http(s) URL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_WEBHOOK_PORT": "http"}, "whole number"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_WEBHOOK_URL": "https://bot.example.org/hook"},
            "export BOT_WEBHOOK_SECRET=",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "BOT_WEBHOOK_URL": "http://bot.example.org/hook",
                "BOT_WEBHOOK_SECRET": "s3cret",
            },
            "must be an https URL",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "BOT_WEBHOOK_URL": "https://bot.example.org/",
                "BOT_WEBHOOK_SECRET": "s3cret",
            },
            "needs a path",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "BOT_WEBHOOK_URL": "https://bot.example.org/hook",
                "BOT_WEBHOOK_SECRET": "not secret!",
            },
            "BOT_WEBHOOK_SECRET may hold only",
        ),
    ],
)
def test_settings_errors_are_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(args(), env)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_settings_from_config_file_environment_and_command_line(tmp_path: Path, suffix: str):
    config = tmp_path / f"bot{suffix}"
    if suffix == ".toml":
        config.write_text(
            f'telegram_bot_token = "{TOKEN}"\nBOT_ADMIN_IDS = [1, 2]\nBOT_WEBHOOK_PORT = 9000\n'
        )
    else:
        config.write_text(f'TELEGRAM_BOT_TOKEN: "{TOKEN}"\nBOT_ADMIN_IDS: "1,2"\n'
                          "BOT_WEBHOOK_PORT: 9000\n")  # fmt: skip
    settings = load_settings(args(config=config), {"BOT_ADMIN_IDS": "3"})
    assert settings.token == TOKEN
    assert settings.admin_ids == {3}  # the environment wins over the file
    assert settings.port == 9000
    assert load_settings(args(config=config, port=8443), {}).port == 8443  # the command line wins
    config.write_text("BOT_NO_SUCH_THING = 1\n" if suffix == ".toml" else "BOT_NO_SUCH: 1\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(args(config=config), {})


def test_knowledge_folder_defaults_to_the_environment_then_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.config import default_knowledge

    assert default_knowledge({"BOT_KNOWLEDGE_DIR": "/srv/kb"}) == Path("/srv/kb")
    (tmp_path / "knowledge").mkdir()
    monkeypatch.chdir(tmp_path)
    assert default_knowledge({}) == Path("knowledge")


def test_no_knowledge_folder_says_how_to_pick_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import config

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config, "CHECKOUT", tmp_path / "not-a-checkout")
    with pytest.raises(SettingsError) as error:
        config.default_knowledge({})
    assert "--knowledge DIR" in str(error.value) and "BOT_KNOWLEDGE_DIR" in str(error.value)


def test_cache_folder_is_chosen_once_for_every_command() -> None:
    from bot.config import cache_dir_of, resolve_cache_dir

    assert resolve_cache_dir(True, "/x", {}) is None
    assert resolve_cache_dir(False, "/x", {}) == Path("/x")
    assert resolve_cache_dir(False, None, {"XDG_CACHE_HOME": "/c"}) == Path("/c/claimbot")
    assert cache_dir_of(
        argparse.Namespace(cache=None, no_cache=False), {"BOT_CACHE_DIR": "/e"}
    ) == (Path("/e"))
    settings = load_settings(args(no_cache=True), {"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.cache_dir is None
    settings = load_settings(args(), {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_CACHE_DIR": "/e"})
    assert settings.cache_dir == Path("/e")


def test_webhook_with_https_and_a_secret_is_accepted() -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "BOT_WEBHOOK_SECRET": "s3cret-token"}
    settings = load_settings(args(webhook_url="https://bot.example.org/telegram"), env)
    assert settings.webhook_path == "telegram" and settings.secret_token == "s3cret-token"
    assert "s3cret-token" not in repr(settings)


def test_data_dir_defaults_to_a_per_user_data_folder(tmp_path: Path) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN}
    assert load_settings(args(), {**env, "XDG_DATA_HOME": str(tmp_path)}).data_dir == (
        tmp_path / "claimbot"
    )
    assert load_settings(args(), {**env, "HOME": str(tmp_path)}).data_dir.name == "claimbot"
    chosen = {**env, "BOT_DATA_DIR": str(tmp_path / "d")}
    assert load_settings(args(), chosen).data_dir == tmp_path / "d"
    assert load_settings(args(data_dir=tmp_path / "cli"), chosen).data_dir == tmp_path / "cli"
