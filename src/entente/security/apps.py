from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "entente.security"
    label = "security"
    verbose_name = _("Security kernel")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from entente.security import signals  # noqa: F401 — registers the receivers

        post_migrate.connect(_load_reference_data, sender=self)


def _load_reference_data(**kwargs: object) -> None:
    """Every database starts with the bundled UK–Japan reference data; loading is idempotent."""
    from entente.security import reference

    reference.load(reference.DEFAULT_FILES)
