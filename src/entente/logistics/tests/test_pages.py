"""The logistics pages, driven as a person would drive them: signed in with password and TOTP,
plain form posts (POST, redirect, GET), every read through the kernel. The ``world`` fixture
(conftest) gives a cleared logistics officer of each nation, an uncleared UK logistics officer and
a Japanese planner; a GBP/JPY rate of 190 from 1 January 2026."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from entente.exchange import services as exchange_services
from entente.exchange.models import Document
from entente.logistics import selectors, services
from entente.logistics.models import (
    ExchangeRate,
    LedgerEntry,
    Order,
    OrderEvent,
    OrderState,
    SettlementMethod,
    SourceDocument,
)
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.testing import verified_client

from .conftest import DAY, FUEL, MEALS, SECRET, order_in

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def url(name: str, *args: object) -> str:
    return reverse(f"logistics:{name}", args=list(args))


def html_of(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:3000])
    return response.content.decode()


def done(response, order: Order) -> None:
    """A step that worked redirects to the order page (POST, redirect, GET)."""
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response.url.startswith(url("order", order.pk))


def page_banners(html: str) -> tuple[str, str]:
    """The page's own banners: the one above the header and the one below the main part."""
    top = html[:html.index("<header")]
    bottom = html[html.index("</main>"):]
    assert top.count('<div class="label-banner"') == 1
    assert bottom.count('<div class="label-banner"') == 1
    return top, bottom


def management(total: int, initial: int = 0) -> dict[str, str]:
    return {"lines-TOTAL_FORMS": str(total), "lines-INITIAL_FORMS": str(initial),
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "200"}


def line(index: int, category: str, description: str, quantity: str, unit: str, price: str,
         currency: str) -> dict[str, str]:
    prefix = f"lines-{index}-"
    return {prefix + "category": category, prefix + "description": description,
            prefix + "quantity": quantity, prefix + "unit": unit, prefix + "unit_price": price,
            prefix + "currency": currency}


def new_order_data(**overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        "supplying_nation": "JPN", "activity": "bilateral-training",
        "activity_description": "Live-fire phase", "exercise": "",
        "settlement_method": SettlementMethod.REIMBURSEMENT, "delivery_place": "Camp Fuji",
        "wanted_by": "2026-12-15", "supplying_officer": "",
        "classification": "OFFICIAL", "releasable_to": ["GBR", "JPN"],
        **management(3),
        **line(0, "pol", "Diesel for generators", "1500", "litres", "1.2345", "GBP"),
        **line(2, "food", "Hot meals", "120", "meals", "950", "JPY"),
    }
    data.update(overrides)
    return data


def no_inline_code(html: str) -> None:
    """CSP allows our own files only: no inline script or style on any page."""
    assert "<script" not in html.replace('<script src="/static/', "")
    assert " style=" not in html and "<style" not in html


# ------------------------------------------------------------------ a whole life


