"""``entente exchange``: the classified exchange from the command line, acting as a named user.

    entente exchange list --as ben [--q TEXT] [--originator GBR] [--classification SECRET]
    entente exchange show DOCUMENT_ID --as ben [--version N]
    entente exchange create --as ben --label 'GBR/SECRET|rel=GBR,JPN' --title-en T --body-file F
    entente exchange download ATTACHMENT_ID --as ben --out PATH
    entente exchange send --as ben --to jpn-atla DOCUMENT_ID...

Every read is a selector and every change a service, so the kernel decides (and the audit log
records) exactly as for the web. ``--as``, ``--json``, ``--language`` and the exit statuses are
:class:`entente.core.commands.DomainCommand`'s.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import hashlib
import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils import timezone

from entente.core.cli_output import table, when
from entente.core.commands import DomainCommand, Subcommand
from entente.core.models import Organisation
from entente.exchange import selectors, services
from entente.exchange.api import delivery_out, holding_row
from entente.exchange.models import Channel, OriginatorRequest
from entente.exchange.services import ExchangeError, IncomingFile
from entente.security import audit, reference
from entente.security.kernel import Action
from entente.security.labels import LabelSpec, banner
from entente.security.selectors import NotFound


class Command(DomainCommand):
    help = ("The classified exchange as a named user: every subcommand takes --as USERNAME, and "
            "the kernel decides and the audit log records as for the web.")
    errors = (ExchangeError,)

    def add_subcommands(self, verb: Subcommand) -> None:
        p = verb("list", "documents you may view")
        p.add_argument("--q", default="", help="search text (English or Japanese)")
        p.add_argument("--originator", default="")
        p.add_argument("--classification", default="", help="a marking code, e.g. SECRET")
        p.add_argument("--limit", type=int, default=selectors.PAGE_SIZE)
        p = verb("show", "a document, its body, attachments and history")
        p.add_argument("document")
        p.add_argument("--version", type=int, default=None)
        p = verb("create", "a new document (version 1)")
        p.add_argument("--label", required=True, help="e.g. 'GBR/SECRET|rel=GBR,JPN'")
        for field in ("title-en", "title-ja", "summary-en", "summary-ja"):
            p.add_argument(f"--{field}", default="")
        p.add_argument("--body-file", type=Path, required=True)
        p.add_argument("--attach", type=Path, action="append", default=[])
        p = verb("add-version", "a new version of a document your organisation owns")
        p.add_argument("document")
        p.add_argument("--body-file", type=Path, required=True)
        p.add_argument("--note", default="")
        p.add_argument("--attach", type=Path, action="append", default=[])
        p.add_argument("--drop-attachments", action="store_true",
                       help="do not carry the previous version's attachments over")
        p = verb("download", "an attachment, decrypted, to a new file")
        p.add_argument("attachment")
        p.add_argument("--out", type=Path, required=True)
        p = verb("send", "send documents' current versions to an organisation of another nation")
        p.add_argument("documents", nargs="+")
        p.add_argument("--to", dest="recipient", required=True, metavar="ORG_CODE")
        p.add_argument("--channel", default=Channel.IN_SYSTEM, choices=Channel.values)
        p.add_argument("--reference", default="")
        p = verb("acknowledge", "confirm receipt of a transmission to your organisation")
        p.add_argument("transmission")
        p = verb("transmissions", "transmissions your organisation sent or received")
        p.add_argument("--overdue", action="store_true", help="only unacknowledged, overdue ones")
        p = verb("request-release", "ask the originator to release a document to a nation")
        p.add_argument("document")
        p.add_argument("--to", dest="target", required=True, metavar="NATION")
        p.add_argument("--reason", required=True)
        p = verb("request-downgrade", "ask the originator for a lower marking")
        p.add_argument("document")
        p.add_argument("--to", dest="target", required=True, metavar="MARKING")
        p.add_argument("--reason", required=True)
        verb("requests", "release and downgrade requests you made or must decide")
        p = verb("decide", "approve or refuse a request (originator's security authority)")
        p.add_argument("kind", choices=sorted(selectors.REQUEST_KINDS))
        p.add_argument("request")
        choice = p.add_mutually_exclusive_group(required=True)
        choice.add_argument("--approve", action="store_true")
        choice.add_argument("--refuse", action="store_true")
        p.add_argument("--note", default="")
        p = verb("withdraw", "withdraw a request you made that is still waiting")
        p.add_argument("kind", choices=sorted(selectors.REQUEST_KINDS))
        p.add_argument("request")
        p = verb("report-loss", "report a suspected loss or compromise")
        p.add_argument("documents", nargs="+")
        p.add_argument("--description", required=True)
        p = verb("register", "your organisation's register of classified holdings")
        p.add_argument("--csv", dest="csv_path", type=Path, default=None,
                       help="write it as CSV to a new file")
        p = verb("notifications", "your organisation's inbox")
        p.add_argument("--unread", action="store_true")

    # ------------------------------------------------------------------ output

    def _banner(self, label: Any) -> str:
        return banner(label, self.nation).text()

    def _document_row(self, document: Any, protection: Any = None) -> dict[str, Any]:
        return {"id": str(document.pk), "title": document.title, "title_en": document.title_en,
                "title_ja": document.title_ja, "label": document.label.canonical,
                "banner": banner(document.label, self.nation, protection=protection).text(),
                "owner": document.owner.code, "version": document.current_version,
                "compromised": document.compromised,
                "updated_at": when(document.updated_at)}

    # ------------------------------------------------------------------ documents

    def do_list(self, q: str, originator: str, classification: str, limit: int,
                **_: Any) -> None:
        if not 1 <= limit <= 200:
            raise ExchangeError("--limit must be between 1 and 200.")
        where = selectors.DocumentFilter(text=q, originator=originator,
                                         classification=classification)
        documents = selectors.visible_documents(self.user, where, limit=limit)
        protection = reference.protection(timezone.localdate())
        rows = [self._document_row(d, protection) for d in documents]
        count = selectors.count_visible_documents(self.user, where)
        if self.as_json:
            return self.emit({"count": count.value, "count_exact": count.exact, "items": rows})
        self.emit(rows, [("id", "ID"), ("banner", "MARKING"), ("version", "V"),
                         ("owner", "OWNER"), ("updated_at", "UPDATED"), ("title", "TITLE")])
        self.stdout.write(f"{len(rows)} of {count} document(s) you may view.")

    def do_show(self, document: str, version: int | None, **_: Any) -> None:
        found = selectors.document_for(self.user, document)
        if version is not None and version < 1:
            raise NotFound
        shown = selectors.version_for(self.user, found, version)
        attachments = [_attachment_row(a) for a in selectors.attachments_of(self.user, shown)]
        history = [{"number": v.number, "label": v.label.canonical, "note": v.note,
                    "created_by": v.created_by.username, "created_at": when(v.created_at)}
                   for v in selectors.versions_of(self.user, found)]
        data = {**self._document_row(found), "summary_en": found.summary_en,
                "summary_ja": found.summary_ja, "shown_version": shown.number,
                "shown_label": shown.label.canonical, "body": selectors.version_body(shown),
                "attachments": attachments, "versions": history}
        if self.as_json:
            return self.emit(data)
        mark = self._banner(shown.label)
        lines = [mark, "", f"{found.title}  ({found.pk})",
                 f"version {shown.number} of {found.current_version}; owner {found.owner.code}"
                 + ("; COMPROMISED (loss report)" if found.compromised else "")]
        lines += [s for s in (found.summary_en, found.summary_ja) if s]
        lines += ["", data["body"], ""]
        if attachments:
            lines += ["Attachments:", table(attachments, [("id", "ID"), ("size", "BYTES"),
                                                           ("filename", "FILE")]), ""]
        lines += ["History:", table(history, [("number", "V"), ("created_at", "WHEN"),
                                               ("created_by", "BY"), ("note", "NOTE")]),
                  "", mark]
        self.emit(data, text="\n".join(lines))

    def do_create(self, label: str, body_file: Path, attach: list[Path], **fields: Any) -> None:
        spec = LabelSpec.parse(label)
        with _attachments(attach) as files:
            try:
                document = services.create_document(
                    actor=self.user, label=spec, title_en=fields["title_en"],
                    title_ja=fields["title_ja"], summary_en=fields["summary_en"],
                    summary_ja=fields["summary_ja"], body=_read_text(body_file), files=files)
            except NotFound:
                raise ExchangeError("You may not create a document under this label (your "
                                    "clearance, nationality or communities do not cover it)."
                                    ) from None
        self._created(document, selectors.version_for(self.user, document, 1))

    def do_add_version(self, document: str, body_file: Path, note: str, attach: list[Path],
                       drop_attachments: bool, **_: Any) -> None:
        found = selectors.document_for(self.user, document, Action.EDIT)
        with _attachments(attach) as files:
            version = services.add_version(actor=self.user, document=found,
                                           body=_read_text(body_file), note=note, files=files,
                                           keep_attachments=not drop_attachments)
        self._created(found, version)

    def _created(self, document: Any, version: Any) -> None:
        attachments = [_attachment_row(a) for a in selectors.attachments_of(self.user, version)]
        data = {"id": str(document.pk), "version": version.number,
                "label": version.label.canonical, "attachments": attachments}
        text = [f"{document.pk} version {version.number} [{self._banner(version.label)}]"]
        text += [f"  attachment {a['id']}  {a['filename']} ({a['size']} bytes)"
                 for a in attachments]
        self.emit(data, text="\n".join(text))

    def do_download(self, attachment: str, out: Path, **_: Any) -> None:
        if out.exists():
            raise ExchangeError(f"{out} exists; not overwriting it.")
        found = selectors.attachment_for(self.user, attachment)
        part = out.with_name(out.name + ".part")
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ExchangeError(f"{part} exists (another download?); remove it first.") from None
        digest, chunks = hashlib.sha256(), selectors.attachment_plaintext(found)
        try:
            with os.fdopen(fd, "wb") as sink:
                for chunk in chunks:
                    digest.update(chunk)
                    sink.write(chunk)
                sink.flush()
                os.fsync(sink.fileno())
            if digest.hexdigest() != found.sha256:
                raise ExchangeError("The decrypted file does not match its recorded SHA-256.")
            _publish(part, out)
        finally:
            getattr(chunks, "close", lambda: None)()
            part.unlink(missing_ok=True)
        data = {**_attachment_row(found), "path": str(out), "label": found.label.canonical}
        self.emit(data, text=f"{out}: {found.size} bytes [{self._banner(found.label)}]")

    # ------------------------------------------------------------------ transmissions

    def do_send(self, documents: list[str], recipient: str, channel: str, reference: str,
                **_: Any) -> None:
        organisation = Organisation.objects.filter(code=recipient).first()
        if organisation is None:
            raise ExchangeError(f"Unknown organisation '{recipient}'.")
        chosen = [selectors.document_for(self.user, pk) for pk in documents]
        sent = services.transmit(actor=self.user, documents=chosen, recipient=organisation,
                                 channel=channel, reference=reference)
        self._transmission(sent)

    def do_acknowledge(self, transmission: str, **_: Any) -> None:
        found = selectors.transmission_for(self.user, transmission)
        self._transmission(services.acknowledge(actor=self.user, transmission=found))

    def _transmission_row(self, transmission: Any) -> dict[str, Any]:
        cutoff = timezone.now() - dt.timedelta(days=services.acknowledgement_days())
        items = [{"document": str(item.document_id_copy), "version": item.version_number,
                  "label": item.label_canonical, "content_sha256": item.content_sha256}
                 for item, _version in selectors.items_visible_to(self.user, transmission)]
        return {"id": str(transmission.pk), "sent_at": when(transmission.sent_at),
                "sender": transmission.sender.username,
                "from": transmission.sender_organisation.code,
                "to": transmission.recipient.code, "channel": transmission.channel,
                "reference": transmission.reference,
                "acknowledged_at": when(transmission.acknowledged_at),
                "overdue": transmission.acknowledged_at is None
                and transmission.sent_at < cutoff,
                "items": items, "delivery": _delivery_row(transmission)}

    def _transmission(self, transmission: Any) -> None:
        row = self._transmission_row(transmission)
        state = _delivery_text(row["delivery"]) if row["delivery"] \
            else f"acknowledged {row['acknowledged_at']}" if row["acknowledged_at"] \
            else "awaiting acknowledgement"
        self.emit(row, text=f"transmission {row['id']}: {row['from']} → {row['to']} "
                            f"({row['channel']}), {len(row['items'])} item(s), {state}")

    def do_transmissions(self, overdue: bool, **_: Any) -> None:
        queryset = (selectors.overdue_transmissions(self.user) if overdue
                    else selectors.transmissions_for(self.user))
        rows = [self._transmission_row(t) for t in queryset[:200]]
        for row in rows:
            row["n"] = len(row["items"])
            row["state"] = ("acknowledged" if row["acknowledged_at"]
                            else "OVERDUE" if row["overdue"] else "awaiting")
            row["delivery_state"] = _delivery_text(row["delivery"], short=True) \
                if row["delivery"] else "—"
        self.emit(rows, [("id", "ID"), ("sent_at", "SENT"), ("from", "FROM"), ("to", "TO"),
                         ("channel", "CHANNEL"), ("n", "ITEMS"), ("state", "RECEIPT"),
                         ("delivery_state", "DELIVERY")])

    # ------------------------------------------------------------------ originator control

    def do_request_release(self, document: str, target: str, reason: str, **_: Any) -> None:
        found = selectors.document_for(self.user, document)
        self._request(services.request_release(actor=self.user, document=found,
                                               to_nation=target, reason=reason))

    def do_request_downgrade(self, document: str, target: str, reason: str, **_: Any) -> None:
        found = selectors.document_for(self.user, document)
        self._request(services.request_downgrade(actor=self.user, document=found,
                                                 to_marking=target, reason=reason))

    def do_requests(self, **_: Any) -> None:
        made = selectors.requests_for(self.user, 200)
        self.emit([_request_row(r) for r in made],
                  [("kind", "KIND"), ("id", "ID"), ("document", "DOCUMENT"), ("target", "TO"),
                   ("state", "STATE"), ("requested_by", "BY"), ("requested_at", "ASKED")])

    def do_decide(self, kind: str, request: str, approve: bool, refuse: bool, note: str,
                  **_: Any) -> None:
        found = selectors.request_for(self.user, kind, request)
        self._request(services.decide_request(actor=self.user, request=found,
                                              approve=approve, note=note))

    def do_withdraw(self, kind: str, request: str, **_: Any) -> None:
        found = selectors.request_for(self.user, kind, request)
        self._request(services.withdraw_request(actor=self.user, request=found))

    def _request(self, request: OriginatorRequest) -> None:
        row = _request_row(request)
        self.emit(row, text=f"{row['kind']} request {row['id']} ({row['target']}): "
                            f"{row['state']}")

    # ------------------------------------------------------------------ loss, inbox, register

    def do_report_loss(self, documents: list[str], description: str, **_: Any) -> None:
        chosen = [selectors.document_for(self.user, pk) for pk in documents]
        report = services.report_loss(actor=self.user, documents=chosen,
                                      description=description)
        data = {"id": str(report.pk), "status": report.status,
                "documents": [str(d.pk) for d in chosen]}
        self.emit(data, text=f"loss report {report.pk}: {len(chosen)} document(s) flagged; "
                             "both national security authorities notified")

    def do_notifications(self, unread: bool, **_: Any) -> None:
        rows = [{"id": n.pk, "created_at": when(n.created_at), "kind": n.kind,
                 "object_type": n.object_type, "object_id": n.object_id,
                 "read": n.read_at is not None}
                for n in selectors.notifications_for(self.user, unread_only=unread)[:200]]
        self.emit(rows, [("id", "ID"), ("created_at", "WHEN"), ("kind", "KIND"),
                         ("object_type", "OBJECT"), ("object_id", "OBJECT ID"),
                         ("read", "READ")])

    def do_register(self, csv_path: Path | None, **_: Any) -> None:
        rows = [{**holding_row(h), "document": str(h.document_id),
                 "held_since": when(h.held_since),
                 "transmission": str(h.transmission_id) if h.transmission_id else None}
                for h in selectors.register_of(self.user)]
        if csv_path is None:
            return self.emit(rows, [("document", "DOCUMENT"), ("version", "V"),
                                    ("held_since", "HELD SINCE"),
                                    ("received_from", "FROM"), ("label", "LABEL"),
                                    ("title", "TITLE")])
        _write_csv(csv_path, rows)
        audit.record("register.export", actor=self.user, object_type="exchange.holding",
                     allowed=True, detail={"rows": len(rows)})
        self.emit({"path": str(csv_path), "rows": len(rows)},
                  text=f"{csv_path}: {len(rows)} holding(s)")


# ---------------------------------------------------------------------- helpers


def _attachment_row(attachment: Any) -> dict[str, Any]:
    return {"id": str(attachment.pk), "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size,
            "sha256": attachment.sha256}


def _delivery_row(transmission: Any) -> dict[str, Any] | None:
    """Its delivery to a partner nation's node, if it travels there as a package (as the API)."""
    delivery = delivery_out(transmission)
    if delivery is None:
        return None
    return {**delivery, "receipted_at": when(delivery["receipted_at"])}


