"""The order lifecycle against the real database: who may take each step, from which state, what
is kept, what is refused and that every refusal is on the audit record."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from entente.core.models import Role, RoleGrant
from entente.exchange import services as exchange
from entente.exchange.models import Document, Notification
from entente.logistics import selectors, services
from entente.logistics.models import (
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    Settlement,
    SettlementMethod,
    SourceDocument,
)
from entente.logistics.services import LineSpec, LogisticsError
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.security.selectors import NotFound
from entente.testing import make_user

from .conftest import DAY, FUEL, MEALS, SECRET, UNCLASSIFIED, attach_sources, order_in, refusals

pytestmark = pytest.mark.django_db

JAPANESE = LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN"))
S = OrderState
M = SettlementMethod


@pytest.fixture
def uk_planner(world) -> Any:
    """A cleared British user of the same organisation who is not a logistics officer."""
    return make_user("uk-plan", "GBR", org=world.uk.organisation, clearance="SECRET",
                     roles=[Role.EXERCISE_PLANNER])


def snapshot(order: Order) -> tuple[Any, ...]:
    """Everything about an order a service could change, read afresh."""
    fresh = Order.objects.get(pk=order.pk)
    return ({f.attname: getattr(fresh, f.attname) for f in Order._meta.concrete_fields},
            list(OrderLine.objects.filter(order=fresh).values()),
            list(OrderEvent.objects.filter(order=fresh).values()),
            list(LedgerEntry.objects.filter(order=fresh).values()),
            list(SourceDocument.objects.filter(order=fresh).values()),
            list(Settlement.objects.filter(order=fresh).values()))


def state_of(order: Order) -> str:
    return Order.objects.values_list("state", flat=True).get(pk=order.pk)


# --------------------------------------------------------------------------- who takes each step

# (action audited, the state the step needs, the side that takes it, the call)
STEPS: list[tuple[str, str, str, Any]] = [
    ("order.revise", S.DRAFTED, "requesting",
     lambda actor, o: services.revise_draft(actor, o, activity_description="Renamed")),
    ("order.request", S.DRAFTED, "requesting", lambda actor, o: services.request_order(actor, o, DAY)),
    ("order.accept", S.REQUESTED, "supplying", lambda actor, o: services.accept_order(actor, o, DAY)),
    ("order.refuse", S.REQUESTED, "supplying",
     lambda actor, o: services.refuse_order(actor, o, "No fuel to spare", DAY)),
    ("order.cancel", S.ACCEPTED, "requesting",
     lambda actor, o: services.cancel_order(actor, o, "Exercise called off", DAY)),
    ("order.provide", S.ACCEPTED, "supplying",
     lambda actor, o: services.record_provision(actor, o, DAY)),
    ("order.receipt", S.PROVIDED, "requesting",
     lambda actor, o: services.sign_receipt(actor, o, DAY)),
    ("order.settle", S.RECEIVED, "supplying",
     lambda actor, o: services.record_payment(actor, o, "BACS 42", DAY)),
]


@pytest.mark.parametrize(("action", "state", "side", "call"), STEPS, ids=[s[0] for s in STEPS])
def test_each_step_is_taken_only_by_a_logistics_officer_of_its_side(world, uk_planner, action,
                                                                   state, side, call):
    order = order_in(world, state)
    right = world.uk if side == "requesting" else world.jp
    wrong_nation = world.jp if side == "requesting" else world.uk
    not_logistics = uk_planner if side == "requesting" else world.jp_planner
    nation = "GBR" if side == "requesting" else "JPN"
    before = snapshot(order)
    for intruder in (wrong_nation, not_logistics):
        with pytest.raises(LogisticsError, match=f"logistics officer of the {side} party "
                                                  f"\\({nation}\\)"):
            call(intruder, order)
        assert snapshot(order) == before  # nothing written, not even an event
        refusal = refusals(action, intruder, order).get()
        assert nation in refusal.reason and refusal.object_type == "logistics.order"
    done = call(right, order)
    if action != "order.revise":
        assert state_of(order) == done.state != state
    assert not refusals(action, right).exists()
    assert AuditEvent.objects.filter(action=action, allowed=True, actor=right.username,
                                     object_id=str(order.pk)).exists()


def test_only_a_logistics_officer_drafts_and_for_the_other_party(world, uk_planner):
    for outsider in (uk_planner, world.jp_planner):
        with pytest.raises(LogisticsError, match="Only a logistics officer may draft"):
            services.draft_order(outsider, supplying_nation="JPN", label=UNCLASSIFIED,
                                 lines=[FUEL])
        assert refusals("order.draft", outsider).count() == 1
    # A logistics officer no longer: the role's grant ended yesterday.
    lapsed = make_user("uk-log-lapsed", "GBR", org=world.uk.organisation, clearance="SECRET")
    RoleGrant.objects.create(user=lapsed, role=Role.LOGISTICS_OFFICER,
                             valid_from=DAY - dt.timedelta(days=400),
                             valid_until=timezone.localdate() - dt.timedelta(days=1))
    # A British officer posted to a Japanese organisation acts for neither side.
    seconded = make_user("uk-log-seconded", "GBR", org=world.jp.organisation,
                         roles=[Role.LOGISTICS_OFFICER])
    for outsider in (lapsed, seconded):
        with pytest.raises(LogisticsError, match="Only a logistics officer may draft"):
            services.draft_order(outsider, supplying_nation="JPN", label=UNCLASSIFIED)
    order = order_in(world, S.DRAFTED)
    for outsider in (lapsed, seconded):
        with pytest.raises(LogisticsError, match="requesting party"):
            services.request_order(outsider, order, DAY)
    assert Order.objects.get().state == S.DRAFTED
    with pytest.raises(LogisticsError, match="other nation of the agreement"):
        services.draft_order(world.uk, supplying_nation="GBR", label=UNCLASSIFIED)
    with pytest.raises(LogisticsError, match="other nation of the agreement"):
        services.draft_order(world.uk, supplying_nation="XYZ", label=UNCLASSIFIED)
    with pytest.raises(LogisticsError, match="originated by your own nation"):
        services.draft_order(world.uk, supplying_nation="JPN", label=JAPANESE)
    with pytest.raises(LogisticsError, match="releasable to the supplying party"):
        services.draft_order(world.uk, supplying_nation="JPN",
                             label=LabelSpec("GBR", "OFFICIAL", ("GBR",)))
    with pytest.raises(LogisticsError, match="must be a logistics officer of JPN"):
        services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                             supplying_officer=world.jp_planner)
    with pytest.raises(LogisticsError, match="Unknown settlement method 'barter'"):
        services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                             settlement_method="barter")
    assert list(Order.objects.all()) == [order]  # none of the refused drafts was written


def test_order_numbers_say_whose_and_when_but_not_how_many_came_before(world):
    """A number carries no sequence: an officer who drafts an order learns nothing of the orders
    drafted before it that they may not see."""
    ours = [services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED, on=DAY)
            for _ in range(3)]
    theirs = services.draft_order(world.jp, supplying_nation="GBR", label=JAPANESE, on=DAY)
    pattern = re.compile(r"^(GBR|JPN)-2026-[0-9A-HJKMNP-TV-Z]{8}$")
    numbers = [o.number for o in (*ours, theirs)]
    assert all(pattern.match(n) for n in numbers), numbers
    assert len(set(numbers)) == 4
    assert [n[:9] for n in numbers] == ["GBR-2026-"] * 3 + ["JPN-2026-"]


def test_an_officer_cannot_draft_an_order_they_could_not_read_and_is_told_why(world):
    with pytest.raises(LogisticsError, match="could not read an order with this label") as err:
        services.draft_order(world.uk_uncleared, supplying_nation="JPN", label=SECRET)
    assert "clearance" in str(err.value)
    assert not Order.objects.exists()


# --------------------------------------------------------------------------- from which state

CALLS: dict[str, Any] = {
    "revise": lambda w, o: services.revise_draft(w.uk, o, activity_description="x"),
    "request": lambda w, o: services.request_order(w.uk, o, DAY),
    "accept": lambda w, o: services.accept_order(w.jp, o, DAY),
    "refuse": lambda w, o: services.refuse_order(w.jp, o, "no", DAY),
    "cancel": lambda w, o: services.cancel_order(w.uk, o, "no longer needed", DAY),
    "provide": lambda w, o: services.record_provision(w.jp, o, DAY),
    "receipt": lambda w, o: services.sign_receipt(w.uk, o, DAY),
    "payment": lambda w, o: services.record_payment(w.jp, o, "BACS 1", DAY),
    "close": lambda w, o: services.close_order(w.uk, o, DAY),
}
ALLOWED_FROM = {"revise": {S.DRAFTED}, "request": {S.DRAFTED}, "accept": {S.REQUESTED},
                "refuse": {S.REQUESTED}, "cancel": {S.DRAFTED, S.REQUESTED, S.ACCEPTED},
                "provide": {S.ACCEPTED}, "receipt": {S.PROVIDED}, "payment": {S.RECEIVED},
                "close": {S.SETTLED}}


def test_each_step_only_from_its_state(world):
    orders = {state: order_in(world, state)
              for state in (S.DRAFTED, S.REQUESTED, S.ACCEPTED, S.PROVIDED, S.RECEIVED)}
    settled = order_in(world, S.RECEIVED)
    services.record_payment(world.jp, settled, "BACS 7", DAY)
    orders[S.SETTLED] = settled
    tried = 0
    for name, call in CALLS.items():
        for state, order in orders.items():
            if state in ALLOWED_FROM[name]:
                continue
            before = snapshot(order)
            with pytest.raises(LogisticsError, match="this step needs it"):
                call(world, order)
            assert snapshot(order) == before, (name, state)
            tried += 1
    assert tried == 9 * 6 - sum(len(states) for states in ALLOWED_FROM.values())
    # Every one of those refusals is on the record, allowed=False.
    assert AuditEvent.objects.filter(allowed=False, reason__contains="this step needs it"
                                     ).count() == tried


def test_the_lifecycle_records_every_step_day_and_side(world):
    order = order_in(world, S.RECEIVED)
    services.record_payment(world.jp, order, "BACS 1234", on=DAY + dt.timedelta(days=10))
    order.refresh_from_db()
    assert [(e.state, e.by_id) for e in order.events.all()] == [
        (S.DRAFTED, world.uk.pk), (S.REQUESTED, world.uk.pk), (S.ACCEPTED, world.jp.pk),
        (S.PROVIDED, world.jp.pk), (S.RECEIVED, world.uk.pk), (S.SETTLED, world.jp.pk)]
    assert (order.requested_on, order.provided_on, order.received_on) == (DAY, DAY, DAY)
    assert order.received_by == world.uk and order.supplying_officer == world.jp
    assert order.settle_by == DAY + dt.timedelta(days=90)
    assert order.settled_on == DAY + dt.timedelta(days=10)
    assert order.settlement.reference == "BACS 1234"
    # Each side was told of the other's steps, in its own organisation's inbox.
    told = sorted(Notification.objects.filter(object_id=str(order.pk))
                  .values_list("organisation__code", "kind"))
    assert told == sorted([("jgsdf", "order.requested"), ("british-army", "order.accepted"),
                           ("british-army", "order.provided"), ("jgsdf", "order.received"),
                           ("british-army", "order.settled")])


def test_dates_cannot_run_backwards(world):
    order = order_in(world, S.ACCEPTED)
    with pytest.raises(LogisticsError, match="before they were requested"):
        services.record_provision(world.jp, order, DAY - dt.timedelta(days=1))
    services.record_provision(world.jp, order, DAY + dt.timedelta(days=2))
    with pytest.raises(LogisticsError, match="before the supplies were provided"):
        services.sign_receipt(world.uk, order, DAY + dt.timedelta(days=1))
    services.sign_receipt(world.uk, order, DAY + dt.timedelta(days=3))
    with pytest.raises(LogisticsError, match="cannot be settled before its receipt"):
        services.record_payment(world.jp, order, "BACS 1", DAY + dt.timedelta(days=2))
    assert not LedgerEntry.objects.filter(order=order, kind=LedgerKind.SETTLEMENT).exists()
    assert state_of(order) == S.RECEIVED


# --------------------------------------------------------------------------- settlement


def test_no_settlement_before_receipt_by_any_method(world):
    settle = {
        M.REIMBURSEMENT: lambda o, c: services.record_payment(world.jp, o, "BACS 9", DAY),
        M.REPLACEMENT: lambda o, c: services.record_return(world.jp, o, DAY),
        M.EQUAL_VALUE: lambda o, c: services.exchange_equal_value(world.jp, o, c, DAY),
    }
    counter = order_in(world, S.RECEIVED, method=M.EQUAL_VALUE, requester=world.jp,
                       supplier=world.uk, label=JAPANESE, lines=[MEALS])
    tried = 0
    for method, call in settle.items():
        for state in (S.DRAFTED, S.REQUESTED, S.ACCEPTED, S.PROVIDED):
            order = order_in(world, state, method=method)
            with pytest.raises(LogisticsError, match="this step needs it receipt signed"):
                call(order, counter)
            tried += 1
            assert state_of(order) == state
            assert not LedgerEntry.objects.filter(order=order).exists()
            assert not Settlement.objects.filter(order=order).exists()
    assert state_of(counter) == S.RECEIVED and not Settlement.objects.filter(order=counter).exists()
    assert refusals("order.settle", world.jp).count() == tried


def test_a_payment_settles_only_a_reimbursement_and_nets_the_ledger_to_zero(world):
    order = order_in(world, S.RECEIVED, method=M.REPLACEMENT)
    with pytest.raises(LogisticsError, match="to be settled by replacement in kind"):
        services.record_payment(world.jp, order, "BACS 1", DAY)
    with pytest.raises(LogisticsError, match="payment's reference"):
        services.record_payment(world.jp, order_in(world, S.RECEIVED), "  ", DAY)
    paid = order_in(world, S.RECEIVED)
    services.record_payment(world.jp, paid, "BACS 1", DAY)
    rows = list(LedgerEntry.objects.filter(order=paid).values_list("kind", "currency", "amount"))
    assert sorted(rows) == sorted([
        (LedgerKind.RECEIPT, "GBP", Decimal("10200")), (LedgerKind.RECEIPT, "JPY", Decimal("480000")),
        (LedgerKind.SETTLEMENT, "GBP", Decimal("-10200")),
        (LedgerKind.SETTLEMENT, "JPY", Decimal("-480000"))])
    assert all(isinstance(amount, Decimal) for _kind, _currency, amount in rows)


def test_replacement_in_kind_is_owed_from_receipt_and_settled_on_return(world):
    order = order_in(world, S.PROVIDED, method=M.REPLACEMENT)
    assert not Settlement.objects.filter(order=order).exists()
    services.sign_receipt(world.uk, order, DAY)
    obligation = Settlement.objects.get(order=order)
    assert obligation.method == M.REPLACEMENT and obligation.settled_on is None
    assert obligation.return_due == DAY + dt.timedelta(days=365)
    assert obligation.to_return.splitlines() == ["12000 litres — F-34 aviation fuel",
                                                 "400 meals — Field rations"]
    assert sum(LedgerEntry.objects.filter(order=order).values_list("amount", flat=True)) > 0
    with pytest.raises(LogisticsError, match="supplying party"):
        services.record_return(world.uk, order, DAY)  # the receiving side cannot say so itself
    returned_on = DAY + dt.timedelta(days=200)
    services.record_return(world.jp, order, returned_on, note="Same grade, Yokosuka depot")
    obligation.refresh_from_db()
    assert (obligation.returned_on, obligation.settled_on) == (returned_on, returned_on)
    assert state_of(order) == S.SETTLED
    by_currency: dict[str, Decimal] = {}
    for currency, amount in LedgerEntry.objects.filter(order=order).values_list("currency",
                                                                                "amount"):
        by_currency[currency] = by_currency.get(currency, Decimal(0)) + amount
    assert by_currency == {"GBP": 0, "JPY": 0}


def _counter(world: Any, state: str = S.RECEIVED, meals: str = "1615") -> Order:
    """An order of Japan's for British rations: 1,615 × ¥1,200 = ¥1,938,000 = £10,200 at 190."""
    line = LineSpec("food", "Composite rations", meals, "meals", "1200", "JPY")
    return order_in(world, state, method=M.EQUAL_VALUE, requester=world.jp, supplier=world.uk,
                    label=JAPANESE, lines=[line])


