"""The access kernel: the only place that decides who may do what to a protected record.

Three kinds of rule, as in attribute-based systems such as OpenTDF:
  hierarchy — the label's classification, seen through today's equivalence table in the reader's
              own scheme, must be dominated by the reader's valid clearance; for people of a
              company or university, also (in its nation's scheme) by their organisation's
              valid facility clearance;
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
import functools
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection
from django.db.models import (
    BooleanField,
    Expression,
    F,
    Max,
    Model,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from entente.core.models import FACILITY_CLEARED_KINDS, Organisation, Role
from entente.security import audit, reference
from entente.security.labels import LabelFacts
from entente.security.models import (
    Caveat,
    CaveatGrant,
    Classification,
    Clearance,
    Equivalence,
    EquivalenceTable,
    FacilityClearance,
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
    "facility": _("Denied: the reader's organisation holds no valid facility security clearance "
                  "that covers %(marking)s."),
    "caveat": _("Denied: caveat %(caveat)s is not satisfied."),
    "community": _("Denied: not a current member of community %(community)s."),
    "owner": _("Denied: only the owning organisation may edit this record."),
    "originator-authority": _("Denied: only the security authority of the originator nation "
                              "(%(nation)s) may %(action)s this record."),
    "node-authority": _("Denied: only a security officer of %(nation)s's national security "
                        "authority administers this node's partners and packages."),
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
    is what lets ``visible`` be plain SQL. For people of a company or university it is also
    capped by their organisation's facility clearance (``cleared`` is the set before the cap).
    """

    user_id: int | None
    username: str
    active: bool
    nation: str | None
    organisation_id: int | None
    authority_for: str | None
    readable: frozenset[int]
    cleared: frozenset[int]
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
                       frozenset(), frozenset(), on, protection)
        levels, granted, communities = _standing(user, nation, on)
        cleared = _readable(protection, nation, max(levels, default=None))
        readable = cleared
        if organisation.needs_facility_clearance:
            readable = cleared & _readable(protection, organisation.nation_id,
                                           facility_level(organisation, on))
        caveats = set(protection.eyes_only.get(nation, ())) | granted
        is_authority = (organisation.is_security_authority
                        and organisation.nation_id == nation
                        and user.has_role(Role.SECURITY_OFFICER, on))
        return cls(user.pk, user.username, True, nation, organisation.pk,
                   nation if is_authority else None, readable, cleared, frozenset(caveats),
                   frozenset(communities), on, protection)


def _readable(protection: reference.Protection, nation: str, level: int | None
              ) -> frozenset[int]:
    """The markings (of every nation) that a clearance of ``level`` in ``nation``'s scheme
    covers, through the table in force; ``None`` covers only what needs no clearance."""
    readable = set()
    for marking_id in protection.markings:
        seen_as = protection.as_seen_by(marking_id, nation)
        if seen_as is None:
            continue
        if not seen_as.requires_clearance or (level is not None and seen_as.level <= level):
            readable.add(marking_id)
    return frozenset(readable)


def facility_level(organisation: Any, on: dt.date | None = None) -> int | None:
    """The highest level (in its own nation's scheme) of the organisation's facility clearances
    valid on the day."""
    on = on or timezone.localdate()
    return (FacilityClearance.objects
            .filter(organisation=organisation, valid_from__lte=on, valid_until__gte=on,
                    level__nation_id=organisation.nation_id)
            .aggregate(top=Max("level__level"))["top"])


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
        if label.classification_id in subject.cleared:
            marking = subject.protection.markings[label.classification_id]
            return Decision(False, "facility", {"marking": marking.key})
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


def covers(outer: Label, inner: Label, on: dt.date | None = None) -> bool:
    """Whoever the kernel lets read ``outer`` it also lets read ``inner``, whatever their
    clearance and their organisation's facility clearance, by the equivalence table in force:
    no more nations, no fewer caveats or communities, and in every nation's scheme a marking at
    least as high (a marking that needs no clearance covers only markings that need none)."""
    if outer.pk == inner.pk:
        return True
    wide, narrow = LabelFacts.of(outer), LabelFacts.of(inner)
    if not ({wide.originator, *wide.releasable_to} <= {narrow.originator, *narrow.releasable_to}
            and narrow.caveat_ids <= wide.caveat_ids
            and narrow.community_ids <= wide.community_ids):
        return False
    protection = reference.protection(on or timezone.localdate())
    # Every scheme, not only the readers' nations: people of a company are also capped by
    # their organisation's facility clearance, read in the organisation's nation's scheme.
    for nation in {m.nation for m in protection.markings.values()}:
        seen_wide = protection.as_seen_by(wide.classification_id, nation)
        if seen_wide is None:
            continue  # nobody reads ``outer`` through this scheme
        seen_narrow = protection.as_seen_by(narrow.classification_id, nation)
        if seen_narrow is None:
            return False
        if seen_narrow.requires_clearance and not (seen_wide.requires_clearance
                                                   and seen_narrow.level <= seen_wide.level):
            return False
    return True


