"""Settings read from the environment, with embedded defaults for one machine."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

# The training site (HELPLINE_MODE=training) runs beside a live `make run` on the same
# machine: its own web port, embedded Redis, mail catcher and database by default.
TRAINING = os.environ.get("HELPLINE_MODE", "live") == "training"
EMBEDDED_REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "6381" if TRAINING else "6380"))
EMBEDDED_SMTP_PORT = int(os.environ.get("EMBEDDED_SMTP_PORT", "8026" if TRAINING else "8025"))
DEFAULT_PORT = "5001" if TRAINING else "8000"


class ConfigError(RuntimeError):
    """Raised when a setting required in production is missing."""


def _redis_place(url: str) -> tuple[str, int, str]:
    """(host, port, database) of a Redis URL, so two spellings of one server compare equal."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "127.0.0.1").lower()
    host = "127.0.0.1" if host in ("localhost", "::1") else host
    return host, parts.port or 6379, parts.path.strip("/") or "0"


def _training_redis(env) -> str:
    """TRAINING_REDIS_URL (or the training site's embedded Redis); never the live one."""
    live = env("REDIS_URL", f"redis://127.0.0.1:{env('EMBEDDED_REDIS_PORT', '6380')}/0")
    url = env("TRAINING_REDIS_URL", f"redis://127.0.0.1:{env('EMBEDDED_REDIS_PORT', '6381')}/0")
    if _redis_place(url) == _redis_place(live):
        raise ConfigError("TRAINING_REDIS_URL names the live site's Redis (REDIS_URL): the "
                          "training site would share its queues and keys. Give it its own "
                          "Redis (or database number). Helpline has not started.")
    return url


def _secret_key(instance_path: Path, production: bool) -> str:
    """Return SECRET_KEY from the environment, or one generated once into instance/."""
    key = os.environ.get("SECRET_KEY")
    if key and production and (len(key) < 32 or "change-me" in key.lower()):
        raise ConfigError("SECRET_KEY is the template's placeholder or shorter than 32 "
                          "characters. Make one with: python3 -c 'import secrets; "
                          "print(secrets.token_urlsafe(48))'. Helpline has not started.")
    if key:
        return key
    if production:
        raise ConfigError("SECRET_KEY must be set when HELPLINE_ENV=production")
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


ENVIRONMENTS = ("development", "production")


def helpline_env() -> str:
    """HELPLINE_ENV, which must be exactly development or production (a typo never
    silently gives development mode)."""
    value = os.environ.get("HELPLINE_ENV", "development")
    if value not in ENVIRONMENTS:
        raise ConfigError(
            f"HELPLINE_ENV must be 'development' or 'production', not {value!r}. "
            "Helpline has not started.")
    return value


MODES = ("live", "training")


def helpline_mode() -> str:
    """HELPLINE_MODE: live (the default) or training (the practice site)."""
    value = os.environ.get("HELPLINE_MODE", "live")
    if value not in MODES:
        raise ConfigError(f"HELPLINE_MODE must be 'live' or 'training', not {value!r}. "
                          "Helpline has not started.")
    return value


def _roles(value: str) -> tuple[str, ...]:
    """A comma-separated list of roles ("all" means every role)."""
    known = ("volunteer", "supervisor", "data", "admin")
    value = value.strip().lower()
    if value == "all":
        return known
    roles = tuple(r.strip() for r in value.split(",") if r.strip())
    unknown = [r for r in roles if r not in known]
    if unknown:  # a typo must never silently switch two-factor sign-in off
        raise ConfigError(
            f"TWO_FACTOR_REQUIRED_ROLES: unknown role(s) {', '.join(map(repr, unknown))}; use "
            f"{', '.join(known)} or all. Helpline has not started.")
    return roles


