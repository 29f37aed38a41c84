"""The logistics API end to end, on the `world` of conftest, with real users signed in (password and
TOTP session, as the middleware demands): an order driven through its whole life over the API, a
SECRET order that the uncleared officer finds on no endpoint (its id and number answer exactly as
a random one), money that always comes back as exact decimal strings, and bad input that answers
422 with a message and changes nothing in the database."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from ninja import Schema
from schemathesis.config import SchemathesisConfig

from entente.api import api
from entente.exchange import services as exchange
from entente.logistics import schemas
from entente.logistics.models import (
    ExchangeRate,
    LedgerEntry,
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    Settlement,
    SettlementMethod,
    SourceDocument,
)
from entente.logistics.services import LineSpec
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.testing import verified_client
from entente.wsgi import application

from .conftest import DAY, FUEL, MEALS, SECRET, order_in

pytestmark = pytest.mark.django_db

BASE = "/api/v1/logistics"
OFFICIAL = "GBR/OFFICIAL|rel=GBR,JPN"
FUEL_IN = {"category": "pol", "description": "F-34 aviation fuel", "quantity": "12000",
           "unit": "litres", "unit_price": "0.85", "currency": "GBP"}
MEALS_IN = {"category": "food", "description": "Field rations", "quantity": "400",
            "unit": "meals", "unit_price": "1200", "currency": "JPY"}
DRAFT = {"supplying_nation": "JPN", "label": OFFICIAL, "activity": "bilateral-training",
         "activity_description": "Vigilant Isles", "settlement_method": "reimbursement",
         "lines": [FUEL_IN, MEALS_IN]}
TOTALS = [{"amount": "10200.00", "currency": "GBP"}, {"amount": "480000", "currency": "JPY"}]
JAPANESE = LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN"))


def _send(client, method: str, path: str, data: Any = None):
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(path, body, content_type="application/json")


def ok(client, method: str, path: str, data: Any = None, status: int = 200) -> Any:
    response = _send(client, method, path, data)
    assert response.status_code == status, (path, response.status_code, response.content)
    return response.json() if response.content else None


def problem(client, method: str, path: str, data: Any = None, status: int = 422) -> str:
    response = _send(client, method, path, data)
    assert response.status_code == status, (path, response.status_code, response.content)
    return response.json()["detail"]


def today() -> dt.date:
    return timezone.localdate()


def _document(actor: Any, label: str, title: str) -> Any:
    return exchange.create_document(actor=actor, label=LabelSpec.parse(label), title_en=title,
                                    body=f"{title}: scanned and signed.")


def _snapshot() -> dict[str, Any]:
    """Everything an order's life writes, to show that a refused request wrote nothing."""
    return {"orders": sorted(Order.objects.values_list("number", "state", "settle_by",
                                                       "supplying_officer_id")),
            "lines": sorted(map(str, OrderLine.objects.values_list(
                "order__number", "position", "quantity", "unit_price", "amount"))),
            "events": OrderEvent.objects.count(),
            "ledger": sorted(map(str, LedgerEntry.objects.values_list(
                "order__number", "currency_id", "amount", "kind"))),
            "settlements": Settlement.objects.count(),
            "documents": SourceDocument.objects.count(),
            "rates": sorted(map(str, ExchangeRate.objects.values_list("day", "base", "quote",
                                                                      "rate")))}


# --------------------------------------------------------------------------- the whole life


