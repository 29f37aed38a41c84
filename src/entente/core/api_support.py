"""What every app's JSON API answers the same way: a refusal a person can act on (422 with its
sentence), a record the caller may not see (404, one body for missing and forbidden alike), and
the bounds of a page."""

from __future__ import annotations

from ninja import Status
from ninja.errors import HttpError

MAX_PAGE = 200
MAX_OFFSET = 1_000_000
NOT_FOUND = "Not found."


def failing(exc: Exception) -> HttpError:
    """A domain error's message as a 422."""
    return HttpError(422, str(exc))


def not_found() -> Status:
    return Status(404, {"detail": NOT_FOUND})


def check_page(offset: int, limit: int, most: int = MAX_PAGE) -> None:
    if not 0 <= offset <= MAX_OFFSET or not 1 <= limit <= most:
        raise HttpError(422, f"offset must be between 0 and {MAX_OFFSET:,} and limit between 1 "
                             f"and {most:,}.")