def test_an_order_is_drafted_requested_accepted_provided_received_paid_and_closed(world):
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    today = TODAY()

    # The form offers the agreement's terms.
    html = html_of(uk.get(url("order_new")))
    assert 'value="bilateral-training"' in html and 'value="humanitarian-relief"' in html
    assert 'value="pol"' in html and 'value="JPY"' in html
    assert 'name="classification"' in html and 'id="visible-only"' in html
    no_inline_code(html)

    # "More lines" shows more rows and keeps what was typed; nothing is drafted.
    more = uk.post(url("order_new"), {**new_order_data(), "more_lines": "1"})
    html = html_of(more)
    assert 'name="lines-5-description"' in html and "Diesel for generators" in html
    assert not Order.objects.exists()

    # Drafted: two lines (the empty middle row is no line), exact amounts, the label asked for.
    response = uk.post(url("order_new"), new_order_data())
    order = Order.objects.get()
    done(response, order)
    assert order.state == OrderState.DRAFTED and order.number.startswith(f"GBR-{today.year}-")
    assert order.activity_description == "Live-fire phase" and order.exercise is None
    assert order.activity.code == "bilateral-training"
    assert order.label.canonical == "GBR/OFFICIAL|rel=GBR,JPN|cav=|com="
    assert [(li.category.code, li.amount, li.currency_id) for li in order.lines.all()] == [
        ("pol", Decimal("1851.75"), "GBP"), ("food", Decimal("114000"), "JPY")]

    html = html_of(uk.get(url("order", order.pk)))
    for banner in page_banners(html):
        assert "<strong>GBR OFFICIAL</strong>" in banner and "REL GBR/JPN" in banner
    assert 'id="step-request"' in html and 'id="step-cancel"' in html
    assert 'id="step-accept"' not in html
    assert "1,851.75" in html and "114,000" in html
    assert url("order_edit", order.pk) in html
    no_inline_code(html)

    # The draft is edited: a third line, another exercise.
    edit = html_of(uk.get(url("order_edit", order.pk)))
    assert 'value="Live-fire phase"' in edit and 'value="Diesel for generators"' in edit
    data = new_order_data(activity_description="Pacific Reach II")
    data.update({**management(3, 2),
                 **line(0, "pol", "Diesel for generators", "1500", "litres", "1.2345", "GBP"),
                 **line(1, "food", "Hot meals", "120", "meals", "950", "JPY"),
                 **line(2, "water", "Bottled water", "200", "crates", "4.50", "GBP")})
    done(uk.post(url("order_edit", order.pk), data), order)
    order.refresh_from_db()
    assert order.activity_description == "Pacific Reach II" and order.lines.count() == 3
    assert selectors.totals_of(world.uk, order) == {"GBP": Decimal("2751.75"),
                                                   "JPY": Decimal("114000")}

    # Requested by the UK: the Japanese officer now has accept and refuse; the UK has not.
    done(uk.post(url("order_action", order.pk, "request")), order)
    order.refresh_from_db()
    assert order.state == OrderState.REQUESTED and order.requested_on == today
    html = html_of(jp.get(url("order", order.pk)))
    assert 'id="step-accept"' in html and 'id="step-refuse"' in html
    assert 'id="step-request"' not in html
    assert 'id="step-accept"' not in html_of(uk.get(url("order", order.pk)))

    done(jp.post(url("order_action", order.pk, "accept"), {"note": "From the Fuji depot"}),
         order)
    order.refresh_from_db()
    assert order.state == OrderState.ACCEPTED and order.supplying_officer == world.jp
    assert OrderEvent.objects.get(order=order, state=OrderState.ACCEPTED).note == \
        "From the Fuji depot"

    done(jp.post(url("order_action", order.pk, "provide"), {"note": ""}), order)
    order.refresh_from_db()
    assert order.state == OrderState.PROVIDED and order.provided_on == today

    # The receipt makes the UK owe the total, per currency, to be settled within 90 days.
    done(uk.post(url("order_action", order.pk, "receipt"), {"note": "All received"}), order)
    order.refresh_from_db()
    assert order.state == OrderState.RECEIVED and order.received_by == world.uk
    assert order.settle_by == today + dt.timedelta(days=90)
    assert {(e.debtor_id, e.creditor_id, e.currency_id, e.amount)
            for e in LedgerEntry.objects.filter(order=order)} == {
        ("GBR", "JPN", "GBP", Decimal("2751.75")), ("GBR", "JPN", "JPY", Decimal("114000"))}
    html = html_of(jp.get(url("order", order.pk)))
    assert 'id="step-payment"' in html and 'id="step-return"' not in html

    done(jp.post(url("order_action", order.pk, "payment"), {"reference": "BACS-991"}), order)
    order.refresh_from_db()
    assert order.state == OrderState.SETTLED and order.settlement.reference == "BACS-991"
    owed = {}
    for entry in LedgerEntry.objects.filter(order=order):
        owed[entry.currency_id] = owed.get(entry.currency_id, 0) + entry.amount
    assert owed == {"GBP": 0, "JPY": 0}
    assert "BACS-991" in html_of(uk.get(url("order", order.pk)))

    # Not closed without the source documents: the message is on the close form.
    response = uk.post(url("order_action", order.pk, "close"))
    html = html_of(response, 400)
    assert "cannot be closed without its source documents" in html
    assert re.search(r'id="step-close".*cannot be closed without', html, re.S)
    order.refresh_from_db()
    assert order.state == OrderState.SETTLED

    # One uploaded through the page (encrypted into the exchange), two attached by id.
    response = uk.post(url("order_action", order.pk, "upload"), {
        "kind": "delivery-note", "title_en": "Delivery note FJ-17", "title_ja": "",
        "classification": "OFFICIAL", "releasable_to": ["GBR", "JPN"],
        "file": SimpleUploadedFile("fj-17.txt", b"1500 litres delivered", "text/plain")})
    done(response, order)
    uploaded = SourceDocument.objects.get(order=order)
    assert uploaded.kind == "delivery-note"
    assert uploaded.document.title_en == "Delivery note FJ-17"
    assert uploaded.document.label.canonical == "GBR/OFFICIAL|rel=GBR,JPN|cav=|com="
    for kind, title in (("receipt", "Signed receipt FJ-17"), ("invoice", "Invoice JGSDF-88")):
        document = exchange_services.create_document(
            actor=world.uk, label=LabelSpec("GBR", "OFFICIAL", ("GBR", "JPN")), title_en=title,
            body="Scanned copy")
        done(uk.post(url("order_action", order.pk, "attach"),
                     {"document": str(document.pk), "kind": kind}), order)
    assert sorted(order.source_documents.values_list("kind", flat=True)) == [
        "delivery-note", "invoice", "receipt"]
    html = html_of(jp.get(url("order", order.pk)))
    assert "Invoice JGSDF-88" in html and "Delivery note FJ-17" in html

    done(jp.post(url("order_action", order.pk, "close")), order)
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED and order.closed_on == today
    html = html_of(uk.get(url("order", order.pk)))
    assert 'id="actions"' not in html and 'id="state">Closed<' in html
    assert [e.state for e in order.events.all()] == [
        "drafted", "requested", "accepted", "provided", "received", "settled", "closed"]

    # The list shows it with its marking and its total.
    html = html_of(uk.get(url("orders") + "?state=closed"))
    assert order.number in html and "1 order" in html and "2,751.75" in html
    assert '<div class="marking-small"><div class="label-banner"' in html


