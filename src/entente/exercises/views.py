"""Server-rendered pages of joint exercises and staff exchanges: the exercise programme (list,
proposal, the exercise with the actions its reader may take), overdue planning milestones,
exchanges (list and request; they are approved on the request-for-visit pages of industry), and
a month calendar with its unclassified iCalendar export.

Every read is a selector (filtered by the kernel in SQL, audited); every change is a service. A
forbidden id and a missing id are the same 404 page. Errors a person can act on
(``ExerciseError``, ``LabelError``) are shown on the form that caused them, which is shown again
with what was typed (the page then answers 400); a change that worked redirects (POST, redirect,
GET).
"""

from __future__ import annotations

import calendar as monthly
import datetime as dt
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from entente.core.models import Role
from entente.exercises import selectors, services
from entente.exercises.forms import (
    BLANK_ROWS,
    MAX_ROWS,
    CancelForm,
    CompleteForm,
    ConferenceVisitForm,
    ConfirmForm,
    ExchangeFilterForm,
    ExchangeForm,
    ExerciseFilterForm,
    ExerciseForm,
    LocationForm,
    MilestoneForm,
    NoteForm,
    UnitForm,
    location_rows,
    unit_rows,
)
from entente.exercises.models import NEXT_STATE, Exercise, ExerciseState
from entente.exercises.services import ExerciseError
from entente.industry import selectors as industry_selectors
from entente.logistics.money import minor_units
from entente.logistics.reports import amounts
from entente.logistics.selectors import orders_of_exercise, totals_by_order
from entente.security.kernel import record_listing
from entente.security.labels import LabelError, banner, spec_of
from entente.security.pages import not_found_is_404, page_banners, reader_nation
from entente.security.selectors import NotFound, parse_id

GET_POST = require_http_methods(["GET", "POST"])

# The state each step of the exercise page moves to, and what is said once it is done.
STEPS: dict[str, str] = {
    "approve": ExerciseState.APPROVED,
    "plan": ExerciseState.PLANNING,
    "execute": ExerciseState.EXECUTING,
    "complete": ExerciseState.COMPLETED,
}
STEP_BUTTONS = {
    "approve": gettext_lazy("Approve the exercise"),
    "plan": gettext_lazy("Start planning"),
    "execute": gettext_lazy("Start execution"),
    "complete": gettext_lazy("Complete the exercise"),
}

# --------------------------------------------------------------------------- helpers


def exercise_key(exercise: Exercise) -> str:
    """How the exercise is named in its address: its code (an id for a code that reads as one)."""
    return str(exercise.pk) if parse_id(exercise.code) is not None else exercise.code


def exercise_url(exercise: Exercise, anchor: str = "") -> str:
    url = reverse("exercises:exercise", args=[exercise_key(exercise)])
    return f"{url}#{anchor}" if anchor else url


def _page_number(request: HttpRequest, total: int, size: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / size))
    try:
        page = min(max(1, int(request.GET.get("page", "1"))), pages)
    except ValueError:
        page = 1
    return page, pages


def _paging(page: int, pages: int) -> dict[str, Any]:
    return {"page": page, "pages": pages, "previous": page - 1 if page > 1 else None,
            "next": page + 1 if page < pages else None}


def _listed(user: Any, rows: Any, what: str) -> list[Any]:
    return selectors.listed(user, rows, what=what)


def _is_planner(user: Any) -> bool:
    return bool(getattr(user, "is_active", False) and user.has_role(Role.EXERCISE_PLANNER))


def _person(username: str) -> Any:
    """The active person with this user name, or None (the service says the same for both)."""
    return get_user_model().objects.filter(username=(username or "").strip(),
                                           is_active=True).first()


def _visible_exercises(user: Any, exercises: list[Exercise | None]) -> dict[Any, Exercise]:
    """Of the exercises these records refer to, those the reader may view (a record of its own
    label may name an exercise the reader may not see), shown and so audited."""
    ids = {e.pk for e in exercises if e is not None}
    if not ids:
        return {}
    shown = list(selectors.visible_exercises(user).filter(pk__in=ids))
    record_listing(user, shown, what="exercises.exercise")  # type: ignore[arg-type]
    return {e.pk: e for e in shown}