def test_an_exchange_of_equal_value_settles_both_orders(world):
    ours = order_in(world, S.RECEIVED, method=M.EQUAL_VALUE, lines=[FUEL])  # £10,200
    theirs = _counter(world)
    first, second = services.exchange_equal_value(world.uk, ours, theirs, DAY)
    assert (first.pk, second.pk) == (ours.pk, theirs.pk)
    for order, other in ((ours, theirs), (theirs, ours)):
        assert state_of(order) == S.SETTLED
        settlement = Settlement.objects.get(order=order)
        assert (settlement.method, settlement.counter_order_id) == (M.EQUAL_VALUE, other.pk)
        assert settlement.settled_on == DAY
    assert sorted(LedgerEntry.objects.values_list("order__number", "debtor", "currency", "amount")
                  ) == sorted([
        (ours.number, "GBR", "GBP", Decimal("10200")), (ours.number, "GBR", "GBP", Decimal("-10200")),
        (theirs.number, "JPN", "JPY", Decimal("1938000")),
        (theirs.number, "JPN", "JPY", Decimal("-1938000"))])
    assert {(b.debtor, b.creditor): b.amounts for b in selectors.balances(world.uk, DAY)} == {
        ("GBR", "JPN"): {"GBP": 0}, ("JPN", "GBR"): {"JPY": 0}}
    audit = AuditEvent.objects.filter(action="order.settle", allowed=True, actor="uk-log")
    assert audit.count() == 2


