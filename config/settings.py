"""OpenIOP settings: one module, everything read from the environment.

See docs/operations.md for the list of variables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# pytest sets PYTEST_VERSION, so a test run never needs production secrets.
TESTING = env_bool("OPENIOP_TESTING", False) or "PYTEST_VERSION" in os.environ

_secret = env_str("SECRET_KEY")
if not _secret:
    if DEBUG or TESTING:
        _secret = "insecure-development-key-never-use-in-production"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set it to a long random value."
        )
SECRET_KEY: str = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "rules",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "openiop.core",
    "openiop.accounts",
    "openiop.audit",
    "openiop.notifications",
    "openiop.patients",
    "openiop.measures",
    "openiop.intake",
    "openiop.assessments",
    "openiop.admissions",
    "openiop.plans",
    "openiop.scheduling",
    "openiop.attachments",
    "openiop.recovery",
    "openiop.notes",
    "openiop.timeline",
    "openiop.discharge",
    "openiop.reports",
    "openiop.synthetic",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "openiop.core.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "openiop.audit.middleware.AuditContextMiddleware",
    "openiop.accounts.middleware.RequireMFAMiddleware",
    "openiop.accounts.middleware.CurrentFacilityMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

FORM_RENDERER = "openiop.core.forms.FormRenderer"
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "openiop" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "openiop.core.context_processors.openiop",
                "openiop.notifications.context_processors.inbox",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
# SQLite is the embedded default; PostgreSQL in production through DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:  # pragma: no cover - depends on the environment
    raise ImproperlyConfigured(f"DATABASE_URL is not a database address: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the task worker writes.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": None}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Patient data of a clinic fits in memory on SSDs, where a random read costs about what a
    # sequential one does. With PostgreSQL's default of 4, some ANALYZE samples make patient
    # search walk most of the name index (250 ms instead of 5 ms at 100,000 patients; see
    # benchmarks/README.md). Empty leaves the server's setting (e.g. behind PgBouncer, where
    # ALTER DATABASE ... SET random_page_cost = 1.1 does the same).
    _page_cost = env_str("OPENIOP_PG_RANDOM_PAGE_COST", "1.1")
    _pg_options = [f"-c random_page_cost={float(_page_cost)}"] if _page_cost else []
    # PostgreSQL's JIT compiles the reports' large aggregates on every run: about 0.3 s more
    # per report at 50,000 episodes, for queries that finish in a second without it
    # (benchmarks/README.md). OPENIOP_PG_JIT=true leaves it on.
    if not env_bool("OPENIOP_PG_JIT", False):
        _pg_options.append("-c jit=off")
    if _pg_options:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(_pg_options)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (sign-in throttling counters live here) ----------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication -----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("OPENIOP_PASSWORD_MIN_LENGTH", 12, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if TESTING
    else [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ]
)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "openiop.accounts.adapters.StaffAccountAdapter"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
# Sign-in throttling: failed attempts per e-mail address and per IP.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("OPENIOP_LOGIN_RATE_LIMIT", "10/m/ip,5/5m/key"),
    "login": "30/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "OpenIOP"
# Staff must enrol an authenticator app unless this is turned off (the demo does so).
OPENIOP_REQUIRE_MFA = env_bool("OPENIOP_REQUIRE_MFA", True)

# Idle sessions end after this many minutes without a request (HIPAA §164.312(a)(2)(iii)).
OPENIOP_IDLE_TIMEOUT_MINUTES = env_int("OPENIOP_IDLE_TIMEOUT_MINUTES", 15, minimum=1, maximum=720)
# How long a break-the-glass grant to an out-of-scope chart lasts.
OPENIOP_BREAK_GLASS_MINUTES = env_int("OPENIOP_BREAK_GLASS_MINUTES", 60, minimum=5, maximum=1440)
OPENIOP_DEMO = env_bool("OPENIOP_DEMO", False)
# Where staff reach OpenIOP; used for links in e-mails (which never carry patient information).
OPENIOP_BASE_URL = (env_str("OPENIOP_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
# Trust the left-most X-Forwarded-For address (only behind a proxy that sets it).
OPENIOP_TRUST_X_FORWARDED_FOR = env_bool("OPENIOP_TRUST_X_FORWARDED_FOR", False)
# Public help requests (web form and API) accepted per client address: N/s, N/m, N/h or N/d.
OPENIOP_HELP_REQUEST_RATE = env_str("OPENIOP_HELP_REQUEST_RATE") or "5/h"
if not re.fullmatch(r"[1-9][0-9]*/[smhd]", OPENIOP_HELP_REQUEST_RATE):
    raise ImproperlyConfigured(
        "OPENIOP_HELP_REQUEST_RATE is a number of requests per period, e.g. 5/h (s, m, h or d)."
    )

SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# Flash messages may name a document or a family member: keep them in the server-side session,
# never in a (signed but readable) cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security headers ---------------------------------------------------------------------
# HTTPS is assumed outside DEBUG; a local demo over plain http turns it off explicitly.
HTTPS = env_bool("OPENIOP_HTTPS", not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("OPENIOP_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("OPENIOP_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("OPENIOP_BEHIND_PROXY", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = ["security.W008"] if not SECURE_SSL_REDIRECT else []

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Attachments (scanned documents) --------------------------------------------------------
# Private storage outside the web root: only the permission-checked, audited download view
# reads it. Back it up with the database.
OPENIOP_ATTACHMENTS_DIR = Path(
    env_str("OPENIOP_ATTACHMENTS_DIR") or BASE_DIR / "var" / "attachments"
)
# Finished background exports (report CSVs, TEDS files): outside the web root, served only
# through the audited download view, removed after OPENIOP_EXPORTS_KEEP_DAYS.
OPENIOP_EXPORTS_DIR = Path(env_str("OPENIOP_EXPORTS_DIR") or BASE_DIR / "var" / "exports")
OPENIOP_EXPORTS_KEEP_DAYS = env_int("OPENIOP_EXPORTS_KEEP_DAYS", 7, minimum=1, maximum=365)
OPENIOP_ATTACHMENTS_MAX_MB = env_int("OPENIOP_ATTACHMENTS_MAX_MB", 10, minimum=1, maximum=100)
STATICFILES_DIRS = [BASE_DIR / "openiop" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["openiop.core.permissions.IsStaffUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "openiop.core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "openiop.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OpenIOP API",
    "DESCRIPTION": (
        "REST API of OpenIOP. Every call is scoped to the caller's facilities and caseload "
        "and leaves the same audit record as the web pages. Patient search is a POST so that "
        "names never appear in URLs or server logs."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["openiop.core.permissions.IsStaffUser"],
    # Fields of the same name with different choices get their own enum names.
    "ENUM_NAME_OVERRIDES": {
        "ContactAttemptResultEnum": "openiop.discharge.models.ContactAttempt.Result",
    },
}

# --- Background tasks ---------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}

# --- E-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "openiop@example.org")
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# --- Logging: no PHI; the audit trail is the place for who-saw-what. --------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
