"""Joint projects under the Defence Equipment and Technology Cooperation Framework, and the joint
steering panel that takes them through their phases.

Every project has its own need-to-know community in the kernel and a label that names it: the
project and everything that belongs to it (participants, cost shares, milestones, security
instruction, classification guide, phase history, agenda items and decisions about it) are
visible exactly to those who may view the project. Child records carry no label of their own;
selectors filter them with ``kernel.visible(..., label="project__label")``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from entente.core.models import Nation, Organisation, in_language
from entente.exchange.models import Document
from entente.security.models import Community, Label, Protected


class Phase(models.TextChoices):
    PROPOSAL = "proposal", _("Proposal")
    IDENTIFICATION = "identification", _("Identification")
    FEASIBILITY = "feasibility", _("Feasibility")
    RESEARCH = "research", _("Cooperative research")
    DEVELOPMENT = "development", _("Development")
    PRODUCTION = "production", _("Production")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# The one way forward from each open phase; any open phase may also be cancelled. Both need a
# decision of the steering panel.
NEXT_PHASE: dict[str, str] = {
    Phase.PROPOSAL: Phase.IDENTIFICATION,
    Phase.IDENTIFICATION: Phase.FEASIBILITY,
    Phase.FEASIBILITY: Phase.RESEARCH,
    Phase.RESEARCH: Phase.DEVELOPMENT,
    Phase.DEVELOPMENT: Phase.PRODUCTION,
    Phase.PRODUCTION: Phase.CLOSED,
}
OPEN_PHASES = tuple(NEXT_PHASE)


class Project(Protected):
    """A joint project. ``owner`` is the organisation that proposed it; ``label`` protects the
    project and all its parts and always names the project's ``community``."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    name_ja = models.CharField(_("name (Japanese)"), max_length=200, blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_ja = models.TextField(_("description (Japanese)"), blank=True)
    lead_nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("lead nation"))
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices,
                             default=Phase.PROPOSAL)
    community = models.OneToOneField(Community, on_delete=models.PROTECT, related_name="project",
                                     verbose_name=_("need-to-know community"))
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("proposed by"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("project")

    def __str__(self) -> str:
        return self.code

    @property
    def name(self) -> str:
        return in_language(self.name_en, self.name_ja)

    @property
    def description(self) -> str:
        return in_language(self.description_en, self.description_ja)

    @property
    def is_open(self) -> bool:
        return self.phase in OPEN_PHASES


class ParticipantRole(models.TextChoices):
    SPONSOR = "sponsor", _("Government sponsor")
    PRIME = "prime", _("Prime contractor")
    SUBCONTRACTOR = "subcontractor", _("Subcontractor")
    RESEARCH = "research", _("Research partner")


class Participant(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="participants")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("organisation"))
    role = models.CharField(_("role"), max_length=16, choices=ParticipantRole.choices)
    joined_on = models.DateField(_("joined on"))

    class Meta:
        ordering = ["project", "organisation__nation_id", "organisation__code"]
        constraints = [models.UniqueConstraint(fields=["project", "organisation"],
                                               name="one_participation_per_organisation")]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.organisation} ({self.role})"


class CostShare(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cost_shares")
    nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+")
    percent = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["project", "nation"]
        constraints = [
            models.UniqueConstraint(fields=["project", "nation"], name="one_share_per_nation"),
            models.CheckConstraint(condition=models.Q(percent__gt=0, percent__lte=100),
                                   name="share_between_0_and_100"),
        ]

    def __str__(self) -> str:
        return f"{self.nation_id} {self.percent}%"


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    title_ja = models.CharField(_("title (Japanese)"), max_length=200, blank=True)
    due_on = models.DateField(_("due on"))
    done_on = models.DateField(_("done on"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.due_on})"

    @property
    def title(self) -> str:
        return in_language(self.title_en, self.title_ja)

    def is_overdue(self, today: dt.date) -> bool:
        return self.done_on is None and self.due_on < today


class SecurityInstruction(models.Model):
    """The programme security instruction: how the two nations' security procedures are
    reconciled for this project. One per project; each change is audited with its digest."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE,
                                   related_name="security_instruction")
    text_en = models.TextField(_("instruction (English)"), blank=True)
    text_ja = models.TextField(_("instruction (Japanese)"), blank=True)
    revision = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")

    def __str__(self) -> str:
        return f"PSI {self.project_id} rev. {self.revision}"

    @property
    def text(self) -> str:
        return in_language(self.text_en, self.text_ja)


class GuideEntry(models.Model):
    """A line of the project security classification guide: a kind of project information and
    the label it carries. The default entry labels new project documents unless told otherwise."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guide")
    topic_en = models.CharField(_("information (English)"), max_length=200, blank=True)
    topic_ja = models.CharField(_("information (Japanese)"), max_length=200, blank=True)
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("label"))
    is_default = models.BooleanField(_("default for new documents"), default=False)

    class Meta:
        ordering = ["project", "-is_default", "id"]
        verbose_name_plural = _("guide entries")
        constraints = [models.UniqueConstraint(fields=["project"],
                                               condition=models.Q(is_default=True),
                                               name="one_default_guide_entry")]

    def __str__(self) -> str:
        return f"{self.topic}: {self.label.canonical}"

    @property
    def topic(self) -> str:
        return in_language(self.topic_en, self.topic_ja)