LABEL_REFUSED = gettext_lazy("You may not make a request under this label: your clearance, "
                             "nationality or communities do not cover it.")


# --------------------------------------------------------------------------- exercises


@require_GET
def exercise_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ExerciseFilterForm(request.GET)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {"state": data["state"], "kind": data["kind"],
                   "lead_nation": data["lead_nation"], "text": data["q"]}
    total = selectors.count_exercises(user, **filters)
    page, pages = _page_number(request, total, selectors.PAGE_SIZE)
    exercises = selectors.list_exercises(user, offset=(page - 1) * selectors.PAGE_SIZE,
                                         limit=selectors.PAGE_SIZE, **filters)
    marking = page_banners(request)
    return render(request, "exercises/exercise_list.html", {
        "form": form, "total": total, **_paging(page, pages),
        "rows": [(e, marking(e.label), exercise_url(e)) for e in exercises],
        "planner": _is_planner(user),
    })


def _more_rows(data: QueryDict) -> QueryDict:
    """The posted form with a few more blank rows of locations and of units."""
    more = data.copy()
    for prefix in ("locations", "units"):
        try:
            count = int(more.get(f"{prefix}-TOTAL_FORMS", "0"))
        except ValueError:
            count = 0
        more[f"{prefix}-TOTAL_FORMS"] = str(min(max(count, 0) + BLANK_ROWS, MAX_ROWS))
    return more


@GET_POST
def exercise_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    posted = request.method == "POST"
    adding = posted and "more_rows" in request.POST
    data = (_more_rows(request.POST) if adding else request.POST) if posted else None
    form = ExerciseForm(data, user=user, partners=industry_selectors.partner_nations(user))
    locations, units = location_rows(data), unit_rows(data)
    if posted and not adding and form.is_valid() & locations.is_valid() & units.is_valid():
        values = form.cleaned_data
        try:
            exercise = services.propose_exercise(
                user, code=values["code"], label=form.label_spec(), kind=values["kind"],
                lead_nation=values["lead_nation"], starts_on=values["starts_on"],
                ends_on=values["ends_on"], name_en=values["name_en"], name_ja=values["name_ja"],
                objectives_en=values["objectives_en"], objectives_ja=values["objectives_ja"],
                locations=locations.places(), units=units.specs())
        except (ExerciseError, LabelError) as exc:
            form.add_error(None, str(exc))
        except NotFound:
            form.add_error(None, str(LABEL_REFUSED))
        else:
            messages.success(request, _("Exercise %(code)s proposed. A planner of the partner "
                                        "nation approves it.") % {"code": exercise.code})
            return redirect(exercise_url(exercise))
    failed = posted and not adding and bool(form.errors or not locations.is_valid()
                                            or not units.is_valid())
    return render(request, "exercises/exercise_form.html", {
        "form": form, "locations": locations, "units": units, "planner": _is_planner(user),
    }, status=400 if failed else 200)


@dataclass
class NationUnits:
    nation: Any
    units: list[Any] = field(default_factory=list)
    personnel: int = 0


