"""Forms of the logistics pages. They only collect and shape input: every rule about orders,
parties, terms, states, money and labels is the services' and the kernel's, whose errors the
views show on these forms (which keep what was typed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from entente.core.models import Nation
from entente.exchange.forms import LabelFieldsMixin
from entente.logistics.models import (
    MONEY,
    QUANTITY,
    Activity,
    Agreement,
    Category,
    Currency,
    OrderState,
    SettlementMethod,
    SourceDocumentKind,
)
from entente.logistics.services import MAX_LINES, LineSpec

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Blank rows offered under the lines of an order; "More lines" adds this many again.
BLANK_LINES = 3


def _any(choices: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _("Any")), *choices]


def agreements_of(nation: str | None) -> list[Agreement]:
    """The agreements the nation is a party to (newest first)."""
    if not nation:
        return []
    return list(Agreement.objects.filter(parties=nation).order_by("-in_force_from", "code"))


def partner_choices(nation: str | None) -> list[tuple[str, str]]:
    """The other parties of the nation's agreements: who may supply its forces."""
    agreements = agreements_of(nation)
    codes = {p for a in agreements for p in a.parties.values_list("code", flat=True)} - {nation}
    return [(n.code, f"{n.code} — {n.name}")
            for n in Nation.objects.filter(code__in=codes).order_by("code")]


def party_choices() -> list[tuple[str, str]]:
    codes = set(Agreement.parties.through.objects.values_list("nation_id", flat=True))
    return [(n.code, f"{n.code} — {n.name}")
            for n in Nation.objects.filter(code__in=codes).order_by("code")]


