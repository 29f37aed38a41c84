"""Joint training and exercises, and exchanges of defence and security staff and academics.

An ``Exercise`` is a protected record: its label is chosen by the nation that proposes it and must
be releasable to the other; its parts (locations, participating units, planning milestones, state
history) carry no label of their own and are read with ``visible(..., label="exercise__label")``.

A staff or academic exchange is a long visit: a person of one nation working at an organisation of
the other, with a level of information to be accessed. So it *is* a request for visit
(``industry.VisitRequest`` of kind "exchange"), assured by the person's own security authority and
approved by the host nation's, with the same clearance check; ``StaffExchange`` adds what is
particular to an exchange (staff or academic, home organisation, the exercise it serves if any).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from entente.core.models import Nation, Organisation, in_language
from entente.security.models import Protected


class ExerciseKind(models.TextChoices):
    PEACEKEEPING = "peacekeeping", _("Peacekeeping")
    HADR = "hadr", _("Disaster relief and humanitarian assistance")
    NEO = "neo", _("Non-combatant evacuation")
    AIRLIFT = "airlift", _("Airlift")
    OTHER = "other", _("Other")


class ExerciseState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved")
    PLANNING = "planning", _("Planning")
    EXECUTING = "executing", _("Executing")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


# The one way forward from each state; any state before completion may also be cancelled.
NEXT_STATE: dict[str, str] = {
    ExerciseState.PROPOSED: ExerciseState.APPROVED,
    ExerciseState.APPROVED: ExerciseState.PLANNING,
    ExerciseState.PLANNING: ExerciseState.EXECUTING,
    ExerciseState.EXECUTING: ExerciseState.COMPLETED,
}
OPEN_STATES: tuple[str, ...] = tuple(NEXT_STATE)


class Exercise(Protected):
    """A joint exercise. ``owner`` is the proposing planner's organisation."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    name_ja = models.CharField(_("name (Japanese)"), max_length=200, blank=True)
    kind = models.CharField(_("type"), max_length=16, choices=ExerciseKind.choices)
    lead_nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("lead nation"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    objectives_en = models.TextField(_("objectives (English)"), blank=True)
    objectives_ja = models.TextField(_("objectives (Japanese)"), blank=True)
    state = models.CharField(_("state"), max_length=12, choices=ExerciseState.choices,
                             default=ExerciseState.PROPOSED)
    lessons_learned = models.TextField(_("lessons-learned report"), blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("proposed by"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_on", "code"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")),
                                              name="exercise_ends_after_it_starts")]
        indexes = [models.Index(fields=["starts_on", "code"], name="exercise_listing")]
        verbose_name = _("exercise")

    def __str__(self) -> str:
        return self.code

    @property
    def name(self) -> str:
        return in_language(self.name_en, self.name_ja)

    @property
    def objectives(self) -> str:
        return in_language(self.objectives_en, self.objectives_ja)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Location(models.Model):
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(_("location"), max_length=200)
    nation = models.ForeignKey(Nation, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("country"))

    class Meta:
        ordering = ["exercise", "id"]

    def __str__(self) -> str:
        return self.name


class ParticipatingUnit(models.Model):
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="units")
    nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("nation"))
    unit = models.CharField(_("unit"), max_length=200)
    personnel = models.PositiveIntegerField(_("personnel"))
    equipment = models.CharField(_("equipment"), max_length=300, blank=True)

    class Meta:
        ordering = ["exercise", "nation", "unit"]
        constraints = [models.UniqueConstraint(fields=["exercise", "nation", "unit"],
                                               name="one_entry_per_unit")]

    def __str__(self) -> str:
        return f"{self.nation_id} {self.unit}"


class MilestoneKind(models.TextChoices):
    INITIAL = "initial", _("Initial planning conference")
    MAIN = "main", _("Main planning conference")
    FINAL = "final", _("Final planning conference")
    OTHER = "other", _("Other milestone")


class PlanningMilestone(models.Model):
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(_("kind"), max_length=8, choices=MilestoneKind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    due_on = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("owner"))
    done_on = models.DateField(_("done on"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title or str(self.get_kind_display())

    @property
    def heading(self) -> str:
        return self.title or str(self.get_kind_display())


class ConferenceVisit(models.Model):
    """A request for visit needed to attend a planning conference (or another milestone)."""

    milestone = models.ForeignKey(PlanningMilestone, on_delete=models.CASCADE,
                                  related_name="visits")
    visit = models.OneToOneField("industry.VisitRequest", on_delete=models.CASCADE,
                                 related_name="conference")

    def __str__(self) -> str:
        return f"{self.milestone_id}: {self.visit_id}"


class StateChange(models.Model):
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="history")
    state = models.CharField(max_length=12, choices=ExerciseState.choices)
    on = models.DateField()
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["exercise", "at", "id"]

    def __str__(self) -> str:
        return f"{self.exercise_id} → {self.state}"


class ExchangeKind(models.TextChoices):
    STAFF = "staff", _("Defence and security staff")
    ACADEMIC = "academic", _("Academic")


class StaffExchange(models.Model):
    """What an exchange adds to its request for visit (which holds the person, host, dates,
    purpose, level, label and the clearance check)."""

    visit = models.OneToOneField("industry.VisitRequest", on_delete=models.PROTECT,
                                 related_name="exchange")
    kind = models.CharField(_("kind of exchange"), max_length=10, choices=ExchangeKind.choices)
    home = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("home organisation"))
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="exchanges", verbose_name=_("exercise"))

    def __str__(self) -> str:
        return f"exchange {self.visit_id}"
