"""The search index's one model (imported at the end of ``exchange.models``).

A ``SearchEntry`` holds, for one document, the set of keyed hashes of the character trigrams of
its titles, summaries and current body (see ``exchange.search``): never text. On SQLite an FTS5
table mirrors it (kept in step by triggers); on PostgreSQL a GIN index over the tokens serves
the look-up. Both are created by migration 0002.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["SearchEntry"]


class SearchEntry(models.Model):
    document = models.OneToOneField("exchange.Document", on_delete=models.CASCADE,
                                    primary_key=True, related_name="search_entry")
    # Space-separated 8-hex-digit tokens, sorted: HMAC-SHA256(search key, trigram)[:8].
    grams = models.TextField(_("blind index tokens"), editable=False)

    class Meta:
        app_label = "exchange"
        verbose_name = _("search index entry")

    def __str__(self) -> str:
        return f"search entry of {self.document_id}"
