"""Reference data is data: versions stay readable, and a third nation needs no code."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from entente.security import reference
from entente.security.kernel import Action
from entente.security.labels import LabelSpec
from entente.security.models import Equivalence, EquivalenceTable
from entente.security.selectors import NotFound, record_for
from entente.security.services import create_sample_record
from entente.testing import make_user, organisation

pytestmark = pytest.mark.django_db

AUSTRALIA = {
    "nations": [{"code": "AUS", "name_en": "Australia", "name_ja": "オーストラリア",
                 "markings": [
                     {"code": "OFFICIAL", "name_en": "OFFICIAL", "level": 1,
                      "requires_clearance": False},
                     {"code": "PROTECTED", "name_en": "PROTECTED", "level": 2},
                     {"code": "SECRET", "name_en": "SECRET", "level": 3},
                     {"code": "TOP-SECRET", "name_en": "TOP SECRET", "level": 4}]}],
    "caveats": [{"code": "aus-eyes-only", "name_en": "AUSTEO", "eyes_only": "AUS"}],
}
AUS_TABLE = {"versions": [{
    "version": "GBR-JPN-AUS-2026", "effective_from": "2026-01-01",
    "title": "Trilateral annex (test)",
    "entries": [
        *[{"source": s, "target": t, "effective_from": "2013-07-04"} for s, t in [
            ("GBR/TOP-SECRET", "JPN/KIMITSU"), ("GBR/SECRET", "JPN/GOKUHI"),
            ("JPN/KIMITSU", "GBR/TOP-SECRET"), ("JPN/GOKUHI", "GBR/SECRET"),
            ("JPN/HI", "GBR/SECRET")]],
        *[{"source": s, "target": t, "effective_from": "2026-01-01"} for s, t in [
            ("GBR/SECRET", "AUS/SECRET"), ("AUS/SECRET", "GBR/SECRET"),
            ("JPN/GOKUHI", "AUS/SECRET"), ("AUS/SECRET", "JPN/GOKUHI")]],
    ]}]}


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_bundled_tables_are_loaded_and_history_stays_readable():
    versions = list(EquivalenceTable.objects.order_by("effective_from")
                    .values_list("version", flat=True))
    assert versions == ["ISA-2013", "ISA-2014-GSCP"]
    assert reference.table_in_force(dt.date(2014, 1, 1)).version == "ISA-2013"
    assert reference.table_in_force(dt.date(2026, 11, 25)).version == "ISA-2014-GSCP"
    old = {(e.source.key, e.target.key) for e in
           Equivalence.objects.filter(table__version="ISA-2013").select_related(
               "source", "target")}
    assert ("JPN/HI", "GBR/CONFIDENTIAL") in old
    assert reference.table_in_force(dt.date(2013, 1, 1)) is None


def test_loading_again_is_idempotent():
    before = Equivalence.objects.count()
    reference.load()
    assert Equivalence.objects.count() == before


def test_a_loaded_version_cannot_be_rewritten(tmp_path):
    data = json.loads((reference.DATA_DIR / "equivalence.json").read_text(encoding="utf-8"))
    data["versions"][1]["entries"][0]["target"] = "JPN/HI"
    with pytest.raises(reference.ReferenceDataError, match="publish the amendment"):
        reference.load([_write(tmp_path, "eq.json", data)])


@pytest.mark.parametrize(("data", "message"), [
    ({"nations": [{"code": "Aus", "name_en": "x"}]}, "not ISO alpha-3"),
    ({"versions": [{"version": "v", "effective_from": "2026-13-01", "entries": []}]},
     "is not a date"),
    ({"versions": [{"version": "v", "effective_from": "2026-01-01",
                    "entries": [{"source": "GBR/SECRET", "target": "NZL/SECRET",
                                 "effective_from": "2026-01-01"}]}]}, "unknown marking"),
])
def test_bad_reference_files_are_refused_and_leave_nothing(tmp_path, data, message):
    tables = EquivalenceTable.objects.count()
    with pytest.raises(reference.ReferenceDataError, match=message):
        reference.load([_write(tmp_path, "bad.json", data)])
    assert EquivalenceTable.objects.count() == tables


def test_third_nation_added_by_data_alone(tmp_path):
    reference.load([_write(tmp_path, "aus.json", AUSTRALIA),
                    _write(tmp_path, "aus-table.json", AUS_TABLE)])
    call_command("keys", "init", "--nation", "AUS", stdout=io.StringIO())  # operations, not code
    aussie = make_user("bruce", "AUS", org=organisation("aus-defence", "AUS"),
                       clearance="SECRET")
    briton = make_user("uk", "GBR", clearance="SECRET")
    to_aus = create_sample_record(actor=briton, owner=organisation("gbr-mod"), title="AUKUS",
                                  body="shared", label=LabelSpec.parse("GBR/SECRET|rel=GBR,AUS"))
    not_to_aus = create_sample_record(actor=briton, owner=organisation("gbr-mod"), title="UK",
                                      body="uk", label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"))
    austeo = create_sample_record(actor=aussie, owner=organisation("aus-defence", "AUS"),
                                  title="AUSTEO", body="au",
                                  label=LabelSpec.parse("AUS/SECRET|rel=AUS|cav=aus-eyes-only"))
    assert record_for(aussie, to_aus.pk, Action.VIEW) == to_aus
    with pytest.raises(NotFound):
        record_for(aussie, not_to_aus.pk)
    assert record_for(aussie, austeo.pk) == austeo
    with pytest.raises(NotFound):
        record_for(briton, austeo.pk)
    # The trilateral table is now in force: JPN/HI is still protected as GBR/SECRET in the UK.
    assert reference.equivalents(dt.date(2026, 11, 25))[
        (reference.Classification.objects.get(nation_id="JPN", code="HI").pk, "GBR")].code == \
        "SECRET"
