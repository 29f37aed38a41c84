"""Fixtures shared by every app's tests: a world of organisations, users and labels."""

from __future__ import annotations

import pytest

from entente.security.keystore import keyring


@pytest.fixture(autouse=True)
def _isolated_keys(settings, tmp_path_factory):
    """Each test session gets its own key and blob directories, never the developer's var/
    (nor another test run's: CI runs the SQLite and PostgreSQL suites side by side)."""
    settings.KEY_DIR = tmp_path_factory.getbasetemp() / "keys"
    settings.BLOB_DIR = tmp_path_factory.getbasetemp() / "blobs"
    keyring.cache_clear()
    ring = keyring()
    for nation in ("GBR", "JPN"):
        if not ring.kek_ids(nation):
            ring.create_kek(nation)
    yield
    keyring.cache_clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in Japanese activates Japanese for
    the rest of the thread, which would otherwise leak into the next test's messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
