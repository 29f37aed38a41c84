"""Industry security: requests for visit between the two nations' sites.

Facility security clearances are the kernel's data (``security.FacilityClearance``: the kernel caps
the people of a company or university at their organisation's best valid one); this app grants,
revokes and lists them through its services and selectors, it does not define them again.

A ``VisitRequest`` is a person of one nation asking to visit a site of an organisation of the
other. It is a protected record like any other: its label is chosen by the requester (and must be
releasable to both nations), its owner is the visitor's organisation, and every read goes through
the kernel. Its life: submitted → assured (the visitor's own security authority confirms the
visitor's clearance) → approved or refused (by the host nation's security authority); the visitor
may withdraw it before a decision.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from entente.core.models import Organisation
from entente.security.models import Classification, Protected


class VisitKind(models.TextChoices):
    ONE_TIME = "one_time", _("One-time visit")
    RECURRING = "recurring", _("Recurring visits")
    EMERGENCY = "emergency", _("Emergency visit")
    # A staff or academic exchange (exercises.StaffExchange): a long stay at the host, with the
    # same clearance check; requested through the exchange's own service, never as a visit.
    EXCHANGE = "exchange", _("Staff or academic exchange")


class VisitState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ASSURED = "assured", _("Clearance assured")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# States from which no further step is possible.
CLOSED_STATES: tuple[str, ...] = (VisitState.APPROVED, VisitState.REFUSED, VisitState.WITHDRAWN)


class VisitRequest(Protected):
    """A request for visit. ``label`` protects the request itself (who goes where, when and why);
    ``level`` is the highest marking, of the host nation's scheme, of the information the visitor
    is to be given access to during the visit."""

    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="visit_requests", verbose_name=_("visitor"))
    host = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                             related_name="visits_hosted", verbose_name=_("host organisation"))
    site = models.CharField(_("site"), max_length=200)
    kind = models.CharField(_("kind of visit"), max_length=12, choices=VisitKind.choices)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    purpose = models.TextField(_("purpose"))
    emergency_reason = models.TextField(_("why the visit is an emergency"), blank=True)
    level = models.ForeignKey(Classification, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("level of information to be accessed"))
    project = models.ForeignKey("cooperation.Project", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+", verbose_name=_("project"))
    state = models.CharField(_("state"), max_length=12, choices=VisitState.choices,
                             default=VisitState.SUBMITTED)
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    # The clearance assurance: who confirmed it, when, and what they confirmed.
    assured_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("assured by"))
    assured_at = models.DateTimeField(_("assured"), null=True, blank=True)
    assured_level = models.ForeignKey(Classification, on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="+",
                                      verbose_name=_("clearance assured"))
    assured_until = models.DateField(_("clearance valid until"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason = models.TextField(_("reason for the decision"), blank=True)
    # An approval holds for a year at most: a longer recurring visit is reviewed each year by
    # the host's security authority, which moves this date on by a year.
    approved_until = models.DateField(_("approved until"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=F("first_day")),
                                   name="visit_ends_after_it_starts"),
        ]
        indexes = [
            models.Index(fields=["-requested_at", "id"], name="visit_listing"),
            models.Index(fields=["state", "first_day", "last_day"], name="visit_by_day"),
        ]
        verbose_name = _("request for visit")
        verbose_name_plural = _("requests for visit")

    def __str__(self) -> str:
        return f"visit {self.pk} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1