def test_an_order_lives_its_whole_life_over_the_api(world):
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    # Drafted incomplete: the API says what it still lacks, and refuses to send it.
    draft = ok(uk, "post", f"{BASE}/orders", {
        "supplying_nation": "JPN", "label": OFFICIAL, "activity": "bilateral-training",
        "activity_description": "Vigilant Isles", "delivery_place": "RAF Brize Norton"}, 201)
    number, path = draft["number"], f"{BASE}/orders/{draft['id']}"
    assert re.fullmatch(rf"GBR-{today().year}-[0-9A-Z]{{8}}", number)
    assert (draft["state"], draft["requesting"], draft["supplying"], draft["owner"]) == (
        "drafted", "GBR", "JPN", "british-army")
    assert draft["label"] == "GBR/OFFICIAL|rel=GBR,JPN|cav=|com="
    assert draft["missing"] == ["the settlement method", "at least one line"]
    assert draft["lines"] == [] and draft["totals"] == [] and draft["settlement"] is None
    assert problem(uk, "post", f"{path}/request", {}) == (
        f"Order {number} is missing the settlement method; at least one line.")
    assert Order.objects.get(number=number).state == OrderState.DRAFTED

    # Revised: the lines priced exactly, rounded once per line.
    revised = ok(uk, "patch", path, {"settlement_method": "reimbursement",
                                     "lines": [FUEL_IN, MEALS_IN]})
    assert revised["missing"] == [] and revised["delivery_place"] == "RAF Brize Norton"
    assert [(line["position"], line["category"], line["quantity"], line["unit_price"],
             line["amount"]) for line in revised["lines"]] == [
        (1, "pol", "12000", {"amount": "0.85", "currency": "GBP"},
         {"amount": "10200.00", "currency": "GBP"}),
        (2, "food", "400", {"amount": "1200", "currency": "JPY"},
         {"amount": "480000", "currency": "JPY"})]
    assert revised["totals"] == TOTALS

    requested = ok(uk, "post", f"{path}/request", {})
    assert (requested["state"], requested["requested_on"]) == ("requested", today().isoformat())
    # Japan sees it, by number too; the UK cannot accept its own order.
    assert ok(jp, "get", f"{BASE}/orders/{number}")["id"] == draft["id"]
    assert problem(uk, "post", f"{path}/accept", {}) == (
        "Only a logistics officer of the supplying party (JPN) may do this.")
    accepted = ok(jp, "post", f"{path}/accept", {"note": "From the Camp Fuji depot."})
    assert (accepted["state"], accepted["supplying_officer"]) == ("accepted", "jp-log")
    assert ok(jp, "post", f"{path}/provide")["state"] == "provided"  # no body: all defaults
    received = ok(uk, "post", f"{path}/receipt", {"note": "Counted and signed."})
    assert received["state"] == "received" and received["received_by"] == "uk-log"
    assert received["settle_by"] == (today() + dt.timedelta(days=90)).isoformat()
    assert received["owed"] == TOTALS and not received["overdue"]
    assert sorted((e.currency_id, e.amount, e.kind) for e in LedgerEntry.objects.all()) == [
        ("GBP", Decimal("10200.00"), "receipt"), ("JPY", Decimal("480000"), "receipt")]

    # What the UK owes, by currency and converted at the rate of the day (1 GBP = 190 JPY).
    owed = ok(jp, "get", f"{BASE}/balances")
    assert owed["balances"] == [{"debtor": "GBR", "creditor": "JPN", "amounts": TOTALS,
                                 "converted": {"amount": "12726.32", "currency": "GBP"}}]
    in_yen = ok(uk, "get", f"{BASE}/balances?reporting=JPY&on={today().isoformat()}")
    assert in_yen["balances"][0]["converted"] == {"amount": "2418000", "currency": "JPY"}
    [open_row] = ok(uk, "get", f"{BASE}/ageing")["rows"]
    assert (open_row["band"], open_row["orders"], open_row["amounts"]) == ("0–30", 1, TOTALS)

    # Paid: the ledger is credited back, nothing is owed.
    assert problem(jp, "post", f"{path}/return", {}) == (
        f"Order {number} is to be settled by reimbursement in currency.")
    settled = ok(jp, "post", f"{path}/payment", {"reference": "BACS 2026/0412"})
    assert settled["state"] == "settled" and settled["owed"] == []
    assert settled["settlement"] == {
        "method": "reimbursement", "reference": "BACS 2026/0412", "to_return": "",
        "return_due": None, "returned_on": None, "counter_order": None,
        "settled_on": today().isoformat(), "recorded_by": "jp-log"}
    assert ok(uk, "get", f"{BASE}/balances")["balances"][0]["amounts"] == [
        {"amount": "0.00", "currency": "GBP"}, {"amount": "0", "currency": "JPY"}]
    day = today().isoformat()
    account = ok(uk, "get", f"{BASE}/statement?a=GBR&b=JPN&start={day}&end={day}")
    assert (account["opening"], account["debits"], account["credits"]) == ([], TOTALS, TOTALS)
    assert account["closing"] == [{"amount": "0.00", "currency": "GBP"},
                                  {"amount": "0", "currency": "JPY"}]
    assert account["closing_converted"] == {"amount": "0.00", "currency": "GBP"}
    assert (account["entry_count"], account["truncated"]) == (4, False)
    assert [(e["order"], e["kind"], e["amount"]["amount"], e["amount"]["currency"])
            for e in account["entries"]] == [
        (number, "receipt", "10200.00", "GBP"), (number, "receipt", "480000", "JPY"),
        (number, "settlement", "-10200.00", "GBP"), (number, "settlement", "-480000", "JPY")]
    # Seen from Japan's side, the same entries the other way round.
    mirrored = ok(jp, "get", f"{BASE}/statement?a=JPN&b=GBR&start={day}&end={day}")
    assert [e["amount"]["amount"] for e in mirrored["entries"]] == [
        "-10200.00", "-480000", "10200.00", "480000"]
    assert mirrored["debits"] == TOTALS and mirrored["credits"] == TOTALS

    # Closed only with its source documents; one the Japanese side may not read stays unseen.
    assert problem(jp, "post", f"{path}/close", {}) == (
        f"Order {number} cannot be closed without its source documents: attach the signed "
        "receipt; delivery note; invoice.")
    for kind in ("receipt", "delivery-note", "invoice"):
        document = _document(world.uk, OFFICIAL, f"{kind} {number}")
        attached = ok(uk, "post", f"{path}/documents",
                      {"document": str(document.pk), "kind": kind}, 201)
        assert (attached["document"], attached["kind"], attached["attached_by"]) == (
            str(document.pk), kind, "uk-log")
    uk_only = _document(world.uk, "GBR/SECRET|rel=GBR", "UK fuel audit note")
    ok(uk, "post", f"{path}/documents", {"document": str(uk_only.pk), "kind": "other"}, 201)
    assert problem(uk, "post", f"{path}/documents",
                   {"document": str(uk_only.pk), "kind": "other"}) == (
        "This document is already attached to the order.")
    assert [d["kind"] for d in ok(uk, "get", path)["source_documents"]] == [
        "receipt", "delivery-note", "invoice", "other"]
    seen_by_japan = ok(jp, "get", path)["source_documents"]
    assert [d["kind"] for d in seen_by_japan] == ["receipt", "delivery-note", "invoice"]
    assert str(uk_only.pk) not in json.dumps(ok(jp, "get", path))
    closed = ok(jp, "post", f"{path}/close", {})
    assert (closed["state"], closed["closed_on"]) == ("closed", today().isoformat())
    assert [(e["state"], e["by"]) for e in closed["events"]] == [
        ("drafted", "uk-log"), ("requested", "uk-log"), ("accepted", "jp-log"),
        ("provided", "jp-log"), ("received", "uk-log"), ("settled", "jp-log"),
        ("closed", "jp-log")]
    assert closed["events"][2]["note"] == "From the Camp Fuji depot."
    # Nothing changes it any more.
    assert problem(uk, "post", f"{path}/cancel", {"reason": "Too late"}) == (
        f"Order {number} is closed: it can no longer change.")
    [row] = ok(uk, "get", f"{BASE}/reconciliation")["rows"]
    assert (row["order"]["number"], row["problems"], row["totals"], row["owed"]) == (
        number, [], TOTALS, [])
    assert row["supplying_side"] == f"settled {day}"
    assert ok(uk, "get", f"{BASE}/ageing")["rows"] == []
    assert Order.objects.get(number=number).state == OrderState.CLOSED


