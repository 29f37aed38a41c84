from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from entente.security import audit


class Command(BaseCommand):
    help = "Verify the audit chain (first broken or missing link) or sign a checkpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("verify", help="walk the chain and its signed checkpoints")
        sub.add_parser("checkpoint", help="sign the current head with the node key")

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        if verb == "checkpoint":
            with audit.source("cli"):
                point = audit.checkpoint()
            self.stdout.write(f"checkpoint at event {point.seq}: {point.hash}" if point
                              else "the audit log is empty; nothing to sign.")
            return
        result = audit.verify()
        if not result.ok:
            raise CommandError(str(result))
        self.stdout.write(str(result))
