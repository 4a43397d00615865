"""higgsweb settings: one file, every value from the environment, working defaults.

With no HIGGSFIELD_API_KEY the app talks to the local simulator (`manage.py simulate`).
"""

import base64
import hashlib
import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


# Values are read and checked here, at start-up: a value that cannot mean what its name says
# stops the process with ImproperlyConfigured naming the variable, instead of surfacing later
# as a wrong type deep inside a request or a task. An empty value counts as unset.
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _env(name):
    value = os.environ.get(name, "").strip()
    return value or None


def _bad(name, value, expected):
    return ImproperlyConfigured(f"The environment variable {name}={value!r} is not valid: {expected}.")


def envbool(name, default="False"):
    value = (_env(name) or default).lower()
    if value not in TRUE + FALSE:
        raise _bad(name, value, "use true or false")
    return value in TRUE


def _bounds(minimum, maximum):
    if maximum is None:
        return f"at least {minimum}"
    return f"from {minimum} to {maximum}"


def envint(name, default, minimum=0, maximum=None):
    value = _env(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, value, f"expected a whole number {_bounds(minimum, maximum)}")
    if number < minimum or (maximum is not None and number > maximum):
        raise _bad(name, value, f"expected a whole number {_bounds(minimum, maximum)}")
    return number


def envcredits(name):
    """A number of credits (three decimals at most, as the ledger keeps them), or None when unset."""
    value = _env(name)
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0 or number >= 10 ** 9 \
            or number != number.quantize(Decimal("0.001")):
        raise _bad(name, value, "expected a number of credits from 0 to 999999999.999")
    return number.quantize(Decimal("0.001"))


def envchoice(name, default, choices):
    value = (_env(name) or default).lower()
    if value not in choices:
        raise _bad(name, value, "expected one of " + ", ".join(choices))
    return value


def envlist(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# HIGGSWEB_ENV=production switches debug off, requires the secrets below (startup fails
# with ImproperlyConfigured naming each missing one) and turns on the HTTPS settings.
PRODUCTION = envchoice("HIGGSWEB_ENV", "development", ("development", "production")) == "production"
DEV_SECRET_KEY = "dev-only-secret-key-change-me-in-production-0123456789"


def required_in_production():
    """The names production needs and the environment lacks."""
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not os.environ.get(name, "").strip()]
    if os.environ.get("SECRET_KEY") == DEV_SECRET_KEY:
        missing.append("SECRET_KEY (not the development key)")
    if not envbool("USE_SIMULATOR"):
        missing += [name for name in ("HIGGSFIELD_API_KEY", "HIGGSFIELD_API_SECRET", "HIGGSFIELD_WEBHOOK_SECRET")
                    if not os.environ.get(name, "").strip()]
    return missing


if PRODUCTION and (missing := required_in_production()):
    raise ImproperlyConfigured(
        "HIGGSWEB_ENV=production needs these environment variables: " + ", ".join(missing)
        + ". (Set USE_SIMULATOR=true instead of the HIGGSFIELD_* values to run against the local simulator.)")

SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = False if PRODUCTION else envbool("DEBUG", "True")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "axes",
    "higgsweb",
    "generations",
    "characters",
]

MIDDLEWARE = [
    "higgsweb.logs.RequestIdMiddleware",
    "generations.api.JsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "higgsweb.caching.PrivateResponsesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "higgsweb.notify.LastSeenMiddleware",
]

ROOT_URLCONF = "higgsweb.urls"
WSGI_APPLICATION = "higgsweb.wsgi.application"

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
                "higgsweb.context_processors.provider",
            ],
        },
    },
]

# Database: SQLite by default (WAL, busy timeout, IMMEDIATE transactions so that
# concurrent writers queue instead of failing); DATABASE_URL for PostgreSQL. A sqlite:/// URL
# gets the same SQLite settings as the default file (options in the URL's query win).
# Connections are kept for CONN_MAX_AGE seconds (0 closes each at the end of its request or
# task; opening one costs more than a webhook's whole work) and checked before reuse, so one
# the database dropped meanwhile is replaced instead of failing the request.
CONN_MAX_AGE = envint("CONN_MAX_AGE", 60)
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
}
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE,
                                                      conn_health_checks=True)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"The environment variable DATABASE_URL is not valid: {exc}")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"),
            "CONN_MAX_AGE": CONN_MAX_AGE,
            "CONN_HEALTH_CHECKS": True,
        }
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
    # Tests use a file too: the live server's thread and the test then wait for each other
    # (busy timeout) instead of failing with "table is locked" as a shared in-memory database does.
    DATABASES["default"].setdefault("TEST", {"NAME": os.environ.get("SQLITE_TEST_PATH",
                                                                    BASE_DIR / "test-db.sqlite3")})
