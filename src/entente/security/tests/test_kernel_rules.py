"""Each kernel rule, one at a time. Every test names the rule it guards and fails if the rule
is removed: the same user is allowed on a control label that differs only in that rule, and both
the single decision and the SQL filter are checked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from entente.core.models import OrganisationKind, Role
from entente.security.kernel import Action, Subject, decide, evaluate, visible
from entente.security.labels import LabelFacts, LabelSpec
from entente.security.models import AuditEvent, Classification, Clearance, SampleRecord
from entente.security.services import create_sample_record
from entente.testing import authority, community, facility, make_user, organisation

pytestmark = pytest.mark.django_db


def record(label: str, owner_code: str = "gbr-mod", nation: str = "GBR") -> SampleRecord:
    community("proj-a")
    community("proj-b")
    return create_sample_record(actor=None, owner=organisation(owner_code, nation),
                                title=label, body=f"body of {label}",
                                label=LabelSpec.parse(label))


def sees(user, rec: SampleRecord, action: Action = Action.VIEW) -> bool:
    """Decision and SQL filter must agree; return their common answer."""
    allowed = decide(user, action, rec).allowed
    if action is Action.VIEW:
        in_sql = visible(user, SampleRecord.objects.filter(pk=rec.pk)).exists()
        assert in_sql == allowed, "the SQL filter and the decision disagree"
    return allowed


def test_clearance_hierarchy_same_nation():
    user = make_user("u", "GBR", clearance="SECRET")
    assert sees(user, record("GBR/SECRET|rel=GBR"))
    assert not sees(user, record("GBR/TOP-SECRET|rel=GBR"))


def test_no_clearance_sees_only_markings_that_need_none():
    user = make_user("u", "GBR")
    assert sees(user, record("GBR/OFFICIAL-SENSITIVE|rel=GBR"))
    assert not sees(user, record("GBR/SECRET|rel=GBR"))


def test_expired_clearance_is_no_clearance():
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    expired = make_user("expired", "GBR", clearance="TOP-SECRET", clearance_until=yesterday)
    valid = make_user("valid", "GBR", clearance="TOP-SECRET")
    rec = record("GBR/SECRET|rel=GBR")
    assert sees(valid, rec)
    assert not sees(expired, rec)
    assert decide(expired, Action.VIEW, rec).rule == "clearance"


def test_a_company_caps_its_people_at_its_facility_clearance():
    company = organisation("gbr-company", "GBR", OrganisationKind.COMPANY)
    engineer = make_user("eng", "GBR", org=company, clearance="TOP-SECRET")
    official = make_user("civ", "GBR", clearance="TOP-SECRET")  # a ministry: no facility rule
    secret, top_secret = record("GBR/SECRET|rel=GBR"), record("GBR/TOP-SECRET|rel=GBR")
    # No facility clearance: only what needs no clearance, whatever the personal clearance.
    assert sees(engineer, record("GBR/OFFICIAL|rel=GBR")) and not sees(engineer, secret)
    assert decide(engineer, Action.VIEW, secret).rule == "facility"
    assert sees(official, top_secret)
    facility(company, "SECRET")
    assert sees(engineer, secret) and not sees(engineer, top_secret)
    assert decide(engineer, Action.VIEW, top_secret).rule == "facility"
    facility(company, "TOP-SECRET", site="Second site")  # the highest valid one counts
    assert sees(engineer, top_secret)


def test_an_expired_facility_clearance_is_none_and_a_personal_one_still_binds():
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    lapsed = organisation("gbr-lapsed", "GBR", OrganisationKind.UNIVERSITY)
    facility(lapsed, "TOP-SECRET", until=yesterday)
    researcher = make_user("res", "GBR", org=lapsed, clearance="TOP-SECRET")
    assert not sees(researcher, record("GBR/SECRET|rel=GBR"))
    assert decide(researcher, Action.VIEW, record("GBR/SECRET|rel=GBR")).rule == "facility"
    cleared = organisation("gbr-company", "GBR", OrganisationKind.COMPANY)
    facility(cleared, "TOP-SECRET")
    engineer = make_user("eng", "GBR", org=cleared, clearance="SECRET")
    top_secret = record("GBR/TOP-SECRET|rel=GBR")
    assert not sees(engineer, top_secret)       # the facility does not raise a person
    assert decide(engineer, Action.VIEW, top_secret).rule == "clearance"


def test_a_facility_clearance_is_read_in_its_own_nations_scheme():
    # A Japanese national at a UK company: the personal clearance is Japanese, the facility's
    # British; JPN/KIMITSU is protected as TOP SECRET in the UK, so a SECRET site does not
    # cover it and a TOP SECRET one does.
    company = organisation("gbr-company", "GBR", OrganisationKind.COMPANY)
    guest = make_user("guest", "JPN", org=company, clearance="KIMITSU")
    kimitsu = record("JPN/KIMITSU|rel=GBR,JPN", "jpn-mod", "JPN")
    site = facility(company, "SECRET")
    assert not sees(guest, kimitsu)
    site.delete()
    facility(company, "TOP-SECRET")
    assert sees(guest, kimitsu)


def test_clearance_goes_through_the_equivalence_table():
    # JPN/GOKUHI is protected as GBR/SECRET: a UK SECRET holder reads it, CONFIDENTIAL would not.
    uk_secret = make_user("uks", "GBR", clearance="SECRET")
    jp_hi = make_user("jph", "JPN", clearance="HI")
    jp_gokuhi = make_user("jpg", "JPN", clearance="GOKUHI")
    uk_doc = record("GBR/SECRET|rel=GBR,JPN")
    jp_doc = record("JPN/GOKUHI|rel=GBR,JPN", "jpn-mod", "JPN")
    assert sees(uk_secret, jp_doc)
    assert sees(jp_gokuhi, uk_doc)
    assert not sees(jp_hi, uk_doc)
    assert "JPN/GOKUHI" in decide(jp_hi, Action.VIEW, uk_doc).reason()


def test_today_table_governs_protection_of_old_markings():
    # A JPN/HI record is protected in the UK as SECRET since April 2014 (CONFIDENTIAL before).
    rec = record("JPN/HI|rel=GBR,JPN", "jpn-mod", "JPN")
    facts = LabelFacts.of(rec.label)
    user = make_user("u", "GBR", clearance="SECRET")
    assert evaluate(Subject.of(user), Action.VIEW, facts).allowed
    Clearance.objects.filter(user=user).update(
        level=Classification.objects.get(nation_id="GBR", code="CONFIDENTIAL"),
        valid_from=dt.date(2010, 1, 1))
    assert not evaluate(Subject.of(user), Action.VIEW, facts).allowed
    assert evaluate(Subject.of(user, on=dt.date(2014, 1, 10)), Action.VIEW, facts).allowed


def test_nationality_any_of_releasable_to():
    japanese = make_user("jp", "JPN", clearance="KIMITSU")
    assert sees(japanese, record("GBR/SECRET|rel=GBR,JPN"))
    assert not sees(japanese, record("GBR/SECRET|rel=GBR"))
    assert decide(japanese, Action.VIEW, record("GBR/OFFICIAL|rel=GBR")).rule == "nationality"


def test_eyes_only_caveat_follows_nationality():
    briton = make_user("uk", "GBR", clearance="SECRET")
    assert sees(briton, record("GBR/SECRET|rel=GBR|cav=uk-eyes-only"))
    japanese_org = organisation("jpn-mod", "JPN")
    jp = make_user("jp", "JPN", org=japanese_org, clearance="KIMITSU")
    assert not sees(jp, record("GBR/SECRET|rel=GBR|cav=uk-eyes-only"))


def test_granted_caveat_is_all_of():
    holder = make_user("holder", "GBR", clearance="TOP-SECRET", caveats=["crypto"])
    other = make_user("other", "GBR", clearance="TOP-SECRET")
    rec = record("GBR/SECRET|rel=GBR|cav=crypto")
    assert sees(holder, rec)
    assert not sees(other, rec)
    assert decide(other, Action.VIEW, rec).rule == "caveat"


def test_communities_are_all_of():
    both = make_user("both", "GBR", clearance="SECRET", communities=["proj-a", "proj-b"])
    one = make_user("one", "GBR", clearance="SECRET", communities=["proj-a"])
    rec = record("GBR/SECRET|rel=GBR|com=proj-a,proj-b")
    assert sees(both, rec)
    assert not sees(one, rec)
    assert sees(one, record("GBR/SECRET|rel=GBR|com=proj-a"))


def test_expired_membership_is_no_membership():
    lapsed = make_user("lapsed", "GBR", clearance="SECRET", communities=["proj-a"],
                       membership_until=timezone.localdate() - dt.timedelta(days=1))
    assert not sees(lapsed, record("GBR/SECRET|rel=GBR|com=proj-a"))


def test_inactive_account_sees_nothing():
    user = make_user("gone", "GBR", clearance="TOP-SECRET")
    rec = record("GBR/OFFICIAL|rel=GBR")
    assert sees(user, rec)
    user.is_active = False
    user.save()
    assert not sees(user, rec)


def test_account_without_nationality_sees_nothing():
    user = make_user("stateless", "GBR", clearance="TOP-SECRET")
    rec = record("GBR/OFFICIAL|rel=GBR")
    user.nationality = None
    user.save()
    assert not sees(user, rec)


def test_edit_needs_the_owning_organisation():
    owner_staff = make_user("owner", "GBR", org=organisation("gbr-mod"), clearance="SECRET")
    other_staff = make_user("other", "GBR", org=organisation("gbr-des"), clearance="SECRET")
    rec = record("GBR/SECRET|rel=GBR", "gbr-mod")
    assert sees(owner_staff, rec, Action.EDIT)
    assert sees(other_staff, rec, Action.VIEW)
    assert not sees(other_staff, rec, Action.EDIT)


@pytest.mark.parametrize("action", [Action.RELEASE, Action.DOWNGRADE])
def test_release_and_downgrade_only_by_originator_authority(action):
    uk_nsa = make_user("uknsa", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                       roles=[Role.SECURITY_OFFICER])
    jp_nsa = make_user("jpnsa", "JPN", org=authority("JPN"), clearance="KIMITSU",
                       roles=[Role.SECURITY_OFFICER])
    uk_clerk = make_user("clerk", "GBR", org=authority("GBR"), clearance="TOP-SECRET")
    rec = record("GBR/SECRET|rel=GBR,JPN")
    assert sees(uk_nsa, rec, action)
    assert sees(jp_nsa, rec, Action.VIEW)
    assert not sees(jp_nsa, rec, action)       # not the originator's authority
    assert not sees(uk_clerk, rec, action)     # right organisation, not a security officer
    assert decide(jp_nsa, action, rec).rule == "originator-authority"


def test_every_decision_is_audited_allowed_or_denied():
    user = make_user("u", "GBR", clearance="SECRET")
    allowed, denied = record("GBR/SECRET|rel=GBR"), record("GBR/TOP-SECRET|rel=GBR")
    before = AuditEvent.objects.count()
    decide(user, Action.VIEW, allowed)
    decide(user, Action.VIEW, denied)
    events = list(AuditEvent.objects.filter(seq__gt=before).order_by("seq"))
    assert [(e.object_id, e.allowed, e.actor, e.action) for e in events] == [
        (str(allowed.pk), True, "u", "access.view"), (str(denied.pk), False, "u", "access.view")]
    assert events[1].details["rule"] == "clearance"
    assert "GBR/TOP-SECRET" in events[1].reason


def test_reason_reads_in_japanese():
    user = make_user("jp", "JPN", clearance="HI")
    decision = decide(user, Action.VIEW, record("GBR/SECRET|rel=GBR,JPN"))
    assert decision.reason("ja") != decision.reason("en")
    assert "拒否" in decision.reason("ja")


def test_the_visibility_filter_is_one_query_with_the_users_standing_read_inside_it(
        django_assert_num_queries):
    user = make_user("u", "GBR", clearance="SECRET", communities=["proj-a"])
    records = [record(label) for label in (
        "GBR/SECRET|rel=GBR", "GBR/TOP-SECRET|rel=GBR", "GBR/SECRET|rel=GBR|com=proj-a",
        "GBR/SECRET|rel=GBR|com=proj-b", "GBR/OFFICIAL|rel=GBR,JPN", "JPN/HI|rel=JPN")]
    expected = {r.pk for r in records if evaluate(Subject.of(user), Action.VIEW,
                                                  LabelFacts.of(r.label)).allowed}
    with django_assert_num_queries(1):
        shown = set(visible(user, SampleRecord.objects.all()).values_list("pk", flat=True))
    assert shown == expected and len(expected) == 3
    # A grant revoked a moment ago counts for nothing on the very next listing: nothing cached.
    user.memberships.all().delete()
    assert set(visible(user, SampleRecord.objects.all()).values_list("pk", flat=True)) == (
        expected - {records[2].pk})

def test_an_ended_security_officer_appointment_gives_no_release_authority():
    from entente.core.models import RoleGrant

    officer = make_user("uknsa", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                        roles=[Role.SECURITY_OFFICER])
    rec = record("GBR/SECRET|rel=GBR,JPN")
    assert sees(officer, rec, Action.RELEASE)
    RoleGrant.objects.filter(user=officer).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert not sees(officer, rec, Action.RELEASE)
    assert decide(officer, Action.RELEASE, rec).rule == "originator-authority"
    RoleGrant.objects.filter(user=officer).update(
        valid_from=timezone.localdate() + dt.timedelta(days=1), valid_until=None)
    assert not sees(officer, rec, Action.RELEASE)
    assert sees(officer, rec, Action.VIEW)  # the clearance, not the role, governs reading
