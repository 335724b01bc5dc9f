"""Settings of the demo host project, all read from the environment or a .env file.

With nothing configured (and DEBUG on, the default) it runs on SQLite against the fake FluentCart that
ships with the app (``python manage.py fluentcart_sandbox``, started by ``make run``), with pushes
queued in the database for ``manage.py db_worker`` (also started by ``make run``).
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# The fallback key is for local runs only; `manage.py check --deploy` flags it.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-only-do-not-deploy")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_countries",  # the admin's country list, with the names translated
    "fluentcart_sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Each visitor gets the language their browser asks for (Accept-Language), among LANGUAGES.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads and processes write customers' sync state: WAL lets readers and a writer
    # work side by side, and a writer waits for the lock instead of failing. The test database
    # is a file too, because SQLite's shared in-memory database locks whole tables across threads.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", str(BASE_DIR / "var" / "test-db.sqlite3"))
    (BASE_DIR / "var").mkdir(exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # MariaDB/MySQL through PyMySQL (pure Python: nothing to compile), standing in for mysqlclient.
    import pymysql

    pymysql.install_as_MySQLdb()
    # utf8mb4 for names outside the BMP; the *_ci collation compares emails ignoring case, as the app does.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("charset", "utf8mb4")
    DATABASES["default"].setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})
    # MariaDB has no expression indexes, so Django skips the Lower("email") constraint and says so
    # (models.W044); fluentcart_sync's migration 0002 creates the equivalent unique index instead.
    SILENCED_SYSTEM_CHECKS = ["models.W044"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The language for a browser that asks for none of LANGUAGES.
LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("de", _("German"))]
# The demo's own pages (signup); the app ships its catalogue in fluentcart_sync/locale.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "signup-done"

# -- FluentCart --------------------------------------------------------------------------------
# The fake FluentCart's well-known demo account: not a secret, it only opens the local fake.
SANDBOX_PORT = env.int("FLUENTCART_SANDBOX_PORT", default=8765)
SANDBOX_USERNAME = "demo"
SANDBOX_APP_PASSWORD = "demo app pass word 1234"

_real_fluentcart = env("FLUENTCART_URL", default="")
# The local fake is the default only in DEBUG: in production a forgotten FLUENTCART_URL must be
# `manage.py check`'s error E001, never customers sent to 127.0.0.1.
_use_fake = DEBUG and not _real_fluentcart
FLUENTCART_SYNC = {
    "URL": _real_fluentcart or (f"http://127.0.0.1:{SANDBOX_PORT}" if _use_fake else ""),
    "USERNAME": env("FLUENTCART_USERNAME", default=SANDBOX_USERNAME if _use_fake else ""),
    "APP_PASSWORD": env("FLUENTCART_APP_PASSWORD", default=SANDBOX_APP_PASSWORD if _use_fake else ""),
    "TIMEOUT": env.float("FLUENTCART_TIMEOUT", default=10.0),
    "LEASE_SECONDS": env.int("FLUENTCART_LEASE_SECONDS", default=300),
    "MAX_ATTEMPTS": env.int("FLUENTCART_MAX_ATTEMPTS", default=None),
    "RETRY_WINDOW_SECONDS": env.float("FLUENTCART_RETRY_WINDOW_SECONDS", default=3 * 24 * 3600),
    "QUARANTINE_SECONDS": env.float("FLUENTCART_QUARANTINE_SECONDS", default=None),
    "RETRY_BASE_SECONDS": env.float("FLUENTCART_RETRY_BASE_SECONDS", default=30),
    "RETRY_MAX_SECONDS": env.float("FLUENTCART_RETRY_MAX_SECONDS", default=6 * 3600),
    "RETRY_AFTER_CAP_SECONDS": env.float("FLUENTCART_RETRY_AFTER_CAP_SECONDS", default=600),
    "CREATE_CUSTOMER_FOR_NEW_USERS": env.bool("FLUENTCART_CREATE_CUSTOMER_FOR_NEW_USERS", default=True),
    "INCLUDE_STAFF_USERS": env.bool("FLUENTCART_INCLUDE_STAFF_USERS", default=False),
    "TASK_CHUNK_SIZE": env.int("FLUENTCART_TASK_CHUNK_SIZE", default=100),
    # Unset: adaptive, up to MAX_CONCURRENCY; a number fixes the requests in flight of every task.
    "TASK_CONCURRENCY": env.int("FLUENTCART_TASK_CONCURRENCY", default=None),
    "MAX_CONCURRENCY": env.int("FLUENTCART_MAX_CONCURRENCY", default=16),
    "COALESCE_LIMIT": env.int("FLUENTCART_COALESCE_LIMIT", default=1000),
    "CURRENCY": env("FLUENTCART_CURRENCY", default="USD"),
    # Reads /fluentcart/metrics with `Authorization: Bearer <token>`; unset: staff sessions only.
    "METRICS_TOKEN": env("FLUENTCART_METRICS_TOKEN", default=""),
    "ON_DELETE": env("FLUENTCART_ON_DELETE", default="keep"),
}

# -- Tasks: database (default: django-tasks-db + db_worker), immediate or rq (Redis) --------------
# Not `immediate` by default: it pushes inside the request, so a visitor signing up would wait for
# WordPress. `make run` starts `db_worker` beside the server.
TASKS_BACKEND = env("TASKS_BACKEND", default="database")
try:  # Django 6 ships the Tasks API; Django 5.2 uses the django-tasks backport
    import django.tasks  # noqa: F401

    _IMMEDIATE = "django.tasks.backends.immediate.ImmediateBackend"
except ImportError:
    INSTALLED_APPS.append("django_tasks")
    _IMMEDIATE = "django_tasks.backends.immediate.ImmediateBackend"

if TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": _IMMEDIATE}}
elif TASKS_BACKEND == "database":
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": env("REDIS_URL", default="redis://127.0.0.1:6379/0"), "DEFAULT_TIMEOUT": 600}}
    # `rqworker` runs Tasks only with this job class. SimpleWorker runs each job in the worker process
    # instead of a fork per job, so the FluentCart client and its connection pool outlive the job.
    RQ = {"JOB_CLASS": "django_tasks_rq.Job", "WORKER_CLASS": "rq.worker.SimpleWorker"}
else:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"TASKS_BACKEND must be immediate, database or rq, not {TASKS_BACKEND!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"fluentcart_sync": {"handlers": ["console"], "level": env("FLUENTCART_LOG_LEVEL", default="INFO")}},
}
