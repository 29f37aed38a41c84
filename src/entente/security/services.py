"""Kernel actions that change state: each runs in one transaction and leaves an audit event."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import models, transaction

from entente.core.models import Organisation
from entente.security import audit, crypto
from entente.security.keystore import keyring
from entente.security.labels import LabelSpec, make_label
from entente.security.models import SampleRecord

# Every (model, field) holding a crypto.Sealed value, and every one holding the bare
# crypto.Envelope of a payload stored elsewhere (security.blobs); key rotation walks them all.
# Apps register theirs in AppConfig.ready().
SEALED_FIELDS: list[tuple[type[models.Model], str]] = [(SampleRecord, "body")]
ENVELOPE_FIELDS: list[tuple[type[models.Model], str]] = []
# Every (model, field) naming a file of the blob store; a file no row names is an orphan.
BLOB_NAME_FIELDS: list[tuple[type[models.Model], str]] = []


def blob_referenced(name: str) -> bool:
    return any(model._default_manager.filter(**{field: name}).exists()
               for model, field in BLOB_NAME_FIELDS)


def binding(obj: models.Model) -> bytes:
    """Associated data for a record's ciphertext: its label and identity. A changed label or a
    ciphertext moved to another record no longer decrypts."""
    return f"{obj.label.canonical}\n{obj._meta.label_lower}:{obj.pk}".encode()  # type: ignore[attr-defined]


def seal_for(obj: models.Model, plaintext: bytes) -> bytes:
    nation = obj.label.originator_id  # type: ignore[attr-defined]
    return crypto.seal(keyring(), nation, plaintext, binding(obj)).to_bytes()


def open_for(obj: models.Model, blob: bytes) -> bytes:
    return crypto.open_sealed(keyring(), crypto.Sealed.from_bytes(bytes(blob)), binding(obj))


@transaction.atomic
def create_sample_record(*, actor: Any, owner: Organisation, title: str, body: str,
                         label: LabelSpec, label_applied_on: dt.date | None = None
                         ) -> SampleRecord:
    record = SampleRecord(owner=owner, title=title,
                          label=make_label(label, applied_on=label_applied_on))
    record.body = seal_for(record, body.encode())
    record.save(force_insert=True)
    audit.record("record.create", actor=actor, obj=record, allowed=True,
                 detail={"label": record.label.canonical})
    return record


def rotate_keys(nation: str, *, actor: Any = None) -> dict[str, int]:
    """Make a new key-encryption key for the nation current and re-wrap every data key under it.
    Payloads are not re-encrypted: only the small wrapped keys change."""
    ring = keyring()
    new_kek = ring.create_kek(nation)
    # On record before the work, so a rotation that dies half-way is still visible in the log.
    audit.record("keys.rotate.start", actor=actor, object_type="kek", object_id=new_kek,
                 allowed=True)
    counts: dict[str, int] = {}
    for model, field in SEALED_FIELDS + ENVELOPE_FIELDS:
        bare = (model, field) in ENVELOPE_FIELDS
        rewrapped = 0
        manager = model._default_manager
        pks = manager.filter(label__originator_id=nation).values_list("pk", flat=True)
        for pk in pks.iterator(chunk_size=500):
            with transaction.atomic():
                # Locked and re-read: a concurrent change to the row is not overwritten.
                obj = manager.select_for_update().select_related("label").get(pk=pk)
                raw = bytes(getattr(obj, field))
                sealed = None if bare else crypto.Sealed.from_bytes(raw)
                envelope = crypto.Envelope.from_bytes(raw) if sealed is None else sealed.envelope
                if envelope.kek_id == new_kek:
                    continue
                envelope = crypto.rewrap(ring, envelope, binding(obj), new_kek)
                fresh = (envelope.to_bytes() if sealed is None
                         else dataclasses.replace(sealed, envelope=envelope).to_bytes())
                manager.filter(pk=obj.pk).update(**{field: fresh})
                rewrapped += 1
        counts[model._meta.label_lower] = rewrapped
    audit.record("keys.rotate", actor=actor, object_type="kek", object_id=new_kek, allowed=True,
                 detail={"rewrapped": counts})
    return counts
