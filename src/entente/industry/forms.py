"""Forms of the industry pages. They only collect and shape input: every rule about who may do
what, markings, dates and states is the services' and the kernel's, whose errors the views show
on these forms."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from entente.core.models import Nation, Organisation
from entente.exchange.forms import LabelFieldsMixin, current_markings
from entente.industry.models import VisitKind, VisitState

DATE = forms.DateInput(attrs={"type": "date"})


def _any(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", str(_("Any"))), *choices]


def needing_clearance(nation: str) -> list[tuple[str, str]]:
    """Current markings of a nation's scheme that need a clearance, as form choices."""
    return [(m.code, f"{m.nation_id} {m.name}") for m in current_markings(nation)
            if m.requires_clearance]


class FacilityRegisterFilterForm(forms.Form):
    nation = forms.ChoiceField(label=_("Nation"), required=False)

    def __init__(self, *args: Any, nations: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = dict(Nation.objects.filter(code__in=nations).values_list("code", "name_en"))
        self.fields["nation"].choices = _any(  # type: ignore[attr-defined]
            [(code, f"{code} — {names.get(code, code)}") for code in nations])


class FacilityGrantForm(forms.Form):
    site = forms.CharField(label=_("Site"), max_length=200)
    level = forms.ChoiceField(label=_("Cleared to"))
    storage_level = forms.ChoiceField(
        label=_("May store classified material up to"), required=False,
        help_text=_("Empty: the site may not hold classified material."))
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    valid_until = forms.DateField(label=_("Valid until"), widget=DATE)

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"valid_from": timezone.localdate()})
        super().__init__(*args, **kwargs)
        choices = needing_clearance(organisation.nation_id)
        self.fields["level"].choices = choices  # type: ignore[attr-defined]
        self.fields["storage_level"].choices = [  # type: ignore[attr-defined]
            ("", str(_("None (no classified material held)"))), *choices]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class VisitFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=_any(VisitState.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=_any(VisitKind.choices))
    host = forms.ChoiceField(label=_("Host organisation"), required=False)
    site = forms.CharField(label=_("Site"), required=False, max_length=200)
    during_from = forms.DateField(label=_("Visiting on or after"), required=False, widget=DATE)
    during_until = forms.DateField(label=_("Visiting on or before"), required=False,
                                   widget=DATE)
    mine = forms.BooleanField(label=_("Only my requests"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["host"].choices = _any(  # type: ignore[attr-defined]
            [(o.code, f"{o.name} ({o.nation_id})")
             for o in Organisation.objects.order_by("nation_id", "code")])


class VisitRequestForm(LabelFieldsMixin):
    """A request for visit: where, when, why, at what level; and the label of the request."""

    host = forms.ModelChoiceField(label=_("Host organisation"),
                                  queryset=Organisation.objects.none(), to_field_name="code")
    site = forms.CharField(label=_("Site"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind of visit"), choices=[
                                 (value, label) for value, label in VisitKind.choices
                                 if value != VisitKind.EXCHANGE],
                             initial=VisitKind.ONE_TIME,
                             help_text=_("One-time: up to 30 days. Recurring: up to a year, "
                                         "reviewed yearly. Emergency: up to 30 days, with a "
                                         "reason."))
    first_day = forms.DateField(label=_("First day"), widget=DATE)
    last_day = forms.DateField(label=_("Last day"), widget=DATE)
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 3}))
    emergency_reason = forms.CharField(label=_("Why it is an emergency"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))
    level = forms.ChoiceField(
        label=_("Level of information to be accessed"),
        help_text=_("A marking of the host nation's scheme."))
    project = forms.CharField(label=_("Project code"), required=False, max_length=64,
                              help_text=_("Optional: the project the visit is for."))

    def __init__(self, *args: Any, user: Any, partners: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_label_fields(user)
        own = user.nationality_id
        # The request is shared with the host nation: by default releasable to every partner.
        self.fields["releasable_to"].initial = sorted(partners)
        self.fields["classification"].initial = next(
            (code for code, _label in self.fields["classification"].choices  # type: ignore[attr-defined]
             if code == "OFFICIAL-SENSITIVE"), None)
        host = self.fields["host"]
        host.queryset = (  # type: ignore[attr-defined]
            Organisation.objects.filter(nation_id__in=sorted(partners - {own}))
            .order_by("nation_id", "code"))
        host.label_from_instance = (  # type: ignore[attr-defined]
            lambda o: f"{o.name} ({o.nation_id}, {o.get_kind_display()})")
        self.fields["level"].choices = [  # type: ignore[attr-defined]
            (m.key, f"{m.nation_id} {m.name}")
            for nation in sorted(partners - {own}) for m in current_markings(nation)]


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Reason (required to refuse)"), required=False,
                             max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ByDayForm(forms.Form):
    first = forms.DateField(label=_("From"), required=False, widget=DATE)
    last = forms.DateField(label=_("Until"), required=False, widget=DATE)
    host = forms.ChoiceField(label=_("Host organisation"), required=False)
    site = forms.CharField(label=_("Site"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["host"].choices = _any(  # type: ignore[attr-defined]
            [(o.code, f"{o.name} ({o.nation_id})")
             for o in Organisation.objects.order_by("nation_id", "code")])

    def span(self) -> tuple[dt.date, dt.date]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        first = data.get("first") or today
        last = data.get("last") or min(first, dt.date.max - dt.timedelta(days=13)) \
            + dt.timedelta(days=13)
        return first, last
