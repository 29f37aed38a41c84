"""What every app's pages need from the kernel: the one 404 for missing and forbidden alike, and
label banners in the reader's nation's equivalent marking."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import Http404, HttpRequest
from django.utils import timezone

from entente.security import reference
from entente.security.labels import Banner, banner
from entente.security.models import Label
from entente.security.selectors import NotFound


@contextmanager
def not_found_is_404() -> Iterator[None]:
    """A selector's or service's NotFound (missing or forbidden, never told apart) is a 404."""
    try:
        yield
    except NotFound:
        raise Http404 from None


def reader_nation(request: HttpRequest) -> str | None:
    return getattr(request.user, "nationality_id", None)


def page_banners(request: HttpRequest) -> Callable[[Label], Banner]:
    """Banners for many rows with one look-up of the day's reference data."""
    protection = reference.protection(timezone.localdate())
    nation = reader_nation(request)
    return lambda label: banner(label, nation, protection=protection)
