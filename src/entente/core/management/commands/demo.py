from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from entente import demo


class Command(BaseCommand):
    help = "Migrate, load reference and demo data, print the demo sign-ins, and serve the site."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="prepare data, do not serve")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args: Any, no_serve: bool, addrport: str, **options: Any) -> None:
        from django.conf import settings

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("keys", "init", stdout=self.stdout)
        created = demo.seed()
        self.stdout.write("Demo data " + ("created." if created else "already present."))
        self.stdout.write(f"\nEvery demo user's password: {demo.DEMO_PASSWORD}")
        self.stdout.write("TOTP seeds (base32, for an authenticator app); "
                          "`entente totp USER` prints the current code:")
        for user in demo.USERS:
            clearance = user.clearance or "no clearance"
            if user.clearance_expired:
                clearance += " (EXPIRED)"
            self.stdout.write(f"  {user.username:<7} {user.nation} {user.organisation:<13} "
                              f"{clearance:<22} {user.totp_seed_base32}")
        if not no_serve:
            self.stdout.write(f"\nServing on http://{addrport}/  (Ctrl-C to stop)\n")
            call_command("runserver", addrport, use_reloader=False)
