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
                                 activity_description="Vigilant Isles", settlement_method=method,
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


def refusals(action: str, user: Any, order: Order | None = None) -> Any:
    """The audited refusals of ``action`` by ``user`` (on ``order``, if given)."""
    from entente.security.models import AuditEvent

    events = AuditEvent.objects.filter(action=action, allowed=False, actor=user.username)
    return events.filter(object_id=str(order.pk)) if order is not None else events


def attach_sources(actor: Any, order: Order, kinds: tuple[str, ...] = (
        "receipt", "delivery-note", "invoice"), label: LabelSpec = UNCLASSIFIED) -> list[Any]:
    """Real exchange documents (encrypted, labelled) uploaded as the order's source documents."""
    label = label if label.originator == actor.nationality_id else LabelSpec(
        actor.nationality_id, "TORIATSUKAI-CHUI" if actor.nationality_id == "JPN" else "OFFICIAL",
        ("GBR", "JPN"))
    return [services.upload_document(actor, order, kind, label=label, title_en=f"{order} {kind}",
                                     body=f"{kind} for {order}") for kind in kinds]