def test_refused_cancelled_returned_and_exchanged_orders(world):
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    refused = order_in(world, OrderState.REQUESTED)
    assert problem(jp, "post", f"{BASE}/orders/{refused.pk}/refuse", {"reason": " "}) == (
        "Say why the order is refused.")
    out = ok(jp, "post", f"{BASE}/orders/{refused.pk}/refuse", {"reason": "No stock."})
    assert out["state"] == "refused" and out["events"][-1]["note"] == "No stock."

    cancelled = order_in(world, OrderState.ACCEPTED)
    assert problem(jp, "post", f"{BASE}/orders/{cancelled.pk}/cancel", {"reason": "x"}) == (
        "Only a logistics officer of the requesting party (GBR) may do this.")
    out = ok(uk, "post", f"{BASE}/orders/{cancelled.pk}/cancel",
             {"reason": "Exercise called off.", "on": DAY.isoformat()})
    assert (out["state"], out["events"][-1]["on"]) == ("cancelled", DAY.isoformat())

    # Replacement in kind: what is to be returned, by when, and that it was.
    lent = order_in(world, OrderState.RECEIVED, method=SettlementMethod.REPLACEMENT,
                    lines=(FUEL,))
    detail = ok(uk, "get", f"{BASE}/orders/{lent.number}")
    assert detail["settlement"]["to_return"] == "12000 litres — F-34 aviation fuel"
    assert detail["settlement"]["return_due"] == (DAY + dt.timedelta(days=365)).isoformat()
    returned = ok(jp, "post", f"{BASE}/orders/{lent.pk}/return",
                  {"on": (DAY + dt.timedelta(days=20)).isoformat(), "note": "Same grade."})
    assert returned["state"] == "settled"
    assert returned["settlement"]["returned_on"] == (DAY + dt.timedelta(days=20)).isoformat()

    # Exchange of equal value: 1,938,000 yen of rations against £10,200 of fuel at 190.
    ours = order_in(world, OrderState.RECEIVED, method=SettlementMethod.EQUAL_VALUE,
                    lines=(FUEL,))
    theirs = order_in(world, OrderState.RECEIVED, method=SettlementMethod.EQUAL_VALUE,
                      requester=world.jp, supplier=world.uk, label=JAPANESE,
                      lines=(LineSpec("food", "Field rations", "1615", "meals", "1200", "JPY"),))
    assert problem(uk, "post", f"{BASE}/orders/{ours.pk}/exchange",
                   {"counter_order": ours.number}) == (
        "An order cannot be exchanged against itself.")
    out = ok(uk, "post", f"{BASE}/orders/{ours.pk}/exchange", {"counter_order": theirs.number})
    assert out["state"] == "settled" and out["settlement"]["counter_order"] == theirs.number
    other = ok(jp, "get", f"{BASE}/orders/{theirs.pk}")
    assert other["state"] == "settled" and other["settlement"]["counter_order"] == ours.number
    # Both directions net to nothing for the exchanged pair; the returned fuel is settled too.
    balances = {(b["debtor"], b["creditor"]): b["amounts"]
                for b in ok(jp, "get", f"{BASE}/balances")["balances"]}
    assert balances == {("GBR", "JPN"): [{"amount": "0.00", "currency": "GBP"}],
                        ("JPN", "GBR"): [{"amount": "0", "currency": "JPY"}]}


