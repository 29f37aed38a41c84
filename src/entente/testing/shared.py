"""Rows built once for a whole test module, as Django's ``TestCase.setUpTestData`` does.

A module-scoped fixture builds its world inside a transaction that stays open for the module
and is rolled back after its last test. Each test runs, as always, in a transaction of its own
nested in that one (a savepoint), which is rolled back when the test ends: every test starts
from the same rows, whatever the previous test wrote, exactly as if the world had been rebuilt
for it. The function-scoped fixture hands each test a deep copy of the built objects, so a test
that changes an instance in memory does not change it for the next (also as ``setUpTestData``).

Two rules keep that equivalence, and :func:`build_for_the_module` enforces both at the start of
the module:

* every test of the module that uses the database uses the shared world: the rows exist for the
  whole module, so a test that expects an empty database would otherwise find them;
* no test of the module is transactional (``transaction=True``, ``live_server``): those commit
  and flush, which cannot happen inside the module's transaction.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.db import DEFAULT_DB_ALIAS, transaction

T = TypeVar("T")

_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences",
                "django_db_serialized_rollback", "live_server"}
_TRANSACTIONAL_FIXTURES = {"transactional_db", "django_db_reset_sequences",
                           "django_db_serialized_rollback", "live_server"}


def _check_the_module(request: pytest.FixtureRequest, shared: str | None) -> None:
    module = request.node.nodeid
    for item in request.session.items:
        if not item.nodeid.startswith(f"{module}::"):
            continue
        names = set(getattr(item, "fixturenames", ()))
        marker = item.get_closest_marker("django_db")
        transactional = bool(names & _TRANSACTIONAL_FIXTURES) or bool(
            marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
                        or marker.kwargs.get("serialized_rollback")))
        if transactional:
            raise pytest.UsageError(
                f"{item.nodeid} is transactional; it cannot share {shared!r}, built for the "
                "module inside a transaction. Move it to a module of its own.")
        if (marker or names & _DB_FIXTURES) and shared not in names:
            raise pytest.UsageError(
                f"{item.nodeid} uses the database but not {shared!r}, whose rows exist for "
                "the whole module: move it to a module of its own, or let it use them.")


def build_for_the_module(request: pytest.FixtureRequest, django_db_blocker: Any,
                         build: Callable[[], T]) -> Iterator[T]:
    """The body of a module-scoped fixture: ``yield from build_for_the_module(request,
    django_db_blocker, build)``. Tests reach it through a function-scoped fixture that returns
    ``copy.deepcopy`` of what it yields."""
    _check_the_module(request, request.fixturename)
    with django_db_blocker.unblock():
        outer = transaction.atomic(using=DEFAULT_DB_ALIAS)
        # Like TestCase's class-wide transaction: durable blocks in the code under test are
        # allowed inside it, as they are inside each test's own.
        outer._from_testcase = True  # type: ignore[attr-defined]
        outer.__enter__()
        try:
            built = build()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True, using=DEFAULT_DB_ALIAS)
            outer.__exit__(None, None, None)