def _exercise_page(request: HttpRequest, exercise: Exercise,
                   bound: dict[str, forms.Form] | None = None) -> HttpResponse:
    """The exercise page; ``bound`` holds a form that failed, shown in its place with its input
    and errors (the page then answers 400)."""
    user = request.user
    today = timezone.localdate()
    marking = page_banners(request)
    locations = _listed(user, selectors.locations_of(user, exercise), "exercises.location")
    units = _listed(user, selectors.units_of(user, exercise), "exercises.participatingunit")
    totals = selectors.personnel_by_nation(user, exercise)
    by_nation: list[NationUnits] = []
    for nation, rows in itertools.groupby(units, key=lambda u: u.nation_id):
        group = list(rows)
        by_nation.append(NationUnits(group[0].nation, group, totals.get(nation, 0)))
    milestones = _listed(user, selectors.milestones_of(user, exercise),
                         "exercises.planningmilestone")
    history = _listed(user, selectors.history_of(user, exercise), "exercises.statechange")
    visits = _listed(user, selectors.conference_visits_of(user, exercise),
                     "exercises.conferencevisit")
    exchanges = _listed(user, selectors.exchanges_of(user, exercise), "exercises.staffexchange")
    visits_by_milestone: dict[int, list[Any]] = {}
    for visit in visits:
        visits_by_milestone.setdefault(visit.milestone_id, []).append(visit)

    may_plan = _is_planner(user) and exercise.is_open
    next_state = NEXT_STATE.get(exercise.state)
    partner_must_approve = (exercise.state == ExerciseState.PROPOSED
                            and getattr(user, "nationality_id", None)
                            == exercise.proposed_by.nationality_id)
    page_forms: dict[str, forms.Form] = {}
    waiting = None  # why the next step is not offered yet
    if may_plan:
        if next_state == ExerciseState.APPROVED and not partner_must_approve:
            page_forms["approve"] = NoteForm(auto_id="approve_%s")
        elif next_state == ExerciseState.PLANNING:
            page_forms["plan"] = NoteForm(auto_id="plan_%s")
        elif next_state == ExerciseState.EXECUTING:
            if today >= exercise.starts_on:
                page_forms["execute"] = NoteForm(auto_id="execute_%s")
            else:
                waiting = _("Execution can start on the first day of the exercise, %(day)s.") % {
                    "day": exercise.starts_on.isoformat()}
        elif next_state == ExerciseState.COMPLETED:
            if today >= exercise.ends_on:
                page_forms["complete"] = CompleteForm(auto_id="complete_%s")
            else:
                waiting = _("The exercise can be completed on or after its last day, "
                            "%(day)s.") % {"day": exercise.ends_on.isoformat()}
        page_forms["cancel"] = CancelForm(auto_id="cancel_%s")
        page_forms["location"] = LocationForm(auto_id="location_%s")
        page_forms["unit"] = UnitForm(auto_id="unit_%s", nations=_label_nations(exercise))
        page_forms["milestone"] = MilestoneForm(auto_id="milestone_%s")
    upcoming = _upcoming(exercise, milestones, today)
    if upcoming and getattr(user, "nationality_id", None):
        page_forms["visit"] = _visit_form(request, None, upcoming)
    page_forms.update(bound or {})
    key = exercise_key(exercise)
    places = minor_units()
    acsa = orders_of_exercise(user, exercise)
    order_totals = totals_by_order(user, acsa.orders)
    steps = [(name, page_forms[name], reverse(f"exercises:{name}", args=[key]),
              STEP_BUTTONS[name]) for name in STEPS if name in page_forms]
    return render(request, "exercises/exercise_detail.html", {
        "exercise": exercise, "key": key,
        "banner": banner(exercise.label, reader_nation(request)),
        "locations": locations,
        "by_nation": by_nation,
        "personnel": sum(totals.values()),
        "milestones": [(m, m.done_on is None and m.due_on < today and exercise.is_open,
                        visits_by_milestone.get(m.pk, [])) for m in milestones],
        "history": history,
        "exchanges": [(x, marking(x.visit.label)) for x in exchanges],
        "acsa": acsa,
        "acsa_rows": [(o, marking(o.label), amounts(order_totals.get(o.pk, {}), places))
                      for o in acsa.orders],
        "acsa_totals": amounts(acsa.totals, places),
        "may_plan": may_plan,
        "partner_must_approve": partner_must_approve and exercise.is_open,
        "waiting": waiting,
        "steps": steps,
        "forms": page_forms,
        "failed": next(iter(bound), None) if bound else None,
        "today": today,
    }, status=400 if bound else 200)


def _label_nations(exercise: Exercise) -> list[str]:
    spec = spec_of(exercise.label)
    return sorted({spec.originator, *spec.releasable_to})


def _upcoming(exercise: Exercise, milestones: list[Any], today: dt.date) -> list[Any]:
    """Milestones one may still ask to attend: not done, not past, of an open exercise."""
    if not exercise.is_open:
        return []
    return [m for m in milestones if m.done_on is None and m.due_on >= today]


def _visit_form(request: HttpRequest, data: Any, upcoming: list[Any]) -> ConferenceVisitForm:
    user = request.user
    return ConferenceVisitForm(
        data, auto_id="visit_%s", user=user,
        partners=industry_selectors.partner_nations(user),
        milestones=[(str(m.pk), f"{m.due_on.isoformat()} — {m.heading}") for m in upcoming])