# --------------------------------------------------------------------------- the SECRET order


def _order_requests(key: str, document: str) -> list[tuple[str, str, Any]]:
    """Every endpoint about one order, with a body that would get the step done by someone
    allowed to do it."""
    path = f"{BASE}/orders/{key}"
    return [
        ("get", path, None),
        ("patch", path, {"activity_description": "Probe"}),
        ("post", f"{path}/request", {}),
        ("post", f"{path}/accept", {}),
        ("post", f"{path}/refuse", {"reason": "Probe"}),
        ("post", f"{path}/cancel", {"reason": "Probe"}),
        ("post", f"{path}/provide", {}),
        ("post", f"{path}/receipt", {}),
        ("post", f"{path}/payment", {"reference": "Probe"}),
        ("post", f"{path}/return", {}),
        ("post", f"{path}/exchange", {"counter_order": "GBR-2026-99999"}),
        ("post", f"{path}/close", {}),
        ("post", f"{path}/documents", {"document": document, "kind": "invoice"}),
    ]


def test_a_secret_order_is_invisible_everywhere_to_the_uncleared_officer(world):
    shown = order_in(world, OrderState.RECEIVED, lines=(FUEL,))  # OFFICIAL: both see it
    hidden = order_in(world, OrderState.RECEIVED, label=SECRET, lines=(MEALS,))
    assert hidden.settle_by < today()  # overdue, like the shown one
    cleared, uncleared = verified_client(world.uk), verified_client(world.uk_uncleared)
    document = str(_document(world.uk_uncleared, OFFICIAL, "Invoice").pk)
    before = _snapshot()
    denials = AuditEvent.objects.filter(actor="uk-log2", allowed=False).count()

    # Every endpoint of the order, by id and by number, answers as for one that does not exist.
    for key, missing_key in ((str(hidden.pk), str(uuid.uuid4())),
                             (hidden.number, "GBR-2026-99999")):
        for (method, path, data), (_, missing_path, _) in zip(
                _order_requests(key, document), _order_requests(missing_key, document),
                strict=True):
            forbidden = _send(uncleared, method, path, data)
            missing = _send(uncleared, method, missing_path, data)
            assert forbidden.status_code == missing.status_code == 404, (method, path)
            assert forbidden.content == missing.content == b'{"detail": "Not found."}', path
    # ... nothing changed, and every probe is on record.
    assert _snapshot() == before
    assert AuditEvent.objects.filter(actor="uk-log2", allowed=False).count() - denials >= 26
    # Named as the counter order of an exchange, it is as unknown as a number never issued.
    counter = [problem(uncleared, "post", f"{BASE}/orders/{shown.pk}/exchange",
                       {"counter_order": key}) for key in (hidden.number, "GBR-2026-99999")]
    assert counter == [f"No order you may view has this id or number: {hidden.number}.",
                       "No order you may view has this id or number: GBR-2026-99999."]

    # Lists, counts and every report leave it out for the uncleared officer only.
    day = DAY.isoformat()
    reads = {
        "orders": f"{BASE}/orders", "search": f"{BASE}/orders?q=rations",
        "overdue list": f"{BASE}/orders?overdue=true&state=received",
        "overdue": f"{BASE}/overdue", "balances": f"{BASE}/balances",
        "statement": f"{BASE}/statement?a=GBR&b=JPN&start={day}&end={day}",
        "ageing": f"{BASE}/ageing?on={day}", "reconciliation": f"{BASE}/reconciliation",
        "history": f"{BASE}/balance-history?debtor=GBR&creditor=JPN&start={day}&end={day}"}
    seen = {name: ok(uncleared, "get", path) for name, path in reads.items()}
    for name, body in seen.items():
        text = json.dumps(body, ensure_ascii=False)
        assert hidden.number not in text and str(hidden.pk) not in text, name
        assert "JPY" not in text and "480000" not in text, name
    for name in ("orders", "overdue list", "overdue"):
        assert seen[name]["count"] == 1, name
        assert [o["number"] for o in seen[name]["items"]] == [shown.number], name
        assert seen[name]["items"][0]["overdue"] is True
    assert seen["search"] == {"count": 0, "items": []}
    assert seen["balances"]["balances"] == [{
        "debtor": "GBR", "creditor": "JPN",
        "amounts": [{"amount": "10200.00", "currency": "GBP"}],
        "converted": {"amount": "10200.00", "currency": "GBP"}}]
    statement = seen["statement"]
    assert (statement["entry_count"], statement["debits"], statement["closing"]) == (
        1, [{"amount": "10200.00", "currency": "GBP"}],
        [{"amount": "10200.00", "currency": "GBP"}])
    assert [e["order"] for e in statement["entries"]] == [shown.number]
    assert [(r["orders"], r["amounts"]) for r in seen["ageing"]["rows"]] == [
        (1, [{"amount": "10200.00", "currency": "GBP"}])]
    assert [r["order"]["number"] for r in seen["reconciliation"]["rows"]] == [shown.number]
    assert [p["amounts"] for p in seen["history"]["points"]] == [
        [{"amount": "10200.00", "currency": "GBP"}]]

    # The cleared officer sees it on each of them, with its yen.
    assert ok(cleared, "get", f"{BASE}/orders")["count"] == 2
    assert [o["number"] for o in ok(cleared, "get", f"{BASE}/orders?q=rations")["items"]] == [
        hidden.number]
    assert ok(cleared, "get", f"{BASE}/overdue")["count"] == 2
    assert ok(cleared, "get", reads["balances"])["balances"][0]["amounts"] == TOTALS
    full = ok(cleared, "get", reads["statement"])
    assert full["entry_count"] == 2 and full["debits"] == TOTALS
    assert ok(cleared, "get", reads["ageing"])["rows"][0]["orders"] == 2
    assert len(ok(cleared, "get", reads["reconciliation"])["rows"]) == 2
    assert ok(cleared, "get", f"{BASE}/orders/{hidden.number}")["totals"] == [
        {"amount": "480000", "currency": "JPY"}]
    assert ok(cleared, "get", f"{BASE}/orders/{hidden.pk}")["banner"].startswith("GBR SECRET")


