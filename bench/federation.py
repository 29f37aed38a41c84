#!/usr/bin/env python
"""Benchmark federation: packages/s and MiB/s for 1 MiB and 100 MiB documents between two nodes.

Why: a transmission to an organisation of the partner nation becomes a package (signed by the
sending node, its content sealed to the receiving node's key), written to the outbox and posted
over mutually authenticated HTTPS to the partner's ``entente node serve``, which verifies it,
re-encrypts the documents under its own keys, stores them and answers a signed receipt. Large
attachments pass through that chain several times on each side; this measures what it costs.

Two nodes run on this machine, each with its own directory, database and keys (the demo's
people: ben/alice on GBR, kenji/haruka on JPN): SQLite files by default, or with
``--db postgresql`` two scratch databases ``entente_bench_federation_gbr`` / ``_jpn`` on
127.0.0.1:5432 (created through ``--pg-admin-url`` and dropped at the end, as the other bench
databases are). Both are prepared with ``LocalNode`` (``entente node seed-demo``: migrate, keys,
demo data, identity file; then each imports the other's identity). The **receiving** JPN node
runs as its own process (``LocalNode.start``: ``entente node serve --no-worker``). The
**sending** GBR node runs in this process: its environment (``ENTENTE_VAR_DIR``,
``ENTENTE_NODE_NATION``, ``DATABASE_URL``, ``ENTENTE_FEDERATION_ENDPOINT``; the private
variables a LocalNode drops are dropped here too) is set before ``django.setup()``, so the
sender's work is timed without Python start-up, exactly as a long-running ``node serve`` worker
or web process would do it; ``LocalNode`` is used for the GBR node only to prepare it.

For each size class (``--count-small`` documents with a ``--small-mib`` attachment, then
``--count-large`` with a ``--large-mib`` one; random bytes, created on the sender as ben with
``exchange.services.create_document`` and an ``IncomingFile``, under
``--label``), one document per transmission to ``jpn-atla``, one after the other:

* packaging: ``exchange.services.transmit`` (the kernel's checks, the transmission rows and
  ``federation.services._queue``: the package is written into the outbox and fsynced);
* delivery: ``federation.services.deliver_due(limit=1)``: POST over mutual TLS, the receiver's
  ``services.receive`` (verify, hash every part, decrypt, re-encrypt under its keys, store,
  sign a receipt) and ``accept_receipt`` storing the receipt. Split, by timing
  ``transport.post_package`` and its ``getresponse()`` call in this process, into *upload*
  (connect, TLS handshake, body sent to the socket), *receiver* (from the body sent to the
  answer: the receiver's remaining read, ``receive()`` and the response) and *rest* (the
  outbox query and ``accept_receipt``);
* end to end: the two together.

Reported per class and phase: p50 and worst (ms), packages/s and MiB/s of document bytes
(attachment + body) over the phase's total time. Peak memory: the sender's (this process) and
the receiver's (``VmHWM`` of its process in ``/proc``), both reset through ``clear_refs`` before
each class so each peak is that class's; shown next to the RSS at the start of the class. One
untimed warm-up package goes first (``--warmup``).

Correctness is checked in the bench, so the figures are of real deliveries: every package
receipted on the sender, its transmission acknowledged, the outbox empty; on the receiver (read
with ``LocalNode.sql``) one more ``exchange_document``, ``exchange_attachment`` and
``federation_inboundpackage`` row per package sent, and every attachment there with the size and
plaintext SHA-256 of the one sent. No target is set; exit status 1 if verification fails.

``--profile DIR`` writes a cProfile of the sender (transmit + delivery of the large class) and,
if ``py-spy`` is on PATH or given with ``--py-spy``, a py-spy record of the receiver over the
same time (``--py-spy-format``, default ``raw``: collapsed stacks, ``speedscope`` for the
viewer), idle samples included so that waiting (socket, fsync, database) shows: the stacks
through ``finish_request`` are the request threads, wall-clock. A profiled run is slower
(cProfile on the sender): use it for where the time goes, not for the figures.

    .venv/bin/python bench/federation.py                       # SQLite, 20 x 1 MiB, 3 x 100 MiB
    .venv/bin/python bench/federation.py --db postgresql
    .venv/bin/python bench/federation.py --count-small 5 --count-large 1 --large-mib 20  # smoke
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import _benchdb as B

MIB = 1 << 20
DB_PREFIX = "entente_bench_federation"
SENDER, RECEIVER = "GBR", "JPN"
SENDER_USER, RECIPIENT_ORG = "ben", "jpn-atla"
DEFAULT_LABEL = "GBR/SECRET|rel=GBR,JPN|com=aam-feasibility"
# As LocalNode drops them: a node derives these from its own ENTENTE_VAR_DIR.
PRIVATE = ("ENTENTE_KEY_DIR", "ENTENTE_BLOB_DIR", "ENTENTE_FEDERATION_DIR", "ENTENTE_SECRET_KEY",
           "ENTENTE_TEST_DB_NAME")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgresql", "pg"), default="sqlite",
                   help="databases of the two nodes (default sqlite; pg = postgresql)")
    p.add_argument("--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL", B.ADMIN_URL),
                   help="PostgreSQL URL used only to CREATE/DROP the two bench databases")
    p.add_argument("--count-small", type=int, default=20, help="documents of --small-mib")
    p.add_argument("--count-large", type=int, default=3, help="documents of --large-mib")
    p.add_argument("--small-mib", type=int, default=1, help="attachment size, small class")
    p.add_argument("--large-mib", type=int, default=100, help="attachment size, large class")
    p.add_argument("--warmup", type=int, default=1, help="untimed small packages first")
    p.add_argument("--label", default=DEFAULT_LABEL, help="label of the documents sent")
    p.add_argument("--tmpdir", type=Path, default=None, help="where the nodes' directories go")
    p.add_argument("--keep", action="store_true",
                   help="keep the nodes' directories and databases (printed at the end)")
    p.add_argument("--profile", type=Path, default=None,
                   help="write sender cProfile (+ receiver py-spy) of each class here")
    p.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy executable")
    p.add_argument("--py-spy-format", default="raw", choices=("raw", "speedscope", "flamegraph"))
    args = p.parse_args()
    if args.db == "pg":
        args.db = "postgresql"
    if min(args.count_small, args.count_large, args.small_mib, args.large_mib) < 0 \
            or args.warmup < 0:
        p.error("counts and sizes must not be negative")
    return args


def reproduce(args: argparse.Namespace) -> str:
    argv = [".venv/bin/python", "bench/federation.py", "--db", args.db,
            "--count-small", str(args.count_small), "--count-large", str(args.count_large)]
    if args.small_mib != 1 or args.large_mib != 100:
        argv += ["--small-mib", str(args.small_mib), "--large-mib", str(args.large_mib)]
    if args.warmup != 1:
        argv += ["--warmup", str(args.warmup)]
    if args.label != DEFAULT_LABEL:
        argv += ["--label", args.label]
    return shlex.join(argv)


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    # transport.free_port needs Django set up; this runs before.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RandomStream(io.RawIOBase):
    """``size`` random bytes, made as they are read (nothing held in memory)."""

    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._left)
        if n:
            memoryview(buffer).cast("B")[:n] = os.urandom(n)
            self._left -= n
        return n


def _status_mib(pid: int | str, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak(pid: int | str) -> bool:
    """Reset the kernel's peak RSS (VmHWM) of a process to its current RSS (Linux >= 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib(pid: int | str) -> float | None:
    peak = _status_mib(pid, "VmHWM")
    if peak is None and pid == "self":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def summary(seconds: list[float], document_bytes: int) -> dict[str, float]:
    total = sum(seconds)
    return {"p50_ms": round(statistics.median(seconds) * 1000, 1),
            "worst_ms": round(max(seconds) * 1000, 1),
            "packages_per_s": round(len(seconds) / total, 2) if total else float("nan"),
            "mib_per_s": round(document_bytes / total / MIB, 1) if total else float("nan"),
            "total_s": round(total, 3)}


