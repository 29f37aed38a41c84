"""Forms of the exchange pages. They only collect and shape input: every rule about labels,
access and state is the services' and the kernel's, whose errors the views show on these forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from entente.core.models import Nation, Organisation
from entente.exchange.models import Channel, InvestigationStatus, Outcome
from entente.security.labels import LabelSpec
from entente.security.models import Caveat, Classification, Community


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files (none included); each arrives encrypted (EncryptingUploadHandler)."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def current_markings(nation: str | None) -> list[Classification]:
    """Markings of a nation's scheme that may be applied today (retired ones may not)."""
    today = timezone.localdate()
    return list(Classification.objects.filter(nation_id=nation)
                .filter(Q(retired_on__isnull=True) | Q(retired_on__gt=today))
                .order_by("level", "code"))


def _nation_choices(exclude: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    return [(n.code, f"{n.code} — {n.name}") for n in Nation.objects.order_by("code")
            if n.code not in exclude]


class LabelFieldsMixin(forms.Form):
    """The fields a new label is built from; the originator is always the user's own nation."""

    classification = forms.ChoiceField(label=_("Marking"))
    releasable_to = forms.MultipleChoiceField(
        label=_("Releasable to"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Your own nation, the originator, is always included."))
    caveats = forms.MultipleChoiceField(label=_("Caveats"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    communities = forms.MultipleChoiceField(
        label=_("Need-to-know communities"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Only communities you are currently a member of."))

    def setup_label_fields(self, user: Any) -> None:
        self.originator = user.nationality_id or ""
        fields = self.fields
        fields["classification"].choices = [  # type: ignore[attr-defined]
            (m.code, f"{m.nation_id} {m.name}") for m in current_markings(self.originator)]
        fields["releasable_to"].choices = _nation_choices()  # type: ignore[attr-defined]
        fields["releasable_to"].initial = [self.originator]
        fields["caveats"].choices = [  # type: ignore[attr-defined]
            (c.code, c.name) for c in Caveat.objects.order_by("code")]
        today = timezone.localdate()
        fields["communities"].choices = [  # type: ignore[attr-defined]
            (c.code, f"{c.name} ({c.code})") for c in Community.objects.filter(
                memberships__user=user, memberships__valid_from__lte=today,
                memberships__valid_until__gte=today).distinct().order_by("code")]

    def label_spec(self) -> LabelSpec:
        data = self.cleaned_data
        return LabelSpec(self.originator, data["classification"],
                         tuple(sorted({self.originator, *data["releasable_to"]})),
                         tuple(data["caveats"]), tuple(data["communities"]))


class DocumentForm(LabelFieldsMixin):
    title_en = forms.CharField(label=_("Title (English)"), max_length=300, required=False)
    title_ja = forms.CharField(label=_("Title (Japanese)"), max_length=300, required=False)
    summary_en = forms.CharField(label=_("Summary (English)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    summary_ja = forms.CharField(label=_("Summary (Japanese)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    body = forms.CharField(label=_("Body"), required=False, strip=False,
                           widget=forms.Textarea(attrs={"rows": 12}))
    attachments = MultipleFileField(label=_("Files"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_label_fields(user)


class VersionForm(forms.Form):
    body = forms.CharField(label=_("Body"), required=False, strip=False,
                           widget=forms.Textarea(attrs={"rows": 12}))
    note = forms.CharField(label=_("What changed"), max_length=300, required=False)
    keep_attachments = forms.BooleanField(label=_("Keep the current version's files"),
                                          required=False, initial=True)
    attachments = MultipleFileField(label=_("Add files"))


class DocumentFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.SearchInput(attrs={"placeholder": _("English or 日本語")}))
    originator = forms.ChoiceField(label=_("Originator"), required=False)
    classification = forms.ChoiceField(label=_("Marking"), required=False)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    updated_from = forms.DateField(label=_("Updated from"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    updated_until = forms.DateField(label=_("Updated until"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        any_ = [("", _("Any"))]
        self.fields["originator"].choices = any_ + _nation_choices()  # type: ignore[attr-defined]
        codes = sorted(set(Classification.objects.values_list("code", flat=True)))
        self.fields["classification"].choices = any_ + [  # type: ignore[attr-defined]
            (c, c) for c in codes]
        self.fields["owner"].choices = any_ + [  # type: ignore[attr-defined]
            (o.code, f"{o.name} ({o.nation_id})") for o in Organisation.objects.order_by(
                "nation_id", "code")]


class TransmissionForm(forms.Form):
    recipient = forms.ModelChoiceField(label=_("Recipient organisation"),
                                       queryset=Organisation.objects.none(), to_field_name="code")
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices,
                                initial=Channel.IN_SYSTEM)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    documents = forms.MultipleChoiceField(label=_("Documents"),
                                          widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, user: Any, documents: list[tuple[str, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = (  # type: ignore[attr-defined]
            Organisation.objects.exclude(nation_id=user.nationality_id)
            .order_by("nation_id", "code"))
        self.fields["documents"].choices = documents  # type: ignore[attr-defined]


class ReleaseRequestForm(forms.Form):
    to_nation = forms.ChoiceField(label=_("Release to"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}),
                             required=False)

    def __init__(self, *args: Any, already: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_nation"].choices = _nation_choices(already)  # type: ignore[attr-defined]


class DowngradeRequestForm(forms.Form):
    to_marking = forms.ChoiceField(label=_("New marking"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}),
                             required=False)

    def __init__(self, *args: Any, current: Classification, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_marking"].choices = [  # type: ignore[attr-defined]
            (m.code, f"{m.nation_id} {m.name}") for m in current_markings(current.nation_id)
            if m.level < current.level]


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class LossReportForm(forms.Form):
    documents = forms.MultipleChoiceField(label=_("Documents"),
                                          widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(label=_("What happened"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args: Any, documents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].choices = documents  # type: ignore[attr-defined]


class LossReportUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=InvestigationStatus.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, required=False)
    findings = forms.CharField(label=_("Findings"), required=False,
                               widget=forms.Textarea(attrs={"rows": 6}))
