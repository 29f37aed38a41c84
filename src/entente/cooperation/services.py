"""Actions on joint projects and the steering panel. Each runs in one transaction
(``audit.atomic``), asks the kernel, and is audited.

Who may do what, beyond the kernel's reading rules:
* anyone with a nationality and an organisation may propose a project (governments and industry);
* a project is managed (participants, members, cost shares, milestones, security instruction,
  classification guide, documents) by project officers and security officers who may view it;
* the panel's co-chairs and secretary schedule meetings, set agendas, record decisions and
  actions and write minutes; only co-chairs approve minutes;
* a project changes phase only by a recorded decision of the panel, applied once.

Errors a person can act on are ``CooperationError`` with a message in the active language; a
project the actor may not view is ``NotFound``, exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from entente.cooperation.models import (
    MOVING_DECISIONS,
    NEXT_PHASE,
    OPEN_PHASES,
    SHARE_TOTAL,
    ActionItem,
    ActionStatus,
    AgendaItem,
    CostShare,
    DecisionKind,
    GuideEntry,
    Meeting,
    Milestone,
    Minutes,
    MinutesApproval,
    PanelDecision,
    PanelMember,
    PanelRole,
    Participant,
    ParticipantRole,
    Phase,
    PhaseChange,
    Project,
    ProjectDocument,
    SecurityInstruction,
)
from entente.core.models import Nation, Organisation, Role
from entente.exchange import services as exchange
from entente.exchange.models import Document
from entente.security import audit, kernel, reference
from entente.security.kernel import Action
from entente.security.labels import LabelSpec, make_label, spec_of
from entente.security.models import (
    Classification,
    Community,
    Label,
    Membership,
)
from entente.security.selectors import require

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
RESERVED_CODES = frozenset({"new", "dashboard"})  # page addresses under /projects/
MEMBERSHIP_YEARS = 3  # a need-to-know membership granted here lasts this long unless told


class CooperationError(ValueError):
    """A request that cannot be done as asked; the message says why, for the person asking."""


# --------------------------------------------------------------------------- who may act


def _today() -> dt.date:
    return timezone.localdate()


def _manage(actor: Any, project: Project) -> None:
    """The actor may view the project (kernel) and is a project or security officer."""
    require(actor, Action.VIEW, project)
    if not (actor.has_role(Role.PROJECT_OFFICER) or actor.has_role(Role.SECURITY_OFFICER)):
        raise CooperationError(_("Only project officers and security officers may change a "
                                 "project."))


def panel_seat(user: Any, on: dt.date | None = None) -> PanelMember | None:
    """The user's seat on the steering panel on the day, if any."""
    on = on or _today()
    return (PanelMember.objects.filter(user=user, valid_from__lte=on, valid_until__gte=on)
            .order_by("role").first())


def _panel_officer(actor: Any) -> PanelMember:
    seat = panel_seat(actor)
    if seat is None or seat.role not in (PanelRole.CO_CHAIR, PanelRole.SECRETARY):
        raise CooperationError(_("Only the steering panel's co-chairs and secretary may do "
                                 "this."))
    return seat


def _with_community(spec: LabelSpec, community: Community) -> LabelSpec:
    """The label asked for, naming the project's community (added if missing)."""
    if community.code in spec.communities:
        return spec
    return LabelSpec(spec.originator, spec.classification, spec.releasable_to, spec.caveats,
                     tuple(sorted((*spec.communities, community.code))))


