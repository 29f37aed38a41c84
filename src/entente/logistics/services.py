"""Actions on ACSA orders and the ledger. Each runs in one ``audit.atomic()`` transaction, asks the
kernel, and is audited: what was done, and every refusal of who may do it.

Who does what (each a logistics officer of that party's nation who may view the order):
  * the requesting side drafts the order, requests it, signs the receipt, and may cancel it
    until the supplies or services are provided;
  * the supplying side accepts or refuses it, records that it was provided, and records its
    settlement (payment received, replacement returned);
  * either side attaches source documents, links an exchange of equal value, closes a settled
    order, and records exchange rates.

The life of an order: drafted → requested → accepted (or refused) → provided → received (receipt
signed) → settled → closed; cancelled, with a reason, before it is provided. Every step is an
``OrderEvent``; nothing changes an order that is refused, closed or cancelled.

Errors a person can act on are ``LogisticsError`` with a message in the active language; an order
the actor may not view is ``NotFound``, exactly like one that does not exist. Every service takes
``on`` (the day the step happens, today by default) so tests and back-dated records run on a
fixed clock.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from entente.core.models import Nation, Organisation, Role, RoleGrant, User
from entente.exchange import services as exchange
from entente.exchange.models import Document
from entente.exchange.services import notify
from entente.exercises.models import Exercise
from entente.logistics import money
from entente.logistics.models import (
    CANCELLABLE_STATES,
    FINAL_STATES,
    MONEY,
    QUANTITY,
    REQUIRED_SOURCE_DOCUMENTS,
    Activity,
    Agreement,
    Category,
    Currency,
    ExchangeRate,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    Settlement,
    SettlementMethod,
    SettlementTerm,
    SourceDocument,
    SourceDocumentKind,
)
from entente.security import audit, kernel
from entente.security.kernel import Action
from entente.security.labels import LabelSpec, make_label
from entente.security.models import Label
from entente.security.selectors import NotFound, require

MAX_LINES = 200
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U


class LogisticsError(ValueError):
    """A request that cannot be done as asked; the message says why, for the person asking."""


@dataclass(frozen=True)
class LineSpec:
    """One line as a person gives it (text from a form, a CLI or JSON is fine: it is parsed)."""

    category: str
    description: str
    quantity: Decimal | str | int
    unit: str
    unit_price: Decimal | str | int
    currency: str


def _today() -> dt.date:
    return timezone.localdate()


# --------------------------------------------------------------------------- who may act


def _refuse(action: str, actor: Any, message: str, *, obj: Any = None) -> LogisticsError:
    """Audit a refusal (kept even though the transaction rolls back) and return the error."""
    audit.record(action, actor=actor, obj=obj, object_type="" if obj else "logistics.order",
                 allowed=False, reason=message)
    return LogisticsError(message)


def is_officer_of(user: Any, nation: str, on: dt.date | None = None) -> bool:
    """A logistics officer of the nation's forces: of its nationality, in one of its
    organisations, holding the role on the day."""
    organisation = getattr(user, "organisation", None)
    return bool(getattr(user, "is_active", False)
                and getattr(user, "nationality_id", None) == nation
                and organisation is not None and organisation.nation_id == nation
                and user.has_role(Role.LOGISTICS_OFFICER, on))


def _require_officer(actor: Any, order: Order, side: str, action: str) -> None:
    nation = order.requesting_nation_id if side == "requesting" else order.supplying_nation_id
    if not is_officer_of(actor, nation):
        message = (_("Only a logistics officer of the requesting party (%(nation)s) may do this.")
                   if side == "requesting" else
                   _("Only a logistics officer of the supplying party (%(nation)s) may do this."))
        raise _refuse(action, actor, message % {"nation": nation}, obj=order)


def _require_party_officer(actor: Any, order: Order, action: str) -> None:
    if not (is_officer_of(actor, order.requesting_nation_id)
            or is_officer_of(actor, order.supplying_nation_id)):
        raise _refuse(action, actor, _("Only a logistics officer of one of the two parties may "
                                       "do this."), obj=order)


def _locked(actor: Any, order: Order, action: str) -> Order:
    """The order, locked for the change, if the kernel lets the actor view it (else NotFound,
    audited, as for an order that does not exist); refused if it can no longer change."""
    locked = (Order.objects.select_for_update(of=("self",))
              .select_related("label", "agreement", "activity").get(pk=order.pk))
    require(actor, Action.VIEW, locked)
    if locked.state in FINAL_STATES:
        raise _refuse(action, actor, _("Order %(number)s is %(state)s: it can no longer change.")
                      % {"number": locked.number, "state": locked.get_state_display().lower()},
                      obj=locked)
    return locked


def _expect(order: Order, action: str, actor: Any, *states: str) -> None:
    if order.state not in states:
        wanted = ", ".join(str(OrderState(s).label).lower() for s in states)
        raise _refuse(action, actor,
                      _("Order %(number)s is %(state)s; this step needs it %(wanted)s.")
                      % {"number": order.number, "state": order.get_state_display().lower(),
                         "wanted": wanted}, obj=order)


def _step(order: Order, state: str, actor: Any, on: dt.date, note: str = "",
          fields: Sequence[str] = ()) -> None:
    order.state = state
    order.save(update_fields=["state", *fields])
    OrderEvent.objects.create(order=order, state=state, on=on, by=actor, note=note)


# --------------------------------------------------------------------------- terms and lines


def agreement_between(a: str, b: str) -> Agreement:
    agreement = (Agreement.objects.filter(parties=a).filter(parties=b).order_by("-in_force_from")
                 .first())
    if agreement is None:
        raise LogisticsError(_("There is no cross-servicing agreement between %(a)s and %(b)s.")
                             % {"a": a, "b": b})
    return agreement


def _activity(agreement: Agreement, code: str | Activity | None) -> Activity | None:
    if code in (None, ""):
        return None
    if isinstance(code, Activity):
        code = code.code
    found = agreement.activities.filter(code=str(code).strip()).first()
    if found is None:
        eligible = ", ".join(agreement.activities.values_list("code", flat=True))
        raise LogisticsError(_("'%(code)s' is not an activity eligible under the agreement. "
                               "Eligible activities: %(eligible)s.")
                             % {"code": code, "eligible": eligible})
    return found


def _decimal(value: Any, what: str, field: dict[str, int]) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip()
                                                                  .replace(",", ""))
    except (InvalidOperation, ValueError):
        raise LogisticsError(_("%(what)s '%(value)s' is not a number.")
                             % {"what": what, "value": value}) from None
    if not number.is_finite():
        raise LogisticsError(_("%(what)s '%(value)s' is not a number.")
                             % {"what": what, "value": value})
    places = field["decimal_places"]
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise LogisticsError(_("%(what)s may have at most %(places)d decimal places.")
                             % {"what": what, "places": places})
    if abs(number) >= Decimal(10) ** (field["max_digits"] - places):
        raise LogisticsError(_("%(what)s '%(value)s' is too large.")
                             % {"what": what, "value": value})
    return number


def _eligible(category: Category, activity: Activity | None) -> None:
    if not category.eligible:
        raise LogisticsError(_("%(category)s may not be supplied under the agreement.")
                             % {"category": category.name})
    if activity is not None:
        allowed = list(category.allowed_for.all())
        if allowed and activity not in allowed:
            raise LogisticsError(
                _("%(category)s may be supplied only for: %(activities)s; not for %(activity)s.")
                % {"category": category.name, "activities": "; ".join(a.name for a in allowed),
                   "activity": activity.name})


def _lines(agreement: Agreement, activity: Activity | None, specs: Sequence[LineSpec],
           ) -> list[OrderLine]:
    if len(specs) > MAX_LINES:
        raise LogisticsError(_("An order has at most %(max)d lines.") % {"max": MAX_LINES})
    categories = {c.code: c for c in agreement.categories.prefetch_related("allowed_for")}
    currencies = {c.code: c for c in Currency.objects.all()}
    lines = []
    for position, spec in enumerate(specs, start=1):
        where = _("Line %(n)d") % {"n": position}
        category = categories.get(str(spec.category).strip())
        if category is None:
            raise LogisticsError(_("%(where)s: '%(code)s' is not a category of supplies and "
                                   "services of the agreement.")
                                 % {"where": where, "code": spec.category})
        try:
            _eligible(category, activity)
        except LogisticsError as exc:
            raise LogisticsError(f"{where}: {exc}") from None
        description, unit = (spec.description or "").strip(), (spec.unit or "").strip()
        if not description:
            raise LogisticsError(_("%(where)s: describe what is supplied.") % {"where": where})
        if len(description) > 300:
            raise LogisticsError(_("%(where)s: a description has at most 300 characters.")
                                 % {"where": where})
        if not unit or len(unit) > 32:
            raise LogisticsError(_("%(where)s: give the unit (at most 32 characters), for "
                                   "example litres, meals or hours.") % {"where": where})
        currency = currencies.get(str(spec.currency).strip().upper())
        if currency is None:
            raise LogisticsError(_("%(where)s: the currency must be one of %(codes)s.")
                                 % {"where": where, "codes": ", ".join(sorted(currencies))})
        quantity = _decimal(spec.quantity, _("%(where)s: quantity") % {"where": where}, QUANTITY)
        price = _decimal(spec.unit_price, _("%(where)s: unit price") % {"where": where}, MONEY)
        if quantity <= 0:
            raise LogisticsError(_("%(where)s: the quantity must be more than zero.")
                                 % {"where": where})
        if price < 0:
            raise LogisticsError(_("%(where)s: the unit price cannot be negative.")
                                 % {"where": where})
        # A unit price may be finer than the currency (¥0.5 a sheet); the amount is not.
        amount = money.line_amount(quantity, price, currency.minor_units)
        _decimal(amount, _("%(where)s: amount") % {"where": where}, MONEY)
        lines.append(OrderLine(position=position, category=category, description=description,
                               quantity=quantity, unit=unit, unit_price=price,
                               currency=currency, amount=amount))
    return lines


def missing_data(order: Order, *, for_acceptance: bool) -> list[str]:
    """What the order still lacks before it may be requested (or accepted): the faults audits of
    ACSA records keep finding, named one by one."""
    missing = []
    if order.activity_id is None:
        missing.append(_("the activity"))
    if not order.settlement_method:
        missing.append(_("the settlement method"))
    lines = list(order.lines.all())
    if not lines:
        missing.append(_("at least one line"))
    if any(line.unit_price <= 0 for line in lines):
        missing.append(_("a price on every line"))
    if for_acceptance and order.supplying_officer_id is None:
        missing.append(_("the supplying party's authorised officer"))
    return missing


def _require_complete(actor: Any, order: Order, action: str, *, for_acceptance: bool) -> None:
    if missing := missing_data(order, for_acceptance=for_acceptance):
        raise _refuse(action, actor, _("Order %(number)s is missing %(missing)s.")
                      % {"number": order.number, "missing": "; ".join(missing)}, obj=order)
    # The terms may have changed since the draft (a category made ineligible): check again.
    assert order.activity is not None
    for line in order.lines.select_related("category"):
        try:
            _eligible(line.category, order.activity)
        except LogisticsError as exc:
            raise _refuse(action, actor, str(exc), obj=order) from None


def _readable_by(actor: Any, obj: Any) -> None:
    """One cannot draft what one could not then read: say why, in the reader's language (a
    NotFound here would tell the drafter nothing)."""
    decision = kernel.decide(actor, Action.EDIT, obj)
    if not decision:
        raise LogisticsError(_("You could not read an order with this label: %(reason)s")
                             % {"reason": decision.reason(get_language() or "en")})


def _new_number(nation: str, on: dt.date) -> str:
    """``GBR-2026-K7QM3XPD``: the nation and year say whose and when; the rest is random, so a
    number says nothing about how many orders (some of them hidden from the reader) came
    before it. 40 bits: a clash is retried, never expected."""
    for _attempt in range(5):
        suffix = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
        number = f"{nation}-{on.year}-{suffix}"
        if not Order.objects.filter(number=number).exists():
            return number
    raise RuntimeError("five random order numbers in a row were taken")


# --------------------------------------------------------------------------- orders


def draft_order(actor: Any, *, supplying_nation: str, label: LabelSpec,
                activity: str | Activity | None = None, activity_description: str = "",
                exercise: Exercise | str | None = None, settlement_method: str = "",
                delivery_place: str = "",
                wanted_by: dt.date | None = None, supplying_officer: Any = None,
                lines: Sequence[LineSpec] = (), on: dt.date | None = None) -> Order:
    """A new order of the actor's nation's forces to the other party's. It may be incomplete;
    it is checked when it is requested. ``label`` is originated by the actor's nation and must
    be releasable to the supplying party. ``exercise`` (an exercise or its code, optional) is
    one the actor may view and that the order's label protects at least as well, so that no
    reader of the order learns of an exercise they may not see."""
    on = on or _today()
    nation = getattr(actor, "nationality_id", None)
    if not nation or not is_officer_of(actor, nation):
        raise _refuse("order.draft", actor, _("Only a logistics officer may draft an order."))
    if not Nation.objects.filter(code=supplying_nation).exists() or supplying_nation == nation:
        raise LogisticsError(_("The supplying party must be the other nation of the agreement."))
    agreement = agreement_between(nation, supplying_nation)
    if label.originator != nation:
        raise LogisticsError(_("An order is originated by your own nation (%(code)s).")
                             % {"code": nation})
    if supplying_nation not in label.releasable_to:
        raise LogisticsError(_("The order must be releasable to the supplying party (%(code)s) "
                               "as well as to your own.") % {"code": supplying_nation})
    fields = _order_fields(agreement, activity=activity,
                           activity_description=activity_description,
                           settlement_method=settlement_method, delivery_place=delivery_place,
                           wanted_by=wanted_by, supplying_officer=supplying_officer,
                           supplying_nation=supplying_nation)
    built = _lines(agreement, fields["activity"], lines)
    with audit.atomic():
        made = make_label(label)
        order = Order(agreement=agreement, number=_new_number(nation, on), label=made,
                      owner=actor.organisation, requesting_nation_id=nation,
                      supplying_nation_id=supplying_nation, requesting_officer=actor,
                      exercise=_exercise(actor, exercise, made), **fields)
        _readable_by(actor, order)
        order.save(force_insert=True)
        for line in built:
            line.order = order
        OrderLine.objects.bulk_create(built)
        OrderEvent.objects.create(order=order, state=OrderState.DRAFTED, on=on, by=actor)
        audit.record("order.draft", actor=actor, obj=order, allowed=True, detail={
            "number": order.number, "label": order.label.canonical,
            "supplying": supplying_nation, "lines": len(built)})
    return order


def _exercise(actor: Any, value: Exercise | str | None, label: Label) -> Exercise | None:
    """The exercise an order is raised under, if any (see ``draft_order``)."""
    if value in (None, ""):
        return None
    code = value.code if isinstance(value, Exercise) else str(value).strip()
    exercise = Exercise.objects.select_related("label").filter(code=code).first()
    # A hidden exercise and a missing one give the same answer.
    if exercise is None or not kernel.decide(actor, Action.VIEW, exercise):
        raise LogisticsError(_("No exercise you may view has the code %(code)s.")
                             % {"code": code})
    if not kernel.covers(label, exercise.label):
        raise LogisticsError(_("The order's label must protect it at least as well as exercise "
                               "%(code)s's, or its readers would learn of the exercise.")
                             % {"code": code})
    return exercise


def _order_fields(agreement: Agreement, *, activity: str | Activity | None,
                  activity_description: str, settlement_method: str,
                  delivery_place: str, wanted_by: dt.date | None, supplying_officer: Any,
                  supplying_nation: str) -> dict[str, Any]:
    activity_description = (activity_description or "").strip()
    delivery_place = (delivery_place or "").strip()
    if len(activity_description) > 300:
        raise LogisticsError(_("An activity description has at most 300 characters."))
    if len(delivery_place) > 200:
        raise LogisticsError(_("A place of delivery has at most 200 characters."))
    if settlement_method and settlement_method not in SettlementMethod.values:
        raise LogisticsError(_("Unknown settlement method '%(method)s'; one of %(methods)s.")
                             % {"method": settlement_method,
                                "methods": ", ".join(SettlementMethod.values)})
    if supplying_officer is not None and not is_officer_of(supplying_officer, supplying_nation):
        raise LogisticsError(_("The supplying party's authorised officer must be a logistics "
                               "officer of %(nation)s.") % {"nation": supplying_nation})
    return {"activity": _activity(agreement, activity),
            "activity_description": activity_description,
            "settlement_method": settlement_method or "", "delivery_place": delivery_place,
            "wanted_by": wanted_by, "supplying_officer": supplying_officer}


def revise_draft(actor: Any, order: Order, *, lines: Sequence[LineSpec] | None = None,
                 **changes: Any) -> Order:
    """Change a draft: any field ``draft_order`` takes but the label and the parties, and (if
    given) all its lines at once. Only drafts change; a requested order is what was asked."""
    with audit.atomic():
        order = _locked(actor, order, "order.revise")
        _require_officer(actor, order, "requesting", "order.revise")
        _expect(order, "order.revise", actor, OrderState.DRAFTED)
        current = {"activity": order.activity, "activity_description": order.activity_description,
                   "settlement_method": order.settlement_method,
                   "delivery_place": order.delivery_place, "wanted_by": order.wanted_by,
                   "supplying_officer": order.supplying_officer}
        detail: dict[str, Any] = {"changed": sorted(changes)}
        changes = dict(changes)
        if "exercise" in changes:
            order.exercise = _exercise(actor, changes.pop("exercise"), order.label)
            order.save(update_fields=["exercise"])
            detail["exercise"] = order.exercise.code if order.exercise else None
        unknown = set(changes) - set(current)
        if unknown:
            raise LogisticsError(_("These cannot be changed here: %(fields)s.")
                                 % {"fields": ", ".join(sorted(unknown))})
        fields = _order_fields(order.agreement, supplying_nation=order.supplying_nation_id,
                               **{**current, **changes})
        for name, value in fields.items():
            setattr(order, name, value)
        order.save(update_fields=[*fields])
        if lines is not None:
            built = _lines(order.agreement, order.activity, lines)
            order.lines.all().delete()
            for line in built:
                line.order = order
            OrderLine.objects.bulk_create(built)
            detail["lines"] = len(built)
        audit.record("order.revise", actor=actor, obj=order, allowed=True, detail=detail)
    return order


def request_order(actor: Any, order: Order, on: dt.date | None = None) -> Order:
    """Send the draft to the supplying party (its logistics officers are told)."""
    on = on or _today()
    with audit.atomic():
        order = _locked(actor, order, "order.request")
        _require_officer(actor, order, "requesting", "order.request")
        _expect(order, "order.request", actor, OrderState.DRAFTED)
        _require_complete(actor, order, "order.request", for_acceptance=False)
        order.requested_on = on
        _step(order, OrderState.REQUESTED, actor, on, fields=["requested_on"])
        audit.record("order.request", actor=actor, obj=order, allowed=True,
                     detail={"number": order.number, "on": on.isoformat()})
        _tell(order, "order.requested", order.supplying_nation_id)
    return order


def accept_order(actor: Any, order: Order, on: dt.date | None = None, note: str = "") -> Order:
    """The supplying party agrees to provide. The accepting officer becomes its authorised
    officer if none was named."""
    on = on or _today()
    with audit.atomic():
        order = _locked(actor, order, "order.accept")
        _require_officer(actor, order, "supplying", "order.accept")
        _expect(order, "order.accept", actor, OrderState.REQUESTED)
        fields = []
        if order.supplying_officer_id is None:
            order.supplying_officer = actor
            fields.append("supplying_officer")
        _require_complete(actor, order, "order.accept", for_acceptance=True)
        _step(order, OrderState.ACCEPTED, actor, on, note.strip(), fields=fields)
        audit.record("order.accept", actor=actor, obj=order, allowed=True,
                     detail={"number": order.number, "on": on.isoformat()})
        _tell(order, "order.accepted", order.requesting_nation_id)
    return order


def refuse_order(actor: Any, order: Order, reason: str, on: dt.date | None = None) -> Order:
    on = on or _today()
    if not (reason or "").strip():
        raise LogisticsError(_("Say why the order is refused."))
    with audit.atomic():
        order = _locked(actor, order, "order.refuse")
        _require_officer(actor, order, "supplying", "order.refuse")
        _expect(order, "order.refuse", actor, OrderState.REQUESTED)
        _step(order, OrderState.REFUSED, actor, on, reason.strip())
        audit.record("order.refuse", actor=actor, obj=order, allowed=True,
                     detail={"number": order.number, "reason": reason.strip()})
        _tell(order, "order.refused", order.requesting_nation_id)
    return order


def cancel_order(actor: Any, order: Order, reason: str, on: dt.date | None = None) -> Order:
    """Cancel, with a reason, before the supplies or services are provided. The order and its
    history stay on record."""
    on = on or _today()
    if not (reason or "").strip():
        raise LogisticsError(_("Say why the order is cancelled."))
    with audit.atomic():
        order = _locked(actor, order, "order.cancel")
        _require_officer(actor, order, "requesting", "order.cancel")
        _expect(order, "order.cancel", actor, *CANCELLABLE_STATES)
        was = order.state
        _step(order, OrderState.CANCELLED, actor, on, reason.strip())
        audit.record("order.cancel", actor=actor, obj=order, allowed=True,
                     detail={"number": order.number, "was": was, "reason": reason.strip()})
        if was != OrderState.DRAFTED:
            _tell(order, "order.cancelled", order.supplying_nation_id)
    return order


def record_provision(actor: Any, order: Order, on: dt.date | None = None,
                     note: str = "") -> Order:
    """The supplying party has provided the supplies or services."""
    on = on or _today()
    with audit.atomic():
        order = _locked(actor, order, "order.provide")
        _require_officer(actor, order, "supplying", "order.provide")
        _expect(order, "order.provide", actor, OrderState.ACCEPTED)
        if order.requested_on and on < order.requested_on:
            raise LogisticsError(_("Supplies cannot be provided before they were requested."))
        order.provided_on = on
        _step(order, OrderState.PROVIDED, actor, on, note.strip(), fields=["provided_on"])
        audit.record("order.provide", actor=actor, obj=order, allowed=True,
                     detail={"number": order.number, "on": on.isoformat()})
        _tell(order, "order.provided", order.requesting_nation_id)
    return order


def sign_receipt(actor: Any, order: Order, on: dt.date | None = None, note: str = "") -> Order:
    """The receiving officer signs for what was provided. From now the requesting party owes the
    order's total (one ledger entry per currency), to be settled within the agreement's period
    for the order's settlement method."""
    on = on or _today()
    with audit.atomic():
        order = _locked(actor, order, "order.receipt")
        _require_officer(actor, order, "requesting", "order.receipt")
        _expect(order, "order.receipt", actor, OrderState.PROVIDED)
        assert order.provided_on is not None
        if on < order.provided_on:
            raise LogisticsError(_("A receipt cannot be signed before the supplies were "
                                   "provided (%(day)s).") % {"day": order.provided_on.isoformat()})
        term = SettlementTerm.objects.get(agreement=order.agreement,
                                          method=order.settlement_method)
        order.received_on, order.received_by = on, actor
        order.settle_by = on + dt.timedelta(days=term.days)
        _step(order, OrderState.RECEIVED, actor, on, note.strip(),
              fields=["received_on", "received_by", "settle_by"])
        sums = order_totals(order)
        LedgerEntry.objects.bulk_create(
            LedgerEntry(order=order, debtor_id=order.requesting_nation_id,
                        creditor_id=order.supplying_nation_id, currency_id=currency,
                        amount=amount, on=on, kind=LedgerKind.RECEIPT)
            for currency, amount in sums.items())
        if order.settlement_method == SettlementMethod.REPLACEMENT:
            Settlement.objects.create(
                order=order, method=SettlementMethod.REPLACEMENT, recorded_by=actor,
                to_return="\n".join(f"{line.quantity.normalize():f} {line.unit} — "
                                    f"{line.description}" for line in order.lines.all()),
                return_due=order.settle_by)
        audit.record("order.receipt", actor=actor, obj=order, allowed=True, detail={
            "number": order.number, "on": on.isoformat(), "settle_by": order.settle_by.isoformat(),
            "totals": {c: str(a) for c, a in sums.items()}})
        _tell(order, "order.received", order.supplying_nation_id)
    return order


