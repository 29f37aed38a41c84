"""The search index's one model (imported at the end of ``exchange.models``).

A ``SearchEntry`` holds, for one document, the set of keyed hashes of the character bigrams and
trigrams of its titles, summaries and current body (see ``exchange.search``): never text. Each
token is 32 bits. On PostgreSQL they are an ``integer[]`` with a GIN index (``@>`` finds the
entries holding every token of a query); on SQLite they are stored as space-separated 8-hex-digit
words mirrored into an FTS5 table by triggers. Both are made by migrations 0002 and 0003.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import NotSupportedError, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import FieldGetDbPrepValueMixin
from django.utils.translation import gettext_lazy as _

__all__ = ["SearchEntry", "TokenSet"]


def token_hex(token: int) -> str:
    """A 32-bit token as the FTS5 word that stands for it on SQLite (its unsigned bits in hex)."""
    return f"{token & 0xFFFFFFFF:08x}"


def _token_from_hex(word: str) -> int:
    value = int(word, 16)
    return value - (1 << 32) if value >= 1 << 31 else value


class TokenSet(models.Field):
    """A set of signed 32-bit tokens: ``integer[]`` on PostgreSQL, hex words on SQLite.

    Python sees a ``frozenset[int]``. The stored order is ascending and carries nothing of the
    text's order."""

    description = _("set of search tokens")

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        return "integer[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper
                      ) -> frozenset[int] | None:
        if value is None:
            return None
        if isinstance(value, str):
            return frozenset(_token_from_hex(w) for w in value.split())
        return frozenset(value)

    def to_python(self, value: Any) -> frozenset[int] | None:
        if value is None or isinstance(value, frozenset):
            return value
        if isinstance(value, str):
            return self.from_db_value(value, None, None)  # type: ignore[arg-type]
        return frozenset(int(v) for v in value)

    def get_db_prep_value(self, value: Iterable[int] | None, connection: BaseDatabaseWrapper,
                          prepared: bool = False) -> Any:
        if value is None:
            return None
        ordered = sorted(value)
        if connection.vendor == "postgresql":
            return ordered
        return " ".join(token_hex(t) for t in ordered)


class SearchEntry(models.Model):
    document = models.OneToOneField("exchange.Document", on_delete=models.CASCADE,
                                    primary_key=True, related_name="search_entry")
    # HMAC-SHA256(search key, gram), first 32 bits, signed (see exchange.search.tokens).
    tokens = TokenSet(_("blind index tokens"), editable=False)

    class Meta:
        app_label = "exchange"
        verbose_name = _("search index entry")

    def __str__(self) -> str:
        return f"search entry of {self.document_id}"


@TokenSet.register_lookup
class ContainsAll(FieldGetDbPrepValueMixin, models.Lookup):
    """``tokens__contains_all=query``: the entry holds every token of the query (PostgreSQL's
    array ``@>``, which its GIN index serves exactly, with no recheck of the row)."""

    lookup_name = "contains_all"

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        if connection.vendor != "postgresql":
            raise NotSupportedError("tokens__contains_all is PostgreSQL only; SQLite uses FTS5")
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} @> {rhs}::integer[]", [*lhs_params, *rhs_params]