class ProjectDocument(models.Model):
    """An exchange document that belongs to a project (it keeps its own label, which the guide
    proposed when it was created)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    document = models.OneToOneField(Document, on_delete=models.CASCADE, related_name="project_link")
    guide_entry = models.ForeignKey(GuideEntry, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")

    def __str__(self) -> str:
        return f"{self.project_id}: {self.document_id}"


# --------------------------------------------------------------------------- steering panel


class PanelRole(models.TextChoices):
    CO_CHAIR = "co-chair", _("Co-chair")
    MEMBER = "member", _("Member")
    SECRETARY = "secretary", _("Secretary")


class PanelMember(models.Model):
    """A seat on the joint steering panel, for a period (inclusive dates). Each nation has one
    co-chair at a time; the co-chair's nation is the member's nationality."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="panel_seats")
    role = models.CharField(_("role"), max_length=16, choices=PanelRole.choices)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))

    class Meta:
        ordering = ["-role", "user__nationality_id", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"

    def is_valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_until


class Meeting(Protected):
    """A meeting of the steering panel. Its label protects the meeting record (date, place,
    attendees, agenda items about no project, action items); items about a project are also
    protected by the project's label."""

    held_on = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    by_video = models.BooleanField(_("by video"), default=False)
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                       verbose_name=_("attendees"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "id"]
        verbose_name = _("panel meeting")

    def __str__(self) -> str:
        return f"{self.held_on} {self.place}"


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveIntegerField()
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    title_ja = models.CharField(_("title (Japanese)"), max_length=200, blank=True)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="agenda_items", verbose_name=_("project"))

    class Meta:
        ordering = ["meeting", "position"]
        constraints = [models.UniqueConstraint(fields=["meeting", "position"],
                                               name="one_item_per_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    @property
    def title(self) -> str:
        return in_language(self.title_en, self.title_ja)


class DecisionKind(models.TextChoices):
    APPROVE_PROJECT = "approve-project", _("Approve project")
    APPROVE_PHASE = "approve-phase", _("Approve phase")
    CANCEL = "cancel", _("Cancel project")
    REJECT = "reject", _("Reject")
    DEFER = "defer", _("Defer")


# Decisions that move a project, and those that record a view without moving it.
MOVING_DECISIONS = (DecisionKind.APPROVE_PROJECT, DecisionKind.APPROVE_PHASE, DecisionKind.CANCEL)


class PanelDecision(models.Model):
    """A decision recorded against an agenda item. A moving decision names the phase it moves
    the project to and is applied once (``PhaseChange``)."""

    item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="decisions")
    kind = models.CharField(_("decision"), max_length=16, choices=DecisionKind.choices)
    to_phase = models.CharField(_("to phase"), max_length=16, choices=Phase.choices, blank=True)
    text = models.TextField(_("text"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.to_phase}".strip()


class PhaseChange(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="phase_changes")
    from_phase = models.CharField(max_length=16, choices=Phase.choices)
    to_phase = models.CharField(max_length=16, choices=Phase.choices)
    decision = models.OneToOneField(PanelDecision, on_delete=models.PROTECT,
                                    related_name="phase_change")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.from_phase} → {self.to_phase}"


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


class ActionItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="actions")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="actions", verbose_name=_("project"))
    title = models.CharField(_("action"), max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("owner"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=8, choices=ActionStatus.choices,
                              default=ActionStatus.OPEN)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: dt.date) -> bool:
        return self.status == ActionStatus.OPEN and self.due_on < today


class Minutes(Protected):
    """The minutes of a meeting, with their own label (they may say more than the meeting record).
    They are final once a co-chair of each nation has approved the current text; changing the
    text withdraws the approvals."""

    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="minutes")
    text_en = models.TextField(_("minutes (English)"), blank=True)
    text_ja = models.TextField(_("minutes (Japanese)"), blank=True)
    revision = models.PositiveIntegerField(default=1)
    final_at = models.DateTimeField(_("final since"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("minutes")

    def __str__(self) -> str:
        return f"minutes of {self.meeting_id} rev. {self.revision}"

    @property
    def text(self) -> str:
        return in_language(self.text_en, self.text_ja)

    @property
    def is_final(self) -> bool:
        return self.final_at is not None


class MinutesApproval(models.Model):
    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="approvals")
    revision = models.PositiveIntegerField()
    nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["approved_at"]
        constraints = [models.UniqueConstraint(fields=["minutes", "revision", "nation"],
                                               name="one_approval_per_nation_and_revision")]

    def __str__(self) -> str:
        return f"{self.nation_id} approved rev. {self.revision}"


SHARE_TOTAL = Decimal("100")
