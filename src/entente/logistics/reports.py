"""How the logistics pages show money and reports: amounts as text, the marking of a page that
sums many orders, the balance chart as server-drawn SVG geometry (no script), and the statement
of account as streamed CSV and as a marked PDF (the exchange's PDF page, fonts and banner).

Nothing here reads past the kernel: every number comes from ``selectors``, which count only the
orders the reader may view; these functions only shape them.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import itertools
import math
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf.enums import Align, XPos, YPos

from entente.exchange import pdf as exchange_pdf
from entente.logistics import money
from entente.logistics.models import LedgerKind, Order
from entente.logistics.selectors import Statement, orders_in_ledger
from entente.security import reference
from entente.security.labels import Banner, banner
from entente.security.models import Label

# --------------------------------------------------------------------------- amounts


def amount_text(amount: Decimal | None, currency: str, places: dict[str, int]) -> str:
    """``amount`` with thousands separators to the currency's minor unit (sums of exact line
    amounts are exact there already; a converted amount was rounded once by ``money``)."""
    if amount is None:
        return "—"
    value = money.rounded(amount, places.get(currency, 2))
    if value == 0:
        value = abs(value)  # no "-0.00"
    return f"{value:,}"


def plain_amount(amount: Decimal, currency: str, places: dict[str, int]) -> str:
    """For CSV: no separators, the currency's minor unit."""
    value = money.rounded(amount, places.get(currency, 2))
    return f"{abs(value) if value == 0 else value:f}"


def amounts(sums: dict[str, Decimal], places: dict[str, int]) -> list[tuple[str, str]]:
    """(currency, amount as text) for each currency, in currency order."""
    return [(currency, amount_text(value, currency, places))
            for currency, value in sorted(sums.items())]


def number_text(value: Decimal) -> str:
    """A quantity or unit price as typed (no trailing zeros)."""
    normal = value.normalize()
    return f"{normal:f}" if normal != 0 else "0"


# --------------------------------------------------------------------------- markings


def labels_with_parts(label_ids: Iterable[Any]) -> list[Label]:
    return list(Label.objects.filter(pk__in=list(label_ids))
                .prefetch_related("caveats", "releasable_to").order_by("pk"))


@dataclass(frozen=True)
class Marking:
    """The marking of a page or file that sums several orders: the highest of their markings as
    the reader's nation protects them, with every caveat any of them carries and only the
    nations all of them are releasable to. ``exact`` when a single label is involved."""

    banner: Banner
    labels: int
    exact: bool


def highest_marking(labels: Sequence[Label], reader_nation: str | None,
                    on: dt.date | None = None) -> Marking | None:
    """None when no order is included (the page then shows nothing protected)."""
    if not labels:
        return None
    protection = reference.protection(on or timezone.localdate())

    def rank(label: Label) -> tuple[bool, int, int]:
        own = protection.markings[label.classification_id]
        seen = protection.as_seen_by(own.id, reader_nation) if reader_nation else None
        marking = seen or own
        return (marking.requires_clearance, marking.level, len(label.caveats.all()))

    top = max(labels, key=rank)
    shown = banner(top, reader_nation, protection=protection)
    if len(labels) > 1:
        caveats = sorted({c.name_en for label in labels for c in label.caveats.all()})
        releasable = set.intersection(*({n.pk for n in label.releasable_to.all()}
                                        for label in labels))
        shown = dataclasses.replace(shown, caveats=" ".join(caveats),
                                    releasable_to="/".join(sorted(releasable)))
    return Marking(shown, len(labels), len(labels) == 1)


def unprotected_banner(reader_nation: str | None, parties: Iterable[str],
                       on: dt.date | None = None) -> Banner:
    """For a file that includes no order at all: the lowest marking of the reader's scheme
    (one that needs no clearance), releasable to the parties."""
    protection = reference.protection(on or timezone.localdate())
    candidates = [m for m in protection.markings.values()
                  if m.nation == reader_nation and not m.requires_clearance] or [
        m for m in protection.markings.values() if not m.requires_clearance]
    lowest = min(candidates, key=lambda m: (m.level, m.key))
    return Banner(original=f"{lowest.nation} {lowest.name_en}",
                  original_ja=f"{lowest.nation} {lowest.name_ja}", equivalent=None,
                  equivalent_ja=None, caveats="",
                  releasable_to="/".join(sorted(set(parties))))


# --------------------------------------------------------------------------- the balance chart

CHART_WIDTH = 720
CHART_HEIGHT = 300
CHART_LEFT = 100   # room for the amounts of the vertical axis
CHART_RIGHT = 24
CHART_TOP = 16
CHART_BOTTOM = 56  # room for the days under the horizontal axis
MAX_AXIS_LABELS = 7


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover


def balance_chart(points: Sequence[tuple[dt.date, Decimal | None]], currency: str,
                  places: dict[str, int]) -> dict[str, Any]:
    """A line chart of one balance over time, as coordinates for an inline ``<svg>``: the
    template draws it, with no script and no inline style (classes in logistics.css). A point
    whose value is unknown (no exchange rate yet) breaks the line."""
    known = [float(v) for _d, v in points if v is not None]
    if not known:
        return {"empty": True}
    low, high = min(0.0, *known), max(0.0, *known)
    if high == low:
        high = low + 1.0
    step = _nice_step(high - low)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    def y_of(value: float) -> float:
        return round(CHART_TOP + (high - value) / (high - low) * plot_height, 1)

    def x_of(index: int) -> float:
        if len(points) == 1:
            return round(CHART_LEFT + plot_width / 2, 1)
        return round(CHART_LEFT + index * plot_width / (len(points) - 1), 1)

    ticks = []
    tick_places = {currency: 0 if step >= 1 else 2}
    count = round((high - low) / step)
    for i in range(count + 1):
        level = low + i * step
        ticks.append({"y": y_of(level), "text_y": y_of(level) + 4,
                      "text": amount_text(Decimal(str(round(level, 6))), currency,
                                          tick_places)})
    lines: list[list[str]] = [[]]
    dots = []
    # Counted back from the last day, which is always named (in full; month ends by month).
    every = max(1, math.ceil(len(points) / MAX_AXIS_LABELS))
    named = set(range(len(points) - 1, -1, -every))
    days = []
    for index, (day, value) in enumerate(points):
        x = x_of(index)
        if index in named:
            last = index == len(points) - 1
            days.append({"x": x, "y": CHART_HEIGHT - CHART_BOTTOM + 18,
                         "anchor": "end" if last and len(points) > 1 else "middle",
                         "text": day.isoformat() if last else f"{day:%Y-%m}"})
        if value is None:
            if lines[-1]:
                lines.append([])
            continue
        y = y_of(float(value))
        lines[-1].append(f"{x},{y}")
        dots.append({"x": x, "y": y, "day": day.isoformat(),
                     "text": amount_text(value, currency, places)})
    return {
        "empty": False, "width": CHART_WIDTH, "height": CHART_HEIGHT,
        "left": CHART_LEFT, "right": CHART_WIDTH - CHART_RIGHT, "top": CHART_TOP,
        "bottom": CHART_HEIGHT - CHART_BOTTOM, "zero": y_of(0.0), "ticks": ticks,
        "lines": [" ".join(line) for line in lines if line], "dots": dots, "days": days,
        "currency": currency,
    }


# --------------------------------------------------------------------------- statement: CSV


class _Echo:
    """A file-like object whose ``write`` gives back what it is given (for streaming CSV)."""

    def write(self, value: str) -> str:
        return value


def report_marking(user: Any, orders: QuerySet[Order]) -> Marking | None:
    """The marking of a report that includes these orders (None: it includes none)."""
    label_ids = orders.order_by().values_list("label_id", flat=True).distinct()
    return highest_marking(labels_with_parts(label_ids), getattr(user, "nationality_id", None))


def file_banner(statement: Statement, marking: Marking | None,
                reader_nation: str | None) -> Banner:
    """The banner a statement file carries: its orders' marking, or, with no order in it, the
    lowest marking of the reader's scheme releasable to the two parties."""
    if marking is not None:
        return marking.banner
    return unprotected_banner(reader_nation, (statement.a, statement.b))


def statement_marking(user: Any, statement: Statement) -> tuple[Marking | None, Banner]:
    """The marking of a statement's orders, and the banner its files carry."""
    marking = report_marking(user, orders_in_ledger(user, pair=(statement.a, statement.b),
                                                    until=statement.end))
    return marking, file_banner(statement, marking, getattr(user, "nationality_id", None))


def statement_csv(statement: Statement, marking: Banner, places: dict[str, int],
                  ) -> Iterator[str]:
    """The statement as CSV, one line at a time, read from the ledger in chunks: the marking
    first and last; then the opening balance by currency, every entry, the closing balance.
    Amounts are what ``a`` owes ``b`` (negative: ``b`` owes ``a``), so the opening rows and the
    entries of a currency add up to its closing row."""
    writer = csv.writer(_Echo())
    a, b = statement.a, statement.b
    yield writer.writerow(["marking", marking.text()])
    yield writer.writerow(["day", "order", "kind", "currency",
                           f"amount ({a} owes {b}; negative: {b} owes {a})"])
    for currency, value in sorted(statement.opening.items()):
        yield writer.writerow([statement.start.isoformat(), "", "opening", currency,
                               plain_amount(value, currency, places)])
    for day, number, kind, currency, signed in statement.rows():
        yield writer.writerow([day.isoformat(), number, kind, currency,
                               plain_amount(signed, currency, places)])
    for currency, value in sorted(statement.closing.items()):
        yield writer.writerow([statement.end.isoformat(), "", "closing", currency,
                               plain_amount(value, currency, places)])
    yield writer.writerow(["marking", marking.text()])


# --------------------------------------------------------------------------- statement: PDF

PDF_MAX_ENTRIES = 5000  # beyond this the PDF says how many more there are: the CSV has them all
_COLUMNS = (24.0, 38.0, 58.0, 18.0, 42.0)  # mm: day, order, kind, currency, amount (180)