@pytest.mark.parametrize(("meals", "equal"), [
    # Compared in yen (the first order's currency): £10,200 is ¥1,938,000 at 190.
    ("1600", True),  # ¥1,920,000: ¥18,000 short, within 1% of the larger (¥19,380)
    ("1590", False),  # ¥1,908,000: ¥30,000 short
    ("1700", False),  # ¥2,040,000: ¥102,000 over, beyond 1% of the larger (¥20,400)
])
def test_an_exchange_of_unequal_value_is_refused_beyond_the_tolerance(world, meals, equal):
    ours = order_in(world, S.RECEIVED, method=M.EQUAL_VALUE, lines=[FUEL])
    theirs = _counter(world, meals=meals)
    if equal:
        services.exchange_equal_value(world.jp, theirs, ours, DAY)
        assert state_of(ours) == state_of(theirs) == S.SETTLED
        return
    with pytest.raises(LogisticsError, match="not of equal value"):
        services.exchange_equal_value(world.jp, theirs, ours, DAY)
    assert state_of(ours) == state_of(theirs) == S.RECEIVED
    assert not Settlement.objects.filter(order__in=[ours, theirs]).exists()
    assert not LedgerEntry.objects.filter(kind=LedgerKind.SETTLEMENT).exists()


def test_an_exchange_needs_two_received_equal_value_orders_in_opposite_directions(world):
    ours = order_in(world, S.RECEIVED, method=M.EQUAL_VALUE, lines=[FUEL])
    also_ours = order_in(world, S.RECEIVED, method=M.EQUAL_VALUE, lines=[FUEL])
    with pytest.raises(LogisticsError, match="opposite directions"):
        services.exchange_equal_value(world.uk, ours, also_ours, DAY)
    with pytest.raises(LogisticsError, match="against itself"):
        services.exchange_equal_value(world.uk, ours, ours, DAY)
    paid_in_cash = order_in(world, S.RECEIVED, requester=world.jp, supplier=world.uk,
                            label=JAPANESE, lines=[FUEL])
    with pytest.raises(LogisticsError, match="reimbursement in currency"):
        services.exchange_equal_value(world.uk, ours, paid_in_cash, DAY)
    theirs = _counter(world)
    with pytest.raises(LogisticsError, match="one of the two parties"):
        services.exchange_equal_value(world.jp_planner, ours, theirs, DAY)
    # Received on DAY: exchanged the day before, neither is settled (all or nothing).
    with pytest.raises(LogisticsError, match="before its receipt was signed"):
        services.exchange_equal_value(world.uk, ours, theirs, DAY - dt.timedelta(days=1))
    assert not LedgerEntry.objects.filter(kind=LedgerKind.SETTLEMENT).exists()
    assert not Settlement.objects.exists()
    assert state_of(ours) == state_of(also_ours) == S.RECEIVED


