"""What the exchange shows of a transmission or a request that travels between national nodes: its
delivery to the partner's node (waiting, delivered with a signed receipt, refused), on the page,
the list, the API and the command line; and who asked, by name, for a request that came from
another node. The partner node is real as far as this node can tell (its own keys, in a temporary
directory: see ``entente.federation.tests.test_pages``)."""

from __future__ import annotations

import html
import io
import json
import re
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from entente.core.models import Organisation, Role
from entente.exchange import services
from entente.exchange.models import DowngradeRequest, Transmission
from entente.federation import services as federation
from entente.federation.models import OutboundPackage, OutboundState
from entente.federation.tests.test_pages import partner_receipt, trust
from entente.federation.transport import free_port
from entente.security.keyring import DirectoryKeyring
from entente.security.labels import LabelSpec
from entente.testing import authority, make_user, organisation, verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _node(settings, tmp_path):
    settings.FEDERATION_DIR = tmp_path / "federation"
    settings.NODE_NATION = "GBR"


@pytest.fixture
def people():
    return {
        "ben": make_user("ben", "GBR", clearance="SECRET"),
        # Kenji's organisation is on this node's records too (the partner's directory); were
        # he a user here, the transmission would still be for his node to receipt.
        "kenji": make_user("kenji", "JPN", org=organisation("jpn-atla", "JPN"),
                           clearance="GOKUHI"),
        "alice": make_user("alice", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                           roles=[Role.SECURITY_OFFICER]),
    }


@pytest.fixture
def ring(tmp_path) -> DirectoryKeyring:
    return DirectoryKeyring(tmp_path / "jpn-node-keys")


def send(people, title: str = "Seeker trials") -> Transmission:
    document = services.create_document(
        actor=people["ben"], label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"), title_en=title,
        body="Body text.")
    return services.transmit(actor=people["ben"], documents=[document],
                             recipient=Organisation.objects.get(code="jpn-atla"))


def receipt_line(client, transmission: Transmission) -> str:
    page = client.get(reverse("exchange:transmission", args=[transmission.pk]))
    assert page.status_code == 200
    found = re.search(r'<dd id="receipt">(.*?)</dd>', page.content.decode(), re.S)
    assert found is not None
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def acknowledge_button(client, transmission: Transmission) -> bool:
    page = client.get(reverse("exchange:transmission", args=[transmission.pk])).content.decode()
    return reverse("exchange:transmission_acknowledge", args=[transmission.pk]) in page


def test_without_a_partner_node_the_recipient_acknowledges_as_before(people):
    transmission = send(people)
    assert not OutboundPackage.objects.exists()
    assert receipt_line(verified_client(people["ben"]), transmission) == \
        "awaiting acknowledgement"
    assert acknowledge_button(verified_client(people["kenji"]), transmission)


def test_a_transmission_to_a_partner_shows_its_delivery_and_no_acknowledge_button(people,
                                                                                   ring):
    trust(ring, people["alice"], endpoint=f"https://127.0.0.1:{free_port()}")
    transmission = send(people)
    ben, kenji = verified_client(people["ben"]), verified_client(people["kenji"])
    assert receipt_line(ben, transmission) == "Waiting for delivery to JPN's node"
    assert not acknowledge_button(kenji, transmission)

    [attempt] = federation.deliver_due()          # a real attempt: nobody listens there
    assert attempt.outcome == "retry"
    line = receipt_line(ben, transmission)
    assert line.startswith("Waiting for delivery to JPN's node (attempt 1; last error: ")
    assert "127.0.0.1" in line

    queued = OutboundPackage.objects.get(transmission=transmission)
    federation.import_receipt(actor=people["alice"], raw=partner_receipt(ring, queued))
    queued.refresh_from_db()
    line = receipt_line(ben, transmission)
    assert line == ("Delivered to JPN's node; signed receipt at "
                    f"{timezone.localtime(queued.receipted_at):%Y-%m-%d %H:%M}")
    assert not acknowledge_button(kenji, transmission)
    listing = html.unescape(ben.get(reverse("exchange:transmissions")).content.decode())
    assert "delivered to JPN's node" in listing

    page = ben.get(reverse("exchange:transmission", args=[transmission.pk]),
                   headers={"Accept-Language": "ja"}).content.decode()
    assert "JPN のノードに送達済み" in page