def order_totals(order: Order) -> dict[str, Decimal]:
    return money.totals(order.lines.values_list("currency_id", "amount"))


def _settle(actor: Any, order: Order, on: dt.date, settlement: Settlement, detail: dict[str, Any],
            ) -> None:
    """Credit back what the receipt debited, and mark the order settled."""
    assert order.received_on is not None
    if on < order.received_on:
        raise LogisticsError(_("An order cannot be settled before its receipt was signed "
                               "(%(day)s).") % {"day": order.received_on.isoformat()})
    debts = money.totals(order.ledger.values_list("currency_id", "amount"))
    LedgerEntry.objects.bulk_create(
        LedgerEntry(order=order, debtor_id=order.requesting_nation_id,
                    creditor_id=order.supplying_nation_id, currency_id=currency, amount=-amount,
                    on=on, kind=LedgerKind.SETTLEMENT)
        for currency, amount in debts.items() if amount)
    settlement.settled_on = on
    settlement.save()
    order.settled_on = on
    _step(order, OrderState.SETTLED, actor, on, detail.get("note", ""), fields=["settled_on"])
    audit.record("order.settle", actor=actor, obj=order, allowed=True, detail={
        "number": order.number, "method": settlement.method, "on": on.isoformat(), **detail,
        "credited": {c: str(a) for c, a in debts.items()}})
    _tell(order, "order.settled", order.requesting_nation_id)


