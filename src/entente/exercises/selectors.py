"""Reads of exercises, their planning and staff exchanges: always through the kernel's visibility
filter, in SQL, and audited.

An exercise's parts are exactly as visible as the exercise (``label="exercise__label"``). A staff
exchange is a request for visit: the reader must take part in it (``industry.services.parties``)
and may view its label, as for any visit. The calendar is made of the same three reads.

The iCalendar export leaves Entente for the reader's own calendar, a place the kernel does not
protect: it holds only what the reader may view *and* whose label needs no clearance and names no
caveat and no need-to-know community. Everything else stays on the calendar page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from entente.exercises.models import (
    OPEN_STATES,
    ConferenceVisit,
    Exercise,
    ExerciseState,
    Location,
    ParticipatingUnit,
    PlanningMilestone,
    StaffExchange,
    StateChange,
)
from entente.industry.models import VisitRequest, VisitState
from entente.industry.services import parties
from entente.security import audit, reference
from entente.security.kernel import Action, record_listing, visible
from entente.security.models import Label, LabelCaveat, LabelCommunity
from entente.security.selectors import not_found, parse_id, require

PAGE_SIZE = 50
MAX_LISTED = 500
MAX_CALENDAR_DAYS = 400  # the longest span one calendar read covers


def _today() -> dt.date:
    return timezone.localdate()


# --------------------------------------------------------------------------- exercises


def visible_exercises(user: Any, *, state: str = "", kind: str = "", lead_nation: str = "",
                      text: str = "", during_from: dt.date | None = None,
                      during_until: dt.date | None = None) -> QuerySet[Exercise]:
    """The exercises the user may view, filtered (not yet audited: callers list or count)."""
    queryset = Exercise.objects.select_related("label", "lead_nation", "owner")
    if state:
        queryset = queryset.filter(state=state)
    if kind:
        queryset = queryset.filter(kind=kind)
    if lead_nation:
        queryset = queryset.filter(lead_nation_id=lead_nation)
    if during_from:
        queryset = queryset.filter(ends_on__gte=during_from)
    if during_until:
        queryset = queryset.filter(starts_on__lte=during_until)
    if needle := text.strip():
        queryset = queryset.filter(Q(code__icontains=needle) | Q(name_en__icontains=needle)
                                   | Q(name_ja__icontains=needle)
                                   | Q(objectives_en__icontains=needle)
                                   | Q(objectives_ja__icontains=needle))
    return visible(user, queryset)


def list_exercises(user: Any, *, offset: int = 0, limit: int = PAGE_SIZE,
                   **filters: Any) -> list[Exercise]:
    exercises = list(visible_exercises(user, **filters).order_by("starts_on", "code")
                     [offset:offset + limit])
    record_listing(user, exercises, what="exercises.exercise")  # type: ignore[arg-type]
    return exercises


def count_exercises(user: Any, **filters: Any) -> int:
    return visible_exercises(user, **filters).count()


def exercise_for(user: Any, key: Any, action: Action = Action.VIEW) -> Exercise:
    """An exercise by id or code if the kernel allows ``action``; NotFound otherwise, exactly as
    for one that does not exist."""
    pk = parse_id(key)
    lookup = Q(pk=pk) if pk else Q(code=str(key).strip()[:64])
    exercise = (Exercise.objects.select_related("label", "lead_nation", "owner", "proposed_by")
                .filter(lookup).first())
    if exercise is None:
        raise not_found(user, action, "exercises.exercise", key)
    require(user, action, exercise)
    return exercise


def _parts(user: Any, queryset: QuerySet[Any], exercise: Exercise) -> QuerySet[Any]:
    return visible(user, queryset.filter(exercise=exercise), label="exercise__label")


def locations_of(user: Any, exercise: Exercise) -> QuerySet[Location]:
    return _parts(user, Location.objects.select_related("nation"), exercise)


def units_of(user: Any, exercise: Exercise) -> QuerySet[ParticipatingUnit]:
    return _parts(user, ParticipatingUnit.objects.select_related("nation"), exercise)


def personnel_by_nation(user: Any, exercise: Exercise) -> dict[str, int]:
    return dict(units_of(user, exercise).order_by("nation_id").values_list("nation_id")
                .annotate(total=Sum("personnel")).values_list("nation_id", "total"))


def milestones_of(user: Any, exercise: Exercise) -> QuerySet[PlanningMilestone]:
    return _parts(user, PlanningMilestone.objects.select_related("owner"), exercise)


def history_of(user: Any, exercise: Exercise) -> QuerySet[StateChange]:
    return _parts(user, StateChange.objects.select_related("by"), exercise)


def milestone_for(user: Any, exercise: Exercise, milestone_id: Any) -> PlanningMilestone:
    text = str(milestone_id)
    # ASCII digits within a bigint: int() would also take " 7", "٧" or "1_0", and an id past
    # the column's range would fail in the database instead of answering "not found".
    pk = int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**63 else None
    milestone = (milestones_of(user, exercise).filter(pk=pk).first()
                 if pk is not None else None)
    if milestone is None:
        raise not_found(user, Action.VIEW, "exercises.planningmilestone", milestone_id)
    return milestone


def overdue(on: dt.date) -> Q:
    """Milestones not done by their date, of exercises still open."""
    return Q(due_on__lt=on, done_on__isnull=True, exercise__state__in=OPEN_STATES)


def overdue_milestones(user: Any, on: dt.date | None = None) -> QuerySet[PlanningMilestone]:
    return visible(user, PlanningMilestone.objects.filter(overdue(on or _today()))
                   .select_related("exercise", "exercise__label", "owner"),
                   label="exercise__label").order_by("due_on", "id")


def conference_visits_of(user: Any, exercise: Exercise) -> QuerySet[ConferenceVisit]:
    """The requests for visit linked to the exercise's milestones that the reader takes part in
    and may view (a visit has its own label and its own parties)."""
    visits = visible(user, VisitRequest.objects.filter(parties(user)))
    return visible(user, ConferenceVisit.objects.filter(
        milestone__exercise=exercise, visit__in=visits.values("pk")).select_related(
        "milestone", "visit", "visit__visitor", "visit__host"),
        label="milestone__exercise__label").order_by("milestone__due_on", "id")


def listed(user: Any, rows: QuerySet[Any], *, what: str, limit: int = MAX_LISTED) -> list[Any]:
    """A listing of rows already filtered by the kernel, shown and so audited (one event)."""
    shown = list(rows[:limit])
    record_listing(user, shown, what=what)
    return shown


# --------------------------------------------------------------------------- exchanges


def visible_exchanges(user: Any, *, state: str = "", kind: str = "",
                      during_from: dt.date | None = None,
                      during_until: dt.date | None = None) -> QuerySet[StaffExchange]:
    """Exchanges whose request for visit the reader takes part in and may view."""
    visits = visible(user, VisitRequest.objects.filter(parties(user)))
    queryset = StaffExchange.objects.filter(visit__in=visits.values("pk")).select_related(
        "visit", "visit__label", "visit__visitor", "visit__host", "visit__level", "home",
        "exercise")
    if state:
        queryset = queryset.filter(visit__state=state)
    if kind:
        queryset = queryset.filter(kind=kind)
    if during_from:
        queryset = queryset.filter(visit__last_day__gte=during_from)
    if during_until:
        queryset = queryset.filter(visit__first_day__lte=during_until)
    return queryset.order_by("visit__first_day", "visit_id")


def exchanges_of(user: Any, exercise: Exercise) -> QuerySet[StaffExchange]:
    return visible_exchanges(user).filter(exercise=exercise)


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    what: str  # "exercise", "milestone" or "exchange"
    title: str
    first_day: dt.date
    last_day: dt.date
    link: str
    label: Label
    classified: bool  # the label needs a clearance
    overdue: bool = False
    need_to_know: bool = False  # the label names a caveat or a community

    @property
    def exportable(self) -> bool:
        """May leave Entente in an .ics file (see the module's docstring)."""
        return not (self.classified or self.need_to_know)


def calendar(user: Any, start: dt.date, end: dt.date, on: dt.date | None = None,
             ) -> list[CalendarEvent]:
    """Exercises, planning milestones and exchanges with a day between ``start`` and ``end``
    that the reader may view, by first day (one audited read of each kind)."""
    if end < start:
        raise ValueError(_("The period ends before it starts."))
    if (end - start).days > MAX_CALENDAR_DAYS:
        raise ValueError(_("A calendar covers at most %(days)d days at once.")
                         % {"days": MAX_CALENDAR_DAYS})
    on = on or _today()
    protection = reference.protection(on)

    def classified(label: Label) -> bool:
        return protection.markings[label.classification_id].requires_clearance

    exercises = listed(user, visible_exercises(user, during_from=start, during_until=end)
                       .exclude(state=ExerciseState.CANCELLED).order_by("starts_on", "code"),
                       what="exercises.exercise")
    milestones = listed(user, visible(user, PlanningMilestone.objects.filter(
        due_on__gte=start, due_on__lte=end).exclude(exercise__state=ExerciseState.CANCELLED)
        .select_related("exercise", "exercise__label"), label="exercise__label")
        .order_by("due_on", "id"), what="exercises.planningmilestone")
    exchanges = listed(user, visible_exchanges(user, during_from=start, during_until=end)
                       .exclude(visit__state__in=[VisitState.REFUSED, VisitState.WITHDRAWN]),
                       what="exercises.staffexchange")
    labels = {e.label_id for e in exercises} | {m.exercise.label_id for m in milestones} | {
        x.visit.label_id for x in exchanges}
    restricted = set(LabelCaveat.objects.filter(label_id__in=labels).values_list(
        "label_id", flat=True)) | set(LabelCommunity.objects.filter(
            label_id__in=labels).values_list("label_id", flat=True))

    def event(uid: str, what: str, title: str, first: dt.date, last: dt.date, link: str,
              label: Label, overdue: bool = False) -> CalendarEvent:
        return CalendarEvent(uid, what, title, first, last, link, label, classified(label),
                             overdue, need_to_know=label.pk in restricted)

    def exercise_link(exercise: Exercise) -> str:
        return reverse("exercises:exercise", args=[exercise.code])

    events = [event(f"exercise-{e.pk}", "exercise", e.name, e.starts_on, e.ends_on,
                    exercise_link(e), e.label) for e in exercises]
    events += [event(
        f"milestone-{m.pk}", "milestone", f"{m.heading} — {m.exercise.name}", m.due_on,
        m.due_on, exercise_link(m.exercise), m.exercise.label,
        overdue=m.done_on is None and m.due_on < on and m.exercise.state in OPEN_STATES)
        for m in milestones]
    events += [event(
        f"exchange-{x.visit_id}", "exchange",
        _("Exchange: %(person)s at %(host)s") % {"person": x.visit.visitor.get_full_name()
                                                 or x.visit.visitor.username,
                                                 "host": x.visit.host.name},
        x.visit.first_day, x.visit.last_day, reverse("industry:visit", args=[x.visit_id]),
        x.visit.label) for x in exchanges]
    return sorted(events, key=lambda e: (e.first_day, e.what, e.title))


def ics(user: Any, start: dt.date, end: dt.date, on: dt.date | None = None) -> bytes:
    """The calendar as iCalendar, for the reader's own calendar: only events that may leave
    Entente (see the module's docstring). All-day events; the UID is stable, so a re-import
    updates."""
    from icalendar import Calendar, Event

    events = [e for e in calendar(user, start, end, on) if e.exportable]
    feed = Calendar()
    feed.add("prodid", "-//Entente//Exercises calendar//EN")
    feed.add("version", "2.0")
    feed.add("x-wr-calname", _("Entente: exercises and exchanges"))
    stamp = timezone.now()
    for event in events:
        item = Event()
        item.add("uid", f"{event.uid}@entente")
        item.add("dtstamp", stamp)
        item.add("summary", event.title)
        item.add("dtstart", event.first_day)
        item.add("dtend", event.last_day + dt.timedelta(days=1))  # exclusive, all-day
        item.add("categories", [event.what])
        item.add("description", event.link)
        feed.add_component(item)
    audit.record("exercises.calendar.export", actor=user, allowed=True,
                 reason="unclassified events without need-to-know the reader may view",
                 detail={"start": start.isoformat(), "end": end.isoformat(),
                         "events": [e.uid for e in events]})
    return feed.to_ical()
