"""The agreement's terms are data: what is eligible, for which activity, how long settlement may
take. A third agreement (another pair of nations) works from its files alone, and a malformed
file changes nothing."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from entente.core.models import Role
from entente.logistics import selectors, services, terms
from entente.logistics.models import (
    Activity,
    Agreement,
    Category,
    Currency,
    Order,
    OrderLine,
    OrderState,
    SettlementTerm,
)
from entente.logistics.services import LineSpec, LogisticsError
from entente.logistics.terms import TermsError
from entente.security import reference
from entente.security.labels import LabelSpec
from entente.testing import make_user, organisation

from .conftest import DAY, FUEL, UNCLASSIFIED, order_in, refusals

pytestmark = pytest.mark.django_db

S = OrderState
WEAPONS = LineSpec("weapons", "Rifles", "10", "each", "900", "GBP")
AMMUNITION = LineSpec("ammunition", "5.56 mm ball", "10000", "rounds", "0.30", "GBP")
ELIGIBLE_ACTIVITIES = ("bilateral-training", "un-peacekeeping", "international-operation",
                       "humanitarian-relief", "disaster-response", "protection-of-nationals",
                       "routine", "other-lawful")


def draft(world: Any, activity: str | None, *lines: LineSpec, **more: Any) -> Order:
    return services.draft_order(world.uk, supplying_nation="JPN", label=UNCLASSIFIED,
                                activity=activity, settlement_method="reimbursement",
                                lines=lines, on=DAY, **more)


# --------------------------------------------------------------------------- eligibility


def test_weapons_are_refused_by_name(world):
    with pytest.raises(LogisticsError, match=r"^Line 2: Weapons may not be supplied under the "
                                             r"agreement\.$"):
        draft(world, "bilateral-training", FUEL, WEAPONS)
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    order = draft(world, "bilateral-training", FUEL)
    with pytest.raises(LogisticsError, match="Weapons may not be supplied"):
        services.revise_draft(world.uk, order, lines=[WEAPONS])
    assert list(order.lines.values_list("category__code", flat=True)) == ["pol"]
    # Even with no activity yet, a weapon is refused at once.
    with pytest.raises(LogisticsError, match="Weapons may not be supplied"):
        draft(world, None, WEAPONS)


def test_ammunition_only_for_the_activities_the_agreement_allows(world):
    with pytest.raises(LogisticsError) as refused:
        draft(world, "disaster-response", AMMUNITION)
    message = str(refused.value)
    assert message.startswith("Line 1: Ammunition may be supplied only for: Training in which "
                              "both forces take part; United Nations peacekeeping operation")
    assert message.endswith("not for Response to a large-scale disaster.")
    assert not Order.objects.exists()
    order = draft(world, "bilateral-training", AMMUNITION)
    services.request_order(world.uk, order, DAY)
    assert Order.objects.get(pk=order.pk).state == S.REQUESTED
    assert OrderLine.objects.get(order=order).amount == Decimal("3000.00")


def test_an_activity_changed_after_the_lines_is_checked_again_before_the_request(world):
    order = draft(world, None, AMMUNITION)  # no activity yet: nothing to check the line against
    services.revise_draft(world.uk, order, activity="disaster-response")
    with pytest.raises(LogisticsError, match="Ammunition may be supplied only for"):
        services.request_order(world.uk, order, DAY)
    assert Order.objects.get(pk=order.pk).state == S.DRAFTED
    assert refusals("order.request", world.uk, order).count() == 1


def test_an_unknown_activity_is_refused_listing_the_eligible_ones(world):
    with pytest.raises(LogisticsError) as refused:
        draft(world, "arms-sales", FUEL)
    message = str(refused.value)
    assert message.startswith("'arms-sales' is not an activity eligible under the agreement.")
    assert message.endswith("Eligible activities: " + ", ".join(ELIGIBLE_ACTIVITIES) + ".")
    order = draft(world, "routine", FUEL)
    with pytest.raises(LogisticsError, match="'arms-sales' is not an activity"):
        services.revise_draft(world.uk, order, activity="arms-sales")
    assert Order.objects.get(pk=order.pk).activity.code == "routine"


def test_an_unknown_category_is_refused(world):
    with pytest.raises(LogisticsError, match=r"^Line 1: 'lasers' is not a category of supplies "
                                             r"and services of the agreement\.$"):
        draft(world, "routine", LineSpec("lasers", "Dazzlers", "1", "each", "10", "GBP"))
    assert not Order.objects.exists()


# --------------------------------------------------------------------------- terms as data


def _terms() -> dict[str, Any]:
    return json.loads(terms.DEFAULT_FILES[0].read_text(encoding="utf-8"))


def _write(tmp_path: Path, name: str, data: dict[str, Any] | str) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_loading_the_terms_again_changes_nothing(world):
    before = _state()
    assert terms.load() == [str(terms.DEFAULT_FILES[0])]
    assert _state() == before


def test_new_terms_apply_to_orders_already_drafted_or_requested(world, tmp_path):
    drafted = draft(world, "routine", LineSpec("food", "Rations", "10", "meals", "8", "GBP"))
    requested = draft(world, "routine", LineSpec("food", "Rations", "10", "meals", "8", "GBP"))
    services.request_order(world.uk, requested, DAY)
    received = order_in(world, S.PROVIDED)
    amended = _terms()
    agreement = amended["agreements"][0]
    for category in agreement["categories"]:
        if category["code"] == "food":
            category["eligible"] = False
    agreement["settlement"][0]["days"] = 60
    terms.load([_write(tmp_path, "amended.json", amended)])
    with pytest.raises(LogisticsError, match="Food may not be supplied"):
        services.request_order(world.uk, drafted, DAY)
    with pytest.raises(LogisticsError, match="Food may not be supplied"):
        services.accept_order(world.jp, requested, DAY)
    assert refusals("order.accept", world.jp, requested).count() == 1
    assert Order.objects.get(pk=requested.pk).state == S.REQUESTED
    services.sign_receipt(world.uk, received, DAY)
    assert Order.objects.get(pk=received.pk).settle_by == DAY + dt.timedelta(days=60)
    # The category is kept on record (orders name it), only no longer eligible.
    assert Category.objects.get(code="food").eligible is False


AUSTRALIA = {"nations": [{"code": "AUS", "name_en": "Australia", "name_ja": "オーストラリア",
                          "markings": [
                              {"code": "OFFICIAL", "name_en": "OFFICIAL", "level": 1,
                               "requires_clearance": False},
                              {"code": "SECRET", "name_en": "SECRET", "level": 3}]}]}

AUS_GBR: dict[str, Any] = {
    "currencies": [{"code": "AUD", "name_en": "Australian dollar", "minor_units": 2}],
    "agreements": [{
        "code": "acsa-aus-gbr", "name_en": "Australia–UK cross-servicing arrangement",
        "parties": ["AUS", "GBR"], "in_force_from": "2024-01-01",
        "equal_value_tolerance_percent": "0.50",
        "activities": [{"code": "talisman-sabre", "name_en": "Exercise Talisman Sabre"},
                       {"code": "hadr", "name_en": "Humanitarian assistance"}],
        "categories": [{"code": "fuel", "name_en": "Fuel"},
                       {"code": "rations", "name_en": "Rations", "allowed_for": ["hadr"]},
                       {"code": "ammunition", "name_en": "Ammunition", "eligible": False}],
        "settlement": [{"method": "reimbursement", "days": 30},
                       {"method": "replacement", "days": 60},
                       {"method": "equal-value", "days": 120}],
    }],
}


@pytest.fixture
def australia(world, tmp_path) -> Any:
    """Australia as reference data (its markings, and an equivalence table in force that adds
    its OFFICIAL to the UK–Japan one), an Australian logistics officer, and nothing else."""
    reference.load([_write(tmp_path, "aus.json", AUSTRALIA)])
    today = timezone.localdate()
    in_force = reference.table_in_force(today)
    assert in_force is not None
    entries = [{"source": e.source.key, "target": e.target.key,
                "effective_from": e.effective_from.isoformat()}
               for e in in_force.entries.select_related("source", "target")]
    entries += [{"source": "GBR/OFFICIAL", "target": "AUS/OFFICIAL", "effective_from": "2020-01-01"},
                {"source": "AUS/OFFICIAL", "target": "GBR/OFFICIAL", "effective_from": "2020-01-01"}]
    table = {"versions": [{"version": "TEST-AUS-2020", "effective_from": "2020-01-01",
                           "title": "With Australia", "entries": entries}]}
    reference.load([_write(tmp_path, "aus-table.json", table)])
    return make_user("au-log", "AUS", org=organisation("adf", "AUS"),
                     roles=[Role.LOGISTICS_OFFICER])


def test_a_third_agreement_works_from_its_terms_file_alone(world, australia, tmp_path):
    au = australia
    label = LabelSpec("GBR", "OFFICIAL", ("AUS", "GBR"))
    with pytest.raises(LogisticsError, match="no cross-servicing agreement between GBR and AUS"):
        services.draft_order(world.uk, supplying_nation="AUS", label=label)
    assert terms.load([_write(tmp_path, "aus-gbr.json", AUS_GBR)])
    agreement = Agreement.objects.get(code="acsa-aus-gbr")
    assert sorted(agreement.parties.values_list("code", flat=True)) == ["AUS", "GBR"]
    assert agreement.equal_value_tolerance_percent == Decimal("0.50")
    assert Currency.objects.get(code="AUD").minor_units == 2

    def order(activity: str, *lines: LineSpec) -> Order:
        return services.draft_order(world.uk, supplying_nation="AUS", label=label,
                                    activity=activity, settlement_method="reimbursement",
                                    lines=lines, on=DAY)

    fuel = LineSpec("fuel", "Diesel", "2000", "litres", "1.9149", "AUD")
    # This agreement's lists, not the UK–Japan one's.
    with pytest.raises(LogisticsError, match=r"Eligible activities: talisman-sabre, hadr\.$"):
        order("bilateral-training", fuel)
    with pytest.raises(LogisticsError, match="'pol' is not a category"):
        order("talisman-sabre", FUEL)
    with pytest.raises(LogisticsError, match="Ammunition may not be supplied"):
        order("talisman-sabre", LineSpec("ammunition", "Rounds", "1", "each", "1", "AUD"))
    with pytest.raises(LogisticsError, match="Rations may be supplied only for: Humanitarian "
                                             "assistance; not for Exercise Talisman Sabre"):
        order("talisman-sabre", LineSpec("rations", "Ration packs", "1", "each", "1", "AUD"))
    placed = order("talisman-sabre", fuel)
    assert placed.agreement == agreement and placed.number.startswith("GBR-2026-")
    services.request_order(world.uk, placed, DAY)
    services.accept_order(au, placed, DAY)
    services.record_provision(au, placed, DAY)
    with pytest.raises(LogisticsError, match="requesting party \\(GBR\\)"):
        services.sign_receipt(au, placed, DAY)
    services.sign_receipt(world.uk, placed, DAY)
    placed.refresh_from_db()
    assert placed.settle_by == DAY + dt.timedelta(days=30)  # this agreement's period
    assert [(b.debtor, b.creditor, b.amounts) for b in selectors.balances(au, DAY)] == [
        ("GBR", "AUS", {"AUD": Decimal("3829.80")})]
    # The Australian officer sees this order and none of the UK–Japan ones.
    uk_jp = order_in(world, S.RECEIVED)
    assert [o.pk for o in selectors.list_orders(au)] == [placed.pk]
    assert {(b.debtor, b.creditor) for b in selectors.balances(world.uk, DAY)} == {
        ("GBR", "AUS"), ("GBR", "JPN")}
    assert uk_jp.agreement.code == "acsa-gbr-jpn"
    services.record_payment(au, placed, "AU-EFT-1", DAY + dt.timedelta(days=29))
    assert selectors.balances(au, DAY + dt.timedelta(days=29))[0].amounts == {"AUD": 0}


# --------------------------------------------------------------------------- malformed files


def _state() -> tuple[Any, ...]:
    """Every row the terms loader writes."""
    return (list(Currency.objects.order_by("code").values()),
            list(Agreement.objects.order_by("code").values()),
            sorted(Agreement.parties.through.objects.values_list("agreement_id", "nation_id")),
            list(Activity.objects.order_by("id").values()),
            list(Category.objects.order_by("id").values()),
            sorted(Category.allowed_for.through.objects.values_list("category_id",
                                                                    "activity_id")),
            list(SettlementTerm.objects.order_by("id").values()))


def _broken(change: Any) -> Any:
    def make() -> Any:
        data = copy.deepcopy(AUS_GBR)
        change(data, data["agreements"][0])
        return data
    return make


def _set(key: str, value: Any) -> Any:
    return _broken(lambda data, a: a.__setitem__(key, value))


MALFORMED = {
    "not JSON": (lambda: '{"currencies": [', "cannot read agreement terms"),
    "no such file": (None, "cannot read agreement terms"),
    "unknown nation": (_set("parties", ["AUS", "XYZ"]), "unknown nation XYZ"),
    "one party twice": (_set("parties", ["GBR", "GBR"]), "exactly two parties"),
    "three parties": (_set("parties", ["AUS", "GBR", "JPN"]), "exactly two parties"),
    "bad currency code": (_broken(lambda d, a: d["currencies"][0].__setitem__("code", "aud")),
                          "ISO 4217"),
    "bad minor units": (_broken(lambda d, a: d["currencies"][0].__setitem__("minor_units", 7)),
                        "minor_units"),
    "bad date": (_set("in_force_from", "next spring"), "not a date"),
    "tolerance not a number": (_set("equal_value_tolerance_percent", "one"), "not a number"),
    "tolerance above 100": (_set("equal_value_tolerance_percent", "150"), "between 0 and 100"),
    "allowed for an unknown activity": (
        _broken(lambda d, a: a["categories"][1].__setitem__("allowed_for", ["parade"])),
        "unknown activity parade"),
    "a method without a period": (_broken(lambda d, a: a["settlement"].pop()),
                                  "every method"),
    "an unknown method": (_broken(lambda d, a: a["settlement"][0].__setitem__("method", "barter")),
                          "unknown settlement method 'barter'"),
    "zero days": (_broken(lambda d, a: a["settlement"][1].__setitem__("days", 0)), "days must"),
    "no activities": (_broken(lambda d, a: a.pop("activities")), "missing field 'activities'"),
    "a category without a name": (_broken(lambda d, a: a["categories"][2].pop("name_en")),
                                  "name_en is missing"),
    "eligible as a string": (
        _broken(lambda d, a: a["categories"][2].__setitem__("eligible", "false")),
        "eligible must be true or false"),
    "a code that is not a slug": (
        _broken(lambda d, a: a["activities"][0].__setitem__("code", "Talisman Sabre")),
        "must be 1 to 64 lower-case"),
    "a list, not an object": (lambda: "[]", "expected an object"),
    "an agreement that is not an object": (lambda: {"agreements": ["acsa"]}, "malformed"),
    "categories not a list": (_set("categories", 5), "malformed"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_terms_file_changes_nothing(world, australia, tmp_path, case):
    make, message = MALFORMED[case]
    before = _state()
    good = _write(tmp_path, "good.json", {**_terms(), "currencies": [
        {"code": "USD", "name_en": "US dollar", "minor_units": 2}]})
    bad = _write(tmp_path, "bad.json", make()) if make else tmp_path / "missing.json"
    with pytest.raises(TermsError, match=message):
        terms.load([good, bad])  # the good file before it is not loaded either
    assert _state() == before
    assert not Currency.objects.filter(code__in=["USD", "AUD"]).exists()
    assert not Agreement.objects.filter(code="acsa-aus-gbr").exists()