# --------------------------------------------------------------------------- final states


@pytest.fixture
def final_orders(world) -> dict[str, Order]:
    refused = order_in(world, S.REQUESTED)
    services.refuse_order(world.jp, refused, "Fuel reserved for a typhoon", DAY)
    cancelled = order_in(world, S.ACCEPTED)
    services.cancel_order(world.uk, cancelled, "Exercise called off", DAY)
    closed = order_in(world, S.RECEIVED)
    services.record_payment(world.jp, closed, "BACS 5", DAY)
    attach_sources(world.uk, closed)
    services.close_order(world.jp, closed, DAY)
    return {S.REFUSED: refused, S.CANCELLED: cancelled, S.CLOSED: closed}


def test_nothing_changes_a_refused_cancelled_or_closed_order(world, final_orders):
    document = exchange.create_document(actor=world.uk, label=UNCLASSIFIED, title_en="Late note")
    counter = _counter(world)
    uk, jp = world.uk, world.jp
    every_service = {
        "revise": lambda o: services.revise_draft(uk, o, activity_description="x", lines=[FUEL]),
        "request": lambda o: services.request_order(uk, o, DAY),
        "accept": lambda o: services.accept_order(jp, o, DAY),
        "refuse": lambda o: services.refuse_order(jp, o, "again", DAY),
        "cancel": lambda o: services.cancel_order(uk, o, "again", DAY),
        "provide": lambda o: services.record_provision(jp, o, DAY),
        "receipt": lambda o: services.sign_receipt(uk, o, DAY),
        "payment": lambda o: services.record_payment(jp, o, "BACS 6", DAY),
        "return": lambda o: services.record_return(jp, o, DAY),
        "exchange": lambda o: services.exchange_equal_value(uk, o, counter, DAY),
        "exchange (as counter)": lambda o: services.exchange_equal_value(uk, counter, o, DAY),
        "close": lambda o: services.close_order(uk, o, DAY),
        "attach": lambda o: services.attach_document(uk, o, "other", document),
        "upload": lambda o: services.upload_document(uk, o, "other", label=UNCLASSIFIED,
                                                     title_en="Afterthought", body="late"),
    }
    documents = Document.objects.count()
    for state, order in final_orders.items():
        assert state_of(order) == state
        before = snapshot(order)
        for name, call in every_service.items():
            with pytest.raises(LogisticsError, match="can no longer change"):
                call(order)
            assert snapshot(order) == before, (state, name)
        refused = AuditEvent.objects.filter(object_id=str(order.pk), allowed=False,
                                            reason__contains="can no longer change")
        assert refused.count() == len(every_service)
    # The upload failed whole: no document left behind without its order.
    assert Document.objects.count() == documents
    assert state_of(counter) == S.RECEIVED


