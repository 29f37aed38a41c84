"""``entente federation``: the security authority's side of the federation, as a named user.

    entente federation partners --as alice
    entente federation import-partner JPN.identity.json --fingerprint '3f2a 9c01 …' --as alice
    entente federation suspend JPN --as alice            (and: activate JPN)
    entente federation packages --as alice [--received] [--state queued]
    entente federation retry PACKAGE_ID --as alice
    entente federation export-package PACKAGE_ID --out FILE --as alice     (courier media)
    entente federation import-package FILE --receipt-out FILE --as haruka
    entente federation import-receipt FILE --as alice
    entente federation log JPN --out FILE --as alice     (this node's signed transfer log)
    entente federation reconcile JPN [--from FILE] --as alice

Every subcommand is a decision of the kernel (a security officer of this nation's authority)
and is audited; ``--as``, ``--json``, ``--language`` are DomainCommand's.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from entente.core.commands import DomainCommand, Subcommand
from entente.federation import api, selectors, services
from entente.federation.models import OutboundState
from entente.federation.package import PackageError, grouped


class Command(DomainCommand):
    help = ("The federation as a named user (a security officer of this nation's authority): "
            "partner nodes, packages, courier files, receipts and transfer logs.")
    errors = (services.FederationError, PackageError)
    api_json = True

    def add_subcommands(self, verb: Subcommand) -> None:
        verb("partners", "the partner nodes this node knows")
        p = verb("import-partner", "trust a partner node: import its identity file")
        p.add_argument("file", type=Path)
        p.add_argument("--fingerprint", required=True,
                       help="as read out by the partner's security authority")
        p.add_argument("--replace-keys", action="store_true",
                       help="the partner is known with other keys: replace them")
        for name, what in (("suspend", "send nothing to a partner, accept nothing from it"),
                           ("activate", "take a suspended partner back")):
            p = verb(name, what)
            p.add_argument("nation")
        p = verb("packages", "packages sent (or --received) and their state")
        p.add_argument("--received", action="store_true")
        p.add_argument("--state", default="", choices=["", *OutboundState.values])
        p.add_argument("--limit", type=int, default=50)
        p = verb("retry", "deliver a waiting package at the next round, not after back-off")
        p.add_argument("package")
        p = verb("export-package", "write a package file for courier media")
        p.add_argument("package")
        p.add_argument("--out", type=Path, required=True)
        p = verb("import-package", "receive a package file that came on courier media")
        p.add_argument("file", type=Path)
        p.add_argument("--receipt-out", type=Path, required=True,
                       help="where to write the signed receipt, to send back")
        p = verb("import-receipt", "store the partner's receipt of a package sent as a file")
        p.add_argument("file", type=Path)
        p = verb("log", "write this node's signed transfer log with a partner")
        p.add_argument("nation")
        p.add_argument("--out", type=Path, required=True)
        p = verb("reconcile", "compare the transfer logs of this node and a partner")
        p.add_argument("nation")
        p.add_argument("--from", dest="source", type=Path,
                       help="the partner's log file (default: fetch it over HTTPS)")

    def do_partners(self, **_: Any) -> None:
        rows = [api.partner_out(p) for p in selectors.partners_for(self.user)]
        self.emit(rows, [("nation", "NATION"), ("name", "NAME"), ("fingerprint_grouped",
                                                                  "FINGERPRINT"),
                         ("endpoint", "ENDPOINT"), ("active", "ACTIVE")])

    def do_import_partner(self, file: Path, fingerprint: str, replace_keys: bool,
                          **_: Any) -> None:
        partner = services.import_partner(actor=self.user, raw=_read(file),
                                          fingerprint=fingerprint, replace_keys=replace_keys)
        self.emit(api.partner_out(partner),
                  text=f"Partner {partner.nation_id} ({partner.name}) imported; fingerprint "
                       f"{grouped(partner.fingerprint)}.")

    def do_suspend(self, nation: str, **_: Any) -> None:
        self._set_active(nation, False)

    def do_activate(self, nation: str, **_: Any) -> None:
        self._set_active(nation, True)

    def _set_active(self, nation: str, active: bool) -> None:
        partner = services.set_partner_active(
            actor=self.user, partner=selectors.partner_for(self.user, nation), active=active)
        self.emit(api.partner_out(partner), text=f"Partner {partner.nation_id}: "
                                                 f"{'active' if active else 'suspended'}.")

    def do_packages(self, received: bool, state: str, limit: int, **_: Any) -> None:
        if received:
            rows = [api.received_out(p) for p in selectors.received_for(self.user)[:limit]]
            self.emit(rows, [("id", "PACKAGE"), ("partner", "FROM"), ("kind", "KIND"),
                             ("received_at", "RECEIVED"), ("channel", "CHANNEL")])
            return
        rows = [api.sent_out(p) for p in selectors.sent_for(self.user, state=state)[:limit]]
        self.emit(rows, [("id", "PACKAGE"), ("partner", "TO"), ("kind", "KIND"),
                         ("state", "STATE"), ("attempts", "ATTEMPTS"),
                         ("receipted_at", "RECEIPTED"), ("last_error", "LAST ERROR")])

    def do_retry(self, package: str, **_: Any) -> None:
        queued = services.retry_now(actor=self.user,
                                    queued=selectors.sent_package_for(self.user, package))
        self.emit(api.sent_out(queued), text=f"{queued.id}: delivered at the next round.")

    def do_export_package(self, package: str, out: Path, **_: Any) -> None:
        queued = selectors.sent_package_for(self.user, package)
        # The file first: an export is on record only once there is somewhere to write it.
        with _new_file(out) as target, \
                services.exported_file(actor=self.user, queued=queued) as path, \
                path.open("rb") as source:
            shutil.copyfileobj(source, target, 1 << 20)
        self.emit({"package": str(queued.id), "file": str(out), "size": queued.size},
                  text=f"Wrote {out} ({queued.size:,} bytes), for {queued.partner_id}'s node.")

    def do_import_package(self, file: Path, receipt_out: Path, **_: Any) -> None:
        # Where the receipt goes first: a package must not be stored with nowhere to put it.
        with _new_file(receipt_out) as target, _opened(file) as source:
            received = services.import_package(actor=self.user, source=source)
            target.write(received.receipt)
        row = api.received_out(received.package)
        self.emit({**row, "duplicate": received.duplicate, "receipt": str(receipt_out)},
                  text=f"Received package {row['id']} from {row['partner']}"
                       + (" (already received: the same receipt again)" if received.duplicate
                          else "") + f"; receipt written to {receipt_out}.")

    def do_import_receipt(self, file: Path, **_: Any) -> None:
        stored = services.import_receipt(actor=self.user, raw=_read(file))
        self.emit(api.sent_out(stored), text=f"Package {stored.id}: receipted by "
                                             f"{stored.partner_id} at {stored.receipted_at}.")

    def do_log(self, nation: str, out: Path, **_: Any) -> None:
        partner = selectors.partner_for(self.user, nation)
        with _new_file(out) as target:
            target.write(services.transfer_log(partner, actor=self.user))
        self.emit({"partner": partner.nation_id, "file": str(out)},
                  text=f"Wrote this node's transfer log with {partner.nation_id} to {out}.")

    def do_reconcile(self, nation: str, source: Path | None, **_: Any) -> None:
        from entente.federation.transport import TransportError, fetch_log

        partner = selectors.partner_for(self.user, nation)
        try:
            remote = _read(source) if source else fetch_log(partner)
        except TransportError as exc:
            raise services.FederationError(str(exc)) from None
        found = services.reconcile(actor=self.user, partner=partner, remote=remote)
        result = api.reconcile_out(partner, found)
        self.emit(result["findings"] if not self.as_json else result,
                  [("package", "PACKAGE"), ("kind", "KIND"), ("finding", "FINDING"),
                   ("here", "HERE"), ("there", "THERE")] if found else None,
                  text=f"The transfer logs of this node and {partner.nation_id} agree.")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise services.FederationError(f"Cannot read {path}: {exc.strerror}.") from None


class _opened:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: Any = None

    def __enter__(self) -> Any:
        try:
            self.file = self.path.open("rb")
        except OSError as exc:
            raise services.FederationError(f"Cannot read {self.path}: {exc.strerror}.") from None
        return self.file

    def __exit__(self, *exc: object) -> None:
        self.file.close()


class _new_file(_opened):
    """A file that must not exist yet (never overwrite what an officer already holds); removed
    again if what was to be written into it failed."""

    def __enter__(self) -> Any:
        try:
            self.file = self.path.open("xb")
        except OSError as exc:
            raise services.FederationError(f"Cannot create {self.path}: {exc.strerror}.") \
                from None
        return self.file

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if exc[0] is not None:
            self.path.unlink(missing_ok=True)
