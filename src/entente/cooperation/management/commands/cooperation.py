"""``entente cooperation``: joint projects and the joint steering panel from the command line,
acting as a named user.

    entente cooperation projects --as ben [--phase feasibility] [--lead-nation GBR] [--q TEXT]
    entente cooperation show aam --as ben
    entente cooperation propose --as ben --code aam --label 'GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN'
        --lead-nation GBR --name-en 'Air-to-air missile'
    entente cooperation add-participant aam albion --role prime --as ben
    entente cooperation shares aam --set GBR=60.00 JPN=40.00 --as ben
    entente cooperation milestone add aam --title-en 'Trade study' --due 2026-03-31 --as ben
    entente cooperation milestone done aam 12 --as ben
    entente cooperation schedule --on 2026-04-01 --place London --label 'GBR/OFFICIAL|rel=GBR,JPN'
        --as alice
    entente cooperation agenda MEETING --project aam --as alice
    entente cooperation decide ITEM --kind approve-project --as alice
    entente cooperation minutes MEETING --text-en '...' --as alice
    entente cooperation approve-minutes MEETING --as ben

Every read is a selector and every change a service, so the kernel decides (and the audit log
records) exactly as for the web and the API; ``--json`` prints what the API answers. ``--as``,
``--json``, ``--language`` and the exit statuses are :class:`entente.core.commands.DomainCommand`'s.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser
from django.utils import timezone

from entente.cooperation import api, selectors, services
from entente.cooperation.models import DecisionKind, ParticipantRole, Phase
from entente.cooperation.services import CooperationError
from entente.core.api_support import MAX_OFFSET, MAX_PAGE
from entente.core.cli_output import plain, table
from entente.core.commands import DomainCommand, Subcommand
from entente.core.models import Organisation
from entente.exchange.services import ExchangeError
from entente.security.labels import LabelSpec
from entente.security.selectors import NotFound


class Command(DomainCommand):
    help = ("Joint projects and the joint steering panel as a named user: every subcommand takes "
            "--as USERNAME, and the kernel decides and the audit log records as for the web.")
    errors = (CooperationError, ExchangeError)
    api_json = True

    def add_subcommands(self, verb: Subcommand) -> None:
        def project_verb(name: str, help: str) -> CommandParser:
            p = verb(name, help)
            p.add_argument("project", help="the project's code or id")
            return p

        day = dt.date.fromisoformat
        # ---------------------------------------------------------------- projects
        p = verb("projects", "joint projects you may view")
        p.add_argument("--phase", default="", choices=["", *Phase.values])
        p.add_argument("--lead-nation", default="")
        p.add_argument("--q", default="", help="text in the code, names or descriptions")
        p.add_argument("--offset", type=int, default=0)
        p.add_argument("--limit", type=int, default=selectors.PAGE_SIZE)
        project_verb("show", "a project with its participants, shares, milestones and guide")
        p = verb("propose", "propose a joint project (you and the panel become its members)")
        p.add_argument("--code", required=True)
        p.add_argument("--label", required=True, help="e.g. 'GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN'")
        p.add_argument("--lead-nation", required=True)
        for field in ("name-en", "name-ja", "description-en", "description-ja"):
            p.add_argument(f"--{field}", default="")
        project_verb("participants", "organisations taking part in a project")
        p = project_verb("add-participant", "add an organisation to a project")
        p.add_argument("organisation", metavar="ORG_CODE")
        p.add_argument("--role", required=True, choices=ParticipantRole.values)
        p = project_verb("remove-participant", "remove an organisation (its people lose access)")
        p.add_argument("organisation", metavar="ORG_CODE")
        project_verb("members", "current members of a project's need-to-know community")
        p = project_verb("add-member", "grant a person need-to-know of a project")
        p.add_argument("username")
        p.add_argument("--until", type=day, default=None, metavar="YYYY-MM-DD")
        p = project_verb("remove-member", "end a person's need-to-know of a project today")
        p.add_argument("username")
        p = project_verb("shares", "a project's cost shares; --set replaces them")
        p.add_argument("--set", dest="shares", nargs="+", default=None, metavar="NATION=PERCENT",
                       help="e.g. GBR=60.00 JPN=40.00 (must add up to 100)")
        project_verb("milestones", "a project's milestones")
        p = verb("milestone", "add a milestone to a project, or mark one done")
        p.add_argument("what", choices=["add", "done"])
        p.add_argument("project", help="the project's code or id")
        p.add_argument("milestone", nargs="?", default=None, help="the milestone's id (done)")
        p.add_argument("--title-en", default="")
        p.add_argument("--title-ja", default="")
        p.add_argument("--due", type=day, default=None, metavar="YYYY-MM-DD")
        p.add_argument("--on", dest="done_on", type=day, default=None, metavar="YYYY-MM-DD",
                       help="the day it was done (default today)")
        p = project_verb("instruction", "the programme security instruction; --text-* revises it")
        p.add_argument("--text-en", default=None)
        p.add_argument("--text-ja", default=None)
        project_verb("guide", "a project's security classification guide")
        p = project_verb("add-guide", "add a line to a project's classification guide")
        p.add_argument("--label", required=True)
        p.add_argument("--topic-en", default="")
        p.add_argument("--topic-ja", default="")
        p.add_argument("--default", dest="is_default", action="store_true",
                       help="label new project documents with it")
        project_verb("documents", "a project's documents you may view")
        p = project_verb("add-document", "a new project document, labelled from the guide")
        p.add_argument("--title-en", default="")
        p.add_argument("--title-ja", default="")
        p.add_argument("--summary-en", default="")
        p.add_argument("--summary-ja", default="")
        p.add_argument("--body-file", type=Path, required=True)
        choice = p.add_mutually_exclusive_group()
        choice.add_argument("--guide-entry", type=int, default=None)
        choice.add_argument("--label", default=None)
        project_verb("history", "a project's phase history and the panel's decisions about it")
        project_verb("contractors", "a project's companies and universities with their facility "
                                    "clearances")
        p = verb("dashboard", "projects by phase and nation, upcoming milestones, overdue actions")
        p.add_argument("--days", type=int, default=api.DASHBOARD_DAYS)
        # ---------------------------------------------------------------- the panel
        verb("panel", "the joint steering panel today")
        p = verb("meetings", "meetings of the panel you may view")
        p.add_argument("--offset", type=int, default=0)
        p.add_argument("--limit", type=int, default=selectors.PAGE_SIZE)
        p = verb("meeting", "a meeting with its agenda, decisions, actions and minutes")
        p.add_argument("meeting")
        p = verb("schedule", "schedule a meeting (co-chairs and secretary)")
        p.add_argument("--on", dest="held_on", type=day, required=True, metavar="YYYY-MM-DD")
        p.add_argument("--place", default="")
        p.add_argument("--video", dest="by_video", action="store_true")
        p.add_argument("--label", required=True)
        p = verb("attendance", "record who attended a meeting")
        p.add_argument("meeting")
        p.add_argument("usernames", nargs="*")
        p = verb("agenda", "add an agenda item to a meeting")
        p.add_argument("meeting")
        p.add_argument("--title-en", default="")
        p.add_argument("--title-ja", default="")
        p.add_argument("--project", default=None, help="the project's code or id")
        p = verb("decide", "record the panel's decision on an agenda item (moving decisions move "
                           "the project at once)")
        p.add_argument("item", help="the agenda item's id")
        p.add_argument("--kind", required=True, choices=DecisionKind.values)
        p.add_argument("--text", default="")
        p = verb("action", "record an action item of a meeting")
        p.add_argument("meeting")
        p.add_argument("--title", required=True)
        p.add_argument("--owner", required=True, metavar="USERNAME")
        p.add_argument("--due", type=day, required=True, metavar="YYYY-MM-DD")
        p.add_argument("--project", default=None)
        p = verb("close-action", "close an action as done or dropped")
        p.add_argument("action", help="the action's id")
        p.add_argument("--status", default="done", choices=["done", "dropped"])
        p = verb("minutes", "write or revise a meeting's minutes")
        p.add_argument("meeting")
        p.add_argument("--text-en", default="")
        p.add_argument("--text-ja", default="")
        p.add_argument("--label", default=None,
                       help="default: the meeting's, naming the agenda's projects' communities")
        p = verb("approve-minutes", "approve a meeting's minutes for your nation (co-chairs)")
        p.add_argument("meeting")
        p.add_argument("--revision", type=int, default=None,
                       help="the revision you read (refused if they changed since)")

    # ------------------------------------------------------------------ lookups

    def _project(self, key: str) -> Any:
        return selectors.project_for(self.user, key)

    def _person(self, username: str) -> Any:
        person = get_user_model().objects.filter(username=username).first()
        if person is None:
            raise CooperationError(f"No user '{username}'.")
        return person

    def _optional_project(self, key: str | None) -> Any:
        return self._project(key) if key is not None else None

    # ------------------------------------------------------------------ projects

    def do_projects(self, phase: str, lead_nation: str, q: str, offset: int, limit: int,
                    **_: Any) -> None:
        if not 0 <= offset <= MAX_OFFSET or not 1 <= limit <= MAX_PAGE:
            raise CooperationError(f"--offset must be between 0 and {MAX_OFFSET:,} and "
                                   f"--limit between 1 and {MAX_PAGE}.")
        filters = {"phase": phase, "lead_nation": lead_nation, "text": q}
        rows = [api.project_out(self.user, p) for p in selectors.list_projects(
            self.user, offset=offset, limit=limit, **filters)]
        count = selectors.count_projects(self.user, **filters)
        if self.as_json:
            return self.emit({"count": count, "items": rows})
        self.emit(rows, [("code", "CODE"), ("phase", "PHASE"), ("lead_nation", "LEAD"),
                         ("banner", "MARKING"), ("name_en", "NAME")])
        self.stdout.write(f"{len(rows)} of {count} project(s) you may view.")

    def do_show(self, project: str, **_: Any) -> None:
        found = self._project(project)
        data = {**api.project_detail(self.user, found),
                "participants": api.participants_of(self.user, found),
                "cost_shares": api.shares_of(self.user, found),
                "milestones": self._milestones(found),
                "guide": self._guide(found),
                "security_instruction": api.instruction_out(self.user, found)}
        if self.as_json:
            return self.emit(data)
        mark = data["banner"]
        shares = ", ".join(f"{n} {p}%" for n, p in data["cost_shares"].items()) or "(none)"
        psi = data["security_instruction"]
        lines = [mark, "", f"{found.name}  ({found.code}, {found.pk})",
                 f"phase {found.phase}; lead nation {found.lead_nation_id}; owner "
                 f"{found.owner.code}; proposed by {found.proposed_by.username}"]
        lines += [s for s in (found.description_en, found.description_ja) if s]
        lines += ["", f"Cost shares: {shares}", "", "Participants:",
                  table(plain(data["participants"]), [("organisation", "ORG"),
                                                      ("nation", "NATION"),
                                                      ("role", "ROLE"),
                                                      ("joined_on", "JOINED")]),
                  "", "Milestones:",
                  table(plain(data["milestones"]), [("id", "ID"), ("due_on", "DUE"),
                                                    ("done_on", "DONE"),
                                                    ("overdue", "OVERDUE"),
                                                    ("title_en", "TITLE")]),
                  "", "Classification guide:",
                  table(plain(data["guide"]), [("id", "ID"), ("is_default", "DEFAULT"),
                                               ("label", "LABEL"), ("topic_en", "TOPIC")]),
                  "", f"Security instruction: revision {psi['revision']}", "", mark]
        self.emit(data, text="\n".join(lines))

    def do_propose(self, code: str, label: str, lead_nation: str, **fields: Any) -> None:
        project = services.propose_project(
            actor=self.user, code=code, label=LabelSpec.parse(label), lead_nation=lead_nation,
            name_en=fields["name_en"], name_ja=fields["name_ja"],
            description_en=fields["description_en"], description_ja=fields["description_ja"])
        data = api.project_detail(self.user, project)
        self.emit(data, text=f"project {project.code} ({project.pk}) proposed "
                             f"[{data['banner']}]")

    def do_participants(self, project: str, **_: Any) -> None:
        rows = api.participants_of(self.user, self._project(project))
        self.emit(rows, [("organisation", "ORG"), ("nation", "NATION"), ("kind", "KIND"),
                         ("role", "ROLE"), ("joined_on", "JOINED"), ("name", "NAME")])

    def do_add_participant(self, project: str, organisation: str, role: str,
                           **_: Any) -> None:
        found = self._project(project)
        org = Organisation.objects.filter(code=organisation).first()
        if org is None:
            raise CooperationError(f"Unknown organisation '{organisation}'.")
        participant = services.add_participant(actor=self.user, project=found, organisation=org,
                                               role=role)
        self.emit(api.participant_out(participant),
                  text=f"{org.code} takes part in {found.code} as {role}")

    def do_remove_participant(self, project: str, organisation: str, **_: Any) -> None:
        found = self._project(project)
        participant = selectors.participant_for(self.user, found, organisation)
        services.remove_participant(actor=self.user, participant=participant)
        self.emit({"project": found.code, "removed": organisation},
                  text=f"{organisation} no longer takes part in {found.code}")

    def do_members(self, project: str, **_: Any) -> None:
        found = self._project(project)
        rows = [api.member_out(m) for m in selectors.listed(
            self.user, selectors.members_of(self.user, found), what="security.membership")]
        self.emit(rows, [("username", "USER"), ("nationality", "NATION"),
                         ("organisation", "ORG"), ("valid_until", "UNTIL")])

    def do_add_member(self, project: str, username: str, until: dt.date | None,
                      **_: Any) -> None:
        found = self._project(project)
        membership = services.add_member(actor=self.user, project=found,
                                         user=self._person(username), until=until)
        self.emit(api.member_out(membership),
                  text=f"{username} is a member of {found.code} until "
                       f"{membership.valid_until.isoformat()}")

    def do_remove_member(self, project: str, username: str, **_: Any) -> None:
        found = self._project(project)
        services.remove_member(actor=self.user, project=found, user=self._person(username))
        self.emit({"project": found.code, "removed": username},
                  text=f"{username} is no longer a member of {found.code}")

    def do_shares(self, project: str, shares: list[str] | None, **_: Any) -> None:
        found = self._project(project)
        if shares is not None:
            services.set_cost_shares(actor=self.user, project=found,
                                     shares=_parse_pairs(shares))
        data = api.shares_of(self.user, found)
        self.emit(data, text=", ".join(f"{n} {p}%" for n, p in data.items()) or "(none)")

    def _milestones(self, project: Any) -> list[dict[str, Any]]:
        today = timezone.localdate()
        return [api.milestone_out(m, today) for m in selectors.listed(
            self.user, selectors.milestones_of(self.user, project),
            what="cooperation.milestone")]

    def do_milestones(self, project: str, **_: Any) -> None:
        rows = self._milestones(self._project(project))
        self.emit(rows, [("id", "ID"), ("due_on", "DUE"), ("done_on", "DONE"),
                         ("overdue", "OVERDUE"), ("title_en", "TITLE"), ("title_ja", "")])

    def do_milestone(self, what: str, project: str, milestone: str | None, title_en: str,
                     title_ja: str, due: dt.date | None, done_on: dt.date | None,
                     **_: Any) -> None:
        found = self._project(project)
        if what == "add":
            if due is None:
                raise CooperationError("milestone add needs --due YYYY-MM-DD.")
            made = services.add_milestone(actor=self.user, project=found, due_on=due,
                                          title_en=title_en, title_ja=title_ja)
        else:
            if milestone is None:
                raise CooperationError("milestone done needs the milestone's id.")
            made = services.complete_milestone(
                actor=self.user, milestone=selectors.milestone_for(self.user, milestone, found),
                done_on=done_on)
        row = api.milestone_out(made, timezone.localdate())
        state = f"done {made.done_on.isoformat()}" if made.done_on else "open"
        self.emit(row, text=f"milestone {made.pk} of {found.code}: {made.title} "
                            f"(due {made.due_on.isoformat()}, {state})")

    def do_instruction(self, project: str, text_en: str | None, text_ja: str | None,
                       **_: Any) -> None:
        found = self._project(project)
        if text_en is not None or text_ja is not None:
            services.set_security_instruction(actor=self.user, project=found,
                                              text_en=text_en or "", text_ja=text_ja or "")
        data = api.instruction_out(self.user, found)
        text = "\n\n".join(t for t in (data["text_en"], data["text_ja"]) if t)
        self.emit(data, text=f"revision {data['revision']}\n\n{text}".rstrip())

    def _guide(self, project: Any) -> list[dict[str, Any]]:
        return [api.guide_out(self.user, e) for e in selectors.listed(
            self.user, selectors.guide_of(self.user, project), what="cooperation.guideentry")]

    def do_guide(self, project: str, **_: Any) -> None:
        self.emit(self._guide(self._project(project)),
                  [("id", "ID"), ("is_default", "DEFAULT"), ("banner", "MARKING"),
                   ("label", "LABEL"), ("topic_en", "INFORMATION"), ("topic_ja", "")])

    def do_add_guide(self, project: str, label: str, topic_en: str, topic_ja: str,
                     is_default: bool, **_: Any) -> None:
        entry = services.add_guide_entry(actor=self.user, project=self._project(project),
                                         label=LabelSpec.parse(label), topic_en=topic_en,
                                         topic_ja=topic_ja, is_default=is_default)
        self.emit(api.guide_out(self.user, entry),
                  text=f"guide entry {entry.pk}: {entry.topic} → {entry.label.canonical}")

    def do_documents(self, project: str, **_: Any) -> None:
        found = self._project(project)
        rows = [api.document_out(self.user, d) for d in selectors.documents_of(self.user, found)]
        self.emit(rows, [("id", "ID"), ("banner", "MARKING"), ("current_version", "V"),
                         ("owner", "OWNER"), ("title_en", "TITLE"), ("title_ja", "")])

    def do_add_document(self, project: str, body_file: Path, guide_entry: int | None,
                        label: str | None, **fields: Any) -> None:
        found = self._project(project)
        entry = (selectors.guide_entry_for(self.user, found, guide_entry)
                 if guide_entry is not None else None)
        try:
            body = body_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CooperationError(f"Cannot read {body_file} as UTF-8 text: {exc}") from None
        try:
            document = services.create_project_document(
                actor=self.user, project=found, guide_entry=entry,
                label=LabelSpec.parse(label) if label is not None else None,
                title_en=fields["title_en"], title_ja=fields["title_ja"],
                summary_en=fields["summary_en"], summary_ja=fields["summary_ja"], body=body)
        except NotFound:
            raise CooperationError("You may not create a document under this label (your "
                                   "clearance, nationality or communities do not cover it)."
                                   ) from None
        data = api.document_out(self.user, document)
        self.emit(data, text=f"document {document.pk} of {found.code} [{data['banner']}]")

    def do_history(self, project: str, **_: Any) -> None:
        found = self._project(project)
        data = {"phases": api.phase_history_of(self.user, found),
                "decisions": api.decisions_about(self.user, found)}
        if self.as_json:
            return self.emit(data)
        self.emit(data, text="\n".join([
            f"{found.code}: now {found.phase}", "", "Phase changes:",
            table(plain(data["phases"]), [("changed_at", "WHEN"), ("from_phase", "FROM"),
                                          ("to_phase", "TO"), ("decision", "DECISION"),
                                          ("changed_by", "BY")]),
            "", "Decisions of the panel:",
            table(plain(data["decisions"]), [("id", "ID"), ("held_on", "MEETING ON"),
                                             ("kind", "DECISION"), ("to_phase", "TO"),
                                             ("text", "TEXT")])]))

    def do_contractors(self, project: str, **_: Any) -> None:
        rows = api.contractors_of(self.user, self._project(project))
        if self.as_json:
            return self.emit(rows)
        for row in rows:
            row["clearances"] = "; ".join(f"{c['level']} ({c['site']}, until "
                                          f"{c['valid_until']})"
                                          for c in row["facility_clearances"]) or "NONE"
        self.emit(rows, [("organisation", "ORG"), ("nation", "NATION"), ("role", "ROLE"),
                         ("clearances", "FACILITY CLEARANCES")])

    def do_dashboard(self, days: int, **_: Any) -> None:
        if not 0 <= days <= api.MAX_DASHBOARD_DAYS:
            raise CooperationError(f"--days must be between 0 and {api.MAX_DASHBOARD_DAYS}.")
        data = api.dashboard_of(self.user, days)
        if self.as_json:
            return self.emit(data)
        self.emit(data, text="\n".join([
            "Projects by phase and lead nation:",
            table(plain(data["projects"]), [("lead_nation", "LEAD"), ("phase", "PHASE"),
                                            ("count", "PROJECTS")]),
            "", f"Milestones due within {days} days:",
            table(plain(data["upcoming_milestones"]), [("due_on", "DUE"),
                                                       ("project", "PROJECT"),
                                                       ("overdue", "OVERDUE"),
                                                       ("title_en", "TITLE")]),
            "", "Overdue actions:",
            table(plain(data["overdue_actions"]), [("id", "ID"), ("due_on", "DUE"),
                                                   ("owner", "OWNER"),
                                                   ("project", "PROJECT"),
                                                   ("title", "ACTION")])]))

    # ------------------------------------------------------------------ the panel

    def do_panel(self, **_: Any) -> None:
        self.emit(api.panel_of(self.user), [("role", "ROLE"), ("username", "USER"),
                                            ("nationality", "NATION"), ("name", "NAME"),
                                            ("valid_until", "UNTIL")])

    def do_meetings(self, offset: int, limit: int, **_: Any) -> None:
        if not 0 <= offset <= MAX_OFFSET or not 1 <= limit <= MAX_PAGE:
            raise CooperationError(f"--offset must be between 0 and {MAX_OFFSET:,} and "
                                   f"--limit between 1 and {MAX_PAGE}.")
        rows = [api.meeting_out(self.user, m)
                for m in selectors.list_meetings(self.user, offset=offset, limit=limit)]
        self.emit(rows, [("id", "ID"), ("held_on", "DATE"), ("place", "PLACE"),
                         ("by_video", "VIDEO"), ("banner", "MARKING")])

    def _meeting(self, meeting: Any) -> None:
        data = api.meeting_detail(self.user, meeting)
        if self.as_json:
            return self.emit(data)
        mark = data["banner"]
        where = meeting.place + (" (by video)" if meeting.by_video else "")
        lines = [mark, "", f"Steering panel, {meeting.held_on.isoformat()}, {where}  "
                           f"({meeting.pk})",
                 "Attendees: " + (", ".join(data["attendees"]) or "(not recorded)"), "",
                 "Agenda:", table(plain(data["agenda"]), [("id", "ITEM"), ("position", "#"),
                                                          ("project", "PROJECT"),
                                                          ("title_en", "TITLE"),
                                                          ("title_ja", "")]),
                 "", "Decisions:", table(plain(data["decisions"]), [
                     ("id", "ID"), ("item", "ITEM"), ("project", "PROJECT"),
                     ("kind", "DECISION"), ("to_phase", "TO"), ("text", "TEXT")]),
                 "", "Actions:", table(plain(data["actions"]), [
                     ("id", "ID"), ("due_on", "DUE"), ("status", "STATUS"),
                     ("owner", "OWNER"), ("project", "PROJECT"), ("title", "ACTION")]), ""]
        minutes = data["minutes"]
        if minutes is None:
            lines.append("Minutes: none you may read.")
        else:
            state = "FINAL" if minutes["final"] else "draft, approved by " + (
                ", ".join(a["nation"] for a in minutes["approvals"]) or "nobody yet")
            lines += [f"Minutes, revision {minutes['revision']} ({state}) "
                      f"[{minutes['banner']}]:",
                      *(t for t in (minutes["text_en"], minutes["text_ja"]) if t)]
        lines += ["", mark]
        self.emit(data, text="\n".join(lines))

    def do_meeting(self, meeting: str, **_: Any) -> None:
        self._meeting(selectors.meeting_for(self.user, meeting))

    def do_schedule(self, held_on: dt.date, place: str, by_video: bool, label: str,
                    **_: Any) -> None:
        meeting = services.schedule_meeting(actor=self.user, held_on=held_on,
                                            label=LabelSpec.parse(label), place=place,
                                            by_video=by_video)
        self._meeting(meeting)

    def do_attendance(self, meeting: str, usernames: list[str], **_: Any) -> None:
        found = selectors.meeting_for(self.user, meeting)
        services.record_attendance(actor=self.user, meeting=found,
                                   attendees=[self._person(u) for u in dict.fromkeys(usernames)])
        self._meeting(found)

    def do_agenda(self, meeting: str, title_en: str, title_ja: str, project: str | None,
                  **_: Any) -> None:
        found = selectors.meeting_for(self.user, meeting)
        item = services.add_agenda_item(actor=self.user, meeting=found, title_en=title_en,
                                        title_ja=title_ja,
                                        project=self._optional_project(project))
        self.emit(api.agenda_out(item), text=f"agenda item {item.pk}: {item.position}. "
                                             f"{item.title}")

    def do_decide(self, item: str, kind: str, text: str, **_: Any) -> None:
        decision = services.record_decision(
            actor=self.user, item=selectors.agenda_item_for(self.user, item), kind=kind,
            text=text)
        row = api.decision_out(decision)
        moved = f"; {row['project']} is now in {row['to_phase']}" if row["to_phase"] else ""
        self.emit(row, text=f"decision {decision.pk}: {kind}{moved}")

    def do_action(self, meeting: str, title: str, owner: str, due: dt.date,
                  project: str | None, **_: Any) -> None:
        found = selectors.meeting_for(self.user, meeting)
        made = services.add_action(actor=self.user, meeting=found, title=title,
                                   owner=self._person(owner), due_on=due,
                                   project=self._optional_project(project))
        self.emit(api.action_out(made, timezone.localdate()),
                  text=f"action {made.pk} for {owner}, due {due.isoformat()}: {made.title}")

    def do_close_action(self, action: str, status: str, **_: Any) -> None:
        closed = services.close_action(actor=self.user,
                                       action=selectors.action_for(self.user, action),
                                       status=status)
        self.emit(api.action_out(closed, timezone.localdate()),
                  text=f"action {closed.pk}: {closed.status}")

    def do_minutes(self, meeting: str, text_en: str, text_ja: str, label: str | None,
                   **_: Any) -> None:
        found = selectors.meeting_for(self.user, meeting)
        minutes = services.write_minutes(
            actor=self.user, meeting=found, text_en=text_en, text_ja=text_ja,
            label=LabelSpec.parse(label) if label is not None else None)
        self._minutes(minutes)

    def do_approve_minutes(self, meeting: str, revision: int | None, **_: Any) -> None:
        minutes = selectors.minutes_of(self.user, selectors.meeting_for(self.user, meeting))
        if minutes is None:
            raise NotFound
        self._minutes(services.approve_minutes(actor=self.user, minutes=minutes,
                                               revision=revision))

    def _minutes(self, minutes: Any) -> None:
        data = api.minutes_out(self.user, minutes)
        state = "final" if data["final"] else "not yet final"
        approved = ", ".join(a["nation"] for a in data["approvals"]) or "nobody"
        self.emit(data, text=f"minutes revision {data['revision']} [{data['banner']}]: "
                             f"{state}; approved by {approved}")


# ---------------------------------------------------------------------- helpers


def _parse_pairs(pairs: list[str]) -> dict[str, str]:
    shares: dict[str, str] = {}
    for pair in pairs:
        nation, sep, value = pair.partition("=")
        if not sep or not nation.strip():
            raise CooperationError(f"Give each share as NATION=PERCENT (e.g. GBR=60.00), not "
                                   f"'{pair}'.")
        if nation.strip() in shares:
            raise CooperationError(f"{nation.strip()} is given twice.")
        shares[nation.strip()] = value
    return shares