def p50_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


# --------------------------------------------------------------------------- the nodes


def pg_url(admin_url: str, name: str) -> str:
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def pg_databases(admin_url: str, names: list[str], *, create: bool) -> None:
    from psycopg import sql

    with B._pg_admin(admin_url) as admin:
        for name in names:
            ident = sql.Identifier(name)
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            if create:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(ident))


def setup_sender_environment(root: Path, database_url: str, port: int) -> None:
    """The GBR node's environment, as LocalNode gives it to its processes, then Django."""
    for name in PRIVATE:
        os.environ.pop(name, None)
    os.environ.update({"ENTENTE_VAR_DIR": str(root / SENDER.lower()),
                       "ENTENTE_NODE_NATION": SENDER, "DATABASE_URL": database_url,
                       "ENTENTE_FEDERATION_ENDPOINT": f"https://127.0.0.1:{port}",
                       "DJANGO_SETTINGS_MODULE": "entente.settings"})
    sys.path.insert(0, str(B.ROOT / "src"))
    import django

    django.setup()


def prepare_nodes(nodes: list[Any]) -> None:
    """``prepare()`` both nodes at once (two processes), then each trusts the other."""
    errors: list[BaseException] = []

    def run(node: Any) -> None:
        try:
            node.prepare()
        except BaseException as exc:  # re-raised below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    nodes[0].trust(nodes[1])
    nodes[1].trust(nodes[0])