@require_GET
def exercise_detail(request: HttpRequest, key: str) -> HttpResponse:
    with not_found_is_404():
        exercise = selectors.exercise_for(request.user, key)
    return _exercise_page(request, exercise)


def _post(request: HttpRequest, key: str, name: str,
          make_form: Callable[[Exercise], forms.Form],
          act: Callable[[Exercise, forms.Form], str], anchor: str) -> HttpResponse:
    """Run one of the exercise page's forms: on success a message and back to the page (POST,
    redirect, GET); on an error the page again with this form, its input and the error."""
    with not_found_is_404():
        exercise = selectors.exercise_for(request.user, key)
        form = make_form(exercise)
        if form.is_valid():
            try:
                message = act(exercise, form)
            except (ExerciseError, LabelError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, message)
                return redirect(exercise_url(exercise, anchor))
    # The service changed nothing (its transaction rolled back; it changes only the copy it
    # locks), so ``exercise`` is as it was read.
    return _exercise_page(request, exercise, {name: form})


def _step(request: HttpRequest, key: str, name: str) -> HttpResponse:
    to_state = STEPS[name]
    form_class: type[forms.Form] = CompleteForm if name == "complete" else NoteForm

    def act(exercise: Exercise, form: forms.Form) -> str:
        data = form.cleaned_data
        done = services.advance(request.user, exercise, to_state, note=data["note"],
                                lessons_learned=data.get("lessons_learned", ""))
        return _("Exercise %(code)s is now %(state)s.") % {
            "code": done.code, "state": done.get_state_display().lower()}

    return _post(request, key, name,
                 lambda exercise: form_class(request.POST, auto_id=f"{name}_%s"), act, "state")


@require_POST
def exercise_approve(request: HttpRequest, key: str) -> HttpResponse:
    return _step(request, key, "approve")


@require_POST
def exercise_plan(request: HttpRequest, key: str) -> HttpResponse:
    return _step(request, key, "plan")


@require_POST
def exercise_execute(request: HttpRequest, key: str) -> HttpResponse:
    return _step(request, key, "execute")


@require_POST
def exercise_complete(request: HttpRequest, key: str) -> HttpResponse:
    return _step(request, key, "complete")


@require_POST
def exercise_cancel(request: HttpRequest, key: str) -> HttpResponse:
    def act(exercise: Exercise, form: forms.Form) -> str:
        services.cancel_exercise(request.user, exercise, form.cleaned_data["reason"])
        return _("Exercise %(code)s is cancelled.") % {"code": exercise.code}

    return _post(request, key, "cancel",
                 lambda exercise: CancelForm(request.POST, auto_id="cancel_%s"), act, "state")


@require_POST
def location_add(request: HttpRequest, key: str) -> HttpResponse:
    def act(exercise: Exercise, form: forms.Form) -> str:
        data = form.cleaned_data
        location = services.add_location(request.user, exercise, data["name"],
                                         data["nation"] or None)
        return _("Location %(name)s added.") % {"name": location.name}

    return _post(request, key, "location",
                 lambda exercise: LocationForm(request.POST, auto_id="location_%s"), act,
                 "locations")


@require_POST
def unit_set(request: HttpRequest, key: str) -> HttpResponse:
    def act(exercise: Exercise, form: forms.Form) -> str:
        assert isinstance(form, UnitForm)
        unit = services.set_unit(request.user, exercise, form.spec())
        return _("%(unit)s of %(nation)s: %(personnel)d personnel.") % {
            "unit": unit.unit, "nation": unit.nation_id, "personnel": unit.personnel}

    return _post(request, key, "unit",
                 lambda exercise: UnitForm(request.POST, auto_id="unit_%s",
                                           nations=_label_nations(exercise)), act, "units")


@require_POST
def unit_remove(request: HttpRequest, key: str, unit_id: str) -> HttpResponse:
    user = request.user

    def act(exercise: Exercise, form: forms.Form) -> str:
        unit = (selectors.units_of(user, exercise).filter(pk=int(unit_id)).first()
                if unit_id.isdigit() else None)
        if unit is None:
            raise NotFound
        services.remove_unit(user, unit)
        return _("%(unit)s of %(nation)s no longer takes part.") % {
            "unit": unit.unit, "nation": unit.nation_id}

    return _post(request, key, "unit_remove", lambda exercise: ConfirmForm(request.POST), act,
                 "units")


