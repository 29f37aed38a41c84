"""A small exercises world: planners of both nations (one uncleared), security officers of both
security authorities, and one exercise labelled at each end of the scale."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from entente.core.models import Role
from entente.exercises import services
from entente.exercises.models import Exercise, ExerciseKind
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
             kind: str = ExerciseKind.HADR, starts_in: int = 60, days: int = 10) -> Exercise:
    starts = DAY + dt.timedelta(days=starts_in)
    return services.propose_exercise(
        world.uk, code=code, label=label, kind=kind, lead_nation="GBR", starts_on=starts,
        ends_on=starts + dt.timedelta(days=days - 1), name_en=f"Exercise {code}",
        name_ja="共同訓練", objectives_en="Practise disaster relief together.",
        locations=[("Salisbury Plain", "GBR")],
        units=[UnitSpec("GBR", "16 Air Assault Brigade", 400, "4 Chinook"),
               UnitSpec("JPN", "1st Airborne Brigade", 300, "2 CH-47J")], on=DAY)
