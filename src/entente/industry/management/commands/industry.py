"""``entente industry``: facility clearances and requests for visit, acting as a named user.

    entente industry facilities --as USER [--nation JPN]
    entente industry organisation ORG_CODE --as USER
    entente industry grant ORG_CODE --as SO --site S --level SECRET [--storage SECRET]
                                    [--from YYYY-MM-DD] --until YYYY-MM-DD
    entente industry revoke FACILITY_ID --as SO [--reason R]
    entente industry visits --as USER [--state S] [--kind K] [--host ORG] [--site S] [--mine]
    entente industry request-visit --as USER --host ORG --site S --kind one_time
                                   --from D --until D --purpose P --level JPN/HI
                                   --label 'GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN' [--project CODE]
                                   [--emergency-reason R]
    entente industry visit ID --as USER
    entente industry assure ID --as SO
    entente industry approve ID --as SO [--note N]
    entente industry refuse ID --as SO --reason R
    entente industry withdraw ID --as USER
    entente industry by-day --as USER [--from D] [--until D] [--host ORG] [--site S]

Every read is a selector and every change a service, so the kernel decides (and the audit log
records) exactly as for the web. ``--as``, ``--json``, ``--language`` and the exit statuses are
:class:`entente.core.commands.DomainCommand`'s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from entente.core.cli_output import when
from entente.core.commands import DomainCommand, Subcommand
from entente.core.models import Organisation
from entente.industry import selectors, services
from entente.industry.api import facility_row, visit_row
from entente.industry.models import VisitKind, VisitRequest, VisitState
from entente.industry.services import IndustryError
from entente.security import reference
from entente.security.labels import LabelSpec
from entente.security.selectors import NotFound


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise IndustryError(f"'{text}' is not a date (YYYY-MM-DD).") from None


class Command(DomainCommand):
    help = ("Facility security clearances and requests for visit as a named user: every "
            "subcommand takes --as USERNAME, and the kernel decides and the audit log records "
            "as for the web.")
    errors = (IndustryError,)

    def add_subcommands(self, verb: Subcommand) -> None:
        p = verb("facilities", "the register of facility clearances valid today")
        p.add_argument("--nation", default="")
        p = verb("organisation", "an organisation's facility clearances, current and ended")
        p.add_argument("organisation", metavar="ORG_CODE")
        p = verb("grant", "grant a facility clearance (its nation's security authority)")
        p.add_argument("organisation", metavar="ORG_CODE")
        p.add_argument("--site", required=True)
        p.add_argument("--level", required=True, help="a marking of the organisation's nation")
        p.add_argument("--storage", default=None, help="storage up to (default: none)")
        p.add_argument("--from", dest="valid_from", default=None, help="YYYY-MM-DD (today)")
        p.add_argument("--until", dest="valid_until", required=True, help="YYYY-MM-DD")
        p = verb("revoke", "revoke a facility clearance: it ends yesterday")
        p.add_argument("facility", metavar="FACILITY_ID")
        p.add_argument("--reason", default="")
        p = verb("visits", "requests for visit you take part in")
        p.add_argument("--state", default="", choices=["", *VisitState.values])
        p.add_argument("--kind", default="", choices=["", *VisitKind.values])
        p.add_argument("--host", default="", metavar="ORG_CODE")
        p.add_argument("--site", default="")
        p.add_argument("--mine", action="store_true", help="only your own requests")
        p.add_argument("--limit", type=int, default=selectors.PAGE_SIZE)
        p = verb("request-visit", "ask to visit a site of the other nation")
        p.add_argument("--host", required=True, metavar="ORG_CODE")
        p.add_argument("--site", required=True)
        p.add_argument("--kind", required=True, choices=VisitKind.values)
        p.add_argument("--from", dest="first_day", required=True, help="YYYY-MM-DD")
        p.add_argument("--until", dest="last_day", required=True, help="YYYY-MM-DD")
        p.add_argument("--purpose", required=True)
        p.add_argument("--level", required=True, help="a marking of the host nation's scheme")
        p.add_argument("--label", required=True,
                       help="the request's label, e.g. 'GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN'")
        p.add_argument("--project", default="", help="code of the project the visit is for")
        p.add_argument("--emergency-reason", default="")
        p = verb("visit", "one request for visit")
        p.add_argument("visit")
        p = verb("assure", "assure the visitor's clearance (their nation's security authority)")
        p.add_argument("visit")
        p = verb("approve", "approve an assured request (the host nation's security authority)")
        p.add_argument("visit")
        p.add_argument("--note", default="")
        p = verb("review", "review an approved recurring visit for another year (the host "
                           "nation's security authority)")
        p.add_argument("visit")
        p = verb("refuse", "refuse a request (the host nation's security authority)")
        p.add_argument("visit")
        p.add_argument("--reason", required=True)
        p = verb("withdraw", "withdraw your request before it is decided")
        p.add_argument("visit")
        p = verb("by-day", "approved visits for each day, by host and site")
        p.add_argument("--from", dest="first", default=None, help="YYYY-MM-DD (today)")
        p.add_argument("--until", dest="last", default=None, help="YYYY-MM-DD (from + 13 days)")
        p.add_argument("--host", default="", metavar="ORG_CODE")
        p.add_argument("--site", default="")

    # ------------------------------------------------------------------ output

    def _visit_data(self, visit: VisitRequest, project: Any = None,
                    protection: Any = None) -> dict[str, Any]:
        row = visit_row(visit, self.nation, project, protection)
        return {**row, "id": str(visit.pk), "first_day": visit.first_day.isoformat(),
                "last_day": visit.last_day.isoformat(),
                "requested_at": when(visit.requested_at), "assured_at": when(visit.assured_at),
                "assured_until": (visit.assured_until.isoformat() if visit.assured_until
                                  else None),
                "decided_at": when(visit.decided_at),
                "approved_until": (visit.approved_until.isoformat() if visit.approved_until
                                   else None)}

    def _visit(self, visit: VisitRequest) -> None:
        data = self._visit_data(visit, selectors.project_of(self.user, visit))
        if self.as_json:
            return self.emit(data)
        lines = [data["banner"], "",
                 f"request for visit {data['id']}: {data['state']}",
                 f"visitor   {data['visitor']} ({data['visitor_nation']}, "
                 f"{data['visitor_organisation']})",
                 f"host      {data['host']} — {data['site']}",
                 f"kind      {data['kind']}, {data['first_day']} to {data['last_day']}",
                 f"level     {data['level']}",
                 f"purpose   {data['purpose']}"]
        if data["emergency_reason"]:
            lines.append(f"emergency {data['emergency_reason']}")
        if data["project"]:
            lines.append(f"project   {data['project']}")
        if data["assured_by"]:
            lines.append(f"assured   {data['assured_level']} until {data['assured_until']} "
                         f"by {data['assured_by']}, {data['assured_at']}")
        if data["decided_at"]:
            by = f" by {data['decided_by']}" if data["decided_by"] else ""
            lines.append(f"decided   {data['decided_at']}{by}"
                         + (f": {data['reason']}" if data["reason"] else ""))
        if data["approved_until"]:
            lines.append(f"approved  until {data['approved_until']}")
        lines += ["", data["banner"]]
        self.emit(data, text="\n".join(lines))

    # ------------------------------------------------------------------ facility clearances

    def _facilities(self, rows: list[Any]) -> None:
        data = [{**facility_row(f), "valid_from": f.valid_from.isoformat(),
                 "valid_until": f.valid_until.isoformat()} for f in rows]
        self.emit(data, [("id", "ID"), ("organisation", "ORGANISATION"), ("site", "SITE"),
                         ("level", "CLEARED TO"), ("storage_level", "STORAGE"),
                         ("valid_from", "FROM"), ("valid_until", "UNTIL"),
                         ("valid_today", "VALID")])

    def do_facilities(self, nation: str, **_: Any) -> None:
        self._facilities(selectors.facility_register(self.user, nation=nation))

    def do_organisation(self, organisation: str, **_: Any) -> None:
        found = selectors.organisation_for(self.user, organisation)
        self._facilities(selectors.facilities_of(self.user, found))

    def do_grant(self, organisation: str, site: str, level: str, storage: str | None,
                 valid_from: str | None, valid_until: str, **_: Any) -> None:
        found = selectors.organisation_for(self.user, organisation)
        facility = services.grant_facility_clearance(
            self.user, found, site, level, storage or None,
            _day(valid_from) if valid_from else None, _day(valid_until))
        row = facility_row(facility)
        self.emit(row, text=f"facility clearance {row['id']}: {row['organisation']} "
                            f"({row['site']}) cleared to {row['level']} until "
                            f"{row['valid_until']}")

    def do_revoke(self, facility: str, reason: str, **_: Any) -> None:
        found = selectors.facility_for(self.user, facility)
        revoked = services.revoke_facility_clearance(self.user, found, reason)
        row = facility_row(revoked)
        self.emit(row, text=f"facility clearance {row['id']} revoked: it ended on "
                            f"{row['valid_until']}")

    # ------------------------------------------------------------------ requests for visit

    def do_visits(self, state: str, kind: str, host: str, site: str, mine: bool, limit: int,
                  **_: Any) -> None:
        if not 1 <= limit <= 200:
            raise IndustryError("--limit must be between 1 and 200.")
        where = selectors.VisitFilter(state=state, kind=kind, host=host, site=site, mine=mine)
        protection = reference.protection(timezone.localdate())
        visits = selectors.list_visits(self.user, where, limit=limit)
        projects = selectors.projects_of(self.user, visits)
        rows = [self._visit_data(v, projects.get(v.project_id), protection) for v in visits]
        self.emit(rows, [("id", "ID"), ("banner", "MARKING"), ("visitor", "VISITOR"),
                         ("host", "HOST"), ("site", "SITE"), ("first_day", "FROM"),
                         ("last_day", "UNTIL"), ("level", "LEVEL"), ("state", "STATE")])

    def do_request_visit(self, host: str, site: str, kind: str, first_day: str, last_day: str,
                         purpose: str, level: str, label: str, project: str,
                         emergency_reason: str, **_: Any) -> None:
        organisation = Organisation.objects.filter(code=host).first()
        if organisation is None:
            raise IndustryError(f"Unknown organisation '{host}'.")
        spec = LabelSpec.parse(label)
        chosen = None
        if project:
            try:
                chosen = selectors.project_by_key(self.user, project)
            except NotFound:
                raise IndustryError("No project you may view has this code.") from None
        try:
            visit = services.request_visit(
                self.user, host=organisation, site=site, kind=kind,
                first_day=_day(first_day), last_day=_day(last_day), purpose=purpose,
                level=level, label=spec, project=chosen, emergency_reason=emergency_reason)
        except NotFound:
            raise IndustryError("You may not make a request under this label (your clearance, "
                                "nationality or communities do not cover it).") from None
        self._visit(visit)

    def do_visit(self, visit: str, **_: Any) -> None:
        self._visit(selectors.visit_for(self.user, visit))

    def do_assure(self, visit: str, **_: Any) -> None:
        found = selectors.visit_for(self.user, visit)
        self._visit(services.assure_visit(self.user, found))

    def do_approve(self, visit: str, note: str, **_: Any) -> None:
        found = selectors.visit_for(self.user, visit)
        self._visit(services.approve_visit(self.user, found, note))

    def do_review(self, visit: str, **_: Any) -> None:
        found = selectors.visit_for(self.user, visit)
        self._visit(services.review_visit(self.user, found))

    def do_refuse(self, visit: str, reason: str, **_: Any) -> None:
        found = selectors.visit_for(self.user, visit)
        self._visit(services.refuse_visit(self.user, found, reason))

    def do_withdraw(self, visit: str, **_: Any) -> None:
        found = selectors.visit_for(self.user, visit)
        self._visit(services.withdraw_visit(self.user, found))

    def do_by_day(self, first: str | None, last: str | None, host: str, site: str,
                  **_: Any) -> None:
        start = _day(first) if first else timezone.localdate()
        end = _day(last) if last else min(start, dt.date.max - dt.timedelta(days=13)) \
            + dt.timedelta(days=13)
        days = selectors.approved_by_day(self.user, start, end, host=host, site=site)
        protection = reference.protection(timezone.localdate())
        if self.as_json:
            projects = selectors.projects_of(
                self.user, list({v.pk: v for d in days for s in d.sites for v in s.visits}
                                .values()))
            return self.emit([{"day": d.day.isoformat(),
                               "sites": [{"host": s.host.code, "site": s.site,
                                          "visits": [self._visit_data(
                                              v, projects.get(v.project_id), protection)
                                              for v in s.visits]} for s in d.sites]}
                              for d in days])
        rows = [{"day": d.day.isoformat(), "host": s.host.code, "site": s.site,
                 "visitor": v.visitor.username, "nation": v.visitor.nationality_id,
                 "level": v.level.key, "id": str(v.pk)}
                for d in days for s in d.sites for v in s.visits]
        self.emit(rows, [("day", "DAY"), ("host", "HOST"), ("site", "SITE"),
                         ("visitor", "VISITOR"), ("nation", "NATION"), ("level", "LEVEL"),
                         ("id", "ID")])
