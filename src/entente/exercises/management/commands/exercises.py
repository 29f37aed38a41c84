"""``entente exercises``: joint exercises, their planning, staff and academic exchanges and the
calendar, acting as a named user.

    entente exercises exercises --as USER [--state S] [--kind K] [--lead-nation N] [--q TEXT]
                                [--from D] [--until D] [--offset N] [--limit N]
    entente exercises show CODE --as USER
    entente exercises propose --as PLANNER --code pacific-shield --kind hadr --lead-nation GBR
        --label 'GBR/OFFICIAL|rel=GBR,JPN' --starts 2026-06-01 --ends 2026-06-10
        --name-en 'Pacific Shield' [--name-ja …] [--objectives-en …] [--objectives-ja …]
        [--location 'Camp Fuji@JPN' …] [--unit 'GBR:3 Commando Brigade:250:2 landing craft' …]
    entente exercises advance CODE --to approved --as PARTNER_PLANNER [--note N]
    entente exercises advance CODE --to completed --lessons-file lessons.txt --as PLANNER
    entente exercises cancel CODE --reason R --as PLANNER
    entente exercises milestone CODE --kind main --due D --owner USERNAME --as PLANNER
                                [--title T] [--place P]
    entente exercises milestone-done CODE MILESTONE_ID --as PLANNER
    entente exercises overdue --as USER
    entente exercises exchanges --as USER [--state S] [--kind staff|academic] [--from D]
                                [--until D]
    entente exercises request-exchange --as USER --kind staff --host ORG --site S --from D
        --until D --purpose P --level JPN/HI --label 'GBR/OFFICIAL|rel=GBR,JPN' [--exercise CODE]
    entente exercises calendar --as USER --from D --until D [--ics FILE]

Every read is a selector and every change a service, so the kernel decides (and the audit log
records) exactly as for the web and the API; ``--json`` prints what the API answers. ``--as``,
``--json``, ``--language`` and the exit statuses are :class:`entente.core.commands.DomainCommand`'s.
``calendar --ics`` writes the iCalendar export: unclassified events only, as the API's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from entente.core.api_support import MAX_OFFSET, MAX_PAGE
from entente.core.cli_output import plain, table
from entente.core.commands import DomainCommand, Subcommand
from entente.exercises import api, selectors, services
from entente.exercises.models import (
    ExchangeKind,
    Exercise,
    ExerciseKind,
    ExerciseState,
    MilestoneKind,
)
from entente.exercises.services import ExerciseError, UnitSpec
from entente.industry.models import VisitState
from entente.security import reference
from entente.security.labels import LabelSpec
from entente.security.selectors import NotFound


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExerciseError(f"'{text}' is not a date (YYYY-MM-DD).") from None


def _optional_day(text: str | None) -> dt.date | None:
    return _day(text) if text else None


def _location(text: str) -> tuple[str, str | None]:
    """NAME or NAME@NATION."""
    name, at, nation = text.rpartition("@")
    return (name, nation.strip().upper() or None) if at else (text, None)


def _unit(text: str) -> UnitSpec:
    """NATION:UNIT:PERSONNEL[:EQUIPMENT] (the equipment may hold colons)."""
    parts = text.split(":", 3)
    if len(parts) < 3:
        raise ExerciseError(f"--unit '{text}' is not NATION:UNIT:PERSONNEL[:EQUIPMENT].")
    return UnitSpec(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else "")


class Command(DomainCommand):
    help = ("Joint exercises, staff and academic exchanges and their calendar as a named user: "
            "every subcommand takes --as USERNAME, and the kernel decides and the audit log "
            "records as for the web.")
    errors = (ExerciseError,)
    api_json = True

    def add_subcommands(self, verb: Subcommand) -> None:
        def exercise_verb(name: str, help: str) -> Any:
            p = verb(name, help)
            p.add_argument("exercise", metavar="CODE", help="the exercise's code or id")
            return p

        # ---------------------------------------------------------------- exercises
        p = verb("exercises", "joint exercises you may view")
        p.add_argument("--state", default="", choices=["", *ExerciseState.values])
        p.add_argument("--kind", default="", choices=["", *ExerciseKind.values])
        p.add_argument("--lead-nation", default="")
        p.add_argument("--q", default="", help="text in the code, names or objectives")
        p.add_argument("--from", dest="during_from", default=None, metavar="YYYY-MM-DD",
                       help="exercises with a day on or after this one")
        p.add_argument("--until", dest="during_until", default=None, metavar="YYYY-MM-DD",
                       help="exercises with a day on or before this one")
        p.add_argument("--offset", type=int, default=0)
        p.add_argument("--limit", type=int, default=selectors.PAGE_SIZE)
        exercise_verb("show", "one exercise with its planning, as you may see it")
        p = verb("propose", "propose a joint exercise (exercise planners)")
        p.add_argument("--code", required=True)
        p.add_argument("--kind", required=True, choices=ExerciseKind.values)
        p.add_argument("--lead-nation", required=True)
        p.add_argument("--label", required=True, help="e.g. 'GBR/OFFICIAL|rel=GBR,JPN'")
        p.add_argument("--starts", required=True, metavar="YYYY-MM-DD")
        p.add_argument("--ends", required=True, metavar="YYYY-MM-DD")
        for field in ("name-en", "name-ja", "objectives-en", "objectives-ja"):
            p.add_argument(f"--{field}", default="")
        p.add_argument("--location", dest="locations", action="append", default=[],
                       metavar="NAME[@NATION]", help="repeat for each location")
        p.add_argument("--unit", dest="units", action="append", default=[],
                       metavar="NATION:UNIT:PERSONNEL[:EQUIPMENT]",
                       help="repeat for each participating unit")
        p = exercise_verb("advance", "move the exercise to its next state (exercise planners)")
        p.add_argument("--to", dest="to_state", required=True,
                       choices=[s for s in ExerciseState.values if s != ExerciseState.PROPOSED])
        p.add_argument("--note", default="")
        p.add_argument("--lessons-file", type=Path, default=None,
                       help="the lessons-learned report (UTF-8 text), to complete it")
        p = exercise_verb("cancel", "cancel the exercise before it completes")
        p.add_argument("--reason", required=True)
        # ---------------------------------------------------------------- milestones
        p = exercise_verb("milestone", "add a planning conference or other milestone")
        p.add_argument("--kind", required=True, choices=MilestoneKind.values)
        p.add_argument("--due", required=True, metavar="YYYY-MM-DD")
        p.add_argument("--owner", required=True, metavar="USERNAME",
                       help="who answers for it; they must be able to read the exercise")
        p.add_argument("--title", default="")
        p.add_argument("--place", default="")
        p = exercise_verb("milestone-done", "mark a milestone done today")
        p.add_argument("milestone", metavar="MILESTONE_ID")
        verb("overdue", "milestones not done by their date, of open exercises you may view")
        # ---------------------------------------------------------------- exchanges
        p = verb("exchanges", "staff and academic exchanges you take part in")
        p.add_argument("--state", default="", choices=["", *VisitState.values])
        p.add_argument("--kind", default="", choices=["", *ExchangeKind.values])
        p.add_argument("--from", dest="during_from", default=None, metavar="YYYY-MM-DD")
        p.add_argument("--until", dest="during_until", default=None, metavar="YYYY-MM-DD")
        p.add_argument("--limit", type=int, default=selectors.PAGE_SIZE)
        p = verb("request-exchange", "ask for an exchange posting at an organisation of the "
                                     "other nation")
        p.add_argument("--kind", required=True, choices=ExchangeKind.values)
        p.add_argument("--host", required=True, metavar="ORG_CODE")
        p.add_argument("--site", required=True)
        p.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD")
        p.add_argument("--until", dest="last_day", required=True, metavar="YYYY-MM-DD")
        p.add_argument("--purpose", required=True)
        p.add_argument("--level", required=True, help="a marking of the host nation's scheme")
        p.add_argument("--label", required=True,
                       help="the request's label, e.g. 'GBR/OFFICIAL|rel=GBR,JPN'")
        p.add_argument("--exercise", default="", metavar="CODE",
                       help="the exercise the exchange serves")
        # ---------------------------------------------------------------- calendar
        p = verb("calendar", "exercises, milestones and exchanges between two days")
        p.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
        p.add_argument("--until", dest="end", required=True, metavar="YYYY-MM-DD")
        p.add_argument("--ics", type=Path, default=None, metavar="FILE",
                       help="write the iCalendar export here (unclassified events only)")

    # ------------------------------------------------------------------ lookups

    def _exercise(self, key: str) -> Exercise:
        return selectors.exercise_for(self.user, key)

    # ------------------------------------------------------------------ exercises

    def do_exercises(self, state: str, kind: str, lead_nation: str, q: str,
                     during_from: str | None, during_until: str | None, offset: int,
                     limit: int, **_: Any) -> None:
        if not 0 <= offset <= MAX_OFFSET or not 1 <= limit <= MAX_PAGE:
            raise ExerciseError(f"--offset must be between 0 and {MAX_OFFSET:,} and "
                                f"--limit between 1 and {MAX_PAGE}.")
        filters = {"state": state, "kind": kind, "lead_nation": lead_nation.strip().upper(),
                   "text": q, "during_from": _optional_day(during_from),
                   "during_until": _optional_day(during_until)}
        protection = reference.protection(timezone.localdate())
        rows = [api.exercise_row(self.user, e, protection) for e in selectors.list_exercises(
            self.user, offset=offset, limit=limit, **filters)]
        count = selectors.count_exercises(self.user, **filters)
        if self.as_json:
            return self.emit({"count": count, "items": rows})
        self.emit(rows, [("code", "CODE"), ("state", "STATE"), ("kind", "TYPE"),
                         ("lead_nation", "LEAD"), ("starts_on", "FROM"), ("ends_on", "UNTIL"),
                         ("banner", "MARKING"), ("name_en", "NAME")])
        self.stdout.write(f"{len(rows)} of {count} exercise(s) you may view.")

    def do_show(self, exercise: str, **_: Any) -> None:
        found = self._exercise(exercise)
        data = api.exercise_detail(self.user, found)
        if self.as_json:
            return self.emit(data)
        mark = data["banner"]
        personnel = ", ".join(f"{n} {p}" for n, p in data["personnel"].items()) or "(none)"
        lines = [mark, "", f"{found.name}  ({found.code}, {found.pk})",
                 f"{found.get_kind_display()}; {found.starts_on} to {found.ends_on}; lead "
                 f"nation {found.lead_nation_id}",
                 f"state {found.state}" + (f" (next: {data['next_state']})"
                                           if data["next_state"] else "")
                 + f"; owner {data['owner']}; proposed by {data['proposed_by']}"]
        lines += [s for s in (found.objectives_en, found.objectives_ja) if s]
        lines += ["", "Locations:",
                  table(plain(data["locations"]), [("name", "LOCATION"), ("nation", "COUNTRY")]),
                  "", f"Participating units (personnel: {personnel}):",
                  table(plain(data["units"]), [("nation", "NATION"), ("unit", "UNIT"),
                                               ("personnel", "PERSONNEL"),
                                               ("equipment", "EQUIPMENT")]),
                  "", "Milestones:",
                  table(plain(data["milestones"]), [("id", "ID"), ("due_on", "DUE"),
                                                    ("heading", "MILESTONE"),
                                                    ("owner", "OWNER"), ("place", "PLACE"),
                                                    ("done_on", "DONE"),
                                                    ("overdue", "OVERDUE")]),
                  "", "History:",
                  table(plain(data["history"]), [("on", "ON"), ("state", "STATE"),
                                                 ("by", "BY"), ("note", "NOTE")])]
        if data["conference_visits"]:
            lines += ["", "Requests for visit to its conferences:",
                      table(plain([{**c["visit"], "milestone": c["milestone"]}
                                   for c in data["conference_visits"]]),
                            [("milestone", "MILESTONE"), ("id", "VISIT"),
                             ("visitor", "VISITOR"), ("host", "HOST"), ("state", "STATE")])]
        if data["exchanges"]:
            lines += ["", "Exchanges:",
                      table(plain(data["exchanges"]), [("id", "VISIT"),
                                                       ("exchange_kind", "KIND"),
                                                       ("visitor", "PERSON"), ("host", "HOST"),
                                                       ("first_day", "FROM"),
                                                       ("last_day", "UNTIL"),
                                                       ("state", "STATE")])]
        if data["lessons_learned"]:
            lines += ["", "Lessons learned:", data["lessons_learned"]]
        lines += ["", mark]
        self.emit(data, text="\n".join(lines))

    def do_propose(self, code: str, kind: str, lead_nation: str, label: str, starts: str,
                   ends: str, locations: list[str], units: list[str], **fields: Any) -> None:
        exercise = services.propose_exercise(
            self.user, code=code, label=LabelSpec.parse(label), kind=kind,
            lead_nation=lead_nation.strip().upper(), starts_on=_day(starts), ends_on=_day(ends),
            name_en=fields["name_en"], name_ja=fields["name_ja"],
            objectives_en=fields["objectives_en"], objectives_ja=fields["objectives_ja"],
            locations=[_location(x) for x in locations], units=[_unit(u) for u in units])
        data = api.exercise_detail(self.user, exercise)
        self.emit(data, text=f"exercise {exercise.code} ({exercise.pk}) proposed "
                             f"[{data['banner']}]")

    def do_advance(self, exercise: str, to_state: str, note: str, lessons_file: Path | None,
                   **_: Any) -> None:
        found = self._exercise(exercise)
        lessons = ""
        if lessons_file is not None:
            try:
                lessons = lessons_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ExerciseError(f"Cannot read {lessons_file} as UTF-8 text: {exc}") from None
        moved = services.advance(self.user, found, to_state, note=note,
                                 lessons_learned=lessons)
        data = api.exercise_detail(self.user, moved)
        self.emit(data, text=f"exercise {moved.code}: {moved.state}")

    def do_cancel(self, exercise: str, reason: str, **_: Any) -> None:
        cancelled = services.cancel_exercise(self.user, self._exercise(exercise), reason)
        data = api.exercise_detail(self.user, cancelled)
        self.emit(data, text=f"exercise {cancelled.code}: {cancelled.state}")

    # ------------------------------------------------------------------ milestones

    def do_milestone(self, exercise: str, kind: str, due: str, owner: str, title: str,
                     place: str, **_: Any) -> None:
        found = self._exercise(exercise)
        # None for an unknown username: refused exactly as someone who may not read the exercise.
        person = get_user_model().objects.filter(username=owner).first()
        milestone = services.add_milestone(self.user, found, kind=kind, due_on=_day(due),
                                           owner=person, title=title, place=place)
        row = api.milestone_row(milestone, found.state)
        self.emit(row, text=f"milestone {row['id']} of {found.code}: {row['heading']} on "
                            f"{row['due_on']}, owner {row['owner']}")

    def do_milestone_done(self, exercise: str, milestone: str, **_: Any) -> None:
        found = self._exercise(exercise)
        done = services.complete_milestone(self.user, api.milestone_of(self.user, found,
                                                                       milestone))
        row = api.milestone_row(done, found.state)
        self.emit(row, text=f"milestone {row['id']} of {found.code} done on {row['done_on']}")

    def do_overdue(self, **_: Any) -> None:
        today = timezone.localdate()
        rows = [api.overdue_row(m, today) for m in selectors.listed(
            self.user, selectors.overdue_milestones(self.user, today),
            what="exercises.planningmilestone")]
        self.emit(rows, [("exercise", "EXERCISE"), ("id", "ID"), ("due_on", "DUE"),
                         ("heading", "MILESTONE"), ("owner", "OWNER")])

    # ------------------------------------------------------------------ exchanges

    def do_exchanges(self, state: str, kind: str, during_from: str | None,
                     during_until: str | None, limit: int, **_: Any) -> None:
        if not 1 <= limit <= MAX_PAGE:
            raise ExerciseError(f"--limit must be between 1 and {MAX_PAGE}.")
        shown = selectors.listed(self.user, selectors.visible_exchanges(
            self.user, state=state, kind=kind, during_from=_optional_day(during_from),
            during_until=_optional_day(during_until)), what="exercises.staffexchange",
            limit=limit)
        self.emit(api.exchange_rows(self.user, shown),
                  [("id", "ID"), ("exchange_kind", "KIND"), ("visitor", "PERSON"),
                   ("home", "HOME"), ("host", "HOST"), ("site", "SITE"),
                   ("first_day", "FROM"), ("last_day", "UNTIL"), ("level", "LEVEL"),
                   ("exercise", "EXERCISE"), ("state", "STATE")])

    def do_request_exchange(self, kind: str, host: str, site: str, first_day: str,
                            last_day: str, purpose: str, level: str, label: str, exercise: str,
                            **_: Any) -> None:
        spec = LabelSpec.parse(label)
        serves = None
        if exercise:
            try:
                serves = self._exercise(exercise)
            except NotFound:
                raise ExerciseError("No exercise you may view has this code.") from None
        try:
            exchange = services.request_exchange(
                self.user, kind=kind, host=api.host_organisation(host), site=site,
                first_day=_day(first_day), last_day=_day(last_day), purpose=purpose,
                level=level, label=spec, exercise=serves)
        except NotFound:
            raise ExerciseError(api.CANNOT_LABEL) from None
        [row] = api.exchange_rows(self.user, [exchange])
        self.emit(row, text=f"exchange {row['id']}: {row['exchange_kind']} at {row['host']} "
                            f"({row['site']}), {row['first_day']} to {row['last_day']}: "
                            f"{row['state']} [{row['banner']}]")

    # ------------------------------------------------------------------ calendar

    def do_calendar(self, start: str, end: str, ics: Path | None, **_: Any) -> None:
        first, last = _day(start), _day(end)
        if ics is not None:
            return self._export(first, last, ics)
        try:
            events = selectors.calendar(self.user, first, last)
        except ValueError as exc:
            raise ExerciseError(str(exc)) from None
        protection = reference.protection(timezone.localdate())
        self.emit([api.event_row(self.user, e, protection) for e in events],
                  [("first_day", "FROM"), ("last_day", "UNTIL"), ("what", "WHAT"),
                   ("title", "TITLE"), ("banner", "MARKING"), ("overdue", "OVERDUE")])

    def _export(self, first: dt.date, last: dt.date, ics: Path) -> None:
        try:
            data = selectors.ics(self.user, first, last)
        except ValueError as exc:
            raise ExerciseError(str(exc)) from None
        try:
            ics.write_bytes(data)
        except OSError as exc:
            raise ExerciseError(f"Cannot write {ics}: {exc}") from None
        count = data.count(b"BEGIN:VEVENT")
        self.emit({"file": str(ics), "events": count},
                  text=f"{count} unclassified event(s) written to {ics}")