def _delivery_text(delivery: dict[str, Any], *, short: bool = False) -> str:
    """``delivered to JPN's node, receipted …`` / ``waiting for JPN's node (attempt 3: …)`` /
    ``REFUSED by JPN's node: …``."""
    node = f"{delivery['partner']}'s node"
    if delivery["state"] == "receipted":
        return f"delivered to {node}" + ("" if short else
                                         f", signed receipt {delivery['receipted_at']}")
    if delivery["state"] == "refused":
        return f"REFUSED by {node}" + ("" if short else f": {delivery['last_error']}")
    waiting = f"waiting for {node}"
    if delivery["attempts"]:
        waiting += f" (attempt {delivery['attempts']}" + (
            ")" if short else f": {delivery['last_error']})")
    return waiting


def _request_row(request: OriginatorRequest) -> dict[str, Any]:
    return {"kind": request.kind, "id": str(request.pk), "document": str(request.document_id),
            "target": request.target, "state": request.state, "reason": request.reason,
            "requested_by": request.requested_by.username,
            "requested_by_name": request.requested_by_name,
            "requested_at": when(request.requested_at),
            "decided_by": request.decided_by.username if request.decided_by else None,
            "decided_at": when(request.decided_at), "decision_note": request.decision_note,
            "from_label": request.from_label.canonical,
            "result_label": request.result_label.canonical if request.result_label else None}


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExchangeError(f"Cannot read {path} as UTF-8 text: {exc}") from None


