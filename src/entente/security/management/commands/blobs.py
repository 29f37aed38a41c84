from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from entente.security import audit, blobs, uploads
from entente.security.services import blob_referenced


class Command(BaseCommand):
    help = ("Remove what failed work left in the blob store: unfinished .part files, blobs no "
            "row refers to, and upload temporaries of dead processes (run it from cron).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sweep = sub.add_parser("sweep")
        sweep.add_argument("--older-than-hours", type=float, default=1.0,
                           help="leave anything younger alone: it may still be in use (default 1)")

    def handle(self, *args: Any, verb: str, older_than_hours: float, **options: Any) -> None:
        age = dt.timedelta(hours=older_than_hours)
        removed = blobs.sweep(blob_referenced, older_than=age) + uploads.sweep(older_than=age)
        with audit.source("cli"):
            audit.record("blobs.sweep", object_type="blob", allowed=True,
                         detail={"removed": removed})
        self.stdout.write(f"removed {len(removed)} file(s)" +
                          "".join(f"\n  {name}" for name in removed))
