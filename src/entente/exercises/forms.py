"""Forms of the exercises pages. They only collect and shape input: every rule about exercises,
states, dates, units, milestones, labels and visits is the services' and the kernel's, whose
errors the views show on these forms (which keep what was typed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from entente.core.models import Nation, Organisation
from entente.exchange.forms import LabelFieldsMixin, current_markings
from entente.exercises.models import ExchangeKind, ExerciseKind, ExerciseState, MilestoneKind
from entente.exercises.services import UnitSpec
from entente.industry.models import VisitState

BLANK_ROWS = 3   # empty rows offered for locations and units on the proposal form
MAX_ROWS = 100   # the most rows of either kind one proposal takes
LABEL_FIELDS = ("classification", "releasable_to", "caveats", "communities")


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _any(choices: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _("Any")), *choices]


def nation_choices(codes: Iterable[str] | None = None) -> list[tuple[str, str]]:
    nations = Nation.objects.order_by("code")
    if codes is not None:
        nations = nations.filter(code__in=list(codes))
    return [(n.code, f"{n.code} — {n.name}") for n in nations]


class LabelledForm(LabelFieldsMixin):
    """A form with a label chooser (originator: the user's nation) and fields of its own; the
    template shows the two groups apart."""

    def own_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in LABEL_FIELDS]

    def label_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in LABEL_FIELDS]

    def setup_shared_label(self, user: Any, partners: frozenset[str]) -> None:
        """The label fields, releasable by default to every partner nation (the record is shared
        with the other nation)."""
        self.setup_label_fields(user)
        self.fields["releasable_to"].initial = sorted((partners | {self.originator}) - {""})


def _host_field(field: forms.Field, user: Any, partners: frozenset[str]) -> None:
    """Organisations of the partner nations (not the user's own): the hosts of a visit."""
    own = getattr(user, "nationality_id", None) or ""
    field.queryset = (Organisation.objects  # type: ignore[attr-defined]
                      .filter(nation_id__in=sorted(partners - {own}))
                      .order_by("nation_id", "code"))
    field.label_from_instance = (  # type: ignore[attr-defined]
        lambda o: f"{o.name} ({o.nation_id}, {o.get_kind_display()})")


def _level_choices(user: Any, partners: frozenset[str]) -> list[tuple[str, str]]:
    own = getattr(user, "nationality_id", None) or ""
    return [(m.key, f"{m.nation_id} {m.name}")
            for nation in sorted(partners - {own}) for m in current_markings(nation)]


# --------------------------------------------------------------------------- lists


class ExerciseFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.SearchInput(attrs={"placeholder": _("Code, name or "
                                                                          "objectives")}))
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=_any(ExerciseState.choices))
    kind = forms.ChoiceField(label=_("Type"), required=False, choices=_any(ExerciseKind.choices))
    lead_nation = forms.ChoiceField(label=_("Lead nation"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead_nation"].choices = _any(nation_choices())  # type: ignore[attr-defined]


class ExchangeFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False, choices=_any(VisitState.choices))
    kind = forms.ChoiceField(label=_("Kind of exchange"), required=False,
                             choices=_any(ExchangeKind.choices))


# --------------------------------------------------------------------------- proposal


class ExerciseForm(LabelledForm):
    code = forms.CharField(label=_("Code"), max_length=64,
                           help_text=_("Lower-case letters, digits and hyphens, e.g. "
                                       "vigilant-isles-2026."))
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    name_ja = forms.CharField(label=_("Name (Japanese)"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Type"), choices=ExerciseKind.choices)
    lead_nation = forms.ChoiceField(label=_("Lead nation"))
    starts_on = forms.DateField(label=_("First day"), widget=_date())
    ends_on = forms.DateField(label=_("Last day"), widget=_date())
    objectives_en = forms.CharField(label=_("Objectives (English)"), required=False,
                                    widget=forms.Textarea(attrs={"rows": 4}))
    objectives_ja = forms.CharField(label=_("Objectives (Japanese)"), required=False,
                                    widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, user: Any, partners: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_shared_label(user, partners)
        self.fields["lead_nation"].choices = nation_choices()  # type: ignore[attr-defined]
        self.fields["lead_nation"].initial = getattr(user, "nationality_id", None)


class RowForm(forms.Form):
    """One row of a repeated group: an empty row is left out; a row partly filled in needs the
    fields named in ``NEEDED``."""

    FILLED: tuple[str, ...] = ()
    NEEDED: tuple[str, ...] = ()

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return all(data.get(name) in (None, "") for name in self.FILLED)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.is_blank():
            for name in self.NEEDED:
                if data.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, _("Needed on a row that is filled in."))
        return data


class LocationRowForm(RowForm):
    name = forms.CharField(label=_("Location"), max_length=200, required=False)
    nation = forms.ChoiceField(label=_("Country"), required=False)

    FILLED = ("name", "nation")
    NEEDED = ("name",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nation"].choices = [("", "—"), *nation_choices()]  # type: ignore[attr-defined]


class UnitRowForm(RowForm):
    nation = forms.ChoiceField(label=_("Nation"), required=False)
    unit = forms.CharField(label=pgettext_lazy("military unit", "Unit"), max_length=200, required=False)
    personnel = forms.IntegerField(label=_("Personnel"), required=False, min_value=0,
                                   max_value=1_000_000,
                                   widget=forms.NumberInput(attrs={"min": "0"}))
    equipment = forms.CharField(label=_("Equipment"), max_length=300, required=False)

    FILLED = ("nation", "unit", "personnel", "equipment")
    NEEDED = ("nation", "unit", "personnel")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nation"].choices = [("", "—"), *nation_choices()]  # type: ignore[attr-defined]


class BaseRowFormSet(forms.BaseFormSet):
    def filled(self) -> list[dict[str, Any]]:
        """The cleaned data of the rows filled in, in order (call after ``is_valid``)."""
        return [form.cleaned_data for form in self.forms
                if getattr(form, "cleaned_data", None) and not form.is_blank()]

    def places(self) -> list[tuple[str, str | None]]:
        return [(row["name"], row["nation"] or None) for row in self.filled()]

    def specs(self) -> list[UnitSpec]:
        return [UnitSpec(row["nation"], row["unit"], row["personnel"], row["equipment"])
                for row in self.filled()]


def _rows(form: type[RowForm], prefix: str, data: Any) -> BaseRowFormSet:
    formset_class = forms.formset_factory(form, formset=BaseRowFormSet, extra=BLANK_ROWS,
                                          max_num=MAX_ROWS, validate_max=True,
                                          absolute_max=MAX_ROWS)
    formset = formset_class(data, prefix=prefix)
    assert isinstance(formset, BaseRowFormSet)
    return formset


def location_rows(data: Any) -> BaseRowFormSet:
    return _rows(LocationRowForm, "locations", data)


def unit_rows(data: Any) -> BaseRowFormSet:
    return _rows(UnitRowForm, "units", data)


# --------------------------------------------------------------------------- the exercise page


class NoteForm(forms.Form):
    """A step of the exercise's life, with an optional note for its history."""

    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class CompleteForm(forms.Form):
    lessons_learned = forms.CharField(label=_("Lessons-learned report"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 8}))
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why the exercise is cancelled"), required=False,
                             max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ConfirmForm(forms.Form):
    """A step that needs nothing but its button (errors are shown on it)."""


class LocationForm(forms.Form):
    name = forms.CharField(label=_("Location"), max_length=200, required=False)
    nation = forms.ChoiceField(label=_("Country"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nation"].choices = [("", "—"), *nation_choices()]  # type: ignore[attr-defined]


class UnitForm(forms.Form):
    nation = forms.ChoiceField(label=_("Nation"))
    unit = forms.CharField(label=pgettext_lazy("military unit", "Unit"), max_length=200)
    personnel = forms.IntegerField(label=_("Personnel"), min_value=0, max_value=1_000_000,
                                   widget=forms.NumberInput(attrs={"min": "0"}))
    equipment = forms.CharField(label=_("Equipment"), max_length=300, required=False)

    def __init__(self, *args: Any, nations: Iterable[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nation"].choices = nation_choices(nations)  # type: ignore[attr-defined]
        self.fields["unit"].help_text = _("A unit already listed for the nation is updated with "
                                          "these numbers.")

    def spec(self) -> UnitSpec:
        data = self.cleaned_data
        return UnitSpec(data["nation"], data["unit"], data["personnel"], data["equipment"])


class MilestoneForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=MilestoneKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200, required=False,
                            help_text=_("Needed for another milestone; optional for a "
                                        "planning conference."))
    due_on = forms.DateField(label=_("Date"), widget=_date())
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    owner = forms.CharField(label=_("Owner (user name)"), max_length=150,
                            help_text=_("Someone who may read the exercise."))


class ConferenceVisitForm(LabelledForm):
    """A request for visit to attend a planning conference (or another milestone)."""

    milestone = forms.ChoiceField(label=_("Conference"))
    host = forms.ModelChoiceField(label=_("Host organisation"),
                                  queryset=Organisation.objects.none(), to_field_name="code")
    site = forms.CharField(label=_("Site"), max_length=200)
    last_day = forms.DateField(label=_("Last day"), required=False, widget=_date(),
                               help_text=_("Empty: the conference's day only."))
    level = forms.ChoiceField(label=_("Level of information to be accessed"),
                              help_text=_("A marking of the host nation's scheme."))
    purpose = forms.CharField(label=_("Purpose"), required=False,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Empty: the conference and the exercise."))

    def __init__(self, *args: Any, user: Any, partners: frozenset[str],
                 milestones: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_shared_label(user, partners)
        self.fields["milestone"].choices = milestones  # type: ignore[attr-defined]
        _host_field(self.fields["host"], user, partners)
        self.fields["level"].choices = _level_choices(user, partners)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- exchanges


class ExchangeForm(LabelledForm):
    """A staff or academic exchange: a request for visit of kind "exchange"."""

    kind = forms.ChoiceField(label=_("Kind of exchange"), choices=ExchangeKind.choices)
    host = forms.ModelChoiceField(label=_("Host organisation"),
                                  queryset=Organisation.objects.none(), to_field_name="code")
    site = forms.CharField(label=_("Site"), max_length=200)
    first_day = forms.DateField(label=_("First day"), widget=_date())
    last_day = forms.DateField(label=_("Last day"), widget=_date(),
                               help_text=_("An exchange lasts up to three years, its approval "
                                           "reviewed every year."))
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 3}))
    level = forms.ChoiceField(label=_("Level of information to be accessed"),
                              help_text=_("A marking of the host nation's scheme."))
    exercise = forms.CharField(label=_("Exercise code"), required=False, max_length=64,
                               help_text=_("Optional: the exercise the exchange serves."))

    def __init__(self, *args: Any, user: Any, partners: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_shared_label(user, partners)
        _host_field(self.fields["host"], user, partners)
        self.fields["level"].choices = _level_choices(user, partners)  # type: ignore[attr-defined]