def statement_pdf(*, statement: Statement, marking: Banner, reader: Any,
                  places: dict[str, int], marking_note: str,
                  at: dt.datetime | None = None) -> bytes:
    """The statement as an A4 PDF with the marking top and bottom of every page, drawn by the
    exchange's marked page (``exchange.pdf``) with its Japanese font."""
    font = exchange_pdf.find_cjk_font()
    lines = exchange_pdf._banner_lines(marking)
    at = (at or timezone.now()).astimezone(dt.UTC)
    a, b = statement.a, statement.b
    details = _("Statement of account %(a)s–%(b)s, %(start)s to %(end)s · for %(user)s · "
                "%(at)s UTC") % {"a": a, "b": b, "start": statement.start.isoformat(),
                                 "end": statement.end.isoformat(),
                                 "user": getattr(reader, "username", ""),
                                 "at": f"{at:%Y-%m-%d %H:%M}"}
    title = _("Statement of account between %(a)s and %(b)s") % {"a": a, "b": b}
    period = _("From %(start)s to %(end)s. Amounts are what %(a)s owes %(b)s; a negative "
               "amount is what %(b)s owes %(a)s.") % {"start": statement.start.isoformat(),
                                                      "end": statement.end.isoformat(),
                                                      "a": a, "b": b}
    visible_only = _("Totals count only the orders you may view: a reader with another "
                     "clearance may see other totals.")
    kinds = {str(value): str(label) for value, label in LedgerKind.choices}

    def money_lines(sums: dict[str, Decimal]) -> list[str]:
        return [f"{currency} {text}" for currency, text in amounts(sums, places)] or ["—"]

    def converted(value: Decimal | None) -> str:
        if value is None:
            return _("no exchange rate recorded for the day")
        return f"{statement.reporting} {amount_text(value, statement.reporting, places)}"

    summary = [
        (_("Opening balance (%(day)s)") % {"day": statement.start.isoformat()},
         money_lines(statement.opening), converted(statement.opening_converted)),
        (_("Owed more in the period"), money_lines(statement.debits), ""),
        (_("Owed less in the period"), money_lines(statement.credits), ""),
        (_("Closing balance (%(day)s)") % {"day": statement.end.isoformat()},
         money_lines(statement.closing), converted(statement.closing_converted)),
    ]
    headings = (_("Summary"), _("Entries (%(count)d)") % {"count": statement.entry_count},
                _("Day"), _("Order number"), _("Kind"), _("Currency"), _("Amount"), _("None."))
    rows = [(day.isoformat(), number, kinds.get(kind, kind), currency,
             amount_text(signed, currency, places))
            for day, number, kind, currency, signed in itertools.islice(
                statement.rows(), PDF_MAX_ENTRIES)]
    more = statement.entry_count - len(rows)
    more_text = (_("… and %(count)d more entries: the CSV download has every one.")
                 % {"count": more}) if more > 0 else ""
    everything = [*lines, details, "· Page /", title, period, visible_only, marking_note,
                  more_text, *headings, *(t for label, sums, conv in summary
                                          for t in (label, *sums, conv)),
                  *kinds.values()]

    pdf = exchange_pdf._MarkedPdf(banner_lines=lines, details=details,
                                  nb_alias=f"{{nb-{uuid.uuid4().hex}}}")
    pdf.alias_nb_pages(pdf.nb_alias)
    pdf.set_margins(exchange_pdf._MARGIN, exchange_pdf._HEADER_BOTTOM, exchange_pdf._MARGIN)
    pdf.set_auto_page_break(True, margin=exchange_pdf._FOOTER_HEIGHT + 2)
    pdf.set_title(title)
    pdf.set_subject(lines[0])
    pdf.set_creator("Entente")
    pdf.set_author(getattr(reader, "username", ""))
    pdf.set_creation_date(at)
    family = exchange_pdf._FAMILY
    with tempfile.TemporaryDirectory(prefix="entente-pdf-") as scratch:
        subset = exchange_pdf._truetype_subset(font, everything, Path(scratch) / "font.ttf")
        pdf.add_font(family, "", str(subset))
        pdf.add_page()
        pdf.set_font(family, "", 16)
        pdf.multi_cell(0, 8, title, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.paragraphs(period, 9.5)
        pdf.ln(1)
        pdf.paragraphs(visible_only, 8.5)
        pdf.paragraphs(marking_note, 8.5)
        pdf.heading(headings[0])
        for label, sums, conv in summary:
            pdf.set_font(family, "", 10)
            pdf.cell(70, 5.5, label)
            pdf.cell(0, 5.5, "; ".join(sums) + (f"  ({conv})" if conv else ""),
                     new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.heading(headings[1])
        pdf.set_font(family, "", 9)
        for width, text in zip(_COLUMNS, headings[2:7], strict=True):
            pdf.cell(width, 5.5, text, border="B")
        pdf.ln()
        if not rows:
            pdf.cell(0, 5.5, headings[7], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for row in rows:
            for index, (width, text) in enumerate(zip(_COLUMNS, row, strict=True)):
                pdf.cell(width, 5, text, align=Align.R if index == 4 else Align.L)
            pdf.ln()
        if more_text:
            pdf.ln(2)
            pdf.paragraphs(more_text, 9)
        return bytes(pdf.output())
