"""Entente settings: everything that differs between installations comes from the environment.

Secure by default: DEBUG is off, cookies are secure unless ENTENTE_INSECURE_COOKIES is set (the
local demo over plain HTTP sets it), passwords use argon2, every page needs a TOTP-verified user.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("ENTENTE_VAR_DIR", Path.cwd() / "var")).resolve()


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("ENTENTE_DEBUG")


def _secret_key() -> str:
    """From the environment, else a random key kept beside the data (created once, mode 0600)."""
    if key := os.environ.get("ENTENTE_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret.key"
    if not path.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; read theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [h for h in os.environ.get("ENTENTE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("ENTENTE_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# The nation whose node this is, and where its key-encryption keys and signing key live.
NODE_NATION = os.environ.get("ENTENTE_NODE_NATION", "GBR")
NODE_NAME = os.environ.get("ENTENTE_NODE_NAME", f"Entente node of {NODE_NATION}")
KEY_DIR = Path(os.environ.get("ENTENTE_KEY_DIR", VAR_DIR / "keys")).resolve()
BLOB_DIR = Path(os.environ.get("ENTENTE_BLOB_DIR", VAR_DIR / "blobs")).resolve()
AUDIT_CHECKPOINT_EVERY = int(os.environ.get("ENTENTE_AUDIT_CHECKPOINT_EVERY", "1000"))

# Exchange: attachments up to this size (default 2 GiB); receipts expected within this many days.
ENTENTE_MAX_UPLOAD_BYTES = int(os.environ.get("ENTENTE_MAX_UPLOAD_BYTES", str(2 * 1024**3)))
ENTENTE_ACKNOWLEDGE_WITHIN_DAYS = int(os.environ.get("ENTENTE_ACKNOWLEDGE_WITHIN_DAYS", "14"))
# Federation: packages for partner nodes wait here until receipted; the address partners reach
# this node's federation endpoint at (written into its identity file); delivery back-off.
FEDERATION_DIR = Path(os.environ.get("ENTENTE_FEDERATION_DIR", VAR_DIR / "federation")).resolve()
FEDERATION_ENDPOINT = os.environ.get("ENTENTE_FEDERATION_ENDPOINT", "")
FEDERATION_RETRY_SECONDS = float(os.environ.get("ENTENTE_FEDERATION_RETRY_SECONDS", "30"))
FEDERATION_RETRY_MAX_SECONDS = float(os.environ.get("ENTENTE_FEDERATION_RETRY_MAX_SECONDS",
                                                    "3600"))
FEDERATION_MAX_PACKAGE_BYTES = int(os.environ.get("ENTENTE_FEDERATION_MAX_PACKAGE_BYTES",
                                                  str(4 * 1024**3)))
# Every uploaded file is encrypted as it arrives, under a key that lives only in memory: Django's
# default handlers would write the plaintext of a large upload to a temporary file.
FILE_UPLOAD_HANDLERS = ["entente.security.uploads.EncryptingUploadHandler"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "ninja",
    "entente.core",
    "entente.security",
    "entente.exchange",
    "entente.cooperation",
    "entente.industry",
    "entente.logistics",
    "entente.exercises",
    "entente.federation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "entente.core.middleware.RequireVerifiedUserMiddleware",
    # Before anything reads request.POST: a request over the limit is refused unread.
    "entente.core.middleware.UploadLimitMiddleware",
    "entente.core.middleware.RejectNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "entente.urls"
WSGI_APPLICATION = "entente.wsgi.application"
AUTH_USER_MODEL = "core.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "entente.federation.views.navigation",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'entente.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so the audit chain's read-last-then-append is
    # serialised between processes exactly as PostgreSQL's advisory lock does it there.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: our queries are short, but a search or a listing whose plan walks an index with a
    # filter is *estimated* expensive (the planner cannot know it stops after one page), and the
    # JIT then spends ~0.7 s compiling a query that runs in a few milliseconds.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
    # Server-side parameters and prepared statements: a statement the connection has run before
    # is not planned again. The visibility filter's statement takes ~2 ms to plan and under 1 ms
    # to run, so without this every listing and search pays for planning twice over.
    DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=1)
    # Prepared statements live as long as their connection. Behind a server that reuses its
    # threads (gunicorn, uWSGI) set ENTENTE_DB_CONN_MAX_AGE (seconds) so connections, and with
    # them the plans, outlive one request; the development server starts a thread per request,
    # which is why the default stays 0.
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("ENTENTE_DB_CONN_MAX_AGE", "0"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if test_db := os.environ.get("ENTENTE_TEST_DB_NAME"):
    # Lets two test runs share one PostgreSQL server without dropping each other's database.
    DATABASES["default"]["TEST"] = {"NAME": test_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"

# Lockout: five failures (password or TOTP) lock the account for an hour.
AXES_FAILURE_LIMIT = int(os.environ.get("ENTENTE_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "entente.core.views.locked_out"  # our own page, in the user's language

# Idle timeout: the session dies after this many seconds without a request.
SESSION_COOKIE_AGE = int(os.environ.get("ENTENTE_IDLE_TIMEOUT", "900"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
_secure_cookies = not _flag("ENTENTE_INSECURE_COOKIES")
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = _flag("ENTENTE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = int(os.environ.get("ENTENTE_HSTS_SECONDS", "0"))
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _flag("ENTENTE_BEHIND_PROXY") else None

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Only for `collectstatic` in a deployment; WhiteNoise serves from the apps otherwise.
STATIC_ROOT = os.environ.get("ENTENTE_STATIC_ROOT") or None

OTP_TOTP_ISSUER = "Entente"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ENTENTE_LOG_LEVEL", "WARNING")},
}

# WhiteNoise serves the app's own static files (no CDN, no collectstatic needed for the demo).
WHITENOISE_USE_FINDERS = True

# Lockout is per account: government offices sit behind shared addresses, and locking an address
# would let one person's typos lock out a whole ministry.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
