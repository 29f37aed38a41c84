"""Security labels: parse, validate, canonicalise, store, and render as bilingual banners."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from entente.core.models import Nation
from entente.security import reference
from entente.security.models import Caveat, Classification, Community, Label

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class LabelError(ValueError):
    """The label is not well-formed; the message says what to fix."""


@dataclass(frozen=True)
class LabelSpec:
    """What a person asks for: ``LabelSpec("GBR", "SECRET", ["GBR", "JPN"], ["crypto"], [])``."""

    originator: str
    classification: str
    releasable_to: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()

    def canonical(self) -> str:
        def part(values: Iterable[str]) -> str:
            return ",".join(sorted(set(values)))

        return (f"{self.originator}/{self.classification}|rel={part(self.releasable_to)}"
                f"|cav={part(self.caveats)}|com={part(self.communities)}")

    @classmethod
    def parse(cls, text: str) -> LabelSpec:
        """Inverse of ``canonical``: accepts the same compact text form."""
        head, *parts = (text or "").strip().split("|")
        originator, sep, marking = head.partition("/")
        if not sep or not originator or not marking:
            raise LabelError(_("A label starts with NATION/MARKING, for example GBR/SECRET."))
        fields: dict[str, tuple[str, ...]] = {"rel": (), "cav": (), "com": ()}
        for part in parts:
            key, eq, values = part.partition("=")
            if not eq or key not in fields:
                raise LabelError(_("Unknown label part '%(part)s'; use rel=, cav= or com=.")
                                 % {"part": part})
            fields[key] = tuple(v.strip() for v in values.split(",")) if values else ()
        return cls(originator.strip(), marking.strip(), fields["rel"], fields["cav"],
                   fields["com"])


@dataclass(frozen=True)
class LabelFacts:
    """Everything the kernel needs of a label, loaded once."""

    id: int
    originator: str
    classification_id: int
    releasable_to: frozenset[str] = field(default_factory=frozenset)
    caveat_ids: frozenset[int] = field(default_factory=frozenset)
    community_ids: frozenset[int] = field(default_factory=frozenset)
    # Codes by id, so a denial can name what is missing without another query.
    codes: dict[tuple[str, int], str] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, label: Label) -> LabelFacts:
        caveats = list(label.caveats.all())
        communities = list(label.communities.all())
        return cls(
            id=label.pk, originator=label.originator_id,
            classification_id=label.classification_id,
            releasable_to=frozenset(n.pk for n in label.releasable_to.all()),
            caveat_ids=frozenset(c.pk for c in caveats),
            community_ids=frozenset(c.pk for c in communities),
            codes={**{("caveat", c.pk): c.code for c in caveats},
                   **{("community", c.pk): c.code for c in communities}})


def validate(spec: LabelSpec, *, applied_on: dt.date | None = None) -> None:
    """Raise LabelError with a message a person can act on; checks against reference data.

    ``applied_on`` is the day the marking was applied (today for anything new): a marking retired
    by then cannot be applied, but older labels keep the marking they were given."""
    on = applied_on or timezone.localdate()
    if not Nation.objects.filter(code=spec.originator).exists():
        raise LabelError(_("Unknown originator nation '%(code)s'.") % {"code": spec.originator})
    marking = Classification.objects.filter(nation_id=spec.originator,
                                            code=spec.classification).first()
    if marking is None:
        raise LabelError(_("'%(marking)s' is not a marking of %(nation)s's scheme.")
                         % {"marking": spec.classification, "nation": spec.originator})
    if marking.retired_on and marking.retired_on <= on:
        raise LabelError(_("%(key)s was retired on %(day)s and cannot be applied to new labels.")
                         % {"key": marking.key, "day": marking.retired_on.isoformat()})
    if not spec.releasable_to:
        raise LabelError(_("A label must say to which nations it is releasable."))
    if spec.originator not in spec.releasable_to:
        raise LabelError(_("The releasable-to list must include the originator (%(code)s).")
                         % {"code": spec.originator})
    known = set(Nation.objects.filter(code__in=spec.releasable_to).values_list("code", flat=True))
    if unknown := sorted(set(spec.releasable_to) - known):
        raise LabelError(_("Unknown nation(s) in releasable-to: %(codes)s.")
                         % {"codes": ", ".join(unknown)})
    for code in (*spec.caveats, *spec.communities):
        if not code or not _CODE.match(code):
            raise LabelError(_("'%(code)s' is not a well-formed caveat or community code "
                               "(lower-case letters, digits and hyphens).") % {"code": code})
    caveats = {c.code: c for c in Caveat.objects.filter(code__in=spec.caveats)}
    if unknown := sorted(set(spec.caveats) - set(caveats)):
        raise LabelError(_("Unknown caveat(s): %(codes)s.") % {"codes": ", ".join(unknown)})
    for caveat in caveats.values():
        if caveat.eyes_only_id and set(spec.releasable_to) != {caveat.eyes_only_id}:
            raise LabelError(_("%(caveat)s cannot be released to other nations; releasable-to "
                               "must be %(code)s alone.")
                             % {"caveat": caveat.name_en, "code": caveat.eyes_only_id})
    communities = set(Community.objects.filter(code__in=spec.communities)
                      .values_list("code", flat=True))
    if unknown := sorted(set(spec.communities) - communities):
        raise LabelError(_("Unknown community(ies): %(codes)s.") % {"codes": ", ".join(unknown)})


def spec_of(label: Label) -> LabelSpec:
    """The LabelSpec a stored label was made from (to derive a changed one from it)."""
    return LabelSpec(label.originator_id, label.classification.code,
                     tuple(n.pk for n in label.releasable_to.all()),
                     tuple(c.code for c in label.caveats.all()),
                     tuple(c.code for c in label.communities.all()))


@transaction.atomic
def make_label(spec: LabelSpec, *, applied_on: dt.date | None = None) -> Label:
    """The one way to obtain a Label: validated, canonical, shared between records."""
    validate(spec, applied_on=applied_on)
    existing = Label.objects.filter(canonical=spec.canonical()).first()
    if existing:
        return existing
    label = Label.objects.create(
        canonical=spec.canonical(), originator_id=spec.originator,
        classification=Classification.objects.get(nation_id=spec.originator,
                                                  code=spec.classification))
    label.releasable_to.set(Nation.objects.filter(code__in=spec.releasable_to))
    label.caveats.set(Caveat.objects.filter(code__in=spec.caveats))
    label.communities.set(Community.objects.filter(code__in=spec.communities))
    return label


@dataclass(frozen=True)
class Banner:
    """What a page prints top and bottom: the originator's marking and the reader's equivalent."""

    original: str
    original_ja: str
    equivalent: str | None
    equivalent_ja: str | None
    caveats: str
    releasable_to: str

    def text(self) -> str:
        parts = [self.original]
        if self.equivalent:
            parts.append(f"({self.equivalent})")
        if self.caveats:
            parts.append(self.caveats)
        parts.append(f"REL {self.releasable_to}")
        return " ".join(parts)


def banner(label: Label, reader_nation: str | None, on: dt.date | None = None, *,
           protection: reference.Protection | None = None) -> Banner:
    """Pass ``protection`` when printing many banners: it is looked up once, not per label."""
    # The same table in force that the kernel protects by, so the banner never disagrees with it.
    protection = protection or reference.protection(on or timezone.localdate())
    marking = protection.markings[label.classification_id]
    equivalent = None
    if reader_nation and reader_nation != label.originator_id:
        equivalent = protection.as_seen_by(marking.id, reader_nation)
    caveats = " ".join(c.name_en for c in label.caveats.all())
    return Banner(
        original=f"{marking.nation} {marking.name_en}",
        original_ja=f"{marking.nation} {marking.name_ja}",
        equivalent=f"{equivalent.nation} {equivalent.name_en}" if equivalent else None,
        equivalent_ja=f"{equivalent.nation} {equivalent.name_ja}" if equivalent else None,
        caveats=caveats,
        releasable_to="/".join(sorted(n.pk for n in label.releasable_to.all())),
    )
