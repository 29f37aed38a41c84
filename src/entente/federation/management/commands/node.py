"""``entente node``: this node as one member of a federation of national nodes (operator jobs).

    entente node init                     keys of this node (signing, key agreement, TLS), KEKs
    entente node status                   nation, fingerprint, partners, outbox
    entente node identity --out FILE      the identity file the partner's authority imports
    entente node serve --port 8443        the partners' HTTPS endpoint (mutual TLS), and the
                                          outbox delivered every few seconds
    entente node deliver [--loop]         deliver the outbox once (cron) or until stopped
    entente node sweep                    remove package files a crash left behind
    entente node demo                     a UK node and a Japan node on local ports, a document
                                          sent from one to the other, received and receipted

Actions of the security authority (importing partners, package files, reconciling logs) are
``entente federation … --as USER``.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from entente import demo
from entente.federation import services, transport
from entente.federation.localnode import LocalNode
from entente.federation.models import OutboundPackage, OutboundState, Partner
from entente.federation.package import grouped
from entente.security import audit
from entente.security.keystore import keyring


class Command(BaseCommand):
    help = "This node in a federation of national nodes: keys, identity, serving, delivery, demo."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("init", help="create this node's keys where missing")
        sub.add_parser("status", help="this node, its partners and its outbox")
        sub.add_parser("fingerprint", help="this node's fingerprint, as JSON")
        p = sub.add_parser("identity", help="write this node's signed identity file")
        p.add_argument("--out", type=Path, help="file to write (default: standard output)")
        p.add_argument("--endpoint", default=None,
                       help="https://host:port partners reach this node at (default: "
                            "ENTENTE_FEDERATION_ENDPOINT)")
        p = sub.add_parser("serve", help="serve partner nodes over mutually authenticated HTTPS")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8443)
        p.add_argument("--port-file", type=Path, help="write the port here once listening")
        p.add_argument("--no-worker", action="store_true", help="do not deliver the outbox")
        p.add_argument("--interval", type=float, default=5.0,
                       help="seconds between deliveries of the outbox")
        p = sub.add_parser("deliver", help="deliver the packages that are due")
        p.add_argument("--loop", action="store_true", help="keep delivering until stopped")
        p.add_argument("--interval", type=float, default=5.0)
        sub.add_parser("sweep", help="remove package files a crash left behind")
        p = sub.add_parser("seed-demo", help="(used by `node demo`) this nation's demo data")
        p = sub.add_parser("demo", help="two nodes on local ports; a document sent, received "
                                        "and receipted")
        p.add_argument("--base-port", type=int, default=8100,
                       help="UK pages on this port, Japan's on the next; their federation "
                            "endpoints on +443 and +444")
        p.add_argument("--no-serve", action="store_true",
                       help="stop once the document is receipted")

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        with audit.source("cli"):
            getattr(self, "do_" + verb.replace("-", "_"))(**options)

    # -- one node -------------------------------------------------------------------------

    def do_init(self, **_: Any) -> None:
        call_command("keys", "init", stdout=self.stdout)
        ring = keyring()
        ring.agreement_public_key()
        ring.tls_credentials()
        self.stdout.write(f"Node of {settings.NODE_NATION}; fingerprint "
                          f"{grouped(services.own_address().key)}")

    def do_fingerprint(self, **_: Any) -> None:
        address = services.own_address()
        self.stdout.write(json.dumps({"nation": address.nation, "fingerprint": address.key,
                                      "grouped": grouped(address.key)}))

    def do_status(self, **_: Any) -> None:
        address = services.own_address()
        self.stdout.write(f"Node of {address.nation} ({settings.NODE_NAME})\n"
                          f"  fingerprint {grouped(address.key)}\n"
                          f"  endpoint    {settings.FEDERATION_ENDPOINT or '(none set)'}")
        for partner in Partner.objects.order_by("nation_id"):
            queued = OutboundPackage.objects.filter(partner=partner, state=OutboundState.QUEUED)
            self.stdout.write(f"  partner {partner.nation_id} {'active' if partner.active else 'SUSPENDED'}"
                              f" {partner.endpoint or '(files only)'}; {queued.count()} queued")

    def do_identity(self, out: Path | None, endpoint: str | None, **_: Any) -> None:
        document = services.identity_document(endpoint)
        if out is None:
            self.stdout.write(document.decode())
            return
        out.write_bytes(document)
        self.stdout.write(f"Wrote {out}; fingerprint {grouped(services.own_address().key)} "
                          "(read it to the partner's security authority).")

    def do_serve(self, host: str, port: int, port_file: Path | None, no_worker: bool,
                 interval: float, **_: Any) -> None:
        def ready(bound: int) -> None:
            self.stdout.write(f"Serving partners on https://{host}:{bound}/ (mutual TLS)"
                              + ("" if no_worker else f"; delivering every {interval:g} s"))
            self.stdout.flush()

        with contextlib.suppress(KeyboardInterrupt):
            transport.serve(host, port, worker=not no_worker, interval=interval,
                            port_file=port_file, ready=ready)

    def do_deliver(self, loop: bool, interval: float, **_: Any) -> None:
        while True:
            services.sweep_files()
            for delivery in services.deliver_due():
                self.stdout.write(f"{delivery.package.id} → {delivery.package.partner_id}: "
                                  f"{delivery.outcome} {delivery.detail}".rstrip())
            if not loop:
                return
            time.sleep(interval)

    def do_sweep(self, **_: Any) -> None:
        removed = services.sweep_files()
        self.stdout.write(f"Removed {len(removed)} file(s)." + "".join(
            f"\n  {name}" for name in removed))

    def do_seed_demo(self, **_: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.do_init()
        created = demo.seed_node(settings.NODE_NATION)
        self.stdout.write("Demo data " + ("created." if created else "already present."))

    # -- two nodes --------------------------------------------------------------------------

    def do_demo(self, base_port: int, no_serve: bool, **_: Any) -> None:
        root = Path(settings.VAR_DIR) / "nodes"
        uk = LocalNode("GBR", root, officer="alice", federation_port=base_port + 443,
                       ENTENTE_DEBUG="1", ENTENTE_INSECURE_COOKIES="1")
        jp = LocalNode("JPN", root, officer="haruka", federation_port=base_port + 444,
                       ENTENTE_DEBUG="1", ENTENTE_INSECURE_COOKIES="1")
        pages: list[subprocess.Popen[bytes]] = []
        try:
            for node in (uk, jp):
                self.stdout.write(f"== preparing the {node.nation} node in {node.var}")
                node.prepare()
            # In life each fingerprint is read out between the two authorities.
            uk.trust(jp)
            jp.trust(uk)
            for node, port in ((uk, base_port), (jp, base_port + 1)):
                node.start(worker=True, interval=1)
                pages.append(node.spawn("runserver", f"127.0.0.1:{port}", "--noreload"))
            document = uk.json("exchange", "list", "--as", "ben")["items"][0]
            sent = uk.json("exchange", "send", document["id"], "--to", "jpn-atla", "--channel",
                           "secure_network", "--as", "ben")
            self.stdout.write(f"== ben (UK node) sent “{document['title']}” to ATLA: "
                              f"transmission {sent['id']}")
            receipt = self._await_receipt(uk, sent["id"])
            self.stdout.write(f"== the Japan node received it and signed a receipt at "
                              f"{receipt['receipted_at']}")
            seen = jp.json("exchange", "list", "--as", "kenji")["items"]
            self.stdout.write("== kenji (ATLA, Japan node) sees: "
                              + "; ".join(d["title"] for d in seen))
            if no_serve:
                return
            self.stdout.write(
                f"\nUK node:    http://127.0.0.1:{base_port}/  (alice, ben; partners reach it on "
                f"https://127.0.0.1:{uk.federation_port}/)\n"
                f"Japan node: http://127.0.0.1:{base_port + 1}/  (haruka, kenji; partners reach "
                f"it on https://127.0.0.1:{jp.federation_port}/)\n"
                f"Password {demo.DEMO_PASSWORD}; TOTP as in the README; logs in {root}/*/serve.log."
                "\nCtrl-C stops both nodes.")
            while all(p.poll() is None for p in pages):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            for page in pages:
                page.send_signal(signal.SIGINT)
                page.wait()
            uk.close()
            jp.close()

    def _await_receipt(self, node: LocalNode, transmission: str, timeout: float = 60
                       ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for package in node.json("federation", "packages", "--as", node.officer):
                if package["transmission"] == transmission and package["state"] == "receipted":
                    return dict(package)
            time.sleep(1)
        raise CommandError(f"No receipt within a minute: see {node.var}/serve.log.")
