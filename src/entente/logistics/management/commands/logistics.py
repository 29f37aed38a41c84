"""``entente logistics``: the ACSA ledger, acting as a named user.

    entente logistics orders --as USER [--state S] [--requesting GBR] [--supplying JPN]
                             [--activity CODE] [--exercise CODE] [--q TEXT] [--overdue]
    entente logistics show NUMBER_OR_ID --as USER
    entente logistics draft --as USER --supplying JPN --label 'GBR/OFFICIAL|rel=GBR,JPN'
                            [--activity bilateral-training] [--description TEXT]
                            [--exercise CODE] [--method reimbursement] [--place P]
                            [--line 'pol|F-34 fuel|12000|litres|0.85|GBP' ...]
    entente logistics request|accept|provide|receipt|return|close NUMBER --as USER [--on DAY]
    entente logistics refuse|cancel NUMBER --as USER --reason R
    entente logistics pay NUMBER --as USER --reference REF [--on DAY]
    entente logistics exchange NUMBER --against NUMBER --as USER [--on DAY]
    entente logistics attach NUMBER --document ID --kind invoice --as USER
    entente logistics rate --as USER --day DAY --base GBP --quote JPY --rate 190.25
    entente logistics balances --as USER [--on DAY] [--reporting GBP]
    entente logistics statement --as USER --a GBR --b JPN --start DAY --end DAY
                                [--reporting GBP] [--csv FILE]
    entente logistics ageing|overdue --as USER [--on DAY]
    entente logistics reconciliation --as USER [--start DAY] [--end DAY]

Every read is a selector and every change a service, so the kernel decides (and the audit log
records) exactly as for the web; ``--json`` prints what the API answers. ``--as``, ``--json``,
``--language`` and the exit statuses are :class:`entente.core.commands.DomainCommand`'s.
Operators' jobs (loading terms, flagging overdue settlements) are ``entente acsa``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from entente.core.commands import DomainCommand, Subcommand
from entente.exchange.models import Document
from entente.logistics import money, reports, selectors, services
from entente.logistics.api import moneys, order_detail, order_out
from entente.logistics.models import OrderState, SettlementMethod, SourceDocumentKind
from entente.logistics.services import LineSpec, LogisticsError
from entente.security import audit
from entente.security.labels import LabelSpec
from entente.security.selectors import parse_id

ORDER_COLUMNS = [("number", "NUMBER"), ("state", "STATE"), ("requesting", "FROM"),
                 ("supplying", "TO"), ("activity", "ACTIVITY"), ("exercise", "EXERCISE"),
                 ("settle_by", "SETTLE BY"), ("banner", "MARKING")]


def _day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise LogisticsError(_("'%(text)s' is not a date (YYYY-MM-DD).") % {"text": text}) from None


def _line(text: str) -> LineSpec:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) != 6:
        raise LogisticsError(_("A line is CATEGORY|DESCRIPTION|QUANTITY|UNIT|UNIT PRICE|CURRENCY, "
                               "for example 'pol|F-34 fuel|12000|litres|0.85|GBP'."))
    return LineSpec(*parts)


def _amounts(sums: list[dict[str, str]]) -> str:
    return ", ".join(f"{m['amount']} {m['currency']}" for m in sums) or "—"


class Command(DomainCommand):
    help = ("The ACSA ledger as a named user: every subcommand takes --as USERNAME, and the "
            "kernel decides and the audit log records as for the web.")
    errors = (LogisticsError, money.MoneyError)
    api_json = True

    def add_subcommands(self, verb: Subcommand) -> None:
        p = verb("orders", "orders you may view")
        p.add_argument("--state", default="", choices=["", *OrderState.values])
        p.add_argument("--requesting", default="")
        p.add_argument("--supplying", default="")
        p.add_argument("--activity", default="")
        p.add_argument("--exercise", default="", help="an exercise code")
        p.add_argument("--q", dest="text", default="", help="number, exercise, activity, line")
        p.add_argument("--overdue", action="store_true", help="only orders overdue for settlement")
        p.add_argument("--limit", type=int, default=selectors.PAGE_SIZE)
        p = verb("show", "one order with its lines, totals, events and settlement")
        p.add_argument("order", metavar="NUMBER_OR_ID")
        p = verb("draft", "draft an order to the other party")
        p.add_argument("--supplying", required=True, help="the supplying party (nation code)")
        p.add_argument("--label", required=True, help="e.g. 'GBR/OFFICIAL|rel=GBR,JPN'")
        p.add_argument("--activity", default="", help="an eligible activity's code")
        p.add_argument("--description", default="", help="the activity in words")
        p.add_argument("--exercise", default="", help="the code of an exercise on record")
        p.add_argument("--method", default="", choices=["", *SettlementMethod.values])
        p.add_argument("--place", default="", help="place of delivery")
        p.add_argument("--line", dest="lines", action="append", default=[],
                       help="CATEGORY|DESCRIPTION|QUANTITY|UNIT|UNIT PRICE|CURRENCY (repeat)")
        p.add_argument("--on", default=None, help="YYYY-MM-DD (today)")
        for name, about in (("request", "send a complete draft to the supplying party"),
                            ("accept", "accept a requested order (supplying party)"),
                            ("provide", "record that it was provided (supplying party)"),
                            ("receipt", "sign for what was received (requesting party)"),
                            ("return", "confirm a replacement in kind came back (supplier)"),
                            ("close", "close a settled order with its source documents")):
            p = verb(name, about)
            p.add_argument("order", metavar="NUMBER_OR_ID")
            p.add_argument("--on", default=None, help="YYYY-MM-DD (today)")
        for name, about in (("refuse", "refuse a requested order (supplying party)"),
                            ("cancel", "cancel before provision, with a reason")):
            p = verb(name, about)
            p.add_argument("order", metavar="NUMBER_OR_ID")
            p.add_argument("--reason", required=True)
            p.add_argument("--on", default=None, help="YYYY-MM-DD (today)")
        p = verb("pay", "confirm a reimbursement was received (supplying party)")
        p.add_argument("order", metavar="NUMBER_OR_ID")
        p.add_argument("--reference", required=True)
        p.add_argument("--on", default=None)
        p = verb("exchange", "settle two received orders against each other (equal value)")
        p.add_argument("order", metavar="NUMBER_OR_ID")
        p.add_argument("--against", required=True, metavar="NUMBER_OR_ID")
        p.add_argument("--on", default=None)
        p = verb("attach", "attach an exchange document as a source document")
        p.add_argument("order", metavar="NUMBER_OR_ID")
        p.add_argument("--document", required=True, metavar="DOCUMENT_ID")
        p.add_argument("--kind", required=True, choices=SourceDocumentKind.values)
        p = verb("rate", "record an exchange rate: 1 BASE = RATE QUOTE on DAY")
        p.add_argument("--day", required=True)
        p.add_argument("--base", required=True)
        p.add_argument("--quote", required=True)
        p.add_argument("--rate", required=True)
        p.add_argument("--source", default="")
        p = verb("balances", "what each party owes the other (orders you may view)")
        p.add_argument("--on", default=None)
        p.add_argument("--reporting", default="GBP")
        p = verb("statement", "statement of account between two parties for a period")
        p.add_argument("--a", required=True)
        p.add_argument("--b", required=True)
        p.add_argument("--start", required=True)
        p.add_argument("--end", required=True)
        p.add_argument("--reporting", default="GBP")
        p.add_argument("--csv", default=None, metavar="FILE", help="write every entry as CSV")
        for name, about in (("ageing", "open orders by age band and party"),
                            ("overdue", "orders not settled by their deadline")):
            p = verb(name, about)
            p.add_argument("--on", default=None)
        p = verb("reconciliation", "each order as both sides recorded it")
        p.add_argument("--start", default=None)
        p.add_argument("--end", default=None)

    # ----------------------------------------------------------------------- reads

    def _rows(self, orders: list[Any]) -> list[dict[str, Any]]:
        today = timezone.localdate()
        return [order_out(self.user, o, today) for o in orders]

    def do_orders(self, state: str, requesting: str, supplying: str, activity: str,
                  exercise: str, text: str, overdue: bool, limit: int, **rest: Any) -> None:
        filters: dict[str, Any] = {"state": state, "requesting": requesting.upper(),
                                   "supplying": supplying.upper(), "activity": activity,
                                   "text": text}
        if overdue:
            filters["overdue_on"] = timezone.localdate()
        if exercise:
            from entente.exercises.selectors import exercise_for

            filters["exercise"] = exercise_for(self.user, exercise)
        orders = selectors.list_orders(self.user, limit=max(1, min(limit, 500)), **filters)
        self.emit(self._rows(orders), ORDER_COLUMNS)

    def do_show(self, order: str, **rest: Any) -> None:
        detail = order_detail(self.user, selectors.order_for(self.user, order))
        lines = "\n".join(
            f"  {line['position']}. {line['category']}: {line['description']} — "
            f"{line['quantity']} {line['unit']} × {line['unit_price']['amount']} = "
            f"{line['amount']['amount']} {line['amount']['currency']}"
            for line in detail["lines"])
        events = "\n".join(f"  {e['on']} {e['state']} by {e['by']}"
                           + (f": {e['note']}" if e["note"] else "") for e in detail["events"])
        text = "\n".join([
            f"{detail['banner']}",
            f"{detail['number']} ({detail['state']}) {detail['requesting']} → "
            f"{detail['supplying']}",
            f"activity: {detail['activity'] or '—'} {detail['activity_description']}".rstrip(),
            f"exercise: {detail['exercise'] or '—'}",
            f"settlement: {detail['settlement_method'] or '—'}"
            + (f", by {detail['settle_by']}" if detail["settle_by"] else ""),
            "lines:", lines or "  —",
            f"total: {_amounts(detail['totals'])}",
            f"owed: {_amounts(detail['owed'])}",
            "events:", events,
            *([f"missing: {'; '.join(detail['missing'])}"] if detail["missing"] else []),
            f"{detail['banner']}"])
        self.emit(detail, text=text)

    def do_balances(self, on: str | None, reporting: str, **rest: Any) -> None:
        day = _day(on) or timezone.localdate()
        places = money.minor_units()
        rows: list[dict[str, Any]] = [{"debtor": b.debtor, "creditor": b.creditor,
                 "amounts": moneys(b.amounts, places),
                 "converted": (None if b.converted is None else
                               moneys({b.reporting: b.converted}, places)[0])}
                for b in selectors.balances(self.user, day, reporting.upper())]
        text = "\n".join(f"{r['debtor']} owes {r['creditor']}: {_amounts(r['amounts'])}"
                         + (f" (≈ {r['converted']['amount']} {r['converted']['currency']})"
                            if r["converted"] else "") for r in rows)
        self.emit({"on": day, "balances": rows},
                  text=(text or "No balances on orders you may view.")
                  + "\n(orders you may view only)")

    def do_statement(self, a: str, b: str, start: str, end: str, reporting: str,
                     csv: str | None, **rest: Any) -> None:
        first, last = _day(start), _day(end)
        assert first is not None and last is not None
        if last < first:
            raise LogisticsError(_("The period ends before it starts."))
        a, b = a.upper(), b.upper()
        if a == b:
            raise LogisticsError(_("A statement is between two different parties."))
        places = money.minor_units()
        found = selectors.statement(self.user, a, b, first, last, reporting.upper())
        _marking, banner = reports.statement_marking(self.user, found)
        if csv:
            audit.record("logistics.statement_export", actor=self.user, allowed=True,
                         object_type="logistics.statement",
                         detail={"format": "csv", "a": a, "b": b, "start": first.isoformat(),
                                 "end": last.isoformat(), "entries": found.entry_count,
                                 "marking": banner.text()})
            with Path(csv).open("w", encoding="utf-8", newline="") as out:
                for row in reports.statement_csv(found, banner, places):
                    out.write(row)
        summary: dict[str, Any] = {"a": a, "b": b, "start": first, "end": last, "marking": banner.text(),
                   "opening": moneys(found.opening, places),
                   "debits": moneys(found.debits, places),
                   "credits": moneys(found.credits, places),
                   "closing": moneys(found.closing, places), "entries": found.entry_count}
        text = "\n".join([
            banner.text(),
            f"{a} owes {b}, {first} to {last} (orders you may view only)",
            f"opening: {_amounts(summary['opening'])}",
            f"debits:  {_amounts(summary['debits'])}",
            f"credits: {_amounts(summary['credits'])}",
            f"closing: {_amounts(summary['closing'])}",
            f"{found.entry_count} entries" + (f", written to {csv}" if csv else ""),
            banner.text()])
        self.emit(summary, text=text)

    def do_ageing(self, on: str | None, **rest: Any) -> None:
        day = _day(on) or timezone.localdate()
        places = money.minor_units()
        rows = [{"band": r.band, "requesting": r.requesting, "supplying": r.supplying,
                 "orders": r.orders, "amounts": _amounts(moneys(r.amounts, places))}
                for r in selectors.ageing(self.user, day)]
        self.emit(rows, [("band", "DAYS"), ("requesting", "FROM"), ("supplying", "TO"),
                         ("orders", "ORDERS"), ("amounts", "VALUE")])

    def do_overdue(self, on: str | None, **rest: Any) -> None:
        day = _day(on) or timezone.localdate()
        orders = selectors.list_orders(self.user, overdue_on=day, limit=500)
        self.emit(self._rows(orders), ORDER_COLUMNS)

    def do_reconciliation(self, start: str | None, end: str | None, **rest: Any) -> None:
        places = money.minor_units()
        rows = [{"number": r.order.number, "state": r.order.state,
                 "requesting_side": r.requesting_side, "supplying_side": r.supplying_side,
                 "total": _amounts(moneys(r.totals, places)),
                 "owed": _amounts(moneys(r.owed, places)), "problems": "; ".join(r.problems)}
                for r in selectors.reconciliation(self.user, start=_day(start), end=_day(end))]
        self.emit(rows, [("number", "NUMBER"), ("state", "STATE"),
                         ("requesting_side", "REQUESTING SIDE"),
                         ("supplying_side", "SUPPLYING SIDE"), ("total", "TOTAL"),
                         ("owed", "OWED"), ("problems", "PROBLEMS")])

    # ----------------------------------------------------------------------- changes

    def _done(self, order: Any) -> None:
        self.emit(order_detail(self.user, order), text=f"{order.number}: {order.state}")

    def do_draft(self, supplying: str, label: str, activity: str, description: str,
                 exercise: str, method: str, place: str, lines: list[str], on: str | None,
                 **rest: Any) -> None:
        order = services.draft_order(
            self.user, supplying_nation=supplying.strip().upper(), label=LabelSpec.parse(label),
            activity=activity or None, activity_description=description,
            exercise=exercise or None, settlement_method=method, delivery_place=place,
            lines=[_line(text) for text in lines], on=_day(on))
        self._done(order)

    def _order(self, key: str) -> Any:
        return selectors.order_for(self.user, key)

    def do_request(self, order: str, on: str | None, **rest: Any) -> None:
        self._done(services.request_order(self.user, self._order(order), _day(on)))

    def do_accept(self, order: str, on: str | None, **rest: Any) -> None:
        self._done(services.accept_order(self.user, self._order(order), _day(on)))

    def do_provide(self, order: str, on: str | None, **rest: Any) -> None:
        self._done(services.record_provision(self.user, self._order(order), _day(on)))

    def do_receipt(self, order: str, on: str | None, **rest: Any) -> None:
        self._done(services.sign_receipt(self.user, self._order(order), _day(on)))

    def do_return(self, order: str, on: str | None, **rest: Any) -> None:
        self._done(services.record_return(self.user, self._order(order), _day(on)))

    def do_close(self, order: str, on: str | None, **rest: Any) -> None:
        self._done(services.close_order(self.user, self._order(order), _day(on)))

    def do_refuse(self, order: str, reason: str, on: str | None, **rest: Any) -> None:
        self._done(services.refuse_order(self.user, self._order(order), reason, _day(on)))

    def do_cancel(self, order: str, reason: str, on: str | None, **rest: Any) -> None:
        self._done(services.cancel_order(self.user, self._order(order), reason, _day(on)))

    def do_pay(self, order: str, reference: str, on: str | None, **rest: Any) -> None:
        self._done(services.record_payment(self.user, self._order(order), reference, _day(on)))

    def do_exchange(self, order: str, against: str, on: str | None, **rest: Any) -> None:
        mine, theirs = services.exchange_equal_value(self.user, self._order(order),
                                                     self._order(against), _day(on))
        self.emit({"orders": [order_out(self.user, o, timezone.localdate())
                              for o in (mine, theirs)]},
                  text=f"{mine.number} and {theirs.number}: settled by exchange of equal value")

    def do_attach(self, order: str, document: str, kind: str, **rest: Any) -> None:
        found = self._order(order)
        pk = parse_id(document)
        attached_to = Document.objects.filter(pk=pk).first() if pk else None
        if attached_to is None:
            raise LogisticsError(_("No document you may view has this id."))
        services.attach_document(self.user, found, kind, attached_to)
        self._done(found)

    def do_rate(self, day: str, base: str, quote: str, rate: str, source: str,
                **rest: Any) -> None:
        recorded_on = _day(day)
        assert recorded_on is not None
        recorded = services.record_rate(self.user, day=recorded_on, base=base, quote=quote,
                                        rate=rate, source=source)
        self.emit({"day": recorded.day, "base": recorded.base_id, "quote": recorded.quote_id,
                   "rate": recorded.rate},
                  text=f"{recorded.day}: 1 {recorded.base_id} = {recorded.rate} "
                       f"{recorded.quote_id}")
