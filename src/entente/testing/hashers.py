"""Password hashing for tests whose subject is not password hashing."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """The same Argon2id algorithm and ``argon2$...`` format as production, at the smallest cost
    the algorithm allows (8 KiB, one pass, one lane) instead of ~100 MiB and 8 lanes: a real
    hash that a real check verifies, in microseconds instead of ~0.2 s per password.

    The suite's ``conftest`` uses it for every test not marked ``production_hasher``; the tests
    of signing in and of how passwords are stored keep the production hasher."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1
