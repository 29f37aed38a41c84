"""Search over titles, summaries and encrypted bodies through the blind index (exchange.search):
Japanese without spaces, English case-insensitively, nothing stored in plaintext, and never a
result or a count that reveals a document the reader may not view."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from entente.exchange import search, selectors, services
from entente.exchange.models import Document, SearchEntry
from entente.exchange.selectors import DocumentFilter
from entente.security.labels import LabelSpec
from entente.testing import make_user, verified_client

pytestmark = pytest.mark.django_db

OFFICIAL = "GBR/OFFICIAL|rel=GBR,JPN"
SECRET = "GBR/SECRET|rel=GBR,JPN"
JA_BODY = "本日、化学防護の共同研究について協議した。"
EN_BODY = "The Harbour LOGISTICS exercise was postponed; Kestrel convoy rerouted."


@pytest.fixture(autouse=True, params=["index", "walk"])
def plan(request, monkeypatch):
    """Every test runs with both ways a PostgreSQL search can be written (``search.matching``):
    through the GIN index, and walking the listing. They must return the same rows."""
    if request.param == "walk":
        if connection.vendor != "postgresql":
            pytest.skip("SQLite has one plan (FTS5)")
        monkeypatch.setattr(search, "WALK_FROM", 0.0)   # every query counts as common
        monkeypatch.setattr(search, "COUNT_WALK_FROM", 0.0)
    else:
        monkeypatch.setattr(search, "WALK_FROM", 2.0)   # no share is that high
        monkeypatch.setattr(search, "COUNT_WALK_FROM", 2.0)
    return request.param


@pytest.fixture
def author():
    return make_user("author", "GBR", clearance="SECRET")


@pytest.fixture
def reader():
    return make_user("reader", "GBR")  # no clearance: OFFICIAL only


def create(author, label=OFFICIAL, *, body="", **fields) -> Document:
    fields.setdefault("title_en", "Untitled")
    document = services.create_document(actor=author, label=LabelSpec.parse(label), body=body,
                                        **fields)
    # The integrator calls this from services; calling it again is harmless (an upsert).
    search.index_document(document, body)
    return document


def found(user, text: str) -> list[Document]:
    return selectors.visible_documents(user, DocumentFilter(text=text))


def count(user, text: str) -> int:
    counted = selectors.count_visible_documents(user, DocumentFilter(text=text))
    assert counted.exact
    return counted.value


def test_japanese_word_inside_a_sentence_is_found(author):
    doc = create(author, title_ja="協議記録", body=JA_BODY)
    create(author, title_en="Other", body="防衛装備品の移転について。")
    assert found(author, "共同研究") == [doc]
    assert found(author, "化学防護") == [doc]
    assert found(author, "協議した") == [doc]
    assert found(author, "共同開発") == []
    assert count(author, "共同研究") == 1


def test_english_is_case_insensitive_and_finds_body_words(author):
    doc = create(author, title_en="Port visit", body=EN_BODY)
    for query in ("logistics", "Logistics", "LOGISTICS", "kestrel CONVOY", "harbour"):
        assert found(author, query) == [doc], query
    assert found(author, "Port Visit") == [doc]          # title words too
    assert found(author, "submarine") == []


def test_summaries_are_indexed(author):
    doc = create(author, title_en="Minutes", summary_en="Agreed the calibration schedule",
                 summary_ja="校正計画に合意", body="nothing to see")
    assert found(author, "calibration") == [doc]
    assert found(author, "校正計画") == [doc]


def test_a_word_in_no_document_finds_nothing(author):
    create(author, title_en="Port visit", body=EN_BODY)
    create(author, title_ja="協議記録", body=JA_BODY)
    assert found(author, "zeppelin") == []
    assert count(author, "zeppelin") == 0
    assert found(author, "潜水艦") == []


def test_mixed_english_and_japanese(author):
    doc = create(author, title_en="Joint research on CBRN defence", title_ja="共同研究",
                 body="会議では decontamination の手順と除染車両を確認した。")
    create(author, title_en="Joint exercise", body="演習の日程。")
    assert found(author, "joint 共同研究") == [doc]
    assert found(author, "decontamination 除染車両") == [doc]
    assert found(author, "Decontamination の手順") == [doc]
    assert found(author, "joint 潜水艦") == []        # every term must match
    assert {d.title_en for d in found(author, "joint")} == {"Joint research on CBRN defence",
                                                             "Joint exercise"}


def test_full_width_and_half_width_forms_are_normalised(author):
    doc = create(author, title_en="Kit", body="ｶﾀｶﾅ and ＬＯＧＩＳＴＩＣＳ")
    assert found(author, "logistics") == [doc]
    assert found(author, "カタカナ") == [doc]


def test_results_and_counts_never_include_a_document_the_reader_may_not_view(author, reader):
    public = create(author, OFFICIAL, title_en="Canteen", body="The tempest drill is on Friday.")
    secret = create(author, SECRET, title_en="Tempest trials", body="Tempest sensor results.")
    create(author, SECRET, title_en="Sensor", body="共同研究の秘密の成果。")
    assert set(found(author, "tempest")) == {public, secret}
    assert count(author, "tempest") == 2
    # The uncleared reader: same word, only what they may view; a count says nothing more.
    assert found(reader, "tempest") == [public]
    assert count(reader, "tempest") == 1
    assert found(reader, "sensor") == []
    assert count(reader, "sensor") == 0
    assert found(reader, "共同研究") == []
    assert count(reader, "共同研究") == 0
    # Short queries take the other path; the kernel still filters it.
    assert set(found(author, "te")) == {public, secret}   # "Canteen", "Tempest trials"
    assert found(reader, "te") == [public]
    assert count(reader, "te") == 1


def test_the_index_holds_no_plaintext(author):
    create(author, title_en="Minutes", body=EN_BODY)
    create(author, title_ja="記録", body=JA_BODY)
    secret_words = ["harbour", "logistics", "kestrel", "convoy", "化学防護", "共同研究", "協議"]
    # Trigrams: a two-letter piece could turn up by chance in an id or a hex token.
    grams_of_words = {g for w in secret_words for g in search.grams(w, (3,))}
    for entry in SearchEntry.objects.all():
        assert entry.tokens and all(-2**31 <= t < 2**31 for t in entry.tokens)
    dump = _dump_index_tables().casefold()
    assert dump  # the tables were read
    for piece in [*secret_words, *grams_of_words, "postponed", "本日"]:
        assert piece not in dump, piece


def _dump_index_tables() -> str:
    """Every row of every search index table, as text (the FTS5 shadow tables too)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                           "AND name LIKE 'exchange_search%'")
            tables = [r[0] for r in cursor.fetchall()]
        else:
            tables = [SearchEntry._meta.db_table]
        out = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out.append(bytes(value).decode("utf-8", "replace"))
                    else:
                        out.append(str(value))
    return "\n".join(out)


