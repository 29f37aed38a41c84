"""Where this node's keyring lives. One place, so a hardware security module can replace it."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from entente.security.keyring import DirectoryKeyring, Keyring


@cache
def keyring() -> Keyring:
    return DirectoryKeyring(settings.KEY_DIR)
