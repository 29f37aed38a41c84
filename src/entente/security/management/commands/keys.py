from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from entente.core.models import Nation
from entente.security import audit
from entente.security.keystore import keyring
from entente.security.services import rotate_keys


class Command(BaseCommand):
    help = "Manage key-encryption keys: init (create if missing) or rotate (re-wrap data keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        for verb in ("init", "rotate"):
            p = sub.add_parser(verb)
            p.add_argument("--nation", action="append",
                           help="ISO alpha-3 code; repeat for several (default: every nation)")

    def handle(self, *args: Any, verb: str, nation: list[str] | None, **options: Any) -> None:
        nations = nation or list(Nation.objects.values_list("code", flat=True))
        unknown = set(nations) - set(Nation.objects.values_list("code", flat=True))
        if unknown:
            raise CommandError(f"Unknown nation(s): {', '.join(sorted(unknown))}.")
        ring = keyring()
        with audit.source("cli"):
            for code in nations:
                if verb == "init":
                    if not ring.kek_ids(code):
                        self.stdout.write(f"{code}: created {ring.create_kek(code)}")
                    else:
                        self.stdout.write(f"{code}: current {ring.current_kek_id(code)}")
                    continue
                counts = rotate_keys(code)
                total = sum(counts.values())
                self.stdout.write(f"{code}: now {ring.current_kek_id(code)}; "
                                  f"re-wrapped {total} data keys ({counts})")
