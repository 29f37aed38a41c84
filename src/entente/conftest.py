"""Fixtures shared by every app's tests: a world of organisations, users and labels."""

from __future__ import annotations

import pytest

from entente.security.keystore import keyring


@pytest.fixture(autouse=True)
def _isolated_keys(settings, tmp_path_factory):
    """Each test session gets its own key directory, never the developer's var/keys."""
    settings.KEY_DIR = tmp_path_factory.getbasetemp() / "keys"
    keyring.cache_clear()
    ring = keyring()
    for nation in ("GBR", "JPN"):
        if not ring.kek_ids(nation):
            ring.create_kek(nation)
    yield
    keyring.cache_clear()