def _require_method(actor: Any, order: Order, method: str, action: str) -> None:
    if order.settlement_method != method:
        raise _refuse(action, actor, _("Order %(number)s is to be settled by %(method)s.")
                      % {"number": order.number,
                         "method": SettlementMethod(order.settlement_method).label.lower()},
                      obj=order)


def record_payment(actor: Any, order: Order, reference: str,
                   on: dt.date | None = None) -> Order:
    """Reimbursement in currency: the supplying party confirms it was paid the order's total."""
    on = on or _today()
    reference = (reference or "").strip()
    if not reference or len(reference) > 200:
        raise LogisticsError(_("Give the payment's reference (at most 200 characters)."))
    with audit.atomic():
        order = _locked(actor, order, "order.settle")
        _require_officer(actor, order, "supplying", "order.settle")
        _expect(order, "order.settle", actor, OrderState.RECEIVED)
        _require_method(actor, order, SettlementMethod.REIMBURSEMENT, "order.settle")
        settlement = Settlement(order=order, method=SettlementMethod.REIMBURSEMENT,
                                reference=reference, recorded_by=actor)
        _settle(actor, order, on, settlement, {"reference": reference})
    return order


def record_return(actor: Any, order: Order, on: dt.date | None = None, note: str = "") -> Order:
    """Replacement in kind: the supplying party confirms it received the same type and quality
    back."""
    on = on or _today()
    with audit.atomic():
        order = _locked(actor, order, "order.settle")
        _require_officer(actor, order, "supplying", "order.settle")
        _expect(order, "order.settle", actor, OrderState.RECEIVED)
        _require_method(actor, order, SettlementMethod.REPLACEMENT, "order.settle")
        settlement = Settlement.objects.select_for_update().get(order=order)
        settlement.returned_on = on
        _settle(actor, order, on, settlement, {"note": note.strip(),
                                               "returned_on": on.isoformat()})
    return order


