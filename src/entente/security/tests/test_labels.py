from __future__ import annotations

import datetime as dt

import pytest

from entente.security.labels import LabelError, LabelSpec, banner, make_label
from entente.security.models import Label
from entente.testing import community

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("text", "message"), [
    ("GBR/SECRETISH|rel=GBR", "is not a marking of GBR"),
    ("GBR/GOKUHI|rel=GBR", "is not a marking of GBR"),
    ("XYZ/SECRET|rel=XYZ", "Unknown originator nation"),
    ("GBR/SECRET|rel=JPN", "must include the originator (GBR)"),
    ("GBR/SECRET", "must say to which nations"),
    ("GBR/SECRET|rel=GBR,FRA", "Unknown nation(s) in releasable-to: FRA"),
    ("GBR/SECRET|rel=GBR|cav=", "must say to which nations"),
    ("GBR/SECRET|rel=GBR|cav=,crypto", "is not a well-formed"),
    ("GBR/SECRET|rel=GBR|cav=Crypto!", "is not a well-formed"),
    ("GBR/SECRET|rel=GBR|cav=atomal", "Unknown caveat(s): atomal"),
    ("GBR/SECRET|rel=GBR,JPN|cav=uk-eyes-only", "releasable-to must be GBR alone"),
    ("GBR/SECRET|rel=GBR|com=nobody", "Unknown community(ies): nobody"),
    ("GBR/CONFIDENTIAL|rel=GBR", "was retired on 2014-04-02"),
    ("SECRET", "starts with NATION/MARKING"),
    ("GBR/SECRET|owner=me", "Unknown label part"),
])
def test_malformed_labels_are_refused_with_a_clear_message(text, message):
    if text.endswith("|cav="):
        text = "GBR/SECRET|rel=|cav="
    before = Label.objects.count()
    with pytest.raises(LabelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_label(LabelSpec.parse(text))
    assert Label.objects.count() == before, "a refused label must leave nothing behind"


def test_canonical_form_is_order_independent_and_round_trips():
    community("proj-a")
    a = LabelSpec.parse("GBR/SECRET|rel=JPN,GBR|cav=crypto|com=proj-a")
    b = LabelSpec("GBR", "SECRET", ("GBR", "JPN"), ("crypto",), ("proj-a",))
    assert a.canonical() == b.canonical() == "GBR/SECRET|rel=GBR,JPN|cav=crypto|com=proj-a"
    assert LabelSpec.parse(a.canonical()).canonical() == a.canonical()
    assert make_label(a).pk == make_label(b).pk


def test_retired_marking_stays_on_labels_applied_before_retirement():
    label = make_label(LabelSpec.parse("GBR/CONFIDENTIAL|rel=GBR,JPN"),
                       applied_on=dt.date(2012, 5, 1))
    assert label.classification.code == "CONFIDENTIAL"


def test_banner_shows_originator_marking_and_reader_equivalent():
    label = make_label(LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"))
    for_japan = banner(label, "JPN")
    assert for_japan.original == "GBR SECRET"
    assert for_japan.equivalent == "JPN SECRET (Gokuhi)"
    assert for_japan.equivalent_ja == "JPN 極秘"
    assert banner(label, "GBR").equivalent is None
    assert for_japan.text() == "GBR SECRET (JPN SECRET (Gokuhi)) REL GBR/JPN"


def test_banner_follows_the_table_in_force_not_the_one_at_labelling():
    label = make_label(LabelSpec.parse("JPN/HI|rel=GBR,JPN"))
    assert banner(label, "GBR").equivalent == "GBR SECRET"
    assert banner(label, "GBR", on=dt.date(2014, 1, 1)).equivalent == "GBR CONFIDENTIAL"
