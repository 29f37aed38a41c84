"""A small cooperation world: a panel with a co-chair per nation and a secretary, project officers
of both nations, a cleared and an uncleared company, and one proposed project."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from entente.cooperation import services
from entente.cooperation.models import PanelRole, Project
from entente.core.models import OrganisationKind, Role
from entente.security.labels import LabelSpec
from entente.testing import authority, facility, make_user, organisation
from entente.testing.shared import build_for_the_module

PROJECT_LABEL = "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"


@dataclass
class World:
    uk_chair: Any
    jp_chair: Any
    secretary: Any
    uk_officer: Any
    jp_officer: Any
    outsider: Any
    uk_admin: Any
    jp_admin: Any
    cleared_company: Any
    uncleared_company: Any
    project: Project


def seat(actor: Any, user: Any, role: str) -> None:
    today = timezone.localdate()
    services.appoint_panel_member(actor=actor, user=user, role=role,
                                  valid_from=today - dt.timedelta(days=30),
                                  valid_until=today + dt.timedelta(days=365))


def _build_world() -> World:
    uk_admin = make_user("uk-so", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                         roles=[Role.SECURITY_OFFICER])
    jp_admin = make_user("jp-so", "JPN", org=authority("JPN"), clearance="KIMITSU",
                         roles=[Role.SECURITY_OFFICER])
    uk_chair = make_user("uk-chair", "GBR", clearance="SECRET")
    jp_chair = make_user("jp-chair", "JPN", clearance="GOKUHI")
    secretary = make_user("secretary", "GBR", clearance="SECRET")
    seat(uk_admin, uk_chair, PanelRole.CO_CHAIR)
    seat(jp_admin, jp_chair, PanelRole.CO_CHAIR)
    seat(uk_admin, secretary, PanelRole.SECRETARY)
    uk_officer = make_user("uk-po", "GBR", clearance="SECRET", roles=[Role.PROJECT_OFFICER])
    jp_officer = make_user("jp-po", "JPN", clearance="GOKUHI", roles=[Role.PROJECT_OFFICER])
    outsider = make_user("outsider", "GBR", clearance="TOP-SECRET",
                         roles=[Role.PROJECT_OFFICER])
    cleared = organisation("albion", "GBR", OrganisationKind.COMPANY)
    facility(cleared, "SECRET")
    uncleared = organisation("thames", "GBR", OrganisationKind.COMPANY)
    project = services.propose_project(
        actor=uk_officer, code="aam", label=LabelSpec.parse(PROJECT_LABEL), lead_nation="GBR",
        name_en="Advanced air-to-air missile feasibility", name_ja="新空対空ミサイル")
    services.add_member(actor=uk_officer, project=project, user=jp_officer)
    return World(uk_chair, jp_chair, secretary, uk_officer, jp_officer, outsider, uk_admin,
                 jp_admin, cleared, uncleared, project)


@pytest.fixture(scope="module")
def _module_world(request, django_db_setup, django_db_blocker):
    """Built once per test module (entente.testing.shared); each test rolls back its own writes."""
    yield from build_for_the_module(request, django_db_blocker, _build_world)


@pytest.fixture
def world(_module_world, db) -> World:
    return copy.deepcopy(_module_world)
