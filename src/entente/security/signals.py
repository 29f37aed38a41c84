"""Changes made through the admin (clearances, memberships, reference data) are audited too."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save
from django.dispatch import receiver

from entente.security import audit


@receiver(post_save, sender=LogEntry)
def audit_admin_change(sender: type[LogEntry], instance: LogEntry, created: bool,
                       **kwargs: Any) -> None:
    if not created:
        return
    model = (ContentType.objects.get_for_id(instance.content_type_id).model_class()
             if instance.content_type_id else None)
    audit.record(f"admin.{ {1: 'add', 2: 'change', 3: 'delete'}.get(instance.action_flag, 'other') }",
                 actor=instance.user, object_type=model._meta.label_lower if model else "",
                 object_id=str(instance.object_id or ""), allowed=True,
                 detail={"repr": instance.object_repr, "change": instance.get_change_message()})
