"""Exported PDFs: the banner top and bottom of every page, in both nations' markings and both
languages; the document, version and the reader's own export number on every page; Japanese text
that survives; and export numbers counted per reader in the audit log."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from entente.exchange import pdf, selectors, services
from entente.exchange.services import IncomingFile
from entente.security.kernel import Action
from entente.security.labels import LabelSpec
from entente.security.models import AuditEvent
from entente.testing import make_user

pytestmark = pytest.mark.django_db

JAPANESE = "日英情報保護協定に基づき提供された資料です。取扱いには十分注意してください。"


def _squash(text: str) -> str:
    # Where a line breaks and how pypdf spaces glyphs are layout, not content: compare without
    # whitespace.
    return re.sub(r"\s+", "", text)


def _pages(content: bytes) -> list[str]:
    return [_squash(page.extract_text() or "") for page in PdfReader(io.BytesIO(content)).pages]


def _long_body() -> str:
    paragraphs = []
    for i in range(1, 61):
        paragraphs.append(f"Paragraph {i}. The seeker trials continue at the range; results are "
                          "recorded by both delegations and reviewed at the next meeting.")
        paragraphs.append(f"第{i}段落。{JAPANESE}")
    return "\n\n".join(paragraphs)


@pytest.fixture
def world():
    alice = make_user("alice", "GBR", clearance="SECRET")
    bob = make_user("bob", "GBR", clearance="SECRET")
    haruka = make_user("haruka", "JPN", clearance="GOKUHI")
    document = services.create_document(
        actor=alice, label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"),
        title_en="Seeker trials", title_ja="シーカー試験", summary_en="Joint trials summary.",
        summary_ja="共同試験の概要。", body=_long_body(),
        files=[IncomingFile("results.csv", "text/csv", io.BytesIO(b"a,b\n1,2\n"))])
    return {"alice": alice, "bob": bob, "haruka": haruka, "document": document}


def _export(user, document):
    found = selectors.document_for(user, document.pk, Action.EXPORT)
    version = selectors.version_for(user, found, action=Action.EXPORT)
    return pdf.export_pdf(reader=user, document=found, version=version,
                          body=selectors.version_body(version))


def test_every_page_carries_both_banners_top_and_bottom_and_the_export_details(world):
    content, number = _export(world["haruka"], world["document"])
    assert number == 1 and content.startswith(b"%PDF-")
    pages = _pages(content)
    assert len(pages) >= 3
    document = world["document"]
    for index, text in enumerate(pages, start=1):
        # Originator's marking and the Japanese reader's equivalent, in English and Japanese.
        assert text.count("GBRSECRET(JPNSECRET(Gokuhi))") == 2, index
        assert text.count("GBR極秘（JPN極秘）") == 2, index
        assert text.count("RELGBR/JPN") == 4, index
        assert f"Document{document.pk}" in text
        assert "Version1" in text and "Export1forharuka" in text
        assert f"Page{index}/{len(pages)}" in text
        # The banner really is at both ends of the page.
        assert text.startswith("GBRSECRET(JPNSECRET(Gokuhi))"), index
        assert text.endswith("RELGBR/JPN"), index


def test_the_originators_own_reader_sees_no_equivalent(world):
    content, _ = _export(world["alice"], world["document"])
    first = _pages(content)[0]
    assert first.startswith("GBRSECRETRELGBR/JPN") and "GBR極秘RELGBR/JPN" in first
    assert "(JPN" not in first and "（JPN" not in first


def test_content_japanese_text_titles_summaries_and_attachments_are_extractable(world):
    content, _ = _export(world["haruka"], world["document"])
    text = "".join(_pages(content))
    assert "Seekertrials" in text and "シーカー試験" in text
    assert "Jointtrialssummary." in text and "共同試験の概要。" in text
    assert _squash(f"第60段落。{JAPANESE}") in text
    assert "Paragraph60." in text
    attachment = world["document"].versions.get().attachments.get()
    assert "results.csv" in text and attachment.sha256 in text and "8bytes" in text


def test_export_numbers_count_per_reader_and_are_audited(world):
    document = world["document"]
    assert pdf.next_export_number(world["alice"], document) == 1
    assert _export(world["alice"], document)[1] == 1
    content, number = _export(world["alice"], document)
    assert number == 2
    assert "Export2foralice" in _pages(content)[-1]
    assert _export(world["bob"], document)[1] == 1
    assert pdf.next_export_number(world["alice"], document) == 3
    events = AuditEvent.objects.filter(action="document.export_pdf").order_by("seq")
    assert [(e.actor, e.object_type, e.object_id, e.allowed, e.details["export_number"],
             e.details["version"]) for e in events] == [
        ("alice", "exchange.document", str(document.pk), True, 1, 1),
        ("alice", "exchange.document", str(document.pk), True, 2, 1),
        ("bob", "exchange.document", str(document.pk), True, 1, 1),
    ]


def test_text_with_hundreds_of_distinct_kanji_is_extracted_exactly(world):
    # More than 256 distinct glyphs: a one-byte reading of the font's codes would garble them.
    kanji = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 600))
    document = world["document"]
    version = document.versions.get()
    content = pdf.render_document_pdf(document=document, version=version, body=kanji,
                                      reader=world["haruka"], export_number=7)
    text = "".join(_pages(content))
    assert kanji in text and "Export7forharuka" in text


def test_a_version_of_another_document_is_refused(world):
    other = services.create_document(actor=world["alice"], label=LabelSpec.parse(
        "GBR/SECRET|rel=GBR,JPN"), title_en="Other", body="x")
    with pytest.raises(ValueError, match="does not belong"):
        pdf.render_document_pdf(document=world["document"], version=other.versions.get(),
                                body="x", reader=world["alice"], export_number=1)


def test_a_missing_japanese_font_is_a_clear_error(tmp_path):
    with pytest.raises(pdf.PdfFontMissing, match="apt-get install fonts-noto-cjk"):
        pdf.find_cjk_font([(str(tmp_path / "none.ttc"), 0)])