def _limit(text: str | None) -> int | None:
    """An attempt limit: a positive whole number, or empty for no limit."""
    text = (text or "").strip()
    return int(text) if text else None


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping from environment variables."""
    inst = Path(instance_path)
    inst.mkdir(parents=True, exist_ok=True)
    production = helpline_env() == "production"
    training = helpline_mode() == "training"
    env = os.environ.get
    # training: its own files, database and Redis; DATABASE_URL and REDIS_URL (the live
    # site's) are never used, so training-reset can never wipe live records
    # and neither are the live folders (EXPORT_DIR, ATTACHMENT_DIR, BACKUP_DIR,
    # MAIL_CATCHER_DIR) nor BASE_URL, which a deploy env file sets for every unit
    files = inst / "training" if training else inst
    files.mkdir(parents=True, exist_ok=True)
    port = env("PORT", "5001" if training else "8000")

    def folder(key: str, name: str) -> str:
        return str(files / name) if training else env(key, str(files / name))

    return {
        **_account_settings(env, training),
        "PRODUCTION": production,
        "HELPLINE_MODE": "training" if training else "live",
        "TRAINING": training,
        "SECRET_KEY": _secret_key(files, production),
        "SQLALCHEMY_DATABASE_URI": (
            env("TRAINING_DATABASE_URL", f"sqlite:///{inst / 'training.db'}") if training
            else env("DATABASE_URL", f"sqlite:///{inst / 'helpline.db'}")),
        # the live database(s) training-reset must never wipe: DATABASE_URL and the default
        "LIVE_DATABASE_URIS": [u for u in (env("DATABASE_URL"),
                                           f"sqlite:///{inst / 'helpline.db'}") if u],
        "TRAINING_FILES_DIR": str(files) if training else None,
        "REDIS_URL": (_training_redis(env) if training else
                      env("REDIS_URL", f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")),
        "MAIL_SERVER": env("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": int(env("MAIL_PORT", str(EMBEDDED_SMTP_PORT))),
        "MAIL_USE_TLS": env("MAIL_USE_TLS", "0") == "1",
        "MAIL_USERNAME": env("MAIL_USERNAME"),
        "MAIL_PASSWORD": env("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER", "Helpline <helpline@localhost>"),
        # Where the embedded catcher keeps what it received (the admin "Sent mail" page).
        # (training: `make run-training` tells it TRAINING_MAIL_CATCHER_DIR, its own)
        "MAIL_CATCHER_DIR": (env("TRAINING_MAIL_CATCHER_DIR", str(files / "mail")) if training
                             else env("MAIL_CATCHER_DIR", str(files / "mail"))),
        # The training site sends every mail here, whatever MAIL_SERVER says.
        "MAIL_CATCHER_PORT": EMBEDDED_SMTP_PORT,
        "PORT": int(port),
        "EXPORT_DIR": folder("EXPORT_DIR", "exports"),
        # `flask db upgrade` backs a database with rows up here first, unless told not to.
        "BACKUP_DIR": folder("BACKUP_DIR", "backups"),
        "BACKUP_BEFORE_UPGRADE": env("BACKUP_BEFORE_UPGRADE", "1") != "0",
        "RETENTION_YEARS": int(env("RETENTION_YEARS", "6")),
        "MP_ENQUIRIES_EMAIL": env("MP_ENQUIRIES_EMAIL", "mp-enquiries@example.org"),
        # Attached paper forms of call-back requests: outside static/, served only by the app.
        "ATTACHMENT_DIR": folder("ATTACHMENT_DIR", "attachments"),
        "ATTACHMENT_MAX_BYTES": int(env("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
        # Attempts a call-back request allows, per request type (empty: as many as needed).
        "REQUEST_ATTEMPT_LIMITS": {
            "ordinary": _limit(env("REQUEST_ATTEMPT_LIMIT", "3")),
            "downtime": _limit(env("DOWNTIME_ATTEMPT_LIMIT", "")),
        },
        # Shift start times (Europe/London); Morning Review covers the previous shift onwards.
        "SHIFT_STARTS": env("SHIFT_STARTS", "08:00,20:00").split(","),
        "REMINDER_POLL_SECONDS": float(env("REMINDER_POLL_SECONDS", "2")),
        # Outbox recovery: sweep every N s for mail whose job was lost (pending for
        # SWEEP_AFTER s) or whose sender died mid-send (claimed STALE_CLAIM s ago).
        "MAIL_SWEEP_SECONDS": float(env("MAIL_SWEEP_SECONDS", "30")),
        "MAIL_SWEEP_AFTER_SECONDS": float(env("MAIL_SWEEP_AFTER_SECONDS", "120")),
        "MAIL_STALE_CLAIM_SECONDS": float(env("MAIL_STALE_CLAIM_SECONDS", "300")),
        "SSE_KEEPALIVE_SECONDS": float(env("SSE_KEEPALIVE_SECONDS", "15")),
        "SSE_MAX_STREAM_SECONDS": float(env("SSE_MAX_STREAM_SECONDS", "900")),
        # "text" (timestamped lines) or "json" (one object per line) for every log line.
        "LOG_FORMAT": env("LOG_FORMAT", "text"),
        # /metrics for a Prometheus scraper sending "Authorization: Bearer <token>"
        # (administrators can always read it signed in)
        "METRICS_TOKEN": env("METRICS_TOKEN"),
        # training mail links lead to the training site, never the live BASE_URL
        "BASE_URL": (env("TRAINING_BASE_URL", f"http://127.0.0.1:{port}") if training
                     else env("BASE_URL", f"http://127.0.0.1:{port}")),
        # both sites on one host: a training sign-in never replaces the live one's cookie
        "SESSION_COOKIE_NAME": "helpline_training_session" if training else "session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # Behind a reverse proxy that terminates HTTPS: how many proxies to trust for
        # X-Forwarded-For/-Proto (0 = none; the client address is the socket's).
        "TRUST_PROXY_HOPS": int(env("TRUST_PROXY_HOPS", "0")),
        # One gevent web process serves hundreds of requests at once: a bigger pool than
        # SQLAlchemy's 5 + 10, so a busy moment queues for milliseconds, not 30 s.
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
            # Error messages and logs never carry the values of a statement (names, phones).
            "hide_parameters": True,
            "pool_size": int(env("DB_POOL_SIZE", "10")),
            "max_overflow": int(env("DB_MAX_OVERFLOW", "20")),
            "pool_timeout": float(env("DB_POOL_TIMEOUT", "10")),
        },
        # Static files carry a content hash in the URL, so they can be cached for a year.
        "SEND_FILE_MAX_AGE_DEFAULT": 31536000,
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],
        "COMPRESS_REGISTER": True,
        "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/plain", "text/csv",
                               "text/javascript", "application/javascript",
                               "application/json", "image/svg+xml"],
        "WTF_CSRF_TIME_LIMIT": None,
    }


def _account_settings(env, training: bool = False) -> dict:
    """Sessions, sign-in throttling, passwords and the second factor."""
    return {
        "IDLE_TIMEOUT_MINUTES": int(env("IDLE_TIMEOUT_MINUTES", "30")),
        # However active, a session ends this long after sign-in (shared PCs).
        "SESSION_MAX_HOURS": float(env("SESSION_MAX_HOURS", "12")),
        # Failures allowed before each attempt must wait; the wait then doubles from
        # LOGIN_DELAY_SECONDS up to LOGIN_MAX_DELAY_SECONDS (never a hard lock).
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": int(env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5")),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(env("LOGIN_MAX_FAILURES_PER_ADDRESS", "20")),
        "LOGIN_THROTTLE_MINUTES": int(env("LOGIN_THROTTLE_MINUTES", "15")),
        "LOGIN_DELAY_SECONDS": float(env("LOGIN_DELAY_SECONDS", "2")),
        "LOGIN_MAX_DELAY_SECONDS": float(env("LOGIN_MAX_DELAY_SECONDS", "60")),
        # Who can help someone who cannot sign in (named in the sign-in messages).
        "ACCOUNT_HELP": env("ACCOUNT_HELP", "an administrator (Admin → Users)"),
        "PASSWORD_MIN_LENGTH": int(env("PASSWORD_MIN_LENGTH", "12")),
        # Roles that must use a second factor ("all" for everyone); the others may.
        # (none on the training site unless set: its practice accounts share a password)
        "TWO_FACTOR_REQUIRED_ROLES": _roles(env("TWO_FACTOR_REQUIRED_ROLES",
                                                "" if training else "supervisor,data,admin")),
        "TWO_FACTOR_ISSUER": env("TWO_FACTOR_ISSUER", "Helpline"),
    }


def enforce_mode(config: dict) -> None:
    """After every other setting (tests' too): the training site's mail goes only to the
    local catcher, whatever MAIL_SERVER and the rest say."""
    if not config.get("TRAINING"):
        return
    config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=int(config["MAIL_CATCHER_PORT"]),
                  MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_USERNAME=None,
                  MAIL_PASSWORD=None)
