"""The demo world and the command line work end to end on the real database and keyring."""

from __future__ import annotations

import copy
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from entente import demo
from entente.core.models import User
from entente.security.kernel import visible
from entente.security.models import AuditEvent, SampleRecord
from entente.security.services import open_for
from entente.testing.shared import build_for_the_module

# No module-wide django_db mark: the tests that use the database use the demo world (seeded once
# for the module, entente.testing.shared), and the others use no database.


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _seed() -> dict[str, User]:
    assert demo.seed() is True
    return {u.username: u for u in User.objects.all()}


@pytest.fixture(scope="module")
def _module_world(request, django_db_setup, django_db_blocker):
    """The demo, seeded once for the module (entente.testing.shared); each test starts from it
    as seeded (its own writes, a second seeding or a key rotation's rows, are rolled back)."""
    yield from build_for_the_module(request, django_db_blocker, _seed)


@pytest.fixture
def world(_module_world, db) -> dict[str, User]:
    return copy.deepcopy(_module_world)


def _visible_titles(user: User) -> set[str]:
    return set(visible(user, SampleRecord.objects.all()).values_list("title", flat=True))


def test_demo_seed_is_idempotent_and_complete(world):
    assert demo.seed() is False
    assert SampleRecord.objects.count() == 12
    assert set(world) == {u.username for u in demo.USERS}
    # The expired clearance really is no clearance: chris sees only what needs none.
    assert _visible_titles(world["chris"]) == {
        "UK–Japan security arrangements: points of contact",
        "Muster instructions for classified holdings", "共同訓練の連絡調整要領"}
    # alice (UK NSA, TOP SECRET, crypto, both communities) sees all but Japan-eyes-only.
    assert _visible_titles(world["alice"]) == set(
        SampleRecord.objects.exclude(title="防衛力整備の内部検討").values_list("title", flat=True))
    for record in SampleRecord.objects.select_related("label"):
        assert open_for(record, record.body).decode() in {r[3] for r in demo.RECORDS}



def test_demo_logistics_orders_are_in_every_state_and_the_secret_one_is_hidden(world):
    import datetime as dt

    from django.utils import timezone

    from entente.logistics import selectors
    from entente.logistics.models import (
        REQUIRED_SOURCE_DOCUMENTS,
        ExchangeRate,
        LedgerEntry,
        Order,
        OrderLine,
        OrderState,
        SettlementMethod,
    )

    today = timezone.localdate()
    orders = Order.objects.select_related("label", "activity")
    assert set(orders.values_list("state", flat=True)) == set(OrderState.values)
    settled = orders.filter(state=OrderState.SETTLED)
    assert set(settled.values_list("settlement__method", flat=True)) == set(SettlementMethod.values)
    assert all(o.settled_on and o.settlement.settled_on for o in settled)
    [closed] = orders.filter(state=OrderState.CLOSED)
    assert set(closed.source_documents.values_list("kind", flat=True)) == set(
        REQUIRED_SOURCE_DOCUMENTS)
    [cancelled] = orders.filter(state=OrderState.CANCELLED)
    assert cancelled.events.get(state=OrderState.CANCELLED).note
    [overdue] = orders.filter(selectors.overdue(today))
    assert overdue.overdue_flagged_on == today and overdue.settle_by < today
    assert orders.filter(state=OrderState.RECEIVED).exclude(pk=overdue.pk).exists()
    # Both sides request; both activities; both currencies; several categories.
    assert set(orders.values_list("requesting_nation_id", flat=True)) == {"GBR", "JPN"}
    assert set(orders.values_list("activity__code", flat=True)) == {"bilateral-training",
                                                                     "disaster-response"}
    assert orders.filter(exercise__code=demo.EXERCISE_CODE,
                         exercise__name_en=demo.EXERCISE).count() > 10
    assert set(OrderLine.objects.values_list("currency_id", flat=True)) == {"GBP", "JPY"}
    assert OrderLine.objects.values("category").distinct().count() >= 8
    # Every received order owes its total; every settled or closed one owes nothing.
    for order in orders.filter(received_on__isnull=False):
        owed = sum(LedgerEntry.objects.filter(order=order).values_list("amount", flat=True))
        assert (owed == 0) == (order.state in (OrderState.SETTLED, OrderState.CLOSED)), order
    rates = ExchangeRate.objects.filter(base="GBP", quote="JPY")
    # Working days only: the latest is at most a weekend old.
    assert rates.filter(day__gte=today - dt.timedelta(days=3)).exists() and rates.count() >= 20
    assert all(185 <= r <= 200 for r in rates.values_list("rate", flat=True))
    # Made by the services: every step is audited, as the demo.
    assert AuditEvent.objects.filter(action="order.draft", source="demo").count() == orders.count()

    [secret] = orders.filter(label__classification__code="SECRET")
    for name in ("admin", "chris", "yuki"):  # no clearance, an expired one, HI < GOKUHI
        shown = set(selectors.visible_orders(world[name]).values_list("pk", flat=True))
        assert shown == set(orders.exclude(pk=secret.pk).values_list("pk", flat=True)), name
    for name in ("dan", "kenji"):  # the two officers on the order
        assert selectors.visible_orders(world[name]).count() == orders.count(), name


