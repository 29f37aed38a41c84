"""Forms of the cooperation pages. They only collect and shape input: every rule about projects,
phases, shares, labels and access is the services' and the kernel's, whose errors the views show
on these forms (which keep what was typed)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from entente.cooperation.models import DecisionKind, ParticipantRole, Phase
from entente.core.models import Nation, Organisation
from entente.security.labels import LabelError, LabelSpec

# The nations that share a project's costs: one field each on the cost-share form.
SHARE_NATIONS = ("GBR", "JPN")

LABEL_HELP = _("For example GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN (then |cav=… and |com=… if "
               "needed). The originator is your own nation.")


def nation_choices() -> list[tuple[str, str]]:
    return [(n.code, f"{n.code} — {n.name}") for n in Nation.objects.order_by("code")]


def user_named(username: str) -> Any:
    """The active person with this user name, or None."""
    return get_user_model().objects.filter(username=username.strip(), is_active=True).first()


class LabelTextField(forms.CharField):
    """A label in its compact text form, parsed into a ``LabelSpec`` (validated against the
    reference data by the service that applies it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("label", _("Security label"))
        kwargs.setdefault("help_text", LABEL_HELP)
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "placeholder": "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN", "spellcheck": "false",
            "autocapitalize": "off"}))
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> LabelSpec | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return LabelSpec.parse(text)
        except LabelError as exc:
            raise ValidationError(str(exc)) from None


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class UsernameField(forms.CharField):
    """A person's user name; cleans to the user."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault("label", _("User name"))
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Any:
        name = super().clean(value)
        if not name:
            return None
        user = user_named(name)
        if user is None:
            raise ValidationError(_("No active user is called %(name)s.") % {"name": name})
        return user


# --------------------------------------------------------------------------- projects


class ProjectFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.SearchInput(attrs={"placeholder": _("Code, name or "
                                                                          "description")}))
    phase = forms.ChoiceField(label=_("Phase"), required=False)
    lead_nation = forms.ChoiceField(label=_("Lead nation"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        any_ = [("", _("Any"))]
        self.fields["phase"].choices = any_ + list(Phase.choices)  # type: ignore[attr-defined]
        self.fields["lead_nation"].choices = any_ + nation_choices()  # type: ignore[attr-defined]


class ProjectForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=64,
                           help_text=_("Lower-case letters, digits and hyphens, e.g. gcap-radar. "
                                       "It also names the project's need-to-know community."))
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    name_ja = forms.CharField(label=_("Name (Japanese)"), max_length=200, required=False)
    description_en = forms.CharField(label=_("Description (English)"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 4}))
    description_ja = forms.CharField(label=_("Description (Japanese)"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 4}))
    lead_nation = forms.ChoiceField(label=_("Lead nation"))
    label = LabelTextField(help_text=_("The label of the project and all its records, in your "
                                       "own nation's scheme, for example "
                                       "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN. The project's own "
                                       "need-to-know community is added to it."))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lead_nation"].choices = nation_choices()  # type: ignore[attr-defined]
        self.fields["lead_nation"].initial = getattr(user, "nationality_id", None)


class ParticipantForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("Organisation"),
                                          queryset=Organisation.objects.none(),
                                          to_field_name="code")
    role = forms.ChoiceField(label=_("Role"), choices=ParticipantRole.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (  # type: ignore[attr-defined]
            Organisation.objects.order_by("nation_id", "code"))
        self.fields["organisation"].label_from_instance = (  # type: ignore[attr-defined]
            lambda o: f"{o.name} ({o.nation_id}, {o.get_kind_display()})")


class MemberForm(forms.Form):
    username = UsernameField()
    until = forms.DateField(label=_("Need-to-know until"), required=False, widget=_date_input(),
                            help_text=_("Empty: three years from today."))


class CostSharesForm(forms.Form):
    """One share (in percent) per nation; an empty one is no share."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = {n.code: n.name for n in Nation.objects.filter(code__in=SHARE_NATIONS)}
        for code in SHARE_NATIONS:
            self.fields[code] = forms.DecimalField(
                label=_("%(nation)s share (%%)") % {"nation": names.get(code, code)},
                required=False, max_digits=5, decimal_places=2,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100",
                                                "inputmode": "decimal"}))

    def shares(self) -> dict[str, Any]:
        return {code: value for code in SHARE_NATIONS
                if (value := self.cleaned_data.get(code)) is not None}


class MilestoneForm(forms.Form):
    title_en = forms.CharField(label=_("Milestone (English)"), max_length=200, required=False)
    title_ja = forms.CharField(label=_("Milestone (Japanese)"), max_length=200, required=False)
    due_on = forms.DateField(label=_("Due on"), widget=_date_input())


