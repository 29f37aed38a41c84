"""Every read path of the exchange shows each user exactly what the kernel allows, nothing more.

Nine users (both nations, clearances from none to the top, an expired one, communities, a
caveat grant, both security authorities) and 30 documents (every marking of both schemes, own-
nation-only and shared releasability, eyes-only and CRYPTO caveats, two communities), each with
an attachment. What the kernel allows is asked of ``kernel.evaluate`` once per (user, document);
then every path — API list, count and search (English and Japanese), pages (list, search,
detail, version, download, PDF), API detail, version, download, PDF and label, the register
(page, API, CSV), transmissions, loss reports, notifications and the CLI — must show exactly
that set. Any path that skipped the kernel would show a document outside it and fail here.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from entente.core.models import Role
from entente.exchange import services
from entente.exchange.services import IncomingFile
from entente.security.kernel import Action, Subject, evaluate
from entente.security.labels import LabelFacts, LabelSpec
from entente.testing import authority, community, make_user, organisation, verified_client
from entente.testing.shared import build_for_the_module

pytestmark = pytest.mark.django_db

MARKINGS = {"GBR": ("OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET", "TOP-SECRET"),
            "JPN": ("TORIATSUKAI-CHUI", "HI", "GOKUHI", "KIMITSU")}
OTHER = {"GBR": "JPN", "JPN": "GBR"}
EYES_ONLY = {"GBR": "uk-eyes-only", "JPN": "jpn-eyes-only"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _labels() -> list[str]:
    labels = []
    for nation, markings in MARKINGS.items():
        both = f"rel={nation},{OTHER[nation]}"
        for marking in markings:
            labels += [f"{nation}/{marking}|{both}", f"{nation}/{marking}|rel={nation}",
                       f"{nation}/{marking}|{both}|com=proj-a"]
        top = markings[2]
        labels += [f"{nation}/{top}|rel={nation}|cav={EYES_ONLY[nation]}",
                   f"{nation}/{top}|{both}|cav=crypto",
                   f"{nation}/{markings[1]}|{both}|com=proj-b"]
    return labels


def _build_world():
    today = timezone.localdate()
    community("proj-a")
    community("proj-b")
    authors = {
        "GBR": make_user("gb-author", "GBR", clearance="TOP-SECRET",
                         communities=["proj-a", "proj-b"], caveats=["crypto"]),
        "JPN": make_user("jp-author", "JPN", clearance="KIMITSU",
                         communities=["proj-a", "proj-b"], caveats=["crypto"]),
    }
    readers = {
        "gb-secret": make_user("gb-secret", "GBR", clearance="SECRET",
                               communities=["proj-a"], caveats=["crypto"]),
        "gb-uncleared": make_user("gb-uncleared", "GBR", org=organisation("gbr-des", "GBR")),
        "gb-expired": make_user("gb-expired", "GBR", clearance="SECRET",
                                clearance_until=today - dt.timedelta(days=1),
                                communities=["proj-a"]),
        "jp-gokuhi": make_user("jp-gokuhi", "JPN", clearance="GOKUHI", communities=["proj-a"]),
        "jp-hi": make_user("jp-hi", "JPN", clearance="HI", org=organisation("jpn-atla", "JPN")),
        "jp-nsa": make_user("jp-nsa", "JPN", org=authority("JPN"), clearance="KIMITSU",
                            communities=["proj-a", "proj-b"], roles=[Role.SECURITY_OFFICER]),
        "gb-nsa": make_user("gb-nsa", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                            communities=["proj-b"], roles=[Role.SECURITY_OFFICER]),
    }
    documents = []
    for n, label in enumerate(_labels()):
        spec = LabelSpec.parse(label)
        documents.append(services.create_document(
            actor=authors[spec.originator], label=spec, title_en=f"Muster item {n:02d}",
            title_ja=f"共同研究資料{n:02d}", summary_en=label,
            body=f"Annual muster of holdings, item {n}. 日英の共同研究に関する文書。",
            files=[IncomingFile(f"item{n}.txt", "text/plain", io.BytesIO(f"file {n}".encode()))]))
    # Something in every other read path: transmissions, a loss report, notifications.
    shared = [d for d in documents if "rel=GBR,JPN" in d.label.canonical]
    services.transmit(actor=authors["GBR"], documents=[d for d in shared
                                                       if d.label.originator_id == "GBR"],
                      recipient=readers["jp-hi"].organisation)
    services.transmit(actor=authors["JPN"], documents=[d for d in shared
                                                       if d.label.originator_id == "JPN"],
                      recipient=readers["gb-uncleared"].organisation)
    services.report_loss(actor=authors["GBR"], documents=documents[:6],
                         description="Courier bag delayed")
    users = {**readers, **{u.username: u for u in authors.values()}}
    allowed = {name: {str(d.pk) for d in documents
                      if evaluate(Subject.of(user), Action.VIEW, LabelFacts.of(d.label)).allowed}
               for name, user in users.items()}
    return {"users": users, "documents": documents, "allowed": allowed}


@pytest.fixture(scope="module")
def _module_world(request, django_db_setup, django_db_blocker):
    """Built once for the module (entente.testing.shared); each test rolls back its writes."""
    yield from build_for_the_module(request, django_db_blocker, _build_world)


@pytest.fixture
def world(_module_world, db) -> dict[str, Any]:
    return copy.deepcopy(_module_world)


def _ids(text: str, universe: set[str]) -> set[str]:
    return set(UUID.findall(text)) & universe


def _the_world_is_varied_enough_to_mean_something(world):
    sizes = {name: len(ids) for name, ids in world["allowed"].items()}
    assert len(world["documents"]) >= 30 and len(world["users"]) >= 6
    assert sizes["gb-expired"] < sizes["gb-secret"] < sizes["gb-author"]
    assert sizes["jp-hi"] < sizes["jp-gokuhi"] < sizes["jp-author"]
    assert sizes["gb-uncleared"] > 0 and len(set(map(frozenset, world["allowed"].values()))) >= 7


def _api_lists_counts_and_searches_show_exactly_what_the_kernel_allows(world):
    for name, user in world["users"].items():
        client, expected = verified_client(user), world["allowed"][name]
        for query in ("", "?q=muster", "?q=MUSTER", "?q=共同研究", "?q=日英"):
            seen, offset = [], 0
            while True:
                sep = "&" if query else "?"
                page = client.get(f"/api/v1/documents{query}{sep}limit=7&offset={offset}").json()
                seen += [item["id"] for item in page["items"]]
                assert page["count"] == len(expected), (name, query)
                if len(page["items"]) < 7:
                    break
                offset += 7
            assert sorted(seen) == sorted(expected), (name, query)


def _pages_list_and_search_show_exactly_what_the_kernel_allows(world):
    universe = {str(d.pk) for d in world["documents"]}
    for name, user in world["users"].items():
        client, expected = verified_client(user), world["allowed"][name]
        for query in ("", "?q=muster", "?q=共同研究"):
            page = client.get(f"/documents/{query}")
            assert page.status_code == 200
            assert _ids(page.content.decode(), universe) == expected, (name, query)


def _every_single_document_read_answers_only_what_the_kernel_allows(world):
    documents = world["documents"]
    attachments = {d.pk: d.versions.get().attachments.get() for d in documents}
    for name, user in world["users"].items():
        client, expected = verified_client(user), world["allowed"][name]
        missing = uuid.uuid4()
        refusals = {path: client.get(path.format(id=missing)).content for path in (
            "/documents/{id}/", "/api/v1/documents/{id}", "/api/v1/documents/{id}/versions/1",
            "/documents/{id}/versions/1/", "/api/v1/documents/{id}/label")}
        for document in documents:
            pk = str(document.pk)
            attachment = attachments[document.pk]
            for path, refusal in refusals.items():
                response = client.get(path.format(id=pk))
                if pk in expected:
                    assert response.status_code == 200, (name, path)
                else:
                    assert (response.status_code, response.content) == (404, refusal), (name, path)
            for path in (f"/api/v1/attachments/{attachment.pk}",
                         f"/attachments/{attachment.pk}/"):
                response = client.get(path)
                if pk in expected:
                    content = b"".join(response.streaming_content)
                    assert content == f"file {documents.index(document)}".encode()
                else:
                    assert response.status_code == 404, (name, path)


def _pdf_exports_only_what_the_kernel_allows(world):
    for name, user in world["users"].items():
        client, expected = verified_client(user), world["allowed"][name]
        for document in world["documents"]:
            if str(document.pk) not in expected:
                assert client.get(f"/api/v1/documents/{document.pk}/pdf").status_code == 404
                assert client.post(f"/documents/{document.pk}/pdf").status_code == 404
        one = next(iter(sorted(expected)))
        response = client.get(f"/api/v1/documents/{one}/pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF")


def _registers_transmissions_loss_reports_and_inboxes_never_show_more(world):
    universe = {str(d.pk) for d in world["documents"]}
    for name, user in world["users"].items():
        client, expected = verified_client(user), world["allowed"][name]
        register = client.get("/api/v1/register").json()
        seen = {row["document"] for row in register}
        assert seen <= expected, name
        for path in ("/register/", "/register.csv", "/api/v1/register.csv"):
            assert _ids(client.get(path).content.decode("utf-8-sig"), universe) == seen, path
        for transmission in client.get("/api/v1/transmissions").json():
            assert {i["document"] for i in transmission["items"]} <= expected, name
            page = client.get(f"/transmissions/{transmission['id']}/").content.decode()
            assert _ids(page, universe) <= expected, name
        assert _ids(client.get("/transmissions/").content.decode(), universe) <= expected
        for report in client.get("/api/v1/loss-reports").json():
            assert set(report["documents"]) <= expected, name
            page = client.get(f"/loss-reports/{report['id']}/").content.decode()
            assert _ids(page, universe) <= expected, name
        for path in ("/loss-reports/", "/notifications/", "/requests/", "/api/v1/notifications",
                     "/api/v1/requests"):
            assert _ids(client.get(path).content.decode(), universe) <= expected, (name, path)
    # The registers are not trivially empty: the authors' organisations hold everything they
    # made, and the recipients hold nothing until they acknowledge.
    author = verified_client(world["users"]["gb-author"])
    assert len(author.get("/api/v1/register").json()) == 15


def _the_cli_lists_exactly_what_the_kernel_allows(world):
    for name in world["users"]:
        out = io.StringIO()
        call_command("exchange", "list", "--as", name, "--limit", "200", "--json", stdout=out)
        listed = json.loads(out.getvalue())
        assert {row["id"] for row in listed["items"]} == world["allowed"][name], name
        assert listed["count"] == len(world["allowed"][name]), name


def _the_read_paths_left_a_trail(world):
    from entente.security.models import AuditEvent

    user = world["users"]["jp-hi"]
    forbidden = next(d for d in world["documents"] if str(d.pk) not in world["allowed"]["jp-hi"])
    verified_client(user).get(f"/api/v1/documents/{forbidden.pk}")
    assert AuditEvent.objects.filter(actor="jp-hi", action="access.view", allowed=False,
                                     object_id=str(forbidden.pk)).exists()



# Building the world takes seconds: it is built once for the module, and each test starts from
# it as built (its own writes are rolled back).


def test_lists_counts_searches_and_the_cli_show_exactly_what_the_kernel_allows(world):
    _the_world_is_varied_enough_to_mean_something(world)
    _api_lists_counts_and_searches_show_exactly_what_the_kernel_allows(world)
    _pages_list_and_search_show_exactly_what_the_kernel_allows(world)
    _the_cli_lists_exactly_what_the_kernel_allows(world)


def test_single_reads_downloads_and_exports_answer_only_what_the_kernel_allows(world):
    _every_single_document_read_answers_only_what_the_kernel_allows(world)
    _pdf_exports_only_what_the_kernel_allows(world)
    _the_read_paths_left_a_trail(world)


def test_registers_transmissions_loss_reports_and_inboxes_never_show_more(world):
    _registers_transmissions_loss_reports_and_inboxes_never_show_more(world)
