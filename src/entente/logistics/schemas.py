"""Request and response schemas of the logistics API (``entente.logistics.api``).

Money always travels as an exact decimal string with its currency (``{"amount": "10200.00",
"currency": "GBP"}``), never as a JSON number: a float cannot hold 0.1 exactly, and a ledger must.
Numbers sent in (quantities, prices, rates) are decimal strings too; a whole number is accepted,
a JSON float is refused with a message saying what to send instead."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Schema
from pydantic import UUID4, BeforeValidator, Field

from entente.logistics.models import SettlementMethod, SourceDocumentKind
from entente.logistics.services import MAX_LINES

LABEL_HELP = ("The order's label in its compact form, e.g. `GBR/SECRET|rel=GBR,JPN`: originated "
              "by the caller's nation and releasable to the supplying party.")
AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
ON_HELP = "The day it happened (default: today; not a day still to come)."


def _decimal_text(value: Any) -> Any:
    if isinstance(value, (bool, float)):
        # A float cannot say 0.85 exactly; the service parses the text as a decimal.
        raise ValueError('give the number as a decimal string such as "0.85", not a JSON '
                         'number with a fraction')
    if isinstance(value, int):
        return str(value)  # a whole number is exact
    return value


DecimalText = Annotated[str, BeforeValidator(_decimal_text), Field(max_length=60)]


class Problem(Schema):
    detail: str


class MoneyOut(Schema):
    amount: str = Field(pattern=AMOUNT_PATTERN, description="An exact decimal, as text.",
                        examples=["10200.00"])
    currency: str = Field(description="ISO 4217 code.", examples=["GBP"])


# --------------------------------------------------------------------------- orders


class OrderOut(Schema):
    id: UUID4
    number: str
    label: str
    banner: str = Field(description="The marking as the caller's nation protects it.")
    state: str
    requesting: str = Field(description="The requesting party (nation code).")
    supplying: str = Field(description="The supplying party (nation code).")
    activity: str | None = Field(description="The eligible activity's code.")
    exercise: str | None = Field(description="The code of the exercise the order is raised "
                                             "under, if any.")
    settlement_method: str
    created_at: dt.datetime
    requested_on: dt.date | None
    settle_by: dt.date | None
    overdue: bool = Field(description="Receipt signed and not settled by `settle_by`.")


class OrderPage(Schema):
    count: int = Field(description="Orders the caller may view that match the filters.")
    items: list[OrderOut]


class OrderLineOut(Schema):
    position: int
    category: str
    category_name: str
    description: str
    quantity: str = Field(pattern=AMOUNT_PATTERN)
    unit: str
    unit_price: MoneyOut
    amount: MoneyOut = Field(description="Quantity × unit price, rounded once (half to even) "
                                         "to the currency's minor unit.")


class OrderEventOut(Schema):
    state: str
    on: dt.date
    at: dt.datetime
    by: str
    note: str


class OrderSettlementOut(Schema):
    method: str
    reference: str
    to_return: str
    return_due: dt.date | None
    returned_on: dt.date | None
    counter_order: str | None = Field(description="The number of the order it was exchanged "
                                                  "against, if the caller may view it.")
    settled_on: dt.date | None
    recorded_by: str


class SourceDocumentOut(Schema):
    document: UUID4 = Field(description="The exchange document's id (`/documents/{id}`).")
    kind: str
    title: str
    label: str
    attached_by: str
    attached_at: dt.datetime


class OrderDetail(OrderOut):
    agreement: str
    owner: str
    activity_name: str
    activity_description: str
    delivery_place: str
    wanted_by: dt.date | None
    requesting_officer: str
    supplying_officer: str | None
    provided_on: dt.date | None
    received_on: dt.date | None
    received_by: str | None
    settled_on: dt.date | None
    closed_on: dt.date | None
    missing: list[str] = Field(description="What a draft (or a requested order) still lacks "
                                           "before it may be requested (or accepted); empty "
                                           "once it is complete or past that.")
    lines: list[OrderLineOut]
    totals: list[MoneyOut] = Field(description="Exact sums per currency.")
    owed: list[MoneyOut] = Field(description="What the ledger still shows owed for the order.")
    events: list[OrderEventOut]
    settlement: OrderSettlementOut | None
    source_documents: list[SourceDocumentOut] = Field(
        description="Only those the caller may view (each document keeps its own label).")


class OrderLineIn(Schema):
    category: str = Field(max_length=64, description="A category code of the agreement, e.g. "
                                                     "`pol` or `food`.")
    description: str = Field(max_length=1000)
    quantity: DecimalText = Field(description='A decimal string, e.g. "12000".')
    unit: str = Field(max_length=64, description="e.g. litres, meals, hours")
    unit_price: DecimalText = Field(description='A decimal string, e.g. "0.85".')
    currency: str = Field(max_length=8, description="ISO 4217 code of a currency of the "
                                                    "agreement (GBP, JPY).")


class OrderIn(Schema):
    supplying_nation: str = Field(max_length=3)
    label: str = Field(max_length=1000, description=LABEL_HELP)
    activity: str = Field("", max_length=64, description="The eligible activity's code.")
    activity_description: str = Field("", max_length=1000)
    exercise: str = Field("", max_length=64, description="The code of an exercise the caller "
                                                         "may view (optional).")
    settlement_method: SettlementMethod | None = None
    delivery_place: str = Field("", max_length=1000)
    wanted_by: dt.date | None = None
    supplying_officer: str | None = Field(None, max_length=150,
                                          description="Username of the supplying party's "
                                                      "authorised officer.")
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=MAX_LINES)
    on: dt.date | None = Field(None, description=ON_HELP)


class OrderReviseIn(Schema):
    """Only the fields sent change; `lines`, if sent, replaces every line."""

    activity: str | None = Field(None, max_length=64)
    activity_description: str | None = Field(None, max_length=1000)
    exercise: str | None = Field(None, max_length=64,
                                 description="An exercise code; an empty string unlinks it.")
    settlement_method: SettlementMethod | None = None
    delivery_place: str | None = Field(None, max_length=1000)
    wanted_by: dt.date | None = None
    supplying_officer: str | None = Field(None, max_length=150)
    lines: list[OrderLineIn] | None = Field(None, max_length=MAX_LINES)


class OrderStepIn(Schema):
    on: dt.date | None = Field(default=None, description=ON_HELP)
    note: str = Field(default="", max_length=4000)


class OrderReasonIn(Schema):
    reason: str = Field(max_length=4000)
    on: dt.date | None = Field(None, description=ON_HELP)


class OrderPaymentIn(Schema):
    reference: str = Field(max_length=1000, description="The payment's reference.")
    on: dt.date | None = Field(None, description=ON_HELP)


class EqualValueIn(Schema):
    counter_order: str = Field(max_length=64, description="Id or number of the received order "
                                                          "in the other direction.")
    on: dt.date | None = Field(None, description=ON_HELP)


class SourceDocumentIn(Schema):
    document: str = Field(max_length=64, description="Id of an exchange document the caller "
                                                     "may view.")
    kind: SourceDocumentKind


# --------------------------------------------------------------------------- rates and terms


class ExchangeRateOut(Schema):
    day: dt.date
    base: str
    quote: str
    rate: str = Field(pattern=AMOUNT_PATTERN, description="1 `base` = `rate` `quote`.")
    source: str
    recorded_by: str | None


class ExchangeRateIn(Schema):
    day: dt.date | None = Field(None, description="Default: today.")
    base: str = Field(max_length=8)
    quote: str = Field(max_length=8)
    rate: DecimalText = Field(description='1 base = rate quote, a decimal string e.g. "190.25".')
    source: str = Field("", max_length=1000)


class AgreementCurrencyOut(Schema):
    code: str
    name_en: str
    name_ja: str
    minor_units: int


class AgreementActivityOut(Schema):
    code: str
    name_en: str
    name_ja: str


class AgreementCategoryOut(AgreementActivityOut):
    eligible: bool
    allowed_for: list[str] = Field(description="Activity codes; empty: every activity.")


class AgreementSettlementTermOut(Schema):
    method: str
    days: int = Field(description="Days from the signed receipt to settle.")


class AgreementOut(Schema):
    code: str
    name_en: str
    name_ja: str
    parties: list[str]
    in_force_from: dt.date
    equal_value_tolerance_percent: str = Field(pattern=AMOUNT_PATTERN)
    activities: list[AgreementActivityOut]
    categories: list[AgreementCategoryOut]
    settlement: list[AgreementSettlementTermOut]


class AgreementTermsOut(Schema):
    currencies: list[AgreementCurrencyOut]
    agreements: list[AgreementOut]


# --------------------------------------------------------------------------- reports


class LedgerBalanceOut(Schema):
    debtor: str
    creditor: str
    amounts: list[MoneyOut]
    converted: MoneyOut | None = Field(description="All of it in the reporting currency at the "
                                                   "day's rate; null if a rate is missing.")


class LedgerBalancesOut(Schema):
    on: dt.date
    reporting: str
    balances: list[LedgerBalanceOut]


class LedgerStatementEntryOut(Schema):
    on: dt.date
    order: str
    kind: str
    amount: MoneyOut = Field(description="As what `a` owes `b`: negative when it is less.")


class LedgerStatementOut(Schema):
    a: str
    b: str
    start: dt.date
    end: dt.date
    reporting: str
    opening: list[MoneyOut] = Field(description="What `a` owed `b` at the start (negative: "
                                                "`b` owed `a`).")
    debits: list[MoneyOut] = Field(description="`a` owes `b` more.")
    credits: list[MoneyOut] = Field(description="`a` owes `b` less.")
    closing: list[MoneyOut]
    opening_converted: MoneyOut | None
    closing_converted: MoneyOut | None
    entry_count: int
    offset: int
    limit: int
    truncated: bool = Field(description="More entries follow (see the `Link` header).")
    entries: list[LedgerStatementEntryOut]


class OrderAgeingRowOut(Schema):
    band: str = Field(description="Days since the order was requested (drafted, if not yet).")
    requesting: str
    supplying: str
    orders: int
    amounts: list[MoneyOut]


class OrderAgeingOut(Schema):
    on: dt.date
    bands: list[str]
    rows: list[OrderAgeingRowOut]


class OrderReconciliationRowOut(Schema):
    order: OrderOut
    totals: list[MoneyOut]
    owed: list[MoneyOut]
    requesting_side: str
    supplying_side: str
    problems: list[str]


class OrderReconciliationOut(Schema):
    on: dt.date
    start: dt.date | None
    end: dt.date | None
    limit: int
    truncated: bool = Field(description="The limit was reached: narrow the period.")
    rows: list[OrderReconciliationRowOut]


class LedgerBalancePointOut(Schema):
    day: dt.date
    amounts: list[MoneyOut]


class LedgerHistoryOut(Schema):
    debtor: str
    creditor: str
    start: dt.date
    end: dt.date
    points: list[LedgerBalancePointOut]
