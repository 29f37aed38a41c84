#!/usr/bin/env python
"""Benchmark full-text search (the blind trigram index of exchange.search) over N documents.

Why: a search must go through ``kernel.visible`` like any listing, and it must cost little more
than the same search unfiltered. This loads ``--documents`` labelled ``Document`` rows (spread
over the ~150 bench labels), half with Japanese text and half with English, each with a version
whose sealed body is a dummy ``b"x"``; the index entry of each document is computed from its
generated title, summary and body text with ``exchange.search`` (trigrams -> HMAC tokens; a
gram -> token cache makes that cheap, checked against ``search.document_tokens`` on a sample).
Rows are written with COPY on PostgreSQL (the GIN index is dropped during the load and rebuilt
after, which is counted in the load time) and ``executemany`` on SQLite (the FTS5 table is
filled by its triggers). Then, for each query of ``SEARCH_WORDS`` (or ``--word``) and each of
three users (GBR SECRET with one community, JPN GOKUHI, uncleared GBR), it times ``--repeat``
times:

* page 1 (``--page-size`` rows, ordered ``-updated_at, id`` as ``selectors.visible_documents``):
  filtered  = ``selectors.visible_document_queryset(user, DocumentFilter(text=w))``
  unfiltered = ``search.matching(Document.objects.all(), w)`` (the same query without visible())
* the count a reader gets (``selectors.count_visible_documents``, which stops at
  ``SEARCH_COUNT_LIMIT``) against the same capped count without visible() (``--count-repeat``
  times; reported, no target, as in list_visible.py).

Neither the audit write of ``visible_documents`` (``record_listing``) nor its select_related /
prefetch of labels is measured: only the search query. Targets (page 1): filtered/unfiltered
p50 <= 1.3 and filtered p50 < 100 ms (PostgreSQL); load of 1M < ~5 min.

    .venv/bin/python bench/search.py                                  # PostgreSQL, 1,000,000
    .venv/bin/python bench/search.py --db sqlite --documents 20000 --repeat 30
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import _benchdb as B

RATIO_TARGET = 1.3
P50_TARGET_MS = 100.0
LOAD_TARGET_S = 300.0
SQLITE_BATCH = 5_000

EN_WORDS = (
    "logistics", "exercise", "tempest", "falcon", "harbour", "kestrel", "sensor", "tanker",
    "frigate", "radar", "survey", "convoy", "training", "liaison", "maintenance", "supply",
    "aircraft", "submarine", "destroyer", "ammunition", "fuel", "medical", "disaster",
    "humanitarian", "schedule", "communications", "cryptographic", "electronic", "space",
    "maritime", "surveillance", "operations", "technical", "cooperation", "research",
    "development", "evaluation", "quality", "procurement", "budget", "accounting", "contract",
    "export", "security", "facility", "port", "airfield", "runway", "inspection", "education",
    "language", "coordination", "meeting", "minutes", "report", "command", "planning", "weather",
    "mapping", "satellite")
EN_GLUE = ("the", "of", "and", "for", "with", "on", "in", "to")
JA_WORDS = (
    "共同研究", "化学防護", "防衛装備", "物品役務", "後方支援", "情報保全", "艦艇整備", "航空機",
    "潜水艦", "護衛艦", "輸送機", "弾薬補給", "燃料補給", "医療支援", "災害派遣", "人道支援",
    "訓練計画", "演習日程", "通信機器", "暗号装置", "電子戦", "宇宙領域", "海洋監視", "警戒監視",
    "部隊運用", "技術協力", "研究開発", "試験評価", "品質管理", "調達計画", "予算要求", "会計処理",
    "契約締結", "輸出管理", "秘密保護", "保全措置", "施設管理", "港湾施設", "飛行場", "滑走路",
    "整備記録", "点検結果", "教育訓練", "語学研修", "連絡調整", "会議資料", "議事録", "報告書",
    "指揮統制", "作戦計画", "気象観測", "地図情報", "衛星通信", "無人機", "哨戒機", "掃海艇",
    "救難活動", "捜索救助", "防空能力", "弾道弾")
JA_PARTICLES = ("の", "と", "に関する", "における")
JA_VERBS = ("について協議した。", "を確認した。", "を報告した。", "を検討した。", "を調整した。",
            "を実施した。")
# A Japanese and an English word of the vocabulary (each in ~1 of 8 documents), two English
# words together (~1 in 70: between the index's and the walk's best cases) and a word that is in
# no document (every token rare).
SEARCH_WORDS = {"ja": "共同研究", "en": "kestrel", "en-pair": "kestrel convoy",
                "absent": "albatross"}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    B.add_db_arguments(p, "search")
    p.add_argument("--documents", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=30, help="timed repetitions per query (>= 30)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--count-repeat", type=int, default=10,
                   help="timed repetitions of count() (a count of a common word is slow)")
    p.add_argument("--page-size", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--word", action="append", metavar="NAME=TEXT",
                   help="a query to time (repeatable; default: " + ", ".join(
                       f"{k}={v}" for k, v in SEARCH_WORDS.items()) + ")")
    p.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE) of the queries")
    return p.parse_args()


# --------------------------------------------------------------------------- text


def en_sentence(rng: random.Random, n: int) -> str:
    words = []
    for i in range(n):
        words.append(rng.choice(EN_WORDS))
        if i < n - 1 and rng.random() < 0.4:
            words.append(rng.choice(EN_GLUE))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def ja_sentence(rng: random.Random, n: int) -> str:
    parts = [rng.choice(JA_WORDS)]
    for _ in range(n - 1):
        parts.append(rng.choice(JA_PARTICLES))
        parts.append(rng.choice(JA_WORDS))
    return "".join(parts) + rng.choice(JA_VERBS)


def document_text(rng: random.Random, japanese: bool) -> dict[str, str]:
    """Title (3 words), summary (5) and a body of two sentences (4 + 4 words)."""
    if japanese:
        return {"title_en": "", "title_ja": "".join(rng.choice(JA_WORDS) for _ in range(3)),
                "summary_en": "", "summary_ja": ja_sentence(rng, 5),
                "body": "本日、" + ja_sentence(rng, 4) + ja_sentence(rng, 4)}
    return {"title_en": " ".join(rng.choice(EN_WORDS) for _ in range(3)).title(), "title_ja": "",
            "summary_en": en_sentence(rng, 5), "summary_ja": "",
            "body": en_sentence(rng, 4) + " " + en_sentence(rng, 4)}


class Tokeniser:
    """search.document_tokens with a gram -> token cache (the bench's vocabulary is small)."""

    def __init__(self) -> None:
        from entente.exchange import search

        self.search = search
        self.key = search.search_key()
        self.cache: dict[str, int] = {}

    def entry(self, text: dict[str, str]) -> set[int]:
        grams: set[str] = set()
        for value in text.values():
            if value:
                grams |= self.search.grams(value)
        cache = self.cache
        missing = [g for g in grams if g not in cache]
        for g in missing:
            cache[g] = next(iter(self.search.tokens([g], self.key)))
        return {cache[g] for g in grams}


def as_stored(tokens: set[int], connection: Any) -> Any:
    from entente.exchange.models import SearchEntry

    return SearchEntry._meta.get_field("tokens").get_db_prep_value(tokens, connection)


# --------------------------------------------------------------------------- loading


def rows(n: int, labels: list[Any], orgs: dict[str, Any], author_id: int, seed: int
         ) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    plan = [(label.pk, orgs[label.originator_id].pk) for label in labels]
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        label_id, owner_id = plan[rng.randrange(len(plan))]
        text = document_text(rng, japanese=i % 2 == 1)
        at = base + dt.timedelta(seconds=i * 30, microseconds=rng.randrange(1_000_000))
        yield (uuid.UUID(int=rng.getrandbits(128), version=4), uuid.UUID(
            int=rng.getrandbits(128), version=4), text, at, label_id, owner_id, author_id)


def load(n: int, labels: list[Any], orgs: dict[str, Any], author_id: int, seed: int
         ) -> dict[str, float]:
    from django.db import connection, transaction

    from entente.exchange import search

    tok = Tokeniser()
    # The cache is only a shortcut: check it gives what the application computes.
    from entente.exchange.models import Document
    for _, _, text, *_ in rows(200, labels, orgs, author_id, seed + 1):
        body = text.pop("body")
        document = Document(**text)
        assert tok.entry({**text, "body": body}) == search.document_tokens(document, body), \
            "bench tokeniser disagrees with search"

    doc_cols = ("id", "title_en", "title_ja", "summary_en", "summary_ja", "current_version",
                "compromised", "created_at", "updated_at", "created_by_id", "label_id", "owner_id")
    ver_cols = ("id", "document_id", "number", "body", "note", "created_at", "created_by_id",
                "label_id", "owner_id")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute("DROP INDEX IF EXISTS exchange_searchentry_tokens_gin")
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY exchange_document ({', '.join(doc_cols)}) FROM STDIN") as c_doc:
                entries = []
                for did, vid, text, at, label_id, owner_id, author in rows(
                        n, labels, orgs, author_id, seed):
                    c_doc.write_row((did, text["title_en"], text["title_ja"], text["summary_en"],
                                     text["summary_ja"], 1, False, at, at, author, label_id,
                                     owner_id))
                    entries.append((did, vid, at, label_id, owner_id, author, tok.entry(text)))
            timings["documents_s"] = time.perf_counter() - start
            t = time.perf_counter()
            with raw.copy(f"COPY exchange_documentversion ({', '.join(ver_cols)}) "
                          "FROM STDIN") as c_ver:
                for did, vid, at, label_id, owner_id, author, _ in entries:
                    c_ver.write_row((vid, did, 1, b"x", "", at, author, label_id, owner_id))
            timings["versions_s"] = time.perf_counter() - t
            t = time.perf_counter()
            with raw.copy("COPY exchange_searchentry (document_id, tokens) FROM STDIN") as c_ent:
                for did, *_, tokens in entries:
                    # An array literal: psycopg's list dumper is several times slower here.
                    c_ent.write_row((did, "{" + ",".join(map(str, sorted(tokens))) + "}"))
            timings["entries_s"] = time.perf_counter() - t
        t = time.perf_counter()
        with connection.cursor() as cursor:
            # The same statement as migration 0003.
            cursor.execute("CREATE INDEX exchange_searchentry_tokens_gin ON exchange_searchentry "
                           "USING gin (tokens)")
        timings["gin_index_s"] = time.perf_counter() - t
    else:
        ops = connection.ops

        def flush(docs: list[tuple[Any, ...]], vers: list[tuple[Any, ...]],
                  ents: list[tuple[Any, ...]]) -> None:
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO exchange_document ({', '.join(doc_cols)}) "
                                   f"VALUES ({', '.join(['%s'] * len(doc_cols))})", docs)
                cursor.executemany(f"INSERT INTO exchange_documentversion ({', '.join(ver_cols)}) "
                                   f"VALUES ({', '.join(['%s'] * len(ver_cols))})", vers)
                cursor.executemany("INSERT INTO exchange_searchentry (document_id, tokens) "
                                   "VALUES (%s, %s)", ents)
            docs.clear()
            vers.clear()
            ents.clear()

        with transaction.atomic():
            docs: list[tuple[Any, ...]] = []
            vers: list[tuple[Any, ...]] = []
            ents: list[tuple[Any, ...]] = []
            for did, vid, text, at, label_id, owner_id, author in rows(n, labels, orgs,
                                                                       author_id, seed):
                when = ops.adapt_datetimefield_value(at)
                docs.append((did.hex, text["title_en"], text["title_ja"], text["summary_en"],
                             text["summary_ja"], 1, False, when, when, author, label_id,
                             owner_id))
                vers.append((vid.hex, did.hex, 1, b"x", "", when, author, label_id, owner_id))
                ents.append((did.hex, as_stored(tok.entry(text), connection)))
                if len(docs) >= SQLITE_BATCH:
                    flush(docs, vers, ents)
            if docs:
                flush(docs, vers, ents)
    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["analyze_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - start
    timings["distinct_grams"] = len(tok.cache)
    return timings


def make_users() -> dict[str, Any]:
    from entente import testing
    from entente.core.models import User

    testing.make_user("gbr-secret", "GBR", clearance="SECRET", communities=["bench-alpha"])
    testing.make_user("jpn-gokuhi", "JPN", clearance="GOKUHI")
    testing.make_user("gbr-uncleared", "GBR")
    return {u: User.objects.get(username=u) for u in ("gbr-secret", "jpn-gokuhi", "gbr-uncleared")}


# --------------------------------------------------------------------------- measuring

ORDER = ("-updated_at", "id")


def filtered_qs(user: Any, word: str) -> Any:
    from entente.exchange.selectors import DocumentFilter, visible_document_queryset

    return visible_document_queryset(user, DocumentFilter(text=word))


def unfiltered_qs(word: str, walk: bool | None = None, walk_from: float | None = None) -> Any:
    from entente.exchange import search
    from entente.exchange.models import Document

    return search.matching(Document.objects.all(), word, walk=walk, walk_from=walk_from)


def filtered_count(user: Any, word: str) -> Any:
    """What a reader's search counts (selectors.count_visible_documents: capped)."""
    from entente.exchange.selectors import DocumentFilter, count_visible_documents

    return count_visible_documents(user, DocumentFilter(text=word))


def unfiltered_count(word: str) -> int:
    """The same count without kernel.visible, planned and capped alike."""
    from entente.exchange.search import COUNT_WALK_FROM
    from entente.exchange.selectors import SEARCH_COUNT_LIMIT

    return min(unfiltered_qs(word, walk_from=COUNT_WALK_FROM)[:SEARCH_COUNT_LIMIT + 1].count(),
               SEARCH_COUNT_LIMIT)


def measure(users: dict[str, Any], words: dict[str, str], args: argparse.Namespace
            ) -> list[dict[str, Any]]:
    size, out = args.page_size, []
    for lang, word in words.items():
        for name, user in users.items():
            for what in ("page", "count"):
                unf_s, fil_s, result = [], [], None
                reps = args.repeat if what == "page" else args.count_repeat
                for rep in range(args.warmup + reps):
                    # Interleaved; a fresh queryset each time (a sliced one caches its rows).
                    if what == "page":
                        t_unf, _ = B.timed(lambda w=word: list(unfiltered_qs(w).order_by(*ORDER)
                                                               [:size]))
                        t_fil, result = B.timed(lambda w=word, u=user: list(
                            filtered_qs(u, w).order_by(*ORDER)[:size]))
                    else:
                        t_unf, _ = B.timed(lambda w=word: unfiltered_count(w))
                        t_fil, counted = B.timed(lambda w=word, u=user: filtered_count(u, w))
                        result = str(counted)
                    if rep >= args.warmup:
                        unf_s.append(t_unf)
                        fil_s.append(t_fil)
                unf, fil = B.summary_ms(unf_s), B.summary_ms(fil_s)
                rows = len(result) if what == "page" else result
                out.append({"lang": lang, "word": word, "user": name, "what": what,
                            "rows": rows, "unfiltered": unf, "filtered": fil,
                            "ratio_p50": round(fil["p50_ms"] / unf["p50_ms"], 3)
                            if unf["p50_ms"] else None})
                print(f"  {lang} {name:14s} {what:5s}: unfiltered p50 {unf['p50_ms']:.2f} ms, "
                      f"filtered p50 {fil['p50_ms']:.2f} ms ({rows})", file=sys.stderr)
    return out


def hits(words: dict[str, str]) -> dict[str, int]:
    return {lang: unfiltered_qs(w, walk=False).count() for lang, w in words.items()}


def explain(users: dict[str, Any], words: dict[str, str], size: int) -> None:
    from django.db import connection

    user = next(iter(users.values()))
    options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
    for lang, word in words.items():
        for what, qs in (("unfiltered page", unfiltered_qs(word).order_by(*ORDER)[:size]),
                         ("filtered page", filtered_qs(user, word).order_by(*ORDER)[:size])):
            print(f"--- EXPLAIN {what} {lang} {word!r} ({next(iter(users))}) ---")
            print(qs.explain(**options))
        from entente.exchange.search import COUNT_WALK_FROM
        from entente.exchange.selectors import (
            SEARCH_COUNT_LIMIT,
            DocumentFilter,
            visible_document_queryset,
        )
        capped = visible_document_queryset(user, DocumentFilter(text=word),
                                           walk_from=COUNT_WALK_FROM)
        print(f"--- EXPLAIN filtered count (capped) {lang} {word!r} ---")
        print(capped.only("pk").order_by()[:SEARCH_COUNT_LIMIT + 1].explain(**options))


def main() -> None:
    args = parse_args()
    if args.repeat < 30:
        print(f"note: --repeat {args.repeat} is below the 30 the figures call for", file=sys.stderr)
    words = dict(w.split("=", 1) for w in args.word) if args.word else SEARCH_WORDS
    with B.bench_database(args):
        from django.db import connection

        env = B.environment()
        labels = B.make_bench_labels()
        orgs = B.organisations()
        users = make_users()
        author = users["gbr-secret"]
        print(f"loading {args.documents:,} documents over {len(labels)} labels on {env['db']}...",
              file=sys.stderr)
        timings = load(args.documents, labels, orgs, author.pk, args.seed)
        print(f"loaded in {timings['total_s']:.1f} s", file=sys.stderr)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_total_relation_size('exchange_searchentry'), "
                               "pg_relation_size('exchange_searchentry_tokens_gin')")
                index_bytes = dict(zip(("table", "gin"), cursor.fetchone(), strict=True))
            else:
                index_bytes = {}
        total_hits = hits(words)
        from entente.exchange.search import (
            COUNT_WALK_FROM,
            WALK_FROM,
            expected_share,
            query_terms,
        )
        shares = {w: expected_share(query_terms(w)) for w in words.values()}
        results = measure(users, words, args)
        if args.explain:
            explain(users, words, args.page_size)

        print()
        print(f"search on {env['db_version']} — {args.documents:,} documents (half Japanese), "
              f"{len(labels)} labels, page {args.page_size}, order_by{ORDER}, {args.repeat} reps "
              "(times in ms)")
        print("load: " + ", ".join(f"{k} {v:,.1f}" for k, v in timings.items())
              + f" ({'COPY' if env['db'] == 'postgresql' else 'executemany'}; body = b'x')")
        if index_bytes:
            print(f"index size: searchentry table {index_bytes['table'] / 2**20:,.0f} MiB, "
                  f"GIN {index_bytes['gin'] / 2**20:,.0f} MiB")
        print("documents matching (unfiltered): "
              + ", ".join(f"{words[k]!r} {v:,}" for k, v in total_hits.items()))
        print("expected share (pg_stats) -> plan: " + ", ".join(
            f"{w!r} {share:.4f} -> page by {'walk' if share >= WALK_FROM else 'index'}, "
            f"count by {'walk' if share >= COUNT_WALK_FROM else 'index'}"
            for w, share in shares.items()))
        print()
        print(B.table(["word", "user", "query", "rows", "unf p50", "unf p95", "filt p50",
                       "filt p95", "ratio p50"],
                      [[r["word"], r["user"], r["what"], r["rows"], r["unfiltered"]["p50_ms"],
                        r["unfiltered"]["p95_ms"], r["filtered"]["p50_ms"],
                        r["filtered"]["p95_ms"], r["ratio_p50"]] for r in results]))
        print()
        # The targets are for page 1, as in list_visible.py; counts are reported against the same
        # figures for information.
        pages = [r for r in results if r["what"] == "page"]
        counts = [r for r in results if r["what"] == "count"]
        worst_ratio = max(r["ratio_p50"] or 0 for r in pages)
        worst_p50 = max(r["filtered"]["p50_ms"] for r in pages)
        count_ratio = max(r["ratio_p50"] or 0 for r in counts)
        count_p50 = max(r["filtered"]["p50_ms"] for r in counts)
        ratio_met, p50_met = worst_ratio <= RATIO_TARGET, worst_p50 < P50_TARGET_MS
        print(B.verdict("ratio", ratio_met, f"worst filtered/unfiltered p50 {worst_ratio:.2f} "
                        f"(target <= {RATIO_TARGET})"))
        print(B.verdict("latency", p50_met, f"worst filtered p50 {worst_p50:.1f} ms "
                        f"(target < {P50_TARGET_MS:.0f} ms)"))
        print(f"(counts, no target: worst ratio {count_ratio:.2f}, worst filtered p50 "
              f"{count_p50:.1f} ms)")
        load_met = timings["total_s"] < LOAD_TARGET_S or args.documents < 1_000_000
        print(B.verdict("load", load_met, f"{timings['total_s']:.1f} s for {args.documents:,} "
                        f"documents (target < ~{LOAD_TARGET_S:.0f} s for 1M)"))
        B.emit_json({
            "bench": "search", "env": env, "documents": args.documents, "labels": len(labels),
            "order_by": list(ORDER), "page_size": args.page_size, "repeat": args.repeat,
            "words": words, "hits": total_hits, "load": {k: round(v, 2) for k, v in
                                                         timings.items()},
            "index_bytes": index_bytes, "results": results,
            "targets": {"ratio_p50_max": RATIO_TARGET, "filtered_p50_ms_max": P50_TARGET_MS,
                        "load_s_max": LOAD_TARGET_S},
            "worst_ratio_p50": worst_ratio, "worst_filtered_p50_ms": worst_p50,
            "count_worst_ratio_p50": count_ratio, "count_worst_filtered_p50_ms": count_p50,
            "met": {"ratio": ratio_met, "latency": p50_met, "load": load_met},
        })
        if not (ratio_met and p50_met and load_met):
            sys.exit(1)


if __name__ == "__main__":
    main()
