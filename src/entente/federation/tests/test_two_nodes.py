"""Two nodes in one test session: a UK node and a Japan node, each its own processes, database
(SQLite files, or PostgreSQL databases when the suite runs on PostgreSQL) and key set, talking
over mutually authenticated HTTPS exactly as in production (``entente node serve``), driven
through the ``entente`` command line as their operators and users would.

Each test makes its own documents, so the tests do not depend on each other's order."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import ssl
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings

from entente.federation import package as pkg
from entente.federation.localnode import LocalNode
from entente.security.keyring import DirectoryKeyring

AUSTRALIA = {"nations": [{"code": "AUS", "name_en": "Australia", "name_ja": "オーストラリア",
                          "markings": [{"code": "SECRET", "name_en": "SECRET", "level": 3}]}]}

# What a package leaves behind on the receiving node when it is stored; a refused package must
# change none of these.
STORED = ("exchange_document", "exchange_documentversion", "exchange_attachment",
          "exchange_transmission", "exchange_transmissionitem", "exchange_holding",
          "federation_inboundpackage", "exchange_releaserequest", "exchange_downgraderequest")


# --------------------------------------------------------------------------- the two nodes


def _databases() -> tuple[list[str], list[str]]:
    """Node database URLs: SQLite files by default; scratch PostgreSQL databases when the suite
    itself runs on PostgreSQL (then every test of the suite passes on both, this one too)."""
    db = django_settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return ["", ""], []
    import psycopg

    names = [f"entente_node_{n}_{uuid.uuid4().hex[:8]}" for n in ("gbr", "jpn")]
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{db['USER']}@"
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                         password=db.get("PASSWORD") or None, dbname="postgres",
                         autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE DATABASE {name}")
    return [f"postgres://{auth}{db['HOST']}:{db['PORT'] or 5432}/{n}" for n in names], names


def _drop(names: list[str]) -> None:
    if not names:
        return
    import psycopg

    db = django_settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                         password=db.get("PASSWORD") or None, dbname="postgres",
                         autocommit=True) as conn:
        for name in names:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    root = tmp_path_factory.mktemp("nodes")
    urls, created = _databases()
    fast_retry = {"ENTENTE_FEDERATION_RETRY_SECONDS": "0.2",
                  "ENTENTE_FEDERATION_RETRY_MAX_SECONDS": "1"}
    uk = LocalNode("GBR", root, officer="alice", database_url=urls[0], **fast_retry)
    jp = LocalNode("JPN", root, officer="haruka", database_url=urls[1], **fast_retry)
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(LocalNode.prepare, (uk, jp)))
        australia = root / "aus.json"
        australia.write_text(json.dumps(AUSTRALIA), encoding="utf-8")
        for node in (uk, jp):
            node.run("reference", "load", str(australia))
        uk.trust(jp)
        jp.trust(uk)
        uk.start()
        jp.start()
        yield uk, jp
    finally:
        uk.close()
        jp.close()
        _drop(created)


def _document(node: LocalNode, tmp_path: Path, *, author: str = "ben",
              label: str = "GBR/SECRET|rel=GBR,JPN", attachment: bytes = b"") -> dict:
    title = f"Seeker window trials {uuid.uuid4().hex[:8]}"
    body = tmp_path / f"{title}.txt"
    body.write_text(f"{title}: sapphire outperformed spinel at Mach 4.", encoding="utf-8")
    args = ["exchange", "create", "--as", author, "--label", label, "--title-en", title,
            "--body-file", str(body)]
    if attachment:
        data = tmp_path / f"{title}.bin"
        data.write_bytes(attachment)
        args += ["--attach", str(data)]
    created = node.json(*args)
    return {**created, "title": title, "body": body.read_text(encoding="utf-8")}


def _send(node: LocalNode, document: dict, to: str = "jpn-atla", as_: str = "ben") -> dict:
    return node.json("exchange", "send", document["id"], "--to", to, "--as", as_)


def _package_of(node: LocalNode, transmission: str) -> dict:
    found = [p for p in node.json("federation", "packages", "--as", node.officer)
             if p["transmission"] == transmission]
    assert len(found) == 1, found
    return found[0]


def _stored(node: LocalNode) -> dict[str, int]:
    counts = {table: node.count(table) for table in STORED}
    counts["blobs"] = len(list((node.var / "blobs").glob("*"))) \
        if (node.var / "blobs").exists() else 0
    counts["incoming"] = len(list((node.var / "federation" / "incoming").glob("*"))) \
        if (node.var / "federation" / "incoming").exists() else 0
    return counts


def _visible_titles(node: LocalNode, user: str) -> set[str]:
    return {d["title"] for d in node.json("exchange", "list", "--as", user, "--limit", "200")
            ["items"]}


# --------------------------------------------------------------------------- send, receive, receipt


def test_send_receive_receipt(nodes, tmp_path):
    uk, jp = nodes
    payload = os.urandom(300_000)
    document = _document(uk, tmp_path, attachment=payload)
    sent = _send(uk, document)
    assert _package_of(uk, sent["id"])["state"] == "queued"

    delivered = uk.run("node", "deliver").stdout
    assert "receipted" in delivered

    # The UK node holds the Japan node's signed receipt, and counts the transmission received.
    package = _package_of(uk, sent["id"])
    assert package["state"] == "receipted" and package["attempts"] == 0
    transmission = uk.json("exchange", "transmissions", "--as", "ben")
    assert next(t for t in transmission if t["id"] == sent["id"])["acknowledged_at"]
    (receipt,) = uk.sql("SELECT receipt FROM federation_outboundpackage WHERE id = %s",
                        _db_uuid(uk, package["id"]))
    fields, signature = pkg.read_document(bytes(receipt[0]), "receipt")
    jp_identity, _ = pkg.read_document(jp.identity.read_bytes(), "identity")
    pkg.verify_document(fields, signature, "receipt", _ed25519(jp_identity["signing_key"]))
    (item,) = fields["items"]
    assert (item["document"], item["version"], item["protected_as"]) == (
        document["id"], 1, "JPN/GOKUHI")

    # On the Japan node: the copy is under the originator's label, readable by the cleared
    # recipient and not by the uncleared one, body and file intact.
    shown = jp.json("exchange", "show", document["id"], "--as", "kenji")
    assert shown["label"].startswith("GBR/SECRET|rel=GBR,JPN")
    assert shown["body"] == document["body"]
    (attachment,) = shown["attachments"]
    out = tmp_path / "downloaded.bin"
    jp.run("exchange", "download", attachment["id"], "--out", str(out), "--as", "kenji")
    assert out.read_bytes() == payload
    assert document["title"] not in _visible_titles(jp, "yuki")  # HI: not cleared for SECRET
    register = jp.json("exchange", "register", "--as", "kenji")
    assert any(r["document"] == document["id"] and r["transmission"] == sent["id"]
               for r in register)
    # Both audit chains are whole.
    for node in (uk, jp):
        assert node.run("audit", "verify").stdout.startswith("OK")


def test_the_receiver_never_needs_the_senders_private_keys(nodes, tmp_path):
    uk, jp = nodes
    document = _document(uk, tmp_path)
    sent = _send(uk, document)
    package = _package_of(uk, sent["id"])
    exported = tmp_path / "package.pkg"
    uk.run("federation", "export-package", package["id"], "--out", str(exported), "--as", "alice")

    # No key file of one node is in the other's key directory.
    def secrets(node: LocalNode) -> set[bytes]:
        return {p.read_bytes() for p in (node.var / "keys").rglob("*") if p.is_file()
                and p.suffix in {".key"}}
    assert secrets(uk) and secrets(jp) and not secrets(uk) & secrets(jp)
    # The package opens with the Japan node's keys alone, and not with the UK node's own.
    opened = pkg.Package(exported)
    opened.verify(_ed25519(_identity_key(uk)))
    opened.check_parts()
    with pytest.raises(pkg.PackageError, match="sealed for another node"):
        opened.open(DirectoryKeyring(uk.var / "keys").open_sealed_for_node)
    opened.open(DirectoryKeyring(jp.var / "keys").open_sealed_for_node)
    assert opened.manifest()["transmission"]["id"] == sent["id"]
    # The package says nothing classified in clear: no title, no body.
    raw = exported.read_bytes()
    assert document["title"].encode() not in raw and b"sapphire" not in raw
    uk.run("node", "deliver")


# --------------------------------------------------------------------------- reliability


def test_a_node_down_during_sending_receives_the_package_after_restart_once(nodes, tmp_path):
    uk, jp = nodes
    jp.stop()
    try:
        document = _document(uk, tmp_path, attachment=os.urandom(50_000))
        sent = _send(uk, document)
        assert "retry" in uk.run("node", "deliver").stdout
        waiting = _package_of(uk, sent["id"])
        assert waiting["state"] == "queued" and waiting["attempts"] == 1
        assert "refused" in waiting["last_error"].lower() or waiting["last_error"]
    finally:
        jp.start()
    before = _stored(jp)
    uk.run("federation", "retry", waiting["id"], "--as", "alice")
    assert "receipted" in uk.run("node", "deliver").stdout
    assert _package_of(uk, sent["id"])["state"] == "receipted"
    after = _stored(jp)
    assert after["exchange_document"] == before["exchange_document"] + 1
    assert after["federation_inboundpackage"] == before["federation_inboundpackage"] + 1
    assert jp.count("exchange_document") == len(
        jp.sql("SELECT DISTINCT id FROM exchange_document"))


def test_the_outbox_worker_delivers_when_the_partner_comes_back(nodes, tmp_path):
    uk, jp = nodes
    uk.stop()
    uk.start(worker=True, interval=0.2)
    try:
        jp.stop()
        document = _document(uk, tmp_path)
        sent = _send(uk, document)
        _until(lambda: _package_of(uk, sent["id"])["attempts"] >= 2, "two failed attempts")
        assert _package_of(uk, sent["id"])["state"] == "queued"
        jp.start()
        _until(lambda: _package_of(uk, sent["id"])["state"] == "receipted", "the receipt")
        assert document["title"] in _visible_titles(jp, "kenji")
        assert len(jp.sql("SELECT id FROM exchange_transmission WHERE id = %s",
                          _db_uuid(jp, sent["id"]))) == 1
    finally:
        uk.stop()
        uk.start()
        if jp.server is None:
            jp.start()


def test_a_lost_receipt_is_asked_again_and_the_package_stored_once(nodes, tmp_path):
    """The Japan node stored the package but its answer never reached the UK (here: the file
    went by courier and its receipt was not brought back): delivering again over HTTPS gets the
    same receipt back, and nothing is stored twice."""
    uk, jp = nodes
    document = _document(uk, tmp_path, attachment=os.urandom(10_000))
    sent = _send(uk, document)
    package = _package_of(uk, sent["id"])
    exported = tmp_path / "courier.pkg"
    uk.run("federation", "export-package", package["id"], "--out", str(exported), "--as", "alice")
    receipt = tmp_path / "receipt.json"
    jp.run("federation", "import-package", str(exported), "--receipt-out", str(receipt), "--as",
           "haruka")
    before = _stored(jp)
    assert "receipted" in uk.run("node", "deliver").stdout
    assert _stored(jp) == before
    (stored,) = uk.sql("SELECT receipt FROM federation_outboundpackage WHERE id = %s",
                       _db_uuid(uk, package["id"]))
    assert bytes(stored[0]) == receipt.read_bytes()


def test_the_same_package_arriving_twice_at_once_is_stored_once(nodes, tmp_path):
    """A sender that timed out retries while its first, slow delivery is still being stored:
    both deliveries get the one receipt, and one copy is kept."""
    uk, jp = nodes
    document = _document(uk, tmp_path, attachment=os.urandom(16 * 1024 * 1024))
    sent = _send(uk, document)
    exported = tmp_path / "twice.pkg"
    uk.run("federation", "export-package", _package_of(uk, sent["id"])["id"], "--out",
           str(exported), "--as", "alice")
    data, before = exported.read_bytes(), _stored(jp)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: _post(uk, jp, data), range(2)))
    assert [status for status, _ in answers] == [200, 200]
    assert answers[0][1] == answers[1][1]
    after = _stored(jp)
    assert after["exchange_document"] == before["exchange_document"] + 1
    assert after["federation_inboundpackage"] == before["federation_inboundpackage"] + 1
    uk.run("node", "deliver")
    assert _package_of(uk, sent["id"])["state"] == "receipted"


def test_an_interrupted_upload_leaves_nothing_on_the_receiver(nodes, tmp_path):
    uk, jp = nodes
    document = _document(uk, tmp_path, attachment=os.urandom(200_000))
    sent = _send(uk, document)
    exported = tmp_path / "cut.pkg"
    uk.run("federation", "export-package", _package_of(uk, sent["id"])["id"], "--out",
           str(exported), "--as", "alice")
    before = _stored(jp)
    data = exported.read_bytes()
    _post(uk, jp, data[: len(data) // 2], declared=len(data))
    # The receiver notices the connection gone and throws the half it had away.
    time.sleep(1)
    _until(lambda: _stored(jp)["incoming"] == 0, "the partial upload to be removed")
    assert _stored(jp) == before
    assert jp.server is not None and jp.server.poll() is None
    uk.run("node", "deliver")


def test_either_node_killed_mid_transfer_loses_nothing_and_stores_once(nodes, tmp_path):
    """Kill the sender's delivery process while it uploads, then kill the receiving node while
    it receives: whatever moment each died at, delivering again ends with the partner's receipt
    and exactly one copy, intact."""
    uk, jp = nodes
    payload = os.urandom(24 * 1024 * 1024)
    document = _document(uk, tmp_path, attachment=payload)
    sent = _send(uk, document)
    package = _package_of(uk, sent["id"])
    incoming = jp.var / "federation" / "incoming"

    def uploading() -> bool:
        return incoming.exists() and any(incoming.iterdir())

    before = _stored(jp)
    sender = uk.spawn("node", "deliver")  # killed mid-upload
    _until(lambda: uploading() or sender.poll() is not None, "the upload to start")
    sender.kill()
    sender.wait()

    # (Unless the first delivery won the race and is receipted already: then nothing to retry.)
    uk.run("federation", "retry", package["id"], "--as", "alice", check=False)
    delivering = uk.spawn("node", "deliver")
    _until(lambda: uploading() or delivering.poll() is not None, "the upload to start again")
    jp.kill()  # the receiving node dies mid-transfer (or just after: either way)
    delivering.wait()
    jp.start()

    for _ in range(5):
        if _package_of(uk, sent["id"])["state"] == "receipted":
            break
        uk.run("federation", "retry", package["id"], "--as", "alice", check=False)
        uk.run("node", "deliver")
    assert _package_of(uk, sent["id"])["state"] == "receipted"
    after = _stored(jp)
    assert after["exchange_document"] == before["exchange_document"] + 1
    assert after["federation_inboundpackage"] == before["federation_inboundpackage"] + 1
    assert after["exchange_transmission"] == before["exchange_transmission"] + 1
    out = tmp_path / "intact.bin"
    attachment = jp.json("exchange", "show", document["id"], "--as", "kenji")["attachments"][0]
    jp.run("exchange", "download", attachment["id"], "--out", str(out), "--as", "kenji")
    assert out.read_bytes() == payload
    assert jp.run("audit", "verify").stdout.startswith("OK")


# --------------------------------------------------------------------------- refusals


def test_tampered_replayed_unknown_and_misaddressed_packages_are_refused(nodes, tmp_path):
    uk, jp = nodes
    document = _document(uk, tmp_path)
    sent = _send(uk, document)
    exported = tmp_path / "good.pkg"
    package = _package_of(uk, sent["id"])
    uk.run("federation", "export-package", package["id"], "--out", str(exported), "--as", "alice")
    good = exported.read_bytes()
    before = _stored(jp)

    tampered = bytearray(good)
    tampered[len(good) // 3] ^= 0x01
    status, body = _post(uk, jp, bytes(tampered))
    assert status == 422 and b"altered" in body

    # Signed by a node Japan does not know (sent over the UK's own TLS connection).
    stranger = DirectoryKeyring(tmp_path / "stranger")
    forged = _forge(uk, jp, tmp_path, signer=stranger)
    status, body = _post(uk, jp, forged)
    assert status == 422 and b"Unknown sender" in body

    # Addressed (and sealed) to another node.
    status, body = _post(uk, jp, _forge(uk, jp, tmp_path, recipient=stranger))
    assert status == 422 and b"addressed to another node" in body

    # A length the node cannot hold itself to is refused before anything is read.
    assert _post(uk, jp, b"x", declared=-1)[0] == 411

    # A stranger cannot even connect: its TLS certificate is not a partner's.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        _post(uk, jp, good, client=stranger)

    assert _stored(jp) == before

    # The real package is received once; the same bytes again get the same receipt; the same
    # package id with other content is a replay.
    first = _post(uk, jp, good)
    assert first[0] == 200
    stored_once = _stored(jp)
    assert _post(uk, jp, good) == first
    replay = _forge(uk, jp, tmp_path, package_id=uuid.UUID(package["id"]))
    status, body = _post(uk, jp, replay)
    assert status == 422 and b"Replay" in body
    assert _stored(jp) == stored_once
    refusals = jp.sql("SELECT reason FROM security_auditevent WHERE action = %s AND "
                      "allowed = %s", "package.receive", False)
    reasons = " ".join(r[0] for r in refusals)
    for expected in ("altered", "Unknown sender", "addressed to another node", "Replay"):
        assert expected in reasons
    uk.run("node", "deliver")


# --------------------------------------------------------------------------- originator control


def test_requests_travel_to_the_originator_and_decisions_come_back(nodes, tmp_path):
    uk, jp = nodes
    document = _document(uk, tmp_path, attachment=b"annex")
    _send(uk, document)
    uk.run("node", "deliver")

    # Kenji, on the Japan node, asks for release to Australia: only the UK may decide.
    asked = jp.json("exchange", "request-release", document["id"], "--to", "AUS", "--reason",
                    "Trilateral seeker trial", "--as", "kenji")
    refused_here = jp.run("exchange", "decide", "release", asked["id"], "--approve", "--as",
                          "haruka", check=False)
    assert refused_here.returncode == 1  # not the originator's authority: not found
    assert "receipted" in jp.run("node", "deliver").stdout
    waiting = [r for r in uk.json("exchange", "requests", "--as", "alice")
               if r["id"] == asked["id"]]
    assert waiting and waiting[0]["state"] == "submitted"

    uk.json("exchange", "decide", "release", asked["id"], "--approve", "--note", "Agreed",
            "--as", "alice")
    assert "receipted" in uk.run("node", "deliver").stdout
    decided = next(r for r in jp.json("exchange", "requests", "--as", "kenji")
                   if r["id"] == asked["id"])
    assert decided["state"] == "approved"
    on_uk = uk.json("exchange", "show", document["id"], "--as", "ben")
    on_jp = jp.json("exchange", "show", document["id"], "--as", "kenji")
    assert on_uk["label"] == on_jp["label"] and "AUS" in on_jp["label"]
    assert on_uk["version"] == on_jp["version"] == 2
    assert [v["label"] for v in on_jp["versions"]] == [v["label"] for v in on_uk["versions"]]
    assert on_jp["body"] == document["body"]
    assert [a["sha256"] for a in on_jp["attachments"]] == [a["sha256"]
                                                           for a in on_uk["attachments"]]

    # A downgrade refused on the UK node is refused on the Japan node too, label unchanged.
    asked = jp.json("exchange", "request-downgrade", document["id"], "--to",
                    "OFFICIAL-SENSITIVE", "--reason", "Published at a conference", "--as",
                    "kenji")
    jp.run("node", "deliver")
    uk.json("exchange", "decide", "downgrade", asked["id"], "--refuse", "--note", "Not yet",
            "--as", "alice")
    uk.run("node", "deliver")
    decided = next(r for r in jp.json("exchange", "requests", "--as", "kenji")
                   if r["id"] == asked["id"])
    assert decided["state"] == "refused"
    assert jp.json("exchange", "show", document["id"], "--as", "kenji")["version"] == 2

    # Withdrawn on the Japan node after it reached the UK: the UK's authority is told, and it
    # no longer waits there for a decision.
    asked = jp.json("exchange", "request-downgrade", document["id"], "--to",
                    "OFFICIAL-SENSITIVE", "--reason", "Asked again", "--as", "kenji")
    jp.run("node", "deliver")
    assert jp.json("exchange", "withdraw", "downgrade", asked["id"], "--as",
                   "kenji")["state"] == "withdrawn"
    assert "receipted" in jp.run("node", "deliver").stdout
    on_uk = next(r for r in uk.json("exchange", "requests", "--as", "alice")
                 if r["id"] == asked["id"])
    assert on_uk["state"] == "withdrawn"
    late = uk.run("exchange", "decide", "downgrade", asked["id"], "--approve", "--as", "alice",
                  check=False)
    assert late.returncode == 2 and "withdrawn" in late.stderr


# --------------------------------------------------------------------------- offline and logs


def test_offline_courier_transfer_works_the_same(nodes, tmp_path):
    uk, jp = nodes
    payload = os.urandom(120_000)
    document = _document(uk, tmp_path, attachment=payload)
    sent = _send(uk, document)
    package = _package_of(uk, sent["id"])
    carried = tmp_path / "courier.pkg"
    uk.run("federation", "export-package", package["id"], "--out", str(carried), "--as", "alice")
    receipt = tmp_path / "receipt.json"
    received = jp.json("federation", "import-package", str(carried), "--receipt-out",
                       str(receipt), "--as", "haruka")
    assert received["channel"] == "file" and not received["duplicate"]
    again = tmp_path / "receipt-again.json"
    assert jp.json("federation", "import-package", str(carried), "--receipt-out", str(again),
                   "--as", "haruka")["duplicate"]
    assert again.read_bytes() == receipt.read_bytes()
    # Only the Japan node's security authority may import packages.
    assert jp.run("federation", "import-package", str(carried), "--receipt-out",
                  str(tmp_path / "r3.json"), "--as", "kenji", check=False).returncode == 1

    stored = uk.json("federation", "import-receipt", str(receipt), "--as", "alice")
    assert stored["state"] == "receipted" and stored["id"] == package["id"]
    out = tmp_path / "file.bin"
    attachment = jp.json("exchange", "show", document["id"], "--as", "kenji")["attachments"][0]
    jp.run("exchange", "download", attachment["id"], "--out", str(out), "--as", "kenji")
    assert out.read_bytes() == payload


def test_transfer_logs_reconcile(nodes, tmp_path):
    uk, jp = nodes
    for node in (uk, jp):
        node.run("node", "deliver")
    agreed = uk.json("federation", "reconcile", "JPN", "--as", "alice")
    assert agreed["serious"] == 0 and not agreed["findings"], agreed
    # A package on its way is found in transit, from either side's log.
    document = _document(uk, tmp_path)
    sent = _send(uk, document)
    findings = uk.json("federation", "reconcile", "JPN", "--as", "alice")["findings"]
    assert [(f["package"], f["finding"]) for f in findings] == [
        (_package_of(uk, sent["id"])["id"], "in-transit")]
    their_log = tmp_path / "uk.log.json"
    uk.run("federation", "log", "JPN", "--out", str(their_log), "--as", "alice")
    seen_from_japan = jp.json("federation", "reconcile", "GBR", "--from", str(their_log), "--as",
                              "haruka")["findings"]
    assert [f["finding"] for f in seen_from_japan] == ["waiting-there"]
    uk.run("node", "deliver")
    assert not uk.json("federation", "reconcile", "JPN", "--as", "alice")["findings"]


# --------------------------------------------------------------------------- helpers


def _until(condition, what: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _db_uuid(node: LocalNode, value: str) -> str:
    """How the node's database spells a UUID: hex on SQLite, a uuid on PostgreSQL."""
    return value if not node.database_url.startswith("sqlite") else uuid.UUID(value).hex


