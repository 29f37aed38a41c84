"""Reads of the federation's records. Partners, packages and transfer logs are for this node's
security authority (``services.require_authority``, the kernel's decision); a transmission's
delivery is read with the transmission, by whoever may see that (``delivery_of``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from entente.exchange.models import Transmission
from entente.federation.models import InboundPackage, OutboundPackage, Partner
from entente.federation.services import require_authority
from entente.security.kernel import Action
from entente.security.selectors import NotFound, not_found, parse_id


def partners_for(user: Any) -> QuerySet[Partner]:
    require_authority(user, "partner.list")
    return Partner.objects.select_related("imported_by").order_by("nation_id")


def partner_for(user: Any, nation: str) -> Partner:
    require_authority(user, "partner.view")
    found = Partner.objects.filter(nation_id=str(nation).upper()[:3]).first()
    if found is None:
        raise not_found(user, Action.VIEW, "federation.partner", nation)
    return found


def sent_for(user: Any, *, state: str = "") -> QuerySet[OutboundPackage]:
    require_authority(user, "package.list")
    packages = OutboundPackage.objects.select_related("partner", "transmission")
    return packages.filter(state=state) if state else packages


def received_for(user: Any) -> QuerySet[InboundPackage]:
    require_authority(user, "package.list")
    return InboundPackage.objects.select_related("partner", "transmission")


def sent_package_for(user: Any, package_id: Any) -> OutboundPackage:
    require_authority(user, "package.view")
    pk = parse_id(package_id)
    found = OutboundPackage.objects.select_related("partner").filter(pk=pk).first() if pk \
        else None
    if found is None:
        raise not_found(user, Action.VIEW, "federation.outboundpackage", package_id)
    return found


def received_package_for(user: Any, package_id: Any) -> InboundPackage:
    require_authority(user, "package.view")
    pk = parse_id(package_id)
    found = InboundPackage.objects.select_related("partner").filter(pk=pk).first() if pk \
        else None
    if found is None:
        raise not_found(user, Action.VIEW, "federation.inboundpackage", package_id)
    return found


# A transmission's journey between nodes is read with the transmission: the caller has read it
# through the exchange's selector, which decided who may.

def with_deliveries(transmissions: QuerySet[Transmission]) -> QuerySet[Transmission]:
    """Transmissions with their packages fetched in one more query (for lists)."""
    return transmissions.prefetch_related("packages")


def delivery_of(transmission: Transmission) -> OutboundPackage | None:
    """The package that carries a transmission to a partner's node, if it travels as one (the
    newest, should it ever have been sent again); prefetched packages are used as they are."""
    return max(transmission.packages.all(), key=lambda p: p.created_at, default=None)


def arrival_of(transmission: Transmission) -> InboundPackage | None:
    """The package a transmission arrived in from a partner's node, if it did."""
    return InboundPackage.objects.filter(transmission=transmission).select_related(
        "partner").first()


__all__ = ["NotFound", "arrival_of", "delivery_of", "partner_for", "partners_for",
           "received_for", "received_package_for", "sent_for", "sent_package_for",
           "with_deliveries"]
