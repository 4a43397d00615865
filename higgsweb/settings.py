"""higgsweb settings: one file, every value from the environment, working defaults.

With no HIGGSFIELD_API_KEY the app talks to the local simulator (`manage.py simulate`).
"""

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name, default="False"):
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name, default):
    return int(os.environ.get(name, default))


def envlist(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-key-change-me-in-production-0123456789")
DEBUG = envbool("DEBUG", "True")
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
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "higgsweb.context_processors.provider",
            ],
        },
    },
]

# Database: SQLite by default (WAL, busy timeout, IMMEDIATE transactions so that
# concurrent writers queue instead of failing); DATABASE_URL for PostgreSQL.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            },
        }
    }
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

# django-axes: lock an account+IP after repeated failed logins.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLED = envbool("AXES_ENABLED", "True")

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

# --- Provider -------------------------------------------------------------------
HIGGSFIELD_API_KEY = os.environ.get("HIGGSFIELD_API_KEY", "")
HIGGSFIELD_API_SECRET = os.environ.get("HIGGSFIELD_API_SECRET", "")
SIM_PORT = envint("SIM_PORT", 8765)
SIMULATOR_URL = os.environ.get("SIMULATOR_URL", f"http://127.0.0.1:{SIM_PORT}")
# With no key, the app runs against the local simulator with its demo credentials.
USE_SIMULATOR = not HIGGSFIELD_API_KEY
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
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
UPLOAD_MAX_PIXELS = envint("UPLOAD_MAX_PIXELS", 40_000_000)
# Hosts output files may be downloaded from (https only); the simulator origin is added when in use.
HIGGSFIELD_MEDIA_HOSTS = envlist(
    "HIGGSFIELD_MEDIA_HOSTS",
    "d3u0tzju9qaucj.cloudfront.net,cdn.higgsfield.ai,platform.higgsfield.ai,api.higgsfield.ai,"
    "fnf.higgsfield.ai,pub-582b7213209642b9b995c96c95a30381.r2.dev",
)
MAX_DOWNLOAD_BYTES = envint("MAX_DOWNLOAD_BYTES", 200 * 1024 * 1024)

# --- Worker (django-q2) ------------------------------------------------------------
# The database is the record of what must happen next; the broker only triggers work.
REDIS_URL = os.environ.get("REDIS_URL", "")
Q_CLUSTER = {
    "name": os.environ.get("Q_NAME", "higgsweb"),
    "workers": envint("Q_WORKERS", 3),
    "timeout": envint("Q_TIMEOUT", 120),
    "retry": envint("Q_RETRY", 180),
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
    Q_CLUSTER["poll"] = 0.5
# How long one run of the sweeper keeps watching for due work (it is re-scheduled every minute).
SWEEP_SECONDS = envint("SWEEP_SECONDS", 55)
# How long a dispatched step may go unanswered before the sweeper enqueues it again.
PIPELINE_CLAIM_SECONDS = envint("PIPELINE_CLAIM_SECONDS", Q_CLUSTER["retry"])
# Input files: "auto" sends the provider a URL under PUBLIC_BASE_URL when that host is public,
# and otherwise copies the file through the provider's upload flow; "always" / "never" force it.
HIGGSFIELD_UPLOAD_INPUTS = os.environ.get("HIGGSFIELD_UPLOAD_INPUTS", "auto")
# Delete the provider's copy of a result once it is archived here (DELETE /requests/{id}).
HIGGSFIELD_DELETE_AFTER_ARCHIVE = envbool("HIGGSFIELD_DELETE_AFTER_ARCHIVE", "False")

# --- Credits and notifications -------------------------------------------------------
# A new user's monthly hard limit in credits until an admin sets one (empty: no limit).
DEFAULT_MONTHLY_CREDITS = os.environ.get("DEFAULT_MONTHLY_CREDITS") or None
# A job finishing while its owner has not looked at the gallery for this long is notified.
NOTIFY_AWAY_MINUTES = envint("NOTIFY_AWAY_MINUTES", 5)
# Email goes out only when an SMTP host is configured (Django 6.1 MAILERS; console otherwise).
EMAIL_HOST_CONFIGURED = os.environ.get("EMAIL_HOST", "")
NOTIFY_BY_EMAIL = bool(EMAIL_HOST_CONFIGURED)
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
if EMAIL_HOST_CONFIGURED:
    MAILERS["default"] = {
        "BACKEND": os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),
        "OPTIONS": {
            "host": EMAIL_HOST_CONFIGURED, "port": envint("EMAIL_PORT", 587),
            "username": os.environ.get("EMAIL_HOST_USER", ""), "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": envbool("EMAIL_USE_TLS", "True"), "timeout": 15,
        },
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "higgsweb@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "higgsweb": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "generations": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    },
}
