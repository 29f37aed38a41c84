"""Federation: the partner nodes this node knows, and the packages it sent and received.

Each nation runs its own node (database, keys, users). A partner is known only after its
security authority's identity file has been imported here; packages travel between nodes
signed, encrypted for the recipient node and receipted (``federation.package``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from entente.core.models import Nation
from entente.federation.package import PackageKind


class Partner(models.Model):
    """Another nation's node, as its identity file described it when it was imported."""

    nation = models.OneToOneField(Nation, on_delete=models.PROTECT, primary_key=True,
                                  related_name="+", verbose_name=_("nation"))
    name = models.CharField(_("node name"), max_length=200)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True)
    signing_key = models.CharField(max_length=64, editable=False)  # Ed25519, raw, hex
    agreement_key = models.CharField(max_length=64, editable=False)  # X25519, raw, hex
    tls_certificate = models.TextField(editable=False)  # PEM, pinned
    endpoint = models.CharField(_("endpoint"), max_length=300, blank=True,
                                help_text=_("https://host:port of its node; empty: packages "
                                            "travel only as files."))
    identity_sha256 = models.CharField(max_length=64, editable=False)
    imported_at = models.DateTimeField(_("imported"))
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, related_name="+")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["nation_id"]
        verbose_name = _("partner node")

    def __str__(self) -> str:
        return f"{self.nation_id} ({self.name})"


class OutboundState(models.TextChoices):
    QUEUED = "queued", _("Waiting to be delivered")
    RECEIPTED = "receipted", _("Delivered and receipted")
    REFUSED = "refused", _("Refused by the partner")


class OutboundPackage(models.Model):
    """A package this node wrote for a partner: the outbox, then the record of its receipt.

    The package file (already encrypted for the partner's node) waits in the outbox directory
    until the partner's signed receipt arrives; delivery is retried with back-off meanwhile."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="sent")
    kind = models.CharField(_("kind"), max_length=20, choices=PackageKind.choices)
    transmission = models.ForeignKey("exchange.Transmission", on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="packages")
    subject_id = models.CharField(max_length=80, blank=True)  # the request a package is about
    created_at = models.DateTimeField(_("created"))
    size = models.BigIntegerField(_("size in bytes"))
    header_sha256 = models.CharField(max_length=64, unique=True)
    state = models.CharField(_("state"), max_length=12, choices=OutboundState.choices,
                             default=OutboundState.QUEUED)
    attempts = models.PositiveIntegerField(_("delivery attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    exported_at = models.DateTimeField(_("exported for courier"), null=True, blank=True)
    receipt = models.BinaryField(null=True, editable=False)
    receipt_sha256 = models.CharField(max_length=64, blank=True)
    receipted_at = models.DateTimeField(_("receipted"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_due")]
        verbose_name = _("package sent")

    def __str__(self) -> str:
        return f"{self.kind} {self.id} → {self.partner_id} ({self.state})"

    @property
    def file_name(self) -> str:
        return f"{self.id.hex}.pkg"


class InboundPackage(models.Model):
    """A package this node accepted, and the receipt it answered with. The package id is the
    primary key, so a package is stored once however often it is delivered."""

    id = models.UUIDField(primary_key=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="received")
    kind = models.CharField(_("kind"), max_length=20, choices=PackageKind.choices)
    header_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created by the sender"))
    received_at = models.DateTimeField(_("received"))
    channel = models.CharField(_("channel"), max_length=10)  # "https" or "file"
    transmission = models.ForeignKey("exchange.Transmission", on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    subject_id = models.CharField(max_length=80, blank=True)
    receipt = models.BinaryField(editable=False)
    receipt_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-received_at", "id"]
        verbose_name = _("package received")

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ← {self.partner_id}"
