from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from entente.api import api

# The admin asks for the same TOTP-verified session as every other page.
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", include("entente.core.urls")),
    path("", include("entente.security.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
