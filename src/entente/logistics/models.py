"""The ACSA logistics ledger: what the two armed forces supply each other, and how they settle.

The agreement's terms (parties, eligible activities, categories of supplies and services, how
long each settlement method may take) are data loaded from ``data/*.json`` by ``terms.load``,
never code, like the kernel's reference data.

An ``Order`` is a protected record (orders for some operations are classified): its label is
chosen by the requesting side and must be releasable to both parties; every read goes through the
kernel, and its lines, events, settlement and source documents are exactly as visible as the
order (``visible(..., label="order__label")``).

Money is ``Decimal`` with its currency, never a float. What each party owes the other is the sum
of the ``LedgerEntry`` rows: a receipt signed by the receiving officer debits the requesting
party for the order's total in each currency, and its settlement credits the same amounts back.
Entries are only ever added, so a balance on any past day is the sum of the entries up to it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from entente.core.models import BilingualName, Nation
from entente.security.models import Protected

# Amounts and quantities in any currency, exactly: 15 significant digits at most, because SQLite
# (the embedded default) stores and sums decimals as binary floating point, which is exact only
# that far; PostgreSQL is exact anyway. 99,999,999,999.9999 is still ¥100 billion on one line.
MONEY = {"max_digits": 15, "decimal_places": 4}
QUANTITY = {"max_digits": 15, "decimal_places": 4}


class Currency(BilingualName):
    code = models.CharField(_("code"), max_length=3, primary_key=True)  # ISO 4217
    minor_units = models.PositiveSmallIntegerField(_("minor units"))  # GBP 2 (pence), JPY 0

    class Meta:
        ordering = ["code"]
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")

    def __str__(self) -> str:
        return self.code

    @property
    def exponent(self) -> Decimal:
        """The smallest amount of the currency (0.01 for GBP, 1 for JPY), for ``quantize``."""
        return Decimal(1).scaleb(-self.minor_units)


class Agreement(BilingualName):
    """A cross-servicing agreement between two nations, with its terms."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    parties = models.ManyToManyField(Nation, related_name="+", verbose_name=_("parties"))
    in_force_from = models.DateField(_("in force from"))
    # Two orders settled by exchange of equal value may differ by this much of the larger one.
    equal_value_tolerance_percent = models.DecimalField(max_digits=5, decimal_places=2,
                                                        default=Decimal("1.00"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("agreement")

    def __str__(self) -> str:
        return self.code


class Activity(BilingualName):
    """An activity under which the agreement allows supplies and services."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="activities")
    code = models.SlugField(_("code"), max_length=64)

    class Meta:
        ordering = ["agreement", "id"]
        constraints = [models.UniqueConstraint(fields=["agreement", "code"],
                                               name="one_activity_code_per_agreement")]
        verbose_name = _("eligible activity")
        verbose_name_plural = _("eligible activities")

    def __str__(self) -> str:
        return self.code


class Category(BilingualName):
    """A category of supplies and services. An ineligible one (weapons) stays on record so an
    order naming it is refused by name; ``allowed_for`` empty means every activity."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="categories")
    code = models.SlugField(_("code"), max_length=64)
    eligible = models.BooleanField(_("eligible"), default=True)
    allowed_for = models.ManyToManyField(Activity, blank=True, related_name="+",
                                         verbose_name=_("only for these activities"))

    class Meta:
        ordering = ["agreement", "id"]
        constraints = [models.UniqueConstraint(fields=["agreement", "code"],
                                               name="one_category_code_per_agreement")]
        verbose_name = _("category of supplies and services")
        verbose_name_plural = _("categories of supplies and services")

    def __str__(self) -> str:
        return self.code


class SettlementMethod(models.TextChoices):
    REIMBURSEMENT = "reimbursement", _("Reimbursement in currency")
    REPLACEMENT = "replacement", _("Replacement in kind")
    EQUAL_VALUE = "equal-value", _("Exchange of equal value")


class SettlementTerm(models.Model):
    """How many days after the receipt is signed an order settled by ``method`` must be settled."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="terms")
    method = models.CharField(_("settlement method"), max_length=16,
                              choices=SettlementMethod.choices)
    days = models.PositiveIntegerField(_("days to settle"))

    class Meta:
        ordering = ["agreement", "method"]
        constraints = [models.UniqueConstraint(fields=["agreement", "method"],
                                               name="one_term_per_method")]

    def __str__(self) -> str:
        return f"{self.agreement_id} {self.method} {self.days}d"


class ExchangeRate(models.Model):
    """One unit of ``base`` is worth ``rate`` units of ``quote`` from ``day`` until the next rate
    of the pair. Reports convert at the rate of their day; the reverse rate is derived."""

    day = models.DateField(_("day"))
    base = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(_("rate"), max_digits=15, decimal_places=8)
    source = models.CharField(_("source"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "base", "quote"]
        constraints = [
            models.UniqueConstraint(fields=["day", "base", "quote"], name="one_rate_a_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="rate_is_positive"),
            models.CheckConstraint(condition=~Q(base=F("quote")), name="rate_between_two"),
        ]
        verbose_name = _("exchange rate")

    def __str__(self) -> str:
        return f"{self.day} 1 {self.base_id} = {self.rate} {self.quote_id}"


class OrderState(models.TextChoices):
    DRAFTED = "drafted", _("Drafted")
    REQUESTED = "requested", pgettext_lazy("order state", "Requested")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")
    PROVIDED = "provided", _("Provided")
    RECEIVED = "received", _("Receipt signed")
    SETTLED = "settled", _("Settled")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Nothing changes an order in these states any more.
FINAL_STATES: tuple[str, ...] = (OrderState.REFUSED, OrderState.CLOSED, OrderState.CANCELLED)
# An order may be cancelled (with a reason) until the supplies or services are provided.
CANCELLABLE_STATES: tuple[str, ...] = (OrderState.DRAFTED, OrderState.REQUESTED,
                                       OrderState.ACCEPTED)
# Open orders: what the ageing report counts.
OPEN_STATES: tuple[str, ...] = tuple(s for s in OrderState.values if s not in FINAL_STATES)


class Order(Protected):
    """An order for supplies or services from one party's forces to the other's. ``owner`` is the
    requesting officer's organisation; ``label`` protects the order and all its parts."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="orders")
    number = models.CharField(_("order number"), max_length=40, unique=True)
    requesting_nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+",
                                          verbose_name=_("requesting party"))
    supplying_nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("supplying party"))
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="orders", verbose_name=_("activity"))
    # The operation or occasion in words, when it is not (or not only) an exercise on record.
    activity_description = models.CharField(_("activity (description)"), max_length=300,
                                            blank=True)
    exercise = models.ForeignKey("exercises.Exercise", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="orders",
                                 verbose_name=_("exercise"))
    requesting_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("authorised officer (requesting)"))
    supplying_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("authorised officer (supplying)"))
    settlement_method = models.CharField(_("settlement method"), max_length=16,
                                         choices=SettlementMethod.choices, blank=True)
    delivery_place = models.CharField(_("place of delivery"), max_length=200, blank=True)
    wanted_by = models.DateField(_("wanted by"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=OrderState.choices,
                             default=OrderState.DRAFTED)
    created_at = models.DateTimeField(_("drafted"), auto_now_add=True)
    requested_on = models.DateField(_("requested on"), null=True, blank=True)
    provided_on = models.DateField(_("provided on"), null=True, blank=True)
    received_on = models.DateField(_("receipt signed on"), null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("receipt signed by"))
    settle_by = models.DateField(_("to be settled by"), null=True, blank=True)
    settled_on = models.DateField(_("settled on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # The day both sides were told the order is overdue for settlement (told once).
    overdue_flagged_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(requesting_nation=F("supplying_nation")),
                                   name="order_between_two_parties"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "id"], name="order_listing"),
            models.Index(fields=["state", "settle_by"], name="order_by_settlement"),
        ]
        verbose_name = _("order")

    def __str__(self) -> str:
        return self.number

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def activity_text(self) -> str:
        named = self.activity.name if self.activity_id else ""  # type: ignore[union-attr]
        return " — ".join(t for t in (named, self.activity_description) if t)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("category"))
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=QUANTITY["max_digits"],
                                   decimal_places=QUANTITY["decimal_places"])
    unit = models.CharField(_("unit"), max_length=32)
    unit_price = models.DecimalField(_("unit price"), max_digits=MONEY["max_digits"],
                                 decimal_places=MONEY["decimal_places"])
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("currency"))
    # quantity × unit price, rounded half-even to the currency's minor unit once, here.
    amount = models.DecimalField(_("amount"), max_digits=MONEY["max_digits"],
                                 decimal_places=MONEY["decimal_places"])

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="one_line_per_position"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.position}"


