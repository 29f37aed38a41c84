"""Load the kernel's reference data (nations, markings, caveats, equivalence tables) from files.

Loading is idempotent. Markings and caveats are upserted; an equivalence table version is
immutable once loaded, so a file that changes a loaded version is refused rather than silently
rewriting history — amendments arrive as new versions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Subquery

from entente.core.models import Nation
from entente.security.models import Caveat, Classification, Equivalence, EquivalenceTable

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_FILES = (DATA_DIR / "nations.json", DATA_DIR / "equivalence.json")


class ReferenceDataError(ValueError):
    """A reference file is malformed or contradicts what is already loaded."""


def _date(value: Any, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ReferenceDataError(f"{where}: '{value}' is not a date (YYYY-MM-DD).") from None


def _marking(key: str, where: str) -> Classification:
    nation, _, code = key.partition("/")
    try:
        return Classification.objects.get(nation_id=nation, code=code)
    except Classification.DoesNotExist:
        raise ReferenceDataError(f"{where}: unknown marking '{key}' (load its nation first).") from None


def _load_nations(data: dict[str, Any], source: str) -> None:
    for n in data.get("nations", []):
        code = n.get("code", "")
        if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
            raise ReferenceDataError(f"{source}: nation code '{code}' is not ISO alpha-3.")
        nation, _ = Nation.objects.update_or_create(
            code=code, defaults={"name_en": n["name_en"], "name_ja": n.get("name_ja", "")})
        for m in n.get("markings", []):
            where = f"{source}: {code}/{m.get('code')}"
            if not isinstance(m.get("level"), int) or m["level"] < 0:
                raise ReferenceDataError(f"{where}: level must be a whole number ≥ 0.")
            existing = Classification.objects.filter(nation=nation, code=m["code"]).first()
            if existing and (existing.level, existing.requires_clearance) != (
                    m["level"], m.get("requires_clearance", True)):
                # Labels already carry this marking: changing what it means would change who
                # reads them. A scheme change is a new marking and a new table version.
                raise ReferenceDataError(f"{where}: level and clearance requirement of a loaded "
                                         "marking cannot change; add a new marking instead.")
            Classification.objects.update_or_create(
                nation=nation, code=m["code"],
                defaults={
                    "name_en": m["name_en"], "name_ja": m.get("name_ja", ""), "level": m["level"],
                    "requires_clearance": m.get("requires_clearance", True),
                    "retired_on": _date(m["retired_on"], where) if m.get("retired_on") else None,
                })
    for c in data.get("caveats", []):
        existing_caveat = Caveat.objects.filter(code=c["code"]).first()
        if existing_caveat and existing_caveat.eyes_only_id != c.get("eyes_only"):
            raise ReferenceDataError(f"{source}: caveat {c['code']}: who satisfies a loaded "
                                     "caveat cannot change; add a new caveat instead.")
        Caveat.objects.update_or_create(
            code=c["code"],
            defaults={"name_en": c["name_en"], "name_ja": c.get("name_ja", ""),
                      "eyes_only_id": c.get("eyes_only")})


def _version_digest(version: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(version, sort_keys=True).encode()).hexdigest()


def _load_equivalence(data: dict[str, Any], source: str) -> None:
    for v in data.get("versions", []):
        where = f"{source}: version {v.get('version')}"
        digest = _version_digest(v)
        existing = EquivalenceTable.objects.filter(version=v["version"]).first()
        if existing:
            if existing.source_sha256 != digest:
                raise ReferenceDataError(
                    f"{where} is already loaded with different content; versions are immutable, "
                    "publish the amendment as a new version.")
            continue
        table = EquivalenceTable.objects.create(
            version=v["version"], effective_from=_date(v["effective_from"], where),
            title=v.get("title", ""), source_sha256=digest)
        for e in v["entries"]:
            source_m = _marking(e["source"], where)
            target_m = _marking(e["target"], where)
            if source_m.nation_id == target_m.nation_id:
                raise ReferenceDataError(f"{where}: {e['source']} ≡ {e['target']} is one nation.")
            Equivalence.objects.create(table=table, source=source_m, target=target_m,
                                       effective_from=_date(e["effective_from"], where))


@transaction.atomic
def load(paths: Iterable[Path] = DEFAULT_FILES) -> list[str]:
    """Load each file in order (nations before the tables that name their markings)."""
    loaded = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ReferenceDataError(f"{path}: cannot read reference data ({exc}).") from exc
        try:
            _load_nations(data, str(path))
            _load_equivalence(data, str(path))
        except KeyError as exc:
            raise ReferenceDataError(f"{path}: missing field {exc}.") from exc
        loaded.append(str(path))
    _cache.clear()
    return loaded


def table_in_force(on: dt.date) -> EquivalenceTable | None:
    return EquivalenceTable.objects.filter(effective_from__lte=on).order_by(
        "-effective_from", "-loaded_at").first()


def equivalents(on: dt.date) -> dict[tuple[int, str], Classification]:
    """(source marking id, reader nation) -> the marking it is protected as on that day."""
    table = table_in_force(on)
    if table is None:
        return {}
    entries = table.entries.filter(effective_from__lte=on).select_related("target")
    return {(e.source_id, e.target.nation_id): e.target for e in entries}


@dataclass(frozen=True)
class Marking:
    id: int
    key: str
    nation: str
    level: int
    requires_clearance: bool
    name_en: str
    name_ja: str


@dataclass(frozen=True)
class Protection:
    """The reference data the kernel needs for one day, as plain values: every marking, and for
    each (marking, reader nation) the marking of the reader's scheme it is protected as."""

    markings: dict[int, Marking]
    seen_as: dict[tuple[int, str], int]
    eyes_only: dict[str, frozenset[int]]

    def as_seen_by(self, marking_id: int, nation: str) -> Marking | None:
        marking = self.markings[marking_id]
        if marking.nation == nation:
            return marking
        target = self.seen_as.get((marking_id, nation))
        return self.markings[target] if target is not None else None


_cache: dict[tuple[dt.date, tuple[object, ...]], Protection] = {}


def _version_token() -> tuple[object, ...]:
    # New markings or table versions loaded by another process change this; load() in this
    # process clears the cache outright.
    row = Classification.objects.annotate(
        t=Subquery(EquivalenceTable.objects.order_by("-id").values("id")[:1]),
        c=Subquery(Caveat.objects.order_by("-id").values("id")[:1]),
    ).order_by().values("t", "c").annotate(n=Count("id"), m=Max("id")).values_list(
        "n", "m", "t", "c")
    return tuple(next(iter(row), ()))


def protection(on: dt.date) -> Protection:
    key = (on, _version_token())
    cached = _cache.get(key)
    if cached is None:
        markings = {c.pk: Marking(c.pk, c.key, c.nation_id, c.level, c.requires_clearance,
                                  c.name_en, c.name_ja or c.name_en)
                    for c in Classification.objects.all()}
        seen_as = {k: v.pk for k, v in equivalents(on).items()}
        eyes_only: dict[str, set[int]] = {}
        for caveat_id, nation in Caveat.objects.filter(eyes_only__isnull=False).values_list(
                "pk", "eyes_only_id"):
            eyes_only.setdefault(nation, set()).add(caveat_id)
        cached = Protection(markings, seen_as,
                            {n: frozenset(ids) for n, ids in eyes_only.items()})
        _cache.clear()  # one day, one version at a time is all a process needs
        _cache[key] = cached
    return cached
