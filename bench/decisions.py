#!/usr/bin/env python
"""Benchmark single access decisions per second, and compare with the same policy in Cedar.

Why: every record view is one kernel decision. This measures, over every (user, label) pair of
six users of different standing and ~150 labels (a mix of allowed and denied):

* ``kernel.evaluate(subject, Action.VIEW, facts)`` on prebuilt Subject / LabelFacts — the
  decision alone, broken down by the rule that decided (a denial builds its reason text, and
  some reasons look names up in the database: the queries per rule are reported);
* ``kernel.decide(user, Action.VIEW, record)`` — what application code calls: Subject.of,
  the record's label facts, the decision and its audit write (a hash-chained INSERT in its own
  transaction; every ENTENTE_AUDIT_CHECKPOINT_EVERY-th event also signs a checkpoint) — and the
  same with ``subject=`` prebuilt, as a batch of decisions in one request would;
* if ``cedarpy`` imports (it is not in the lock file: ``.venv/bin/pip install cedarpy``), the
  same policy in Cedar, ``cedarpy.is_authorized`` per decision with pre-parsed policy and
  entity handles, batched, and with per-request entity JSON; every input is checked to get the
  same answer from Cedar and from ``evaluate``, and disagreements are listed.

Target: none was set for raw decisions/s; the figures are reported for sizing. The Cedar
agreement check must show 0 disagreements.

    .venv/bin/python bench/decisions.py                 # PostgreSQL
    .venv/bin/python bench/decisions.py --db sqlite
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
from typing import Any

import _benchdb as B

CEDAR_POLICY = """
permit (principal, action == Action::"view", resource)
when {
    (principal.nationality == resource.originator
        || resource.releasable_to.contains(principal.nationality))
    && principal.readable.contains(resource.classification)
    && principal.caveats.containsAll(resource.caveats)
    && principal.communities.containsAll(resource.communities)
};
"""

USERS: dict[str, dict[str, Any]] = {
    "gbr-secret": {"nation": "GBR", "clearance": "SECRET", "communities": ["bench-alpha"]},
    "gbr-topsecret": {"nation": "GBR", "clearance": "TOP-SECRET", "caveats": ["crypto"],
                      "communities": ["bench-alpha", "bench-bravo", "bench-charlie"]},
    "gbr-uncleared": {"nation": "GBR"},
    "jpn-gokuhi": {"nation": "JPN", "clearance": "GOKUHI"},
    "jpn-kimitsu": {"nation": "JPN", "clearance": "KIMITSU", "caveats": ["crypto"],
                    "communities": ["bench-bravo", "bench-charlie"]},
    "jpn-hi": {"nation": "JPN", "clearance": "HI", "communities": ["bench-alpha"]},
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    B.add_db_arguments(p, "decisions")
    p.add_argument("--evaluate-n", type=int, default=50_000, help="evaluate() calls to time")
    p.add_argument("--decide-n", type=int, default=3_000, help="decide() calls per variant")
    p.add_argument("--cedar-n", type=int, default=50_000, help="cedar is_authorized calls")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


def make_world() -> tuple[dict[str, Any], list[Any], list[Any]]:
    from entente import testing
    from entente.core.models import User
    from entente.security.models import SampleRecord

    labels = B.make_bench_labels()
    orgs = B.organisations()
    for name, spec in USERS.items():
        testing.make_user(name, spec["nation"], clearance=spec.get("clearance"),
                          communities=spec.get("communities", ()),
                          caveats=spec.get("caveats", ()))
    SampleRecord.objects.bulk_create(
        SampleRecord(title=f"record for {label.canonical}", body=b"x", label=label,
                     owner=orgs[label.originator_id]) for label in labels)
    users = {u.username: u for u in User.objects.filter(username__in=USERS)
             .select_related("organisation")}
    records = list(SampleRecord.objects.select_related("label").order_by("label_id"))
    return users, labels, records


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


# --------------------------------------------------------------------------- evaluate


def bench_evaluate(subjects: dict[str, Any], facts: list[Any], inputs: list[tuple[str, int]],
                   n: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from entente.security import kernel

    view = kernel.Action.VIEW
    # Queries per rule, from one pass over the distinct inputs.
    queries: dict[str, list[int]] = collections.defaultdict(list)
    for user, i in inputs:
        with CaptureQueriesContext(connection) as captured:
            decision = kernel.evaluate(subjects[user], view, facts[i])
        queries[decision.rule].append(len(captured.captured_queries))
    per_rule: dict[str, list[float]] = collections.defaultdict(list)
    clock = time.perf_counter
    done = 0
    total_start = clock()
    while done < n:
        for user, i in inputs:
            subject, label = subjects[user], facts[i]
            t0 = clock()
            decision = kernel.evaluate(subject, view, label)
            per_rule[decision.rule].append(clock() - t0)
            done += 1
            if done == n:
                break
    total = clock() - total_start
    rules = {}
    for rule, times in sorted(per_rule.items()):
        rules[rule] = {"count": len(times), "share": round(len(times) / done, 3),
                       "mean_us": round(sum(times) / len(times) * 1e6, 2),
                       "p50_us": round(B.pct(times, 50) * 1e6, 2),
                       "per_s": round(rate(len(times), sum(times))),
                       "db_queries": max(queries[rule])}
    allowed = per_rule.get("allowed", [])
    return {"n": done, "seconds": round(total, 3), "per_s": round(rate(done, total)),
            "allowed_share": round(len(allowed) / done, 3), "by_rule": rules}


# --------------------------------------------------------------------------- decide


def bench_decide(users: dict[str, Any], records: list[Any], subjects: dict[str, Any],
                 n: int, seed: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from entente.security import kernel
    from entente.security.models import AuditEvent

    rng = random.Random(seed)
    pairs = [(u, r) for u in users for r in range(len(records))]
    rng.shuffle(pairs)
    view = kernel.Action.VIEW
    out: dict[str, Any] = {}
    for variant in ("decide", "decide_prebuilt_subject"):
        before = AuditEvent.objects.count()
        times, allowed = [], 0
        clock = time.perf_counter
        start = clock()
        for k in range(n):
            user, r = pairs[k % len(pairs)]
            subject = subjects[user] if variant == "decide_prebuilt_subject" else None
            t0 = clock()
            decision = kernel.decide(users[user], view, records[r], subject=subject)
            times.append(clock() - t0)
            allowed += decision.allowed
        total = clock() - start
        written = AuditEvent.objects.count() - before
        with CaptureQueriesContext(connection) as captured:
            user, r = pairs[0]
            kernel.decide(users[user], view, records[r],
                          subject=subjects[user] if variant != "decide" else None)
        out[variant] = {"n": n, "seconds": round(total, 3), "per_s": round(rate(n, total)),
                        "p50_ms": round(B.pct(times, 50) * 1000, 3),
                        "p95_ms": round(B.pct(times, 95) * 1000, 3),
                        "allowed_share": round(allowed / n, 3), "audit_events_written": written,
                        "db_queries_per_call": len(captured.captured_queries)}
    return out


# --------------------------------------------------------------------------- cedar


def cedar_entities(subjects: dict[str, Any], facts: list[Any]) -> tuple[list[dict], dict, dict]:
    from entente.security.models import Caveat, Classification, Community

    marking = {c.pk: c.key for c in Classification.objects.all()}
    caveat = dict(Caveat.objects.values_list("pk", "code"))
    community = dict(Community.objects.values_list("pk", "code"))
    principals = {
        name: {"uid": {"type": "User", "id": name}, "parents": [], "attrs": {
            "nationality": s.nation or "",
            "readable": sorted(marking[m] for m in s.readable),
            "caveats": sorted(caveat[c] for c in s.caveat_ids),
            "communities": sorted(community[c] for c in s.community_ids)}}
        for name, s in subjects.items()}
    resources = {
        str(f.id): {"uid": {"type": "Label", "id": str(f.id)}, "parents": [], "attrs": {
            "originator": f.originator,
            "classification": marking[f.classification_id],
            "releasable_to": sorted(f.releasable_to),
            "caveats": sorted(caveat[c] for c in f.caveat_ids),
            "communities": sorted(community[c] for c in f.community_ids)}}
        for f in facts}
    return [*principals.values(), *resources.values()], principals, resources


def bench_cedar(subjects: dict[str, Any], facts: list[Any], inputs: list[tuple[str, int]],
                n: int) -> dict[str, Any]:
    try:
        import cedarpy
    except ImportError as exc:
        msg = f"cedarpy not importable ({exc}); skipped. Try: .venv/bin/pip install cedarpy"
        print(msg, file=sys.stderr)
        return {"skipped": msg}
    from importlib.metadata import version

    from entente.security import kernel

    entity_list, principals, resources = cedar_entities(subjects, facts)
    policies = cedarpy.PolicySet.from_str(CEDAR_POLICY)
    entities = cedarpy.Entities.from_json_str(json.dumps(entity_list))

    def request(user: str, i: int) -> dict[str, Any]:
        return {"principal": f'User::"{user}"', "action": 'Action::"view"',
                "resource": f'Label::"{facts[i].id}"', "context": {}}

    requests = [request(u, i) for u, i in inputs]

    # Agreement on every distinct input.
    results = cedarpy.is_authorized_batch(requests, policies, entities)
    disagreements = []
    for (user, i), result in zip(inputs, results, strict=True):
        ours = kernel.evaluate(subjects[user], kernel.Action.VIEW, facts[i])
        if result.diagnostics.errors:
            disagreements.append({"user": user, "label": facts[i].id,
                                  "cedar_errors": result.diagnostics.errors})
        elif result.allowed != ours.allowed:
            disagreements.append({"user": user, "label": facts[i].id, "ours": ours.rule,
                                  "cedar": result.decision.value})

    clock = time.perf_counter
    # 1. one call per decision, pre-parsed policy and entity handles (best case)
    start = clock()
    for k in range(n):
        cedarpy.is_authorized(requests[k % len(requests)], policies, entities)
    single = clock() - start
    # 2. batched: all distinct inputs per call
    rounds = max(1, n // len(requests))
    start = clock()
    for _ in range(rounds):
        cedarpy.is_authorized_batch(requests, policies, entities)
    batched = clock() - start
    # 3. per-request entities (principal + resource JSON built each time, as when attributes are
    #    read from our database per request rather than kept in a resident entity store)
    m = max(1, n // 5)
    start = clock()
    for k in range(m):
        user, i = inputs[k % len(inputs)]
        cedarpy.is_authorized(requests[k % len(requests)], policies,
                              [principals[user], resources[str(facts[i].id)]])
    per_request = clock() - start
    return {
        "cedarpy_version": version("cedarpy"), "inputs_checked": len(inputs),
        "disagreements": len(disagreements), "disagreement_examples": disagreements[:10],
        "single": {"n": n, "seconds": round(single, 3), "per_s": round(rate(n, single))},
        "batched": {"n": rounds * len(requests), "batch": len(requests),
                    "seconds": round(batched, 3),
                    "per_s": round(rate(rounds * len(requests), batched))},
        "per_request_entities": {"n": m, "seconds": round(per_request, 3),
                                 "per_s": round(rate(m, per_request))},
    }


def main() -> None:
    args = parse_args()
    with B.bench_database(args):
        from entente.security import kernel
        from entente.security.labels import LabelFacts

        env = B.environment()
        users, labels, records = make_world()
        subjects = {name: kernel.Subject.of(user) for name, user in users.items()}
        facts = [LabelFacts.of(label) for label in labels]
        rng = random.Random(args.seed)
        inputs = [(u, i) for u in subjects for i in range(len(facts))]
        rng.shuffle(inputs)

        print(f"evaluate x {args.evaluate_n:,}...", file=sys.stderr)
        evaluated = bench_evaluate(subjects, facts, inputs, args.evaluate_n)
        print(f"decide x {args.decide_n:,} x 2...", file=sys.stderr)
        decided = bench_decide(users, records, subjects, args.decide_n, args.seed)
        print(f"cedar x {args.cedar_n:,}...", file=sys.stderr)
        cedar = bench_cedar(subjects, facts, inputs, args.cedar_n)

        print()
        print(f"decisions on {env['db_version']} — {len(users)} users x {len(labels)} labels = "
              f"{len(inputs)} distinct inputs, {evaluated['allowed_share']:.0%} allowed")
        print()
        rows = [["evaluate (prebuilt Subject/LabelFacts)", evaluated["n"], evaluated["per_s"],
                 "-", "-", "-"]]
        for variant, figures in decided.items():
            rows.append([f"{variant.replace('_', ' ')} (+audit write)", figures["n"],
                         figures["per_s"], figures["p50_ms"], figures["p95_ms"],
                         figures["db_queries_per_call"]])
        if "skipped" not in cedar:
            rows += [["cedar is_authorized, resident entities", cedar["single"]["n"],
                      cedar["single"]["per_s"], "-", "-", "-"],
                     [f"cedar is_authorized_batch ({cedar['batched']['batch']}/call)",
                      cedar["batched"]["n"], cedar["batched"]["per_s"], "-", "-", "-"],
                     ["cedar is_authorized, per-request entities",
                      cedar["per_request_entities"]["n"], cedar["per_request_entities"]["per_s"],
                      "-", "-", "-"]]
        print(B.table(["what", "n", "decisions/s", "p50 ms", "p95 ms", "queries"], rows))
        print()
        print(B.table(["evaluate by rule", "share", "mean us", "p50 us", "decisions/s",
                       "db queries"],
                      [[rule, f["share"], f["mean_us"], f["p50_us"], f["per_s"], f["db_queries"]]
                       for rule, f in evaluated["by_rule"].items()]))
        print()
        if "skipped" in cedar:
            print(f"Cedar: {cedar['skipped']}")
            agree = None
        else:
            agree = cedar["disagreements"] == 0
            print(B.verdict("cedar agreement", agree,
                            f"{cedar['disagreements']} disagreements over "
                            f"{cedar['inputs_checked']} inputs (cedarpy {cedar['cedarpy_version']})"))
            for d in cedar["disagreement_examples"]:
                print(f"  disagreement: {d}")
        print("TARGET decisions/s: none set; figures reported for sizing")
        B.emit_json({"bench": "decisions", "env": env, "users": len(users),
                     "labels": len(labels), "inputs": len(inputs), "evaluate": evaluated,
                     "decide": decided, "cedar": cedar, "met": {"cedar_agreement": agree}})


if __name__ == "__main__":
    main()
