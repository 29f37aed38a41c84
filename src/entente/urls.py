from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from entente.api import api

# The admin asks for the same TOTP-verified session as every other page.
admin.site.__class__ = OTPAdminSite
# Bulk deletion writes its log entries in one bulk insert, which the audit hook cannot see;
# one object at a time, every deletion is audited.
admin.site.disable_action("delete_selected")

urlpatterns = [
    path("", include("entente.core.urls")),
    path("", include("entente.security.urls")),
    path("", include("entente.exchange.urls")),
    path("", include("entente.cooperation.urls")),
    path("", include("entente.industry.urls")),
    path("", include("entente.logistics.urls")),
    path("", include("entente.exercises.urls")),
    path("", include("entente.federation.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
