"""Nations, organisations and people: who the kernel reasons about.

Nations and their organisations are reference data; a third nation arrives as data
(``entente reference load``), never as code.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

alpha3 = RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 3166 alpha-3 code such as GBR or JPN."))


def in_language(en: str, ja: str) -> str:
    """The text in the active language (English or Japanese), else the other one."""
    first, second = (ja, en) if (get_language() or "en").startswith("ja") else (en, ja)
    return first or second


class BilingualName(models.Model):
    """English and Japanese names; ``name`` follows the active language."""

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_ja = models.CharField(_("name (Japanese)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_language(self.name_en, self.name_ja)


class Nation(BilingualName):
    code = models.CharField(_("ISO 3166 alpha-3"), max_length=3, primary_key=True,
                            validators=[alpha3])

    class Meta:
        ordering = ["code"]
        verbose_name = _("nation")

    def __str__(self) -> str:
        return self.code


class OrganisationKind(models.TextChoices):
    NATIONAL_SECURITY_AUTHORITY = "nsa", _("National security authority")
    MINISTRY = "ministry", _("Ministry of defence")
    ACQUISITION_AGENCY = "acquisition", _("Acquisition agency")
    ARMED_SERVICE = "service", _("Armed service")
    COMPANY = "company", _("Company")
    UNIVERSITY = "university", _("University")


# Kinds whose people the kernel caps at the organisation's facility security clearance.
FACILITY_CLEARED_KINDS: tuple[str, ...] = (OrganisationKind.COMPANY, OrganisationKind.UNIVERSITY)


class Organisation(BilingualName):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="organisations")
    kind = models.CharField(_("kind"), max_length=16, choices=OrganisationKind.choices)

    class Meta:
        ordering = ["nation_id", "code"]
        verbose_name = _("organisation")

    @property
    def is_security_authority(self) -> bool:
        return self.kind == OrganisationKind.NATIONAL_SECURITY_AUTHORITY

    @property
    def needs_facility_clearance(self) -> bool:
        return self.kind in FACILITY_CLEARED_KINDS


class Role(models.TextChoices):
    SECURITY_OFFICER = "security_officer", _("Security officer (national security authority)")
    PROJECT_OFFICER = "project_officer", _("Project officer")
    LOGISTICS_OFFICER = "logistics_officer", _("Logistics officer")
    EXERCISE_PLANNER = "exercise_planner", _("Exercise planner")
    COMPANY_SECURITY_OFFICER = "company_security_officer", _("Company security officer")
    ADMINISTRATOR = "administrator", _("Administrator")


class User(AbstractUser):
    """A person. Nationality and organisation are facts the kernel relies on, so both are required
    for anyone who signs in; only a bootstrap superuser may lack them (and then sees nothing)."""

    nationality = models.ForeignKey(Nation, on_delete=models.PROTECT, null=True,
                                    related_name="citizens", verbose_name=_("nationality"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                     related_name="members", verbose_name=_("organisation"))

    def has_role(self, role: str, on: dt.date | None = None) -> bool:
        return self.role_grants.current(on).filter(role=role).exists()


class RoleGrantQuerySet(models.QuerySet["RoleGrant"]):
    def current(self, on: dt.date | None = None) -> RoleGrantQuerySet:
        """Grants in force on the day: started, and not ended (no end date means until revoked)."""
        on = on or timezone.localdate()
        return self.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on),
                           valid_from__lte=on)


class RoleGrant(models.Model):
    """A role held for a period: an appointment as security officer ends like a clearance does."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    granted_by = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("granted by"))
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    valid_until = models.DateField(_("valid until"), null=True, blank=True,
                                   help_text=_("Empty: until revoked."))

    objects = RoleGrantQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_role_grant")]
        verbose_name = _("role")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"
