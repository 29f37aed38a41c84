"""Classified information exchanged under the Information Security Agreement.

A ``Document`` is what users find and list; its content lives in immutable ``DocumentVersion``s.
Every version carries the label its content was sealed under (content is bound to that label and
the version's id as associated data), so an approved downgrade or release creates a new version
with the new label and the old one stays, unchanged and readable under its own label, in the
history. ``Document.label`` is always the label of its current version.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from entente.core.models import Organisation
from entente.security.models import Label, Protected


class Document(Protected):
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    title_ja = models.CharField(_("title (Japanese)"), max_length=300, blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    summary_ja = models.TextField(_("summary (Japanese)"), blank=True)
    current_version = models.PositiveIntegerField(_("current version"), default=1)
    compromised = models.BooleanField(_("flagged by a loss or compromise report"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(title_en="") | ~Q(title_ja=""),
                                              name="document_has_a_title")]
        indexes = [models.Index(fields=["-updated_at", "id"], name="document_listing")]
        verbose_name = _("document")

    def __str__(self) -> str:
        return self.title_en or self.title_ja

    @property
    def title(self) -> str:
        return self.title_en or self.title_ja


class DocumentVersion(Protected):
    """One version of a document; written once, never changed or deleted."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    body = models.BinaryField(_("encrypted body"), editable=False)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"],
                                               name="unique_document_version")]
        verbose_name = _("document version")

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"


class Attachment(Protected):
    """A file of a version, stored encrypted outside the database (security.blobs)."""

    version = models.ForeignKey(DocumentVersion, on_delete=models.PROTECT,
                                related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=120, default="application/octet-stream")
    size = models.BigIntegerField(_("size in bytes"))
    sha256 = models.CharField(max_length=64)
    blob_name = models.CharField(max_length=80, unique=True, editable=False)
    envelope = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "filename"]
        verbose_name = _("attachment")

    def __str__(self) -> str:
        return self.filename


class Channel(models.TextChoices):
    IN_SYSTEM = "in_system", _("Within Entente")
    COURIER = "courier", _("Diplomatic or military courier")
    SECURE_NETWORK = "secure_network", _("Approved secure network")
    HAND = "hand", _("By hand")


class Transmission(models.Model):
    """Documents sent to an organisation of the other nation: the record both sides keep.

    Self-contained on purpose (ids, versions, labels and content hashes are copied into its items,
    not only referenced), so a later federation issue can carry it between two national
    installations as a signed package and the receiving side can check it without our database."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    sender_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                            related_name="+")
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                  related_name="transmissions_received")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent"))
    acknowledged_at = models.DateTimeField(_("receipt acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-sent_at", "id"]
        verbose_name = _("transmission")

    def __str__(self) -> str:
        return f"{self.sender_organisation} → {self.recipient} ({self.sent_at:%Y-%m-%d})"


class TransmissionItem(models.Model):
    transmission = models.ForeignKey(Transmission, on_delete=models.PROTECT, related_name="items")
    version = models.ForeignKey(DocumentVersion, on_delete=models.PROTECT, related_name="+")
    # Copies, so the record stands on its own (see Transmission).
    document_id_copy = models.UUIDField()
    version_number = models.PositiveIntegerField()
    label_canonical = models.CharField(max_length=512)
    content_sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["transmission", "version"],
                                               name="unique_transmission_item")]

    def __str__(self) -> str:
        return f"{self.document_id_copy} v{self.version_number}"


class RequestState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class OriginatorRequest(models.Model):
    """Something only the originator nation's security authority may grant."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=12, choices=RequestState.choices,
                             default=RequestState.SUBMITTED)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    # The label the document had when asked, and the one it got when approved.
    from_label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="+")
    result_label = models.ForeignKey(Label, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    # A request that travels between nodes (the document was received from the originator's
    # node): which content the requester holds (``version_digest``), so that the originator
    # approves a new label for exactly that content, and who asked, by name, on the other node.
    held_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    requested_by_name = models.CharField(_("requested by"), max_length=200, blank=True,
                                         editable=False)

    kind: str  # "release" or "downgrade", set by each kind of request

    class Meta:
        abstract = True
        ordering = ["-requested_at"]

    @property
    def target(self) -> str:
        """What is asked for: the nation to release to, or the new marking."""
        raise NotImplementedError


class ReleaseRequest(OriginatorRequest):
    """Release to a third nation (beyond the label's releasable-to list)."""

    kind = "release"

    to_nation = models.ForeignKey("core.Nation", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("release to"))

    class Meta(OriginatorRequest.Meta):
        verbose_name = _("release request")

    def __str__(self) -> str:
        return f"release {self.document_id} to {self.to_nation_id} ({self.state})"

    @property
    def target(self) -> str:
        return str(self.to_nation_id)


class DowngradeRequest(OriginatorRequest):
    """A lower marking of the originator's scheme, or declassification (no marking needed)."""

    kind = "downgrade"

    to_classification = models.ForeignKey("security.Classification", on_delete=models.PROTECT,
                                          related_name="+", verbose_name=_("new marking"))

    class Meta(OriginatorRequest.Meta):
        verbose_name = _("downgrade request")

    def __str__(self) -> str:
        return f"downgrade {self.document_id} ({self.state})"

    @property
    def target(self) -> str:
        return self.to_classification.key


class InvestigationStatus(models.TextChoices):
    REPORTED = "reported", _("Reported")
    INVESTIGATING = "investigating", _("Under investigation")
    CLOSED = "closed", _("Closed")


class Outcome(models.TextChoices):
    PENDING = "", _("Pending")
    NO_COMPROMISE = "no_compromise", _("No compromise")
    COMPROMISE_CONFIRMED = "confirmed", _("Compromise confirmed")
    LOSS_CONFIRMED = "lost", _("Loss confirmed")
    RECOVERED = "recovered", _("Recovered")


class LossReport(models.Model):
    """A suspected loss or compromise. Both nations' security authorities are notified."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    documents = models.ManyToManyField(Document, related_name="loss_reports")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    reported_at = models.DateTimeField(auto_now_add=True)
    description = models.TextField(_("what happened"))
    status = models.CharField(_("status"), max_length=16, choices=InvestigationStatus.choices,
                              default=InvestigationStatus.REPORTED)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True,
                               default=Outcome.PENDING)
    findings = models.TextField(_("findings"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-reported_at"]
        verbose_name = _("loss or compromise report")

    def __str__(self) -> str:
        return f"loss report {self.pk} ({self.status})"


class Notification(models.Model):
    """An item in an organisation's inbox. It names what happened, never a title a member of the
    organisation might not be allowed to see: the text is generic and the link goes through the
    kernel like any other read."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="notifications")
    kind = models.CharField(max_length=40)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_type}:{self.object_id}"


class Holding(models.Model):
    """A line of an organisation's register of classified holdings."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="holdings")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="holdings")
    version_number = models.PositiveIntegerField()
    held_since = models.DateTimeField()
    transmission = models.ForeignKey(Transmission, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="holdings")

    class Meta:
        ordering = ["organisation", "document", "-version_number"]
        constraints = [models.UniqueConstraint(fields=["organisation", "document",
                                                       "version_number"],
                                               name="unique_holding")]

    def __str__(self) -> str:
        return f"{self.organisation_id} holds {self.document_id} v{self.version_number}"
from entente.exchange.search_models import *  # noqa: E402,F403  — search index models
