#!/usr/bin/env bash
# Run every benchmark at the issue's sizes and keep the output under bench/results/<UTC time>/:
# <name>.txt (table + JSON line), <name>.json (the JSON line alone), <name>.log (progress, stderr).
#
#   bench/run.sh            # full sizes (PostgreSQL on 127.0.0.1:5432, user postgres)
#   bench/run.sh --quick    # small sizes, for a smoke test
#
# Each script creates and drops its own entente_bench_* database(s) (or temporary SQLite files);
# none touches a developer's data.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1
status=0

run() {
    local name=$1
    shift
    echo "== $name: $PY $*" | tee -a "$OUT/commands.txt"
    "$PY" "$@" 2>"$OUT/$name.log" | tee "$OUT/$name.txt"
    local rc=${PIPESTATUS[0]}
    # The last line is the JSON figures, also when a script exits non-zero for a missed target.
    if tail -n 1 "$OUT/$name.txt" | grep -q '^{'; then
        tail -n 1 "$OUT/$name.txt" >"$OUT/$name.json"
    fi
    if ((rc != 0)); then
        echo "!! $name exited $rc (a missed target or an error); see $OUT/$name.log" >&2
        status=1
    fi
    echo
}

# cedarpy is not in the lock file; decisions.py skips its Cedar part when it cannot import it.
if ! "$PY" -c "import cedarpy" 2>/dev/null; then
    .venv/bin/pip install -q cedarpy || echo "cedarpy could not be installed; Cedar part skipped"
fi

if ((QUICK)); then
    run list_visible_sqlite bench/list_visible.py --db sqlite --records 20000 --repeat 30
    run list_visible_pg bench/list_visible.py --records 50000 --repeat 30
    run decisions_sqlite bench/decisions.py --db sqlite --evaluate-n 5000 --decide-n 300 --cedar-n 5000
    run decisions_pg bench/decisions.py --evaluate-n 5000 --decide-n 300 --cedar-n 5000
    run audit_verify_pg bench/audit_verify.py --events 50000
    run audit_verify_sqlite bench/audit_verify.py --db sqlite --events 50000
    run search_sqlite bench/search.py --db sqlite --documents 20000 --repeat 30
    run search_pg bench/search.py --documents 50000 --repeat 30
    run statement_sqlite bench/statement.py --db sqlite --orders 5000 --repeat 5
    run statement_pg bench/statement.py --orders 10000 --repeat 5
    run federation_sqlite bench/federation.py --count-small 5 --count-large 1 --large-mib 20
    run federation_pg bench/federation.py --db postgresql --count-small 5 --count-large 1 --large-mib 20
else
    run list_visible_pg bench/list_visible.py --records 1000000 --repeat 30 --explain-index
    run decisions_pg bench/decisions.py
    run decisions_sqlite bench/decisions.py --db sqlite
    run audit_verify_pg bench/audit_verify.py --events 1000000
    run audit_verify_sqlite bench/audit_verify.py --db sqlite --events 1000000
    run search_pg bench/search.py --documents 1000000 --repeat 30 --explain
    run statement_pg bench/statement.py --orders 100000 --repeat 10 --explain
    run statement_sqlite bench/statement.py --db sqlite --orders 100000 --repeat 5
    # Two nodes (GBR sends, JPN receives over mutual TLS), each with its own database.
    run federation_sqlite bench/federation.py --count-small 20 --count-large 3
    run federation_pg bench/federation.py --db postgresql --count-small 20 --count-large 3
    # Owned by another engineer; run with the size its docstring gives, if it is there.
    if [[ -f bench/encrypt_stream.py ]]; then
        run encrypt_stream bench/encrypt_stream.py --size-mib "${ENCRYPT_SIZE_MIB:-1024}"
    fi
fi

echo "results in $OUT"
exit $status