def exchange_equal_value(actor: Any, order: Order, counter_order: Order,
                         on: dt.date | None = None) -> tuple[Order, Order]:
    """Exchange of equal value: two received orders in opposite directions settle each other if
    their totals, converted at the day's rate, differ by no more than the agreement allows."""
    on = on or _today()
    with audit.atomic():
        first, second = sorted((order, counter_order), key=lambda o: str(o.pk))  # lock order
        first = _locked(actor, first, "order.settle")
        second = _locked(actor, second, "order.settle")
        order, counter = (first, second) if first.pk == order.pk else (second, first)
        if order.pk == counter.pk:
            raise LogisticsError(_("An order cannot be exchanged against itself."))
        _require_party_officer(actor, order, "order.settle")
        for each in (order, counter):
            _expect(each, "order.settle", actor, OrderState.RECEIVED)
            _require_method(actor, each, SettlementMethod.EQUAL_VALUE, "order.settle")
        if (order.requesting_nation_id, order.supplying_nation_id) != (
                counter.supplying_nation_id, counter.requesting_nation_id):
            raise LogisticsError(_("An exchange of equal value links two orders in opposite "
                                   "directions between the same parties."))
        reporting = _reporting_currency(order)
        places = money.minor_units()
        try:
            values = [money.in_one_currency(order_totals(o), reporting, on, places)
                      for o in (order, counter)]
        except money.MoneyError as exc:
            raise LogisticsError(str(exc)) from None
        larger = max(values)
        tolerance = larger * order.agreement.equal_value_tolerance_percent / 100
        if abs(values[0] - values[1]) > tolerance:
            raise LogisticsError(
                _("The two orders are not of equal value: %(a)s against %(b)s %(currency)s on "
                  "%(day)s (the agreement allows a difference of %(percent)s%%).")
                % {"a": values[0], "b": values[1], "currency": reporting, "day": on.isoformat(),
                   "percent": order.agreement.equal_value_tolerance_percent})
        for this, other, value in ((order, counter, values[0]), (counter, order, values[1])):
            settlement = Settlement(order=this, method=SettlementMethod.EQUAL_VALUE,
                                    counter_order=other, recorded_by=actor)
            _settle(actor, this, on, settlement, {"counter_order": other.number,
                                                  "value": str(value), "currency": reporting})
    return order, counter