# --------------------------------------------------------------------------- money


def test_money_is_exact_text_never_a_float(world):
    uk = verified_client(world.uk)
    response = _send(uk, "post", f"{BASE}/orders", {**DRAFT, "lines": [
        # Half to even, once per line: 0.015 → 0.02, 0.025 → 0.02, ¥1.5 → 2, ¥2.5 → 2.
        {**FUEL_IN, "quantity": "3", "unit_price": "0.005"},
        {**FUEL_IN, "quantity": "1", "unit_price": "0.025"},
        {**MEALS_IN, "quantity": "3", "unit_price": "0.5"},
        {**MEALS_IN, "quantity": "5", "unit_price": "0.5"},
        {**FUEL_IN, "quantity": "0.3333", "unit_price": "123456789.1234"},
        {**FUEL_IN, "quantity": 7, "unit_price": "0.1"},  # a whole JSON number is exact
    ]})
    assert response.status_code == 201, response.content
    order = response.json()
    assert [(line["quantity"], line["unit_price"]["amount"], line["amount"]["amount"])
            for line in order["lines"]] == [
        ("3", "0.005", "0.02"), ("1", "0.025", "0.02"), ("3", "0.5", "2"), ("5", "0.5", "2"),
        ("0.3333", "123456789.1234", "41148147.81"), ("7", "0.10", "0.70")]
    assert order["totals"] == [{"amount": "41148148.55", "currency": "GBP"},
                               {"amount": "4", "currency": "JPY"}]
    # No amount anywhere in the body is a JSON number.
    assert not re.search(r'"(amount|unit_price|quantity|rate)": *-?[0-9]', response.text)
    assert OrderLine.objects.get(order__number=order["number"], position=5).amount == Decimal(
        "41148147.81")
    rate = ok(uk, "post", f"{BASE}/rates", {"day": DAY.isoformat(), "base": "jpy",
                                            "quote": "GBP", "rate": "0.00526316",
                                            "source": "Bank of England"}, 201)
    assert rate == {"day": DAY.isoformat(), "base": "JPY", "quote": "GBP", "rate": "0.00526316",
                    "source": "Bank of England", "recorded_by": "uk-log"}
    assert [(r["day"], r["base"], r["rate"]) for r in ok(uk, "get", f"{BASE}/rates")] == [
        (DAY.isoformat(), "JPY", "0.00526316"), ("2026-01-01", "GBP", "190")]
    assert ok(uk, "get", f"{BASE}/rates?on=2026-02-01&limit=5") == [{
        "day": "2026-01-01", "base": "GBP", "quote": "JPY", "rate": "190", "source": "",
        "recorded_by": "uk-log"}]


def test_the_terms_are_data(world):
    terms = ok(verified_client(world.jp), "get", f"{BASE}/terms")
    assert [(c["code"], c["minor_units"]) for c in terms["currencies"]] == [
        ("GBP", 2), ("JPY", 0)]
    [acsa] = terms["agreements"]
    assert (acsa["code"], acsa["parties"], acsa["equal_value_tolerance_percent"]) == (
        "acsa-gbr-jpn", ["GBR", "JPN"], "1.00")
    categories = {c["code"]: c for c in acsa["categories"]}
    assert categories["weapons"]["eligible"] is False
    assert "bilateral-training" in categories["ammunition"]["allowed_for"]
    assert "disaster-response" not in categories["ammunition"]["allowed_for"]
    assert categories["food"]["allowed_for"] == [] and categories["food"]["name_ja"] == "食料"
    assert {t["method"]: t["days"] for t in acsa["settlement"]} == {
        "reimbursement": 90, "replacement": 365, "equal-value": 365}
    assert "bilateral-training" in [a["code"] for a in acsa["activities"]]