def test_a_refused_package_shows_the_partners_reason(people, ring):
    trust(ring, people["alice"], endpoint="https://127.0.0.1:1")
    transmission = send(people)
    queued = OutboundPackage.objects.get(transmission=transmission)

    def partner_refuses(partner, path):           # the partner node's HTTP answer
        return 422, json.dumps({"detail": "The recipient organisation is not one of JPN's "
                                          "organisations on this node."}).encode()

    assert federation.deliver(queued, partner_refuses).outcome == "refused"
    client = verified_client(people["ben"])
    assert receipt_line(client, transmission) == (
        "Refused by the partner's node: The recipient organisation is not one of JPN's "
        "organisations on this node.")
    listing = html.unescape(client.get(reverse("exchange:transmissions")).content.decode())
    assert "refused by JPN's node" in listing


def test_the_api_gives_the_delivery_of_a_transmission(people, ring):
    plain = send(people, "Before the partner")
    trust(ring, people["alice"])
    federated = send(people, "After")
    client = verified_client(people["ben"])
    assert client.get(f"/api/v1/transmissions/{plain.pk}").json()["delivery"] is None
    delivery = client.get(f"/api/v1/transmissions/{federated.pk}").json()["delivery"]
    assert delivery == {"partner": "JPN", "state": "queued", "attempts": 0, "last_error": "",
                        "receipted_at": None}

    queued = OutboundPackage.objects.get(transmission=federated)
    federation.import_receipt(actor=people["alice"], raw=partner_receipt(ring, queued))
    listed = {t["id"]: t for t in client.get("/api/v1/transmissions").json()}
    assert listed[str(federated.pk)]["delivery"]["state"] == OutboundState.RECEIPTED
    assert listed[str(federated.pk)]["delivery"]["receipted_at"] is not None
    assert listed[str(plain.pk)]["delivery"] is None


def test_the_command_line_shows_the_delivery(people, ring):
    trust(ring, people["alice"])
    transmission = send(people)
    out = io.StringIO()
    call_command("exchange", "transmissions", "--as", "ben", stdout=out)
    assert "DELIVERY" in out.getvalue() and "waiting for JPN's node" in out.getvalue()
    out = io.StringIO()
    call_command("exchange", "transmissions", "--as", "ben", "--json", stdout=out)
    [row] = json.loads(out.getvalue())
    assert row["id"] == str(transmission.pk)
    assert row["delivery"]["partner"] == "JPN" and row["delivery"]["state"] == "queued"


def test_a_request_from_another_node_names_who_asked_there(people, ring):
    partner = trust(ring, people["alice"])
    transmission = send(people)
    document_id = transmission.items.get().document_id_copy
    document = transmission.items.get().version.document
    request = services.receive_request(
        node=federation.node_account(partner), kind=DowngradeRequest.kind,
        request_id=uuid.uuid4(), document_id=document_id,
        from_label=document.label.canonical, target="OFFICIAL-SENSITIVE",
        reason="Needed for the joint trials.", held_sha256="0" * 64,
        requested_by_name="Kenji Sato (jpn-atla)")

    client = verified_client(people["alice"])
    page = html.unescape(client.get(reverse("exchange:requests")).content.decode())
    assert "Kenji Sato (jpn-atla), on JPN's node" in page
    assert "node:JPN" not in page
    [out] = [r for r in client.get("/api/v1/requests").json() if r["id"] == str(request.pk)]
    assert out["requested_by_name"] == "Kenji Sato (jpn-atla)"
    assert out["requested_by"] == "node:JPN"