def test_demo_exercises_cover_every_type_and_state_and_the_secret_one_is_hidden(world):
    import datetime as dt

    from django.utils import timezone

    from entente.exercises import selectors
    from entente.exercises.models import (
        ConferenceVisit,
        Exercise,
        ExerciseKind,
        ExerciseState,
        MilestoneKind,
        StaffExchange,
    )
    from entente.industry.models import VisitState

    today = timezone.localdate()
    exercises = Exercise.objects.select_related("label", "label__classification")
    assert set(exercises.values_list("kind", flat=True)) == set(ExerciseKind.values)
    assert set(exercises.values_list("state", flat=True)) == set(ExerciseState.values)
    assert set(exercises.values_list("lead_nation_id", flat=True)) == {"GBR", "JPN"}
    assert exercises.filter(code=demo.EXERCISE_CODE, name_en=demo.EXERCISE).exists()
    for exercise in exercises:
        assert exercise.name_en and exercise.name_ja, exercise
        assert exercise.locations.exists(), exercise
        assert exercise.label.releasable_to.filter(code__in=["GBR", "JPN"]).count() == 2
    for exercise in exercises.exclude(code=demo.EXERCISE_CODE):
        assert set(exercise.units.values_list("nation_id", flat=True)) == {"GBR", "JPN"}
        assert all(u.personnel > 0 and u.equipment for u in exercise.units.all())
    [completed] = exercises.filter(state=ExerciseState.COMPLETED)
    assert completed.lessons_learned and completed.ends_on < today
    assert not completed.milestones.filter(done_on__isnull=True).exists()
    [cancelled] = exercises.filter(state=ExerciseState.CANCELLED)
    assert cancelled.history.get(state=ExerciseState.CANCELLED).note
    [planning] = exercises.filter(state=ExerciseState.PLANNING)
    assert {MilestoneKind.INITIAL, MilestoneKind.MAIN, MilestoneKind.FINAL} <= set(
        planning.milestones.values_list("kind", flat=True))
    assert planning.milestones.filter(done_on__isnull=False).exists()
    [overdue] = selectors.overdue_milestones(world["dan"], today)
    assert overdue.exercise == planning and overdue.due_on < today
    [conference] = ConferenceVisit.objects.select_related("visit", "milestone")
    assert conference.milestone.exercise == planning
    assert conference.visit.state == VisitState.ASSURED and conference.visit.first_day >= today

    exchanges = StaffExchange.objects.select_related("visit")
    assert set(exchanges.values_list("kind", flat=True)) == {"staff", "academic"}
    assert {VisitState.APPROVED, VisitState.SUBMITTED} <= {x.visit.state for x in exchanges}
    assert exchanges.filter(exercise__isnull=False).exists()
    assert all(x.visit.first_day >= today for x in exchanges)
    # Made by the services: every exercise proposed, every exchange requested, audited.
    assert AuditEvent.objects.filter(action="exercise.propose",
                                     source="demo").count() == exercises.count()
    assert AuditEvent.objects.filter(action="exchange.request",
                                     source="demo").count() == exchanges.count()

    [secret] = exercises.filter(label__classification__code="SECRET")
    assert secret.state == ExerciseState.PROPOSED
    others = {e.pk for e in exercises if e.label.classification.code in {
        "OFFICIAL", "OFFICIAL-SENSITIVE", "TORIATSUKAI-CHUI"}}
    assert others == {e.pk for e in exercises} - {secret.pk}
    start, end = today - dt.timedelta(days=30), today + dt.timedelta(days=365)
    assert secret.starts_on <= end
    secret_event = f"exercise-{secret.pk}"
    for name in ("admin", "chris", "yuki"):  # no clearance, an expired one, HI < GOKUHI
        shown = set(selectors.visible_exercises(world[name]).values_list("pk", flat=True))
        assert shown == others, name
        assert secret_event not in {e.uid for e in selectors.calendar(world[name], start, end)}
    for name in ("dan", "kenji"):  # its proposer, and the Japanese planner who may approve it
        assert selectors.visible_exercises(world[name]).count() == exercises.count(), name
        assert secret_event in {e.uid for e in selectors.calendar(world[name], start, end)}


