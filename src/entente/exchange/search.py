"""Full-text search over documents, bodies included, without storing a word of plaintext.

Bodies are encrypted at rest, so they cannot be searched in the database as text. Instead each
document has a **blind index** (``SearchEntry``): its titles, summaries and current body are
normalised (NFKC, case-folded, runs of whitespace made one space), cut into character bigrams
and trigrams, and each distinct gram is stored only as a keyed hash: the first 32 bits of
``HMAC-SHA256(search key, gram)``. Trigrams need no word segmentation, so a Japanese word inside a
sentence (no spaces) is found as readily as an English one. A query is cut the same way and a
document matches when **all** of the query's tokens are in its entry (AND): on SQLite through an
FTS5 table, on PostgreSQL through a GIN index over an ``integer[]`` (migrations 0002 and 0003).

``matching(queryset, text)`` only adds a condition (an index look-up) and stays a lazy
queryset: the caller (``selectors.visible_document_queryset``) applies ``kernel.visible`` to it,
so pages and counts are filtered by the kernel in the same SQL statement and a search can never
reveal that a document the reader may not see exists.

Queries:

* whitespace separates terms; each term of 3 or more characters contributes its trigrams, and
  all of them must be present (a phrase typed without spaces, as Japanese is, is one term);
* bigrams are indexed too, so a 2-character term (many Japanese words: 日英, 防護) is found in
  bodies as well; a 1-character term cannot be looked up among hashes (there is no "gram
  starting with" over a hash). A query made only of such terms falls back to a case-insensitive
  substring match on titles and summaries (the plaintext columns), **not bodies**; in a query
  that also has longer terms, the 1-character ones are ignored.

Known limitations:

* false positives: a document matches when every trigram of a term occurs in it, even if not
  contiguously ("abcd" matches a text holding "abc" and "bcd" apart). Results are candidates;
  a reader who may view the document can confirm by opening it. 32-bit tokens also collide
  (1 in 2^32 per pair of grams), which can only add candidates, never lose a match;
* the index leaks gram *frequency* (which tokens are common, how many distinct trigrams a
  document has, which documents share tokens), not the text: without the search key a token
  cannot be tested against a guessed trigram. The tokens of a document are stored sorted, so
  their order in the text is not kept either;
* cost on PostgreSQL: a page of a common word is not read through the index but by walking the
  listing (newest first) and checking each visible document's entry, chosen from the table's
  statistics (see ``WALK_FROM``); counts of a search stop at ``selectors.SEARCH_COUNT_LIMIT``.
  A search for several common words that rarely occur together can still be slow (the estimate
  takes words as independent); ``bench/search.py`` measures the cases;
* the index must be refreshed when the text changes: ``index_document`` after a document is
  created, a version added or it is relabelled; ``reindex_all`` rebuilds everything (it decrypts
  each current body in memory, one at a time).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from entente.exchange.models import Document, DocumentVersion
from entente.exchange.search_models import SearchEntry, TokenSet, token_hex

GRAM = 3
TOKEN_HEX = 8
FTS_TABLE = "exchange_search_fts"  # SQLite only (migration 0002)
_KEY_CONTEXT = b"entente-search-index-v1"
_SPACES = re.compile(r"\s+")

_key_cache: tuple[str, bytes] | None = None


def search_key() -> bytes:
    """The key of the blind index: ``HMAC-SHA256(SECRET_KEY, b"entente-search-index-v1")``.

    It lives outside the database (derived from the deployment's secret), so a copy of the
    database alone does not let anyone test guesses against the tokens. A deployment may later
    keep it in the keyring (``security.keystore``) instead; changing it means ``reindex_all``.
    """
    global _key_cache
    secret = str(settings.SECRET_KEY)
    if _key_cache is None or _key_cache[0] != secret:
        _key_cache = (secret, hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest())
    return _key_cache[1]


def normalise(text: str) -> str:
    """NFKC (full-width Latin and half-width kana become their usual forms), case-folded,
    whitespace runs as one space, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def grams(text: str, sizes: tuple[int, ...] = (2, GRAM)) -> set[str]:
    """The character bigrams and trigrams of a text, after ``normalise`` (bigrams because many
    Japanese words are two characters: 日英, 防護); a text shorter than that is one gram; grams
    holding whitespace only are left out."""
    text = normalise(text)
    if not text:
        return set()
    if len(text) < min(sizes):
        return {text}
    out = {text[i:i + n] for n in sizes for i in range(len(text) - n + 1)}
    return {g for g in out if g.strip()}


def tokens(text_grams: Iterable[str], key: bytes | None = None) -> set[int]:
    """Keyed hashes of grams: the first 32 bits of HMAC-SHA256(search key, gram), signed (as
    PostgreSQL's ``integer`` holds them)."""
    base = hmac.new(key or search_key(), digestmod=hashlib.sha256)
    out = set()
    for gram in text_grams:
        mac = base.copy()
        mac.update(gram.encode())
        out.add(int.from_bytes(mac.digest()[:4], "big", signed=True))
    return out


def document_tokens(document: Document, body: str, key: bytes | None = None) -> set[int]:
    """The tokens of a document: each field cut separately, so no gram spans two fields."""
    fields = (document.title_en, document.title_ja, document.summary_en, document.summary_ja,
              body)
    return tokens(set().union(*(grams(f) for f in fields if f)), key)


def index_document(document: Document, body: str) -> None:
    """(Re)index one document from its current titles and summaries and the plaintext ``body``
    of its current version. Call it after the document is created, a version is added or it is
    relabelled, inside the same transaction. The body is only hashed, never stored."""
    SearchEntry.objects.update_or_create(
        document_id=document.pk, defaults={"tokens": document_tokens(document, body)})


def reindex_all(batch_size: int = 200) -> int:
    """Rebuild every document's entry (after a change of search key or of the gram scheme).
    Each current body is decrypted in memory, hashed and dropped; returns the number indexed."""
    from entente.security.services import open_for

    count = 0
    key = search_key()
    versions = (DocumentVersion.objects.filter(number=F("document__current_version"))
                .select_related("document", "label").order_by("document_id"))
    batch: list[SearchEntry] = []

    def flush() -> None:
        with transaction.atomic():
            SearchEntry.objects.filter(document_id__in=[e.document_id for e in batch]).delete()
            SearchEntry.objects.bulk_create(batch)
        batch.clear()

    for version in versions.iterator(chunk_size=batch_size):
        body = open_for(version, version.body).decode()
        batch.append(SearchEntry(document_id=version.document_id,
                                 tokens=document_tokens(version.document, body, key)))
        count += 1
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    SearchEntry.objects.exclude(document__in=Document.objects.all()).delete()
    return count


def query_terms(text: str) -> list[set[int]]:
    """The tokens a query must match, term by term: the trigrams of each whitespace-separated
    term of 3 or more characters, a 2-character term as its one bigram. Empty when every term
    is a single character (see ``matching``)."""
    terms = [t for t in normalise(text).split(" ") if len(t) >= 2]
    return [tokens(grams(t, (GRAM,)) if len(t) >= GRAM else {t}) for t in dict.fromkeys(terms)]


def query_tokens(text: str) -> set[int]:
    """Every token of every term of the query (a document must hold them all)."""
    return set().union(*query_terms(text))


def _fts_lookup(query: set[int]) -> Any:
    """SQLite: the ids of documents whose entry holds every token, through the FTS5 table."""
    match = "grams : (" + " AND ".join(f'"{token_hex(t)}"' for t in sorted(query)) + ")"
    # The table name is a constant; the tokens go in as a parameter.
    sql = f"SELECT document_id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
    return RawSQL(sql, [match])  # noqa: S611


# How a PostgreSQL search runs. The GIN index finds the matching entries at once, but the page
# wants the *newest* matches: for a common word (~100k matches) every match is fetched and
# sorted, which takes seconds. Walking the listing index (newest first) and checking each
# visible document's entry stops after one page, ~page / share-of-matches rows, but for a rare
# word it would walk far. The planner cannot tell the two apart: it multiplies the frequencies
# of a word's trigrams as if they were independent, so it expects a handful of matches for
# "kestrel" whatever the truth. We estimate better from the same statistics (pg_stats keeps the
# most common tokens and their frequencies): a word is no more frequent than its rarest trigram,
# and words are taken as independent of each other. From WALK_FROM of all entries, we walk:
# bench/search.py, 1M documents, a word pair in 1.4%: index ~430 ms, walk 20-30 ms; the two
# meet near 0.5%. A token missing from the statistics (rarer than ~0.1%) counts as rare.
# A count (capped at 1,000) is different: through the index it fetches *every* match (~1.2 s for
# a word in 12%, ~0.4 s for 1.4%), by walking it stops at the cap (~0.1 s and ~0.5 s): from 2%.
WALK_FROM = 0.005
COUNT_WALK_FROM = 0.02
_STATS_TTL_S = 300.0
_frequencies: dict[str, tuple[float, dict[int, float]]] = {}


def token_frequencies() -> dict[int, float]:
    """The most common tokens and the share of entries holding each, from PostgreSQL's
    statistics (ANALYZE, run by autovacuum), read at most every few minutes per process: they
    steer only the choice of plan, never what a query returns. Empty on SQLite or before the
    table has been analysed."""
    if connection.vendor != "postgresql":
        return {}
    name = str(connection.settings_dict["NAME"])
    cached = _frequencies.get(name)
    if cached and time.monotonic() - cached[0] < _STATS_TTL_S:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::integer[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = %s AND attname = 'tokens'",
            [SearchEntry._meta.db_table])
        row = cursor.fetchone()
    found: dict[int, float] = {}
    if row and row[0]:
        # most_common_elem_freqs ends with three more numbers (min, max, share of nulls).
        found = dict(zip(row[0], row[1][:len(row[0])], strict=True))
    _frequencies[name] = (time.monotonic(), found)
    return found


def expected_share(terms: list[set[int]]) -> float:
    """The share of entries expected to match all the terms (see the note above WALK_FROM)."""
    frequency = token_frequencies()
    share = 1.0
    for term in terms:
        share *= min((frequency.get(t, 0.0) for t in term), default=0.0)
    return share


def matching(queryset: QuerySet[Document], text: str, *, walk: bool | None = None,
             walk_from: float | None = None) -> QuerySet[Document]:
    """The documents of ``queryset`` that match ``text``: a lazy queryset with one more SQL
    condition, to which the caller applies ``kernel.visible`` before slicing or counting.

    Every term of 3+ characters must occur (all its trigrams) in a title, summary or the current
    body (a 2-character term: its bigram). A query whose terms are all single characters cannot
    use the index: it falls back to a case-insensitive substring match on titles and summaries
    only (bodies are not searched then). An empty query matches nothing.

    ``walk`` (PostgreSQL) chooses how the condition is written: ``False`` looks the entries up
    in the GIN index (best for rare words, and for counts), ``True`` checks each document's entry
    as the listing reaches it (best for a page of a common word), ``None`` decides from the
    expected share of matches against ``walk_from`` (default ``WALK_FROM``; a capped count passes
    ``COUNT_WALK_FROM``). Both forms return the same rows."""
    text = text.strip()
    if not text:
        return queryset.none()
    terms = query_terms(text)
    if not terms:
        short = normalise(text)
        return queryset.filter(Q(title_en__icontains=short) | Q(title_ja__icontains=short)
                               | Q(summary_en__icontains=short)
                               | Q(summary_ja__icontains=short))
    query = set().union(*terms)
    if connection.vendor != "postgresql":
        return queryset.filter(pk__in=_fts_lookup(query))
    if walk is None:
        walk = expected_share(terms) >= (WALK_FROM if walk_from is None else walk_from)
    if walk:
        # A scalar subquery: PostgreSQL runs it per row (a SubPlan) and cannot turn it into a
        # join through the GIN index, which is the point.
        entry = SearchEntry.objects.filter(document_id=OuterRef("pk")).values("tokens")[:1]
        return (queryset.alias(_search_tokens=Subquery(entry, output_field=TokenSet()))
                .filter(_search_tokens__contains_all=query))
    return queryset.filter(pk__in=SearchEntry.objects.filter(tokens__contains_all=query)
                           .values("document_id"))
