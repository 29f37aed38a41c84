"""Actions of industry security. Each runs in one ``audit.atomic()`` transaction, asks the kernel,
and is audited: what was done, and every refusal of who may do it (kept through the rollback).

Errors a person can act on are ``IndustryError`` with a message in the active language; a record
the actor may not see is ``NotFound`` (security.selectors), never a hint that it exists.

Who decides what:
  * a facility security clearance is granted and revoked by a security officer of the national
    security authority of the organisation's own nation;
  * a request for visit is made by the visitor (a person of one nation, to a site of an
    organisation of the other); their own nation's security authority confirms their clearance
    (clearance assurance); the host nation's security authority approves or refuses, and the host
    organisation is told of an approval through its inbox.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from entente.core.models import Organisation
from entente.exchange.services import notify, security_authorities
from entente.industry.models import VisitKind, VisitRequest, VisitState
from entente.security import audit, kernel, reference
from entente.security.kernel import Action
from entente.security.labels import LabelSpec, make_label
from entente.security.models import Classification, Clearance, FacilityClearance
from entente.security.selectors import NotFound, require


class IndustryError(ValueError):
    """A request that cannot be done as asked; the message says why, for the person asking."""


# The longest visit of each kind, in days (first and last day included). An emergency visit is a
# one-time visit arranged at short notice, so it has the same limit.
MAX_DAYS: dict[str, int] = {VisitKind.ONE_TIME: 30, VisitKind.EMERGENCY: 30,
                            VisitKind.RECURRING: 366,
                            # an exchange posting: up to three years, reviewed every year
                            VisitKind.EXCHANGE: 3 * 365 + 1}
# Recurring visits for a project may last for the life of the project, reviewed every year.
# A project has no end date on record, so "its life" is bounded at five years.
PROJECT_RECURRING_MAX_DAYS = 5 * 365 + 1
APPROVAL_DAYS = 365  # how long one approval (or one yearly review) holds


def _today() -> dt.date:
    return timezone.localdate()


def authority_nation(user: Any, on: dt.date | None = None) -> str | None:
    """The nation whose national security authority the user acts for (a security officer of it,
    of its nationality), else None. The kernel's own definition, so the two never disagree."""
    return kernel.Subject.of(user, on).authority_for


def parties(user: Any) -> Q:
    """Who takes part in a request for visit, as a filter: the visitor; the visitor's
    organisation (its owner); the security authority of the visitor's nation and that of the host
    nation; and, once it is approved (it is then informed), the host organisation. Everyone else
    is not told of it, whatever their clearance. The kernel's label check comes on top."""
    if not (getattr(user, "pk", None) and getattr(user, "is_active", False)):
        return Q(pk__in=[])
    org = getattr(user, "organisation_id", None)
    who = Q(visitor_id=user.pk)
    if org is not None:
        who |= Q(owner_id=org) | Q(host_id=org, state=VisitState.APPROVED)
    if nation := authority_nation(user):
        who |= Q(visitor__nationality_id=nation) | Q(host__nation_id=nation)
    return who


def _marking(nation: str, value: Classification | str, on: dt.date) -> Classification:
    """A current marking of ``nation``'s scheme, given as a row, ``CODE`` or ``NATION/CODE``."""
    if isinstance(value, Classification):
        marking: Classification | None = value if value.nation_id == nation else None
        shown = value.key
    else:
        text = str(value).strip()
        prefix, sep, code = text.rpartition("/")
        shown = text
        marking = None
        if not sep or prefix == nation:
            marking = Classification.objects.filter(nation_id=nation, code=code).first()
    if marking is None:
        raise IndustryError(_("'%(marking)s' is not a marking of %(nation)s's scheme.")
                            % {"marking": shown, "nation": nation})
    if marking.retired_on is not None and marking.retired_on <= on:
        raise IndustryError(_("%(key)s was retired on %(day)s and cannot be used any more.")
                            % {"key": marking.key, "day": marking.retired_on.isoformat()})
    return marking


