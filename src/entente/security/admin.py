from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from entente.security.models import (
    AuditCheckpoint,
    AuditEvent,
    Caveat,
    Classification,
    Community,
    Equivalence,
    EquivalenceTable,
    Label,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through their own service (or never): shown, not edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Classification)
class ClassificationAdmin(ReadOnlyAdmin):
    list_display = ["nation", "code", "name_en", "name_ja", "level", "requires_clearance",
                    "retired_on"]
    list_filter = ["nation"]


class EquivalenceInline(admin.TabularInline):
    model = Equivalence
    fields = ("source", "target", "effective_from")
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EquivalenceTable)
class EquivalenceTableAdmin(ReadOnlyAdmin):
    list_display = ["version", "effective_from", "title", "loaded_at"]
    inlines = [EquivalenceInline]


class ImmutableIdentityAdmin(admin.ModelAdmin):
    """Names may be corrected; what labels rely on (code, who satisfies it) may not change once
    created. Deletion of one in use is refused by the database (PROTECT)."""

    identity_fields: tuple[str, ...] = ("code",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.identity_fields if obj is not None else ()


@admin.register(Caveat)
class CaveatAdmin(ImmutableIdentityAdmin):
    list_display = ["code", "name_en", "name_ja", "eyes_only"]
    identity_fields = ("code", "eyes_only")


@admin.register(Community)
class CommunityAdmin(ImmutableIdentityAdmin):
    list_display = ["code", "name_en", "name_ja"]
    search_fields = ["code", "name_en", "name_ja"]


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = ["canonical", "created_at"]
    search_fields = ["canonical"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor", "action", "object_type", "object_id", "allowed",
                    "source"]
    list_filter = ["action", "allowed"]
    search_fields = ["actor", "object_id"]


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["seq", "hash", "at"]
