"""Load cross-servicing agreements' terms (currencies, parties, activities, categories,
settlement periods) from files, as the kernel loads its reference data.

Loading is idempotent: rows are upserted by code. A category or activity that a file no longer
lists is kept (orders name it), so a new version of the terms adds and amends, never erases.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from entente.core.models import Nation
from entente.logistics.models import (
    Activity,
    Agreement,
    Category,
    Currency,
    SettlementMethod,
    SettlementTerm,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_FILES = (DATA_DIR / "acsa-gbr-jpn.json",)


class TermsError(ValueError):
    """A terms file is malformed or names something unknown."""


# Codes name rows in URLs, forms and other files: slugs, as the columns are.
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _date(value: Any, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise TermsError(f"{where}: '{value}' is not a date (YYYY-MM-DD).") from None


def _names(item: dict[str, Any], where: str) -> dict[str, str]:
    if not str(item.get("name_en", "")).strip():
        raise TermsError(f"{where}: name_en is missing.")
    return {"name_en": item["name_en"], "name_ja": item.get("name_ja", "")}


def _code(item: dict[str, Any], where: str) -> str:
    code = item.get("code")
    if not (isinstance(code, str) and _SLUG.fullmatch(code)):
        raise TermsError(f"{where}: code '{code}' must be 1 to 64 lower-case letters, digits "
                         "or hyphens.")
    return code


def _load_currencies(data: dict[str, Any], source: str) -> None:
    for c in data.get("currencies", []):
        code = c.get("code", "")
        where = f"{source}: currency {code}"
        if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
            raise TermsError(f"{where}: code is not ISO 4217 (three capital letters).")
        minor = c.get("minor_units")
        if not isinstance(minor, int) or not 0 <= minor <= 4:
            raise TermsError(f"{where}: minor_units must be a whole number from 0 to 4.")
        Currency.objects.update_or_create(code=code, defaults={**_names(c, where),
                                                               "minor_units": minor})


def _load_agreement(a: dict[str, Any], source: str) -> None:
    code = _code(a, f"{source}: agreement")
    where = f"{source}: agreement {code}"
    parties = list(a["parties"])
    known = set(Nation.objects.filter(code__in=parties).values_list("code", flat=True))
    if len(set(parties)) != 2:
        raise TermsError(f"{where}: an agreement has exactly two parties.")
    if missing := sorted(set(parties) - known):
        raise TermsError(f"{where}: unknown nation {', '.join(missing)} (load it first).")
    try:
        tolerance = Decimal(str(a.get("equal_value_tolerance_percent", "1.00")))
    except InvalidOperation:
        raise TermsError(f"{where}: equal_value_tolerance_percent is not a number.") from None
    if not Decimal(0) <= tolerance <= Decimal(100):
        raise TermsError(f"{where}: equal_value_tolerance_percent must be between 0 and 100.")
    agreement, _ = Agreement.objects.update_or_create(code=code, defaults={
        **_names(a, where), "in_force_from": _date(a["in_force_from"], where),
        "equal_value_tolerance_percent": tolerance})
    agreement.parties.set(parties)
    activities = {}
    for act in a["activities"]:
        act_code = _code(act, f"{where}: activity")
        activities[act_code], _ = Activity.objects.update_or_create(
            agreement=agreement, code=act_code,
            defaults=_names(act, f"{where}: activity {act_code}"))
    for cat in a["categories"]:
        cat_code = _code(cat, f"{where}: category")
        cwhere = f"{where}: category {cat_code}"
        eligible = cat.get("eligible", True)
        if not isinstance(eligible, bool):
            # "false" as a string is true to bool(): weapons would become eligible.
            raise TermsError(f"{cwhere}: eligible must be true or false.")
        category, _ = Category.objects.update_or_create(
            agreement=agreement, code=cat_code,
            defaults={**_names(cat, cwhere), "eligible": eligible})
        allowed = cat.get("allowed_for", [])
        if unknown := sorted(set(allowed) - set(activities)):
            raise TermsError(f"{cwhere}: allowed_for names unknown activity "
                             f"{', '.join(unknown)}.")
        category.allowed_for.set([activities[c] for c in allowed])
    methods = set()
    for term in a["settlement"]:
        method = term.get("method")
        if method not in SettlementMethod.values:
            raise TermsError(f"{where}: unknown settlement method '{method}' (one of "
                             f"{', '.join(SettlementMethod.values)}).")
        days = term.get("days")
        if not isinstance(days, int) or days < 1:
            raise TermsError(f"{where}: {method}: days must be a whole number ≥ 1.")
        SettlementTerm.objects.update_or_create(agreement=agreement, method=method,
                                                defaults={"days": days})
        methods.add(method)
    if methods != set(SettlementMethod.values):
        raise TermsError(f"{where}: give a settlement period for every method "
                         f"({', '.join(SettlementMethod.values)}).")


@transaction.atomic
def load(paths: Iterable[Path] = DEFAULT_FILES) -> list[str]:
    """Load each file in one transaction: a file with an error changes nothing."""
    loaded = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TermsError(f"{path}: cannot read agreement terms ({exc}).") from exc
        if not isinstance(data, dict):
            raise TermsError(f"{path}: expected an object with currencies and agreements.")
        try:
            _load_currencies(data, str(path))
            for agreement in data.get("agreements", []):
                _load_agreement(agreement, str(path))
        except KeyError as exc:
            raise TermsError(f"{path}: missing field {exc}.") from exc
        except (TypeError, AttributeError) as exc:
            # A list where an object belongs, or a number where a list does.
            raise TermsError(f"{path}: malformed agreement terms ({exc}).") from exc
        loaded.append(str(path))
    return loaded