def test_cancellation_keeps_the_order_its_lines_and_its_history(world):
    order = order_in(world, S.ACCEPTED)
    lines = list(OrderLine.objects.filter(order=order).values())
    with pytest.raises(LogisticsError, match="Say why"):
        services.cancel_order(world.uk, order, "   ", DAY)
    services.cancel_order(world.uk, order, "  Exercise called off  ", DAY + dt.timedelta(days=1))
    kept = Order.objects.get(pk=order.pk)
    assert kept.state == S.CANCELLED
    assert list(OrderLine.objects.filter(order=kept).values()) == lines
    assert [(e.state, e.note) for e in OrderEvent.objects.filter(order=kept)] == [
        (S.DRAFTED, ""), (S.REQUESTED, ""), (S.ACCEPTED, ""), (S.CANCELLED, "Exercise called off")]
    assert OrderEvent.objects.get(order=kept, state=S.CANCELLED).on == DAY + dt.timedelta(days=1)
    assert not LedgerEntry.objects.filter(order=kept).exists()
    event = AuditEvent.objects.get(action="order.cancel", allowed=True)
    assert event.details["was"] == S.ACCEPTED and event.details["reason"] == "Exercise called off"
    assert Notification.objects.filter(kind="order.cancelled", object_id=str(order.pk),
                                       organisation=world.jp.organisation).count() == 1
    # Still listed and readable by both sides, as cancelled.
    assert selectors.order_for(world.jp, order.number).state == S.CANCELLED
    assert selectors.count_orders(world.uk, state=S.CANCELLED) == 1
    # A draft cancelled never reached the other side: nobody there is told.
    draft = order_in(world, S.DRAFTED)
    services.cancel_order(world.uk, draft, "Typo", DAY)
    assert not Notification.objects.filter(object_id=str(draft.pk)).exists()