# --------------------------------------------------------------------------- bad input


def test_bad_input_answers_422_with_a_message_and_changes_nothing(world):
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    orders = f"{BASE}/orders"
    before = _snapshot()
    line = {**FUEL_IN}
    refusals = {
        "float": ({**DRAFT, "lines": [{**line, "unit_price": 0.85}]}, "decimal string"),
        "weapons": ({**DRAFT, "lines": [{**line, "category": "weapons"}]},
                    "Line 1: Weapons may not be supplied under the agreement."),
        "ammunition": ({**DRAFT, "activity": "disaster-response",
                        "lines": [{**line, "category": "ammunition"}]},
                       "Line 1: Ammunition may be supplied only for:"),
        "places": ({**DRAFT, "lines": [{**line, "unit_price": "0.85001"}]},
                   "Line 1: unit price may have at most 4 decimal places."),
        "not a number": ({**DRAFT, "lines": [{**line, "quantity": "lots"}]},
                         "Line 1: quantity 'lots' is not a number."),
        "zero": ({**DRAFT, "lines": [{**line, "quantity": "0"}]},
                 "Line 1: the quantity must be more than zero."),
        "currency": ({**DRAFT, "lines": [{**line, "currency": "USD"}]},
                     "Line 1: the currency must be one of GBP, JPY."),
        "label": ({**DRAFT, "label": "SECRET"}, "A label starts with NATION/MARKING"),
        "not released": ({**DRAFT, "label": "GBR/OFFICIAL|rel=GBR"},
                         "The order must be releasable to the supplying party (JPN)"),
        "activity": ({**DRAFT, "activity": "sightseeing"},
                     "'sightseeing' is not an activity eligible under the agreement."),
        "method": ({**DRAFT, "settlement_method": "barter"}, "settlement_method"),
        "date": ({**DRAFT, "wanted_by": "2026-02-30"}, "wanted_by"),
        "future": ({**DRAFT, "on": (today() + dt.timedelta(days=1)).isoformat()},
                   "has not come yet"),
        "officer": ({**DRAFT, "supplying_officer": "jp-plan"},
                    "The supplying party's authorised officer must be a logistics officer"),
        "nobody": ({**DRAFT, "supplying_officer": "nobody"}, "No user 'nobody'."),
        "ourselves": ({**DRAFT, "supplying_nation": "GBR"},
                      "The supplying party must be the other nation of the agreement."),
        "too many": ({**DRAFT, "lines": [line] * 201}, "lines"),
    }
    for name, (body, message) in refusals.items():
        assert message in problem(uk, "post", orders, body), name
    # Above the drafter's clearance (told why); and not a logistics officer at all.
    assert problem(verified_client(world.uk_uncleared), "post", orders,
                   {**DRAFT, "label": "GBR/SECRET|rel=GBR,JPN"}) == (
        "You could not read an order with this label: Denied: no valid clearance dominates "
        "GBR/SECRET (protected as GBR/SECRET in GBR).")
    assert problem(verified_client(world.jp_planner), "post", orders,
                   {**DRAFT, "supplying_nation": "GBR",
                    "label": "JPN/TORIATSUKAI-CHUI|rel=GBR,JPN"}) == (
        "Only a logistics officer may draft an order.")
    # A body that is not JSON at all.
    broken = uk.post(orders, "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json() == {"detail": "Cannot parse request body"}
    assert _snapshot() == before and not Order.objects.exists()

    # Steps refused on a real order change nothing either.
    order = order_in(world, OrderState.RECEIVED)
    path = f"{BASE}/orders/{order.pk}"
    before = _snapshot()
    assert problem(jp, "post", f"{path}/payment", {"reference": "  "}) == (
        "Give the payment's reference (at most 200 characters).")
    assert problem(uk, "post", f"{path}/payment", {"reference": "BACS 1"}) == (
        "Only a logistics officer of the supplying party (JPN) may do this.")
    assert problem(jp, "post", f"{path}/payment", {"reference": "BACS 1", "on": "2026-03-01"}
                   ) == f"An order cannot be settled before its receipt was signed ({DAY})."
    assert problem(jp, "post", f"{path}/provide", {}) == (
        f"Order {order.number} is receipt signed; this step needs it accepted.")
    assert problem(uk, "patch", path, {"activity_description": "Renamed"}) == (
        f"Order {order.number} is receipt signed; this step needs it drafted.")
    assert problem(uk, "post", f"{path}/cancel", {"reason": "Changed our minds"}) == (
        f"Order {order.number} is receipt signed; this step needs it drafted, requested, accepted.")
    assert problem(uk, "post", f"{path}/documents", {"document": "nope", "kind": "invoice"}) == (
        "No document you may view has this id.")
    assert "kind" in problem(uk, "post", f"{path}/documents",
                             {"document": str(uuid.uuid4()), "kind": "photo"})
    assert "decimal string" in problem(uk, "post", f"{BASE}/rates", {
        "base": "GBP", "quote": "JPY", "rate": 190.5})
    assert problem(uk, "post", f"{BASE}/rates", {
        "day": "2026-01-01", "base": "JPY", "quote": "GBP", "rate": "0.005"}) == (
        "A rate between JPY and GBP is already recorded for 2026-01-01.")
    assert problem(uk, "post", f"{BASE}/rates", {"base": "GBP", "quote": "GBP", "rate": "1"}) == (
        "A rate is between two different currencies of GBP, JPY.")
    assert problem(uk, "post", f"{BASE}/rates", {"base": "GBP", "quote": "JPY", "rate": "-1"}) == (
        "A rate must be more than zero.")
    assert problem(verified_client(world.jp_planner), "post", f"{BASE}/rates", {
        "base": "GBP", "quote": "JPY", "rate": "191"}) == (
        "Only a logistics officer may record exchange rates.")
    assert _snapshot() == before

    # Reports and lists say what is wrong with the question.
    day = DAY.isoformat()
    assert problem(uk, "get", f"{BASE}/statement?a=GBR&b=JPN&start={day}&end=2026-01-01") == (
        f"The period ends (2026-01-01) before it starts ({day}).")
    assert problem(uk, "get", f"{BASE}/statement?a=GBR&b=GBR&start={day}&end={day}") == (
        "A statement is between two different parties.")
    assert problem(uk, "get", f"{BASE}/statement?a=GBR&b=XXX&start={day}&end={day}") == (
        "b: unknown nation 'XXX'.")
    assert problem(uk, "get", f"{BASE}/statement?a=GBR&b=JPN&start={day}&end={day}"
                              "&reporting=USD") == "Unknown currency 'USD'; one of GBP, JPY."
    assert "limit" in problem(uk, "get", f"{BASE}/statement?a=GBR&b=JPN&start={day}&end={day}"
                                         "&limit=10001")
    assert "start" in problem(uk, "get", f"{BASE}/statement?a=GBR&b=JPN&start=soon&end={day}")
    assert "state" in problem(uk, "get", f"{BASE}/orders?state=lost")
    assert problem(uk, "get", f"{BASE}/orders?after=garbage") == (
        "after is not a cursor this API issued; use the Link header of the previous page.")
    assert "limit" in problem(uk, "get", f"{BASE}/orders?limit=0")
    assert problem(uk, "get", f"{BASE}/balances?reporting=EUR") == (
        "Unknown currency 'EUR'; one of GBP, JPY.")
    assert "on" in problem(uk, "get", f"{BASE}/ageing?on=yesterday")
    assert "before it starts" in problem(uk, "get", f"{BASE}/reconciliation?start={day}"
                                                    "&end=2026-01-01")
    assert "ten years" in problem(uk, "get", f"{BASE}/balance-history?debtor=GBR&creditor=JPN"
                                             f"&start=2000-01-01&end={day}")
    assert _snapshot() == before


# --------------------------------------------------------------------------- paging


def test_orders_and_statements_page_by_the_link_header(world):
    uk = verified_client(world.uk)
    numbers = [order_in(world, OrderState.RECEIVED, lines=(FUEL,)).number for _ in range(5)]
    first = uk.get(f"{BASE}/orders", {"limit": 2, "state": "received"})
    assert first.status_code == 200 and first.json()["count"] == 5
    pages, response = [], first
    while True:
        pages.append([o["number"] for o in response.json()["items"]])
        link = response.headers.get("Link")
        if not link:
            break
        match = re.fullmatch(r'<(/api/v1/logistics/orders\?[^>]+)>; rel="next"', link)
        assert match and "state=received" in match.group(1)
        response = uk.get(match.group(1))
        assert response.status_code == 200
    assert pages[:3] == [numbers[::-1][:2], numbers[::-1][2:4], numbers[::-1][4:]]
    assert [n for page in pages for n in page] == numbers[::-1]  # newest first, each once
    assert [o["number"] for o in ok(uk, "get", f"{BASE}/orders?offset=3&limit=2")["items"]] == (
        numbers[::-1][3:])
    assert "either after or offset" in problem(uk, "get", f"{BASE}/orders?offset=1&after=x")

    day = DAY.isoformat()
    query = f"{BASE}/statement?a=GBR&b=JPN&start={day}&end={day}&limit=2"
    head = uk.get(query)
    body = head.json()
    assert (body["entry_count"], body["truncated"], len(body["entries"])) == (5, True, 2)
    assert body["debits"] == [{"amount": "51000.00", "currency": "GBP"}]  # totals stay whole
    assert 'offset=2' in head.headers["Link"] and 'limit=2' in head.headers["Link"]
    last = ok(uk, "get", f"{query}&offset=4")
    assert (last["truncated"], [e["order"] for e in last["entries"]]) == (False, numbers[4:])
    assert "Link" not in uk.get(f"{query}&offset=4").headers


# --------------------------------------------------------------------------- the contract


def test_the_logistics_operations_are_in_the_contract():
    schema = api.get_openapi_schema()
    paths = {p for p, operations in schema["paths"].items()
             if any("logistics" in o.get("tags", []) for o in operations.values())}
    assert {"/api/v1/logistics/orders", "/api/v1/logistics/orders/{order_id}",
            "/api/v1/logistics/orders/{order_id}/receipt", "/api/v1/logistics/statement",
            "/api/v1/logistics/balances", "/api/v1/logistics/terms"} <= paths
    money = schema["components"]["schemas"]["MoneyOut"]["properties"]
    assert money["amount"]["type"] == "string" and "pattern" in money["amount"]
    line = schema["components"]["schemas"]["OrderLineIn"]["properties"]
    assert line["quantity"]["type"] == line["unit_price"]["type"] == "string"
    # Components are named by class: none of ours is described by another app's namesake.
    components, ours = schema["components"]["schemas"], 0
    for name, cls in vars(schemas).items():
        if (isinstance(cls, type) and issubclass(cls, Schema)
                and cls.__module__ == schemas.__name__ and name in components):
            assert set(components[name].get("properties", {})) == set(cls.model_fields), name
            ours += 1
    assert ours >= 25


# --------------------------------------------------------------------------- property-based


CONTRACT = schemathesis.openapi.from_dict(
    json.loads(json.dumps(api.get_openapi_schema(), cls=DjangoJSONEncoder)),
    config=SchemathesisConfig.from_dict({
        "generation": {"mode": "positive", "deterministic": True, "max-examples": 8,
                       "database": "none", "with-security-parameters": False,
                       "allow-x00": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in (
            "not_a_server_error", "status_code_conformance", "response_schema_conformance")}},
    })).include(tag="logistics")
