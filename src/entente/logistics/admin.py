"""The agreement's terms are reference data: shown read-only here, changed only by loading a terms
file (``entente logistics load-terms``), so that every database holds what the file says.

Orders, their ledger and settlements are not in the admin, on purpose: they are protected
records, and the admin would show them without the kernel's decision and without an audited read.
Exchange rates are recorded through ``logistics.services.record_rate`` (audited, never changed).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from entente.logistics.models import Activity, Agreement, Category, Currency, SettlementTerm


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActivityInline(admin.TabularInline):
    model = Activity
    fields = ["code", "name_en", "name_ja"]
    readonly_fields = ["code", "name_en", "name_ja"]
    extra = 0
    can_delete = False


class CategoryInline(admin.TabularInline):
    model = Category
    fields = ["code", "name_en", "name_ja", "eligible"]
    readonly_fields = ["code", "name_en", "name_ja", "eligible"]
    extra = 0
    can_delete = False


class TermInline(admin.TabularInline):
    model = SettlementTerm
    fields = ["method", "days"]
    readonly_fields = ["method", "days"]
    extra = 0
    can_delete = False


@admin.register(Agreement)
class AgreementAdmin(ReadOnly):
    list_display = ["code", "name_en", "in_force_from"]
    inlines = [ActivityInline, CategoryInline, TermInline]


@admin.register(Currency)
class CurrencyAdmin(ReadOnly):
    list_display = ["code", "name_en", "name_ja", "minor_units"]
