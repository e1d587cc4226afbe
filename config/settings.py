"""TorchReady settings: one module, driven by environment variables.

With no variables at all it runs on SQLite and Celery's filesystem broker under
var/. Set DATABASE_URL, CELERY_BROKER_URL and the students' broker variables for
PostgreSQL and RabbitMQ (README: Deploy for a class). Every
variable is parsed strictly: a value we cannot read is an error at start-up,
not a surprise in production. Secrets may come from NAME_FILE instead of NAME.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TORCHREADY_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """NAME, or the contents of the file named by NAME_FILE (Docker secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no, on/off"
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(f"{name}={raw!r} has an empty item: separate hosts with commas")
    return items


class StudentBrokers(NamedTuple):
    student_broker: str  # the server publishes students' runs here, as itself ("": its own)
    worker_broker: str  # students' workers are told this one, without credentials
    management: str  # RabbitMQ's management API, to close revoked workers' connections
    vhost: str  # the students' vhost
    auth_secret: str  # what RabbitMQ sends to /internal/broker/


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def student_brokers(
    *,
    server_broker: str,
    student_broker: str,
    worker_broker: str,
    management: str,
    auth_secret: str,
) -> StudentBrokers:
    """Check the students' broker settings; refuse anything that hands students the server's.

    A worker URL may be left out only where no credential could leak and only
    this machine's workers could connect: the embedded filesystem broker, or a
    password-free broker on the loopback (local development and perf runs).
    Students' workers reaching the server from elsewhere use RabbitMQ, where each
    worker logs in with its own id and token and reads only its own queue.
    """
    server = urlsplit(server_broker)
    if not worker_broker:
        if server.scheme in ("filesystem", "memory") or (
            server.password is None and server.hostname in _LOOPBACK and not student_broker
        ):
            return StudentBrokers("", server_broker, "", "", "")
        raise ImproperlyConfigured(
            "TORCHREADY_WORKER_BROKER_URL is not set: students' workers would be handed the "
            "server's own broker (CELERY_BROKER_URL) and its credentials. Set it to RabbitMQ "
            "as students reach it, e.g. amqps://class.example.org:5671/students"
        )
    worker = urlsplit(worker_broker)
    if worker.username or worker.password:
        same = worker.password and worker.password in (server.password, _password(student_broker))
        raise ImproperlyConfigured(
            "TORCHREADY_WORKER_BROKER_URL carries "
            + ("the server's credentials" if same else "a user name or password")
            + ": every student would get them. Leave them out; each worker logs in with "
            "its own id and worker token"
        )
    if worker.scheme not in ("amqp", "amqps"):
        if worker.hostname in _LOOPBACK and not student_broker:
            return StudentBrokers("", worker_broker, "", "", "")
        raise ImproperlyConfigured(
            f"TORCHREADY_WORKER_BROKER_URL={worker_broker!r}: students' workers must use "
            "RabbitMQ (amqps://host:5671/students), which gives each worker its own queue only"
        )
    vhost = unquote(worker.path.lstrip("/")) or "/"
    student = urlsplit(student_broker)
    if student.scheme not in ("amqp", "amqps") or not student.password:
        raise ImproperlyConfigured(
            "STUDENT_BROKER_URL must be the students' RabbitMQ vhost with the server's "
            "credentials, e.g. amqp://server:PASSWORD@rabbitmq:5672/students"
        )
    if unquote(student.path.lstrip("/")) != vhost:
        raise ImproperlyConfigured(
            f"STUDENT_BROKER_URL and TORCHREADY_WORKER_BROKER_URL name different vhosts; "
            f"students' workers read from {vhost!r}"
        )
    if server.scheme in ("amqp", "amqps") and unquote(server.path.lstrip("/")) == vhost:
        raise ImproperlyConfigured(
            f"CELERY_BROKER_URL uses the students' vhost {vhost!r}: the server's own queues, "
            "pub/sub and remote control need a vhost of their own (e.g. /server)"
        )
    if len(auth_secret) < 32:
        raise ImproperlyConfigured(
            "BROKER_AUTH_SECRET must be set (32 characters or more): RabbitMQ sends it to "
            "/internal/broker/ to ask about workers' log-ins"
        )
    if not management:
        management = f"http://{student.netloc.rsplit('@', 1)[0]}@{student.hostname}:15672"
    return StudentBrokers(student_broker, worker_broker, management, vhost, auth_secret)


def _password(url: str) -> str | None:
    return urlsplit(url).password if url else None


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    # The embedded default keeps a random key under var/ so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _database(url: str | None) -> dict:
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "torchready.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from exc
    if not config.get("ENGINE"):
        raise ImproperlyConfigured("DATABASE_URL names no database engine")
    return dict(config)


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "learning.admin_site.OperatorsAdminConfig",  # django.contrib.admin, for operators only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "learning",
    "diagnostics",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into learning.auth.lockout_response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "learning.context_processors.vocabulary",
            ],
            "builtins": ["django_htmx.templatetags.django_htmx"],
        },
    }
]

