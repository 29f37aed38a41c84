"""Fixtures shared by every app's tests: a world of organisations, users and labels."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings

from entente.security.keystore import keyring

ARGON2 = "django.contrib.auth.hashers.Argon2PasswordHasher"
CHEAP_ARGON2 = "entente.testing.hashers.CheapArgon2PasswordHasher"
_production_hashers: list[str] = []


def pytest_configure(config):
    # Registered here rather than in pyproject.toml, whose every change rebuilds each .venv.
    config.addinivalue_line(
        "markers", "production_hasher: the production password hashers (Argon2 at full cost); "
        "other tests use a cheap Argon2 (conftest)")


def _ensure_keks() -> None:
    keyring.cache_clear()
    ring = keyring()
    for nation in ("GBR", "JPN"):
        if not ring.kek_ids(nation):
            ring.create_kek(nation)


@pytest.fixture(autouse=True, scope="session")
def _session_settings(tmp_path_factory):
    """For the whole session, before any fixture (module-scoped worlds included) touches them:

    * key and blob directories of the session's own, never the developer's var/ (nor another
      test run's: CI runs the SQLite and PostgreSQL suites side by side);
    * Argon2 at its smallest cost (:class:`entente.testing.hashers.CheapArgon2PasswordHasher`):
      every ``make_user`` hashes a password, and at the production cost (~0.2 s each) that was
      most of the suite's set-up time. Tests marked ``production_hasher`` (signing in, how
      passwords are stored) get the production hashers back (``_production_password_hashing``).
    """
    from django.conf import settings

    _production_hashers[:] = settings.PASSWORD_HASHERS
    base = tmp_path_factory.getbasetemp()
    with override_settings(
            KEY_DIR=base / "keys", BLOB_DIR=base / "blobs",
            PASSWORD_HASHERS=[CHEAP_ARGON2 if h == ARGON2 else h for h in _production_hashers]):
        _ensure_keks()
        yield
    keyring.cache_clear()


@pytest.fixture(autouse=True)
def _isolated_keys(settings, tmp_path_factory):
    """Each test starts on the session's key and blob directories (whatever an earlier test
    pointed them at) with a fresh keyring object."""
    settings.KEY_DIR = tmp_path_factory.getbasetemp() / "keys"
    settings.BLOB_DIR = tmp_path_factory.getbasetemp() / "blobs"
    _ensure_keks()
    yield
    keyring.cache_clear()


@pytest.fixture(autouse=True)
def _production_password_hashing(request, settings):
    """The production hashers (Argon2 at full cost) for tests marked ``production_hasher``."""
    if request.node.get_closest_marker("production_hasher"):
        settings.PASSWORD_HASHERS = list(_production_hashers)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in Japanese activates Japanese for
    the rest of the thread, which would otherwise leak into the next test's messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