IS_SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")

AUTH_USER_MODEL = "higgsweb.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "gallery"
LOGOUT_REDIRECT_URL = "login"

# django-axes: 5 failed logins for one username from one IP lock that pair out for 15
# minutes; the lock lifts by itself (the attempt record expires), no admin needed.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = envbool("AXES_ENABLED", "True")
# Behind a reverse proxy the client's address is in X-Forwarded-For; trust it only when
# the proxy sets it (AXES_IPWARE_PROXY_COUNT=1 for one proxy in front).
if proxy_count := envint("AXES_IPWARE_PROXY_COUNT", 0):
    AXES_IPWARE_PROXY_COUNT = proxy_count
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if PRODUCTION:
    # Hashed names (after `collectstatic`), so whitenoise can let browsers cache them for good.
    STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"
# Media is private: never served by URL prefix, only through views that check the viewer.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media-private-not-served/"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "True")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if PRODUCTION:
    # HTTPS only. Behind a proxy that terminates TLS, name the header it sets, e.g.
    # SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto (only if the proxy always sets or strips it).
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "True")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    if proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "True")
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "True")

# --- Provider -------------------------------------------------------------------
HIGGSFIELD_API_KEY = os.environ.get("HIGGSFIELD_API_KEY", "")
HIGGSFIELD_API_SECRET = os.environ.get("HIGGSFIELD_API_SECRET", "")
SIM_PORT = envint("SIM_PORT", 8765, minimum=1, maximum=65535)
SIMULATOR_URL = os.environ.get("SIMULATOR_URL", f"http://127.0.0.1:{SIM_PORT}")
# With no key, the app runs against the local simulator with its demo credentials.
USE_SIMULATOR = envbool("USE_SIMULATOR") or not HIGGSFIELD_API_KEY
if USE_SIMULATOR:
    HIGGSFIELD_API_KEY = "sim-key"
    HIGGSFIELD_API_SECRET = "sim-secret"
HIGGSFIELD_BASE_URL = os.environ.get(
    "HIGGSFIELD_BASE_URL", SIMULATOR_URL if USE_SIMULATOR else "https://platform.higgsfield.ai"
).rstrip("/")


def _derived_webhook_secret():
    # Only for the simulator: a stable whsec_ secret both processes derive from SECRET_KEY.
    digest = hashlib.sha256(("higgsweb-webhook:" + SECRET_KEY).encode()).digest()
    return "whsec_" + base64.b64encode(digest).decode()


HIGGSFIELD_WEBHOOK_SECRET = os.environ.get("HIGGSFIELD_WEBHOOK_SECRET", "") or (
    _derived_webhook_secret() if USE_SIMULATOR else ""
)
# During a secret rotation the provider signs with both; accept the previous one too.
HIGGSFIELD_WEBHOOK_SECRET_PREVIOUS = os.environ.get("HIGGSFIELD_WEBHOOK_SECRET_PREVIOUS", "")
# Where the provider (or the simulator) reaches this app's webhooks and shared input files.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Studio inputs (images and audio members upload): checked by content, within these limits.
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
UPLOAD_MAX_PIXELS = envint("UPLOAD_MAX_PIXELS", 40_000_000, minimum=1)
# Output files are downloaded from any https host that resolves only to public addresses
# (generations/higgsfield/download.py). HIGGSFIELD_MEDIA_HOSTS optionally narrows that to
# listed names and `*.suffix` patterns, e.g. "*.cloudfront.net,cdn.higgsfield.ai".
HIGGSFIELD_MEDIA_HOSTS = envlist("HIGGSFIELD_MEDIA_HOSTS")
# Plain http and loopback addresses for output files: only for the local simulator of
# `make run`, and ignored whenever a real provider is configured.
HIGGSFIELD_ALLOW_LOCAL_MEDIA = USE_SIMULATOR and envbool("HIGGSFIELD_ALLOW_LOCAL_MEDIA")
MAX_DOWNLOAD_BYTES = envint("MAX_DOWNLOAD_BYTES", 200 * 1024 * 1024, minimum=1)
# Where the provider's style and motion previews are shown from (the page's img-src).
PREVIEW_HOSTS = ["d3u0tzju9qaucj.cloudfront.net", "cdn.higgsfield.ai", "platform.higgsfield.ai",
                 "api.higgsfield.ai", "fnf.higgsfield.ai"]

# --- Content Security Policy ----------------------------------------------------------
# Enforced everywhere, tests included: scripts and styles only from our own static files
# (no inline code; htmx runs with allowEval off). Style and motion previews may come from
# the provider's media hosts (or the simulator).
_preview_origins = [f"https://{host}" for host in PREVIEW_HOSTS + HIGGSFIELD_MEDIA_HOSTS]
if USE_SIMULATOR:
    _preview_origins.append(SIMULATOR_URL)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *_preview_origins],
    "media-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Cache ------------------------------------------------------------------------