def may_receive(organisation: Any, obj: Model) -> Decision:
    """Whether an organisation may be sent the record at all: its nation must be the originator or
    among the releasable-to nations (anything else needs an approved release request first)."""
    facts = facts_of(obj)
    nation = organisation.nation_id
    if nation != facts.originator and nation not in facts.releasable_to:
        return Decision(False, "nationality", {"nation": nation})
    return Decision(True, "allowed")


def is_node_authority(user: Any, node_nation: str) -> bool:
    """The rule of ``may_administer_node`` without its audit event: for what a page merely offers
    (a navigation link), never for what it then does."""
    return Subject.of(user).authority_for == node_nation


def may_administer_node(user: Any, node_nation: str, *, what: str) -> Decision:
    """Partner nodes, the packages that pass between nodes and their transfer logs are the
    business of the national security authority of the nation whose node this is: one of its
    security officers. Audited, like every decision (``what`` names what was asked)."""
    decision = (Decision(True, "allowed") if is_node_authority(user, node_nation)
                else Decision(False, "node-authority", {"nation": node_nation}))
    audit.record("node.administer", actor=user if getattr(user, "pk", None) else None,
                 object_type="federation", object_id=what, allowed=decision.allowed,
                 reason=decision.reason("en"), detail={"rule": decision.rule})
    return decision


