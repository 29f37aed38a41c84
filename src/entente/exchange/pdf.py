"""A document version as a marked PDF: the label banner top and bottom of every page.

Every page carries, at the top and at the bottom, the originator's marking and the reader's
nation's equivalent (``labels.banner``) in English and in Japanese, and in the footer the
document id, the version, the reader's own export number ("Export N") and "page x/y". The export
number is counted per reader and document from the audit log, so a printed or leaked copy can be
traced to one audited export.

Rendering is pure Python (fpdf2). Japanese needs a CJK font, which is looked for in the places
the usual distribution packages put it (Debian: ``fonts-noto-cjk``); nothing is configured.

The kernel's decision is the caller's: obtain the document with
``selectors.document_for(user, id, Action.EXPORT)`` and the version with ``version_for``, then
call ``export_pdf``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from fontTools import subset as ft_subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from entente.exchange.models import Attachment, Document, DocumentVersion
from entente.security import audit, kernel
from entente.security.labels import Banner, banner
from entente.security.models import AuditEvent

EXPORT_ACTION = "document.export_pdf"
DOCUMENT_TYPE = "exchange.document"

# (path, index of the Japanese face in a font collection). Debian and Ubuntu first (the package
# fonts-noto-cjk), then other distributions' locations of the same font, then IPAex/IPA Gothic.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKjp-Regular.otf", 0),
    ("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", 0),
    ("/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf", 0),
    ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0),
    ("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf", 0),
)

_FAMILY = "entente-cjk"
_MARGIN = 15.0          # mm, left and right
_HEADER_BOTTOM = 24.0   # mm from the top: where the content starts
_FOOTER_HEIGHT = 22.0   # mm reserved at the bottom for the page details and the banner


class PdfFontMissing(RuntimeError):
    """No font that can show Japanese is installed; the message says what to install."""


@dataclass(frozen=True)
class CjkFont:
    path: Path
    index: int  # the Japanese face within a font collection (.ttc)


def find_cjk_font(candidates: Sequence[tuple[str, int]] = FONT_CANDIDATES) -> CjkFont:
    """The first installed candidate, or PdfFontMissing saying what to install."""
    for name, index in candidates:
        if Path(name).is_file():
            return CjkFont(Path(name), index)
    raise PdfFontMissing(
        "Cannot render a PDF: no font that can show Japanese is installed. Looked for: "
        + ", ".join(name for name, _ in candidates)
        + ". On Debian or Ubuntu install it with: apt-get install fonts-noto-cjk")


def _truetype_subset(font: CjkFont, text: Iterable[str], target: Path) -> Path:
    """The glyphs ``text`` needs, as a small TrueType file at ``target`` (from a per-process
    cache of recent subsets: exporting the same document again, or to another reader of the
    same nation, needs the same glyphs, and subsetting takes about half a second)."""
    characters = frozenset({ord(c) for chunk in text for c in chunk} | set(range(0x20, 0x7F)))
    target.write_bytes(_subset_bytes(font, characters))
    return target


@functools.lru_cache(maxsize=64)
def _subset_bytes(font: CjkFont, characters: frozenset[int]) -> bytes:
    """The subset as bytes (glyph outlines of a public font: nothing classified is kept)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "subset.ttf"
        _make_subset(font, characters, path)
        return path.read_bytes()


