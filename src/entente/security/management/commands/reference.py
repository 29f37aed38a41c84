from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from entente.security import reference


class Command(BaseCommand):
    help = "Load reference data (nations, markings, caveats, equivalence tables) from JSON files."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        p = sub.add_parser("load")
        p.add_argument("files", nargs="*", type=Path,
                       help="files to load in order (default: the bundled UK–Japan data)")

    def handle(self, *args: Any, verb: str, files: list[Path], **options: Any) -> None:
        try:
            loaded = reference.load(files or reference.DEFAULT_FILES)
        except reference.ReferenceDataError as exc:
            raise CommandError(str(exc)) from exc
        for path in loaded:
            self.stdout.write(f"loaded {path}")