class _InSet(Expression):
    """``column IN (subquery)`` that the database evaluates once, as a filter on the rows it walks.

    On PostgreSQL a plain ``IN (subquery)`` in WHERE is pulled up into a semi-join: for a listing
    that fetched every visible row and sorted it. Wrapped as ``(… IN …) IS TRUE`` it cannot be, so
    it stays a hashed SubPlan: built once, one hash probe per row, while the scan follows the
    listing index and stops after one page. (``= ANY(ARRAY(subquery))`` also keeps the index walk
    but probes the array linearly: 5x slower at offset 10,000.) The result is the same: label_id
    is never NULL. SQLite already evaluates an uncorrelated ``IN (subquery)`` once, into an
    index."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: Expression | F, subquery: Expression) -> None:
        super().__init__()
        self.column, self.subquery = column, subquery

    def get_source_expressions(self) -> list[Any]:
        return [self.column, self.subquery]

    def set_source_expressions(self, exprs: Any) -> None:
        self.column, self.subquery = exprs

    def _parts(self, compiler: Any) -> tuple[str, str, list[Any]]:
        lhs, lhs_params = compiler.compile(self.column)
        rhs, rhs_params = compiler.compile(self.subquery)
        return lhs, rhs, [*lhs_params, *rhs_params]

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, rhs, params = self._parts(compiler)
        return f"{lhs} IN {rhs}", params

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        lhs, rhs, params = self._parts(compiler)
        return f"({lhs} IN {rhs}) IS TRUE", params


_NAMED = re.compile(r"%\((\w+)\)s")


@functools.cache
def _visible_labels_sql() -> tuple[str, tuple[str, ...]]:
    """The ids of the labels a reader may view, as one parameterised statement, and the names of
    its parameters in order (``_visible_label_params`` gives their values).

    Written as SQL rather than built with the ORM on every call: the ORM took 6-8 ms to assemble
    these nested subqueries, ten times what the database needs to run them, and a list page
    would pay that on every request. It is plain SQL that SQLite and PostgreSQL both accept.
    Parameters are written ``%(name)s`` here and turned into positional ones once."""
    t = {m.__name__: m._meta.db_table for m in (
        Label, LabelReleasability, LabelCaveat, LabelCommunity, Classification, Equivalence,
        EquivalenceTable, Caveat, CaveatGrant, Clearance, FacilityClearance, Membership,
        Organisation)}
    valid = "{g}.valid_from <= %(on)s AND {g}.valid_until >= %(on)s"
    mine = "{g}.user_id = %(user)s AND " + valid
    in_force = (f"(SELECT tf.id FROM {t['EquivalenceTable']} tf WHERE tf.effective_from <= %(on)s "
                "ORDER BY tf.effective_from DESC, tf.loaded_at DESC LIMIT 1)")

    def readable(nation: str, level: str) -> str:
        # A marking is readable when, seen in ``nation``'s scheme, it needs no clearance or
        # ``level`` dominates it. Another nation's marking is seen through the table in force.
        return (f"SELECT m.id FROM {t['Classification']} m WHERE m.nation_id = {nation} "
                f"AND (NOT m.requires_clearance OR m.level <= {level}) "
                f"UNION ALL SELECT e.source_id FROM {t['Equivalence']} e "
                f"JOIN {t['Classification']} m2 ON m2.id = e.target_id "
                f"WHERE e.table_id = {in_force} AND e.effective_from <= %(on)s "
                f"AND m2.nation_id = {nation} "
                f"AND (NOT m2.requires_clearance OR m2.level <= {level})")

    # hierarchy: the reader's highest valid clearance in their own scheme ...
    clearance = (f"(SELECT MAX(cm.level) FROM {t['Clearance']} g JOIN {t['Classification']} cm "
                 f"ON cm.id = g.level_id WHERE {mine.format(g='g')} AND cm.nation_id = %(nation)s)")
    # ... and, for people of a company or university, their organisation's highest valid
    # facility clearance, in the organisation's nation's scheme.
    org_nation = f"(SELECT o.nation_id FROM {t['Organisation']} o WHERE o.id = %(org)s)"
    facility = (f"(SELECT MAX(fm.level) FROM {t['FacilityClearance']} f "
                f"JOIN {t['Classification']} fm ON fm.id = f.level_id "
                f"WHERE f.organisation_id = %(org)s AND {valid.format(g='f')} "
                f"AND fm.nation_id = {org_nation})")
    kinds = ", ".join(f"'{kind}'" for kind in FACILITY_CLEARED_KINDS)  # our own constants
    capped = (f"EXISTS (SELECT 1 FROM {t['Organisation']} o WHERE o.id = %(org)s "
              f"AND o.kind IN ({kinds}))")
    # all-of: an eyes-only caveat is met by nationality, any other caveat by a valid grant;
    # every community by a current membership.
    unmet_caveat = (
        f"SELECT 1 FROM {t['LabelCaveat']} lc JOIN {t['Caveat']} c ON c.id = lc.caveat_id "
        "WHERE lc.label_id = l.id "
        "AND NOT (c.eyes_only_id IS NOT NULL AND c.eyes_only_id = %(nation)s) "
        f"AND NOT (c.eyes_only_id IS NULL AND EXISTS (SELECT 1 FROM {t['CaveatGrant']} g "
        f"WHERE g.caveat_id = c.id AND {mine.format(g='g')}))")
    unmet_community = (
        f"SELECT 1 FROM {t['LabelCommunity']} lm WHERE lm.label_id = l.id AND NOT EXISTS "
        f"(SELECT 1 FROM {t['Membership']} g WHERE g.community_id = lm.community_id "
        f"AND {mine.format(g='g')})")
    # any-of: the originator, or a nation the label is releasable to.
    releasable = (f"SELECT 1 FROM {t['LabelReleasability']} r "
                  "WHERE r.label_id = l.id AND r.nation_id = %(nation)s")
    named = (f"SELECT l.id FROM {t['Label']} l "
             f"WHERE l.classification_id IN ({readable('%(nation)s', clearance)}) "
             f"AND (NOT {capped} OR l.classification_id IN ({readable(org_nation, facility)})) "
             f"AND (l.originator_id = %(nation)s OR EXISTS ({releasable})) "
             f"AND NOT EXISTS ({unmet_caveat}) AND NOT EXISTS ({unmet_community})")
    return _NAMED.sub("%s", named), tuple(_NAMED.findall(named))


def _visible_label_params(user_id: int, nation: str, organisation_id: int, on: Any
                          ) -> list[Any]:
    """The parameters of ``_visible_labels_sql``, in the order its placeholders appear."""
    values = {"user": user_id, "nation": nation, "org": organisation_id, "on": on}
    return [values[name] for name in _visible_labels_sql()[1]]


def _visible_label_ids(user: Any, on: dt.date | None, column: str = "pk") -> Q | _InSet:
    # The user's standing (clearance, caveat grants, memberships) and the equivalence table in
    # force are read inside the query rather than fetched first into a ``Subject``: a listing
    # then costs one round trip, as the same listing unfiltered does, and nothing is cached, so a
    # revoked grant counts for nothing on the very next query.
    nation = getattr(user, "nationality_id", None)
    if not (getattr(user, "is_active", False) and user.pk and nation
            and getattr(user, "organisation_id", None)):
        return Q(pk__in=[])  # deny by default: matches nothing
    on_value = connection.ops.adapt_datefield_value(on or timezone.localdate())
    sql, _ = _visible_labels_sql()
    return _InSet(F(column), RawSQL(sql, _visible_label_params(user.pk, nation,
                                                               user.organisation_id, on_value)))


def visible(user: Any, queryset: QuerySet[M], on: dt.date | None = None, *,
            label: str = "label") -> QuerySet[M]:
    """Only the rows of ``queryset`` that the user may view, filtered in the database.

    ``label`` names the label that protects each row: its own by default, or one it is reached
    through, such as ``"project__label"`` for the milestones of a project, which are exactly as
    visible as the project."""
    return queryset.filter(_visible_label_ids(user, on, column=f"{label}_id"))


def record_listing(user: Any, objects: list[Model], *, what: str) -> None:
    """Audit that these records were shown to the user in a list (one event per page)."""
    audit.record("access.list", actor=user, object_type=what, allowed=True,
                 reason="listed through the visibility filter",
                 detail={"ids": [str(o.pk) for o in objects]})
