from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExercisesConfig(AppConfig):
    name = "entente.exercises"
    verbose_name = _("Joint training, exercises and exchanges")
    default_auto_field = "django.db.models.BigAutoField"