CONTRACT.app = application


@pytest.fixture
def in_process_requests():
    """Keep the test's transaction open across requests, as django.test.Client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def real(world) -> dict[str, Any]:
    """Real values of every kind the logistics operations take, visible and hidden."""
    drafted = order_in(world, OrderState.DRAFTED)
    received = order_in(world, OrderState.RECEIVED, method=SettlementMethod.EQUAL_VALUE,
                        lines=(FUEL,))
    counter = order_in(world, OrderState.RECEIVED, method=SettlementMethod.EQUAL_VALUE,
                       requester=world.jp, supplier=world.uk, label=JAPANESE,
                       lines=(LineSpec("food", "Field rations", "1615", "meals", "1200", "JPY"),))
    hidden = order_in(world, OrderState.PROVIDED, label=SECRET)
    document = _document(world.uk, OFFICIAL, "Invoice")
    return {
        "users": {"GBR": world.uk_uncleared, "JPN": world.jp},
        "order_id": [str(drafted.pk), received.number, str(counter.pk), str(hidden.pk),
                     hidden.number],
        "counter_order": [counter.number, received.number, hidden.number],
        "document": [str(document.pk)],
        "supplying_officer": ["jp-log", "uk-log"],
        "supplying_nation": ["JPN", "GBR"],
        "label": [OFFICIAL, "GBR/SECRET|rel=GBR,JPN", "JPN/TORIATSUKAI-CHUI|rel=GBR,JPN"],
        "activity": ["bilateral-training", "routine"],
        "a": ["GBR", "JPN"], "b": ["JPN", "GBR"], "debtor": ["GBR", "JPN"],
        "creditor": ["JPN", "GBR"], "reporting": ["GBP", "JPY"],
    }


@pytest.fixture(params=["GBR", "JPN"])
def caller(request, real, in_process_requests) -> dict[str, Any]:
    client = verified_client(real["users"][request.param])
    csrf = get_random_string(32)
    return {"cookies": {django_settings.SESSION_COOKIE_NAME: client.session.session_key,
                        django_settings.CSRF_COOKIE_NAME: csrf},
            "headers": {"X-CSRFToken": csrf}}


def _swap_in_real_values(case: Any, picks: list[int], real: dict[str, Any]) -> None:
    """Generated ids and codes are sometimes swapped for real ones (which the caller may or may
    not see), so the checks reach the success and forbidden paths, not only "not found"."""
    places = [case.path_parameters, case.query, case.body]
    for pick, where in zip(picks, places, strict=False):
        if isinstance(where, dict):
            for name in sorted(set(where) & set(real) - {"users"}):
                if pick < len(real[name]):
                    where[name] = real[name][pick]


@CONTRACT.parametrize()
@CONTRACT.given(picks=st.lists(st.integers(0, 4), min_size=3, max_size=3))
@hypothesis_settings(max_examples=8, derandomize=True, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_every_logistics_operation_answers_as_its_schema_declares(case, picks, caller, real):
    _swap_in_real_values(case, picks, real)
    response = case.call(headers=caller["headers"], cookies=caller["cookies"])
    case.validate_response(response)
