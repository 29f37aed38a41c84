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
from pathlib import Path
from typing import Any

from django.db import transaction

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
            Classification.objects.update_or_create(
                nation=nation, code=m["code"],
                defaults={
                    "name_en": m["name_en"], "name_ja": m.get("name_ja", ""), "level": m["level"],
                    "requires_clearance": m.get("requires_clearance", True),
                    "retired_on": _date(m["retired_on"], where) if m.get("retired_on") else None,
                })
    for c in data.get("caveats", []):
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