def _make_subset(font: CjkFont, characters: frozenset[int], target: Path) -> None:
    """Write the subset of ``font`` holding ``characters`` to ``target``.

    Noto Sans CJK is CID-keyed CFF, which fpdf2 embeds with a custom encoding CMap that some
    extractors (pypdf among them) cannot read back: they see one byte per character and the text
    is lost. Subset first (a few hundred glyphs), then convert the outlines to TrueType
    quadratics, and fpdf2 writes the plain Identity-H encoding every reader understands. The
    subset also keeps the PDF small: a few hundred kilobytes at most, not the 16 MB collection."""
    ttfont = TTFont(str(font.path), fontNumber=font.index, lazy=True)
    options = ft_subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=characters)
    subsetter.subset(ttfont)
    if "glyf" not in ttfont:
        order = ttfont.getGlyphOrder()
        glyphs = ttfont.getGlyphSet()
        glyf = newTable("glyf")
        glyf.glyphOrder, glyf.glyphs = order, {}
        for name in order:
            pen = TTGlyphPen(glyphs)
            glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyf.glyphs[name] = pen.glyph()
        ttfont["loca"], ttfont["glyf"] = newTable("loca"), glyf
        for tag in ("CFF ", "CFF2", "VORG"):
            if tag in ttfont:
                del ttfont[tag]
        maxp = ttfont["maxp"]
        maxp.tableVersion = 0x00010000
        for attribute in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                          "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                          "maxComponentElements"):
            setattr(maxp, attribute, 0)
        maxp.maxZones = 1
        post = ttfont["post"]
        post.formatType, post.extraNames, post.mapping = 2.0, [], {}
        post.glyphOrder = order
        ttfont["head"].glyphDataFormat = 0
        ttfont.sfntVersion = "\0\1\0\0"
    ttfont.save(str(target))
    ttfont.close()


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n:,} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({n:,} bytes)"
        value /= 1024
    return f"{n:,} bytes"  # pragma: no cover


def _banner_lines(mark: Banner) -> tuple[str, str]:
    """The banner in English (``Banner.text``) and in Japanese."""
    parts = [mark.original_ja]
    if mark.equivalent_ja:
        parts.append(f"（{mark.equivalent_ja}）")
    if mark.caveats:
        parts.append(mark.caveats)
    parts.append(f"REL {mark.releasable_to}")
    return mark.text(), " ".join(parts)


_RED = (150, 0, 0)


