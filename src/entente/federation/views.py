"""Server-rendered pages of the federation, for a security officer of this node's national security
authority: this node and its partner nodes, the packages sent and received, files carried on
courier media (packages out, packages in with their receipts, receipts back) and the
reconciliation of both nodes' transfer logs.

Every page asks the kernel first (``services.require_authority``, through the selectors or
directly): anyone else gets the same 404 as for a page that does not exist, before any input is
looked at. Every change is a service and a POST (CSRF-checked); errors a person can act on
(``FederationError``, ``PackageError``, ``TransportError``) are shown on the form that was sent,
which keeps what was typed (the page then answers 400).
"""

from __future__ import annotations

import functools
import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from entente.federation import selectors, services
from entente.federation.api import node_out
from entente.federation.forms import (
    MAX_IDENTITY_BYTES,
    MAX_LOG_BYTES,
    MAX_RECEIPT_BYTES,
    LogFileForm,
    PackageFileForm,
    PartnerImportForm,
    ReceiptFileForm,
    SentFilterForm,
    read_upload,
)
from entente.federation.models import (
    InboundPackage,
    OutboundPackage,
    OutboundState,
    PackageKind,
    Partner,
)
from entente.federation.package import PackageError, grouped
from entente.security import kernel
from entente.security.pages import not_found_is_404

PAGE_SIZE = 50

# What each finding of a reconciliation means, and what to do about it (codes: services.reconcile).
FINDINGS: dict[str, Promise] = {
    "in-transit": gettext_lazy(
        "Waiting here to be delivered and not yet received there. It will be delivered when "
        "the partner's node can be reached, or carry it on courier media."),
    "receipt-lost": gettext_lazy(
        "Received there, but the partner's receipt never came back here. Delivering the package "
        "again brings the same receipt back (retry it)."),
    "missing-there": gettext_lazy(
        "Receipted here, but the partner's log does not list it. A package receipted by the "
        "partner must be on its record: ask its security authority."),
    "content-differs": gettext_lazy(
        "The two logs hold different content for the same package: it was altered or replaced "
        "on the way or on one side. Investigate with the partner's security authority."),
    "unknown-here": gettext_lazy(
        "The partner holds a receipt from this node for a package this node has no record of "
        "receiving. Investigate with the partner's security authority."),
    "waiting-there": gettext_lazy(
        "The partner's node has a package for this node that is still waiting to be delivered."),
}

# The states the two logs report a package in (Discrepancy.here and .there).
LOG_STATES: dict[str, Promise] = {
    **{state.value: state.label for state in OutboundState},
    "received": gettext_lazy("received"),
    "no record": gettext_lazy("no record"),
}


# --------------------------------------------------------------------------- navigation


