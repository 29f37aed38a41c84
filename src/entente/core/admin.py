from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from entente.core.models import Nation, Organisation, RoleGrant, User
from entente.security.models import CaveatGrant, Clearance, FacilityClearance, Membership


@admin.register(Nation)
class NationAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_ja"]


class FacilityClearanceInline(admin.TabularInline):
    model = FacilityClearance
    fk_name = "organisation"
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_ja", "nation", "kind"]
    list_filter = ["nation", "kind"]
    search_fields = ["code", "name_en", "name_ja"]
    inlines = [FacilityClearanceInline]


class RoleInline(admin.TabularInline):
    model = RoleGrant
    extra = 0


class ClearanceInline(admin.TabularInline):
    model = Clearance
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


class CaveatGrantInline(admin.TabularInline):
    model = CaveatGrant
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "nationality", "organisation", "is_active"]
    list_filter = ["nationality", "is_active"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Nationality and organisation"), {"fields": ("nationality", "organisation")}),
    )
    inlines = [RoleInline, ClearanceInline, MembershipInline, CaveatGrantInline]
