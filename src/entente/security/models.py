"""The kernel's data: markings, their equivalence, clearances, communities, labels, audit.

Labels are immutable and shared: a label row is identified by its canonical text, so a million
records carry a handful of label ids and the visibility filter is decided on the small label table.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from entente.core.models import BilingualName, Nation, Organisation


class Classification(BilingualName):
    """One marking of one nation's scheme, e.g. GBR/SECRET or JPN/GOKUHI.

    ``level`` orders markings within the scheme only; across schemes the equivalence table decides.
    A retired marking (the UK's CONFIDENTIAL after April 2014) stays valid on existing labels but
    cannot be applied to new ones.
    """

    nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="classifications")
    code = models.CharField(_("code"), max_length=40)
    level = models.PositiveSmallIntegerField(_("level"))
    requires_clearance = models.BooleanField(_("requires a clearance"), default=True)
    retired_on = models.DateField(_("retired on"), null=True, blank=True)

    class Meta:
        ordering = ["nation_id", "level", "code"]
        constraints = [models.UniqueConstraint(fields=["nation", "code"],
                                               name="unique_marking_per_nation")]
        verbose_name = _("classification")

    def __str__(self) -> str:
        return f"{self.nation_id}/{self.code}"

    @property
    def key(self) -> str:
        return f"{self.nation_id}/{self.code}"


class EquivalenceTable(models.Model):
    """One version of the bilateral (or multilateral) equivalence table, loaded from a data file.

    Old versions stay for the record; the version in force on a day is the latest whose
    ``effective_from`` is not after that day.
    """

    version = models.CharField(_("version"), max_length=40, unique=True)
    effective_from = models.DateField(_("effective from"))
    title = models.CharField(_("title"), max_length=200, blank=True)
    source_sha256 = models.CharField(max_length=64, editable=False)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from", "-version"]
        verbose_name = _("equivalence table")

    def __str__(self) -> str:
        return f"{self.version} ({self.effective_from})"


class Equivalence(models.Model):
    """Within a table version: a marking of one nation is protected as a marking of another."""

    table = models.ForeignKey(EquivalenceTable, on_delete=models.CASCADE, related_name="entries")
    source = models.ForeignKey(Classification, on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(Classification, on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField(_("effective from"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["table", "source", "target"],
                                               name="unique_equivalence_entry")]
        verbose_name = _("equivalence")

    def __str__(self) -> str:
        return f"{self.source} ≡ {self.target}"


class Caveat(BilingualName):
    """A handling caveat. A national-eyes-only caveat names its nation and only its nationals
    satisfy it; any other caveat is satisfied by an individual, dated grant."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    eyes_only = models.ForeignKey(Nation, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("eyes only for"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("caveat")


class Community(BilingualName):
    """A need-to-know community (later one per project, exercise or ACSA agreement)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")


class DatedGrant(models.Model):
    """Something granted to a person by an organisation for a period (inclusive dates).
    Outside the period it is no grant at all."""

    granted_by = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("granted by"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))

    class Meta:
        abstract = True

    def is_valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_until


class Clearance(DatedGrant):
    """A personnel security clearance, in the holder's own nation's scheme."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="clearances")
    level = models.ForeignKey(Classification, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("cleared to"))

    class Meta:
        ordering = ["-valid_until"]
        verbose_name = _("personnel security clearance")

    def __str__(self) -> str:
        return f"{self.user} · {self.level} → {self.valid_until}"


class FacilityClearance(DatedGrant):
    """A facility security clearance: a site of a company or university may work on classified
    information up to ``level`` (a marking of the organisation's nation's scheme), granted by
    that nation's security authority. The kernel caps what the organisation's people may see at
    the highest facility level valid today, whatever their personal clearances; an organisation
    that needs one and has none gets nothing that needs a clearance."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="facility_clearances",
                                     verbose_name=_("organisation"))
    site = models.CharField(_("site"), max_length=200)
    level = models.ForeignKey(Classification, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("cleared to"))
    storage_level = models.ForeignKey(
        Classification, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        verbose_name=_("may store classified material up to"),
        help_text=_("Empty: the site may not hold classified material."))

    class Meta:
        ordering = ["organisation", "-valid_until"]
        verbose_name = _("facility security clearance")

    def __str__(self) -> str:
        return f"{self.organisation} ({self.site}) · {self.level} → {self.valid_until}"


class CaveatGrant(DatedGrant):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="caveat_grants")
    caveat = models.ForeignKey(Caveat, on_delete=models.PROTECT, related_name="grants")

    class Meta:
        verbose_name = _("caveat access")

    def __str__(self) -> str:
        return f"{self.user} · {self.caveat} → {self.valid_until}"


class Membership(DatedGrant):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="memberships")

    class Meta:
        verbose_name = _("community membership")

    def __str__(self) -> str:
        return f"{self.user} · {self.community} → {self.valid_until}"


class Label(models.Model):
    """An immutable security label. Build them with ``labels.make_label``; never edit a row —
    a changed label is a new label, so ciphertext bound to the old one stops decrypting."""

    canonical = models.CharField(max_length=512, unique=True, editable=False)
    originator = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+")
    classification = models.ForeignKey(Classification, on_delete=models.PROTECT, related_name="+")
    releasable_to: models.ManyToManyField[Nation, LabelReleasability] = models.ManyToManyField(
        Nation, related_name="+", blank=True, through="LabelReleasability")
    caveats: models.ManyToManyField[Caveat, LabelCaveat] = models.ManyToManyField(
        Caveat, related_name="+", blank=True, through="LabelCaveat")
    communities: models.ManyToManyField[Community, LabelCommunity] = models.ManyToManyField(
        Community, related_name="+", blank=True, through="LabelCommunity")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("security label")

    def __str__(self) -> str:
        return self.canonical


# The label's parts. PROTECT on the far side: deleting a caveat, community or nation must never
# silently strip it from labels that carry it (that would open them to everyone).
class LabelReleasability(models.Model):
    label = models.ForeignKey(Label, on_delete=models.CASCADE)
    nation = models.ForeignKey(Nation, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["label", "nation"],
                                               name="unique_label_nation")]

    def __str__(self) -> str:
        return f"{self.label_id} REL {self.nation_id}"


class LabelCaveat(models.Model):
    label = models.ForeignKey(Label, on_delete=models.CASCADE)
    caveat = models.ForeignKey(Caveat, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["label", "caveat"],
                                               name="unique_label_caveat")]

    def __str__(self) -> str:
        return f"{self.label_id} CAV {self.caveat_id}"


class LabelCommunity(models.Model):
    label = models.ForeignKey(Label, on_delete=models.CASCADE)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["label", "community"],
                                               name="unique_label_community")]

    def __str__(self) -> str:
        return f"{self.label_id} COM {self.community_id}"


class Protected(models.Model):
    """Base for every record the kernel guards: it carries a label and an owning organisation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner organisation"))

    class Meta:
        abstract = True


class SampleRecord(Protected):
    """A labelled record with an encrypted body: the kernel's end-to-end proof before the
    exchange app brings real documents."""

    title = models.CharField(_("title"), max_length=200)
    body = models.BinaryField(_("encrypted body"), editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("sample record")
        indexes = [models.Index(fields=["title", "id"], name="samplerecord_listing")]

    def __str__(self) -> str:
        return self.title


class AuditEvent(models.Model):
    """One link of the append-only audit chain. ``seq`` is assigned under a lock and has no gaps,
    so a missing row is detectable; the database itself refuses UPDATE and DELETE (migration 0002)."""

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True)
    actor = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    allowed = models.BooleanField(null=True)
    reason = models.TextField(blank=True)
    source = models.CharField(max_length=80, blank=True)
    # Canonical JSON text (sorted keys, compact), hashed exactly as stored: verifying the chain
    # then needs no JSON round trip, which is most of what makes a million events take seconds.
    detail = models.TextField(default="{}")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit event")
        indexes = [models.Index(fields=["object_type", "object_id"]),
                   models.Index(fields=["actor_id", "at"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    @property
    def details(self) -> dict[str, Any]:
        return dict(json.loads(self.detail))


class AuditCheckpoint(models.Model):
    """The chain head at a moment, signed with the node's Ed25519 key: truncating the log's tail
    or rewriting it wholesale then contradicts a signature the attacker cannot forge."""

    seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    signature = models.BinaryField()
    public_key = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"
