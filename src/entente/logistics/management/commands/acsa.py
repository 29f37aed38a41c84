"""``entente acsa``: the operator's jobs for the ACSA ledger, not acting as any user.

    entente acsa load-terms [FILE ...]      # an agreement's terms (default: the bundled UK–Japan)
    entente acsa flag-overdue [--on DAY]    # tell both sides of orders not settled in time; daily

Everything a person does is ``entente logistics ... --as USER``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from entente.logistics import services, terms
from entente.security import audit


class Command(BaseCommand):
    help = "Operator's jobs for the ACSA ledger: load agreement terms, flag overdue settlements."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        p = sub.add_parser("load-terms", help="load agreement terms from JSON files")
        p.add_argument("files", nargs="*", type=Path,
                       help="files to load in order (default: the bundled UK–Japan terms)")
        p = sub.add_parser("flag-overdue",
                           help="tell both sides of each order not settled by its deadline")
        p.add_argument("--on", default=None, help="the day to judge by, YYYY-MM-DD (today)")

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        if verb == "load-terms":
            try:
                loaded = terms.load(options["files"] or terms.DEFAULT_FILES)
            except terms.TermsError as exc:
                raise CommandError(str(exc)) from exc
            for path in loaded:
                self.stdout.write(f"loaded {path}")
            return
        on = None
        if options["on"]:
            try:
                on = dt.date.fromisoformat(options["on"])
            except ValueError:
                raise CommandError(f"'{options['on']}' is not a date (YYYY-MM-DD).") from None
        with audit.source("cli"):
            flagged = services.flag_overdue(on)
        for order in flagged:
            self.stdout.write(f"{order.number}: settlement was due by {order.settle_by}")
        self.stdout.write(f"{len(flagged)} order(s) flagged as overdue")
