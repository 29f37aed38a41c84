"""The base of the ``entente <app>`` domain commands (``exchange``, ``cooperation``, ``industry``
and the ones to come): who acts, how it prints, how a refusal ends. One place, so every domain
command takes the same options and fails the same way."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from entente.core.cli_output import Columns, jsonable, plain, table
from entente.security import audit
from entente.security.labels import LabelError
from entente.security.selectors import NotFound

NOT_FOUND = "Not found."

Subcommand = Callable[[str, str], CommandParser]  # verb(name, help) -> that subcommand's parser


class DomainCommand(BaseCommand):
    """A domain's command line, every subcommand run as a named user.

    What every subclass gets:

    - the options ``--as USERNAME`` (required), ``--json`` and ``--language en|ja`` on every
      subcommand; an unknown user prints "No user 'x'." and exits 2;
    - ``self.user`` (the acting user) and ``self.nation`` (their nationality's code, or None);
    - dispatch: subcommand ``add-thing`` runs ``self.do_add_thing(**options)``, with each
      option under its ``dest`` name (take ``**_`` for the rest), inside
      ``translation.override(--language)`` and ``audit.source("cli")``;
    - refusals: :class:`NotFound` prints "Not found." and exits 1 (a missing id and a forbidden
      one alike); ``LabelError`` and the exceptions in ``errors`` print their message and exit 2;
      anything else is a bug and keeps its traceback;
    - ``self.emit(data, columns)`` for a table, ``self.emit(data, text=...)`` for text: under
      ``--json`` both print ``data`` as JSON instead.

    A subclass sets ``errors`` to its domain's exceptions, declares its subcommands in
    ``add_subcommands`` and writes one ``do_<name>`` per subcommand (a declared subcommand without
    its method is refused when the parser is built)::

        # entente/logistics/management/commands/logistics.py
        from entente.core.commands import DomainCommand, Subcommand

        class Command(DomainCommand):
            help = "Supplies and services as a named user: every subcommand takes --as USERNAME."
            errors = (LogisticsError,)                  # message printed, exit status 2

            def add_subcommands(self, verb: Subcommand) -> None:
                p = verb("orders", "orders you may view")        # entente logistics orders --as ben
                p.add_argument("--state", default="")
                p = verb("fill-order", "record an order as filled")  # runs do_fill_order
                p.add_argument("order")
                p.add_argument("--note", default="")

            def do_orders(self, state: str, **_: Any) -> None:
                rows = [{"id": str(o.pk), "state": o.state}
                        for o in selectors.orders_for(self.user, state=state)]
                self.emit(rows, [("id", "ID"), ("state", "STATE")])

            def do_fill_order(self, order: str, note: str, **_: Any) -> None:
                found = selectors.order_for(self.user, order)   # NotFound: "Not found.", exit 1
                filled = services.fill_order(actor=self.user, order=found, note=note)
                self.emit({"id": str(filled.pk), "state": filled.state},
                          text=f"order {filled.pk}: {filled.state}")

    Set ``api_json = True`` when ``data`` are the app's API answers, holding dates, times, UUIDs
    and Decimals: ``--json`` and the tables then show them as the API's JSON does
    (:func:`entente.core.cli_output.jsonable`), and ``--json`` says so in its help. By default
    JSON has ``str()`` of anything it has no type for, and tables show values as they are.
    """

    #: The domain's refusals (besides ``LabelError``): message printed, exit status 2.
    errors: ClassVar[tuple[type[Exception], ...]] = ()
    #: ``data`` given to :meth:`emit` are API answers (see the class's docstring).
    api_json: ClassVar[bool] = False

    def add_subcommands(self, verb: Subcommand) -> None:
        """Declare the subcommands: ``p = verb(name, help)``, then ``p.add_argument(...)``."""
        raise NotImplementedError(f"{type(self).__module__} declares no subcommands")

    def add_arguments(self, parser: CommandParser) -> None:
        common = CommandParser(add_help=False)
        common.add_argument("--as", dest="actor", required=True, metavar="USERNAME",
                            help="act as this user; the kernel decides as for the web")
        common.add_argument("--json", dest="as_json", action="store_true",
                            help="machine-readable output (what the API answers)"
                            if self.api_json else "machine-readable output")
        common.add_argument("--language", default="en", choices=["en", "ja"],
                            help="language of error messages")
        sub = parser.add_subparsers(dest="verb", required=True)

        def verb(name: str, help: str) -> CommandParser:
            if not callable(getattr(self, _method(name), None)):
                raise TypeError(f"{type(self).__module__}: subcommand '{name}' needs a method "
                                f"{_method(name)}")
            return sub.add_parser(name, parents=[common], help=help)

        self.add_subcommands(verb)

    def handle(self, *args: Any, verb: str, actor: str, as_json: bool, language: str,
               **options: Any) -> None:
        self.as_json = as_json
        user = get_user_model().objects.filter(username=actor).first()
        if user is None:
            raise CommandError(f"No user '{actor}'.", returncode=2)
        self.user, self.nation = user, getattr(user, "nationality_id", None)
        action: Callable[..., None] = getattr(self, _method(verb))
        refusals: tuple[type[Exception], ...] = (*self.errors, LabelError)
        with translation.override(language), audit.source("cli"):
            try:
                action(**options)
            except NotFound:
                raise CommandError(NOT_FOUND, returncode=1) from None
            except refusals as exc:
                raise CommandError(str(exc), returncode=2) from None

    def emit(self, data: Any, columns: Columns | None = None, text: str = "") -> None:
        """``data`` as JSON under ``--json``; else a table of it if ``columns``, else ``text``."""
        if self.as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2,
                                         default=jsonable if self.api_json else str))
        elif columns is not None:
            self.stdout.write(table(plain(data) if self.api_json else data, columns))
        else:
            self.stdout.write(text)


def _method(verb: str) -> str:
    return "do_" + verb.replace("-", "_")
