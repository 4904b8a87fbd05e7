"""Settings: everything comes from the environment, with embedded defaults that need nothing.

Without configuration the app runs on SQLite, the in-memory channel layer and eager Celery,
with all local state (database, files, keys) under ``DATA_DIR`` (default ``var/``).
``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` to channels-redis, the Redis cache and
a Celery broker, so that several daphne processes can serve one deployment.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config import secrets as local_secrets

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
KEYS_DIR = DATA_DIR / "keys"
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or local_secrets.read_or_create(
    KEYS_DIR / "secret_key", secrets.token_urlsafe(50)
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "accounts",
    # After accounts: its templates restyle allauth's (app templates load in this order).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "chatbox",
    "projects",
    "invoices",
    "reports",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "frontend.middleware.BannedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffMFAMiddleware",
    "accounts.middleware.TermsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.trust_and_safety",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: a transaction takes the write lock at its start, so two sends never
        # interleave their read of the conversation head (SQLite has no SELECT … FOR UPDATE).
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a real daphne process started by a test sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
else:
    # Persistent connections: Channels closes a connection after every database call when
    # CONN_MAX_AGE is 0, and opening one costs more than storing a message (docs/performance.md).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
    # A health check is a SELECT 1 before the first query of every thread hop: 13 % of the
    # server's samples while sockets connect (docs/performance.md). Without it a connection
    # PostgreSQL dropped fails the one operation that finds it, and Django then replaces it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool(
        "DATABASE_CONN_HEALTH_CHECKS", default=False
    )
    # DATABASE_SERVER_SIDE_BINDING=1 sends parameters apart from the statement; measured A/B
    # in the bench it made no difference (docs/performance.md), so psycopg's default stays.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "server_side_binding": env.bool("DATABASE_SERVER_SIDE_BINDING", default=False),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Identity (docs/identity.md): django-allauth for sign-up, e-mail verification, MFA, throttling.
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupDetailsForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/300s/key"}
LOGIN_REDIRECT_URL = "/"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Chatbox"
# A code is taken for one 30 s step either side of now (RFC 6238 §5.2): a phone's clock a few
# seconds off, or a code typed as its step ends, still signs in. A used code is not taken twice.
MFA_TOTP_TOLERANCE = 1
# E-mail: printed on the console unless EMAIL_URL names a server (smtp+tls://user:pw@host:587).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
EMAIL_HOST = EMAIL_CONFIG.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = EMAIL_CONFIG.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = EMAIL_CONFIG.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = EMAIL_CONFIG.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(EMAIL_CONFIG.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(EMAIL_CONFIG.get("EMAIL_USE_SSL"))
# filemail:////abs/path writes each e-mail to a file there (the browser tests read them).
EMAIL_FILE_PATH = EMAIL_CONFIG.get("EMAIL_FILE_PATH") or str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Chatbox <no-reply@localhost>")
SMS_BACKEND = env.str("SMS_BACKEND", default="accounts.sms.ConsoleSMSBackend")
TERMS_VERSION = env.str("TERMS_VERSION", default="2026-11-01")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on a missing folder
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders too: `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Request bodies (config.bodylimit): refused with 413 while they stream in. A view that takes a
# file declares its own limit; every other request body may hold at most this.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=1024 * 1024)
# The largest file of a portfolio item (projects.services.portfolio_file_attach).
PORTFOLIO_FILE_MAX_BYTES = env.int("PORTFOLIO_FILE_MAX_BYTES", default=10 * 1024 * 1024)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

REDIS_URL = env.str("REDIS_URL", default="")
KEY_PREFIX = env.str("KEY_PREFIX", default="chatbox")

# channels-redis's two layers (docs/performance.md compares them). The pub/sub layer, the
# default, pushes each group message to the processes listening; the core layer keeps a queue
# per channel in Redis, which every receive polls.
CHANNEL_LAYER_CONFIGS = {
    "pubsub": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{KEY_PREFIX}:asgi"},
    },
    "core": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py's default socket timeout (5 s) equals channels-redis's blocking
            # receive (5 s): an idle socket's receive could time out and kill it.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            "prefix": f"{KEY_PREFIX}:asgi",
            "capacity": 1000,
        },
    },
}
CHANNEL_LAYER = env.str("CHANNEL_LAYER", default="pubsub")
if CHANNEL_LAYER not in CHANNEL_LAYER_CONFIGS:
    raise ImproperlyConfigured(f"CHANNEL_LAYER is pubsub or core, not {CHANNEL_LAYER!r}")
if REDIS_URL:
    CHANNEL_LAYERS = {"default": CHANNEL_LAYER_CONFIGS[CHANNEL_LAYER]}
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ProcessRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": KEY_PREFIX,
        }
    }
    # Sessions are read from the cache and written through to the database: a socket's
    # set-up reads its session without waiting for PostgreSQL (docs/performance.md), and a
    # session outlives a flush of the cache. Only with a shared cache: a per-process cache
    # would keep a session alive in one process after a logout in another.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
# The queue under the deployment's prefix too: two deployments on one Redis database keep
# their tasks apart, like their channel layer and cache.
CELERY_TASK_DEFAULT_QUEUE = f"{KEY_PREFIX}:celery"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["chatbox.authentication.SessionAuthentication401"],
    "DEFAULT_PERMISSION_CLASSES": ["chatbox.authentication.InGoodStanding"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chatbox.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chatbox API",
    "DESCRIPTION": "The HTTP API of Chatbox. The websocket protocol is described in the docs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# The chat's master key ring (KEK): the first key wraps new data keys, all of them unwrap.
CHATBOX_MASTER_KEYS_FROM_ENV = bool(env.str("CHATBOX_MASTER_KEYS", default=""))
CHATBOX_MASTER_KEYS = (
    local_secrets.parse_master_keys(env.str("CHATBOX_MASTER_KEYS"))
    if CHATBOX_MASTER_KEYS_FROM_ENV
    else local_secrets.master_key_ring(KEYS_DIR)
)
# Ed25519 keys that sign the chain's checkpoints: the first signs, all verify.
CHATBOX_SIGNING_KEYS_FROM_ENV = bool(env.str("CHATBOX_SIGNING_KEYS", default=""))
CHATBOX_SIGNING_KEYS = (
    local_secrets.parse_signing_keys(env.str("CHATBOX_SIGNING_KEYS"))
    if CHATBOX_SIGNING_KEYS_FROM_ENV
    else local_secrets.signing_key_ring(KEYS_DIR)
)
CHATBOX_MAX_BODY_CHARS = env.int("CHATBOX_MAX_BODY_CHARS", default=10_000)
CHATBOX_MAX_FRAME_BYTES = env.int("CHATBOX_MAX_FRAME_BYTES", default=64 * 1024)
CHATBOX_SEND_RATE = env.str("CHATBOX_SEND_RATE", default="20/10")  # sends per seconds, per user
CHATBOX_TYPING_INTERVAL_SECONDS = env.float("CHATBOX_TYPING_INTERVAL_SECONDS", default=2.0)
CHATBOX_PRESENCE_TTL_SECONDS = env.int("CHATBOX_PRESENCE_TTL_SECONDS", default=120)
# Sockets one process sets up at a time; more are told to come back later (chatbox.admission).
CHATBOX_CONNECTS_SETTING_UP = env.int("CHATBOX_CONNECTS_SETTING_UP", default=64)
# Files in the chat (docs/files.md): the largest upload, refused while it streams in.
CHATBOX_FILE_MAX_BYTES = env.int("CHATBOX_FILE_MAX_BYTES", default=25 * 1024 * 1024)
# Retention (docs/retention.md): a conversation whose work is over (no active contract, no open
# invoice, nothing in escrow, its listing no longer open) closes after this many idle days; a
# closed one is crypto-shredded after CHATBOX_RETENTION_DAYS, unless a legal hold keeps it.
CHATBOX_CLOSE_IDLE_DAYS = env.int("CHATBOX_CLOSE_IDLE_DAYS", default=90)
CHATBOX_RETENTION_DAYS = env.int("CHATBOX_RETENTION_DAYS", default=6 * 365)
# Skills assessments (projects.assessments): the time limit of one quiz.
ASSESSMENT_MINUTES = env.int("ASSESSMENT_MINUTES", default=10)
# Free proposals a provider may send per calendar month (UTC); invited proposals are free.
BID_QUOTA_MONTHLY = env.int("BID_QUOTA_MONTHLY", default=10)
# Trust and safety (reports/, docs/trust-and-safety.md): a fraud score at or above this puts
# the user in the support queue; safety emergencies are e-mailed to these addresses (empty:
# every active support member with an address).
RISK_SCORE_THRESHOLD = env.int("RISK_SCORE_THRESHOLD", default=50)
SUPPORT_ON_DUTY_EMAILS = env.list("SUPPORT_ON_DUTY_EMAILS", default=[])
# Money (invoices/, docs/money.md).
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="invoices.gateway.SandboxGateway")
PLATFORM_FEE_PERCENT = env.int("PLATFORM_FEE_PERCENT", default=10)
INVOICE_AUTO_RELEASE_DAYS = env.int("INVOICE_AUTO_RELEASE_DAYS", default=14)
INVOICE_REMIND_DAYS_BEFORE = env.int("INVOICE_REMIND_DAYS_BEFORE", default=3)
WITHDRAWAL_NOTICE_HOURS = env.int("WITHDRAWAL_NOTICE_HOURS", default=72)
# Disputes (reports/disputes.py, docs/disputes.md): each stage's window, direct resolution and
# mediation; past it the schedule escalates, or the silent party loses by default.
DISPUTE_STAGE_DAYS = env.int("DISPUTE_STAGE_DAYS", default=3)
# Celery beat runs the money schedules; without a worker, `manage.py run_schedules`.
CELERY_BEAT_SCHEDULE = {
    name: {"task": f"invoices.tasks.{name}", "schedule": 300.0}
    for name in (
        "invoices_remind",
        "invoices_auto_release",
        "escrow_returns_run",
        "refunds_pending_send",
    )
}
CELERY_BEAT_SCHEDULE["risk_scan_run"] = {"task": "reports.tasks.risk_scan_run", "schedule": 300.0}
CELERY_BEAT_SCHEDULE["disputes_deadlines_run"] = {
    "task": "reports.tasks.disputes_deadlines_run",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["connections_expire"] = {
    "task": "chatbox.tasks.connections_expire",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["retention_run"] = {"task": "reports.tasks.retention_run", "schedule": 3600.0}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if env.bool("FAST_PASSWORD_HASHER", default=False):
    # Test runs only: hashing demo passwords with PBKDF2 dominates a suite's time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
