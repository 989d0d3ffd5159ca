"""Configuration of ``python -m bot serve``: the environment, a config file, the command line.

Every setting has an environment variable; a config file (``--config FILE``,
TOML or YAML) may hold the same names, and the command line wins over both::

    command line  >  environment  >  config file  >  default

==========================  ===================================================
``TELEGRAM_BOT_TOKEN``      required; the token @BotFather gave you
``TELEGRAM_API_BASE_URL``   a self-hosted Bot API server, e.g.
                            ``http://127.0.0.1:8081/bot`` (the token is appended)
``BOT_ADMIN_IDS``           numeric Telegram user ids allowed to ``/reload``,
                            ``/stats`` and ``/feedback``, comma-separated
``BOT_KNOWLEDGE_DIR``       the knowledge folder
``BOT_CACHE_DIR``           where the index cache lives (default
                            ``~/.cache/claimbot``; ``--no-cache`` for none)
``BOT_DATA_DIR``            the bot's SQLite store: answers behind buttons, reader
                            feedback (default ``$XDG_DATA_HOME/claimbot``, else
                            ``~/.local/share/claimbot``; also ``--data-dir``)
``BOT_WEBHOOK_URL``         serve a webhook at this public URL instead of polling
``BOT_WEBHOOK_LISTEN``      webhook listen address (default 127.0.0.1)
``BOT_WEBHOOK_PORT``        webhook listen port (default 8080)
``BOT_WEBHOOK_SECRET``      the webhook secret token Telegram sends in each request
                            (required with a webhook)
``BOT_QUESTIONS_PER_MINUTE``  questions one person may ask per minute (default 10)
``BOT_LOG_LEVEL``           DEBUG, INFO (default), WARNING, ERROR
``BOT_EMBEDDING_MODEL``     the sentence-embedding model: a fastembed model name,
                            a folder holding an ONNX export, or ``off`` (BM25 alone)
==========================  ===================================================

This module knows nothing of Telegram: it only reads and checks values, so
``python -m bot --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.errors import SettingsError

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
BASE_URL_ENV = "TELEGRAM_API_BASE_URL"
ADMIN_IDS_ENV = "BOT_ADMIN_IDS"
KNOWLEDGE_ENV = "BOT_KNOWLEDGE_DIR"
CACHE_ENV = "BOT_CACHE_DIR"
DATA_ENV = "BOT_DATA_DIR"
WEBHOOK_URL_ENV = "BOT_WEBHOOK_URL"
WEBHOOK_LISTEN_ENV = "BOT_WEBHOOK_LISTEN"
WEBHOOK_PORT_ENV = "BOT_WEBHOOK_PORT"
WEBHOOK_SECRET_ENV = "BOT_WEBHOOK_SECRET"
RATE_ENV = "BOT_QUESTIONS_PER_MINUTE"
LOG_LEVEL_ENV = "BOT_LOG_LEVEL"
MODEL_ENV = "BOT_EMBEDDING_MODEL"
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

KNOWN_NAMES = (
    TOKEN_ENV,
    BASE_URL_ENV,
    ADMIN_IDS_ENV,
    KNOWLEDGE_ENV,
    CACHE_ENV,
    DATA_ENV,
    WEBHOOK_URL_ENV,
    WEBHOOK_LISTEN_ENV,
    WEBHOOK_PORT_ENV,
    WEBHOOK_SECRET_ENV,
    RATE_ENV,
    LOG_LEVEL_ENV,
    MODEL_ENV,
)

#: The source checkout this module lives in, when it does (an editable install).
CHECKOUT = Path(__file__).resolve().parent.parent
#: The checkout's own knowledge folder: the default when ./knowledge does not exist.
REPO_KNOWLEDGE = CHECKOUT / "knowledge"
DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_QUESTIONS_PER_MINUTE = 10
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# "123456789:AAH..." — digits, a colon, then letters, digits, '-' and '_'.
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# Telegram's rule for the webhook secret token: 1-256 of A-Z a-z 0-9 _ -
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class Settings:
    """Everything ``serve`` needs, checked. ``repr`` never shows the token."""

    token: str = field(repr=False)
    knowledge_dir: Path
    #: None: no index cache (build from the YAML at every start and reload).
    cache_dir: Path | None = None
    base_url: str | None = None
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str | None = None
    listen: str = DEFAULT_LISTEN
    port: int = DEFAULT_PORT
    secret_token: str | None = field(default=None, repr=False)
    questions_per_minute: int = DEFAULT_QUESTIONS_PER_MINUTE
    log_level: str = "INFO"
    #: The sentence-embedding model: a fastembed name, an ONNX export folder, or "off".
    embedding_model: str = DEFAULT_MODEL
    #: The bot's SQLite store (answers behind buttons, feedback); see resolve_data_dir.
    data_dir: Path = field(default_factory=lambda: resolve_data_dir(None))

    @property
    def base_file_url(self) -> str | None:
        """The file-download URL that goes with ``base_url`` (``…/bot`` → ``…/file/bot``)."""
        if self.base_url is None:
            return None
        if self.base_url.endswith("/bot"):
            return self.base_url.removesuffix("/bot") + "/file/bot"
        return self.base_url

    @property
    def webhook_path(self) -> str:
        """The path the webhook server listens on: the path of the public webhook URL."""
        return urlsplit(self.webhook_url or "").path.lstrip("/")

    def is_admin(self, user_id: int | None) -> bool:
        """True for the numeric ids in ``BOT_ADMIN_IDS``; never by username."""
        return user_id is not None and user_id in self.admin_ids

    def secrets(self) -> tuple[str, ...]:
        """The strings logs must never show."""
        return tuple(s for s in (self.token, self.secret_token) if s)


def default_knowledge(environ: Mapping[str, str] | None = None) -> Path:
    """$BOT_KNOWLEDGE_DIR, else ./knowledge, else the checkout's knowledge/.

    The last applies only to a source checkout (an editable install): an
    installed package ships no knowledge base. Raises SettingsError saying how
    to pick one when none is found.
    """
    env = os.environ if environ is None else environ
    if env.get(KNOWLEDGE_ENV, "").strip():
        return Path(env[KNOWLEDGE_ENV])
    if Path("knowledge").is_dir():
        return Path("knowledge")
    if (CHECKOUT / "pyproject.toml").is_file() and REPO_KNOWLEDGE.is_dir():
        return REPO_KNOWLEDGE
    raise SettingsError(
        "no knowledge folder found (no ./knowledge here): pass --knowledge DIR "
        f"or set {KNOWLEDGE_ENV}=DIR"
    )


def resolve_cache_dir(
    no_cache: bool, chosen: str | Path | None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The index cache folder: None for --no-cache, else the one chosen, else
    $XDG_CACHE_HOME/claimbot, else ~/.cache/claimbot."""
    if no_cache:
        return None
    if chosen is not None and str(chosen).strip():
        return Path(chosen)
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "claimbot"