# --------------------------------------------------------------------------- timing hooks


class DeliveryClock:
    """Times ``transport.post_package`` and the moment its request body has gone (when it calls
    ``getresponse()``), without touching the federation code: both are wrapped here."""

    def __init__(self) -> None:
        self.post_start = self.body_sent = self.post_end = 0.0

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        import http.client

        from entente.federation import transport

        original_post = transport.post_package
        original_getresponse = http.client.HTTPConnection.getresponse

        def post(*a: Any, **kw: Any) -> Any:
            self.post_start = self.body_sent = time.perf_counter()
            try:
                return original_post(*a, **kw)
            finally:
                self.post_end = time.perf_counter()

        def getresponse(conn: Any) -> Any:
            self.body_sent = time.perf_counter()
            return original_getresponse(conn)

        transport.post_package = post  # type: ignore[assignment]
        http.client.HTTPConnection.getresponse = getresponse  # type: ignore[method-assign]
        try:
            yield
        finally:
            transport.post_package = original_post  # type: ignore[assignment]
            http.client.HTTPConnection.getresponse = original_getresponse  # type: ignore[method-assign]


@contextlib.contextmanager
def receiver_profile(args: argparse.Namespace, pid: int, name: str) -> Iterator[None]:
    if args.profile is None or not args.py_spy:
        yield
        return
    ext = {"raw": "txt", "speedscope": "json", "flamegraph": "svg"}[args.py_spy_format]
    out = args.profile / f"{name}-receiver.{ext}"
    # Our own argv (py-spy's path from the command line or PATH): no shell.
    spy = subprocess.Popen(
        [args.py_spy, "record", "--pid", str(pid), "--rate", "250", "--threads", "--idle",
         "--format", args.py_spy_format, "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # let it attach
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            _, err = spy.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
        if spy.returncode not in (0, -signal.SIGINT):
            print(f"py-spy exited {spy.returncode}: {err.decode(errors='replace')[-500:]}",
                  file=sys.stderr)
        print(f"receiver profile: {out}", file=sys.stderr)


# --------------------------------------------------------------------------- the measurement


def make_documents(actor: Any, label: str, count: int, size: int, tag: str) -> tuple[list[Any], float]:
    from entente.exchange import services as exchange
    from entente.security.labels import LabelSpec

    spec = LabelSpec.parse(label)
    documents, start = [], time.perf_counter()
    for i in range(count):
        documents.append(exchange.create_document(
            actor=actor, label=spec, title_en=f"Federation bench {tag} {i}",
            summary_en=f"{size // MIB} MiB of random bytes", body=f"Bench document {tag} {i}.",
            files=[exchange.IncomingFile(f"{tag}-{i}.bin", "application/octet-stream",
                                         RandomStream(size))]))
    return documents, time.perf_counter() - start


def send_one(document: Any, actor: Any, recipient: Any, clock: DeliveryClock,
             queries: dict[str, int] | None = None) -> dict[str, float]:
    """One document, one package: transmit, then deliver. With ``queries`` (the warm-up
    only: capturing slows each query a little), the sender's SQL statements are counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from entente.exchange import services as exchange
    from entente.federation import services as federation

    def counted(phase: str) -> contextlib.AbstractContextManager[Any]:
        if queries is None:
            return contextlib.nullcontext()
        capture = CaptureQueriesContext(connection)
        stack = contextlib.ExitStack()
        stack.enter_context(capture)
        stack.callback(lambda: queries.__setitem__(phase, len(capture.captured_queries)))
        return stack

    t0 = time.perf_counter()
    with counted("packaging"):
        transmission = exchange.transmit(actor=actor, documents=[document],
                                         recipient=recipient, channel="secure_network",
                                         reference=f"BENCH/{document.pk.hex[:8]}")
    t1 = time.perf_counter()
    with counted("delivery"):
        deliveries = federation.deliver_due(limit=1)
    t2 = time.perf_counter()
    if len(deliveries) != 1 or deliveries[0].outcome != "receipted" \
            or deliveries[0].package.transmission_id != transmission.pk:
        detail = [(d.package.pk, d.outcome, d.detail) for d in deliveries]
        raise RuntimeError(f"delivery of transmission {transmission.pk} failed: {detail}")
    return {"packaging": t1 - t0, "delivery": t2 - t1, "end_to_end": t2 - t0,
            "upload": clock.body_sent - clock.post_start,
            "receiver": clock.post_end - clock.body_sent,
            "rest": (t2 - t1) - (clock.post_end - clock.post_start)}


def run_class(name: str, size: int, count: int, *, args: argparse.Namespace, actor: Any,
              recipient: Any, receiver_pid: int, clock: DeliveryClock) -> dict[str, Any]:
    print(f"{name}: creating {count} documents of {size / MIB:g} MiB ...", file=sys.stderr)
    documents, create_s = make_documents(actor, args.label, count, size, name)
    document_bytes = [d.versions.get().attachments.get().size + len(f"Bench document {name} {i}.")
                      for i, d in enumerate(documents)]
    own_rss, their_rss = _status_mib("self", "VmRSS"), _status_mib(receiver_pid, "VmRSS")
    peaks_reset = reset_peak("self") and reset_peak(receiver_pid)
    runs: list[dict[str, float]] = []
    queries: dict[str, int] = {}
    profiler = cProfile.Profile() if args.profile is not None and name != "warmup" else None
    print(f"{name}: sending {count} packages ...", file=sys.stderr)
    with receiver_profile(args, receiver_pid, name) if profiler else contextlib.nullcontext():
        for i, document in enumerate(documents):
            if profiler:
                profiler.enable()
            runs.append(send_one(document, actor, recipient, clock,
                                 queries if name == "warmup" and i == 0 else None))
            if profiler:
                profiler.disable()
            print(f"  {name} {i + 1}/{count}: packaging {runs[-1]['packaging']:.3f} s, "
                  f"delivery {runs[-1]['delivery']:.3f} s", file=sys.stderr)
    if profiler:
        out = args.profile / f"{name}-sender.pstats"
        profiler.dump_stats(out)
        print(f"sender profile: {out}", file=sys.stderr)
    total_bytes = sum(document_bytes)
    phases = {phase: summary([r[phase] for r in runs], total_bytes)
              for phase in ("packaging", "delivery", "end_to_end")} if runs else {}
    return {
        "size_mib": size / MIB, "count": count, "document_bytes": total_bytes,
        **phases,
        "delivery_split_p50_ms": {part: p50_ms([r[part] for r in runs])
                                  for part in ("upload", "receiver", "rest")} if runs else {},
        "create_mib_per_s": round(total_bytes / create_s / MIB, 1) if create_s else None,
        "sender_rss_start_mib": round(own_rss, 1) if own_rss else None,
        "sender_peak_rss_mib": round(peak_rss_mib("self") or 0, 1),
        "receiver_rss_start_mib": round(their_rss, 1) if their_rss else None,
        "receiver_peak_rss_mib": round(peak_rss_mib(receiver_pid) or 0, 1),
        "peaks_per_class": peaks_reset,
        "sender_queries_per_package": queries or None,
        "sent": [(str(d.pk), d.versions.get().attachments.get().sha256, b)
                 for d, b in zip(documents, document_bytes, strict=True)],
    }


def verify(receiver: Any, baseline: dict[str, int], sent: list[tuple[str, str, int]],
           sender_dir: Path, receiver_dir: Path) -> dict[str, Any]:
    from entente.exchange.models import Attachment, Transmission
    from entente.federation.models import OutboundPackage, OutboundState

    n = len(sent)
    counts = {t: receiver.count(t) - baseline[t] for t in baseline}
    held = {sha: size for sha, size in receiver.sql("SELECT sha256, size FROM exchange_attachment")}
    ours = dict(Attachment.objects.filter(version__document_id__in=[s[0] for s in sent])
                .values_list("sha256", "size"))
    missing = [sha for sha in ours if held.get(sha) != ours[sha]]
    documents_there = {str(r[0]).replace("-", "") for r in receiver.sql(
        "SELECT id FROM exchange_document")}
    absent = [s[0] for s in sent if s[0].replace("-", "") not in documents_there]
    outbound = OutboundPackage.objects.all()
    not_receipted = outbound.exclude(state=OutboundState.RECEIPTED).count()
    unacknowledged = Transmission.objects.filter(packages__isnull=False,
                                                 acknowledged_at__isnull=True).count()
    outbox = sender_dir / "federation" / "outbox"
    left_in_outbox = len(list(outbox.iterdir())) if outbox.exists() else 0
    incoming = receiver_dir / "federation" / "incoming"
    left_incoming = len(list(incoming.iterdir())) if incoming.exists() else 0
    checks = {
        "packages_sent": outbound.count() == n,
        "all_receipted": not_receipted == 0,
        "transmissions_acknowledged": unacknowledged == 0,
        "outbox_empty": left_in_outbox == 0,
        "incoming_empty": left_incoming == 0,
        "receiver_documents": counts["exchange_document"] == n and not absent,
        "receiver_attachments": counts["exchange_attachment"] == n,
        "receiver_inbound_packages": counts["federation_inboundpackage"] == n,
        "attachments_same_sha256_and_size": len(ours) == n and not missing,
    }
    return {"ok": all(checks.values()), "checks": checks, "sent": n,
            "receiver_new_rows": counts, "not_receipted": not_receipted,
            "left_in_outbox": left_in_outbox}


# --------------------------------------------------------------------------- main


def main() -> int:
    args = parse_args()
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: 1-min load average is {load_before[0]:.2f} on {os.cpu_count()} CPUs; "
              "other work will distort the timings", file=sys.stderr)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"{DB_PREFIX}-", dir=args.tmpdir)).resolve()
    names = {n: f"{DB_PREFIX}_{n.lower()}" for n in (SENDER, RECEIVER)}
    urls = {n: f"sqlite:///{root / n.lower() / 'entente.sqlite3'}" for n in names}
    created_pg = False
    nodes: list[Any] = []
    status = 1
    try:
        if args.db == "postgresql":
            pg_databases(args.pg_admin_url, list(names.values()), create=True)
            created_pg = True
            urls = {n: pg_url(args.pg_admin_url, name) for n, name in names.items()}
        sender_port = free_port()
        setup_sender_environment(root, urls[SENDER], sender_port)

        from django.db import connections

        from entente.core.models import Organisation, User
        from entente.federation.localnode import LocalNode

        uk = LocalNode(SENDER, root, officer="alice", database_url=urls[SENDER],
                       federation_port=sender_port)
        jp = LocalNode(RECEIVER, root, officer="haruka", database_url=urls[RECEIVER])
        nodes = [uk, jp]
        if Path(os.environ["ENTENTE_VAR_DIR"]).resolve() != uk.var.resolve():
            raise RuntimeError("the sender's environment and its LocalNode disagree")
        print(f"preparing the {SENDER} and {RECEIVER} nodes in {root} ({args.db}) ...",
              file=sys.stderr)
        start = time.perf_counter()
        prepare_nodes(nodes)
        jp.start(worker=False)
        assert jp.server is not None
        print(f"nodes ready in {time.perf_counter() - start:.1f} s; receiver pid "
              f"{jp.server.pid}", file=sys.stderr)

        actor = User.objects.select_related("organisation").get(username=SENDER_USER)
        recipient = Organisation.objects.get(code=RECIPIENT_ORG)
        tables = ("exchange_document", "exchange_attachment", "federation_inboundpackage")
        baseline = {t: jp.count(t) for t in tables}
        clock = DeliveryClock()
        queries: dict[str, int] | None = None
        sent: list[tuple[str, str, int]] = []
        classes: dict[str, dict[str, Any]] = {}
        with clock.installed():
            if args.warmup:
                warm = run_class("warmup", args.small_mib * MIB, args.warmup, args=args,
                                 actor=actor, recipient=recipient, receiver_pid=jp.server.pid,
                                 clock=clock)
                sent += warm.pop("sent")
                queries = warm["sender_queries_per_package"]
            for name, mib, count in (("small", args.small_mib, args.count_small),
                                     ("large", args.large_mib, args.count_large)):
                if count:
                    classes[name] = run_class(name, mib * MIB, count, args=args, actor=actor,
                                              recipient=recipient, receiver_pid=jp.server.pid,
                                              clock=clock)
                    sent += classes[name].pop("sent")
        checked = verify(jp, baseline, sent, uk.var, jp.var)
        env = B.environment()
        load_after = os.getloadavg()

        import cryptography

        rows = []
        for c in classes.values():
            for phase in ("packaging", "delivery", "end_to_end"):
                s = c[phase]
                rows.append((f"{c['size_mib']:g} MiB x {c['count']}", phase,
                             f"{s['p50_ms']:,.1f}", f"{s['worst_ms']:,.1f}",
                             f"{s['packages_per_s']:.2f}", f"{s['mib_per_s']:.1f}"))
        split_rows = [(f"{c['size_mib']:g} MiB", *(f"{c['delivery_split_p50_ms'][k]:,.1f}"
                                                   for k in ("upload", "receiver", "rest")),
                       f"{c['create_mib_per_s']:.1f}") for c in classes.values()]
        memory_rows = [(f"{c['size_mib']:g} MiB", *(f"{c[k]:.1f}" if c[k] is not None else "?"
                                                    for k in ("sender_rss_start_mib",
                                                              "sender_peak_rss_mib",
                                                              "receiver_rss_start_mib",
                                                              "receiver_peak_rss_mib")))
                       for c in classes.values()]
        print(f"\nEntente federation: {SENDER} -> {RECEIVER} ({RECIPIENT_ORG}), two local nodes, "
              f"{env['db']} ({env['db_version']}), Python {env['python']}, cryptography "
              f"{cryptography.__version__}, {env['cpus']} CPUs, load average (1/5/15 min) "
              f"{' '.join(f'{v:.2f}' for v in load_before)} -> "
              f"{' '.join(f'{v:.2f}' for v in load_after)}")
        print(f"label {args.label}; one document per package; {args.warmup} warm-up package(s) "
              "not counted\n")
        print(B.table(("documents", "phase", "p50 ms", "worst ms", "packages/s", "MiB/s"), rows))
        print("\ndelivery split, p50 ms (upload = connect + TLS + body sent; receiver = until "
              "the receipt came back; rest = outbox query + accept_receipt); create = "
              "create_document with the attachment, untimed setup:")
        print(B.table(("documents", "upload", "receiver", "rest", "create MiB/s"), split_rows))
        print("\nmemory, MiB (RSS at the class's start, peak RSS during it"
              + ("" if all(c["peaks_per_class"] for c in classes.values())
                 else "; peaks NOT reset per class: whole-process peaks") + "):")
        print(B.table(("documents", "sender start", "sender peak", "receiver start",
                       "receiver peak"), memory_rows))
        if queries:
            print(f"\nsender SQL statements per package (warm-up, {args.small_mib} MiB): "
                  f"packaging {queries['packaging']}, delivery {queries['delivery']}")
        print(f"\nverification: {'OK' if checked['ok'] else 'FAILED'} "
              f"({checked['sent']} packages incl. warm-up; "
              + ", ".join(f"{k}={'ok' if v else 'FAIL'}" for k, v in checked["checks"].items())
              + ")")
        print(f"target: none (sizing); reproduce with: {reproduce(args)}")
        result = {
            "bench": "federation", "command": reproduce(args), **env,
            "cryptography": cryptography.__version__, "label": args.label,
            "warmup": args.warmup, "classes": classes, "verification": checked,
            "sender_queries_per_package": queries,
            "loadavg_before": [round(v, 2) for v in load_before],
            "loadavg_after": [round(v, 2) for v in load_after],
            "platform": platform.platform(),
        }
        B.emit_json(result)
        status = 0 if checked["ok"] else 1
        connections.close_all()
    finally:
        for node in nodes:
            with contextlib.suppress(Exception):
                node.close()
        with contextlib.suppress(Exception):
            from django.db import connections as conns

            conns.close_all()
        if args.keep:
            print(f"(kept {root}" + (f" and databases {', '.join(names.values())}"
                                     if created_pg else "") + ")", file=sys.stderr)
        else:
            if created_pg:
                pg_databases(args.pg_admin_url, list(names.values()), create=False)
            shutil.rmtree(root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