def test_demo_totp_code_signs_in(world, client):
    response = client.post("/sign-in/", {"username": "kenji", "password": demo.DEMO_PASSWORD,
                                         "otp_token": demo.current_code("kenji")})
    assert response.status_code == 302
    assert "空対空ミサイル推進系の検討" in client.get("/").content.decode()


def test_access_explain_prints_decision_and_reason(world):
    record = SampleRecord.objects.get(title="Air-to-air missile seeker concept trade study")
    allowed = _run("access", "explain", "kenji", f"security.samplerecord:{record.pk}")
    assert allowed.startswith(f"ALLOW view security.samplerecord:{record.pk} for kenji [allowed]")
    denied = _run("access", "explain", "yuki", f"security.samplerecord:{record.pk}",
                  "--language", "ja")
    assert "DENY" in denied and "[clearance]" in denied
    assert "拒否" in denied and "JPN/GOKUHI" in denied
    assert AuditEvent.objects.filter(object_id=str(record.pk), actor="yuki",
                                     allowed=False, source="cli").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("nobody", "security.samplerecord:1"), "No user 'nobody'"),
    (("kenji", "nosuch.model:1"), "is not a model"),
    (("kenji", "core.nation:GBR"), "labelled record"),
    (("kenji", "security.samplerecord:not-an-id"), "No security.samplerecord with id"),
])
def test_access_explain_refuses_bad_input_clearly(world, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("access", "explain", *args, stdout=io.StringIO())


def test_keys_rotate_and_audit_verify_from_the_cli(world):
    out = _run("keys", "rotate")
    assert "GBR: now GBR-" in out and "JPN: now JPN-" in out
    assert _run("audit", "verify").startswith("OK:")
    for record in SampleRecord.objects.select_related("label"):
        open_for(record, record.body)  # still decrypts after rotation
    with pytest.raises(CommandError, match="Unknown nation"):
        call_command("keys", "rotate", "--nation", "FRA", stdout=io.StringIO())


def test_every_message_has_a_japanese_translation():
    from entente.settings import LOCALE_PATHS

    po = (LOCALE_PATHS[0] / "ja" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    entries = po.split("\n\n")[1:]
    untranslated = [e for e in entries if re.search(r'^msgstr ""\Z', e.strip(), re.M)
                    and "#~" not in e]
    assert untranslated == []
    with translation.override("ja"):
        assert translation.gettext("Sign in") == "サインイン"


def test_api_pages_are_cut_in_the_database_and_cover_exactly_the_visible_set(world):
    from entente.testing import verified_client

    client = verified_client(world["alice"])
    pages = [client.get(f"/api/v1/records?offset={o}&limit=4").json() for o in (0, 4, 8, 12)]
    assert [len(p) for p in pages] == [4, 4, 3, 0]
    ids = [r["id"] for page in pages for r in page]
    assert len(set(ids)) == 11
    assert set(ids) == {str(pk) for pk in visible(world["alice"], SampleRecord.objects.all())
                        .values_list("pk", flat=True)}
    for bad in ("offset=-1", "limit=0", "limit=201", "limit=abc"):
        response = client.get(f"/api/v1/records?{bad}")
        assert response.status_code == 422, bad


def test_api_keyset_pages_follow_the_link_header_to_exactly_the_visible_set(world):
    from entente.testing import verified_client

    client = verified_client(world["kenji"])
    seen: list[str] = []
    url: str | None = "/api/v1/records?limit=3"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [r["id"] for r in response.json()]
        link = response.get("Link")
        url = link[1:link.index(">")] if link else None
    expected = [str(pk) for pk in visible(world["kenji"], SampleRecord.objects.order_by(
        "title", "id")).values_list("pk", flat=True)]
    assert seen == expected and len(expected) == 8
    for bad in ("after=garbage", "after=W10", "after=bm90LWpzb24", "after=x&offset=3"):
        response = client.get(f"/api/v1/records?{bad}")
        assert response.status_code == 422, bad
        assert "after" in response.json()["detail"]


def test_demo_dates_survive_a_leap_day():
    import datetime as dt

    assert demo._years_from(dt.date(2028, 2, 29), 5) == dt.date(2033, 2, 28)
    assert demo._years_from(dt.date(2028, 2, 29), -4) == dt.date(2024, 2, 29)


def test_api_list_queries_do_not_grow_with_the_page(world, django_assert_max_num_queries):
    from entente.testing import verified_client

    client = verified_client(world["alice"])
    client.get("/api/v1/records?limit=1")  # warm the per-process reference cache
    # 17 today: a query per banner (label parts, reference token) would push it past 30.
    with django_assert_max_num_queries(20):
        assert len(client.get("/api/v1/records?limit=11").json()) == 11