def _ed25519(hex_key: str):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(hex_key))


def _identity_key(node: LocalNode) -> str:
    return pkg.read_document(node.identity.read_bytes(), "identity")[0]["signing_key"]


def _client_context(node: LocalNode, server: LocalNode, client: DirectoryKeyring | None = None
                    ) -> ssl.SSLContext:
    ring = client or DirectoryKeyring(node.var / "keys")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cadata=pkg.read_document(
        server.identity.read_bytes(), "identity")[0]["tls_certificate"])
    context.load_cert_chain(*ring.tls_credentials())
    return context


def _post(sender: LocalNode, receiver: LocalNode, body: bytes, *, declared: int | None = None,
          client: DirectoryKeyring | None = None) -> tuple[int, bytes]:
    url = urlsplit(receiver.env["ENTENTE_FEDERATION_ENDPOINT"])
    conn = http.client.HTTPSConnection(url.hostname or "127.0.0.1", url.port, timeout=30,
                                       context=_client_context(sender, receiver, client))
    try:
        conn.putrequest("POST", "/federation/v1/packages")
        conn.putheader("Content-Length", str(declared if declared is not None else len(body)))
        conn.endheaders()
        conn.send(body if declared is None or declared >= 0 else b"")
        if declared is not None and declared > len(body):
            return 0, b""  # the sender goes away half-way through (closed below)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _forge(sender: LocalNode, receiver: LocalNode, tmp_path: Path, *,
           signer: DirectoryKeyring | None = None, recipient: DirectoryKeyring | None = None,
           package_id: uuid.UUID | None = None) -> bytes:
    """A well-formed transmission package, signed by ``signer`` (default: the sender node's own
    key) and sealed to ``recipient`` (default: the receiving node)."""
    sender_ring = DirectoryKeyring(sender.var / "keys")
    signer = signer or sender_ring
    receiver_ring = recipient or DirectoryKeyring(receiver.var / "keys")
    document_id, now = uuid.uuid4(), dt.datetime.now(dt.UTC)
    manifest = {
        "transmission": {"id": str(uuid.uuid4()), "sender": {"username": "ben", "name": "Ben",
                                                             "organisation": "gbr-des"},
                         "sender_organisation": "gbr-des", "recipient": "jpn-atla",
                         "channel": "in_system", "reference": "", "sent_at": now.isoformat()},
        "documents": [{"id": str(document_id), "owner": "gbr-des", "title_en": "Forged",
                       "title_ja": "", "summary_en": "", "summary_ja": "",
                       "version": {"number": 1, "label": "GBR/OFFICIAL|rel=GBR,JPN",
                                   "note": "", "content_sha256": "0" * 64,
                                   "body": f"body:{document_id}", "files": []}}],
    }
    path = tmp_path / f"forged-{uuid.uuid4().hex}.pkg"
    with path.open("wb") as file:
        pkg.write(file, package_id=package_id or uuid.uuid4(), kind="transmission",
                  created_at=now,
                  sender=pkg.Address(sender.nation, pkg.fingerprint(signer.signing_public_key())),
                  recipient=pkg.Address(receiver.nation,
                                        pkg.fingerprint(receiver_ring.signing_public_key())),
                  recipient_key=receiver_ring.agreement_public_key(), manifest=manifest,
                  parts=[(f"body:{document_id}", lambda: _bytes(b"forged body"))],
                  sign=signer.sign)
    return path.read_bytes()


def _bytes(data: bytes):
    import io

    return io.BytesIO(data)