def test_a_new_version_replaces_the_indexed_body(author):
    doc = create(author, title_en="Plan", body="The frigate sails at dawn.")
    services.add_version(actor=author, document=doc, body="The tanker sails at dusk.")
    doc.refresh_from_db()
    search.index_document(doc, "The tanker sails at dusk.")
    assert found(author, "tanker") == [doc]
    assert found(author, "frigate") == []
    assert SearchEntry.objects.count() == 1


def test_reindex_all_rebuilds_from_the_encrypted_bodies(author):
    doc = create(author, title_en="Plan", body="Radar calibration 共同研究")
    SearchEntry.objects.all().delete()
    assert found(author, "radar") == []
    assert search.reindex_all() == 1
    assert found(author, "calibration") == [doc]
    assert found(author, "共同研究") == [doc]


def test_two_character_terms_reach_bodies_and_one_character_falls_back_to_titles(author):
    titled = create(author, title_en="UK liaison", body="nothing")
    in_body = create(author, title_en="Other", body="the uk body only; 日英の協議")
    assert set(found(author, "uk")) == set(found(author, "UK")) == {titled, in_body}
    assert found(author, "日英") == [in_body]
    assert found(author, "L") == [titled]  # one character: titles and summaries only
    assert found(author, "  ") == found(author, "")  # blank: no text filter at all


def test_query_tokens(author):
    assert len(search.query_tokens("ab")) == 1
    assert len(search.query_tokens("ab cd")) == 2
    assert search.query_tokens("a b") == set()
    assert len(search.query_tokens("共同研究")) == 2
    assert search.query_tokens("Logistics") == search.query_tokens("ＬＯＧＩＳＴＩＣＳ")
    assert search.grams("a  b") == {"a b", "a ", " b"}
    assert search.grams("ab") == {"ab"}
    assert " " * 3 not in search.grams("a   b")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL statistics")
def test_the_plan_follows_how_common_the_words_are(author, plan):
    if plan == "walk":
        pytest.skip("this test sets its own threshold")
    for i in range(30):
        create(author, title_en=f"Kestrel report {i}", body=EN_BODY if i % 3 else JA_BODY)
    create(author, title_en="Albatross", body="A rare sighting.")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE exchange_searchentry")  # sees this transaction's rows
    search._frequencies.clear()
    kestrel, albatross = (search.expected_share(search.query_terms(w))
                          for w in ("kestrel", "albatross"))
    assert kestrel > 0.9 and albatross < 0.1, (kestrel, albatross)
    both = search.expected_share(search.query_terms("kestrel convoy"))
    assert both == pytest.approx(kestrel * search.expected_share(search.query_terms("convoy")))

    search.WALK_FROM = 0.5
    walked = search.matching(Document.objects.all(), "kestrel")
    looked_up = search.matching(Document.objects.all(), "albatross")
    assert "SubPlan" in walked.order_by("-updated_at").explain()
    assert "SubPlan" not in looked_up.order_by("-updated_at").explain()  # a join: GIN at scale
    assert walked.count() == 31 - 1 and looked_up.count() == 1


def test_a_search_stops_counting_at_the_limit(author, reader, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COUNT_LIMIT", 3)
    for name in ("alpha", "bravo", "charlie", "delta"):
        create(author, title_en=f"Tempest {name}")
    create(author, SECRET, title_en="Tempest secret")
    counted = selectors.count_visible_documents(author, DocumentFilter(text="tempest"))
    assert (counted.value, counted.exact, str(counted)) == (3, False, "3+")
    # The reader sees 4 (no SECRET): still more than the limit. A narrower search is exact.
    assert not selectors.count_visible_documents(reader, DocumentFilter(text="tempest")).exact
    narrowed = selectors.count_visible_documents(reader, DocumentFilter(text="tempest bravo"))
    assert (narrowed.value, narrowed.exact) == (1, True)
    # Listing without a search is counted exactly, however many.
    assert selectors.count_visible_documents(author) == selectors.DocumentCount(5, True)
    assert len(found(author, "tempest")) == 5  # the pages themselves are not capped

    page = verified_client(reader).get(reverse("exchange:documents"), {"q": "tempest"})
    assert "More than 3 documents match" in page.content.decode()
    api = verified_client(reader).get("/api/v1/documents", {"q": "tempest"}).json()
    assert (api["count"], api["count_exact"], len(api["items"])) == (3, False, 4)
