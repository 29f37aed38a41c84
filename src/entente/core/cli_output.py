"""How the ``entente <app>`` commands print: plain-text tables that line up Japanese text, and
times in the node's zone. One place, so every command's output looks the same."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

Columns = Sequence[tuple[str, str]]  # (key, heading)


def when(value: Any) -> str | None:
    """A datetime as local ISO 8601 to the second; None stays None."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def jsonable(value: Any) -> Any:
    """``json.dumps``'s ``default`` for API answers: times in the node's zone to the second, dates
    in ISO 8601, UUIDs and Decimals as text; any other type is an error."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def plain(rows: Any) -> Any:
    """Rows with dates and times as the JSON output shows them (for the text tables)."""
    return json.loads(json.dumps(rows, ensure_ascii=False, default=jsonable))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell(value: Any) -> str:
    text = "" if value is None else "yes" if value is True else "no" if value is False \
        else str(value)
    return text.replace("\n", " ")


def table(rows: list[dict[str, Any]], columns: Columns) -> str:
    """A plain-text table; double-width (Japanese) characters are counted as two columns."""
    if not rows:
        return "(none)"
    grid = [[heading for _key, heading in columns],
            *[[_cell(row.get(key)) for key, _heading in columns] for row in rows]]
    widths = [max(_width(line[i]) for line in grid) for i in range(len(columns))]
    return "\n".join("  ".join(cell + " " * (widths[i] - _width(cell))
                               for i, cell in enumerate(line)).rstrip() for line in grid)
