"""The ``entente`` command: Django's management commands under the product's name.

    entente demo                      migrate, load reference and demo data, serve on :8000
    entente audit verify              check the audit chain and its signed checkpoints
    entente keys rotate --nation GBR  new key-encryption key; re-wrap data keys
    entente access explain USER OBJ   the kernel's decision and its reason
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] == "demo":
        # The demo runs over plain HTTP on loopback with a throw-away key; nothing else does.
        os.environ.setdefault("ENTENTE_DEBUG", "1")
        os.environ.setdefault("ENTENTE_INSECURE_COOKIES", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entente.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