class OrderEvent(models.Model):
    """One step of an order's life, kept for the record (a cancelled order keeps all of them)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    state = models.CharField(max_length=12, choices=OrderState.choices)
    at = models.DateTimeField(auto_now_add=True)
    on = models.DateField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["order", "at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.state}"


class LedgerKind(models.TextChoices):
    RECEIPT = "receipt", _("Supplies or services received")
    SETTLEMENT = "settlement", _("Settlement")


class LedgerEntry(models.Model):
    """``debtor`` owes ``creditor`` ``amount`` more (a settlement is a negative amount). Added,
    never changed: the balance between two parties is the sum of their entries."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="ledger")
    debtor = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+")
    creditor = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+")
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), max_digits=MONEY["max_digits"],
                                 decimal_places=MONEY["decimal_places"])
    on = models.DateField(_("day"))
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on", "id"]
        indexes = [models.Index(fields=["debtor", "creditor", "currency", "on"],
                                name="ledger_by_pair")]
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.on} {self.debtor_id}→{self.creditor_id} {self.amount} {self.currency_id}"


class Settlement(models.Model):
    """How an order was settled. A replacement in kind is what is to be returned, by when, and
    when it was; an exchange of equal value names the order it was exchanged against."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="settlement")
    method = models.CharField(max_length=16, choices=SettlementMethod.choices)
    reference = models.CharField(_("payment or voucher reference"), max_length=200, blank=True)
    to_return = models.TextField(_("to be returned"), blank=True)
    return_due = models.DateField(_("to be returned by"), null=True, blank=True)
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    counter_order = models.OneToOneField(Order, on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+", verbose_name=_("exchanged against"))
    settled_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")

    def __str__(self) -> str:
        return f"{self.order_id} {self.method}"


class SourceDocumentKind(models.TextChoices):
    RECEIPT = "receipt", _("Signed receipt")
    DELIVERY_NOTE = "delivery-note", _("Delivery note")
    INVOICE = "invoice", _("Invoice")
    OTHER = "other", _("Other")


# An order is closed only with one of each of these attached.
REQUIRED_SOURCE_DOCUMENTS: tuple[str, ...] = (SourceDocumentKind.RECEIPT,
                                              SourceDocumentKind.DELIVERY_NOTE,
                                              SourceDocumentKind.INVOICE)


class SourceDocument(models.Model):
    """An exchange document (encrypted, labelled, versioned there) attached to an order."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="source_documents")
    kind = models.CharField(_("kind"), max_length=16, choices=SourceDocumentKind.choices)
    document = models.ForeignKey("exchange.Document", on_delete=models.PROTECT, related_name="+")
    attached_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    attached_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "attached_at", "id"]
        constraints = [models.UniqueConstraint(fields=["order", "document"],
                                               name="document_attached_once")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"