class _MarkedPdf(FPDF):
    """An A4 page whose header and footer are the label banner."""

    def __init__(self, *, banner_lines: tuple[str, str], details: str, nb_alias: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.banner_lines = banner_lines
        self.details = details
        self.nb_alias = nb_alias

    def _banner(self, y: float) -> None:
        english, japanese = self.banner_lines
        width = self.w - 2 * _MARGIN
        self.set_text_color(*_RED)
        self.set_xy(_MARGIN, y)
        self.set_font(_FAMILY, "", 10.5)
        self.cell(width, 5, english, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(_FAMILY, "", 9.5)
        self.cell(width, 4.5, japanese, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    def _rule(self, y: float) -> None:
        self.set_draw_color(*_RED)
        self.set_line_width(0.4)
        self.line(_MARGIN, y, self.w - _MARGIN, y)

    def header(self) -> None:
        self._banner(6)
        self._rule(17)
        self.set_font(_FAMILY, "", 7.5)
        self.set_xy(_MARGIN, 18)
        self.cell(self.w - 2 * _MARGIN, 4, self.details, align=Align.C)
        self.set_xy(_MARGIN, _HEADER_BOTTOM)

    def footer(self) -> None:
        top = self.h - _FOOTER_HEIGHT + 2
        self._rule(top)
        self.set_font(_FAMILY, "", 7)
        self.set_xy(_MARGIN, top + 1)
        self.cell(self.w - 2 * _MARGIN, 4,
                  f"{self.details} · Page {self.page_no()}/{self.nb_alias}", align=Align.C)
        self._banner(top + 6)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(_FAMILY, "", 13)
        self.multi_cell(0, 6.5, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def paragraphs(self, text: str, size: float = 10.5) -> None:
        self.set_font(_FAMILY, "", size)
        self.multi_cell(0, size * 0.5, text, align=Align.L, new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT)


def render_document_pdf(*, document: Document, version: DocumentVersion, body: str, reader: Any,
                        export_number: int, attachments: Sequence[Attachment] | None = None,
                        at: dt.datetime | None = None) -> bytes:
    """The PDF of one version as ``reader`` exports it. ``body`` is the version's plaintext
    (``selectors.version_body``); attachments are listed (name, size, SHA-256), not embedded, and
    default to those of the version the reader may see."""
    if version.document_id != document.pk:
        raise ValueError("The version does not belong to the document.")
    font = find_cjk_font()
    lines = _banner_lines(banner(version.label, getattr(reader, "nationality_id", None)))
    at = (at or timezone.now()).astimezone(dt.UTC)
    details = (f"Document {document.pk} · Version {version.number} · Export {export_number} "
               f"for {getattr(reader, 'username', '')} · {at:%Y-%m-%d %H:%M} UTC")
    if attachments is None:
        attachments = list(kernel.visible(reader, version.attachments.all())
                           .order_by("filename", "id"))
    body = (body or "—").replace("\r\n", "\n").replace("\r", "\n")
    about = (f"Label / 表示: {version.label.canonical}\n"
             f"Version {version.number} of {document.current_version} (版 {version.number}) · "
             f"created {version.created_at:%Y-%m-%d}")
    summaries = [s for s in (document.summary_en, document.summary_ja) if s]
    titles = [t for t in (document.title_en, document.title_ja) if t]
    listed = [(a.filename, f"{_size(a.size)} · SHA-256 {a.sha256}") for a in attachments]
    headings = ("Summary / 概要", "Text / 本文",
                f"Attachments / 添付ファイル ({len(attachments)})", "None / なし")
    everything = [*lines, details, "· Page /", body, about, *summaries, *titles, *headings,
                  *(part for pair in listed for part in pair)]

    # The page-count alias is random, so a body that happens to contain "{nb}" stays as written.
    pdf = _MarkedPdf(banner_lines=lines, details=details, nb_alias=f"{{nb-{uuid.uuid4().hex}}}")
    pdf.alias_nb_pages(pdf.nb_alias)
    pdf.set_margins(_MARGIN, _HEADER_BOTTOM, _MARGIN)
    pdf.set_auto_page_break(True, margin=_FOOTER_HEIGHT + 2)
    pdf.set_title(document.title)
    pdf.set_subject(lines[0])
    pdf.set_creator("Entente")
    pdf.set_author(getattr(reader, "username", ""))
    pdf.set_creation_date(at)
    with tempfile.TemporaryDirectory(prefix="entente-pdf-") as scratch:
        # Only glyph outlines are written there (no document text), and removed on return.
        subset_path = _truetype_subset(font, everything, Path(scratch) / "font.ttf")
        pdf.add_font(_FAMILY, "", str(subset_path))
        pdf.add_page()
        pdf.set_font(_FAMILY, "", 17)
        for title in titles:
            pdf.multi_cell(0, 8.5, title, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        pdf.paragraphs(about, 8.5)
        if summaries:
            pdf.heading(headings[0])
            for summary in summaries:
                pdf.paragraphs(summary)
                pdf.ln(1.5)
        pdf.heading(headings[1])
        pdf.paragraphs(body)
        pdf.heading(headings[2])
        if not listed:
            pdf.paragraphs(headings[3], 9.5)
        for name, facts in listed:
            pdf.paragraphs(name, 10)
            pdf.paragraphs(facts, 8.5)
            pdf.ln(1)
        return bytes(pdf.output())


def _exports(reader: Any, document: Document) -> int:
    return AuditEvent.objects.filter(actor_id=reader.pk, action=EXPORT_ACTION,
                                     object_type=DOCUMENT_TYPE,
                                     object_id=str(document.pk)).count()


def next_export_number(reader: Any, document: Document) -> int:
    """1 for the reader's first PDF export of the document, then 2, 3, … (from the audit log)."""
    return _exports(reader, document) + 1


def export_pdf(*, reader: Any, document: Document, version: DocumentVersion,
               body: str) -> tuple[bytes, int]:
    """Render and audit one export; returns the PDF and its export number.

    The caller has already had the kernel decide (``document_for(user, id, Action.EXPORT)``).
    The number is checked again under the audit chain's lock when the event is written, so two
    exports by the same reader at once never print the same number (the loser re-renders)."""
    number = next_export_number(reader, document)
    for _attempt in range(5):
        content = render_document_pdf(document=document, version=version, body=body,
                                      reader=reader, export_number=number)
        with transaction.atomic():
            audit._lock_chain()  # held to the end of the transaction, across record()
            current = next_export_number(reader, document)
            if current == number:
                audit.record(EXPORT_ACTION, actor=reader, obj=document, allowed=True,
                             detail={"export_number": number, "version": version.number,
                                     "sha256": hashlib.sha256(content).hexdigest()})
                return content, number
        number = current
    raise RuntimeError("Could not number this export: too many concurrent exports; try again.")