class SecurityInstructionForm(forms.Form):
    text_en = forms.CharField(label=_("Instruction (English)"), required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 6}))
    text_ja = forms.CharField(label=_("Instruction (Japanese)"), required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 6}))


class GuideEntryForm(forms.Form):
    topic_en = forms.CharField(label=_("Information (English)"), max_length=200, required=False)
    topic_ja = forms.CharField(label=_("Information (Japanese)"), max_length=200,
                               required=False)
    label = LabelTextField(help_text=_("The label this information carries, for example "
                                       "GBR/SECRET|rel=GBR,JPN. The project's community is "
                                       "added to it."))
    is_default = forms.BooleanField(label=_("Default for new project documents"),
                                    required=False)


class ProjectDocumentForm(forms.Form):
    title_en = forms.CharField(label=_("Title (English)"), max_length=300, required=False)
    title_ja = forms.CharField(label=_("Title (Japanese)"), max_length=300, required=False)
    summary_en = forms.CharField(label=_("Summary (English)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    summary_ja = forms.CharField(label=_("Summary (Japanese)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    body = forms.CharField(label=_("Body"), required=False, strip=False,
                           widget=forms.Textarea(attrs={"rows": 12}))
    guide_entry = forms.ChoiceField(label=_("Classification guide entry"), required=False)
    label = LabelTextField(required=False, help_text=_(
        "Only to label the document otherwise than the guide says, for example "
        "GBR/OFFICIAL|rel=GBR,JPN. The project's community is added to it."))

    def __init__(self, *args: Any, guide: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["guide_entry"].choices = (  # type: ignore[attr-defined]
            [("", _("The guide's default entry")), *guide])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("guide_entry") and data.get("label"):
            raise ValidationError(_("Choose a guide entry or type a label, not both."))
        return data


# --------------------------------------------------------------------------- the panel


class MeetingForm(forms.Form):
    held_on = forms.DateField(label=_("Date"), widget=_date_input())
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    by_video = forms.BooleanField(label=_("By video"), required=False)
    label = LabelTextField(help_text=_("The label of the meeting record, for example "
                                       "GBR/OFFICIAL|rel=GBR,JPN. Items about a project are "
                                       "also protected by the project's label."))


class AttendanceForm(forms.Form):
    usernames = forms.CharField(label=_("Attendees (user names)"), required=False,
                                widget=forms.Textarea(attrs={"rows": 2}),
                                help_text=_("Separated by commas, spaces or new lines."))

    def clean_usernames(self) -> list[Any]:
        names = list(dict.fromkeys(n for n in re.split(r"[\s,]+",
                                                       self.cleaned_data["usernames"]) if n))
        people = {n: user_named(n) for n in names}
        unknown = [n for n, person in people.items() if person is None]
        if unknown:
            raise ValidationError(_("No active user is called %(names)s.")
                                  % {"names": ", ".join(unknown)})
        return list(people.values())


class ProjectChoiceMixin(forms.Form):
    project = forms.ChoiceField(label=_("About the project"), required=False)

    def set_projects(self, projects: list[tuple[str, str]]) -> None:
        self.fields["project"].choices = (  # type: ignore[attr-defined]
            [("", _("No project")), *projects])


class AgendaItemForm(ProjectChoiceMixin):
    title_en = forms.CharField(label=_("Item (English)"), max_length=200, required=False,
                               help_text=_("Empty: the project's name."))
    title_ja = forms.CharField(label=_("Item (Japanese)"), max_length=200, required=False)

    field_order = ["title_en", "title_ja", "project"]

    def __init__(self, *args: Any, projects: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_projects(projects)


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Decision"), choices=DecisionKind.choices)
    text = forms.CharField(label=_("Text of the decision"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ActionForm(ProjectChoiceMixin):
    title = forms.CharField(label=_("Action"), max_length=300)
    owner = UsernameField(label=_("Owner (user name)"))
    due_on = forms.DateField(label=_("Due on"), widget=_date_input())

    field_order = ["title", "owner", "due_on", "project"]

    def __init__(self, *args: Any, projects: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_projects(projects)


class MinutesForm(forms.Form):
    text_en = forms.CharField(label=_("Minutes (English)"), required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 8}))
    text_ja = forms.CharField(label=_("Minutes (Japanese)"), required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 8}))
    label = LabelTextField(required=False, help_text=_(
        "Empty: the label the minutes have (at first, the meeting's). Minutes may say more "
        "than the meeting record and carry a higher label."))
