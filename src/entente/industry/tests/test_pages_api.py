"""Industry pages and API end to end, signed in with password and TOTP: a request for visit
through its whole life, the facility register, grant and revoke; and a forbidden id answered
exactly like a missing one, on pages and in the API."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from entente.exchange.models import Notification
from entente.industry import services
from entente.industry.models import VisitRequest, VisitState
from entente.industry.tests.conftest import approved, ask, days
from entente.security.models import AuditEvent, FacilityClearance
from entente.testing import facility, make_user, verified_client

pytestmark = pytest.mark.django_db

SECRET_LABEL = "GBR/SECRET|rel=GBR,JPN"


def form(**fields):
    data = {"classification": "OFFICIAL-SENSITIVE", "releasable_to": ["GBR", "JPN"],
            "host": "jpn-heavy", "site": "Nagoya works", "kind": "one_time",
            "first_day": days(1).isoformat(), "last_day": days(3).isoformat(),
            "purpose": "Seeker integration trials", "level": "JPN/GOKUHI"}
    data.update(fields)
    return data


def test_a_request_for_visit_through_the_pages_from_submission_to_approval(world):
    client = verified_client(world.visitor)
    page = client.get(reverse("industry:visit_new"))
    assert page.status_code == 200 and b"JPN/GOKUHI" in page.content
    response = client.post(reverse("industry:visit_new"), form())
    assert response.status_code == 302
    visit = VisitRequest.objects.get()
    assert response["Location"] == reverse("industry:visit", args=[visit.pk])
    detail = client.get(response["Location"]).content.decode()
    assert detail.count('<div class="label-banner"') == 2          # top and bottom
    assert "Nagoya works" in detail and "Withdraw" in detail and "Approve" not in detail

    uk = verified_client(world.uk_so)
    assert "Assure the visitor" in uk.get(response["Location"]).content.decode()
    assert uk.post(reverse("industry:visit_assure", args=[visit.pk])).status_code == 302
    jp = verified_client(world.jp_so)
    page = jp.get(response["Location"]).content.decode()
    assert "Approve" in page and "Refuse" in page
    assert jp.post(reverse("industry:visit_approve", args=[visit.pk]),
                   {"reason": ""}).status_code == 302
    assert VisitRequest.objects.get().state == VisitState.APPROVED
    assert Notification.objects.filter(organisation=world.host, kind="visit.approved",
                                       object_id=str(visit.pk)).exists()

    by_day = verified_client(world.host_member).get(
        reverse("industry:visits_by_day"), {"first": days(1).isoformat(),
                                            "last": days(4).isoformat()}).content.decode()
    assert by_day.count(reverse("industry:visit", args=[visit.pk])) == 3   # days 1, 2 and 3
    assert f'id="day-{days(4).isoformat()}"' in by_day


def test_the_form_shows_what_the_services_refuse_and_keeps_the_input(world):
    client = verified_client(world.visitor)
    response = client.post(reverse("industry:visit_new"),
                           form(last_day=days(40).isoformat(), purpose="Long stay"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "lasts at most 30 days; this one would last 40." in html and "Long stay" in html
    releasable_gbr_only = client.post(reverse("industry:visit_new"),
                                      form(releasable_to=["GBR"]))
    assert releasable_gbr_only.status_code == 400
    assert "must be releasable to the host nation (JPN)" in releasable_gbr_only.content.decode()
    unknown_project = client.post(reverse("industry:visit_new"), form(project="no-such"))
    assert "No project you may view has this code." in unknown_project.content.decode()
    assert not VisitRequest.objects.exists()


def test_approving_above_the_clearance_is_refused_on_the_page(world):
    visit = services.assure_visit(world.uk_so, ask(world, level="JPN/KIMITSU"))
    jp = verified_client(world.jp_so)
    page = jp.get(reverse("industry:visit", args=[visit.pk])).content.decode()
    assert "above the visitor&#x27;s clearance" in page                 # warned before trying
    response = jp.post(reverse("industry:visit_approve", args=[visit.pk]), {"reason": ""})
    assert response.status_code == 400
    assert "above the visitor&#x27;s clearance (GBR/SECRET)" in response.content.decode()
    assert VisitRequest.objects.get().state == VisitState.ASSURED


def test_forbidden_and_missing_visits_answer_alike_on_pages_and_api(world):
    secret = ask(world, label=SECRET_LABEL)
    public = ask(world)
    readers = {
        "outsider": world.outsider,        # another organisation, cleared TOP SECRET
        "colleague": world.colleague,      # the owner organisation, not cleared for SECRET
        "host": world.host_member,         # the host, before any approval
    }
    for name, reader in readers.items():
        client = verified_client(reader)
        target = public if name == "outsider" or name == "host" else secret
        for url in (lambda pk: reverse("industry:visit", args=[pk]),
                    lambda pk: f"/api/v1/industry/visits/{pk}"):
            forbidden, missing = client.get(url(target.pk)), client.get(url(uuid.uuid4()))
            malformed = client.get(url("not-an-id"))
            assert forbidden.status_code == missing.status_code == malformed.status_code == 404
            assert forbidden.content == missing.content == malformed.content, name
            assert b"Nagoya" not in forbidden.content
        for step in ("assure", "approve", "withdraw"):
            assert client.post(reverse(f"industry:visit_{step}", args=[target.pk]),
                               {"reason": "x"}).status_code == 404
            api = client.post(f"/api/v1/industry/visits/{target.pk}/{step}", {},
                              content_type="application/json")
            assert api.status_code == 404 and api.json() == {"detail": "Not found."}
        if name != "colleague":
            assert client.get("/api/v1/industry/visits").json() == {"count": 0, "items": []}
    # The colleague sees the request they may read, not the SECRET one.
    listed = verified_client(world.colleague).get("/api/v1/industry/visits").json()
    assert [item["id"] for item in listed["items"]] == [str(public.pk)]
    assert VisitRequest.objects.filter(state=VisitState.SUBMITTED).count() == 2
    assert AuditEvent.objects.filter(action="access.view", allowed=False,
                                     object_id=str(public.pk)).exists()


def test_the_api_runs_the_whole_life_of_a_request(world):
    visitor = verified_client(world.visitor)
    created = visitor.post("/api/v1/industry/visits", {
        "host": "jpn-heavy", "site": "Nagoya works", "kind": "recurring",
        "first_day": days(1).isoformat(), "last_day": days(200).isoformat(),
        "purpose": "Monthly progress reviews", "level": "HI",
        "label": "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "submitted" and body["level"] == "JPN/HI"
    assert "GBR" in body["banner"] and body["visitor_organisation"] == "gbr-mod"
    pk = body["id"]
    wrong = verified_client(world.jp_so).post(f"/api/v1/industry/visits/{pk}/assure")
    assert wrong.status_code == 422 and "visitor's nation (GBR)" in wrong.json()["detail"]
    assured = verified_client(world.uk_so).post(f"/api/v1/industry/visits/{pk}/assure")
    assert assured.json()["assured_level"] == "GBR/SECRET"
    own = verified_client(world.uk_so).post(f"/api/v1/industry/visits/{pk}/approve", {},
                                            content_type="application/json")
    assert own.status_code == 422 and "host nation (JPN)" in own.json()["detail"]
    done = verified_client(world.jp_so).post(f"/api/v1/industry/visits/{pk}/approve",
                                             {"note": "Escorted"},
                                             content_type="application/json")
    assert done.status_code == 200 and done.json()["state"] == "approved"
    day = verified_client(world.host_member).get(
        "/api/v1/industry/visits/by-day", {"first": days(100).isoformat()}).json()
    assert [[v["id"] for s in d["sites"] for v in s["visits"]] for d in day] == [[pk]]
    too_long = visitor.post("/api/v1/industry/visits", {
        "host": "jpn-heavy", "site": "Nagoya", "kind": "one_time",
        "first_day": days(1).isoformat(), "last_day": days(31).isoformat(),
        "purpose": "x", "level": "HI", "label": "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"},
        content_type="application/json")
    assert too_long.status_code == 422 and "at most 30 days" in too_long.json()["detail"]


def test_facility_pages_register_grant_and_revoke(world):
    site = facility(world.uk_company, "SECRET", site="Filton")
    reader = verified_client(make_user("pat", "JPN", clearance="HI"))
    register = reader.get(reverse("industry:facilities")).content.decode()
    assert "Filton" in register and "Nagoya works" in register
    page = reader.get(reverse("industry:organisation_facilities", args=["albion"]))
    assert page.status_code == 200 and b"Grant a facility clearance" not in page.content
    assert reader.post(reverse("industry:facility_revoke", args=[site.pk])).status_code == 302
    assert FacilityClearance.objects.get(pk=site.pk).valid_until == site.valid_until  # refused
    assert reader.get(reverse("industry:organisation_facilities",
                              args=["no-such"])).status_code == 404

    so = verified_client(world.uk_so)
    url = reverse("industry:organisation_facilities", args=["albion"])
    assert b"Grant a facility clearance" in so.get(url).content
    bad = so.post(url, {"site": "Bristol", "level": "SECRET", "storage_level": "TOP-SECRET",
                        "valid_from": days(0).isoformat(), "valid_until": days(300).isoformat()})
    assert bad.status_code == 400
    assert "may not store material above the level it is cleared to" in bad.content.decode()
    good = so.post(url, {"site": "Bristol", "level": "TOP-SECRET", "storage_level": "SECRET",
                         "valid_from": days(0).isoformat(),
                         "valid_until": days(300).isoformat()})
    assert good.status_code == 302
    assert FacilityClearance.objects.filter(organisation=world.uk_company, site="Bristol",
                                            level__code="TOP-SECRET").exists()
    assert so.post(reverse("industry:facility_revoke", args=[site.pk]),
                   {"reason": "closed"}).status_code == 302
    assert FacilityClearance.objects.get(pk=site.pk).valid_until == days(-1)

    api = verified_client(world.uk_so)
    granted = api.post("/api/v1/industry/organisations/albion/facility-clearances",
                       {"site": "Warton", "level": "SECRET", "valid_until":
                        days(100).isoformat()}, content_type="application/json")
    assert granted.status_code == 201 and granted.json()["storage_level"] is None
    refused = verified_client(world.jp_so).post(
        "/api/v1/industry/organisations/albion/facility-clearances",
        {"site": "Warton", "level": "SECRET", "valid_until": days(100).isoformat()},
        content_type="application/json")
    assert refused.status_code == 422 and "GBR's national security" in refused.json()["detail"]
    listing = api.get("/api/v1/industry/facility-clearances", {"nation": "GBR"}).json()
    assert {row["site"] for row in listing} == {"Bristol", "Warton"}
    revoked = api.post(f"/api/v1/industry/facility-clearances/{granted.json()['id']}/revoke",
                       {"reason": ""}, content_type="application/json")
    assert revoked.json()["valid_today"] is False
    assert api.post("/api/v1/industry/facility-clearances/999999/revoke", {},
                    content_type="application/json").status_code == 404


def test_approved_visits_by_day_in_the_api_for_the_host(world):
    visit = approved(world, first=2, last=3)
    client = verified_client(world.host_member)
    days_out = client.get("/api/v1/industry/visits/by-day",
                          {"first": days(1).isoformat(), "last": days(4).isoformat()}).json()
    assert [(d["day"], [v["id"] for s in d["sites"] for v in s["visits"]]) for d in days_out] == [
        (days(1).isoformat(), []), (days(2).isoformat(), [str(visit.pk)]),
        (days(3).isoformat(), [str(visit.pk)]), (days(4).isoformat(), [])]
    assert client.get("/api/v1/industry/visits/by-day",
                      {"first": days(0).isoformat(),
                       "last": days(100).isoformat()}).status_code == 422
    assert verified_client(world.outsider).get(
        "/api/v1/industry/visits/by-day", {"first": days(2).isoformat()}).json()[0]["sites"] == []