@require_POST
def milestone_add(request: HttpRequest, key: str) -> HttpResponse:
    def act(exercise: Exercise, form: forms.Form) -> str:
        data = form.cleaned_data
        milestone = services.add_milestone(
            request.user, exercise, kind=data["kind"], due_on=data["due_on"],
            owner=_person(data["owner"]), title=data["title"], place=data["place"])
        return _("Milestone %(milestone)s added.") % {"milestone": milestone.heading}

    return _post(request, key, "milestone",
                 lambda exercise: MilestoneForm(request.POST, auto_id="milestone_%s"), act,
                 "milestones")


@require_POST
def milestone_done(request: HttpRequest, key: str, milestone_id: str) -> HttpResponse:
    def act(exercise: Exercise, form: forms.Form) -> str:
        milestone = selectors.milestone_for(request.user, exercise, milestone_id)
        services.complete_milestone(request.user, milestone)
        return _("Milestone %(milestone)s done.") % {"milestone": milestone.heading}

    return _post(request, key, "milestone_done", lambda exercise: ConfirmForm(request.POST),
                 act, "milestones")


@require_POST
def conference_visit(request: HttpRequest, key: str) -> HttpResponse:
    user = request.user

    def make(exercise: Exercise) -> forms.Form:
        milestones = _listed(user, selectors.milestones_of(user, exercise),
                             "exercises.planningmilestone")
        return _visit_form(request, request.POST,
                           _upcoming(exercise, milestones, timezone.localdate()))

    def act(exercise: Exercise, form: forms.Form) -> str:
        assert isinstance(form, ConferenceVisitForm)
        data = form.cleaned_data
        milestone = selectors.milestone_for(user, exercise, data["milestone"])
        try:
            visit = services.request_conference_visit(
                user, milestone, host=data["host"], site=data["site"], level=data["level"],
                label=form.label_spec(), purpose=data["purpose"], last_day=data["last_day"])
        except NotFound:
            raise ExerciseError(str(LABEL_REFUSED)) from None
        return _("Request for visit submitted for %(milestone)s (%(visit)s). Your security "
                 "authority will assure your clearance.") % {
            "milestone": milestone.heading, "visit": visit.pk}

    return _post(request, key, "visit", make, act, "milestones")


