from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "entente.logistics"
    verbose_name = _("Logistics: acquisition and cross-servicing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_load_agreement_terms, sender=self)


def _load_agreement_terms(**kwargs: object) -> None:
    """Every database starts with the bundled UK–Japan ACSA terms; loading is idempotent. The
    kernel's reference data (nations) is loaded first: security comes before logistics."""
    from entente.logistics import terms

    terms.load(terms.DEFAULT_FILES)