def _reporting_currency(order: Order) -> str:
    """The currency an order's value is compared in: the first of its own, by code."""
    currencies = sorted(set(order.lines.values_list("currency_id", flat=True)))
    return currencies[0] if currencies else "GBP"


def close_order(actor: Any, order: Order, on: dt.date | None = None) -> Order:
    """Close a settled order: only with its source documents attached (signed receipt, delivery
    note, invoice). Nothing changes it after."""
    on = on or _today()
    with audit.atomic():
        order = _locked(actor, order, "order.close")
        _require_party_officer(actor, order, "order.close")
        _expect(order, "order.close", actor, OrderState.SETTLED)
        attached = set(order.source_documents.values_list("kind", flat=True))
        if missing := [k for k in REQUIRED_SOURCE_DOCUMENTS if k not in attached]:
            names = "; ".join(str(SourceDocumentKind(k).label).lower() for k in missing)
            raise _refuse("order.close", actor,
                          _("Order %(number)s cannot be closed without its source documents: "
                            "attach the %(missing)s.") % {"number": order.number,
                                                           "missing": names}, obj=order)
        order.closed_on = on
        _step(order, OrderState.CLOSED, actor, on, fields=["closed_on"])
        audit.record("order.close", actor=actor, obj=order, allowed=True,
                     detail={"number": order.number, "on": on.isoformat()})
    return order


