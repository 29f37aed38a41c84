"""Facility security clearances through industry's services: who may grant and revoke, which
markings, which dates; and the kernel's facility rule following a grant and a revocation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from entente.core.models import OrganisationKind, Role, User
from entente.industry import selectors, services
from entente.industry.services import IndustryError
from entente.security.kernel import Action, decide, visible
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent, FacilityClearance, SampleRecord
from entente.security.services import create_sample_record
from entente.testing import authority, facility, make_user, organisation

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
YEAR = dt.timedelta(days=365)


def grant(actor, org, level="SECRET", storage=None, **dates):
    return services.grant_facility_clearance(
        actor, org, "Filton", level, storage, dates.get("valid_from"),
        dates.get("valid_until", TODAY() + YEAR))


def secret_record() -> SampleRecord:
    return create_sample_record(actor=None, owner=organisation("gbr-mod", "GBR"),
                                title="Seeker design", body="the body",
                                label=LabelSpec.parse("GBR/SECRET|rel=GBR"))


def test_the_nations_authority_grants_and_the_kernel_follows(world):
    engineer = make_user("eng", "GBR", org=world.uk_company, clearance="SECRET")
    record = secret_record()
    assert not visible(engineer, SampleRecord.objects.all()).exists()
    assert decide(engineer, Action.VIEW, record).rule == "facility"

    granted = grant(world.uk_so, world.uk_company, "SECRET", "SECRET")
    assert (granted.level.key, granted.storage_level.key) == ("GBR/SECRET", "GBR/SECRET")
    assert granted.granted_by == authority("GBR") and granted.valid_from == TODAY()
    assert list(visible(engineer, SampleRecord.objects.all())) == [record]
    assert AuditEvent.objects.filter(action="facility.grant", object_id=str(granted.pk),
                                     allowed=True).exists()


def test_revocation_ends_it_yesterday_and_the_kernel_denies_the_companys_people(world):
    engineer = make_user("eng", "GBR", org=world.uk_company, clearance="SECRET")
    record = secret_record()
    site = facility(world.uk_company, "SECRET")
    assert decide(engineer, Action.VIEW, record).allowed
    assert list(visible(engineer, SampleRecord.objects.all())) == [record]

    revoked = services.revoke_facility_clearance(world.uk_so, site, "Site closed")
    assert revoked.valid_until == TODAY() - dt.timedelta(days=1)
    assert FacilityClearance.objects.get(pk=site.pk).valid_until == revoked.valid_until
    assert not visible(engineer, SampleRecord.objects.all()).exists()
    denied = decide(engineer, Action.VIEW, record)
    assert not denied.allowed and denied.rule == "facility"
    event = AuditEvent.objects.get(action="facility.revoke", object_id=str(site.pk))
    assert event.allowed and event.details["reason"] == "Site closed"
    with pytest.raises(IndustryError, match="already ended"):
        services.revoke_facility_clearance(world.uk_so, site)
    assert site.pk not in {f.pk for f in selectors.facility_register(world.visitor)}


@pytest.mark.parametrize("who", ["jp_so", "visitor", "clerk", "company_so"])
def test_only_a_security_officer_of_the_organisations_own_authority_grants(world, who):
    actors = {
        "jp_so": world.jp_so,                                       # the other nation's
        "visitor": world.visitor,                                   # not an authority
        "clerk": make_user("clerk", "GBR", org=authority("GBR")),   # authority, no role
        "company_so": make_user("cso", "GBR", org=world.uk_company,
                                roles=[Role.COMPANY_SECURITY_OFFICER, Role.SECURITY_OFFICER]),
    }
    with pytest.raises(IndustryError) as refused:
        grant(actors[who], world.uk_company)
    assert str(refused.value) == ("Only a security officer of GBR's national security "
                                  "authority may grant or revoke the facility clearances of "
                                  "its organisations.")
    assert not FacilityClearance.objects.filter(organisation=world.uk_company).exists()
    assert AuditEvent.objects.filter(action="facility.grant", allowed=False,
                                     object_id=str(world.uk_company.pk)).exists()


def test_revocation_by_another_nations_authority_is_refused(world):
    site = facility(world.uk_company, "SECRET")
    with pytest.raises(IndustryError, match="GBR's national security authority"):
        services.revoke_facility_clearance(world.jp_so, site)
    assert FacilityClearance.objects.get(pk=site.pk).valid_until == site.valid_until
    assert AuditEvent.objects.filter(action="facility.revoke", allowed=False,
                                     object_id=str(site.pk)).exists()


@pytest.mark.parametrize(("level", "storage", "message"), [
    ("CONFIDENTIAL", None, "GBR/CONFIDENTIAL was retired on 2014-04-02"),
    ("SECRET", "CONFIDENTIAL", "GBR/CONFIDENTIAL was retired on 2014-04-02"),
    ("SECRET", "TOP-SECRET", r"may not store material above the level it is cleared to "
                             r"\(GBR/TOP-SECRET is above GBR/SECRET\)"),
    ("GOKUHI", None, "'GOKUHI' is not a marking of GBR's scheme"),
    ("JPN/GOKUHI", None, "'JPN/GOKUHI' is not a marking of GBR's scheme"),
    ("OFFICIAL", None, "GBR/OFFICIAL needs no clearance"),
])
def test_markings_must_be_current_of_the_nations_scheme_and_storage_not_above(world, level,
                                                                             storage, message):
    with pytest.raises(IndustryError, match=message):
        grant(world.uk_so, world.uk_company, level, storage)
    assert not FacilityClearance.objects.filter(organisation=world.uk_company).exists()


def test_only_companies_and_universities_and_sane_dates(world):
    ministry = organisation("gbr-mod", "GBR")
    with pytest.raises(IndustryError, match="Only a company or a university"):
        grant(world.uk_so, ministry)
    with pytest.raises(IndustryError, match="cannot end before it starts"):
        grant(world.uk_so, world.uk_company, valid_from=TODAY() + YEAR,
              valid_until=TODAY() + dt.timedelta(days=10))
    with pytest.raises(IndustryError, match="already have ended"):
        grant(world.uk_so, world.uk_company, valid_from=TODAY() - YEAR,
              valid_until=TODAY() - dt.timedelta(days=1))
    with pytest.raises(IndustryError, match="Name the site"):
        services.grant_facility_clearance(world.uk_so, world.uk_company, "  ", "SECRET",
                                          valid_until=TODAY() + YEAR)
    university = organisation("gbr-uni", "GBR", OrganisationKind.UNIVERSITY)
    assert grant(world.uk_so, university, "TOP-SECRET", "SECRET").level.key == "GBR/TOP-SECRET"


def test_the_register_lists_valid_clearances_of_both_nations_to_either(world):
    uk_site = facility(world.uk_company, "SECRET")
    lapsed = facility(world.uk_company, "TOP-SECRET", until=TODAY() - dt.timedelta(days=1))
    jp_site = FacilityClearance.objects.get(organisation=world.host)
    for reader in (world.visitor, world.host_member, world.jp_so):
        listed = {f.pk for f in selectors.facility_register(reader)}
        assert listed == {uk_site.pk, jp_site.pk}
    assert [f.pk for f in selectors.facility_register(world.visitor, nation="JPN")] == [
        jp_site.pk]
    history = selectors.facilities_of(world.visitor, world.uk_company)
    assert {f.pk for f in history} == {uk_site.pk, lapsed.pk}
    event = AuditEvent.objects.filter(action="access.list",
                                      object_type="security.facilityclearance").last()
    assert event is not None and set(event.details["ids"]) == {str(uk_site.pk), str(lapsed.pk)}


def test_an_account_without_organisation_reads_no_register(world):
    facility(world.uk_company, "SECRET")
    loose = User.objects.create_user("loose", password="x" * 20, nationality_id="GBR")
    assert selectors.facility_register(loose) == []
    assert selectors.partner_nations(world.visitor) == frozenset({"GBR", "JPN"})