@require_GET
def overdue(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    milestones = _listed(user, selectors.overdue_milestones(user, today),
                         "exercises.planningmilestone")
    marking = page_banners(request)
    return render(request, "exercises/overdue.html", {
        "rows": [(m, marking(m.exercise.label), exercise_url(m.exercise, "milestones"),
                  (today - m.due_on).days) for m in milestones],
        "today": today,
    })


# --------------------------------------------------------------------------- exchanges


@require_GET
def exchange_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ExchangeFilterForm(request.GET)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {"state": form.cleaned_data["state"], "kind": form.cleaned_data["kind"]}
    rows = selectors.visible_exchanges(user, **filters)
    total = rows.count()
    page, pages = _page_number(request, total, selectors.PAGE_SIZE)
    offset = (page - 1) * selectors.PAGE_SIZE
    exchanges = list(rows[offset:offset + selectors.PAGE_SIZE])
    record_listing(user, exchanges, what="exercises.staffexchange")  # type: ignore[arg-type]
    exercises = _visible_exercises(user, [x.exercise for x in exchanges])
    marking = page_banners(request)
    return render(request, "exercises/exchange_list.html", {
        "form": form, "total": total, **_paging(page, pages),
        "rows": [(x, marking(x.visit.label), reverse("industry:visit", args=[x.visit_id]),
                  exercises.get(x.exercise_id),
                  exercise_url(exercises[x.exercise_id]) if x.exercise_id in exercises
                  else None) for x in exchanges],
    })


@GET_POST
def exchange_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {"exercise": request.GET.get("exercise", "")[:64]}
    form = ExchangeForm(request.POST or None, user=user, initial=initial,
                        partners=industry_selectors.partner_nations(user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            exercise = None
            if code := data["exercise"].strip():
                try:
                    exercise = selectors.exercise_for(user, code)
                except NotFound:
                    raise ExerciseError(_("No exercise you may view has this code.")) from None
            exchange = services.request_exchange(
                user, kind=data["kind"], host=data["host"], site=data["site"],
                first_day=data["first_day"], last_day=data["last_day"],
                purpose=data["purpose"], level=data["level"], label=form.label_spec(),
                exercise=exercise)
        except (ExerciseError, LabelError) as exc:
            form.add_error(None, str(exc))
        except NotFound:
            form.add_error(None, str(LABEL_REFUSED))
        else:
            messages.success(request, _("Exchange requested. Your security authority will assure "
                                        "your clearance; the host nation's security authority "
                                        "then approves or refuses it on this page."))
            return redirect("industry:visit", exchange.visit_id)
    return render(request, "exercises/exchange_form.html", {"form": form},
                  status=400 if form.errors else 200)


# --------------------------------------------------------------------------- calendar


@dataclass
class CalendarItem:
    event: selectors.CalendarEvent
    link: str
    marking: Any  # the banner of a classified item, None otherwise


@dataclass
class CalendarDay:
    day: dt.date
    in_month: bool
    items: list[CalendarItem]


def _month_of(text: str | None, today: dt.date) -> dt.date:
    """The first day of the month asked for (``YYYY-MM``), this month if none or not one."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        if 1000 <= year <= 9998:
            return dt.date(year, month, 1)
    except ValueError:
        pass
    return today.replace(day=1)


def _month_end(first: dt.date) -> dt.date:
    return first.replace(day=monthly.monthrange(first.year, first.month)[1])


def _shift(first: dt.date, months: int) -> dt.date | None:
    index = first.year * 12 + first.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, 1) if 1000 <= year <= 9998 else None


def _event_link(event: selectors.CalendarEvent) -> str:
    if event.what == "exchange":
        return reverse("industry:visit", args=[event.uid.removeprefix("exchange-")])
    return event.link


@require_GET
def calendar(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    first = _month_of(request.GET.get("month"), today)
    last = _month_end(first)
    grid_start = first - dt.timedelta(days=first.weekday())
    grid_end = last + dt.timedelta(days=6 - last.weekday())
    events = selectors.calendar(user, grid_start, grid_end, on=today)
    marking = page_banners(request)
    items = [CalendarItem(e, _event_link(e), marking(e.label) if e.classified else None)
             for e in events]
    days = [grid_start + dt.timedelta(days=n) for n in range((grid_end - grid_start).days + 1)]
    cells = [CalendarDay(day, day.month == first.month,
                         [i for i in items if i.event.first_day <= day <= i.event.last_day])
             for day in days]
    previous, following = _shift(first, -1), _shift(first, 1)
    ics = reverse("exercises:calendar_ics")
    return render(request, "exercises/calendar.html", {
        "month": first, "last": last, "today": today,
        "weeks": [cells[n:n + 7] for n in range(0, len(cells), 7)],
        "events": [i for i in items if i.event.last_day >= first and i.event.first_day <= last],
        "previous": previous.strftime("%Y-%m") if previous else None,
        "next": following.strftime("%Y-%m") if following else None,
        "ics_url": f"{ics}?start={first.isoformat()}&end={last.isoformat()}",
    })


@require_GET
def calendar_ics(request: HttpRequest) -> HttpResponse:
    """The reader's calendar as an iCalendar file: unclassified events only (the selector's
    rule), ``start`` and ``end`` as YYYY-MM-DD (this month by default)."""
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("start") or today.replace(
            day=1).isoformat())
        end = dt.date.fromisoformat(request.GET.get("end") or _month_end(start).isoformat())
    except ValueError:
        return _plain_400(_("Give the period as start=YYYY-MM-DD and end=YYYY-MM-DD."))
    try:
        body = selectors.ics(request.user, start, end, on=today)
    except ValueError as exc:  # the period is too long or ends before it starts
        return _plain_400(str(exc))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="entente-calendar-'
                                       f'{start.isoformat()}-{end.isoformat()}.ics"')
    response["Cache-Control"] = "private, no-store"
    return response


def _plain_400(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
