"""Forms of the federation pages. They only collect input: whether an identity file, a package, a
receipt or a transfer log is acceptable is for ``federation.services`` to say, and the views
show what it says on the form that was sent."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from entente.federation.models import OutboundState

# Signed documents (identity files, receipts) are small; a transfer log lists every package
# ever exchanged with a partner, so it may be larger (the API takes as much).
MAX_IDENTITY_BYTES = 1_000_000
MAX_RECEIPT_BYTES = 1_000_000
MAX_LOG_BYTES = 64_000_000


class PartnerImportForm(forms.Form):
    identity = forms.FileField(label=_("Identity file"),
                               help_text=_("The partner node's identity file (.json), as its "
                                           "security authority sent it."))
    fingerprint = forms.CharField(
        label=_("Fingerprint"), max_length=200,
        help_text=_("As the partner's security authority read it out to you over a separate "
                    "channel (at least the first 32 hexadecimal digits; spaces do not matter)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    replace_keys = forms.BooleanField(
        label=_("Replace the keys of a partner already known"), required=False,
        help_text=_("Only when the partner's security authority has told you its node has new "
                    "keys."))


class PackageFileForm(forms.Form):
    package = forms.FileField(label=_("Package file"),
                              help_text=_("A .pkg file that came on courier media."))


class ReceiptFileForm(forms.Form):
    receipt = forms.FileField(label=_("Receipt file"),
                              help_text=_("The partner node's signed receipt of a package this "
                                          "node sent as a file."))


class LogFileForm(forms.Form):
    log = forms.FileField(label=_("The partner's transfer log"),
                          help_text=_("The signed log file the partner's security authority "
                                      "sent you."))


class SentFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("Any state")), *OutboundState.choices])


def read_upload(upload: Any, limit: int) -> bytes | None:
    """An uploaded file's bytes (it arrives encrypted: ``EncryptingUploadHandler``), or None if
    it is larger than ``limit``."""
    with upload.plaintext() as stream:
        data: bytes = stream.read(limit + 1)
    return None if len(data) > limit else data