# --------------------------------------------------------------------------- source documents


def attach_document(actor: Any, order: Order, kind: str, document: Document) -> SourceDocument:
    """Attach an exchange document the actor may view as one of the order's source documents."""
    if kind not in SourceDocumentKind.values:
        raise LogisticsError(_("Unknown kind of source document '%(kind)s'; one of %(kinds)s.")
                             % {"kind": kind, "kinds": ", ".join(SourceDocumentKind.values)})
    with audit.atomic():
        order = _locked(actor, order, "order.attach")
        _require_party_officer(actor, order, "order.attach")
        try:
            require(actor, Action.VIEW, document)
        except NotFound:
            raise LogisticsError(_("No document you may view has this id.")) from None
        if order.source_documents.filter(document=document).exists():
            raise LogisticsError(_("This document is already attached to the order."))
        attached = SourceDocument.objects.create(order=order, kind=kind, document=document,
                                                 attached_by=actor)
        audit.record("order.attach", actor=actor, obj=order, allowed=True,
                     detail={"kind": kind, "document": str(document.pk)})
    return attached


def upload_document(actor: Any, order: Order, kind: str, *, label: LabelSpec, title_en: str = "",
                    title_ja: str = "", body: str = "",
                    files: Sequence[exchange.IncomingFile] = ()) -> SourceDocument:
    """A new exchange document (encrypted through the kernel, like any other), attached to the
    order. Fails whole: no document without its attachment, no attachment without its file."""
    with audit.atomic():
        require(actor, Action.VIEW, order)
        document = exchange.create_document(actor=actor, label=label, title_en=title_en,
                                            title_ja=title_ja, body=body, files=files)
        return attach_document(actor, order, kind, document)


