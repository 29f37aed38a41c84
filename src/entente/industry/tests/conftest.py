"""A small industry world: the two national security authorities, a British visitor at the
Ministry of Defence, and a Japanese company (with a cleared site and one of its people) to be
visited; a British company to clear and revoke."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from entente.core.models import Organisation, OrganisationKind, Role
from entente.industry import services
from entente.industry.models import VisitRequest
from entente.security.labels import LabelSpec
from entente.testing import authority, facility, make_user, organisation
from entente.testing.shared import build_for_the_module

LABEL = "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"


@dataclass
class World:
    uk_so: Any
    jp_so: Any
    visitor: Any
    colleague: Any
    host: Organisation
    host_member: Any
    outsider: Any
    uk_company: Organisation


def _build_world() -> World:
    uk_so = make_user("uk-so", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                      roles=[Role.SECURITY_OFFICER])
    jp_so = make_user("jp-so", "JPN", org=authority("JPN"), clearance="KIMITSU",
                      roles=[Role.SECURITY_OFFICER])
    visitor = make_user("ben", "GBR", clearance="SECRET")
    colleague = make_user("carol", "GBR")  # the visitor's organisation, no clearance
    host = organisation("jpn-heavy", "JPN", OrganisationKind.COMPANY)
    facility(host, "KIMITSU", site="Nagoya works", storage="GOKUHI")
    host_member = make_user("hiro", "JPN", org=host, clearance="GOKUHI")
    outsider = make_user("olly", "GBR", org=organisation("gbr-other", "GBR"),
                         clearance="TOP-SECRET")
    uk_company = organisation("albion", "GBR", OrganisationKind.COMPANY)
    return World(uk_so, jp_so, visitor, colleague, host, host_member, outsider, uk_company)


@pytest.fixture(scope="module")
def _module_world(request, django_db_setup, django_db_blocker):
    """Built once per test module (entente.testing.shared); each test rolls back its own writes."""
    yield from build_for_the_module(request, django_db_blocker, _build_world)


@pytest.fixture
def world(_module_world, db) -> World:
    return copy.deepcopy(_module_world)


def days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def ask(world: World, *, visitor: Any = None, host: Organisation | None = None,
        first: int = 1, last: int = 3, level: str = "JPN/GOKUHI", kind: str = "one_time",
        label: str = LABEL, site: str = "Nagoya works", **extra: Any) -> VisitRequest:
    return services.request_visit(
        visitor or world.visitor, host=host or world.host, site=site, kind=kind,
        first_day=days(first), last_day=days(last), purpose="Seeker integration trials",
        level=level, label=LabelSpec.parse(label), **extra)


def approved(world: World, **kwargs: Any) -> VisitRequest:
    visit = ask(world, **kwargs)
    services.assure_visit(world.uk_so if visit.visitor.nationality_id == "GBR" else world.jp_so,
                          visit)
    host_so = world.jp_so if visit.host.nation_id == "JPN" else world.uk_so
    return services.approve_visit(host_so, visit)
