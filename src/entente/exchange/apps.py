from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "entente.exchange"
    label = "exchange"
    verbose_name = _("Classified information exchange")

    def ready(self) -> None:
        from entente.exchange.models import Attachment, DocumentVersion
        from entente.security import services

        # Key rotation re-wraps these data keys too (the payloads stay as they are).
        if (DocumentVersion, "body") not in services.SEALED_FIELDS:
            services.SEALED_FIELDS.append((DocumentVersion, "body"))
        if (Attachment, "envelope") not in services.ENVELOPE_FIELDS:
            services.ENVELOPE_FIELDS.append((Attachment, "envelope"))
        if (Attachment, "blob_name") not in services.BLOB_NAME_FIELDS:
            services.BLOB_NAME_FIELDS.append((Attachment, "blob_name"))
