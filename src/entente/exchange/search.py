"""Full-text search over documents, bodies included, without storing a word of plaintext.

Bodies are encrypted at rest, so they cannot be searched in the database as text. Instead each
document has a **blind index** (``SearchEntry``): its titles, summaries and current body are
normalised (NFKC, case-folded, runs of whitespace made one space), cut into character bigrams and trigrams,
and each distinct trigram is stored only as a keyed hash, ``HMAC-SHA256(search key, trigram)``
truncated to 8 hex digits. Trigrams need no word segmentation, so a Japanese word inside a
sentence (no spaces) is found as readily as an English one. A query is cut the same way and a
document matches when **all** of the query's tokens are in its entry (AND): on SQLite through an
FTS5 table, on PostgreSQL through a GIN index (both made by migration 0002).

``matching(queryset, text)`` only adds a condition (``pk IN (<index look-up>)``) and stays a lazy
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
  a reader who may view the document can confirm by opening it. 8-hex-digit tokens also collide
  (1 in 2^32 per pair of grams), which can only add candidates, never lose a match;
* the index leaks gram *frequency* (which tokens are common, how many distinct trigrams a
  document has, which documents share tokens), not the text: without the search key a token
  cannot be tested against a guessed trigram. The tokens of a document are stored sorted, so
  their order in the text is not kept either;
* cost on PostgreSQL (bench/search.py, 1M documents, a word in ~12% of them): the planner
  multiplies the frequencies of a term's trigrams as if independent, so it expects a few
  dozen matches for a common word of 5+ trigrams and reads them all through the GIN bitmap,
  then sorts: seconds, as is any count of ~100k matches (~1 KB entries; pages of the bitmap go
  lossy and each row's tokens are parsed again). Open: a stored token column (cheap recheck),
  capped counts ("more than 1,000") from the same filtered queryset, or a posting table;
* the index must be refreshed when the text changes: ``index_document`` after a document is
  created, a version added or it is relabelled; ``reindex_all`` rebuilds everything (it decrypts
  each current body in memory, one at a time).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL

from entente.exchange.models import Document, DocumentVersion
from entente.exchange.search_models import SearchEntry

GRAM = 3
TOKEN_HEX = 8
FTS_TABLE = "exchange_search_fts"  # SQLite only (migration 0002)
_KEY_CONTEXT = b"entente-search-index-v1"
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"[0-9a-f]{8}")

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


def tokens(text_grams: Iterable[str], key: bytes | None = None) -> set[str]:
    """Keyed hashes of grams: HMAC-SHA256(search key, gram), first 8 hex digits."""
    base = hmac.new(key or search_key(), digestmod=hashlib.sha256)
    out = set()
    for gram in text_grams:
        mac = base.copy()
        mac.update(gram.encode())
        out.add(mac.hexdigest()[:TOKEN_HEX])
    return out


def document_tokens(document: Document, body: str, key: bytes | None = None) -> set[str]:
    """The tokens of a document: each field cut separately, so no gram spans two fields."""
    fields = (document.title_en, document.title_ja, document.summary_en, document.summary_ja,
              body)
    return tokens(set().union(*(grams(f) for f in fields if f)), key)


def entry_text(document_token_set: Iterable[str]) -> str:
    """What ``SearchEntry.grams`` holds: the tokens, sorted (their order in the text is not
    kept), separated by spaces."""
    return " ".join(sorted(document_token_set))


def index_document(document: Document, body: str) -> None:
    """(Re)index one document from its current titles and summaries and the plaintext ``body``
    of its current version. Call it after the document is created, a version is added or it is
    relabelled, inside the same transaction. The body is only hashed, never stored."""
    SearchEntry.objects.update_or_create(
        document_id=document.pk, defaults={"grams": entry_text(document_tokens(document, body))})


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
                                 grams=entry_text(document_tokens(version.document, body, key))))
        count += 1
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    SearchEntry.objects.exclude(document__in=Document.objects.all()).delete()
    return count


def query_tokens(text: str) -> set[str]:
    """The tokens a query must all match: the trigrams of each whitespace-separated term of 3
    or more characters, and a 2-character term as its one bigram. Empty when every term is a
    single character (see ``matching``)."""
    terms = [t for t in normalise(text).split(" ") if len(t) >= 2]
    wanted = set().union(*(grams(t, (GRAM,)) if len(t) >= GRAM else {t} for t in terms))
    return tokens(wanted) if terms else set()


def _index_lookup(query: set[str]) -> Any:
    """The ids of documents whose entry holds every token, as SQL (not run here)."""
    if not all(_TOKEN.fullmatch(t) for t in query):  # our own hex, checked anyway
        raise ValueError("malformed search token")
    ordered = sorted(query)
    if connection.vendor == "sqlite":
        match = "grams : (" + " AND ".join(f'"{t}"' for t in ordered) + ")"
        # Table names are constants; the tokens go in as a parameter.
        sql = f"SELECT document_id FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
        return RawSQL(sql, [match])  # noqa: S611
    # PostgreSQL: tokens taken verbatim as lexemes (array_to_tsvector, not to_tsvector, whose
    # parser would split a hex token such as "1e5a0b2c" into a number and a word), served by
    # the GIN index on the same expression. A plain AND query needs no recheck of the heap row,
    # except on bitmap pages gone lossy (a very common term over many rows), where the expression
    # is computed again for each row of the page.
    table = SearchEntry._meta.db_table
    sql = (f"SELECT document_id FROM {table} WHERE "  # noqa: S608
           "array_to_tsvector(string_to_array(grams, ' ')) @@ %s::tsquery")
    return RawSQL(sql, [" & ".join(f"'{t}'" for t in ordered)])  # noqa: S611


def matching(queryset: QuerySet[Document], text: str) -> QuerySet[Document]:
    """The documents of ``queryset`` that match ``text``: a lazy queryset with one more SQL
    condition, to which the caller applies ``kernel.visible`` before slicing or counting.

    Every term of 3+ characters must occur (all its trigrams) in a title, summary or the current
    body (a 2-character term: its bigram). A query whose terms are all single characters cannot
    use the index: it falls back to a case-insensitive substring match on titles and summaries
    only (bodies are not searched then). An empty query matches nothing."""
    text = text.strip()
    if not text:
        return queryset.none()
    query = query_tokens(text)
    if not query:
        short = normalise(text)
        return queryset.filter(Q(title_en__icontains=short) | Q(title_ja__icontains=short)
                               | Q(summary_en__icontains=short)
                               | Q(summary_ja__icontains=short))
    return queryset.filter(pk__in=_index_lookup(query))