# --------------------------------------------------------------------------- money and notices


def record_rate(actor: Any, *, day: dt.date, base: str, quote: str, rate: Decimal | str,
                source: str = "") -> ExchangeRate:
    """An exchange rate for the day (1 ``base`` = ``rate`` ``quote``). A day's rate, once
    recorded, is kept: reports already issued used it."""
    nation = getattr(actor, "nationality_id", None)
    if not nation or not is_officer_of(actor, nation):
        raise _refuse("rate.record", actor, _("Only a logistics officer may record exchange "
                                              "rates."))
    base, quote = (base or "").strip().upper(), (quote or "").strip().upper()
    known = set(Currency.objects.values_list("code", flat=True))
    if base not in known or quote not in known or base == quote:
        raise LogisticsError(_("A rate is between two different currencies of %(codes)s.")
                             % {"codes": ", ".join(sorted(known))})
    value = _decimal(rate, _("The rate"), {"max_digits": 15, "decimal_places": 8})
    if value <= 0:
        raise LogisticsError(_("A rate must be more than zero."))
    source = (source or "").strip()[:200]
    with audit.atomic():
        if ExchangeRate.objects.filter(Q(base_id=base, quote_id=quote)
                                       | Q(base_id=quote, quote_id=base), day=day).exists():
            raise LogisticsError(_("A rate between %(base)s and %(quote)s is already recorded "
                                   "for %(day)s.") % {"base": base, "quote": quote,
                                                       "day": day.isoformat()})
        recorded = ExchangeRate.objects.create(day=day, base_id=base, quote_id=quote, rate=value,
                                               source=source, recorded_by=actor)
        audit.record("rate.record", actor=actor, obj=recorded, allowed=True, detail={
            "day": day.isoformat(), "base": base, "quote": quote, "rate": str(value)})
    return recorded