@contextlib.contextmanager
def _attachments(paths: list[Path]) -> Iterator[list[IncomingFile]]:
    """The files opened in binary, as streams the service encrypts while it reads them."""
    with contextlib.ExitStack() as stack:
        files = []
        for path in paths:
            try:
                stream = stack.enter_context(path.open("rb"))
            except OSError as exc:
                raise ExchangeError(f"Cannot open {path}: {exc.strerror}") from None
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            files.append(IncomingFile(path.name, kind, stream))
        yield files


def _publish(part: Path, out: Path) -> None:
    """Give the finished file its name, never replacing a file that appeared meanwhile."""
    try:
        os.link(part, out)
    except FileExistsError:
        raise ExchangeError(f"{out} exists; not overwriting it.") from None
    except OSError as exc:  # a file system without hard links: check, then rename
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP) or out.exists():
            raise
        part.rename(out)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = ["document", "title", "label", "version", "held_since", "transmission",
               "received_from"]
    try:
        with path.open("x", encoding="utf-8-sig", newline="") as sink:
            writer = csv.writer(sink)
            writer.writerow(columns)
            writer.writerows([[row[c] if row[c] is not None else "" for c in columns]
                              for row in rows])
    except FileExistsError:
        raise ExchangeError(f"{path} exists; not overwriting it.") from None
