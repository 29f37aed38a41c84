"""A small exercises world: planners of both nations (one uncleared), security officers of both
security authorities, and one exercise labelled at each end of the scale."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from entente.core.models import Organisation, Role
from entente.exercises import services
from entente.exercises.models import Exercise, ExerciseKind, StaffExchange
from entente.exercises.services import UnitSpec
from entente.security.labels import LabelSpec
from entente.testing import authority, make_user, organisation

DAY = dt.date(2026, 3, 2)  # the fixed clock: "today" for these tests
OPEN = LabelSpec("GBR", "OFFICIAL", ("GBR", "JPN"))
SECRET = LabelSpec("GBR", "SECRET", ("GBR", "JPN"))


@dataclass
class World:
    uk: Any  # exercise planner, GBR, SECRET
    jp: Any  # exercise planner, JPN, GOKUHI
    uk_uncleared: Any  # exercise planner, GBR, no clearance
    uk_so: Any
    jp_so: Any


@pytest.fixture
def world(db) -> World:
    army, jgsdf = organisation("british-army", "GBR"), organisation("jgsdf", "JPN")
    return World(
        uk=make_user("uk-plan", "GBR", org=army, clearance="SECRET",
                     roles=[Role.EXERCISE_PLANNER]),
        jp=make_user("jp-plan", "JPN", org=jgsdf, clearance="GOKUHI",
                     roles=[Role.EXERCISE_PLANNER]),
        uk_uncleared=make_user("uk-plan2", "GBR", org=army, roles=[Role.EXERCISE_PLANNER]),
        uk_so=make_user("uk-so", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                        roles=[Role.SECURITY_OFFICER]),
        jp_so=make_user("jp-so", "JPN", org=authority("JPN"), clearance="KIMITSU",
                        roles=[Role.SECURITY_OFFICER]),
    )



def exercise(world: World, code: str = "vigilant-isles", *, label: LabelSpec = OPEN,
             kind: str = ExerciseKind.HADR, starts_in: int = 60, days: int = 10,
             on: dt.date = DAY) -> Exercise:
    """Proposed by ``world.uk`` on ``on`` (the fixed clock unless a test needs the real one, as
    requests for visit do), starting ``starts_in`` days later and lasting ``days`` days."""
    starts = on + dt.timedelta(days=starts_in)
    return services.propose_exercise(
        world.uk, code=code, label=label, kind=kind, lead_nation="GBR", starts_on=starts,
        ends_on=starts + dt.timedelta(days=days - 1), name_en=f"Exercise {code}",
        name_ja="共同訓練", objectives_en="Practise disaster relief together.",
        locations=[("Salisbury Plain", "GBR")],
        units=[UnitSpec("GBR", "16 Air Assault Brigade", 400, "4 Chinook"),
               UnitSpec("JPN", "1st Airborne Brigade", 300, "2 CH-47J")], on=on)


# Requests for visit (conference visits, exchanges) are dated by the real clock: industry refuses
# one that starts in the past, and approves one only with a clearance valid for its whole length.


def exchange_person(username: str, nation: str = "GBR", *, clearance: str | None = "SECRET",
                    org: Organisation | None = None) -> Any:
    """Someone of the planners' organisation (by default) to be sent on an exchange, cleared for
    longer than any exchange lasts."""
    home = org or organisation("british-army" if nation == "GBR" else "jgsdf", nation)
    return make_user(username, nation, org=home, clearance=clearance,
                     clearance_until=timezone.localdate() + dt.timedelta(days=5 * 365))


def staff_exchange(visitor: Any, host: Organisation, *, first_in: int = 30, days: int = 365,
                   level: str = "", label: LabelSpec | None = None, kind: str = "staff",
                   exercise: Exercise | None = None, site: str = "Headquarters") -> StaffExchange:
    """An exchange of ``visitor`` at ``host`` (the other nation's), starting ``first_in`` days
    from today; by default at the other nation's SECRET and labelled at the visitor's lowest
    marking, releasable to both."""
    nation = visitor.nationality_id
    first = timezone.localdate() + dt.timedelta(days=first_in)
    return services.request_exchange(
        visitor, kind=kind, host=host, site=site, first_day=first,
        last_day=first + dt.timedelta(days=days - 1), purpose="Liaison officer posting",
        level=level or ("JPN/GOKUHI" if host.nation_id == "JPN" else "GBR/SECRET"),
        label=label or LabelSpec(nation, "OFFICIAL" if nation == "GBR" else "TORIATSUKAI-CHUI",
                                 ("GBR", "JPN")), exercise=exercise)