def activity_choices(agreements: Iterable[Agreement]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for activity in Activity.objects.filter(agreement__in=list(agreements)).order_by(
            "agreement", "id"):
        seen.setdefault(activity.code, activity.name)
    return list(seen.items())


def category_choices(agreements: Iterable[Agreement]) -> list[tuple[str, str]]:
    """The agreement's categories; an ineligible one is offered too, named as such, so that an
    order for it is refused with the agreement's reason rather than silently impossible."""
    seen: dict[str, str] = {}
    for category in Category.objects.filter(agreement__in=list(agreements)).order_by(
            "agreement", "id"):
        name = category.name if category.eligible else _("%(name)s (not eligible)") % {
            "name": category.name}
        seen.setdefault(category.code, str(name))
    return list(seen.items())


def currency_choices() -> list[tuple[str, str]]:
    return [(c.code, f"{c.code} — {c.name}") for c in Currency.objects.order_by("code")]


class UsernameField(forms.CharField):
    """A person's user name; cleans to the active user (or None when left empty)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Any:
        name = (super().clean(value) or "").strip()
        if not name:
            return None
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise ValidationError(_("No active user is called %(name)s.") % {"name": name})
        return user

    def prepare_value(self, value: Any) -> Any:
        return getattr(value, "username", value)


# --------------------------------------------------------------------------- the list


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.SearchInput(attrs={"placeholder": _(
                            "Order number, exercise, activity or line")}))
    state = forms.ChoiceField(label=_("State"), required=False)
    requesting = forms.ChoiceField(label=_("Requesting party"), required=False)
    supplying = forms.ChoiceField(label=_("Supplying party"), required=False)
    activity = forms.ChoiceField(label=_("Activity"), required=False)
    overdue = forms.BooleanField(label=_("Overdue for settlement only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parties = party_choices()
        self.fields["state"].choices = _any(OrderState.choices)  # type: ignore[attr-defined]
        self.fields["requesting"].choices = _any(parties)  # type: ignore[attr-defined]
        self.fields["supplying"].choices = _any(parties)  # type: ignore[attr-defined]
        self.fields["activity"].choices = _any(  # type: ignore[attr-defined]
            activity_choices(Agreement.objects.all()))


# --------------------------------------------------------------------------- drafting


class OrderFieldsForm(forms.Form):
    """What an order says besides its lines (and, for a new one, its label and supplier)."""

    activity = forms.ChoiceField(label=_("Activity"), required=False,
                                 help_text=_("An activity eligible under the agreement. Needed "
                                             "before the order is requested."))
    activity_description = forms.CharField(label=_("Activity (description)"), max_length=300,
                                           required=False)
    exercise = forms.ChoiceField(label=_("Exercise"), required=False,
                                 help_text=_("The exercise the order is raised under, if it is "
                                             "on record; describe any other occasion above."))
    settlement_method = forms.ChoiceField(label=_("Settlement method"), required=False,
                                          help_text=_("Needed before the order is requested."))
    delivery_place = forms.CharField(label=_("Place of delivery"), max_length=200,
                                     required=False)
    wanted_by = forms.DateField(label=_("Wanted by"), required=False, widget=DATE)
    supplying_officer = UsernameField(
        label=_("Authorised officer of the supplying party (user name)"),
        help_text=_("Optional: the officer who accepts the order becomes it otherwise."))

    def setup_order_fields(self, agreements: list[Agreement], user: Any) -> None:
        from entente.exercises import selectors as exercises

        self.fields["exercise"].choices = [  # type: ignore[attr-defined]
            ("", _("— none —")),
            *((e.code, f"{e.name} ({e.code})") for e in exercises.listed(
                user, exercises.visible_exercises(user).exclude(state="cancelled")
                .order_by("-starts_on", "code"), what="exercises.exercise"))]
        self.fields["activity"].choices = [  # type: ignore[attr-defined]
            ("", _("— not yet chosen —")), *activity_choices(agreements)]
        self.fields["settlement_method"].choices = [  # type: ignore[attr-defined]
            ("", _("— not yet chosen —")), *SettlementMethod.choices]

    def order_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data[name] for name in (
            "activity", "activity_description", "exercise", "settlement_method",
            "delivery_place", "wanted_by", "supplying_officer")}


class NewOrderForm(LabelFieldsMixin, OrderFieldsForm):
    supplying_nation = forms.ChoiceField(label=_("Supplying party"))

    field_order = ["supplying_nation", "activity", "activity_description", "exercise",
                   "settlement_method", "delivery_place", "wanted_by", "supplying_officer",
                   "classification", "releasable_to", "caveats", "communities"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nation = getattr(user, "nationality_id", None)
        self.setup_order_fields(agreements_of(nation), user)
        self.setup_label_fields(user)
        partners = partner_choices(nation)
        self.fields["supplying_nation"].choices = partners  # type: ignore[attr-defined]
        # An order must be releasable to both parties: offer that by default.
        self.fields["releasable_to"].initial = sorted(
            {nation or "", *(code for code, _name in partners)} - {""})


class OrderEditForm(OrderFieldsForm):
    def __init__(self, *args: Any, agreement: Agreement, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_order_fields([agreement], user)


class LineForm(forms.Form):
    """One line of an order. A row left empty is no line; a row begun must be finished."""

    category = forms.ChoiceField(label=_("Category"), required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), required=False,
                                  max_digits=QUANTITY["max_digits"],
                                  decimal_places=QUANTITY["decimal_places"],
                                  widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                                "size": "8"}))
    unit = forms.CharField(label=_("Unit"), max_length=32, required=False,
                           widget=forms.TextInput(attrs={"size": "8"}))
    unit_price = forms.DecimalField(label=_("Unit price"), required=False,
                                    max_digits=MONEY["max_digits"],
                                    decimal_places=MONEY["decimal_places"],
                                    widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                                  "size": "10"}))
    currency = forms.ChoiceField(label=_("Currency"), required=False)

    FILLED = ("category", "description", "quantity", "unit", "unit_price")

    def __init__(self, *args: Any, categories: list[tuple[str, str]],
                 currencies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—"), *categories]  # type: ignore[attr-defined]
        self.fields["currency"].choices = [("", "—"), *currencies]  # type: ignore[attr-defined]

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return all(data.get(name) in (None, "") for name in self.FILLED)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.is_blank():
            return data
        for name in (*self.FILLED, "currency"):
            if data.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, _("Needed on a line that is filled in."))
        return data

    def spec(self) -> LineSpec:
        data = self.cleaned_data
        return LineSpec(data["category"], data["description"], data["quantity"], data["unit"],
                        data["unit_price"], data["currency"])


class BaseLineFormSet(forms.BaseFormSet):
    def specs(self) -> list[LineSpec]:
        """The filled-in rows, in order (call after ``is_valid``)."""
        return [form.spec() for form in self.forms
                if getattr(form, "cleaned_data", None) and not form.is_blank()]


def line_formset(data: Any, *, agreements: list[Agreement],
                 initial: list[dict[str, Any]] | None = None) -> BaseLineFormSet:
    """The lines of an order: those it has (``initial``) and a few blank rows."""
    formset_class = forms.formset_factory(LineForm, formset=BaseLineFormSet, extra=BLANK_LINES,
                                          max_num=MAX_LINES, validate_max=True,
                                          absolute_max=MAX_LINES)
    formset = formset_class(data, prefix="lines", initial=initial, form_kwargs={
        "categories": category_choices(agreements), "currencies": currency_choices()})
    return cast(BaseLineFormSet, formset)


# --------------------------------------------------------------------------- order page actions


class ConfirmForm(forms.Form):
    """A step that needs nothing but the button."""


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class PaymentForm(forms.Form):
    reference = forms.CharField(label=_("Payment or voucher reference"), required=False,
                                max_length=200)


class ExchangeForm(forms.Form):
    counter_order = forms.CharField(
        label=_("Exchanged against order number"), max_length=40,
        help_text=_("A received order in the other direction, also settled by exchange of equal "
                    "value, for example JPN-2026-00012."))


class AttachForm(forms.Form):
    document = forms.CharField(label=_("Exchange document id"), max_length=64,
                               help_text=_("The id of a document in the exchange that you may "
                                           "view."))
    kind = forms.ChoiceField(label=_("Kind of source document"),
                             choices=SourceDocumentKind.choices)


class UploadForm(LabelFieldsMixin):
    kind = forms.ChoiceField(label=_("Kind of source document"),
                             choices=SourceDocumentKind.choices)
    title_en = forms.CharField(label=_("Title (English)"), max_length=300, required=False)
    title_ja = forms.CharField(label=_("Title (Japanese)"), max_length=300, required=False)
    file = forms.FileField(label=_("File"))

    field_order = ["kind", "title_en", "title_ja", "file", "classification", "releasable_to",
                   "caveats", "communities"]

    def __init__(self, *args: Any, user: Any, parties: Iterable[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_label_fields(user)
        self.fields["releasable_to"].initial = sorted(set(parties))


# --------------------------------------------------------------------------- reports


class ReportingForm(forms.Form):
    on = forms.DateField(label=_("On"), required=False, widget=DATE,
                         help_text=_("Empty: today."))
    reporting = forms.ChoiceField(label=_("Reporting currency"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reporting"].choices = currency_choices()  # type: ignore[attr-defined]

    def values(self) -> tuple[dt.date, str]:
        data = self.cleaned_data if self.is_valid() else {}
        codes = [code for code, _name in self.fields["reporting"].choices]  # type: ignore[attr-defined]
        reporting = data.get("reporting") or ("GBP" if "GBP" in codes else
                                              (codes[0] if codes else "GBP"))
        return data.get("on") or timezone.localdate(), reporting


class DayForm(forms.Form):
    on = forms.DateField(label=_("On"), required=False, widget=DATE,
                         help_text=_("Empty: today."))


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("Period from"), required=False, widget=DATE)
    end = forms.DateField(label=_("Period until"), required=False, widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError(_("The period ends before it starts."))
        return data


class StatementForm(forms.Form):
    a = forms.ChoiceField(label=_("Statement of"))
    b = forms.ChoiceField(label=_("With"))
    start = forms.DateField(label=_("Period from"), required=False, widget=DATE,
                            help_text=_("Empty: 1 January of this year."))
    end = forms.DateField(label=_("Period until"), required=False, widget=DATE,
                          help_text=_("Empty: today."))
    reporting = forms.ChoiceField(label=_("Reporting currency"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parties = party_choices()
        nation = getattr(user, "nationality_id", None)
        self.fields["a"].choices = parties  # type: ignore[attr-defined]
        self.fields["b"].choices = parties  # type: ignore[attr-defined]
        codes = [code for code, _name in parties]
        own = nation if nation in codes else (codes[0] if codes else "")
        other = next((c for c in codes if c != own), own)
        self.fields["a"].initial, self.fields["b"].initial = own, other
        self.fields["reporting"].choices = currency_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("a") and data.get("a") == data.get("b"):
            raise ValidationError(_("A statement is between two different parties."))
        today = timezone.localdate()
        data["end"] = data.get("end") or today
        data["start"] = data.get("start") or data["end"].replace(month=1, day=1)
        if data["end"] < data["start"]:
            raise ValidationError(_("The period ends before it starts."))
        data["reporting"] = data.get("reporting") or "GBP"
        return data


class RateForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=DATE)
    base = forms.ChoiceField(label=_("One unit of"))
    quote = forms.ChoiceField(label=_("Is worth, in"))
    rate = forms.CharField(label=_("Rate"), max_length=40,
                           widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    source = forms.CharField(label=_("Source"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"day": timezone.localdate()})
        super().__init__(*args, **kwargs)
        currencies = currency_choices()
        self.fields["base"].choices = currencies  # type: ignore[attr-defined]
        self.fields["quote"].choices = currencies  # type: ignore[attr-defined]
        if len(currencies) > 1:
            self.fields["quote"].initial = currencies[1][0]
