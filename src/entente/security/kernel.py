"""The access kernel: the only place that decides who may do what to a protected record.

Three kinds of rule, as in attribute-based systems such as OpenTDF:
  hierarchy — the label's classification, seen through today's equivalence table in the reader's
              own scheme, must be dominated by the reader's valid clearance;
  any-of    — the reader's nationality must be the originator or among the releasable-to nations;
  all-of    — every caveat must be satisfied and the reader must belong to every community.
Then per action: edit needs the owning organisation; release and downgrade need the originator
nation's security authority.

``evaluate`` decides one record in Python; ``visible`` says the same thing as SQL. The two are
kept equal by a property test (tests/test_kernel_properties.py) — change them together.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from entente.core.models import Role
from entente.security import audit, reference
from entente.security.labels import LabelFacts
from entente.security.models import (
    CaveatGrant,
    Clearance,
    Label,
    LabelCaveat,
    LabelCommunity,
    LabelReleasability,
    Membership,
)

M = TypeVar("M", bound=Model)


class Action(enum.StrEnum):
    VIEW = "view"
    EDIT = "edit"
    EXPORT = "export"
    RELEASE = "release"
    DOWNGRADE = "downgrade"


# Each rule has a code (kept in the audit log) and a reason a person can read in either language.
REASONS: dict[str, Promise] = {
    "allowed": _("Allowed: clearance, nationality, caveats and communities all satisfied."),
    "inactive": _("Denied: the account is not active."),
    "no-nationality": _("Denied: the account has no nationality or organisation on record."),
    "nationality": _("Denied: the label is not releasable to %(nation)s."),
    "clearance": _("Denied: no valid clearance dominates %(marking)s (protected as %(protected)s "
                   "in %(nation)s)."),
    "no-equivalent": _("Denied: %(marking)s has no equivalent marking in %(nation)s's scheme in "
                       "the table in force."),
    "caveat": _("Denied: caveat %(caveat)s is not satisfied."),
    "community": _("Denied: not a current member of community %(community)s."),
    "owner": _("Denied: only the owning organisation may edit this record."),
    "originator-authority": _("Denied: only the security authority of the originator nation "
                              "(%(nation)s) may %(action)s this record."),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    params: dict[str, str] = field(default_factory=dict)

    def reason(self, language: str = "en") -> str:
        with override(language):
            return str(REASONS[self.rule]) % self.params

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Subject:
    """What the kernel knows of a user on a given day; built once per request or decision batch.

    ``readable`` holds the marking ids (of every nation) that the user's clearance dominates
    through the equivalence table in force: the hierarchy rule reduced to set membership, which
    is what lets ``visible`` be plain SQL.
    """

    user_id: int | None
    username: str
    active: bool
    nation: str | None
    organisation_id: int | None
    authority_for: str | None
    readable: frozenset[int]
    caveat_ids: frozenset[int]
    community_ids: frozenset[int]
    on: dt.date

    protection: reference.Protection = field(compare=False, repr=False)

    @classmethod
    def of(cls, user: Any, on: dt.date | None = None) -> Subject:
        on = on or timezone.localdate()
        protection = reference.protection(on)
        nation = getattr(user, "nationality_id", None)
        organisation = getattr(user, "organisation", None)
        active = bool(getattr(user, "is_active", False) and user.pk)
        if not (active and nation and organisation):
            return cls(getattr(user, "pk", None), getattr(user, "username", ""), active, nation,
                       getattr(organisation, "pk", None), None, frozenset(), frozenset(),
                       frozenset(), on, protection)
        levels, granted, communities = _standing(user, nation, on)
        clearance = max(levels, default=None)
        readable = set()
        for marking_id in protection.markings:
            seen_as = protection.as_seen_by(marking_id, nation)
            if seen_as is None:
                continue
            if not seen_as.requires_clearance or (clearance is not None
                                                  and seen_as.level <= clearance):
                readable.add(marking_id)
        caveats = set(protection.eyes_only.get(nation, ())) | granted
        is_authority = (organisation.is_security_authority
                        and organisation.nation_id == nation
                        and user.has_role(Role.SECURITY_OFFICER, on))
        return cls(user.pk, user.username, True, nation, organisation.pk,
                   nation if is_authority else None, frozenset(readable), frozenset(caveats),
                   frozenset(communities), on, protection)


_CLEARANCE, _CAVEAT, _COMMUNITY = 0, 1, 2


def _standing(user: Any, nation: str, on: dt.date) -> tuple[list[int], set[int], set[int]]:
    """The user's grants valid on the day, in one round trip: clearance levels in their own
    scheme, caveats granted individually (never an eyes-only one), community memberships."""
    valid = Q(valid_from__lte=on, valid_until__gte=on, user=user)
    parts = [
        Clearance.objects.filter(valid, level__nation_id=nation)
        .annotate(kind=Value(_CLEARANCE)).values_list("level__level", "kind"),
        CaveatGrant.objects.filter(valid, caveat__eyes_only__isnull=True)
        .annotate(kind=Value(_CAVEAT)).values_list("caveat_id", "kind"),
        Membership.objects.filter(valid).annotate(kind=Value(_COMMUNITY))
        .values_list("community_id", "kind"),
    ]
    rows = parts[0].order_by().union(*(p.order_by() for p in parts[1:]), all=True)
    levels, caveats, communities = [], set(), set()
    for value, kind in rows:
        if kind == _CLEARANCE:
            levels.append(value)
        elif kind == _CAVEAT:
            caveats.add(value)
        else:
            communities.add(value)
    return levels, caveats, communities


def _label_rules(subject: Subject, label: LabelFacts) -> Decision:
    if not subject.active:
        return Decision(False, "inactive")
    if subject.nation is None or subject.organisation_id is None:
        return Decision(False, "no-nationality")
    if subject.nation != label.originator and subject.nation not in label.releasable_to:
        return Decision(False, "nationality", {"nation": subject.nation})
    if label.classification_id not in subject.readable:
        return _clearance_denial(subject, label)
    if missing := sorted(label.caveat_ids - subject.caveat_ids):
        return Decision(False, "caveat", {"caveat": label.codes.get(("caveat", missing[0]), "?")})
    if missing := sorted(label.community_ids - subject.community_ids):
        return Decision(False, "community",
                        {"community": label.codes.get(("community", missing[0]), "?")})
    return Decision(True, "allowed")


def _clearance_denial(subject: Subject, label: LabelFacts) -> Decision:
    assert subject.nation is not None
    marking = subject.protection.markings[label.classification_id]
    seen_as = subject.protection.as_seen_by(marking.id, subject.nation)
    if seen_as is None:
        return Decision(False, "no-equivalent", {"marking": marking.key, "nation": subject.nation})
    return Decision(False, "clearance", {"marking": marking.key, "protected": seen_as.key,
                                         "nation": subject.nation})


def evaluate(subject: Subject, action: Action, label: LabelFacts,
             owner_id: int | None = None) -> Decision:
    """Decide without side effects. Use ``decide`` in application code: it also audits."""
    decision = _label_rules(subject, label)
    if not decision.allowed:
        return decision
    if action is Action.EDIT and owner_id != subject.organisation_id:
        return Decision(False, "owner")
    if action in (Action.RELEASE, Action.DOWNGRADE) and subject.authority_for != label.originator:
        return Decision(False, "originator-authority",
                        {"nation": label.originator, "action": action.value})
    return decision


def facts_of(obj: Model) -> LabelFacts:
    label: Label = obj.label  # type: ignore[attr-defined]
    return LabelFacts.of(label)


def decide(user: Any, action: Action, obj: Model, *, subject: Subject | None = None) -> Decision:
    """The one access decision for one record; always audited, allowed or denied."""
    subject = subject or Subject.of(user)
    decision = evaluate(subject, action, facts_of(obj), getattr(obj, "owner_id", None))
    audit.record(f"access.{action.value}", actor=user if getattr(user, "pk", None) else None,
                 obj=obj, allowed=decision.allowed, reason=decision.reason("en"),
                 detail={"rule": decision.rule, "label": obj.label.canonical})  # type: ignore[attr-defined]
    return decision


# Above this many visible labels the filter stays a subquery: a literal list that long would
# cost more to send than it saves, and could pass SQLite's limit on bound parameters.
MAX_LITERAL_LABELS = 5000


def visible_labels(subject: Subject) -> QuerySet[Label]:
    """The labels ``evaluate(subject, VIEW, ·)`` allows, as one SQL query."""
    if not (subject.active and subject.nation and subject.organisation_id):
        return Label.objects.none()
    releasable = LabelReleasability.objects.filter(label_id=OuterRef("pk"),
                                                   nation_id=subject.nation)
    unmet_caveat = LabelCaveat.objects.filter(label_id=OuterRef("pk")).exclude(
        caveat_id__in=list(subject.caveat_ids))
    unmet_community = LabelCommunity.objects.filter(label_id=OuterRef("pk")).exclude(
        community_id__in=list(subject.community_ids))
    return (Label.objects.filter(classification_id__in=list(subject.readable))
            .filter(Q(originator_id=subject.nation) | Exists(releasable))
            .exclude(Exists(unmet_caveat))
            .exclude(Exists(unmet_community)))


def visible(user: Any, queryset: QuerySet[M], *, subject: Subject | None = None) -> QuerySet[M]:
    """Only the rows of ``queryset`` that the user may view, filtered in the database."""
    subject = subject or Subject.of(user)
    labels = visible_labels(subject)
    # Labels are shared and few, so usually a short literal list of label ids, not a correlated
    # subquery, is what the records are filtered on: PostgreSQL then walks the listing index and
    # stops after one page, where the subquery made it fetch everything and sort.
    ids = list(labels.values_list("pk", flat=True)[:MAX_LITERAL_LABELS + 1])
    if len(ids) > MAX_LITERAL_LABELS:
        return queryset.filter(label_id__in=labels.values("pk"))
    return queryset.filter(label_id__in=ids)


def record_listing(user: Any, objects: list[Model], *, what: str) -> None:
    """Audit that these records were shown to the user in a list (one event per page)."""
    audit.record("access.list", actor=user, object_type=what, allowed=True,
                 reason="listed through the visibility filter",
                 detail={"ids": [str(o.pk) for o in objects]})
