"""JSON API of the federation, for this node's security authority: this node's identity, the
partner nodes, the packages sent and received, files for courier carriage, receipts and the
transfer logs. Refusals are 422 with a sentence; anything the caller may not administer is 404.

(The node-to-node protocol itself is not here: partners speak to ``entente node serve`` over
mutually authenticated HTTPS, see ``federation.transport``.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import UUID4, Field

from entente.core.api_support import MAX_PAGE, NOT_FOUND, check_page, failing
from entente.federation import selectors, services
from entente.federation.models import InboundPackage, OutboundPackage, Partner
from entente.federation.package import PackageError, grouped
from entente.security.selectors import NotFound

router = Router(tags=["federation"])


class Problem(Schema):
    detail: str


class NodeOut(Schema):
    nation: str
    name: str
    fingerprint: str
    fingerprint_grouped: str
    endpoint: str


class PartnerOut(Schema):
    nation: str
    name: str
    fingerprint: str
    fingerprint_grouped: str
    endpoint: str
    active: bool
    imported_at: dt.datetime
    imported_by: str | None


class PartnerIn(Schema):
    identity: str = Field(description="The partner's identity file, as its text.",
                          max_length=1_000_000)
    fingerprint: str = Field(description="The fingerprint the partner's security authority "
                                         "read out (at least its first 32 hex digits).",
                             max_length=200)
    replace_keys: bool = False


class SentOut(Schema):
    id: UUID4
    partner: str
    kind: str
    transmission: UUID4 | None
    subject: str
    created_at: dt.datetime
    size: int
    state: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str
    exported_at: dt.datetime | None
    receipted_at: dt.datetime | None
    receipt_sha256: str


class ReceivedOut(Schema):
    id: UUID4
    partner: str
    kind: str
    transmission: UUID4 | None
    subject: str
    created_at: dt.datetime
    received_at: dt.datetime
    channel: str
    receipt_sha256: str


class DiscrepancyOut(Schema):
    package: str
    kind: str
    finding: str
    here: str
    there: str


class ReconcileOut(Schema):
    partner: str
    findings: list[DiscrepancyOut]
    serious: int


class ReconcileIn(Schema):
    log: str = Field("", description="The partner's signed transfer log, as its text; empty: "
                                     "fetch it from the partner's node over HTTPS.",
                     max_length=64_000_000)


def node_out() -> dict[str, Any]:
    address = services.own_address()
    return {"nation": address.nation, "name": settings.NODE_NAME, "fingerprint": address.key,
            "fingerprint_grouped": grouped(address.key),
            "endpoint": settings.FEDERATION_ENDPOINT}


def partner_out(partner: Partner) -> dict[str, Any]:
    return {"nation": partner.nation_id, "name": partner.name, "fingerprint": partner.fingerprint,
            "fingerprint_grouped": grouped(partner.fingerprint), "endpoint": partner.endpoint,
            "active": partner.active, "imported_at": partner.imported_at,
            "imported_by": partner.imported_by.username if partner.imported_by else None}


def sent_out(package: OutboundPackage) -> dict[str, Any]:
    return {"id": package.id, "partner": package.partner_id, "kind": package.kind,
            "transmission": package.transmission_id, "subject": package.subject_id,
            "created_at": package.created_at, "size": package.size, "state": package.state,
            "attempts": package.attempts, "next_attempt_at": package.next_attempt_at,
            "last_error": package.last_error, "exported_at": package.exported_at,
            "receipted_at": package.receipted_at, "receipt_sha256": package.receipt_sha256}


def received_out(package: InboundPackage) -> dict[str, Any]:
    return {"id": package.id, "partner": package.partner_id, "kind": package.kind,
            "transmission": package.transmission_id, "subject": package.subject_id,
            "created_at": package.created_at, "received_at": package.received_at,
            "channel": package.channel, "receipt_sha256": package.receipt_sha256}


def reconcile_out(partner: Partner, found: list[services.Discrepancy]) -> dict[str, Any]:
    return {"partner": partner.nation_id,
            "findings": [vars(d) for d in found],
            "serious": sum(d.finding in services.SERIOUS for d in found)}


def _not_found() -> HttpError:
    return HttpError(404, NOT_FOUND)


@router.get("/federation/node", response={200: NodeOut, 404: Problem},
            summary="This node: nation, fingerprint, endpoint")
def node(request: HttpRequest) -> Any:
    try:
        services.require_authority(request.user, "node.view")
    except NotFound:
        raise _not_found() from None
    return node_out()


@router.get("/federation/identity", response={200: None, 404: Problem},
            summary="This node's signed identity file, for the partner's security authority")
def identity(request: HttpRequest) -> Any:
    try:
        services.require_authority(request.user, "identity.export")
    except NotFound:
        raise _not_found() from None
    response = HttpResponse(services.identity_document(), content_type="application/json")
    response["Content-Disposition"] = (f'attachment; filename="entente-node-'
                                       f'{settings.NODE_NATION}.identity.json"')
    return response


@router.get("/federation/partners", response={200: list[PartnerOut], 404: Problem})
def partners(request: HttpRequest) -> Any:
    try:
        return [partner_out(p) for p in selectors.partners_for(request.user)]
    except NotFound:
        raise _not_found() from None


@router.post("/federation/partners", response={201: PartnerOut, 404: Problem, 422: Problem},
             summary="Import a partner node's identity file, checked against its fingerprint")
def import_partner(request: HttpRequest, payload: PartnerIn) -> Any:
    try:
        partner = services.import_partner(actor=request.user, raw=payload.identity.encode(),
                                          fingerprint=payload.fingerprint,
                                          replace_keys=payload.replace_keys)
    except NotFound:
        raise _not_found() from None
    except (services.FederationError, PackageError) as exc:
        raise failing(exc) from None
    return 201, partner_out(partner)


@router.post("/federation/partners/{nation}/suspend",
             response={200: PartnerOut, 404: Problem})
def suspend(request: HttpRequest, nation: str) -> Any:
    return _set_active(request, nation, False)


@router.post("/federation/partners/{nation}/activate",
             response={200: PartnerOut, 404: Problem})
def activate(request: HttpRequest, nation: str) -> Any:
    return _set_active(request, nation, True)


def _set_active(request: HttpRequest, nation: str, active: bool) -> Any:
    try:
        partner = selectors.partner_for(request.user, nation)
        return partner_out(services.set_partner_active(actor=request.user, partner=partner,
                                                       active=active))
    except NotFound:
        raise _not_found() from None


@router.get("/federation/partners/{nation}/log", response={200: None, 404: Problem},
            summary="This node's signed transfer log with a partner")
def transfer_log(request: HttpRequest, nation: str) -> Any:
    try:
        partner = selectors.partner_for(request.user, nation)
    except NotFound:
        raise _not_found() from None
    return HttpResponse(services.transfer_log(partner, actor=request.user),
                        content_type="application/json")


@router.post("/federation/partners/{nation}/reconcile",
             response={200: ReconcileOut, 404: Problem, 422: Problem},
             summary="Compare the transfer logs of both nodes")
def reconcile(request: HttpRequest, nation: str, payload: ReconcileIn) -> Any:
    from entente.federation.transport import TransportError, fetch_log

    try:
        partner = selectors.partner_for(request.user, nation)
        remote = payload.log.encode() if payload.log else fetch_log(partner)
        return reconcile_out(partner, services.reconcile(actor=request.user, partner=partner,
                                                         remote=remote))
    except NotFound:
        raise _not_found() from None
    except (services.FederationError, PackageError, TransportError) as exc:
        raise failing(exc) from None


@router.get("/federation/packages/sent", response={200: list[SentOut], 404: Problem, 422: Problem})
def sent(request: HttpRequest, state: str = "",
         offset: int = Query(0), limit: int = Query(50)) -> Any:
    check_page(offset, limit)
    try:
        return [sent_out(p) for p in selectors.sent_for(request.user, state=state)
                [offset:offset + limit]]
    except NotFound:
        raise _not_found() from None


@router.get("/federation/packages/received",
            response={200: list[ReceivedOut], 404: Problem, 422: Problem})
def received(request: HttpRequest, offset: int = Query(0),
             limit: int = Query(50)) -> Any:
    check_page(offset, limit)
    try:
        return [received_out(p) for p in selectors.received_for(request.user)
                [offset:offset + limit]]
    except NotFound:
        raise _not_found() from None


@router.get("/federation/packages/sent/{package_id}", response={200: SentOut, 404: Problem})
def sent_package(request: HttpRequest, package_id: str) -> Any:
    try:
        return sent_out(selectors.sent_package_for(request.user, package_id))
    except NotFound:
        raise _not_found() from None


@router.post("/federation/packages/sent/{package_id}/retry",
             response={200: SentOut, 404: Problem, 422: Problem})
def retry(request: HttpRequest, package_id: str) -> Any:
    try:
        package = selectors.sent_package_for(request.user, package_id)
        return sent_out(services.retry_now(actor=request.user, queued=package))
    except NotFound:
        raise _not_found() from None
    except services.FederationError as exc:
        raise failing(exc) from None


@router.post("/federation/packages/sent/{package_id}/export",
             response={200: None, 404: Problem, 422: Problem},
             summary="The package file, for carriage on courier media (recorded and audited)")
def package_file(request: HttpRequest, package_id: str) -> Any:
    try:
        package = selectors.sent_package_for(request.user, package_id)
        with services.exported_file(actor=request.user, queued=package) as path:
            handle = path.open("rb")
    except NotFound:
        raise _not_found() from None
    except services.FederationError as exc:
        raise failing(exc) from None
    return FileResponse(handle, as_attachment=True, filename=package.file_name,
                        content_type="application/vnd.entente.package")


@router.post("/federation/packages/import",
             response={200: None, 404: Problem, 422: Problem},
             summary="Receive a package that came on courier media; answers its signed receipt",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {
                     "schema": {"type": "string", "format": "binary"}}}}})
def import_package(request: HttpRequest) -> Any:
    try:
        received = services.import_package(actor=request.user, source=request)
    except NotFound:
        raise _not_found() from None
    except services.FederationError as exc:
        raise failing(exc) from None
    response = HttpResponse(received.receipt, content_type="application/json")
    response["X-Entente-Duplicate"] = "1" if received.duplicate else "0"
    return response


class ReceiptIn(Schema):
    receipt: str = Field(description="The partner's signed receipt, as its text.",
                         max_length=1_000_000)


@router.post("/federation/receipts", response={200: SentOut, 404: Problem, 422: Problem},
             summary="Store a partner's signed receipt (of a package carried on courier media)")
def import_receipt(request: HttpRequest, payload: ReceiptIn) -> Any:
    try:
        package = services.import_receipt(actor=request.user, raw=payload.receipt.encode())
    except NotFound:
        raise _not_found() from None
    except (services.FederationError, PackageError) as exc:
        raise failing(exc) from None
    return sent_out(package)


__all__ = ["MAX_PAGE", "router"]
