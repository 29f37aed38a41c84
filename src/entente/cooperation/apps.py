from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CooperationConfig(AppConfig):
    name = "entente.cooperation"
    verbose_name = _("Defence equipment and technology cooperation")
    default_auto_field = "django.db.models.BigAutoField"
