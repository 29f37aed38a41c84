"""Builders for tests: real rows in the real database, no mocks of our own code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from entente.core.models import Organisation, OrganisationKind, RoleGrant, User
from entente.security.models import (
    Caveat,
    CaveatGrant,
    Classification,
    Clearance,
    Community,
    FacilityClearance,
    Membership,
)

PASSWORD = "correct horse battery staple"  # noqa: S105 — test credential


def organisation(code: str, nation: str = "GBR",
                 kind: str = OrganisationKind.MINISTRY) -> Organisation:
    org, _ = Organisation.objects.get_or_create(
        code=code, defaults={"nation_id": nation, "kind": kind, "name_en": code})
    return org


def authority(nation: str) -> Organisation:
    return organisation(f"{nation.lower()}-nsa", nation, OrganisationKind.NATIONAL_SECURITY_AUTHORITY)


def community(code: str) -> Community:
    return Community.objects.get_or_create(code=code, defaults={"name_en": code})[0]


def facility(org: Organisation, level: str, *, until: dt.date | None = None,
             site: str = "Head office", storage: str | None = None) -> FacilityClearance:
    """A facility clearance for the organisation's site, at a marking of its nation's scheme."""
    today = timezone.localdate()
    marking = Classification.objects.get
    return FacilityClearance.objects.create(
        organisation=org, site=site, level=marking(nation_id=org.nation_id, code=level),
        storage_level=marking(nation_id=org.nation_id, code=storage) if storage else None,
        granted_by=authority(org.nation_id), valid_from=today - dt.timedelta(days=400),
        valid_until=until or today + dt.timedelta(days=365))


def make_user(username: str, nation: str = "GBR", *, org: Organisation | None = None,
              clearance: str | None = None, clearance_until: dt.date | None = None,
              communities: Iterable[str] = (), caveats: Iterable[str] = (),
              roles: Iterable[str] = (), membership_until: dt.date | None = None,
              totp: bool = True) -> User:
    today = timezone.localdate()
    far = today + dt.timedelta(days=365)
    org = org or organisation(f"{nation.lower()}-mod", nation)
    user = User.objects.create_user(username, password=PASSWORD, nationality_id=nation,
                                    organisation=org)
    grantor = authority(nation)
    if clearance:
        Clearance.objects.create(
            user=user, level=Classification.objects.get(nation_id=nation, code=clearance),
            granted_by=grantor, valid_from=today - dt.timedelta(days=400),
            valid_until=clearance_until or far)
    for code in communities:
        Membership.objects.create(user=user, community=community(code), granted_by=grantor,
                                  valid_from=today - dt.timedelta(days=1),
                                  valid_until=membership_until or far)
    for code in caveats:
        CaveatGrant.objects.create(user=user, caveat=Caveat.objects.get(code=code),
                                   granted_by=grantor, valid_from=today - dt.timedelta(days=1),
                                   valid_until=far)
    for role in roles:
        RoleGrant.objects.create(user=user, role=role)
    if totp:
        TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return user


def current_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():0{device.digits}d}"


def verified_client(user: User) -> Client:
    """A client signed in as the user with the TOTP step passed (as after the real sign-in)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    return client