def _years_after(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _grant_membership(project: Project, user: Any, granted_by: Organisation,
                      until: dt.date | None = None) -> Membership:
    today = _today()
    current = Membership.objects.filter(user=user, community=project.community,
                                        valid_from__lte=today, valid_until__gte=today).first()
    until = until or _years_after(today, MEMBERSHIP_YEARS)
    if current:
        if current.valid_until < until:
            current.valid_until = until
            current.save(update_fields=["valid_until"])
        return current
    return Membership.objects.create(user=user, community=project.community,
                                     granted_by=granted_by, valid_from=today, valid_until=until)


# --------------------------------------------------------------------------- projects


def propose_project(*, actor: Any, code: str, label: LabelSpec, lead_nation: str,
                    name_en: str = "", name_ja: str = "", description_en: str = "",
                    description_ja: str = "", community: Community | None = None) -> Project:
    """A new project in the proposal phase, owned by the actor's organisation, with its own
    need-to-know community (``community`` adopts an existing one instead, for reference data
    that predates the project). The proposer and the steering panel's current members become
    members, so that the panel can decide on it."""
    if actor.nationality_id is None or actor.organisation_id is None:
        raise CooperationError(_("%(user)s has no nationality or organisation on record.")
                               % {"user": actor.username})
    code = code.strip().lower()
    if not CODE.match(code) or code in RESERVED_CODES:
        raise CooperationError(_("A project code is 2 to 63 lower-case letters, digits or "
                                 "hyphens, starting with a letter or digit."))
    name_en, name_ja = name_en.strip(), name_ja.strip()
    if not (name_en or name_ja):
        raise CooperationError(_("A project needs a name in English or Japanese."))
    if not Nation.objects.filter(code=lead_nation).exists():
        raise CooperationError(_("Unknown lead nation %(code)s.") % {"code": lead_nation})
    if label.originator != actor.nationality_id:
        raise CooperationError(_("New projects are labelled by your own nation (%(code)s).")
                               % {"code": actor.nationality_id})
    if Project.objects.filter(code=code).exists():
        raise CooperationError(_("A project with the code %(code)s already exists.")
                               % {"code": code})
    with audit.atomic():
        if community is None:
            if Community.objects.filter(code=code).exists():
                raise CooperationError(_("A community with the code %(code)s already exists; "
                                         "choose another project code.") % {"code": code})
            community = Community.objects.create(code=code, name_en=name_en or name_ja,
                                                 name_ja=name_ja)
        project = Project(code=code, name_en=name_en, name_ja=name_ja,
                          description_en=description_en.strip(),
                          description_ja=description_ja.strip(), lead_nation_id=lead_nation,
                          community=community, proposed_by=actor, owner=actor.organisation,
                          label=make_label(_with_community(label, community)))
        project.save(force_insert=True)
        _grant_membership(project, actor, actor.organisation)
        for seat in _current_panel():
            _grant_membership(project, seat.user, _authority_of(seat.user))
        _readable_by_author(actor, project)
        audit.record("project.propose", actor=actor, obj=project, allowed=True,
                     detail={"code": code, "label": project.label.canonical})
    return project


def _readable_by_author(actor: Any, obj: Any) -> None:
    """One cannot create what one could not then read: say why, in the reader's language."""
    decision = kernel.decide(actor, Action.VIEW, obj)
    if not decision:
        raise CooperationError(_("You could not read a record with this label: %(reason)s")
                               % {"reason": decision.reason(get_language() or "en")})


def _current_panel() -> list[PanelMember]:
    today = _today()
    return list(PanelMember.objects.filter(valid_from__lte=today, valid_until__gte=today)
                .select_related("user"))


def _authority_of(user: Any) -> Organisation:
    """Who grants a person need-to-know by office: their nation's security authority."""
    found = exchange.security_authorities(user.nationality_id)
    return found[0] if found else user.organisation


def required_facility_level(project: Project, nation: str) -> Classification | None:
    """The marking of ``nation``'s scheme a facility must be cleared to, to join the project: the
    highest marking of the project's own label and its classification guide, as that nation
    protects it; None if none of them needs a clearance."""
    protection = reference.protection(_today())
    needed: Classification | None = None
    markings = {project.label.classification_id, *GuideEntry.objects.filter(
        project=project).values_list("label__classification_id", flat=True)}
    for marking_id in markings:
        seen = protection.as_seen_by(marking_id, nation)
        if seen is None:
            raise CooperationError(_("The classification guide uses a marking that %(nation)s's "
                                     "scheme has no equivalent for.") % {"nation": nation})
        if seen.requires_clearance and (needed is None or seen.level > needed.level):
            needed = Classification.objects.get(pk=seen.id)
    return needed


def add_participant(*, actor: Any, project: Project, organisation: Organisation,
                    role: str) -> Participant:
    """Make an organisation a participant. A company or university must hold a valid facility
    clearance at the level the project's classification guide needs."""
    _manage(actor, project)
    if role not in ParticipantRole.values:
        raise CooperationError(_("Unknown participant role %(role)s.") % {"role": role})
    if not project.is_open:
        raise CooperationError(_("The project is %(phase)s: it takes no new participants.")
                               % {"phase": project.get_phase_display()})
    if project.participants.filter(organisation=organisation).exists():
        raise CooperationError(_("%(org)s already takes part in this project.")
                               % {"org": organisation.name})
    if organisation.needs_facility_clearance:
        needed = required_facility_level(project, organisation.nation_id)
        held = kernel.facility_level(organisation)
        if needed is not None and (held is None or held < needed.level):
            raise CooperationError(
                _("%(org)s holds no valid facility security clearance at %(level)s, which this "
                  "project's classification guide requires.")
                % {"org": organisation.name, "level": needed.name})
    with audit.atomic():
        participant = Participant.objects.create(project=project, organisation=organisation,
                                                 role=role, joined_on=_today())
        audit.record("project.participant.add", actor=actor, obj=project, allowed=True,
                     detail={"organisation": organisation.code, "role": role})
    return participant


def remove_participant(*, actor: Any, participant: Participant) -> None:
    """Remove an organisation from a project; the people of a company or university lose their
    membership of the project's community today."""
    project = participant.project
    _manage(actor, project)
    with audit.atomic():
        # A company's or university's people are members through its participation; people of
        # a government body are granted need-to-know one by one (panel members among them).
        ended = (_end_memberships(project, Q(user__organisation=participant.organisation))
                 if participant.organisation.needs_facility_clearance else 0)
        participant.delete()
        audit.record("project.participant.remove", actor=actor, obj=project, allowed=True,
                     detail={"organisation": participant.organisation.code,
                             "memberships_ended": ended})


def _end_memberships(project: Project, who: Q) -> int:
    yesterday = _today() - dt.timedelta(days=1)
    current = Membership.objects.filter(who, community=project.community,
                                        valid_until__gt=yesterday)
    # A membership that starts today ends before it starts: valid on no day at all.
    return current.update(valid_until=yesterday)


def add_member(*, actor: Any, project: Project, user: Any,
               until: dt.date | None = None) -> Membership:
    """Grant a person need-to-know: membership of the project's community. People of a company
    or university need their organisation to be a participant."""
    _manage(actor, project)
    if until is not None and until < _today():
        raise CooperationError(_("A membership cannot end in the past."))
    organisation = user.organisation
    if organisation is None or user.nationality_id is None:
        raise CooperationError(_("%(user)s has no nationality or organisation on record.")
                               % {"user": user.username})
    if (organisation.needs_facility_clearance
            and not project.participants.filter(organisation=organisation).exists()):
        raise CooperationError(_("%(org)s does not take part in this project; add it as a "
                                 "participant first.") % {"org": organisation.name})
    with audit.atomic():
        membership = _grant_membership(project, user, actor.organisation, until)
        audit.record("project.member.add", actor=actor, obj=project, allowed=True,
                     detail={"user": user.username,
                             "until": membership.valid_until.isoformat()})
    return membership


def remove_member(*, actor: Any, project: Project, user: Any) -> None:
    """End a person's need-to-know of the project today."""
    _manage(actor, project)
    if not Membership.objects.filter(user=user, community=project.community,
                                     valid_from__lte=_today(),
                                     valid_until__gte=_today()).exists():
        raise CooperationError(_("%(user)s is not a member of this project.")
                               % {"user": user.username})
    with audit.atomic():
        ended = _end_memberships(project, Q(user=user))
        audit.record("project.member.remove", actor=actor, obj=project, allowed=True,
                     detail={"user": user.username, "memberships_ended": ended})


def parse_shares(raw: Mapping[str, Any]) -> dict[str, Decimal]:
    """``{"GBR": "60", "JPN": 40}`` as exact decimals, with a clear error for anything else."""
    shares: dict[str, Decimal] = {}
    for nation, value in raw.items():
        try:
            share = Decimal(str(value).strip().rstrip("%"))
        except InvalidOperation:
            raise CooperationError(_("The share of %(nation)s is not a number: %(value)s.")
                                   % {"nation": nation, "value": value}) from None
        if not share.is_finite() or share <= 0 or share > SHARE_TOTAL:
            raise CooperationError(_("The share of %(nation)s must be more than 0 and at most "
                                     "100.") % {"nation": nation})
        if share != share.quantize(Decimal("0.01")):
            raise CooperationError(_("Shares have at most two decimal places (%(nation)s: "
                                     "%(value)s).") % {"nation": nation, "value": value})
        shares[nation] = share
    return shares


def set_cost_shares(*, actor: Any, project: Project, shares: Mapping[str, Any]) -> list[CostShare]:
    """Replace the project's cost shares. They must add up to exactly 100%."""
    _manage(actor, project)
    parsed = parse_shares(shares)
    unknown = sorted(set(parsed) - set(Nation.objects.filter(code__in=parsed)
                                       .values_list("code", flat=True)))
    if unknown:
        raise CooperationError(_("Unknown nation: %(codes)s.") % {"codes": ", ".join(unknown)})
    total = sum(parsed.values(), Decimal(0))
    if total != SHARE_TOTAL:
        raise CooperationError(_("Cost shares must add up to 100%%; these add up to "
                                 "%(total)s%%.") % {"total": f"{total.normalize():f}"})
    with audit.atomic():
        project.cost_shares.all().delete()
        rows = [CostShare.objects.create(project=project, nation_id=n, percent=p)
                for n, p in sorted(parsed.items())]
        audit.record("project.cost_shares", actor=actor, obj=project, allowed=True,
                     detail={n: f"{p:f}" for n, p in sorted(parsed.items())})
    return rows


def add_milestone(*, actor: Any, project: Project, due_on: dt.date, title_en: str = "",
                  title_ja: str = "") -> Milestone:
    _manage(actor, project)
    title_en, title_ja = title_en.strip(), title_ja.strip()
    if not (title_en or title_ja):
        raise CooperationError(_("A milestone needs a title in English or Japanese."))
    with audit.atomic():
        milestone = Milestone.objects.create(project=project, title_en=title_en,
                                             title_ja=title_ja, due_on=due_on)
        audit.record("project.milestone.add", actor=actor, obj=project, allowed=True,
                     detail={"milestone": milestone.pk, "due_on": due_on.isoformat()})
    return milestone


def complete_milestone(*, actor: Any, milestone: Milestone,
                       done_on: dt.date | None = None) -> Milestone:
    _manage(actor, milestone.project)
    if milestone.done_on is not None:
        raise CooperationError(_("The milestone was already done on %(day)s.")
                               % {"day": milestone.done_on.isoformat()})
    done_on = done_on or _today()
    if done_on > _today():
        raise CooperationError(_("A milestone cannot be done in the future."))
    with audit.atomic():
        milestone.done_on = done_on
        milestone.save(update_fields=["done_on"])
        audit.record("project.milestone.done", actor=actor, obj=milestone.project, allowed=True,
                     detail={"milestone": milestone.pk, "done_on": done_on.isoformat()})
    return milestone


def set_security_instruction(*, actor: Any, project: Project, text_en: str = "",
                             text_ja: str = "") -> SecurityInstruction:
    """Write a new revision of the programme security instruction (the audit keeps the digest
    of each revision, so a later change of the row can be told from a recorded one)."""
    _manage(actor, project)
    text_en, text_ja = text_en.strip(), text_ja.strip()
    if not (text_en or text_ja):
        raise CooperationError(_("The security instruction needs text in English or "
                                 "Japanese."))
    with audit.atomic():
        psi = SecurityInstruction.objects.filter(project=project).first()
        if psi is None:
            psi = SecurityInstruction(project=project, revision=1)
        else:
            psi.revision += 1
        psi.text_en, psi.text_ja, psi.updated_by = text_en, text_ja, actor
        psi.save()
        digest = hashlib.sha256(f"{text_en}\x00{text_ja}".encode()).hexdigest()
        audit.record("project.security_instruction", actor=actor, obj=project, allowed=True,
                     detail={"revision": psi.revision, "sha256": digest})
    return psi


def add_guide_entry(*, actor: Any, project: Project, label: LabelSpec, topic_en: str = "",
                    topic_ja: str = "", is_default: bool = False) -> GuideEntry:
    """A line of the classification guide. Its label always names the project's community, and
    the actor must be able to read what it describes."""
    _manage(actor, project)
    topic_en, topic_ja = topic_en.strip(), topic_ja.strip()
    if not (topic_en or topic_ja):
        raise CooperationError(_("A guide entry needs a description of the information in "
                                 "English or Japanese."))
    with audit.atomic():
        entry = GuideEntry(project=project, topic_en=topic_en, topic_ja=topic_ja,
                           label=make_label(_with_community(label, project.community)),
                           is_default=is_default)
        if is_default:
            project.guide.filter(is_default=True).update(is_default=False)
        entry.save()
        # One cannot classify information one could not then read.
        _readable_by_author(actor, entry)
        audit.record("project.guide.add", actor=actor, obj=project, allowed=True,
                     detail={"entry": entry.pk, "label": entry.label.canonical,
                             "default": is_default})
    return entry


def create_project_document(*, actor: Any, project: Project, guide_entry: GuideEntry | None = None,
                            label: LabelSpec | None = None, title_en: str = "",
                            title_ja: str = "", summary_en: str = "", summary_ja: str = "",
                            body: str = "", files: Sequence[exchange.IncomingFile] = ()
                            ) -> Document:
    """An exchange document of the project, labelled from the classification guide (the given
    entry, else the default one) unless a label is given; either way it names the project's
    community, so only the project's members may see it."""
    _manage(actor, project)
    if guide_entry is not None and guide_entry.project_id != project.pk:
        raise CooperationError(_("That guide entry belongs to another project."))
    if label is None:
        entry = guide_entry or project.guide.filter(is_default=True).first()
        if entry is None:
            raise CooperationError(_("The project's classification guide has no default entry; "
                                     "choose an entry or a label."))
        guide_entry, label = entry, spec_of(entry.label)
    with audit.atomic():
        document = exchange.create_document(
            actor=actor, label=_with_community(label, project.community), title_en=title_en,
            title_ja=title_ja, summary_en=summary_en, summary_ja=summary_ja, body=body,
            files=files)
        ProjectDocument.objects.create(project=project, document=document,
                                       guide_entry=guide_entry)
        audit.record("project.document.add", actor=actor, obj=project, allowed=True,
                     detail={"document": str(document.pk)})
    return document


# --------------------------------------------------------------------------- phases


def change_phase(*, actor: Any, project: Project, to_phase: str,
                 decision: PanelDecision | None) -> PhaseChange:
    """Move the project to ``to_phase`` under a recorded decision of the steering panel that
    approves exactly that move and has not been applied before. Nothing else moves a project."""
    require(actor, Action.VIEW, project)
    if decision is None:
        raise CooperationError(_("A project changes phase only by a recorded decision of the "
                                 "steering panel."))
    if (decision.kind not in MOVING_DECISIONS or decision.item.project_id != project.pk
            or decision.to_phase != to_phase):
        raise CooperationError(_("That decision of the steering panel does not approve moving "
                                 "this project to %(phase)s.")
                               % {"phase": Phase(to_phase).label if to_phase in Phase.values
                                  else to_phase})
    if PhaseChange.objects.filter(decision=decision).exists():
        raise CooperationError(_("That decision has already been applied."))
    _check_move(project, to_phase)
    with audit.atomic():
        # The phase as it stands now, locked: two decisions applied at once move it once.
        project.phase = Project.objects.select_for_update().values_list(
            "phase", flat=True).get(pk=project.pk)
        _check_move(project, to_phase)
        if PhaseChange.objects.filter(decision=decision).exists():
            raise CooperationError(_("That decision has already been applied."))
        change = PhaseChange.objects.create(project=project, from_phase=project.phase,
                                            to_phase=to_phase, decision=decision,
                                            changed_by=actor)
        project.phase = to_phase
        project.save(update_fields=["phase", "updated_at"])
        audit.record("project.phase", actor=actor, obj=project, allowed=True,
                     detail={"from": change.from_phase, "to": to_phase,
                             "decision": decision.pk})
    return change


def _check_move(project: Project, to_phase: str) -> None:
    if project.phase not in OPEN_PHASES:
        raise CooperationError(_("The project is %(phase)s: its phase no longer changes.")
                               % {"phase": project.get_phase_display()})
    if to_phase != Phase.CANCELLED and NEXT_PHASE[project.phase] != to_phase:
        raise CooperationError(_("From %(phase)s a project moves only to %(next)s (or is "
                                 "cancelled).")
                               % {"phase": project.get_phase_display(),
                                  "next": Phase(NEXT_PHASE[project.phase]).label})


# --------------------------------------------------------------------------- the panel


def appoint_panel_member(*, actor: Any, user: Any, role: str, valid_from: dt.date,
                         valid_until: dt.date) -> PanelMember:
    """Seat a person on the steering panel (by a security officer or administrator of the
    person's nation). Each nation has one co-chair at a time. Members gain need-to-know of every
    open project, which the panel oversees."""
    if not ((actor.has_role(Role.SECURITY_OFFICER) or actor.has_role(Role.ADMINISTRATOR))
            and actor.nationality_id == user.nationality_id):
        raise CooperationError(_("Panel members are appointed by a security officer or "
                                 "administrator of their own nation."))
    if role not in PanelRole.values:
        raise CooperationError(_("Unknown panel role %(role)s.") % {"role": role})
    if valid_until < valid_from:
        raise CooperationError(_("The appointment ends before it starts."))
    if role == PanelRole.CO_CHAIR and PanelMember.objects.filter(
            role=PanelRole.CO_CHAIR, user__nationality_id=user.nationality_id,
            valid_from__lte=valid_until, valid_until__gte=valid_from).exists():
        raise CooperationError(_("%(nation)s already has a co-chair for that period.")
                               % {"nation": user.nationality_id})
    with audit.atomic():
        seat = PanelMember.objects.create(user=user, role=role, valid_from=valid_from,
                                          valid_until=valid_until)
        for project in Project.objects.filter(phase__in=OPEN_PHASES):
            _grant_membership(project, user, _authority_of(user), valid_until)
        audit.record("panel.appoint", actor=actor, object_type="cooperation.panelmember",
                     object_id=str(seat.pk), allowed=True,
                     detail={"user": user.username, "role": role,
                             "from": valid_from.isoformat(), "until": valid_until.isoformat()})
    return seat


def schedule_meeting(*, actor: Any, held_on: dt.date, label: LabelSpec, place: str = "",
                     by_video: bool = False) -> Meeting:
    _panel_officer(actor)
    place = place.strip()
    if not (place or by_video):
        raise CooperationError(_("A meeting needs a place, or to be held by video."))
    with audit.atomic():
        meeting = Meeting(held_on=held_on, place=place, by_video=by_video,
                          owner=actor.organisation, label=make_label(label))
        meeting.save(force_insert=True)
        _readable_by_author(actor, meeting)
        audit.record("panel.meeting", actor=actor, obj=meeting, allowed=True,
                     detail={"held_on": held_on.isoformat()})
    return meeting


def record_attendance(*, actor: Any, meeting: Meeting, attendees: Iterable[Any]) -> None:
    _panel_officer(actor)
    require(actor, Action.VIEW, meeting)
    people = list(attendees)
    with audit.atomic():
        meeting.attendees.set(people)
        audit.record("panel.attendance", actor=actor, obj=meeting, allowed=True,
                     detail={"attendees": sorted(u.username for u in people)})


def add_agenda_item(*, actor: Any, meeting: Meeting, title_en: str = "", title_ja: str = "",
                    project: Project | None = None) -> AgendaItem:
    _panel_officer(actor)
    require(actor, Action.VIEW, meeting)
    if project is not None:
        require(actor, Action.VIEW, project)
    title_en, title_ja = title_en.strip(), title_ja.strip()
    if not (title_en or title_ja):
        if project is None:
            raise CooperationError(_("An agenda item needs a title in English or Japanese."))
        title_en, title_ja = project.name_en, project.name_ja
    with audit.atomic():
        position = (meeting.agenda.aggregate(top=Max("position"))["top"] or 0) + 1
        item = AgendaItem.objects.create(meeting=meeting, position=position, title_en=title_en,
                                         title_ja=title_ja, project=project)
        audit.record("panel.agenda", actor=actor, obj=meeting, allowed=True,
                     detail={"item": item.pk, "project": project.code if project else None})
    return item


def record_decision(*, actor: Any, item: AgendaItem, kind: str, text: str = "") -> PanelDecision:
    """Record the panel's decision on an agenda item. A decision that moves a project (approve
    the project, approve the next phase, cancel) is applied at once: the project changes phase
    under it, in the same transaction."""
    _panel_officer(actor)
    require(actor, Action.VIEW, item.meeting)
    if kind not in DecisionKind.values:
        raise CooperationError(_("Unknown decision %(kind)s.") % {"kind": kind})
    project = item.project
    if project is not None:
        # A decision about a project is part of the project's record, whatever it decides.
        require(actor, Action.VIEW, project)
    to_phase = ""
    if kind in MOVING_DECISIONS:
        if project is None:
            raise CooperationError(_("This agenda item is about no project: nothing to "
                                     "approve or cancel."))
        if kind == DecisionKind.APPROVE_PROJECT and project.phase != Phase.PROPOSAL:
            raise CooperationError(_("Only a proposal can be approved as a project; this one is "
                                     "in %(phase)s.") % {"phase": project.get_phase_display()})
        if kind == DecisionKind.APPROVE_PHASE and project.phase == Phase.PROPOSAL:
            raise CooperationError(_("A proposal is approved as a project first."))
        to_phase = (Phase.CANCELLED if kind == DecisionKind.CANCEL
                    else NEXT_PHASE.get(project.phase, ""))
        _check_move(project, to_phase)
    with audit.atomic():
        decision = PanelDecision.objects.create(item=item, kind=kind, to_phase=to_phase,
                                                text=text.strip(), recorded_by=actor)
        audit.record("panel.decision", actor=actor, obj=item.meeting, allowed=True,
                     detail={"decision": decision.pk, "kind": kind, "to_phase": to_phase,
                             "project": project.code if project else None})
        if project is not None and kind in MOVING_DECISIONS:
            change_phase(actor=actor, project=project, to_phase=to_phase, decision=decision)
    return decision


def add_action(*, actor: Any, meeting: Meeting, title: str, owner: Any, due_on: dt.date,
               project: Project | None = None) -> ActionItem:
    _panel_officer(actor)
    require(actor, Action.VIEW, meeting)
    if project is not None:
        require(actor, Action.VIEW, project)
    title = title.strip()
    if not title:
        raise CooperationError(_("An action needs a description."))
    # An action its owner could never see would never be done: asked in SQL, not audited as a
    # read by the owner (who reads nothing here).
    if not kernel.visible(owner, Meeting.objects.filter(pk=meeting.pk)).exists() or (
            project is not None
            and not kernel.visible(owner, Project.objects.filter(pk=project.pk)).exists()):
        raise CooperationError(_("%(user)s may not see this meeting or its project; give the "
                                 "action to someone who may.") % {"user": owner.username})
    with audit.atomic():
        action = ActionItem.objects.create(meeting=meeting, project=project, title=title,
                                           owner=owner, due_on=due_on)
        audit.record("panel.action", actor=actor, obj=meeting, allowed=True,
                     detail={"action": action.pk, "owner": owner.username,
                             "due_on": due_on.isoformat()})
    return action


def close_action(*, actor: Any, action: ActionItem, status: str) -> ActionItem:
    """Mark an action done or dropped (by its owner or a panel officer)."""
    if action.owner_id != actor.pk:
        _panel_officer(actor)
    require(actor, Action.VIEW, action.meeting)
    if status not in (ActionStatus.DONE, ActionStatus.DROPPED):
        raise CooperationError(_("An action is closed as done or dropped."))
    if action.status != ActionStatus.OPEN:
        raise CooperationError(_("The action is already closed."))
    with audit.atomic():
        action.status, action.closed_on = status, _today()
        action.save(update_fields=["status", "closed_on"])
        audit.record("panel.action.close", actor=actor, obj=action.meeting, allowed=True,
                     detail={"action": action.pk, "status": status})
    return action


def _minutes_label(actor: Any, meeting: Meeting, base: Label, asked: LabelSpec | None) -> Label:
    """The label asked for, else ``base`` naming the communities of the projects on the agenda.
    Either way it must cover the meeting's label and every agenda project's label: minutes say
    at least what the meeting record and its project items say."""
    projects = list(Project.objects.filter(agenda_items__meeting=meeting).distinct()
                    .select_related("label", "community"))
    if asked is None:
        spec = spec_of(base)
        asked = LabelSpec(spec.originator, spec.classification, spec.releasable_to,
                          spec.caveats, tuple(sorted({*spec.communities,
                                                      *(p.community.code for p in projects)})))
    label = make_label(asked)
    uncovered = [p for p in projects if not kernel.covers(label, p.label)]
    if uncovered or not kernel.covers(label, meeting.label):
        # Name only what the writer may see (a co-chair may not see every project).
        named = sorted(kernel.visible(actor, Project.objects.filter(
            pk__in=[p.pk for p in uncovered])).values_list("code", flat=True))
        raise CooperationError(
            _("The minutes' label %(label)s does not protect them as well as the meeting "
              "(%(meeting)s) and the projects on its agenda%(projects)s; give a label that "
              "covers them all.")
            % {"label": label.canonical, "meeting": meeting.label.canonical,
               "projects": f" ({', '.join(named)})" if named else ""})
    return label


def write_minutes(*, actor: Any, meeting: Meeting, text_en: str = "", text_ja: str = "",
                  label: LabelSpec | None = None) -> Minutes:
    """Write or revise the minutes. Their label is the one given, else the meeting's (on a
    revision: the minutes' own) naming the communities of the projects on the agenda; it must
    cover the meeting's label and those projects' labels, so that the minutes reach nobody who
    may not see the meeting record and its project items. A new revision withdraws the
    approvals given so far; final minutes no longer change."""
    _panel_officer(actor)
    require(actor, Action.VIEW, meeting)
    text_en, text_ja = text_en.strip(), text_ja.strip()
    if not (text_en or text_ja):
        raise CooperationError(_("The minutes need text in English or Japanese."))
    with audit.atomic():
        minutes = Minutes.objects.select_for_update().filter(meeting=meeting).first()
        if minutes is not None and minutes.is_final:
            raise CooperationError(_("These minutes are final: both co-chairs approved them."))
        if minutes is None:
            minutes = Minutes(meeting=meeting, owner=actor.organisation, revision=1,
                              label=_minutes_label(actor, meeting, meeting.label, label))
        else:
            minutes.revision += 1
            minutes.label = _minutes_label(actor, meeting, minutes.label, label)
        minutes.text_en, minutes.text_ja = text_en, text_ja
        minutes.save()
        _readable_by_author(actor, minutes)
        audit.record("panel.minutes", actor=actor, obj=minutes, allowed=True,
                     detail={"revision": minutes.revision, "sha256": hashlib.sha256(
                         f"{text_en}\x00{text_ja}".encode()).hexdigest()})
    return minutes


def approve_minutes(*, actor: Any, minutes: Minutes, revision: int | None = None) -> Minutes:
    """A co-chair approves the current revision for their nation (``revision``: the one they
    read, refused if the minutes have changed since). The minutes become final when every
    nation with a current co-chair has approved the same revision."""
    seat = panel_seat(actor)
    if seat is None or seat.role != PanelRole.CO_CHAIR:
        raise CooperationError(_("Only a co-chair of the steering panel approves minutes."))
    require(actor, Action.VIEW, minutes)
    nation = actor.nationality_id
    with audit.atomic():
        # As they stand now, locked: a revision written meanwhile, or the other co-chair's
        # approval given at the same moment, is seen.
        current = Minutes.objects.select_for_update().get(pk=minutes.pk)
        minutes.revision, minutes.final_at = current.revision, current.final_at
        if minutes.is_final:
            raise CooperationError(_("These minutes are already final."))
        if revision is not None and revision != minutes.revision:
            raise CooperationError(_("The minutes have changed since revision %(read)s (now "
                                     "revision %(now)s): read them again before approving.")
                                   % {"read": revision, "now": minutes.revision})
        if MinutesApproval.objects.filter(minutes=minutes, revision=minutes.revision,
                                          nation_id=nation).exists():
            raise CooperationError(_("%(nation)s has already approved this revision.")
                                   % {"nation": nation})
        MinutesApproval.objects.create(minutes=minutes, revision=minutes.revision,
                                       nation_id=nation, approved_by=actor)
        needed = {s.user.nationality_id for s in _current_panel()
                  if s.role == PanelRole.CO_CHAIR}
        given = set(MinutesApproval.objects.filter(minutes=minutes, revision=minutes.revision)
                    .values_list("nation_id", flat=True))
        if len(needed) >= 2 and needed <= given:
            minutes.final_at = timezone.now()
            minutes.save(update_fields=["final_at", "updated_at"])
        audit.record("panel.minutes.approve", actor=actor, obj=minutes, allowed=True,
                     detail={"revision": minutes.revision, "nation": nation,
                             "final": minutes.is_final})
    return minutes