def resolve_data_dir(chosen: str | Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """The bot's data folder: the one chosen, else $BOT_DATA_DIR, else
    $XDG_DATA_HOME/claimbot, else ~/.local/share/claimbot."""
    env = os.environ if environ is None else environ
    if chosen is not None and str(chosen).strip():
        return Path(chosen).expanduser()
    if env.get(DATA_ENV, "").strip():
        return Path(env[DATA_ENV]).expanduser()
    base = env.get("XDG_DATA_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".local" / "share") / "claimbot"


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """``--data-dir``: shared by serve and feedback."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        default=None,
        help=f"the bot's SQLite store of answers and feedback (default: ${DATA_ENV}, else "
        "$XDG_DATA_HOME/claimbot, else ~/.local/share/claimbot)",
    )


def add_knowledge_folder(parser: argparse.ArgumentParser) -> None:
    """``--knowledge DIR``: every command that reads a knowledge folder."""
    parser.add_argument(
        "--knowledge",
        "-k",
        type=Path,
        metavar="DIR",
        default=None,
        help=f"knowledge folder (default: ${KNOWLEDGE_ENV}, else ./knowledge, "
        "else the source checkout's knowledge/)",
    )


def add_knowledge_arguments(parser: argparse.ArgumentParser) -> None:
    """``--knowledge``, ``--cache``, ``--no-cache`` and ``--model``: ask, eval and serve."""
    add_knowledge_folder(parser)
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        default=None,
        help=f"index cache folder (default: ${CACHE_ENV}, else ~/.cache/claimbot); an "
        "unchanged knowledge base then starts from the cache instead of the YAML",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write the index cache",
    )
    parser.add_argument(
        "--model",
        metavar="NAME|DIR|off",
        default=None,
        help="sentence-embedding model for hybrid search: a fastembed model name, a folder "
        "holding an ONNX export, or 'off' for BM25 alone (default: $BOT_EMBEDDING_MODEL, "
        "else sentence-transformers/all-MiniLM-L6-v2)",
    )


def cache_dir_of(
    args: argparse.Namespace | None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The cache folder the options ask for (``--cache``, $BOT_CACHE_DIR), or None for
    ``--no-cache``."""
    env = os.environ if environ is None else environ
    chosen = getattr(args, "cache", None) or env.get(CACHE_ENV) or None
    return resolve_cache_dir(getattr(args, "no_cache", False), chosen, env)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` subcommand's options."""
    add_knowledge_arguments(parser)
    add_data_argument(parser)
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=None,
        help="a TOML or YAML file with the same names as the environment variables "
        "(the environment wins over it)",
    )
    parser.add_argument(
        "--webhook-url",
        metavar="URL",
        default=None,
        help="receive updates by webhook at this public https URL (behind a reverse proxy) "
        f"instead of long polling (${WEBHOOK_URL_ENV})",
    )
    parser.add_argument(
        "--listen",
        metavar="ADDRESS",
        default=None,
        help=f"webhook listen address (default {DEFAULT_LISTEN}; ${WEBHOOK_LISTEN_ENV})",
    )
    parser.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        default=None,
        help=f"webhook listen port (default {DEFAULT_PORT}; ${WEBHOOK_PORT_ENV})",
    )
    parser.add_argument(
        "--secret-token",
        metavar="SECRET",
        default=None,
        help="webhook secret token: Telegram sends it with every update and others cannot "
        f"(${WEBHOOK_SECRET_ENV}; better there than on the command line)",
    )


def read_config_file(path: Path) -> dict[str, Any]:
    """A config file's settings, keyed by upper-case environment variable name."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(raw.decode("utf-8")) or {}
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise SettingsError(f"config file {path} is not valid: {detail}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path} must hold NAME = value pairs")
    config = {str(k).upper(): v for k, v in data.items()}
    unknown = sorted(set(config) - set(KNOWN_NAMES))
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown setting {', '.join(unknown)} "
            f"(known: {', '.join(KNOWN_NAMES)})"
        )
    return config


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_admin_ids(value: Any) -> frozenset[int]:
    """``"123, 456"`` or ``[123, 456]`` → {123, 456}; usernames are refused."""
    if value is None:
        return frozenset()
    items = value if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    ids = set()
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not re.fullmatch(r"-?\d+", text):
            raise SettingsError(
                f"{ADMIN_IDS_ENV}: {text!r} is not a numeric Telegram user id; "
                "usernames can change hands, so admins are listed by id (e.g. 123456789)"
            )
        ids.add(int(text))
    return frozenset(ids)


def _base_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{BASE_URL_ENV} must be an http(s) URL such as http://127.0.0.1:8081/bot, "
            f"got {value!r}"
        )
    url = value.rstrip("/")
    # A bare host ("http://127.0.0.1:8081") means the standard /bot<token>/ layout.
    return url + "/bot" if parts.path in ("", "/") else url


def _int(name: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {number}")
    return number


def load_settings(
    args: argparse.Namespace | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Collect and check the settings; raise SettingsError with a one-line reason."""
    env = os.environ if environ is None else environ
    config_path = getattr(args, "config", None)
    config = read_config_file(Path(config_path)) if config_path else {}

    def get(name: str, cli: Any = None) -> Any:
        if cli is not None:
            return cli
        if env.get(name, "").strip():
            return env[name]
        return config.get(name)

    token = _text(get(TOKEN_ENV))
    if token is None:
        raise SettingsError(
            f"{TOKEN_ENV} is not set: get a token from @BotFather and export {TOKEN_ENV}=..."
        )
    if not _TOKEN.match(token):
        raise SettingsError(
            f"{TOKEN_ENV} does not look like a bot token (digits, a colon, then letters, "
            "e.g. 123456789:AAH...); copy it again from @BotFather"
        )

    knowledge = get(KNOWLEDGE_ENV, getattr(args, "knowledge", None))
    if knowledge is None:
        knowledge = default_knowledge({})
    cache_dir = resolve_cache_dir(
        getattr(args, "no_cache", False), get(CACHE_ENV, getattr(args, "cache", None)), env
    )

    webhook_url = _text(get(WEBHOOK_URL_ENV, getattr(args, "webhook_url", None)))
    secret = _text(get(WEBHOOK_SECRET_ENV, getattr(args, "secret_token", None)))
    if secret is not None and not _SECRET.match(secret):
        raise SettingsError(
            f"{WEBHOOK_SECRET_ENV} may hold only A-Z, a-z, 0-9, '_' and '-' (1-256 characters)"
        )
    if webhook_url is not None:
        check_webhook(webhook_url, secret)

    port = get(WEBHOOK_PORT_ENV, getattr(args, "port", None))
    rate = get(RATE_ENV)
    level = (_text(get(LOG_LEVEL_ENV)) or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(
            f"{LOG_LEVEL_ENV} must be one of {', '.join(LOG_LEVELS)}, got {level!r}"
        )

    return Settings(
        token=token,
        knowledge_dir=Path(knowledge),
        cache_dir=cache_dir,
        base_url=_base_url(_text(get(BASE_URL_ENV))),
        admin_ids=parse_admin_ids(get(ADMIN_IDS_ENV)),
        webhook_url=webhook_url,
        listen=_text(get(WEBHOOK_LISTEN_ENV, getattr(args, "listen", None))) or DEFAULT_LISTEN,
        port=DEFAULT_PORT if port is None else _int("the webhook port", port, 1, 65535),
        secret_token=secret,
        questions_per_minute=(
            DEFAULT_QUESTIONS_PER_MINUTE if rate is None else _int(RATE_ENV, rate, 1, 10_000)
        ),
        log_level=level,
        embedding_model=_text(get(MODEL_ENV, getattr(args, "model", None))) or DEFAULT_MODEL,
        data_dir=resolve_data_dir(_text(get(DATA_ENV, getattr(args, "data_dir", None))), env),
    )


#: How to make a webhook secret, for the message that asks for one.
MAKE_SECRET = "head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'"


def check_webhook(url: str, secret: str | None) -> None:
    """A webhook needs an https URL with a path, and a secret token: without one,
    anyone who can reach the port could post forged updates (admin ones too)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise SettingsError(
            f"--webhook-url must be an https URL such as https://bot.example.org/telegram "
            f"(Telegram sends webhooks over HTTPS only), got {url!r}"
        )
    if not parts.path.strip("/"):
        raise SettingsError(
            f"--webhook-url needs a path, such as https://{parts.netloc}/telegram, got {url!r}"
        )
    if secret is None:
        raise SettingsError(
            f"webhook mode needs a secret token, or anyone who can reach the port can post "
            f'forged updates: export {WEBHOOK_SECRET_ENV}="$({MAKE_SECRET})"'
        )
