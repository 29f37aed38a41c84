"""The security kernel on every read path built so far: home page, record page, API list, API
detail. The expected visibility of every (user, record) pair is written out by hand below — not
computed with the kernel — so a kernel regression shows up here as a wrong page or JSON answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from entente.core.models import User
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent, SampleRecord
from entente.security.services import create_sample_record
from entente.testing import community, make_user, organisation, verified_client

pytestmark = pytest.mark.django_db

# Readers, in the column order of the table below.
#   uk      GBR, SECRET, member of proj-a
#   lapsed  GBR, TOP SECRET that expired yesterday (so: no clearance)
#   jp      JPN, GOKUHI (equivalent to GBR/SECRET), no community
#   jp0     JPN, no clearance
USERS = ("uk", "lapsed", "jp", "jp0")

# title: (label, body, visible to uk, lapsed, jp, jp0) — worked out by hand from the rules.
TABLE: dict[str, tuple[str, str, tuple[int, int, int, int]]] = {
    # SECRET, releasable to both: UK SECRET yes; JPN GOKUHI ≡ GBR/SECRET yes.
    "Harbour survey": ("GBR/SECRET|rel=GBR,JPN",
                       "Particulars: quay seven soundings 4417.", (1, 0, 1, 0)),
    # Not releasable to Japan: nationality rule hides it from every Japanese reader.
    "Engine trial": ("GBR/SECRET|rel=GBR",
                     "Particulars: turbine run 2291 at full load.", (1, 0, 0, 0)),
    # OFFICIAL needs no clearance in either scheme (JPN sees it as TORIATSUKAI-CHUI).
    "Canteen menu": ("GBR/OFFICIAL|rel=GBR,JPN",
                     "Particulars: curry on Fridays 0042.", (1, 1, 1, 1)),
    # Community proj-a: only uk is a member; jp's GOKUHI clearance is not enough.
    "Radar fusion": ("JPN/GOKUHI|rel=GBR,JPN|com=proj-a",
                     "Particulars: track correlation gate 7730.", (1, 0, 0, 0)),
    # Japan eyes only, no clearance needed: every Japanese reader, no Briton.
    "Typhoon drill": ("JPN/TORIATSUKAI-CHUI|rel=JPN|cav=jpn-eyes-only",
                      "台風訓練の詳細：集合地点 5521。", (0, 0, 1, 1)),
    # TOP SECRET: nobody here is cleared (uk is SECRET, jp is GOKUHI < KIMITSU).
    "Deterrent plan": ("GBR/TOP-SECRET|rel=GBR,JPN",
                       "Particulars: patrol window 9904.", (0, 0, 0, 0)),
    # GOKUHI ≡ GBR/SECRET: uk and jp.
    "Satellite link": ("JPN/GOKUHI|rel=GBR,JPN",
                       "Particulars: uplink frequency 3318.", (1, 0, 1, 0)),
    # UK eyes only, OFFICIAL-SENSITIVE needs no clearance: both Britons, no Japanese reader.
    "Dockyard roster": ("GBR/OFFICIAL-SENSITIVE|rel=GBR|cav=uk-eyes-only",
                        "Particulars: night shift crane 6605.", (1, 1, 0, 0)),
    # JPN/HI is protected as GBR/SECRET in today's table; HI < GOKUHI for jp.
    "Coastal patrol": ("JPN/HI|rel=GBR,JPN",
                       "Particulars: sector boundary 8186.", (1, 0, 1, 0)),
    # KIMITSU ≡ GBR/TOP-SECRET: nobody.
    "Sealed archive": ("JPN/KIMITSU|rel=GBR,JPN",
                       "Particulars: vault index 1259.", (0, 0, 0, 0)),
}


@dataclass
class World:
    users: dict[str, User]
    records: dict[str, SampleRecord]  # by title

    def expected(self, who: str) -> set[str]:
        column = USERS.index(who)
        return {title for title, (_, _, row) in TABLE.items() if row[column]}

    def ids(self, titles: set[str]) -> set[str]:
        return {str(self.records[t].pk) for t in titles}


@pytest.fixture
def world() -> World:
    community("proj-a")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    users = {
        "uk": make_user("uk", "GBR", clearance="SECRET", communities=["proj-a"]),
        "lapsed": make_user("lapsed", "GBR", clearance="TOP-SECRET", clearance_until=yesterday),
        "jp": make_user("jp", "JPN", clearance="GOKUHI"),
        "jp0": make_user("jp0", "JPN"),
    }
    records = {}
    for title, (label, body, _) in TABLE.items():
        nation = label.split("/")[0]
        records[title] = create_sample_record(
            actor=None, owner=organisation(f"{nation.lower()}-mod", nation), title=title,
            body=body, label=LabelSpec.parse(label))
    return World(users, records)


def audit_since(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_table_is_not_trivial():
    columns = list(zip(*(row for _, _, row in TABLE.values()), strict=True))
    for who, column in zip(USERS, columns, strict=True):
        assert 0 < sum(column) < len(TABLE), f"{who} sees all or nothing: a weak check"
    assert len({row for _, _, row in TABLE.values()}) >= 5


@pytest.mark.parametrize("who", USERS)
def test_home_page_lists_exactly_the_visible_records(world, who):
    user = world.users[who]
    expected = world.expected(who)
    client = verified_client(user)
    before = last_seq()
    response = client.get(reverse("core:home"))
    assert response.status_code == 200
    html = response.content.decode()
    for title in TABLE:
        assert (title in html) == (title in expected), f"{who} / {title}"
        link = reverse("security:record", args=[world.records[title].pk])
        assert (link in html) == (title in expected), f"{who} / link to {title}"
    [listing] = [e for e in audit_since(before) if e.action == "access.list"]
    assert listing.actor == who and listing.allowed is True
    assert sorted(listing.details["ids"]) == sorted(world.ids(expected))


@pytest.mark.parametrize("who", USERS)
def test_api_list_returns_exactly_the_visible_records(world, who):
    expected = world.expected(who)
    client = verified_client(world.users[who])
    before = last_seq()
    response = client.get("/api/v1/records")
    assert response.status_code == 200
    items = response.json()
    assert {item["id"] for item in items} == world.ids(expected)
    assert len(items) == len(expected)
    assert {item["title"] for item in items} == expected
    for item in items:
        assert "body" not in item
        assert item["label"] == world.records[item["title"]].label.canonical
    events = audit_since(before)
    assert [e.action for e in events] == ["access.list"]
    assert events[0].actor == who
    assert sorted(events[0].details["ids"]) == sorted(world.ids(expected))


@pytest.mark.parametrize("who", USERS)
def test_record_page_shows_visible_and_hides_the_rest(world, who):
    expected = world.expected(who)
    client = verified_client(world.users[who])
    for title, (_, body, _) in TABLE.items():
        record = world.records[title]
        before = last_seq()
        response = client.get(reverse("security:record", args=[record.pk]))
        html = response.content.decode()
        if title in expected:
            assert response.status_code == 200, f"{who} / {title}"
            assert body in html
            assert title in html
        else:
            assert response.status_code == 404, f"{who} / {title}"
            assert body not in html and title not in html
        [event] = audit_since(before)
        assert (event.action, event.object_type, event.object_id, event.actor, event.allowed) == (
            "access.view", "security.samplerecord", str(record.pk), who, title in expected)


@pytest.mark.parametrize("who", USERS)
def test_api_detail_decrypts_visible_and_hides_the_rest(world, who):
    expected = world.expected(who)
    client = verified_client(world.users[who])
    for title, (label, body, _) in TABLE.items():
        record = world.records[title]
        before = last_seq()
        response = client.get(f"/api/v1/records/{record.pk}")
        if title in expected:
            assert response.status_code == 200, f"{who} / {title}"
            data = response.json()
            assert data["id"] == str(record.pk)
            assert data["title"] == title
            assert data["body"] == body
            assert data["label"] == LabelSpec.parse(label).canonical()
        else:
            assert response.status_code == 404, f"{who} / {title}"
            assert response.json() == {"detail": "Not found."}
            assert body not in response.content.decode()
        [event] = audit_since(before)
        assert (event.action, event.object_id, event.actor, event.allowed) == (
            "access.view", str(record.pk), who, title in expected)
        assert event.source == "127.0.0.1"


# (reader, a record the reader may not see, the rule that hides it)
FORBIDDEN = [
    ("uk", "Deterrent plan"),     # clearance
    ("uk", "Typhoon drill"),      # nationality / eyes-only caveat
    ("lapsed", "Harbour survey"), # expired clearance
    ("jp", "Engine trial"),       # nationality
    ("jp", "Radar fusion"),       # community
    ("jp", "Dockyard roster"),    # UK-eyes-only caveat
    ("jp0", "Satellite link"),    # no clearance
]


@pytest.mark.parametrize(("who", "title"), FORBIDDEN)
def test_forbidden_missing_and_malformed_ids_answer_alike(world, who, title):
    assert title not in world.expected(who)  # the table agrees this is forbidden
    client = verified_client(world.users[who])
    forbidden = str(world.records[title].pk)
    missing = str(uuid.uuid4())
    assert not SampleRecord.objects.filter(pk=missing).exists()
    malformed = ["not-a-uuid", "12345", forbidden.upper().replace("-", "")[:-1]]

    api = {key: client.get(f"/api/v1/records/{key}") for key in (forbidden, missing, *malformed)}
    reference = api[forbidden]
    assert reference.status_code == 404
    for key, response in api.items():
        assert (response.status_code, response.content, response["Content-Type"]) == (
            reference.status_code, reference.content, reference["Content-Type"]), key

    pages = {key: client.get(reverse("security:record", args=[key]))
             for key in (forbidden, missing, *malformed)}
    assert {key: r.status_code for key, r in pages.items()} == dict.fromkeys(pages, 404)
    assert len({r.content for r in pages.values()}) == 1

    # The forbidden id and the missing id are both on record as refused views.
    for key in (forbidden, missing):
        refused = AuditEvent.objects.filter(action="access.view", object_id=key, actor=who)
        assert refused.count() == 2  # one for the API, one for the page
        assert set(refused.values_list("allowed", flat=True)) == {False}
    assert not AuditEvent.objects.filter(action="access.view", allowed=True).exists()


def test_malformed_id_probe_is_on_record(world):
    client = verified_client(world.users["uk"])
    before = last_seq()
    assert client.get("/api/v1/records/not-a-uuid").status_code == 404
    assert client.get(reverse("security:record", args=["not-a-uuid"])).status_code == 404
    refused = [e for e in audit_since(before) if e.action == "access.view"]
    assert [(e.actor, e.allowed) for e in refused] == [("uk", False), ("uk", False)]


def test_record_id_in_other_spelling_is_the_same_record(world):
    # A visible record asked for by its id without hyphens is still the same record (uuid
    # parsing), not a second identity that would escape the audit trail.
    record = world.records["Harbour survey"]
    client = verified_client(world.users["uk"])
    response = client.get(f"/api/v1/records/{record.pk.hex}")
    assert response.status_code == 200
    assert response.json()["id"] == str(record.pk)
    assert AuditEvent.objects.filter(action="access.view", object_id=str(record.pk),
                                     allowed=True).count() == 1


def _banner_positions(html: str, text: str) -> None:
    """The marking appears exactly twice: once above the content and once below it."""
    assert html.count(text) == 2, f"{text!r} appears {html.count(text)} times"
    first, last = html.index(text), html.rindex(text)
    assert first < html.index("<main>") and last > html.index("</main>")
    assert html.count('class="label-banner"') == 2


def test_banner_top_and_bottom_for_the_originators_reader(world):
    client = verified_client(world.users["uk"])
    html = client.get(reverse("security:record",
                              args=[world.records["Harbour survey"].pk])).content.decode()
    _banner_positions(html, "GBR SECRET")
    assert "REL GBR/JPN" in html
    assert "protected as" not in html  # a UK reader of a UK marking needs no equivalent


def test_banner_shows_the_japanese_readers_equivalent(world):
    client = verified_client(world.users["jp"])
    record = world.records["Harbour survey"]
    html = client.get(reverse("security:record", args=[record.pk])).content.decode()
    _banner_positions(html, "GBR SECRET")
    _banner_positions(html, "protected as JPN SECRET (Gokuhi)")
    api = client.get(f"/api/v1/records/{record.pk}").json()
    assert api["banner"] == "GBR SECRET (JPN SECRET (Gokuhi)) REL GBR/JPN"


def test_banner_carries_the_caveat(world):
    client = verified_client(world.users["uk"])
    html = client.get(reverse("security:record",
                              args=[world.records["Dockyard roster"].pk])).content.decode()
    _banner_positions(html, "GBR OFFICIAL-SENSITIVE")
    assert html.count("UK EYES ONLY") == 2


def test_banner_in_japanese_by_language_cookie(world):
    client = verified_client(world.users["jp"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    html = client.get(reverse("security:record",
                              args=[world.records["Harbour survey"].pk])).content.decode()
    assert '<html lang="ja">' in html
    _banner_positions(html, "GBR 極秘")
    _banner_positions(html, "JPN 極秘")
    assert "GBR SECRET" not in html
    assert "JPN SECRET (Gokuhi)" not in html


def test_banner_in_japanese_by_accept_language(world):
    client = verified_client(world.users["uk"])
    url = reverse("security:record", args=[world.records["Satellite link"].pk])
    english = client.get(url).content.decode()
    _banner_positions(english, "JPN SECRET (Gokuhi)")
    _banner_positions(english, "GBR SECRET")
    japanese = client.get(url, headers={"accept-language": "ja"}).content.decode()
    assert '<html lang="ja">' in japanese
    _banner_positions(japanese, "JPN 極秘")
    _banner_positions(japanese, "GBR 極秘")
    assert "JPN SECRET (Gokuhi)" not in japanese


def test_openapi_document_lists_the_record_paths(world):
    response = verified_client(world.users["jp0"]).get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "get" in paths["/api/v1/records"]
    assert "get" in paths["/api/v1/records/{record_id}"]
    assert "get" in paths["/api/v1/me"]
    # And it is not served to anyone who has not passed the TOTP step.
    assert Client().get("/api/v1/openapi.json").status_code == 401
    password_only = Client()
    password_only.force_login(world.users["jp0"])
    assert password_only.get("/api/v1/openapi.json").status_code == 401


def test_database_holds_no_plaintext_body(world):
    for title, (_, body, _) in TABLE.items():
        stored = bytes(SampleRecord.objects.values_list("body", flat=True).get(
            pk=world.records[title].pk))
        assert len(stored) > len(body.encode())
        assert body.encode() not in stored
        assert body.encode("utf-16-le") not in stored
        # The distinctive serial number alone is not there either.
        serial = "".join(ch for ch in body if ch.isdigit())
        assert serial.encode() not in stored
    # No two records share ciphertext.
    blobs = [bytes(b) for b in SampleRecord.objects.values_list("body", flat=True)]
    assert len(set(blobs)) == len(blobs)


def test_keyset_pages_are_exact_when_titles_repeat():
    from entente.security.kernel import visible
    from entente.security.selectors import visible_records

    reader = make_user("reader", "GBR", clearance="SECRET")
    made = {create_sample_record(actor=None, owner=organisation("gbr-mod"), title=title,
                                 body="x", label=LabelSpec.parse(label)).pk
            for title in ("Same", "Same", "Same", "Other", "Same")
            for label in ("GBR/SECRET|rel=GBR", "GBR/TOP-SECRET|rel=GBR")}
    seen, after = [], None
    while page := visible_records(reader, after=after, limit=2):
        seen += [r.pk for r in page]
        after = (page[-1].title, page[-1].pk)
    visible_ids = set(visible(reader, SampleRecord.objects.all()).values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == visible_ids < made