def test_an_order_provided_can_no_longer_be_cancelled(world):
    for state in (S.PROVIDED, S.RECEIVED):
        order = order_in(world, state)
        with pytest.raises(LogisticsError, match="this step needs it drafted, requested, accepted"):
            services.cancel_order(world.uk, order, "Changed our mind", DAY)
        assert state_of(order) == state
    assert refusals("order.cancel", world.uk).count() == 2


# --------------------------------------------------------------------------- closing


def test_close_needs_the_receipt_the_delivery_note_and_the_invoice(world):
    order = order_in(world, S.RECEIVED)
    services.record_payment(world.jp, order, "BACS 77", DAY)
    with pytest.raises(LogisticsError, match="attach the signed receipt; delivery note; invoice"):
        services.close_order(world.uk, order, DAY)
    # One through the exchange and then attached, one uploaded, one of another kind.
    receipt = exchange.create_document(actor=world.uk, label=UNCLASSIFIED,
                                       title_en="Signed receipt", body="Received 12,000 l")
    services.attach_document(world.uk, order, "receipt", receipt)
    with pytest.raises(LogisticsError, match="already attached"):
        services.attach_document(world.jp, order, "invoice", receipt)
    with pytest.raises(LogisticsError, match="Unknown kind of source document"):
        services.attach_document(world.uk, order, "memo", receipt)
    attach_sources(world.jp, order, kinds=("delivery-note", "other"))
    with pytest.raises(LogisticsError, match=r"attach the invoice\.$"):
        services.close_order(world.jp, order, DAY)
    assert refusals("order.close", world.uk, order).count() == 1
    assert refusals("order.close", world.jp, order).count() == 1
    with pytest.raises(LogisticsError, match="one of the two parties"):
        attach_sources(world.jp_planner, order, kinds=("invoice",))
    attach_sources(world.jp, order, kinds=("invoice",))
    closed_on = DAY + dt.timedelta(days=3)
    services.close_order(world.uk, order, closed_on)
    order.refresh_from_db()
    assert (order.state, order.closed_on) == (S.CLOSED, closed_on)
    assert sorted(order.source_documents.values_list("kind", flat=True)) == [
        "delivery-note", "invoice", "other", "receipt"]
    assert OrderEvent.objects.filter(order=order).last().state == S.CLOSED
    [row] = [r for r in selectors.reconciliation(world.uk, on=closed_on) if r.order == order]
    assert row.problems == () and row.owed == {}


def test_a_document_the_officer_may_not_view_cannot_be_attached(world):
    order = order_in(world, S.RECEIVED)
    secret = exchange.create_document(actor=world.uk, label=SECRET, title_en="Secret invoice")
    uk_eyes = exchange.create_document(actor=world.uk, label=LabelSpec("GBR", "OFFICIAL", ("GBR",)),
                                       title_en="UK eyes")
    with pytest.raises(LogisticsError, match="No document you may view"):
        services.attach_document(world.uk_uncleared, order, "invoice", secret)
    with pytest.raises(LogisticsError, match="No document you may view"):
        services.attach_document(world.jp, order, "invoice", uk_eyes)
    assert not SourceDocument.objects.exists()
    # The cleared officer may attach it; the uncleared one then does not see it listed.
    services.attach_document(world.uk, order, "invoice", secret)
    assert list(selectors.source_documents_of(world.uk, order).values_list("kind", flat=True)) \
        == ["invoice"]
    assert not selectors.source_documents_of(world.uk_uncleared, order).exists()


# --------------------------------------------------------------------------- completeness


def test_an_incomplete_draft_cannot_be_requested_and_the_message_names_what_is_missing(world):
    draft = services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED, on=DAY)
    with pytest.raises(LogisticsError) as refused:
        services.request_order(world.uk, draft, DAY)
    message = str(refused.value)
    assert draft.number in message
    for missing in ("the activity", "the settlement method", "at least one line"):
        assert missing in message
    assert "a price on every line" not in message
    services.revise_draft(world.uk, draft, activity="bilateral-training",
                          lines=[LineSpec("water", "Bottled water", "500", "litres", "0", "GBP")])
    with pytest.raises(LogisticsError) as refused:
        services.request_order(world.uk, draft, DAY)
    message = str(refused.value)
    assert "the settlement method" in message and "a price on every line" in message
    assert "the activity" not in message and "at least one line" not in message
    services.revise_draft(world.uk, draft, settlement_method=M.REIMBURSEMENT,
                          lines=[LineSpec("water", "Bottled water", "500", "litres", "0.40",
                                          "GBP")])
    services.request_order(world.uk, draft, DAY)
    assert state_of(draft) == S.REQUESTED
    assert refusals("order.request", world.uk, draft).count() == 2
    assert list(OrderLine.objects.filter(order=draft).values_list("position", "amount")) == [
        (1, Decimal("200.00"))]


