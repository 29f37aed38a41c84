"""Shared plumbing for the bench scripts: a throwaway database, a labelled world, reporting.

Every bench runs against its OWN database, never a developer's: on PostgreSQL a database
named ``entente_bench_<script>`` is created (dropped first if a crashed run left it) through
the admin URL and dropped again at the end; on SQLite a file in a temporary directory.
``DATABASE_URL``, ``ENTENTE_VAR_DIR``, ``ENTENTE_KEY_DIR`` and ``ENTENTE_BLOB_DIR`` are
overwritten (not defaulted) before ``django.setup()`` so an exported developer setting can
never leak in.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = "postgres://postgres:postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "entente_bench"

# The labelled world shared by list_visible.py and decisions.py.
COMMUNITIES = ("bench-alpha", "bench-bravo", "bench-charlie")
COMMUNITY_SETS: tuple[tuple[str, ...], ...] = ((), ("bench-alpha",), ("bench-bravo", "bench-charlie"))
EYES_ONLY = {"GBR": "uk-eyes-only", "JPN": "jpn-eyes-only"}
BEFORE_2014_RETIREMENT = dt.date(2014, 1, 1)


def add_db_arguments(parser: argparse.ArgumentParser, script: str, default: str = "pg") -> None:
    parser.add_argument("--db", choices=("pg", "sqlite"), default=default,
                        help=f"database engine (default {default})")
    parser.add_argument("--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", ADMIN_URL),
                        help="PostgreSQL URL used only to CREATE/DROP the bench database")
    parser.add_argument("--db-name", default=f"{DB_PREFIX}_{script}",
                        help=f"bench database name; must start with {DB_PREFIX}")
    parser.add_argument("--keep-db", action="store_true",
                        help="do not drop the PostgreSQL bench database at the end")


def _pg_admin(admin_url: str) -> Any:
    import psycopg

    return psycopg.connect(admin_url, autocommit=True)


@contextlib.contextmanager
def bench_database(args: argparse.Namespace) -> Iterator[str]:
    """Create the bench database, set the environment, django.setup(), migrate; clean up after."""
    if not args.db_name.startswith(DB_PREFIX) or not args.db_name.replace("_", "").isalnum():
        raise SystemExit(f"--db-name must start with {DB_PREFIX} and be alphanumeric/underscore")
    tmp = Path(tempfile.mkdtemp(prefix=f"{args.db_name}-"))
    os.environ["ENTENTE_VAR_DIR"] = str(tmp / "var")
    os.environ["ENTENTE_KEY_DIR"] = str(tmp / "keys")
    os.environ["ENTENTE_BLOB_DIR"] = str(tmp / "blobs")
    created = False
    if args.db == "pg":
        from psycopg import sql

        with _pg_admin(args.pg_admin_url) as admin:
            name = sql.Identifier(args.db_name)
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
        created = True
        parts = urlsplit(args.pg_admin_url)
        url = urlunsplit(parts._replace(path=f"/{args.db_name}"))
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entente.settings")
    sys.path.insert(0, str(ROOT / "src"))
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield url
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if created and not args.keep_db:
            from psycopg import sql

            with _pg_admin(args.pg_admin_url) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                              .format(sql.Identifier(args.db_name)))
        elif created:
            print(f"(kept database {args.db_name})", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT version()")
        else:
            cursor.execute("SELECT 'SQLite ' || sqlite_version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "db": connection.vendor, "db_version": version}


# --------------------------------------------------------------------------- the world


def make_bench_labels() -> list[Any]:
    """~150 distinct labels over both nations, every marking, both caveat kinds, 3 communities.

    Per originator and marking: releasable to the originator only or to both nations; no caveat,
    CRYPTO, or the originator's eyes-only caveat (only when releasable to the originator alone);
    and three community sets. Retired markings are applied as of before their retirement.
    """
    from entente import testing
    from entente.security.labels import LabelSpec, make_label
    from entente.security.models import Classification

    for code in COMMUNITIES:
        testing.community(code)
    labels = []
    for marking in Classification.objects.order_by("nation_id", "level", "code"):
        origin = marking.nation_id
        applied_on = BEFORE_2014_RETIREMENT if marking.retired_on else None
        rel_caveats = [((origin,), ()), ((origin,), ("crypto",)), ((origin,), (EYES_ONLY[origin],)),
                       (("GBR", "JPN"), ()), (("GBR", "JPN"), ("crypto",))]
        for rel, caveats in rel_caveats:
            for communities in COMMUNITY_SETS:
                spec = LabelSpec(origin, marking.code, rel, caveats, communities)
                labels.append(make_label(spec, applied_on=applied_on))
    return labels


def organisations() -> dict[str, Any]:
    from entente import testing

    return {n: testing.organisation(f"{n.lower()}-mod", n) for n in ("GBR", "JPN")}


# --------------------------------------------------------------------------- figures


def pct(values: Sequence[float], p: float) -> float:
    """Percentile by linear interpolation (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(pct(ms, 50), 3), "p95_ms": round(pct(ms, 95), 3),
            "mean_ms": round(statistics.fmean(ms), 3) if ms else float("nan"), "n": len(ms)}


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.1f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w)
                      in enumerate(zip(r, widths, strict=True))) for r in body]
    return "\n".join(out)


def verdict(name: str, met: bool, detail: str) -> str:
    return f"TARGET {name}: {detail} -> {'MET' if met else 'NOT MET'}"


def emit_json(result: dict[str, Any]) -> None:
    """The machine-readable line: always the last line of stdout."""
    print(json.dumps(result, sort_keys=True, default=str), flush=True)