# ------------------------------------------------------------------ errors keep the input


def test_bad_input_shows_the_message_and_loses_nothing(world):
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    order = order_in(world, OrderState.DRAFTED)
    before = list(order.lines.values_list("position", "category__code", "description",
                                          "quantity", "amount"))

    # A category the agreement allows only for other activities: refused by the service.
    data = new_order_data(activity_description="Typed but refused",
                          activity="humanitarian-relief")
    data.update({**management(3, 2),
                 **line(0, "ammunition", "Blank rounds 5.56", "3000", "rounds", "0.40", "GBP")})
    html = html_of(uk.post(url("order_edit", order.pk), data), 400)
    assert "may be supplied only for" in html
    assert 'value="Typed but refused"' in html and 'value="Blank rounds 5.56"' in html
    assert 'value="3000"' in html
    order.refresh_from_db()
    assert order.activity_description == "Vigilant Isles"
    assert order.activity.code == "bilateral-training"
    assert list(order.lines.values_list("position", "category__code", "description",
                                        "quantity", "amount")) == before

    # A number that is no number: the field says so, next to what was typed.
    data = new_order_data(activity_description="Still typed")
    data.update({**management(3, 0),
                 **line(0, "pol", "Fuel", "twelve", "litres", "1", "GBP")})
    html = html_of(uk.post(url("order_edit", order.pk), data), 400)
    assert "Enter a number." in html and 'value="twelve"' in html
    assert 'value="Still typed"' in html
    # A row begun must be finished.
    data = new_order_data()
    data.update({**management(1, 0), **line(0, "pol", "Fuel", "", "litres", "1", "GBP")})
    assert "Needed on a line that is filled in." in html_of(
        uk.post(url("order_edit", order.pk), data), 400)
    order.refresh_from_db()
    assert order.activity_description == "Vigilant Isles" and order.lines.count() == 2

    # A new order for weapons: refused by name, nothing drafted, everything typed kept.
    count = Order.objects.count()
    data = new_order_data(activity_description="Weapons request")
    data.update(line(0, "weapons", "Rifles", "10", "each", "900", "GBP"))
    html = html_of(uk.post(url("order_new"), data), 400)
    assert "Weapons may not be supplied under the agreement." in html
    assert 'value="Weapons request"' in html and 'value="Rifles"' in html
    assert Order.objects.count() == count

    # A label not releasable to the supplier.
    html = html_of(uk.post(url("order_new"), new_order_data(releasable_to=["GBR"])), 400)
    assert "must be releasable to the supplying party" in html
    assert Order.objects.count() == count

    # A step refused by the service: the reason is shown on that step's form, nothing changes.
    services.request_order(world.uk, order)
    html = html_of(jp.post(url("order_action", order.pk, "refuse"), {"reason": "  "}), 400)
    assert re.search(r'id="step-refuse".*Say why the order is refused\.', html, re.S)
    order.refresh_from_db()
    assert order.state == OrderState.REQUESTED
    # A step the other side may not take: refused with the reason, on the form.
    html = html_of(uk.post(url("order_action", order.pk, "accept"), {"note": "mine"}), 400)
    assert "Only a logistics officer of the supplying party (JPN) may do this." in html
    assert re.search(r">\s*mine</textarea>", html)
    order.refresh_from_db()
    assert order.state == OrderState.REQUESTED and order.supplying_officer is None

    # An exchange against an order number nobody may view, a document id that is nothing.
    received = order_in(world, OrderState.RECEIVED, method=SettlementMethod.EQUAL_VALUE)
    html = html_of(uk.post(url("order_action", received.pk, "exchange"),
                           {"counter_order": "JPN-2026-99999"}), 400)
    assert "No order you may view has the number JPN-2026-99999." in html
    assert 'value="JPN-2026-99999"' in html
    html = html_of(uk.post(url("order_action", received.pk, "attach"),
                           {"document": str(uuid.uuid4()), "kind": "invoice"}), 400)
    assert "No document you may view has this id." in html
    received.refresh_from_db()
    assert received.state == OrderState.RECEIVED and not received.source_documents.exists()

    # An unknown step is a 404.
    assert uk.post(url("order_action", order.pk, "teleport")).status_code == 404