def test_only_a_draft_is_revised_and_only_its_own_fields(world):
    draft = order_in(world, S.DRAFTED)
    with pytest.raises(LogisticsError, match="cannot be changed here: label, supplying_nation"):
        services.revise_draft(world.uk, draft, label=SECRET, supplying_nation="GBR")
    services.revise_draft(world.uk, draft, activity_description="  Pacific Tiger ", lines=[MEALS])
    draft.refresh_from_db()
    assert draft.activity_description == "Pacific Tiger"
    assert list(draft.lines.values_list("position", "category__code", "amount")) == [
        (1, "food", Decimal("480000"))]
    assert AuditEvent.objects.get(action="order.revise", allowed=True).details == {
        "changed": ["activity_description"], "lines": 1}


def test_a_line_is_checked_as_it_is_given(world):
    def draft(*lines: LineSpec) -> Order:
        return services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                                    activity="bilateral-training", lines=lines)

    bad = {
        "quantity must be more than zero": LineSpec("pol", "Fuel", "0", "l", "1", "GBP"),
        "unit price cannot be negative": LineSpec("pol", "Fuel", "1", "l", "-1", "GBP"),
        "quantity 'lots' is not a number": LineSpec("pol", "Fuel", "lots", "l", "1", "GBP"),
        "unit price 'NaN' is not a number": LineSpec("pol", "Fuel", "1", "l", "NaN", "GBP"),
        "at most 4 decimal places": LineSpec("pol", "Fuel", "1.00001", "l", "1", "GBP"),
        "too large": LineSpec("pol", "Fuel", "1", "l", "1e16", "GBP"),
        "amount '.*' is too large": LineSpec("pol", "Fuel", "1e6", "l", "1e6", "GBP"),
        "currency must be one of GBP, JPY": LineSpec("pol", "Fuel", "1", "l", "1", "USD"),
        "describe what is supplied": LineSpec("pol", "  ", "1", "l", "1", "GBP"),
        "give the unit": LineSpec("pol", "Fuel", "1", "", "1", "GBP"),
    }
    for message, line in bad.items():
        with pytest.raises(LogisticsError, match=f"Line 2: .*{message}"):
            draft(FUEL, line)
    assert not Order.objects.exists()
    # Text as a form gives it: thousands separators, lower-case currency, a price finer than
    # the currency's unit (the amount is rounded once, half to even).
    order = draft(LineSpec("pol", "Fuel", "1,000", "l", "0.855", "gbp"),
                  LineSpec("food", "Sheets", "3", "sheets", "0.5", "JPY"))
    assert list(order.lines.values_list("quantity", "unit_price", "currency", "amount")) == [
        (Decimal("1000"), Decimal("0.855"), "GBP", Decimal("855.00")),
        (Decimal("3"), Decimal("0.5"), "JPY", Decimal("2"))]


def test_accept_makes_the_accepting_officer_the_supplying_officer(world):
    order = order_in(world, S.REQUESTED)
    assert order.supplying_officer is None
    services.accept_order(world.jp, order, DAY, note="  From Camp Asaka stocks ")
    order.refresh_from_db()
    assert order.supplying_officer == world.jp
    assert OrderEvent.objects.get(order=order, state=S.ACCEPTED).note == "From Camp Asaka stocks"
    # An officer named at the draft stays the authorised officer whoever accepts.
    named = make_user("jp-log2", "JPN", org=world.jp.organisation, clearance="GOKUHI",
                      roles=[Role.LOGISTICS_OFFICER])
    other = services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                                 activity="routine", settlement_method=M.REIMBURSEMENT,
                                 supplying_officer=named, lines=[FUEL], on=DAY)
    services.request_order(world.uk, other, DAY)
    services.accept_order(world.jp, other, DAY)
    other.refresh_from_db()
    assert other.supplying_officer == named


def test_a_refusal_needs_a_reason_and_keeps_it(world):
    order = order_in(world, S.REQUESTED)
    with pytest.raises(LogisticsError, match="Say why the order is refused"):
        services.refuse_order(world.jp, order, "", DAY)
    services.refuse_order(world.jp, order, "Fuel reserved for a typhoon", DAY)
    assert OrderEvent.objects.get(order=order, state=S.REFUSED).note == "Fuel reserved for a typhoon"
    assert Notification.objects.filter(kind="order.refused", object_id=str(order.pk),
                                       organisation=world.uk.organisation).exists()


# --------------------------------------------------------------------------- classified orders


