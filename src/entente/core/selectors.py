"""What a person may know about themselves: clearances, communities, caveats, on a given day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from entente.core.models import User
from entente.security.models import CaveatGrant, Clearance, Membership


@dataclass(frozen=True)
class Profile:
    user: User
    clearances: list[tuple[Clearance, bool]]
    memberships: list[tuple[Membership, bool]]
    caveat_grants: list[tuple[CaveatGrant, bool]]
    roles: list[str]


def profile_of(user: User, on: dt.date | None = None) -> Profile:
    on = on or timezone.localdate()
    clearances = user.clearances.select_related("level", "granted_by")
    memberships = user.memberships.select_related("community", "granted_by")
    grants = user.caveat_grants.select_related("caveat", "granted_by")
    return Profile(
        user=user,
        clearances=[(c, c.is_valid_on(on)) for c in clearances],
        memberships=[(m, m.is_valid_on(on)) for m in memberships],
        caveat_grants=[(g, g.is_valid_on(on)) for g in grants],
        roles=[str(g.get_role_display()) for g in user.role_grants.current(on)],
    )