DATABASES = {"default": _database(env_str("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Log-in throttling by django-axes (learning/auth.py): failed log-ins allowed per
# user name and client address, per window (seconds), and per address alone: high
# enough for a class behind one campus NAT, low enough to slow spraying names.
LOGIN_THROTTLE_ATTEMPTS = env_int("LOGIN_THROTTLE_ATTEMPTS", 5)
LOGIN_THROTTLE_ADDRESS_ATTEMPTS = env_int("LOGIN_THROTTLE_ADDRESS_ATTEMPTS", 300)
LOGIN_THROTTLE_WINDOW = env_int("LOGIN_THROTTLE_WINDOW", 300)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "learning.auth.AddressCeilingHandler"
AXES_FAILURE_LIMIT = LOGIN_THROTTLE_ATTEMPTS
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_THROTTLE_WINDOW)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_CLIENT_IP_CALLABLE = "learning.services.accounts.client_address"
AXES_LOCKOUT_CALLABLE = "learning.auth.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a reset would clear the address's count too
AXES_VERBOSE = False
# Lockouts are reset with `manage.py axes_reset` (or axes_reset_ip, axes_reset_username).
AXES_ENABLE_ADMIN = False
# Wrong invite codes allowed per client address, per window (seconds), at signup and join.
INVITE_THROTTLE_ATTEMPTS = env_int("INVITE_THROTTLE_ATTEMPTS", 10)
INVITE_THROTTLE_WINDOW = env_int("INVITE_THROTTLE_WINDOW", 900)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "learning:my_modules"  # instructors: learning.auth.LoginView
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The image collects into its own read-only folder, outside the var/ volume, so an
# upgrade's new files are never hidden by the old ones kept in a volume.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")) or "")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes gzip copies and content-hashed names, which whitenoise
    # serves with its ten-year immutable Cache-Control. Before collectstatic (tests,
    # the demo) pages name the plain files, served from their folders below.
    "staticfiles": {"BACKEND": "learning.staticfiles.HashedStaticFilesStorage"},
}
# Serve app and project static files straight from their folders as well, so a
# checkout works before (or without) collectstatic, in tests and in the demo.
WHITENOISE_USE_FINDERS = True

# Security. Every value here applies in development and tests too; only the
# TLS-bound ones are switched on by environment variables (see .env.example).
# Sessions are read from the cache (Redis in production) and written through to the
# database: every signed-in request, the dashboard's 5 s poll included, saves a query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), not the cookie
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating reverse proxy that sets X-Forwarded-Proto. Only set
# this when the proxy strips the header from clients, or anyone can claim https.
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading is a promise to the browsers' list that an operator opts into, not a flaw.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Course content: relative links and images in a page resolve against this URL.
COURSE_BASE_URL = env_str("COURSE_BASE_URL", "") or ""
COURSE_DIR = Path(env_str("COURSE_DIR", str(BASE_DIR / "content" / "modules")) or "")
# Course uploads wait here, unpacked, between their preview and the instructor's confirm.
UPLOAD_DIR = Path(env_str("UPLOAD_DIR", str(VAR_DIR / "uploads")) or "")
VERIFIERS_FILE = Path(env_str("VERIFIERS_FILE", str(BASE_DIR / "content" / "verifiers.yaml")) or "")

# Pages load only this server's own scripts, styles and images: no inline
# script or style, no eval (so no htmx trigger filters in [...]), no framing of us.
# Course pages embed YouTube videos (the importer lets no other iframe through) and
# show images resolved against COURSE_BASE_URL, so those origins are allowed too.
_course_origin = "/".join(COURSE_BASE_URL.split("/")[:3]) if COURSE_BASE_URL else ""
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *([_course_origin] if _course_origin else [])],
        "frame-src": ["https://www.youtube-nocookie.com", "https://www.youtube.com"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Celery. The embedded default is the filesystem broker under var/, so a demo
# needs no Redis or RabbitMQ; in the compose deployment the server's own Celery
# uses RabbitMQ's vhost "server" (CELERY_BROKER_URL).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # Broadcast (pidbox) exchanges; kombu's default is ./control in the cwd.
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Longer than any countdown or ETA we use, so Redis never redelivers early.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat's own bookkeeping (last run times); the folder must exist before beat opens it.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
VAR_DIR.mkdir(parents=True, exist_ok=True)

# The cache holds the API's rate-limit counters, so it must be shared by every
# server process: Redis (CACHE_URL, or the server's broker when that is Redis),
# else files under var/.
_cache_url = env_str("CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
if _cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "torchready",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Worker pipeline. The public URL is what a student's worker posts to.
TORCHREADY_PUBLIC_URL = (env_str("TORCHREADY_PUBLIC_URL") or "").rstrip("/")
# Students' brokers (student_brokers, above, checks them): where the server puts
# students' runs (STUDENT_BROKER_URL, with the server's credentials), the broker
# as students' workers reach it (TORCHREADY_WORKER_BROKER_URL, with no
# credentials: each worker logs in with its own id and token), RabbitMQ's
# management API, and the secret RabbitMQ sends to /internal/broker/.
_brokers = student_brokers(
    server_broker=CELERY_BROKER_URL,
    student_broker=env_str("STUDENT_BROKER_URL") or "",
    worker_broker=env_str("TORCHREADY_WORKER_BROKER_URL") or "",
    management=env_str("STUDENT_BROKER_MANAGEMENT_URL") or "",
    auth_secret=env_str("BROKER_AUTH_SECRET") or "",
)
DIAGNOSTICS_STUDENT_BROKER_URL = _brokers.student_broker
TORCHREADY_WORKER_BROKER_URL = _brokers.worker_broker
DIAGNOSTICS_BROKER_MANAGEMENT_URL = _brokers.management
DIAGNOSTICS_STUDENT_VHOST = _brokers.vhost
BROKER_AUTH_SECRET = _brokers.auth_secret
# RabbitMQ asks the auth endpoints over the compose network, by a host name the
# public site doesn't answer to (e.g. "web"); those names are allowed too.
ALLOWED_HOSTS += env_list("INTERNAL_HOSTS", [])
# The broker talks plain HTTP on the internal network, never through the TLS proxy.
SECURE_REDIRECT_EXEMPT = [r"^internal/broker/"]
DIAGNOSTICS_QUEUE_PREFIX = env_str("DIAGNOSTICS_QUEUE_PREFIX") or "torchready.student."
# A queued run no worker takes in this many seconds expires; a claimed run gets
# the check's own time limit plus this grace before it counts as lost.
DIAGNOSTICS_QUEUE_TIMEOUT = env_int("DIAGNOSTICS_QUEUE_TIMEOUT", 300)
# At most this many runs wait in one student's RabbitMQ queue; more are refused.
DIAGNOSTICS_QUEUE_MAX_LENGTH = env_int("DIAGNOSTICS_QUEUE_MAX_LENGTH", 10)
DIAGNOSTICS_CHECK_TIMEOUT = env_int("DIAGNOSTICS_CHECK_TIMEOUT", 120)
DIAGNOSTICS_RUN_GRACE = env_int("DIAGNOSTICS_RUN_GRACE", 60)
DIAGNOSTICS_HEARTBEAT_INTERVAL = env_int("DIAGNOSTICS_HEARTBEAT_INTERVAL", 15)
# Requests per minute and token on the worker API.
DIAGNOSTICS_RATE_LIMIT = env_int("DIAGNOSTICS_RATE_LIMIT", 30)
# Reports per student in any 24 hours; past it the API answers 429 and the worker
# keeps the report in its spool. A report is one click, so 200 is far above real use.
DIAGNOSTICS_DAILY_REPORT_QUOTA = env_int("DIAGNOSTICS_DAILY_REPORT_QUOTA", 200)
# Retention: each student's newest N raw bodies are kept, and any report that is
# evidence; older ones are reduced to their summary, hourly by beat.
DIAGNOSTICS_KEEP_RAW_REPORTS = env_int("DIAGNOSTICS_KEEP_RAW_REPORTS", 20)
CELERY_BEAT_SCHEDULE = {
    "diagnostics-sweep-stale-runs": {"task": "diagnostics.sweep_stale_runs", "schedule": 30.0},
    # Closes broker connections of revoked tokens that got back in while RabbitMQ's
    # auth cache still remembered them (a no-op without RabbitMQ).
    "diagnostics-close-revoked-connections": {
        "task": "diagnostics.close_revoked_connections",
        "schedule": 15.0,
    },
    "diagnostics-prune-reports": {"task": "diagnostics.prune_reports", "schedule": 3600.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
