from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndustryConfig(AppConfig):
    name = "entente.industry"
    verbose_name = _("Industry security: facility clearances and visits")
    default_auto_field = "django.db.models.BigAutoField"
