"""A small ACSA world: logistics officers of both nations, a finance-free outsider, rates, and a
helper that walks an order to any state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from entente.core.models import Role
from entente.logistics import services
from entente.logistics.models import Order, OrderState, SettlementMethod
from entente.logistics.services import LineSpec
from entente.security.labels import LabelSpec
from entente.testing import make_user, organisation

DAY = dt.date(2026, 3, 2)  # the fixed clock the tests run on
UNCLASSIFIED = LabelSpec("GBR", "OFFICIAL", ("GBR", "JPN"))
SECRET = LabelSpec("GBR", "SECRET", ("GBR", "JPN"))
FUEL = LineSpec("pol", "F-34 aviation fuel", "12000", "litres", "0.85", "GBP")
MEALS = LineSpec("food", "Field rations", "400", "meals", "1200", "JPY")


@dataclass
class World:
    uk: Any  # logistics officer, GBR, cleared SECRET
    jp: Any  # logistics officer, JPN, cleared GOKUHI
    uk_uncleared: Any  # logistics officer, GBR, no clearance
    jp_planner: Any  # JPN exercise planner, cleared, not a logistics officer


@pytest.fixture
def world(db) -> World:
    uk_army = organisation("british-army", "GBR")
    jgsdf = organisation("jgsdf", "JPN")
    world = World(
        uk=make_user("uk-log", "GBR", org=uk_army, clearance="SECRET",
                     roles=[Role.LOGISTICS_OFFICER]),
        jp=make_user("jp-log", "JPN", org=jgsdf, clearance="GOKUHI",
                     roles=[Role.LOGISTICS_OFFICER]),
        uk_uncleared=make_user("uk-log2", "GBR", org=uk_army, roles=[Role.LOGISTICS_OFFICER]),
        jp_planner=make_user("jp-plan", "JPN", org=jgsdf, clearance="GOKUHI",
                             roles=[Role.EXERCISE_PLANNER]),
    )
    services.record_rate(world.uk, day=dt.date(2026, 1, 1), base="GBP", quote="JPY",
                         rate=Decimal("190.00"))
    return world


def order_in(world: World, state: str, *, label: LabelSpec = UNCLASSIFIED,
             method: str = SettlementMethod.REIMBURSEMENT, lines=(FUEL, MEALS),
             requester: Any = None, supplier: Any = None, on: dt.date = DAY) -> Order:
    """An order drafted by the UK for Japan to supply (or the other way, given the officers),
    walked through the lifecycle up to ``state``."""
    requester, supplier = requester or world.uk, supplier or world.jp
    order = services.draft_order(requester, supplying_nation=supplier.nationality_id,
                                 label=label, activity="bilateral-training",
                                 exercise="Vigilant Isles", settlement_method=method,
                                 lines=lines, on=on)
    steps = [
        (OrderState.REQUESTED, lambda o: services.request_order(requester, o, on)),
        (OrderState.ACCEPTED, lambda o: services.accept_order(supplier, o, on)),
        (OrderState.PROVIDED, lambda o: services.record_provision(supplier, o, on)),
        (OrderState.RECEIVED, lambda o: services.sign_receipt(requester, o, on)),
    ]
    for reached, step in steps:
        if order.state == state:
            break
        order = step(order)
        assert order.state == reached
    return order
