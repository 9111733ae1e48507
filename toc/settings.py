"""One settings module for every environment, driven by environment variables.

Production is simply DEBUG off: then a SECRET_KEY must be given, and the
security settings below make `manage.py check --deploy` pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from toc.lib.environment import env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent


def database_from_url(url: str, name: str = "DATABASE_URL") -> dict:
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as error:
        # dj-database-url's own message names neither the variable nor the fix.
        raise ImproperlyConfigured(
            f"{name}={url!r} is not a database URL ({error}). "
            "Expected e.g. postgres://user:password@host:5432/name or "
            "sqlite:///path/to/db.sqlite3."
        ) from error
    if not config.get("ENGINE"):
        raise ImproperlyConfigured(f"{name}={url!r} names no database engine.")
    return config


def _database(name: str, url: str, transaction_pooling: bool) -> dict:
    config = database_from_url(url, name)
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        if transaction_pooling:
            # PgBouncer in transaction mode gives each transaction any server
            # connection, where a cursor left open by an earlier one is not
            # (QuerySet.iterator()); and it refuses the options below, so jit
            # is turned off on the database instead (README, Past one box).
            config["DISABLE_SERVER_SIDE_CURSORS"] = True
        else:
            # JIT compilation costs tens of milliseconds and pays off only for
            # long analytical queries; every query here is short, and the
            # planner's guesses for unnested arrays were enough to trigger it.
            options["options"] = "-c jit=off"
        # An unreachable database fails a request in seconds (then 503)
        # instead of holding it until the kernel gives up on the connection.
        options["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # A file, not memory, so that a Celery worker started by a test sees
        # the same test database as the test itself.
        config["TEST"] = {"NAME": str(BASE_DIR / "toc-test.sqlite3")}
        config["CONN_MAX_AGE"] = 0
    return config


def database_settings() -> dict[str, dict]:
    """DATABASES from the environment: the primary, and a read replica for
    dashboards if DATABASE_REPLICA_URL is set (toc/lib/replica.py)."""
    pooling = env_bool("DATABASE_TRANSACTION_POOLING", default=False)
    databases = {
        "default": _database(
            "DATABASE_URL",
            os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'toc.sqlite3'}"),
            pooling,
        )
    }
    replica_url = os.environ.get("DATABASE_REPLICA_URL", "")
    if replica_url:
        replica = _database("DATABASE_REPLICA_URL", replica_url, pooling)
        # Under test the replica is the test database itself: nothing replicates.
        replica.setdefault("TEST", {})["MIRROR"] = "default"
        databases["replica"] = replica
    return databases


DEBUG = env_bool("DEBUG", default=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "toc.accounts",
    "toc.systems",
    "toc.metrics",
    "toc.cycles",
    "toc.notifications",
    "toc.api",
    "toc.dashboard",
    "toc.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads or authenticates: an API body over the limit is a 413.
    "toc.api.middleware.BodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that reads the database: an outage answers 503.
    "toc.lib.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "toc.urls"
WSGI_APPLICATION = "toc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"formats": "toc.lib.template_filters"},
        },
    },
]

DATABASES = database_settings()
DATABASE_ROUTERS = ["toc.lib.replica.ReplicaRouter"] if "replica" in DATABASES else []

# Every request body, an API one included (a full batch of 5000 samples is
# about 1 MB); over it, the API answers 413 (toc.api.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "toc.api.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, and only what PostgreSQL can store (no NUL, no lone surrogates).
    "DEFAULT_PARSER_CLASSES": ["toc.api.parsers.StrictJSONParser"],
    "DEFAULT_METADATA_CLASS": "toc.api.common.PlainMetadata",
    "EXCEPTION_HANDLER": "toc.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "toc.api.schema.TocAutoSchema",
    # The schema's paths as the URL conf names them ({pk}), not renamed to {id}.
    "SCHEMA_COERCE_PATH_PK": False,
}
# The OpenAPI schema is generated from the views; the docs page and its assets
# are served from our static files (the sidecar), never a CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "toc API",
    "DESCRIPTION": (
        "Everything a team does in the browser, for scripts: systems and stages, "
        "stage metrics, the constraint ledger, improvement cycles and their "
        "records, their exports, retrospectives and audit trails, teams and their "
        "members and invitations, personal tokens, and calculators. Send a "
        "personal token (tocpat_…) or, to post samples only, an ingest key "
        '(tocik_…) as `Authorization: Bearer …`. Errors are `{"errors": [{"field", '
        '"message"}]}`; records carry an ETag, and a write with a stale '
        "`If-Match` gets 412 (one without If-Match goes through)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Named for what they are: a bare "KindEnum" would clash with the next kind.
    "ENUM_NAME_OVERRIDES": {
        "StageKindEnum": "toc.systems.models.StageKind",
        "CycleStatusEnum": "toc.cycles.models.CycleStatus",
        "InvitationStateEnum": "toc.accounts.models.InvitationState",
        "SloStatusEnum": ["met", "violated", "unknown"],
    },
}
# Personal API tokens: knox stores only a digest; they never expire on their own
# and are revoked by deleting them.
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# knox's own migrations would create its default token table even though
# ApiToken replaces it, and that orphan table blocks truncating auth_user.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": None,
    "TOKEN_PREFIX": "tocpat_",
    "AUTH_HEADER_PREFIX": "Bearer",
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "systems:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# The cache holds rate-limit counters. On Redis they are shared by every
# process; the default counts per process, which suits the embedded setup.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r} must be a redis:// URL.")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Proxies in front of the app that append the address they saw to
# X-Forwarded-For. Behind them REMOTE_ADDR is the nearest proxy's, and counting
# per address would count every client as one; 0 trusts the header not at all.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# "requests/seconds" per scope (toc/lib/ratelimit.py). Ingest: per key and per
# address. Logins count failed attempts only (toc/accounts/login.py).
RATE_LIMITS = {
    "ingest-key": os.environ.get("RATE_LIMIT_INGEST_KEY", "3000/60"),
    "ingest-address": os.environ.get("RATE_LIMIT_INGEST_ADDRESS", "6000/60"),
    # A class behind one address may mistype 50 times; a script spraying names, no more.
    "login-address": os.environ.get("RATE_LIMIT_LOGIN_ADDRESS", "50/900"),
    # One forgetful person, or one stranger guessing: it locks only their address.
    "login-name-address": os.environ.get("RATE_LIMIT_LOGIN_NAME_ADDRESS", "10/900"),
    # A guess from many addresses: one adds at most 40 an hour, so a lock takes 8.
    "login-name": os.environ.get("RATE_LIMIT_LOGIN_NAME", "300/3600"),
    # Each request may send a mail: a few an hour from one address.
    "password-reset-address": os.environ.get(
        "RATE_LIMIT_PASSWORD_RESET_ADDRESS", "10/3600"
    ),
    # Accepting an invitation may create an account: a team joining from one
    # office may do it a few dozen times an hour, a script no more.
    "invitation-accept-address": os.environ.get(
        "RATE_LIMIT_INVITATION_ACCEPT_ADDRESS", "30/3600"
    ),
}

# Mail: password resets, by SMTP; while DEBUG is on and EMAIL_HOST is not
# given, printed to the console, so the embedded setup needs no mail server.
# A mail that cannot be sent is logged, and the page still answers.
MAILERS = {
    "default": (
        {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
        if DEBUG and "EMAIL_HOST" not in os.environ
        else {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": env_int("EMAIL_PORT", 587),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", default=True),
                "timeout": 10,
            },
        }
    )
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "toc <toc@localhost>")
# A reset link works for this long (Django's default is three days).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60)
# An invitation link to a team works once, for this many days.
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)

# Single sign-on with an OpenID Connect provider (toc/accounts/oidc.py), off
# unless OIDC_ISSUER is given. The provider's endpoints come from its discovery
# document (<issuer>/.well-known/openid-configuration), read on the first
# sign-in; passwords keep working beside it.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").rstrip("/")
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "your company account")
if OIDC_ISSUER:
    if not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be too "
            "(the client registered for toc at the provider)."
        )
    AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "toc.accounts.oidc.Backend",
    ]
# mozilla-django-oidc's own settings: ID tokens signed with the provider's key
# (its JWKS), PKCE, and the profile scope for a person's preferred username.
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
# Seconds for each request to the provider; past it, the sign-in fails with a message.
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)

# Celery: without a broker, tasks run in-process as they are sent, so the
# embedded default needs no Redis and no worker.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_RESULT_BACKEND = (
    os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL) or None
)
if CELERY_TASK_ALWAYS_EAGER:
    # Never connected to; named so that kombu does not guess a localhost broker.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "toc")
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    # Sending a task gives up at the first failure instead of retrying for
    # broker_connection_timeout: the sweeper sends it later (toc/metrics/sweeper.py).
    "max_retries": 0,
    # A task taken by a worker that died whole is delivered again after this;
    # longer than a task may wait in a worker and then run (time limits below).
    "visibility_timeout": 300,
}
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection around every task, so
# each processing run opened a new one (2 ms of the worker's CPU, and a backend
# started); with this it never does, and toc.celery closes only connections that
# broke or outlived CONN_MAX_AGE, as Django does around requests.
CELERY_DB_REUSE_MAX = 2**62
# The sweeper of owed processing (toc/metrics/sweeper.py): beat runs it this
# often, and a queued flag this old counts as a lost task. Together they bound
# how long a lost queue goes unnoticed (under two minutes by default).
TOC_SWEEP_INTERVAL_S = env_int("TOC_SWEEP_INTERVAL_S", 30)
TOC_QUEUED_STALE_S = env_int("TOC_QUEUED_STALE_S", 60)
# Storage (toc/metrics/partitions.py): raw samples are kept this many days and
# minute rollups this many; on PostgreSQL the beat drops whole partitions past
# them, and makes the samples' daily partitions this many days ahead.
SAMPLE_RETENTION_DAYS = env_int("SAMPLE_RETENTION_DAYS", 30)
ROLLUP_RETENTION_DAYS = env_int("ROLLUP_RETENTION_DAYS", 400)
SAMPLE_PARTITIONS_AHEAD_DAYS = env_int("SAMPLE_PARTITIONS_AHEAD_DAYS", 3)

# Notifications (toc/notifications): beat scans for new events this often;
# an occurrence older than the lookback is not news (an upgrade or a backfill
# tells nobody of last month's moves). A failed delivery is tried again after
# the base wait, doubled each time up to the longest, until the attempts run
# out; each request to a receiver waits this long for an answer.
NOTIFICATIONS_SCAN_INTERVAL_S = env_int("NOTIFICATIONS_SCAN_INTERVAL_S", 15)
NOTIFICATIONS_LOOKBACK_S = env_int("NOTIFICATIONS_LOOKBACK_S", 3600)
NOTIFICATIONS_RETRY_BASE_S = env_int("NOTIFICATIONS_RETRY_BASE_S", 10)
NOTIFICATIONS_RETRY_MAX_S = env_int("NOTIFICATIONS_RETRY_MAX_S", 600)
NOTIFICATIONS_MAX_ATTEMPTS = env_int("NOTIFICATIONS_MAX_ATTEMPTS", 8)
NOTIFICATIONS_RETENTION_DAYS = env_int("NOTIFICATIONS_RETENTION_DAYS", 90)
NOTIFICATIONS_TIMEOUT_S = env_int("NOTIFICATIONS_TIMEOUT_S", 10)
# Whether webhooks may post to loopback, private and link-local addresses (a
# team admin could otherwise make toc read the cloud's metadata service or an
# internal admin page into the delivery log). Allowed in development.
NOTIFICATIONS_ALLOW_PRIVATE_ADDRESSES = env_bool(
    "NOTIFICATIONS_ALLOW_PRIVATE_ADDRESSES", default=DEBUG
)

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# No script reads the cookie: htmx and the API docs take the token from the page.
CSRF_COOKIE_HTTPONLY = True

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
