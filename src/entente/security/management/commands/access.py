from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from entente.security import audit
from entente.security.kernel import Action, decide


class Command(BaseCommand):
    help = ("Explain the kernel's decision: entente access explain USER OBJECT [--action view], "
            "where OBJECT is app.model:id (for example security.samplerecord:<uuid>).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        p = sub.add_parser("explain")
        p.add_argument("username")
        p.add_argument("object")
        p.add_argument("--action", default="view", choices=[a.value for a in Action])
        p.add_argument("--language", default="en", choices=["en", "ja"])

    def handle(self, *args: Any, username: str, object: str, action: str, language: str,
               **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user '{username}'.")
        label, sep, pk = object.partition(":")
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            raise CommandError(f"'{label}' is not a model; use app.model:id.") from None
        if not sep or not hasattr(model, "label"):
            raise CommandError("OBJECT must be app.model:id of a labelled record.")
        try:
            obj = model.objects.select_related("label").get(pk=pk)
        except (model.DoesNotExist, ValueError, Exception) as exc:
            raise CommandError(f"No {label} with id '{pk}'.") from exc
        with audit.source("cli"):
            decision = decide(user, Action(action), obj)
        verdict = "ALLOW" if decision.allowed else "DENY"
        self.stdout.write(f"{verdict} {action} {label}:{pk} for {username} [{decision.rule}]")
        self.stdout.write(decision.reason(language))
