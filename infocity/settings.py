"""Settings for infocity, driven by environment variables.

Every variable is documented in README.md ("Configuration"). The defaults give a development
instance that needs nothing: an SQLite database and a generated secret key, both under ``var/``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("INFOCITY_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in ``var/secret_key``."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    try:
        # Created with mode 600 from the start; when several processes start at once, one writes it and
        # the others read the same key.
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
# Behind nginx the client address is the last entry nginx appended to X-Forwarded-For.
USE_X_FORWARDED_FOR = envbool("USE_X_FORWARDED_FOR", False)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto, requests count as HTTPS (CSRF origin checks,
# secure redirects). Only set this when the proxy always sets or strips the header.
if envbool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "infocity.audit",
    "infocity.organisations",
    "infocity.accounts",
    "infocity.frameworks",
    "infocity.reporting",
    "infocity.analytics",
    "infocity.tokens",
    "infocity.bulk",
    "infocity.progress",
    "infocity.evaluation",
    "infocity.portal",
    "infocity.workspace",
    "infocity.ops",
    "infocity.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "infocity.workspace.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "infocity.workspace.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "infocity.audit.middleware.AuditContextMiddleware",
    # Default-deny: every view needs a login unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Absolute session timeout, and sessions an administrator ended.
    "infocity.accounts.middleware.SessionLimitsMiddleware",
    # The ministry, the agency and the three administrators reach nothing before their second factor.
    "infocity.accounts.middleware.SecondFactorMiddleware",
    "infocity.accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "infocity.urls"
WSGI_APPLICATION = "infocity.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "infocity" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "infocity.workspace.context_processors.shell",
            ],
        },
    },
]


def _databases() -> dict[str, dict[str, Any]]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'infocity.sqlite3'}"
    db: dict[str, Any] = dict(
        dj_database_url.parse(
            url,
            conn_max_age=envint("CONN_MAX_AGE", 0),
            # Check a kept connection before reusing it (after a database restart or failover).
            # (on by default when connections are kept: a connection idle through an outage is not reused broken)
            conn_health_checks=envbool("CONN_HEALTH_CHECKS", envint("CONN_MAX_AGE", 0) > 0),
            # Needed behind PgBouncer in transaction pooling mode: .iterator() uses server-side cursors.
            disable_server_side_cursors=envbool("DISABLE_SERVER_SIDE_CURSORS", False),
        )
    )
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if db["NAME"] != ":memory:":
            Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        db["OPTIONS"] = {
            # Writers take the lock at BEGIN so concurrent requests wait (busy timeout) instead of failing
            # with "database is locked" halfway through a transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
        # One test database file per test process, so two test runs in one checkout never share (and drop) a file.
        db["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    return {"default": db}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# ModelBackend, with the user, the organisation and whether a second factor is enrolled read in one query per request
# (infocity/accounts/backends.py).
AUTHENTICATION_BACKENDS = ["infocity.accounts.backends.AccountBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "workspace:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Argon2id at OWASP's parameters (infocity/accounts/hashers.py); it also reads Argon2 hashes made with other
# parameters. The others only read hashes made before: a password stored with any of them (or with other Argon2
# parameters) is re-hashed with the first at its owner's next login. Django's own Argon2 hasher must not be listed
# too: it has the same algorithm name and would take over reading the hashes.
PASSWORD_HASHERS = [
    "infocity.accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "infocity.accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "infocity.accounts.validators.ComplexityValidator"},
]

# Account lockout (等保 身份鉴别): consecutive failures before the account locks, and for how long.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_MINUTES = envint("LOGIN_LOCKOUT_MINUTES", 15)
# Failed logins from one address within the lockout window before that address is refused for a while.
LOGIN_IP_FAILURE_LIMIT = envint("LOGIN_IP_FAILURE_LIMIT", 20)

# Idle timeout: the session lasts SESSION_IDLE_MINUTES after the last request. Activity re-saves it at most once per
# SESSION_TOUCH_SECONDS (infocity.accounts.middleware.touch), so it ends between SESSION_IDLE_MINUTES minus that and
# SESSION_IDLE_MINUTES after the last request, never later; not rewriting the session row on every request spares
# the database a write and a commit per autosave.
SESSION_COOKIE_AGE = envint("SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_TOUCH_SECONDS = envint("SESSION_TOUCH_SECONDS", 60)
# Absolute timeout: a session ends this many hours after login, however active it is.
SESSION_ABSOLUTE_HOURS = envint("SESSION_ABSOLUTE_HOURS", 12)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "infocity.workspace.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy on every response: no inline or foreign script, no <style> element; style attributes stay
# allowed (style-src-attr) because ECharts writes its tooltips with them; data: and blob: images are the charts'
# "save as PNG" and the server-drawn QR code. Empty turns the header off (e.g. when nginx sets one).
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)

# Background tasks (django-tasks): long work such as the monitoring analysis report runs in `manage.py db_worker`,
# a separate process reading the task table in the same database. TASK_BACKEND=immediate runs tasks inside the
# request instead (tests, or a single-process trial without a worker).
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }[os.environ.get("TASK_BACKEND", "database")]
    }
}

# Bulk import (批量导入): the largest file accepted, the largest it may unpack to (zip bombs), rows per file.
BULK_UPLOAD_MAX_BYTES = envint("BULK_UPLOAD_MAX_MB", 10) * 1024 * 1024
BULK_UPLOAD_MAX_UNCOMPRESSED = envint("BULK_UPLOAD_MAX_UNCOMPRESSED_MB", 200) * 1024 * 1024
BULK_MAX_ROWS = envint("BULK_MAX_ROWS", 50_000)
# Work larger than these runs in the task worker with a progress bar; smaller work is done in the request.
BULK_BACKGROUND_BYTES = envint("BULK_BACKGROUND_KB", 256) * 1024  # uploads checked by the worker
BULK_BACKGROUND_CHANGES = envint("BULK_BACKGROUND_CHANGES", 2_000)  # imports applied by the worker
BULK_EXPORT_INLINE_ROWS = envint("BULK_EXPORT_INLINE_ROWS", 20_000)  # Excel exports built in the request
BULK_STALLED_MINUTES = envint("BULK_STALLED_MINUTES", 30)  # a check or apply silent this long was interrupted
PROGRESS_ATTACHMENT_MAX_BYTES = envint("PROGRESS_ATTACHMENT_MAX_MB", 20) * 1024 * 1024  # per report attachment
BULK_TEMP_DIR = os.environ.get("BULK_TEMP_DIR") or None  # parsers need a seekable file; default: the system's
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, BULK_UPLOAD_MAX_BYTES + 1_048_576)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# Reporting calendar clock for demonstration instances (see infocity/reporting/clock.py); empty = today.
REPORTING_TODAY = os.environ.get("REPORTING_TODAY", "")

# Passwords older than this many days must be changed at the next request (等保 requires periodic change; OWASP
# ASVS does not: see README "Configuration"); 0 turns the rule off.
PASSWORD_MAX_AGE_DAYS = int(os.environ.get("PASSWORD_MAX_AGE_DAYS", "90"))

# Second factor (TOTP, django-otp): the name authenticator apps show for the platform's entries.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "信息消费示范城市监测平台")

# Audit log integrity (infocity/audit/integrity.py): the key of each event's HMAC digest — keep it out of the
# database and its backups (by default derived from SECRET_KEY) — and how long events are kept before
# `manage.py purge_audit` may remove them (never less than 180 days, as GB/T 22239-2019 level 3 requires).
AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY", "")
AUDIT_RETENTION_DAYS = max(int(os.environ.get("AUDIT_RETENTION_DAYS", "180")), 180)

# Personal data (contact names, telephones, e-mails) is encrypted at rest (infocity/crypto.py): the cipher
# (aes-256-gcm, or sm4-gcm for 国密 deployments), the key (base64 of 32 bytes for AES-256, 16 for SM4; by default
# derived from SECRET_KEY — set it explicitly in production and keep it out of the database's backups) and earlier
# keys that still decrypt during a rotation (comma-separated; see `manage.py rotate_personal_data_key`).
PERSONAL_DATA_CIPHER = os.environ.get("PERSONAL_DATA_CIPHER", "aes-256-gcm").strip().lower()
PERSONAL_DATA_KEY = os.environ.get("PERSONAL_DATA_KEY", "")
PERSONAL_DATA_OLD_KEYS = envlist("PERSONAL_DATA_OLD_KEYS", [])

# The read-only public API (/api/v1/public/) answers at most this many requests per client address ("60/min",
# "1000/hour"; empty turns the limit off). The counts live in the cache: per process by default; with several app
# processes behind the proxy set CACHE_BACKEND=database so they share one count (a table in the same database,
# created by `manage.py createcachetable`).
PUBLIC_API_RATE = os.environ.get("PUBLIC_API_RATE", "60/min") or None
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "infocity_cache"}
    if os.environ.get("CACHE_BACKEND") == "database"
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Reminders: how many days before a due date the city is reminded.
REMINDER_DAYS_BEFORE_DUE = envint("REMINDER_DAYS_BEFORE_DUE", 3)
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "infocity@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
# Base address used in e-mailed links, e.g. https://infocity.example.gov.cn
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "infocity" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "infocity" / "static"]
# WhiteNoise serves static files from the app process (and from the finders, so no collectstatic step is
# needed for `make run`); in production nginx serves the collected files under /static/ instead.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MAX_AGE = 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint and fontTools log every layout step and font subset at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