def _refuse(action: str, actor: Any, message: str, *, obj: Any = None, object_type: str = "",
            object_id: str = "", detail: dict[str, Any] | None = None) -> IndustryError:
    """Audit a refusal (kept even though the transaction rolls back) and return the error."""
    audit.record(action, actor=actor, obj=obj, object_type=object_type, object_id=object_id,
                 allowed=False, reason=message, detail=detail)
    return IndustryError(message)


# --------------------------------------------------------------------------- facility clearances


def _require_authority_for(actor: Any, organisation: Organisation, action: str,
                           obj: Any = None) -> None:
    if authority_nation(actor) != organisation.nation_id:
        with_target: dict[str, Any] = ({"obj": obj} if obj is not None else
                                       {"object_type": "core.organisation",
                                        "object_id": str(organisation.pk)})
        raise _refuse(action, actor,
                      _("Only a security officer of %(nation)s's national security authority "
                        "may grant or revoke the facility clearances of its organisations.")
                      % {"nation": organisation.nation_id},
                      detail={"organisation": organisation.code}, **with_target)


def grant_facility_clearance(actor: Any, organisation: Organisation, site: str,
                             level: Classification | str,
                             storage_level: Classification | str | None = None,
                             valid_from: dt.date | None = None,
                             valid_until: dt.date | None = None) -> FacilityClearance:
    """A facility security clearance for a site of a company or university, granted by its own
    nation's security authority. ``level`` and ``storage_level`` (empty: the site may not hold
    classified material) are current markings of that nation's scheme that need a clearance,
    storage not above the level. ``valid_from`` defaults to today."""
    today = _today()
    valid_from = valid_from or today
    with audit.atomic():
        _require_authority_for(actor, organisation, "facility.grant")
        if not organisation.needs_facility_clearance:
            raise IndustryError(_("Only a company or a university holds a facility security "
                                  "clearance; %(organisation)s is a %(kind)s.")
                                % {"organisation": organisation.name,
                                   "kind": organisation.get_kind_display().lower()})
        site = (site or "").strip()
        if not site:
            raise IndustryError(_("Name the site the clearance is for."))
        if len(site) > 200:
            raise IndustryError(_("A site name has at most 200 characters."))
        nation = organisation.nation_id
        cleared_to = _marking(nation, level, today)
        if not cleared_to.requires_clearance:
            raise IndustryError(_("%(key)s needs no clearance: a facility clearance is for a "
                                  "marking that does.") % {"key": cleared_to.key})
        storage = None
        if storage_level not in (None, ""):
            assert storage_level is not None
            storage = _marking(nation, storage_level, today)
            if not storage.requires_clearance:
                raise IndustryError(_("%(key)s needs no clearance: leave the storage level empty "
                                      "if the site may not hold classified material.")
                                    % {"key": storage.key})
            if storage.level > cleared_to.level:
                raise IndustryError(_("The site may not store material above the level it is "
                                      "cleared to (%(storage)s is above %(level)s).")
                                    % {"storage": storage.key, "level": cleared_to.key})
        if valid_until is None:
            raise IndustryError(_("Say until when the clearance is valid."))
        if valid_until < valid_from:
            raise IndustryError(_("The clearance cannot end before it starts."))
        if valid_until < today:
            raise IndustryError(_("The clearance would already have ended."))
        facility = FacilityClearance.objects.create(
            organisation=organisation, site=site, level=cleared_to, storage_level=storage,
            granted_by=actor.organisation, valid_from=valid_from, valid_until=valid_until)
        audit.record("facility.grant", actor=actor, obj=facility, allowed=True, detail={
            "organisation": organisation.code, "site": site, "level": cleared_to.key,
            "storage": storage.key if storage else None, "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat()})
    return facility


def revoke_facility_clearance(actor: Any, facility: FacilityClearance,
                              reason: str = "") -> FacilityClearance:
    """End a facility clearance: it is valid until yesterday, so the kernel stops counting it on
    the very next query. The row stays, for the record."""
    yesterday = _today() - dt.timedelta(days=1)
    with audit.atomic():
        facility = (FacilityClearance.objects.select_for_update(of=("self",))
                    .select_related("organisation", "level").get(pk=facility.pk))
        _require_authority_for(actor, facility.organisation, "facility.revoke", facility)
        if facility.valid_until <= yesterday:
            raise IndustryError(_("This clearance already ended on %(day)s.")
                                % {"day": facility.valid_until.isoformat()})
        was = facility.valid_until
        # One that had not started yet keeps its start: an empty period, never in force.
        facility.valid_until = yesterday
        facility.save(update_fields=["valid_until"])
        audit.record("facility.revoke", actor=actor, obj=facility, allowed=True, detail={
            "organisation": facility.organisation.code, "site": facility.site,
            "level": facility.level.key, "was_valid_until": was.isoformat(),
            "reason": reason.strip()})
    return facility


# --------------------------------------------------------------------------- requests for visit


def request_visit(actor: Any, *, host: Organisation, site: str, kind: str,
                  first_day: dt.date, last_day: dt.date, purpose: str,
                  level: Classification | str, label: LabelSpec, project: Any = None,
                  emergency_reason: str = "", as_exchange: bool = False) -> VisitRequest:
    """The actor asks to visit a site of ``host`` (an organisation of the other nation).

    ``level`` is a marking of the host nation's scheme: the highest level of information to be
    accessed. ``label`` protects the request itself; it is originated by the visitor's nation and
    must be releasable to the host nation. ``project`` (optional) must be one the visitor may
    view. Notifies the security authority of the visitor's nation, which must assure the
    visitor's clearance next."""
    today = _today()
    nation = getattr(actor, "nationality_id", None)
    if not nation or getattr(actor, "organisation_id", None) is None:
        raise IndustryError(_("Your account has no nationality or organisation on record."))
    if host.nation_id == nation:
        raise IndustryError(_("A request for visit is for a site of the other nation; "
                              "%(host)s is of your own (%(nation)s).")
                            % {"host": host.name, "nation": nation})
    if kind not in VisitKind.values:
        raise IndustryError(_("Unknown kind of visit '%(kind)s'.") % {"kind": kind})
    if (kind == VisitKind.EXCHANGE) != as_exchange:
        # An exchange is requested by exercises.services.request_exchange, which records what
        # makes it an exchange in the same transaction.
        raise IndustryError(_("A staff or academic exchange is requested as an exchange, not as "
                              "a visit."))
    site, purpose = (site or "").strip(), (purpose or "").strip()
    emergency_reason = (emergency_reason or "").strip()
    if not site:
        raise IndustryError(_("Name the site to be visited."))
    if len(site) > 200:
        raise IndustryError(_("A site name has at most 200 characters."))
    if not purpose:
        raise IndustryError(_("Say what the visit is for."))
    if last_day < first_day:
        raise IndustryError(_("The last day cannot be before the first day."))
    if first_day < today:
        raise IndustryError(_("A visit cannot start in the past."))
    days = (last_day - first_day).days + 1
    longest = (PROJECT_RECURRING_MAX_DAYS if kind == VisitKind.RECURRING and project is not None
               else MAX_DAYS[kind])
    if days > longest:
        raise IndustryError(
            _("A visit of this kind (%(kind)s) lasts at most %(max)d days; this one would last "
              "%(days)d.") % {"kind": VisitKind(kind).label, "max": longest, "days": days})
    if kind == VisitKind.EMERGENCY and not emergency_reason:
        raise IndustryError(_("Say why the visit is an emergency."))
    if kind != VisitKind.EMERGENCY:
        emergency_reason = ""
    if label.originator != nation:
        raise IndustryError(_("A request for visit is originated by your own nation (%(code)s).")
                            % {"code": nation})
    if host.nation_id not in label.releasable_to:
        raise IndustryError(_("The request must be releasable to the host nation (%(code)s) "
                              "as well as to your own.") % {"code": host.nation_id})
    marking = _marking(host.nation_id, level, today)
    with audit.atomic():
        if project is not None:
            try:
                require(actor, Action.VIEW, project)
            except NotFound:
                raise IndustryError(_("No project you may view has this code.")) from None
        visit = VisitRequest(
            visitor=actor, owner=actor.organisation, label=make_label(label), host=host,
            site=site, kind=kind, first_day=first_day, last_day=last_day, purpose=purpose,
            emergency_reason=emergency_reason, level=marking, project=project)
        # One cannot make a request one could not then read and withdraw (same label rules).
        require(actor, Action.EDIT, visit)
        visit.save(force_insert=True)
        audit.record("visit.request", actor=actor, obj=visit, allowed=True, detail={
            "label": visit.label.canonical, "host": host.code, "site": site, "kind": kind,
            "first_day": first_day.isoformat(), "last_day": last_day.isoformat(),
            "level": marking.key, "project": str(project.pk) if project is not None else None})
        notify(security_authorities(nation), "visit.submitted", visit)
    return visit


def _locked(actor: Any, visit: VisitRequest, action: str) -> VisitRequest:
    """The request, locked for the change, if the actor takes part in it and the kernel lets them
    view it; NotFound (audited) otherwise, exactly as for a request that does not exist."""
    locked = (VisitRequest.objects.select_for_update(of=("self",))
              .select_related("label", "visitor", "host", "level").get(pk=visit.pk))
    if not VisitRequest.objects.filter(parties(actor), pk=locked.pk).exists():
        audit.record(action, actor=actor, obj=locked, allowed=False,
                     reason="not a party to this request for visit")
        raise NotFound
    require(actor, Action.VIEW, locked)
    return locked


def _clearances(visitor: Any, on: dt.date) -> list[Clearance]:
    """The visitor's personnel clearances valid on the day, in their own nation's scheme,
    highest first."""
    return list(Clearance.objects.filter(
        user=visitor, level__nation_id=visitor.nationality_id, valid_from__lte=on,
        valid_until__gte=on).select_related("level").order_by("-level__level", "-valid_until"))


def assure_visit(actor: Any, visit: VisitRequest) -> VisitRequest:
    """Clearance assurance: a security officer of the visitor's own nation's security authority
    confirms that the visitor holds a valid clearance (recorded: level and expiry). Notifies the
    host nation's security authority, which decides next."""
    today = _today()
    with audit.atomic():
        visit = _locked(actor, visit, "visit.assure")
        nation = visit.visitor.nationality_id
        if authority_nation(actor) != nation:
            raise _refuse("visit.assure", actor,
                          _("Only the security authority of the visitor's nation (%(nation)s) "
                            "may assure the visitor's clearance.") % {"nation": nation},
                          obj=visit)
        if visit.state != VisitState.SUBMITTED:
            raise IndustryError(_("Only a submitted request can be assured; this one is "
                                  "%(state)s.") % {"state": visit.get_state_display().lower()})
        held = _clearances(visit.visitor, today)
        if not held:
            raise _refuse("visit.assure", actor,
                          _("%(visitor)s holds no valid personnel security clearance: there is "
                            "nothing to assure.") % {"visitor": visit.visitor.username},
                          obj=visit)
        best = held[0]
        visit.state = VisitState.ASSURED
        visit.assured_by, visit.assured_at = actor, timezone.now()
        visit.assured_level, visit.assured_until = best.level, best.valid_until
        visit.save(update_fields=["state", "assured_by", "assured_at", "assured_level",
                                  "assured_until"])
        audit.record("visit.assure", actor=actor, obj=visit, allowed=True, detail={
            "clearance": best.level.key, "valid_until": best.valid_until.isoformat()})
        notify(security_authorities(visit.host.nation_id), "visit.assured", visit)
    return visit


def approval_end(visit: VisitRequest, start: dt.date) -> dt.date:
    """The last day an approval (or a yearly review) starting on ``start`` holds: the visit's
    last day, or a year on for a longer recurring visit."""
    return min(visit.last_day, start + dt.timedelta(days=APPROVAL_DAYS - 1))


def approval_problem(visit: VisitRequest, on: dt.date | None = None,
                     until: dt.date | None = None) -> str | None:
    """Why the visit cannot be approved on the day (for the period up to ``until``, by default
    the first approval's end), or None if it can.

    The visitor's clearance must be valid today and until the period's last day, and dominate the
    level to be accessed seen through the equivalence table in force (as the kernel sees a
    marking of another nation), both today and on the first day of the visit. If the host is a
    company or university, it must hold a facility clearance at that level for the whole visit
    (the kernel's facility rule: information at a level may not be accessed where the
    organisation is not cleared for it)."""
    on = on or _today()
    until = until or approval_end(visit, visit.first_day)
    visitor = visit.visitor
    nation = visitor.nationality_id
    if not nation:
        return _("%(visitor)s has no nationality on record.") % {"visitor": visitor.username}
    if visit.last_day < on:
        return _("The visit's last day (%(day)s) has passed.") % {
            "day": visit.last_day.isoformat()}
    held = _clearances(visitor, on)
    if not held:
        return _("%(visitor)s holds no valid personnel security clearance.") % {
            "visitor": visitor.username}
    covering = [c for c in held if c.valid_until >= until]
    if not covering:
        longest = max(held, key=lambda c: c.valid_until)
        return (_("%(visitor)s's clearance (%(level)s) ends on %(until)s, before the visit's "
                  "last day (%(last)s).")
                % {"visitor": visitor.username, "level": longest.level.key,
                   "until": longest.valid_until.isoformat(),
                   "last": until.isoformat()})
    best = covering[0]  # highest level first
    for day in sorted({on, max(on, visit.first_day)}):
        seen_as = reference.protection(day).as_seen_by(visit.level_id, nation)
        if seen_as is None:
            return (_("%(level)s has no equivalent in %(nation)s's scheme in the equivalence "
                      "table in force: the visitor's clearance cannot be compared with it.")
                    % {"level": visit.level.key, "nation": nation})
        if seen_as.requires_clearance and seen_as.level > best.level.level:
            return (_("The visit is at %(level)s (protected as %(seen)s in %(nation)s), above "
                      "the visitor's clearance (%(clearance)s): it cannot be approved.")
                    % {"level": visit.level.key, "seen": seen_as.key, "nation": nation,
                       "clearance": best.level.key})
    host = visit.host
    if host.needs_facility_clearance and visit.level.requires_clearance:
        start = max(on, visit.first_day)
        cleared = FacilityClearance.objects.filter(
            organisation=host, level__nation_id=host.nation_id,
            level__level__gte=visit.level.level, valid_from__lte=start,
            valid_until__gte=until).exists()
        if not cleared:
            return (_("%(host)s holds no facility security clearance at %(level)s or above "
                      "valid for the whole visit: information at that level may not be "
                      "accessed there.") % {"host": host.name, "level": visit.level.key})
    return None


def approve_visit(actor: Any, visit: VisitRequest, note: str = "") -> VisitRequest:
    """The host nation's security authority approves an assured request (see
    ``approval_problem`` for what makes it impossible). The host organisation is informed
    through its inbox; so is the visitor's."""
    with audit.atomic():
        visit = _locked(actor, visit, "visit.approve")
        host_nation = visit.host.nation_id
        if authority_nation(actor) != host_nation:
            raise _refuse("visit.approve", actor,
                          _("Only the security authority of the host nation (%(nation)s) may "
                            "approve or refuse a request for visit.") % {"nation": host_nation},
                          obj=visit)
        if visit.state == VisitState.SUBMITTED:
            raise IndustryError(_("The visitor's own security authority must assure their "
                                  "clearance before the visit can be approved."))
        if visit.state != VisitState.ASSURED:
            raise IndustryError(_("Only an assured request can be approved; this one is "
                                  "%(state)s.") % {"state": visit.get_state_display().lower()})
        if problem := approval_problem(visit):
            raise _refuse("visit.approve", actor, problem, obj=visit)
        visit.state = VisitState.APPROVED
        visit.decided_by, visit.decided_at = actor, timezone.now()
        visit.reason = (note or "").strip()
        visit.approved_until = approval_end(visit, visit.first_day)
        visit.save(update_fields=["state", "decided_by", "decided_at", "reason",
                                  "approved_until"])
        audit.record("visit.approve", actor=actor, obj=visit, allowed=True,
                     detail={"host": visit.host.code, "site": visit.site,
                             "level": visit.level.key,
                             "until": visit.approved_until.isoformat()})
        notify([visit.host], "visit.approved", visit)
        notify([visit.owner], "visit.decided", visit)
    return visit


def review_visit(actor: Any, visit: VisitRequest) -> VisitRequest:
    """The host nation's security authority reviews an approved recurring visit that lasts
    longer than its approval: the approval then holds for another year (never past the last
    day), under the same conditions as the first approval for that year."""
    with audit.atomic():
        visit = _locked(actor, visit, "visit.review")
        host_nation = visit.host.nation_id
        if authority_nation(actor) != host_nation:
            raise _refuse("visit.review", actor,
                          _("Only the security authority of the host nation (%(nation)s) may "
                            "review an approved visit.") % {"nation": host_nation}, obj=visit)
        if (visit.state != VisitState.APPROVED or visit.approved_until is None
                or visit.approved_until >= visit.last_day):
            raise IndustryError(_("Only an approved recurring visit whose approval ends before "
                                  "its last day is reviewed."))
        until = approval_end(visit, visit.approved_until + dt.timedelta(days=1))
        if problem := approval_problem(visit, until=until):
            raise _refuse("visit.review", actor, problem, obj=visit)
        previous, visit.approved_until = visit.approved_until, until
        visit.save(update_fields=["approved_until"])
        audit.record("visit.review", actor=actor, obj=visit, allowed=True,
                     detail={"from": previous.isoformat(), "until": until.isoformat()})
        notify([visit.host, visit.owner], "visit.reviewed", visit)
    return visit


def refuse_visit(actor: Any, visit: VisitRequest, reason: str) -> VisitRequest:
    """The host nation's security authority refuses a request that is not yet decided; the
    reason is required and told to the visitor's organisation."""
    reason = (reason or "").strip()
    with audit.atomic():
        visit = _locked(actor, visit, "visit.refuse")
        host_nation = visit.host.nation_id
        if authority_nation(actor) != host_nation:
            raise _refuse("visit.refuse", actor,
                          _("Only the security authority of the host nation (%(nation)s) may "
                            "approve or refuse a request for visit.") % {"nation": host_nation},
                          obj=visit)
        if not visit.is_open:
            raise IndustryError(_("Only a request not yet decided can be refused; this one is "
                                  "%(state)s.") % {"state": visit.get_state_display().lower()})
        if not reason:
            raise IndustryError(_("Say why the visit is refused."))
        visit.state = VisitState.REFUSED
        visit.decided_by, visit.decided_at, visit.reason = actor, timezone.now(), reason
        visit.save(update_fields=["state", "decided_by", "decided_at", "reason"])
        audit.record("visit.refuse", actor=actor, obj=visit, allowed=True,
                     detail={"reason": reason})
        notify([visit.owner], "visit.decided", visit)
    return visit


def withdraw_visit(actor: Any, visit: VisitRequest) -> VisitRequest:
    """The visitor withdraws the request before it is decided."""
    with audit.atomic():
        visit = _locked(actor, visit, "visit.withdraw")
        if visit.visitor_id != actor.pk:
            raise _refuse("visit.withdraw", actor,
                          _("Only the visitor may withdraw the request."), obj=visit)
        if not visit.is_open:
            raise IndustryError(_("Only a request not yet decided can be withdrawn; this one is "
                                  "%(state)s.") % {"state": visit.get_state_display().lower()})
        visit.state = VisitState.WITHDRAWN
        visit.decided_at = timezone.now()
        visit.save(update_fields=["state", "decided_at"])
        audit.record("visit.withdraw", actor=actor, obj=visit, allowed=True)
    return visit
