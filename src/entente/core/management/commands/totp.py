from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from entente import demo


class Command(BaseCommand):
    help = "Print the current TOTP code of a DEMO user (their seeds are public)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", choices=[u.username for u in demo.USERS])

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            self.stdout.write(demo.current_code(username))
        except StopIteration:
            raise CommandError(f"{username} is not a demo user.") from None