# Each web process keeps the gallery's drawn cards (generations/cards.py: keyed by what they
# show, so a copy never outlives a change, and a process that lacks one draws it). About 3 KB a
# card; the oldest go first.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "higgsweb",
                      "OPTIONS": {"MAX_ENTRIES": envint("CARD_CACHE_ENTRIES", 2000, minimum=100)}}}

# --- Worker (django-q2) ------------------------------------------------------------
# The database is the record of what must happen next; the broker only triggers work.
REDIS_URL = os.environ.get("REDIS_URL", "")
Q_CLUSTER = {
    "name": os.environ.get("Q_NAME", "higgsweb"),
    "workers": envint("Q_WORKERS", 2, minimum=1),
    "timeout": envint("Q_TIMEOUT", 120, minimum=1),
    "retry": envint("Q_RETRY", 180, minimum=2),
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 500,
    "ack_failures": True,
    "label": "Worker tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    # How often the worker asks the database for a task: a webhook's archive step starts within
    # this (measured in bench: 0.5 s left webhook → visible at 1.3–1.4 s p95, 0.2 s at 0.9 s).
    Q_CLUSTER["poll"] = 0.2
# How long a dispatched step may go unanswered before the sweeper enqueues it again.
PIPELINE_CLAIM_SECONDS = envint("PIPELINE_CLAIM_SECONDS", Q_CLUSTER["retry"], minimum=1)
if Q_CLUSTER["timeout"] >= Q_CLUSTER["retry"]:
    # A task still running when its retry comes round would be delivered a second time.
    raise ImproperlyConfigured(f"Q_TIMEOUT ({Q_CLUSTER['timeout']}) must be smaller than Q_RETRY "
                               f"({Q_CLUSTER['retry']}).")
# Input files: "auto" sends the provider a URL under PUBLIC_BASE_URL when that host is public,
# and otherwise copies the file through the provider's upload flow; "always" / "never" force it.
HIGGSFIELD_UPLOAD_INPUTS = envchoice("HIGGSFIELD_UPLOAD_INPUTS", "auto", ("auto", "always", "never"))
# Delete the provider's copy of a result once it is archived here (DELETE /requests/{id}).
HIGGSFIELD_DELETE_AFTER_ARCHIVE = envbool("HIGGSFIELD_DELETE_AFTER_ARCHIVE", "False")

# --- Credits and notifications -------------------------------------------------------
# A new user's monthly hard limit in credits until an admin sets one (empty: no limit).
DEFAULT_MONTHLY_CREDITS = envcredits("DEFAULT_MONTHLY_CREDITS")
# A job finishing while its owner has not looked at the gallery for this long is notified.
NOTIFY_AWAY_MINUTES = envint("NOTIFY_AWAY_MINUTES", 5)
# Email goes out only when an SMTP host is configured (Django 6.1 MAILERS; console otherwise,
# and in production SMTP on localhost, which nothing uses until EMAIL_HOST is set).
EMAIL_HOST_CONFIGURED = os.environ.get("EMAIL_HOST", "")
NOTIFY_BY_EMAIL = bool(EMAIL_HOST_CONFIGURED)
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
if EMAIL_HOST_CONFIGURED or PRODUCTION:
    MAILERS["default"] = {
        "BACKEND": os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),
        "OPTIONS": {
            "host": EMAIL_HOST_CONFIGURED or "localhost", "port": envint("EMAIL_PORT", 587, minimum=1, maximum=65535),
            "username": os.environ.get("EMAIL_HOST_USER", ""), "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": envbool("EMAIL_USE_TLS", "True"), "timeout": 15,
        },
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "higgsweb@localhost")

# Logs go to stderr, one JSON object per line in production (LOG_FORMAT=json|plain), each
# tagged with the request id of the web request or the generation id of the worker step.
LOG_LEVEL = envchoice("LOG_LEVEL", "INFO", ("debug", "info", "warning", "error", "critical")).upper()
LOG_FORMAT = envchoice("LOG_FORMAT", "json" if PRODUCTION else "plain", ("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "higgsweb.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(ids)s%(message)s"},
        "json": {"()": "higgsweb.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Django's own console handler only prints under DEBUG; everything goes through ours.
        "django": {"handlers": [], "level": "WARNING"},
        "higgsweb": {"level": LOG_LEVEL},
        "generations": {"level": LOG_LEVEL},
        "characters": {"level": LOG_LEVEL},
        "django-q": {"level": LOG_LEVEL},  # cluster start and stop, task failures
    },
}