def test_an_uncleared_officer_acting_on_a_secret_order_finds_nothing(world):
    orders = {state: order_in(world, state, label=SECRET)
              for state in (S.DRAFTED, S.REQUESTED, S.ACCEPTED, S.PROVIDED, S.RECEIVED)}
    document = exchange.create_document(actor=world.uk, label=UNCLASSIFIED, title_en="Invoice")
    stranger = world.uk_uncleared
    calls = {
        S.DRAFTED: [lambda o: services.revise_draft(stranger, o, activity_description="x"),
                    lambda o: services.request_order(stranger, o, DAY),
                    lambda o: services.cancel_order(stranger, o, "why", DAY),
                    lambda o: services.attach_document(stranger, o, "invoice", document),
                    lambda o: services.upload_document(stranger, o, "invoice",
                                                       label=UNCLASSIFIED, title_en="Invoice")],
        S.REQUESTED: [lambda o: services.accept_order(stranger, o, DAY),
                      lambda o: services.refuse_order(stranger, o, "no", DAY)],
        S.ACCEPTED: [lambda o: services.record_provision(stranger, o, DAY)],
        S.PROVIDED: [lambda o: services.sign_receipt(stranger, o, DAY)],
        S.RECEIVED: [lambda o: services.record_payment(stranger, o, "BACS", DAY),
                     lambda o: services.record_return(stranger, o, DAY),
                     lambda o: services.close_order(stranger, o, DAY),
                     lambda o: services.exchange_equal_value(stranger, o, _counter(world), DAY)],
    }
    documents = Document.objects.count()
    for state, tries in calls.items():
        before = snapshot(orders[state])
        for call in tries:
            with pytest.raises(NotFound):
                call(orders[state])
        assert snapshot(orders[state]) == before
        denials = AuditEvent.objects.filter(action="access.view", allowed=False,
                                            actor=stranger.username,
                                            object_id=str(orders[state].pk))
        assert denials.count() >= len(tries)
        # Nothing in the record says more than "not found": no step was refused by name.
        assert not AuditEvent.objects.filter(actor=stranger.username, allowed=False,
                                             object_id=str(orders[state].pk),
                                             action__startswith="order.").exists()
    assert Document.objects.count() == documents


# --------------------------------------------------------------------------- overdue


def test_overdue_on_a_fixed_clock_and_both_sides_told_once(world):
    received = order_in(world, S.RECEIVED)  # on DAY, reimbursement: 90 days
    in_kind = order_in(world, S.RECEIVED, method=M.REPLACEMENT)  # 365 days
    paid = order_in(world, S.RECEIVED)
    services.record_payment(world.jp, paid, "BACS 3", DAY + dt.timedelta(days=20))
    deadline = DAY + dt.timedelta(days=90)
    assert Order.objects.get(pk=received.pk).settle_by == deadline
    for viewer in (world.uk, world.jp):
        assert list(selectors.visible_orders(viewer, overdue_on=deadline)) == []
        assert list(selectors.visible_orders(viewer, overdue_on=deadline + dt.timedelta(days=1))
                    ) == [received]
        assert set(selectors.visible_orders(viewer, overdue_on=DAY + dt.timedelta(days=366))
                   ) == {received, in_kind}
    assert services.flag_overdue(deadline) == []
    assert not Notification.objects.filter(kind="order.overdue").exists()
    flagged = services.flag_overdue(deadline + dt.timedelta(days=1))
    assert flagged == [received]
    told = Notification.objects.filter(kind="order.overdue", object_id=str(received.pk))
    assert sorted(told.values_list("organisation__code", flat=True)) == ["british-army", "jgsdf"]
    assert Order.objects.get(pk=received.pk).overdue_flagged_on == deadline + dt.timedelta(days=1)
    # A second run, the same day or later, tells nobody again.
    assert services.flag_overdue(deadline + dt.timedelta(days=1)) == []
    assert services.flag_overdue(deadline + dt.timedelta(days=30)) == []
    assert told.count() == 2
    assert AuditEvent.objects.filter(action="order.overdue", object_id=str(received.pk)).count() == 1
    # Settled late, it is no longer overdue anywhere.
    services.record_payment(world.jp, received, "BACS late", deadline + dt.timedelta(days=40))
    assert selectors.count_orders(world.uk, overdue_on=deadline + dt.timedelta(days=41)) == 0


def test_an_overdue_secret_order_is_flagged_without_telling_its_title(world):
    order = order_in(world, S.RECEIVED, label=SECRET)
    later = DAY + dt.timedelta(days=91)
    assert services.flag_overdue(later) == [order]
    assert selectors.count_orders(world.uk_uncleared, overdue_on=later) == 0
    assert selectors.count_orders(world.uk, overdue_on=later) == 1
    # The inbox item names the order's id only; the link goes through the kernel.
    item = Notification.objects.get(kind="order.overdue", organisation=world.uk.organisation)
    assert (item.object_type, item.object_id) == ("logistics.order", str(order.pk))
    with pytest.raises(NotFound):
        selectors.order_for(world.uk_uncleared, item.object_id)


def test_an_unknown_order_id_and_a_forbidden_one_answer_alike(world):
    order = order_in(world, S.REQUESTED, label=SECRET)
    answers = []
    for key in (order.pk, order.number, uuid.uuid4(), "GBR-2026-99999", "not an id"):
        with pytest.raises(NotFound) as raised:
            selectors.order_for(world.uk_uncleared, key)
        answers.append((type(raised.value), raised.value.args))
    assert len(set(answers)) == 1
    assert AuditEvent.objects.filter(actor=world.uk_uncleared.username, allowed=False,
                                     action="access.view").count() == 5
    assert selectors.order_for(world.uk, order.number) == order
    assert selectors.order_for(world.jp, str(order.pk)) == order