def node_authority(user: Any) -> bool:
    """Whether the navigation offers this user the federation pages (``kernel.is_node_authority``,
    not audited: every page view would write an event). The pages themselves ask the kernel's
    audited decision."""
    return bool(getattr(user, "is_authenticated", False)) and kernel.is_node_authority(
        user, settings.NODE_NATION)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Context processor (``TEMPLATES … context_processors``): ``may_administer_node``, worked out
    only if a template asks for it, once per request."""
    user = getattr(request, "user", None)
    return {"may_administer_node": functools.cache(lambda: node_authority(user))}


# --------------------------------------------------------------------------- helpers


def _show(request: HttpRequest, template: str, context: dict[str, Any],
          *forms: Any) -> HttpResponse:
    """Render a page; one of its forms with errors makes it a 400 (the form keeps its input)."""
    status = 400 if any(form is not None and form.errors for form in forms) else 200
    return render(request, f"federation/{template}", context, status=status)


def _page(request: HttpRequest, total: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    try:
        page = min(max(1, int(request.GET.get("page", "1"))), pages)
    except ValueError:
        page = 1
    return page, pages


def _paged(request: HttpRequest, rows: QuerySet[Any]) -> dict[str, Any]:
    total = rows.count()
    page, pages = _page(request, total)
    start = (page - 1) * PAGE_SIZE
    return {"rows": list(rows[start:start + PAGE_SIZE]), "total": total, "page": page,
            "pages": pages, "previous": page - 1 if page > 1 else None,
            "next": page + 1 if page < pages else None}


def _partner(request: HttpRequest, nation: str) -> Partner:
    with not_found_is_404():
        return selectors.partner_for(request.user, nation)


def _sent(request: HttpRequest, package_id: str) -> OutboundPackage:
    with not_found_is_404():
        return selectors.sent_package_for(request.user, package_id)


def _received(request: HttpRequest, package_id: str) -> InboundPackage:
    with not_found_is_404():
        return selectors.received_package_for(request.user, package_id)


def _require(request: HttpRequest, what: str) -> None:
    with not_found_is_404():
        services.require_authority(request.user, what)


def _attachment(content: bytes, filename: str, content_type: str = "application/json"
                ) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --------------------------------------------------------------------------- this node, partners


def _home(request: HttpRequest, form: PartnerImportForm | None = None) -> HttpResponse:
    _require(request, "node.view")
    with not_found_is_404():
        partners = list(selectors.partners_for(request.user))
    return _show(request, "home.html", {
        "node": node_out(), "partners": [(p, grouped(p.fingerprint)) for p in partners],
        "form": form or PartnerImportForm(),
    }, form)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home(request)


@require_GET
def identity_download(request: HttpRequest) -> HttpResponse:
    _require(request, "identity.export")
    return _attachment(services.identity_document(),
                       f"entente-node-{settings.NODE_NATION}.identity.json")


@require_POST
def partner_import(request: HttpRequest) -> HttpResponse:
    _require(request, "partner.import")
    form = PartnerImportForm(request.POST, request.FILES)
    if form.is_valid():
        raw = read_upload(form.cleaned_data["identity"], MAX_IDENTITY_BYTES)
        if raw is None:
            form.add_error("identity", _("An identity file is at most %(limit)s bytes.")
                           % {"limit": f"{MAX_IDENTITY_BYTES:,}"})
        else:
            try:
                with not_found_is_404():
                    partner = services.import_partner(
                        actor=request.user, raw=raw, fingerprint=form.cleaned_data["fingerprint"],
                        replace_keys=form.cleaned_data["replace_keys"])
            except (services.FederationError, PackageError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("%(nation)s's node (%(name)s) is now a partner of "
                                            "this node; fingerprint %(fingerprint)s.")
                                 % {"nation": partner.nation_id, "name": partner.name,
                                    "fingerprint": grouped(partner.fingerprint)})
                return redirect("federation:home")
    return _home(request, form)


@require_POST
def partner_state(request: HttpRequest, nation: str, action: str) -> HttpResponse:
    if action not in ("suspend", "activate"):
        raise Http404
    partner = _partner(request, nation)
    with not_found_is_404():
        services.set_partner_active(actor=request.user, partner=partner,
                                    active=action == "activate")
    if action == "activate":
        text = _("%(nation)s's node is active again: packages travel to and from it.")
    else:
        text = _("%(nation)s's node is suspended: nothing is sent to it or accepted from it.")
    messages.success(request, text % {"nation": partner.nation_id})
    return redirect("federation:home")


@require_GET
def partner_log(request: HttpRequest, nation: str) -> HttpResponse:
    partner = _partner(request, nation)
    return _attachment(services.transfer_log(partner, actor=request.user),
                       f"entente-log-{settings.NODE_NATION}-for-{partner.nation_id}.json")


# --------------------------------------------------------------------------- packages


@require_GET
def sent_list(request: HttpRequest) -> HttpResponse:
    form = SentFilterForm(request.GET)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    with not_found_is_404():
        packages = selectors.sent_for(request.user, state=state)
    return _show(request, "sent_list.html", {"form": form, **_paged(request, packages)})


@require_GET
def received_list(request: HttpRequest) -> HttpResponse:
    with not_found_is_404():
        packages = selectors.received_for(request.user)
    return _show(request, "received_list.html", _paged(request, packages))


@require_GET
def sent_detail(request: HttpRequest, package_id: str) -> HttpResponse:
    package = _sent(request, package_id)
    return _show(request, "sent_detail.html", {
        "package": package, "queued": package.state == OutboundState.QUEUED,
        "refused": package.state == OutboundState.REFUSED,
        "receipted": package.state == OutboundState.RECEIPTED})


@require_POST
def sent_retry(request: HttpRequest, package_id: str) -> HttpResponse:
    package = _sent(request, package_id)
    try:
        with not_found_is_404():
            services.retry_now(actor=request.user, queued=package)
    except services.FederationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The package will be delivered at the next round."))
    return redirect("federation:sent", package.pk)


@require_POST
def sent_file(request: HttpRequest, package_id: str) -> HttpResponseBase:
    """The package file, for courier media. A POST: it is recorded as exported (and audited)."""
    package = _sent(request, package_id)
    try:
        with not_found_is_404(), services.exported_file(actor=request.user,
                                                        queued=package) as path:
            handle = path.open("rb")
    except services.FederationError as exc:
        messages.error(request, str(exc))
        return redirect("federation:sent", package.pk)
    return FileResponse(handle, as_attachment=True, filename=package.file_name,
                        content_type="application/vnd.entente.package")


@require_GET
def received_detail(request: HttpRequest, package_id: str) -> HttpResponse:
    return _show(request, "received_detail.html",
                 {"package": _received(request, package_id)})


@require_GET
def received_receipt(request: HttpRequest, package_id: str) -> HttpResponse:
    """The signed receipt this node gave for a package, to carry back to its sender."""
    package = _received(request, package_id)
    return _attachment(bytes(package.receipt), f"{package.pk.hex}.receipt.json")


# --------------------------------------------------------------------------- courier media


def _courier(request: HttpRequest, package_form: PackageFileForm | None = None,
             receipt_form: ReceiptFileForm | None = None) -> HttpResponse:
    return _show(request, "courier.html", {
        "package_form": package_form or PackageFileForm(),
        "receipt_form": receipt_form or ReceiptFileForm()}, package_form, receipt_form)


@require_GET
def courier(request: HttpRequest) -> HttpResponse:
    _require(request, "package.import")
    return _courier(request)


@require_POST
def courier_package(request: HttpRequest) -> HttpResponse:
    _require(request, "package.import")
    form = PackageFileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            with not_found_is_404(), form.cleaned_data["package"].plaintext() as source:
                received = services.import_package(actor=request.user, source=source)
        except services.FederationError as exc:
            form.add_error("package", str(exc))
        else:
            if received.duplicate:
                messages.info(request, _("This package was received before: nothing changed, "
                                         "and its receipt is the same as then."))
            else:
                messages.success(request, _("Package received from %(nation)s's node. Download "
                                            "its signed receipt and send it back.")
                                 % {"nation": received.package.partner_id})
            return redirect("federation:received", received.package.pk)
    return _courier(request, package_form=form)


@require_POST
def courier_receipt(request: HttpRequest) -> HttpResponse:
    _require(request, "receipt.import")
    form = ReceiptFileForm(request.POST, request.FILES)
    if form.is_valid():
        raw = read_upload(form.cleaned_data["receipt"], MAX_RECEIPT_BYTES)
        if raw is None:
            form.add_error("receipt", _("A receipt file is at most %(limit)s bytes.")
                           % {"limit": f"{MAX_RECEIPT_BYTES:,}"})
        else:
            try:
                with not_found_is_404():
                    package = services.import_receipt(actor=request.user, raw=raw)
            except (services.FederationError, PackageError) as exc:
                form.add_error("receipt", str(exc))
            else:
                messages.success(request, _("Receipt stored: %(nation)s's node received the "
                                            "package on %(when)s.")
                                 % {"nation": package.partner_id,
                                    "when": package.receipted_at.strftime("%Y-%m-%d %H:%M %Z")
                                    if package.receipted_at else "—"})
                return redirect("federation:sent", package.pk)
    return _courier(request, receipt_form=form)


# --------------------------------------------------------------------------- reconciliation


def _reconcile_page(request: HttpRequest, partner: Partner, *, form: LogFileForm | None = None,
                    findings: list[services.Discrepancy] | None = None, error: str = "",
                    source: str = "") -> HttpResponse:
    kinds = dict(PackageKind.choices)
    rows = [{"finding": d, "serious": d.finding in services.SERIOUS,
             "kind": kinds.get(d.kind, d.kind),
             "explanation": FINDINGS.get(d.finding, d.finding),
             "here": LOG_STATES.get(d.here, d.here), "there": LOG_STATES.get(d.there, d.there)}
            for d in findings or []]
    response = render(request, "federation/reconcile.html", {
        "partner": partner, "form": form or LogFileForm(), "error": error, "source": source,
        "compared": findings is not None, "rows": rows,
        "serious": sum(r["serious"] for r in rows)})
    if error or (form is not None and form.errors):
        response.status_code = 400
    return response


@require_GET
def reconcile(request: HttpRequest, nation: str) -> HttpResponse:
    return _reconcile_page(request, _partner(request, nation))


@require_POST
def reconcile_fetch(request: HttpRequest, nation: str) -> HttpResponse:
    """Fetch the partner's signed log from its node over HTTPS, and compare."""
    from entente.federation.transport import TransportError, fetch_log

    partner = _partner(request, nation)
    _require(request, "log.reconcile")
    try:
        remote = fetch_log(partner)
        with not_found_is_404():
            found = services.reconcile(actor=request.user, partner=partner, remote=remote)
    except TransportError as exc:
        return _reconcile_page(request, partner, error=_(
            "The partner's node could not be reached: %(error)s") % {"error": exc})
    except (services.FederationError, PackageError) as exc:
        return _reconcile_page(request, partner, error=str(exc))
    return _reconcile_page(request, partner, findings=found, source="https")


@require_POST
def reconcile_upload(request: HttpRequest, nation: str) -> HttpResponse:
    """Compare with the partner's signed log, uploaded (it came by courier or by mail)."""
    partner = _partner(request, nation)
    _require(request, "log.reconcile")
    form = LogFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _reconcile_page(request, partner, form=form)
    raw = read_upload(form.cleaned_data["log"], MAX_LOG_BYTES)
    if raw is None:
        form.add_error("log", _("A transfer log file is at most %(limit)s bytes.")
                       % {"limit": f"{MAX_LOG_BYTES:,}"})
        return _reconcile_page(request, partner, form=form)
    try:
        with not_found_is_404():
            found = services.reconcile(actor=request.user, partner=partner, remote=raw)
    except (services.FederationError, PackageError) as exc:
        form.add_error("log", str(exc))
        return _reconcile_page(request, partner, form=form)
    return _reconcile_page(request, partner, findings=found, source="file")

