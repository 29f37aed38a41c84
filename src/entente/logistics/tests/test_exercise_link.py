"""Orders raised under an exercise on record: only one the drafter may view, only under a label
that protects the exercise at least as well (else the order's readers would learn of it), and
listed on the exercise with their totals, for each reader only the orders they may view."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from entente.core.models import Role, RoleGrant
from entente.exercises import services as exercises
from entente.exercises.models import ExerciseKind
from entente.logistics import selectors, services
from entente.logistics.models import OrderState
from entente.logistics.services import LogisticsError
from entente.security.labels import LabelSpec
from entente.testing import verified_client

from .conftest import DAY, FUEL, MEALS, SECRET, UNCLASSIFIED, order_in


@pytest.fixture
def drills(world):
    """An OFFICIAL and a SECRET exercise, proposed by the UK officer (also a planner here)."""
    RoleGrant.objects.create(user=world.uk, role=Role.EXERCISE_PLANNER)
    start = dt.date.today() + dt.timedelta(days=30)

    def propose(code: str, label: LabelSpec):
        return exercises.propose_exercise(
            world.uk, code=code, label=label, kind=ExerciseKind.HADR, lead_nation="GBR",
            starts_on=start, ends_on=start + dt.timedelta(days=5), name_en=code.title())

    return propose("pacific-reach", UNCLASSIFIED), propose("nightjar", SECRET)


def test_an_order_names_only_an_exercise_its_label_protects(world, drills):
    open_drill, secret_drill = drills
    order = services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                                 activity="bilateral-training", exercise="pacific-reach",
                                 lines=[FUEL], on=DAY)
    assert order.exercise == open_drill
    # An OFFICIAL order under a SECRET exercise would show the exercise to OFFICIAL readers.
    with pytest.raises(LogisticsError, match="protect it at least as well as exercise nightjar"):
        services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                             exercise=secret_drill, on=DAY)
    secret_order = services.draft_order(world.uk, supplying_nation="JPN", label=SECRET,
                                        exercise="nightjar", lines=[MEALS], on=DAY)
    assert secret_order.exercise == secret_drill
    # Hidden and missing exercises answer alike.
    for code in ("nightjar", "no-such-drill"):
        with pytest.raises(LogisticsError, match=f"No exercise you may view has the code {code}"):
            services.draft_order(world.uk_uncleared, supplying_nation="JPN", label=UNCLASSIFIED,
                                 exercise=code, on=DAY)
    # A draft is moved to another exercise, or unlinked.
    services.revise_draft(world.uk, order, exercise="")
    order.refresh_from_db()
    assert order.exercise is None
    with pytest.raises(LogisticsError, match="protect it at least as well"):
        services.revise_draft(world.uk, order, exercise="nightjar")


def test_the_exercise_lists_its_orders_and_totals_for_each_reader(world, drills):
    open_drill, secret_drill = drills
    shown = order_in(world, OrderState.RECEIVED, lines=(FUEL, MEALS))
    first = services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                                 activity="bilateral-training", exercise=open_drill,
                                 settlement_method="reimbursement", lines=[FUEL, MEALS], on=DAY)
    cancelled = services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                                     exercise=open_drill, lines=[FUEL], on=DAY)
    services.cancel_order(world.uk, cancelled, "not needed", DAY)
    hidden = services.draft_order(world.uk, supplying_nation="JPN", label=SECRET,
                                  exercise=open_drill, lines=[FUEL], on=DAY)
    cleared = selectors.orders_of_exercise(world.uk, open_drill)
    assert {o.pk for o in cleared.orders} == {first.pk, cancelled.pk, hidden.pk}
    assert cleared.totals == {"GBP": Decimal("20400.00"), "JPY": Decimal("480000")}
    uncleared = selectors.orders_of_exercise(world.uk_uncleared, open_drill)
    assert {o.pk for o in uncleared.orders} == {first.pk, cancelled.pk} and uncleared.count == 2
    assert uncleared.totals == {"GBP": Decimal("10200.00"), "JPY": Decimal("480000")}
    assert shown.exercise is None and secret_drill.orders.count() == 0

    # The exercise page shows the same, and the order page links back to the exercise.
    page = verified_client(world.uk_uncleared).get(
        reverse("exercises:exercise", args=[open_drill.code])).content.decode()
    assert first.number in page and hidden.number not in page and "10,200.00" in page
    order_page = verified_client(world.uk).get(
        reverse("logistics:order", args=[first.pk])).content.decode()
    assert reverse("exercises:exercise", args=["pacific-reach"]) in order_page