# ------------------------------------------------------------------ a secret order


def _money_in(html: str) -> set[str]:
    return set(re.findall(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", html))


def test_a_secret_order_is_invisible_to_the_uncleared_officer_on_every_page(world):
    secret = order_in(world, OrderState.RECEIVED, label=SECRET, lines=(FUEL,))
    official = order_in(world, OrderState.RECEIVED, lines=(MEALS,))
    # The secret order's exercise and totals must reach cleared readers only.
    Order.objects.filter(pk=secret.pk).update(activity_description="Operation Nightjar")
    secret_texts = (secret.number, "Operation Nightjar", "10,200.00", "F-34 aviation fuel",
                    str(secret.pk))
    uncleared, cleared = verified_client(world.uk_uncleared), verified_client(world.uk)

    def hides_the_secret(html: str) -> None:
        for text in secret_texts:
            assert text not in html, text
        assert "SECRET" not in html

    # The list, with and without filters that would match it.
    for query in ("", "?state=received", "?overdue=on",
                  "?requesting=GBR&supplying=JPN&activity=bilateral-training"):
        hides_the_secret(html_of(uncleared.get(url("orders") + query)))
    for query in (f"?q={secret.number}", "?q=Nightjar", "?q=aviation"):
        html = html_of(uncleared.get(url("orders") + query))  # the search box shows the query
        assert "0 orders" in html and url("order", secret.pk) not in html
        assert "10,200.00" not in html and "SECRET" not in html
    html = html_of(uncleared.get(url("orders")))
    assert official.number in html and "1 order" in html
    html = html_of(cleared.get(url("orders")))
    assert secret.number in html and official.number in html and "2 orders" in html
    assert "Operation Nightjar" in html_of(cleared.get(url("orders") + "?q=Nightjar"))

    # The order page (by id and by number) and every step: the 404 of a random id.
    missing = uncleared.get(url("order", uuid.uuid4()))
    assert missing.status_code == 404
    for key in (secret.pk, secret.number):
        response = uncleared.get(url("order", key))
        assert response.status_code == 404 and response.content == missing.content
    for action, data in (("receipt", {}), ("cancel", {"reason": "x"}),
                         ("attach", {"document": str(uuid.uuid4()), "kind": "invoice"})):
        response = uncleared.post(url("order_action", secret.pk, action), data)
        assert response.status_code == 404 and response.content == missing.content
    response = uncleared.get(url("order_edit", secret.pk))
    assert response.status_code == 404 and response.content == missing.content
    html = html_of(cleared.get(url("order", secret.pk)))
    for banner in page_banners(html):
        assert "<strong>GBR SECRET</strong>" in banner
    assert "Operation Nightjar" in html and "10,200.00" in html

    # Overdue (received on 2 March, 90 days to settle): the flag, for both sides.
    html = html_of(uncleared.get(url("overdue")))
    hides_the_secret(html)
    assert official.number in html and "1 overdue order" in html
    html = html_of(cleared.get(url("overdue")))
    assert secret.number in html and "2 overdue orders" in html
    assert secret.number in html_of(verified_client(world.jp).get(url("overdue")))

    # Balances: the uncleared reader's totals leave the secret order out.
    html = html_of(uncleared.get(url("balances") + "?reporting=GBP&on=2026-03-31"))
    hides_the_secret(html)
    assert "480,000" in html and "2,526.32" in html      # 480,000 JPY at 190 a pound
    top, _bottom = page_banners(html)
    assert "<strong>GBR OFFICIAL</strong>" in top
    html = html_of(cleared.get(url("balances") + "?reporting=GBP&on=2026-03-31"))
    assert "10,200.00" in html and "480,000" in html and "12,726.32" in html
    top, _bottom = page_banners(html)
    assert "<strong>GBR SECRET</strong>" in top
    assert "<svg" in html and "<polyline" in html

    # Ageing: one open order, not two.
    html = html_of(uncleared.get(url("ageing")))
    hides_the_secret(html)
    assert re.search(r'id="ageing-total">1<', html)
    assert re.search(r'id="ageing-total">2<', html_of(cleared.get(url("ageing"))))

    # Reconciliation.
    html = html_of(uncleared.get(url("reconciliation")))
    hides_the_secret(html)
    assert official.number in html
    assert secret.number in html_of(cleared.get(url("reconciliation")))

    # The statement: page, CSV, PDF.
    query = "?a=GBR&b=JPN&start=2026-01-01&end=2026-06-30&reporting=GBP"
    html = html_of(uncleared.get(url("statement") + query))
    hides_the_secret(html)
    assert "480,000" in html
    csv_text = b"".join(uncleared.get(url("statement_csv") + query).streaming_content).decode()
    hides_the_secret(csv_text)
    assert official.number in csv_text
    pdf_text = _pdf_text(uncleared.get(url("statement_pdf") + query).content)
    for text in secret_texts:
        assert text.replace(" ", "") not in pdf_text
    assert "480,000" in pdf_text and "GBROFFICIAL" in pdf_text and "SECRET" not in pdf_text

    html = html_of(cleared.get(url("statement") + query))
    assert secret.number in html and "10,200.00" in html
    csv_text = b"".join(cleared.get(url("statement_csv") + query).streaming_content).decode()
    assert secret.number in csv_text and "10200.00" in csv_text
    pdf_text = _pdf_text(cleared.get(url("statement_pdf") + query).content)
    assert secret.number in pdf_text and "10,200.00" in pdf_text

    # Every page says its totals count only the orders the reader may view; none has inline
    # code (CSP).
    for name in ("orders", "order_new", "overdue", "balances", "ageing", "reconciliation",
                 "statement", "rates"):
        html = html_of(uncleared.get(url(name)))
        assert 'id="visible-only"' in html and "only the orders you may view" in html, name
        no_inline_code(html)


# ------------------------------------------------------------------ the statement's files


def test_the_csv_statement_adds_up_to_the_closing_balance(world):
    early = order_in(world, OrderState.RECEIVED, on=dt.date(2026, 2, 2))
    order_in(world, OrderState.RECEIVED, on=DAY, lines=(FUEL,))
    services.record_payment(world.jp, early, "BACS 1", on=dt.date(2026, 3, 10))
    # The other way round: Japan requests, the UK supplies (negative in a GBR statement).
    order_in(world, OrderState.RECEIVED, requester=world.jp, supplier=world.uk,
             lines=(MEALS,), on=DAY, label=LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN")))
    client = verified_client(world.uk)
    query = "?a=GBR&b=JPN&start=2026-02-15&end=2026-03-31&reporting=GBP"
    response = client.get(url("statement_csv") + query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming
    assert 'filename="statement-GBR-JPN-2026-02-15-2026-03-31.csv"' in \
        response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == rows[-1] and rows[0][0] == "marking" and "REL GBR/JPN" in rows[0][1]
    assert rows[1][:4] == ["day", "order", "kind", "currency"]
    body = rows[2:-1]
    sums: dict[str, Decimal] = {}
    closing: dict[str, Decimal] = {}
    kinds = []
    for day, _number, kind, currency, amount in body:
        kinds.append(kind)
        if kind == "closing":
            closing[currency] = Decimal(amount)
        else:
            sums[currency] = sums.get(currency, Decimal(0)) + Decimal(amount)
    assert kinds[:2] == ["opening", "opening"] and kinds[-2:] == ["closing", "closing"]
    assert "settlement" in kinds and "receipt" in kinds
    assert sums == closing
    statement = selectors.statement(world.uk, "GBR", "JPN", dt.date(2026, 2, 15),
                                    dt.date(2026, 3, 31))
    assert closing == statement.closing
    # The early order is paid; the UK owes the fuel (10,200 GBP), Japan owes the meals
    # (480,000 JPY): negative, as what GBR owes JPN.
    assert closing == {"GBP": Decimal("10200.00"), "JPY": Decimal("-480000")}
    # The opening balance: the early order, received on 2 February, paid on 10 March.
    assert statement.opening == {"GBP": Decimal("10200.00"), "JPY": Decimal("480000")}
    assert AuditEvent.objects.filter(action="logistics.statement_export",
                                     actor="uk-log").exists()

    # The page shows the same closing balance.
    html = html_of(client.get(url("statement") + query))
    assert re.search(r'id="closing".*GBP</span> 10,200\.00', html, re.S)
    assert url("statement_csv") + query.replace("&", "&amp;") in html


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "".join(re.sub(r"\s+", "", page.extract_text() or "")
                   for page in PdfReader(io.BytesIO(content)).pages)


def _pdf_pages(content: bytes) -> list[str]:
    return [re.sub(r"\s+", "", page.extract_text() or "")
            for page in PdfReader(io.BytesIO(content)).pages]


def test_the_pdf_statement_carries_the_highest_marking_on_every_page(world):
    secret = order_in(world, OrderState.RECEIVED, label=SECRET, lines=(FUEL,))
    for _ in range(3):
        order_in(world, OrderState.RECEIVED, lines=(FUEL, MEALS))
    query = "?a=GBR&b=JPN&start=2026-01-01&end=2026-06-30&reporting=GBP"
    response = verified_client(world.uk).get(url("statement_pdf") + query)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["X-Entente-Banner"] == "GBR SECRET REL GBR/JPN"
    pages = _pdf_pages(response.content)
    for text in pages:
        assert text.startswith("GBRSECRETRELGBR/JPN") and text.endswith("RELGBR/JPN")
        assert text.count("GBRSECRET") == 2 and text.count("GBR極秘") == 2
    whole = "".join(pages)
    assert "Statementofaccount" in whole and secret.number in whole
    assert "onlytheordersyoumayview" in whole

    # The Japanese officer sees the marking and Japan's equivalent.
    response = verified_client(world.jp).get(url("statement_pdf") + query)
    assert response["X-Entente-Banner"] == "GBR SECRET (JPN SECRET (Gokuhi)) REL GBR/JPN"
    for text in _pdf_pages(response.content):
        assert text.startswith("GBRSECRET(JPNSECRET(Gokuhi))")


# ------------------------------------------------------------------ rates


def test_an_officer_records_an_exchange_rate_once_a_day(world):
    client = verified_client(world.jp)
    html = html_of(client.get(url("rates")))
    assert "1 GBP = 190 JPY" in html and 'id="record-rate"' in html
    data = {"day": "2026-04-01", "base": "JPY", "quote": "GBP", "rate": "0.0051",
            "source": "BoJ"}
    response = client.post(url("rates"), data)
    assert response.status_code == 302
    assert ExchangeRate.objects.get(day=dt.date(2026, 4, 1)).rate == Decimal("0.0051")
    html = html_of(client.post(url("rates"), {**data, "rate": "0.0052"}), 400)
    assert "is already recorded for 2026-04-01" in html and 'value="0.0052"' in html
    assert ExchangeRate.objects.count() == 2
    # A planner (no logistics officer) sees the rates, not the form.
    html = html_of(verified_client(world.jp_planner).get(url("rates")))
    assert "1 GBP = 190 JPY" in html and 'id="record-rate"' not in html
    assert Document.objects.count() == 0


def test_every_page_renders_in_japanese(world):
    order = order_in(world, OrderState.RECEIVED)
    client = verified_client(world.jp)
    for path in (url("orders"), url("order_new"), url("overdue"), url("order", order.pk),
                 url("balances"), url("ageing"), url("reconciliation"), url("statement"),
                 url("rates")):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="ja")
        html = html_of(response)
        assert '<html lang="ja">' in html, path
    draft = order_in(world, OrderState.DRAFTED, requester=world.jp, supplier=world.uk,
                     label=LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN")))
    html = html_of(client.get(url("order_edit", draft.pk), HTTP_ACCEPT_LANGUAGE="ja"))
    assert "日本" in html
    response = client.get(url("statement_pdf"), HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200
    text = _pdf_text(response.content)
    assert response["X-Entente-Banner"].startswith("GBR OFFICIAL")
    assert text.startswith(response["X-Entente-Banner"].replace(" ", "") + "GBR公用")
    assert order.number in text


# ------------------------------------------------------------------ other settlements


def test_replacement_in_kind_and_exchange_of_equal_value_through_the_pages(world):
    uk, jp = verified_client(world.uk), verified_client(world.jp)
    today = TODAY()

    # Replacement in kind: what is to be returned, by when; the supplier records the return.
    order = order_in(world, OrderState.RECEIVED, method=SettlementMethod.REPLACEMENT)
    html = html_of(uk.get(url("order", order.pk)))
    assert re.search(r'id="to-return">12000 litres — F-34 aviation fuel<br>400 meals — Field '
                     r"rations<", html)
    assert (DAY + dt.timedelta(days=365)).isoformat() in html
    assert 'id="step-return"' not in html          # the supplying side records it
    html = html_of(jp.get(url("order", order.pk)))
    assert 'id="step-return"' in html and 'id="step-payment"' not in html
    done(jp.post(url("order_action", order.pk, "return"), {"note": "Same grade returned"}),
         order)
    order.refresh_from_db()
    assert order.state == OrderState.SETTLED and order.settlement.returned_on == today

    # Exchange of equal value: two received orders in opposite directions, one of them SECRET
    # (Gokuhi) to Japan's label. 12,726.32 GBP against 2,418,000 JPY at 190.
    ours = order_in(world, OrderState.RECEIVED, method=SettlementMethod.EQUAL_VALUE)
    theirs = order_in(world, OrderState.RECEIVED, method=SettlementMethod.EQUAL_VALUE,
                      requester=world.jp, supplier=world.uk,
                      label=LabelSpec("JPN", "GOKUHI", ("GBR", "JPN")),
                      lines=(services.LineSpec("food", "Rations, one lot", "1", "lot",
                                               "2418000", "JPY"),))
    html = html_of(uk.get(url("order", ours.pk)))
    assert 'id="step-exchange"' in html
    done(uk.post(url("order_action", ours.pk, "exchange"), {"counter_order": theirs.number}),
         ours)
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.state == theirs.state == OrderState.SETTLED
    assert ours.settlement.counter_order == theirs and theirs.settlement.counter_order == ours
    html = html_of(uk.get(url("order", ours.pk)))
    assert re.search(rf'id="counter-order"><a href="{url("order", theirs.pk)}"><code>'
                     rf"{theirs.number}</code>", html)
    # The uncleared officer sees the settlement but not the order it names.
    html = html_of(verified_client(world.uk_uncleared).get(url("order", ours.pk)))
    assert "an order you may not view" in html
    assert theirs.number not in html and str(theirs.pk) not in html