def _logistics_organisations(nation: str) -> list[Organisation]:
    """The organisations of the nation's logistics officers (as ``is_officer_of`` has them)."""
    officers = User.objects.filter(
        is_active=True, nationality_id=nation, organisation__nation_id=nation,
        role_grants__in=RoleGrant.objects.current().filter(role=Role.LOGISTICS_OFFICER))
    return list(Organisation.objects.filter(members__in=officers).distinct())


def _tell(order: Order, kind: str, nation: str) -> None:
    """Tell the party's side: the organisations of its officers on the order; before the
    supplying side has named one (a new request), of its logistics officers, who must act on
    it; else its security authority. Through their inboxes (no title, the link goes through
    the kernel)."""
    officers = [order.requesting_officer if nation == order.requesting_nation_id
                else order.supplying_officer]
    organisations = [o.organisation for o in officers if o is not None and o.organisation]
    notify(organisations or _logistics_organisations(nation)
           or exchange.security_authorities(nation), kind, order)


def flag_overdue(on: dt.date | None = None) -> list[Order]:
    """Tell both sides of every order not settled by its deadline, once. Run daily (``entente
    logistics flag-overdue``); the pages show overdue orders whether or not this has run."""
    on = on or _today()
    flagged = []
    with audit.atomic():
        for order in (Order.objects.select_for_update(of=("self",))
                      .filter(state=OrderState.RECEIVED, settle_by__lt=on,
                              overdue_flagged_on__isnull=True)
                      .select_related("requesting_officer__organisation",
                                      "supplying_officer__organisation")):
            order.overdue_flagged_on = on
            order.save(update_fields=["overdue_flagged_on"])
            for nation in (order.requesting_nation_id, order.supplying_nation_id):
                _tell(order, "order.overdue", nation)
            audit.record("order.overdue", obj=order, allowed=True, detail={
                "number": order.number, "settle_by": order.settle_by.isoformat()
                if order.settle_by else None, "on": on.isoformat()})
            flagged.append(order)
    return flagged
