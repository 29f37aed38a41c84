"""`entente logistics` as a named user and `entente acsa` for the operator: the same services
and selectors as the web, the same refusals, and a hidden order that cannot be told from a
missing one, not even by the exit status."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from entente.exchange.models import Notification
from entente.logistics.models import LedgerEntry, Order, OrderState
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent

from .conftest import DAY, SECRET, order_in

pytestmark = pytest.mark.django_db


def run(*args: str, command: str = "logistics") -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def failing(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("logistics", *args, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == ""
    return str(caught.value), caught.value.returncode


def test_an_order_from_draft_to_payment_on_the_command_line(world):
    drafted = run_json("draft", "--as", "uk-log", "--supplying", "jpn",
                       "--label", "GBR/OFFICIAL|rel=GBR,JPN", "--activity", "disaster-response",
                       "--description", "Flood relief, Kyushu", "--method", "reimbursement",
                       "--line", "water|Bottled water|2,000|litres|0.40|GBP",
                       "--line", "billeting|Tents|12|nights|15000|JPY",
                       "--on", DAY.isoformat())
    number = drafted["number"]
    assert drafted["state"] == "drafted" and drafted["totals"] == [
        {"amount": "800.00", "currency": "GBP"}, {"amount": "180000", "currency": "JPY"}]
    assert failing("accept", number, "--as", "jp-log") == (
        f"Order {number} is drafted; this step needs it requested.", 2)
    assert run("request", number, "--as", "uk-log", "--on", DAY.isoformat()) == (
        f"{number}: requested\n")
    assert failing("accept", number, "--as", "uk-log") == (
        "Only a logistics officer of the supplying party (JPN) may do this.", 2)
    for step, who in (("accept", "jp-log"), ("provide", "jp-log"), ("receipt", "uk-log")):
        run(step, number, "--as", who, "--on", DAY.isoformat())
    assert run_json("show", number, "--as", "jp-log")["owed"] == drafted["totals"]
    shown = run("show", number, "--as", "uk-log")
    assert "Flood relief, Kyushu" in shown and "800.00 GBP, 180000 JPY" in shown
    assert shown.splitlines()[0] == shown.splitlines()[-1] == "GBR OFFICIAL REL GBR/JPN"
    run("pay", number, "--as", "jp-log", "--reference", "BACS 77", "--on", DAY.isoformat())
    order = Order.objects.get(number=number)
    assert order.state == OrderState.SETTLED
    assert sum(e.amount for e in LedgerEntry.objects.filter(order=order, currency_id="GBP")) == 0
    assert AuditEvent.objects.filter(action="order.settle", source="cli", allowed=True,
                                     object_id=str(order.pk)).exists()
    # Bad input: a clear sentence and exit 2, nothing drafted.
    count = Order.objects.count()
    assert failing("draft", "--as", "uk-log", "--supplying", "JPN", "--label",
                   "GBR/OFFICIAL|rel=GBR,JPN", "--line", "weapons|Rifles|1|each|900|GBP")[1] == 2
    assert failing("draft", "--as", "uk-log", "--supplying", "JPN", "--label",
                   "GBR/OFFICIAL|rel=GBR,JPN", "--line", "fuel only") == (
        "A line is CATEGORY|DESCRIPTION|QUANTITY|UNIT|UNIT PRICE|CURRENCY, for example "
        "'pol|F-34 fuel|12000|litres|0.85|GBP'.", 2)
    assert failing("receipt", number, "--as", "uk-log", "--on", "yesterday") == (
        "'yesterday' is not a date (YYYY-MM-DD).", 2)
    assert Order.objects.count() == count


def test_a_hidden_order_is_not_found_like_a_missing_one_and_left_out_of_every_report(world):
    secret = order_in(world, OrderState.RECEIVED, label=SECRET)
    shown = order_in(world, OrderState.RECEIVED)
    for verb in ("show", "receipt", "close"):
        assert failing(verb, secret.number, "--as", "uk-log2") == ("Not found.", 1)
        assert failing(verb, "GBR-2026-NOSUCH00", "--as", "uk-log2") == ("Not found.", 1)
    assert failing("cancel", secret.number, "--as", "uk-log2", "--reason", "x") == (
        "Not found.", 1)
    assert [o["number"] for o in run_json("orders", "--as", "uk-log2")] == [shown.number]
    assert {o["number"] for o in run_json("orders", "--as", "uk-log")} == {
        shown.number, secret.number}
    # The reports count only what the reader may view.
    uncleared = run_json("statement", "--as", "uk-log2", "--a", "GBR", "--b", "JPN",
                         "--start", "2026-01-01", "--end", "2026-12-31")
    cleared = run_json("statement", "--as", "uk-log", "--a", "GBR", "--b", "JPN",
                       "--start", "2026-01-01", "--end", "2026-12-31")
    assert uncleared["entries"] == 2 and cleared["entries"] == 4
    assert uncleared["closing"] == [{"amount": "10200.00", "currency": "GBP"},
                                    {"amount": "480000", "currency": "JPY"}]
    assert cleared["closing"][0] == {"amount": "20400.00", "currency": "GBP"}
    assert "SECRET" not in uncleared["marking"] and "SECRET" in cleared["marking"]
    balances = run_json("balances", "--as", "uk-log2", "--on", DAY.isoformat())["balances"]
    assert balances[0]["amounts"][0] == {"amount": "10200.00", "currency": "GBP"}
    later = (DAY + dt.timedelta(days=200)).isoformat()
    assert [o["number"] for o in run_json("overdue", "--as", "uk-log2", "--on", later)] == [
        shown.number]
    rows = run_json("reconciliation", "--as", "uk-log2")
    assert [r["number"] for r in rows] == [shown.number]
    assert [r["orders"] for r in run_json("ageing", "--as", "uk-log2", "--on", later)] == [1]


def test_the_statement_csv_adds_up_to_its_closing_balance(world, tmp_path):
    order_in(world, OrderState.RECEIVED)
    order_in(world, OrderState.RECEIVED, requester=world.jp, supplier=world.uk,
             label=LabelSpec("JPN", "TORIATSUKAI-CHUI", ("GBR", "JPN")))
    path = tmp_path / "statement.csv"
    run("statement", "--as", "uk-log", "--a", "GBR", "--b", "JPN", "--start", "2026-01-01",
        "--end", "2026-12-31", "--csv", str(path))
    rows = list(csv.reader(path.open(encoding="utf-8")))
    # Marked as the higher of the two orders' labels, as the reader's nation protects it.
    assert rows[0] == rows[-1] == ["marking", "JPN HANDLE WITH CARE (Toriatsukai Chui) "
                                              "(GBR OFFICIAL-SENSITIVE) REL GBR/JPN"]
    body = rows[2:-1]
    sums: dict[str, Decimal] = {}
    for day, number, kind, currency, amount in body:
        if kind != "closing":
            sums[currency] = sums.get(currency, Decimal(0)) + Decimal(amount)
    closing = {r[3]: Decimal(r[4]) for r in body if r[2] == "closing"}
    assert closing == sums == {"GBP": Decimal("0.00"), "JPY": Decimal("0")}
    assert AuditEvent.objects.filter(action="logistics.statement_export", source="cli").exists()


def test_the_operator_flags_overdue_orders_once_and_loads_terms(world):
    order = order_in(world, OrderState.RECEIVED)
    later = (order.settle_by + dt.timedelta(days=1)).isoformat()
    text = run("flag-overdue", "--on", later, command="acsa")
    assert f"{order.number}: settlement was due by {order.settle_by}" in text
    assert "1 order(s) flagged" in text
    assert "0 order(s) flagged" in run("flag-overdue", "--on", later, command="acsa")
    assert Notification.objects.filter(kind="order.overdue", object_id=str(order.pk)).count() == 2
    assert "loaded" in run("load-terms", command="acsa")
    with pytest.raises(CommandError, match="cannot read agreement terms"):
        call_command("acsa", "load-terms", "/nonexistent.json", stdout=io.StringIO())
