#!/usr/bin/env bash
# bench/pg-retr.sh: RETR only, for working on the PostgreSQL read path. One Maildir node, one
# PostgreSQL node of this build and, with --base DIR, one PostgreSQL node of another build (DIR
# holds its Restante.Cli, e.g. a copy of src/Restante.Cli/bin/Release/net10.0 taken before a
# change) on its own database of the same cluster. Rounds interleave the nodes (rotating the
# order); per run it prints MB/s, the PostgreSQL/Maildir ratio of the round, and CPU per message of
# the node and of all PostgreSQL processes (from /proc), which survives a loaded machine better
# than rates do. Ports from BENCH_PORT_BASE (default 21300). Loopback only, bounded.
#
#   bench/pg-retr.sh [--rounds N] [--duration S] [--clients C] [--base DIR] [--pg-bin DIR] [--pg-conn-extra S]
#                    [--perf SECONDS] [--keep] [--no-build] [--socket] [--warmup S] [--taskset-node CPUS --taskset-pg CPUS]
#
# --socket: every PostgreSQL node connects through the Unix-domain socket instead of TCP on loopback.
# --warmup S: an unmeasured S-second run per node before round 1 (default 3), so the JIT's tiering
# is over before anything is measured (a PostgreSQL node runs more distinct code than a Maildir one).
# --taskset-node CPUS / --taskset-pg CPUS: pin the nodes and the PostgreSQL cluster to those CPUs
# (taskset lists, e.g. 0 and 1), to tell the scheduler's cost from the work.
#
# --no-build: use the binaries built before (while the tree does not build, or to save minutes).
#
# --pg-bin DIR: run the "pg" node from another build too (to profile a base build).
# --pg-conn-extra 'K=V;…': appended to the "pg" node's connection string only (to try Npgsql settings
# against the base node's defaults, e.g. 'Read Buffer Size=131072' or 'Host=DIR' for the Unix socket;
# the socket directory is $WORK/pgsock, so "Host=@SOCK" is replaced by it).
# --pg-env 'K=V …': environment of the "pg" node only (runtime knobs, against the base node without them).
#
# --raw-bodies NODE: after the migration, rewrite NODE's database (pg or base) with every compressed frame
# stored as raw rows, as Postgres:CompressBodies=false would have written them: with --base and --pg-bin
# the same build, an A/B of inflating on the node against reading raw rows, on the same corpus.
#
# --perf S: after the rounds, perf-records this build's node and the PostgreSQL backends for S
# seconds under the same load and prints their top frames by self time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=3 DURATION=5 CLIENTS=8 USERS=60 BASE="" PGNODE="" PERF=0 KEEP=0 CONNEXTRA="" PGENV="" BUILD=1 SOCKET=0 WARMUP=3 TSNODE="" TSPG="" RAWBODIES=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --base) BASE=$2; shift ;;
    --pg-bin) PGNODE=$2; shift ;;
    --perf) PERF=$2; shift ;;
    --pg-conn-extra) CONNEXTRA=$2; shift ;;
    --pg-env) PGENV=$2; shift ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0 ;;
    --socket) SOCKET=1 ;;
    --warmup) WARMUP=$2; shift ;;
    --taskset-node) TSNODE=$2; shift ;;
    --taskset-pg) TSPG=$2; shift ;;
    --raw-bodies) RAWBODIES=$2; shift ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "pg-retr.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf '== %s\n' "$*" >&2; }
P=${BENCH_PORT_BASE:-21300}

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/pg_ctl ]] || { echo "pg-retr.sh: PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

for p in src/Restante.Cli bench/Restante.LoadGen bench/Restante.Corpus; do
  [[ $BUILD == 1 ]] || break
  dotnet build "$ROOT/$p" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null || { echo "build of $p failed" >&2; exit 1; }
done
LOADGEN="$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen"
CORPUSGEN="$ROOT/bench/Restante.Corpus/bin/Release/net10.0/Restante.Corpus"
RESTANTE="$ROOT/src/Restante.Cli/bin/Release/net10.0/Restante.Cli"

WORK=$(mktemp -d /tmp/restante-pgretr.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true
  if [[ $KEEP == 0 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

"$CORPUSGEN" --out "$WORK/maildir" --users "$USERS" --messages 20 --size 51200 --big-count 0 --large-count 0 --huge-mb 0 --idle-users 0 >/dev/null
mkdir -p "$WORK/pgsock"
[[ $(id -u) == 0 ]] && chown postgres: "$WORK" "$WORK/pgsock"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p $P -c listen_addresses=127.0.0.1 -k $WORK/pgsock -c max_connections=200" start >/dev/null
PGPM=$(head -1 "$WORK/pg/postmaster.pid")
conn() { echo "Host=127.0.0.1;Port=$P;Username=postgres;Database=$1;Maximum Pool Size=64"; }
nodeconn() { local c; c=$(conn "$1"); [[ $SOCKET == 1 ]] && c="$c;Host=$WORK/pgsock"; [[ $1 == pg && -n $CONNEXTRA ]] && c="$c;${CONNEXTRA//@SOCK/$WORK/pgsock}"; echo "$c"; }
declare -A PORT=([maildir]=$((P + 10)) [pg]=$((P + 20)) [base]=$((P + 30)))
declare -A BIN=([pg]=${PGNODE:-$RESTANTE} [base]=$BASE)
declare -A NODEPID=()
NODES=(maildir pg)
[[ -n $BASE ]] && NODES+=(base)
clibin() { local b=${BIN[$1]}; [[ -d $b ]] && b="$b/Restante.Cli"; echo "$b"; }
cli() { local b; b=$(clibin "$1"); shift; "$b" "$@"; }
for n in "${NODES[@]}"; do
  [[ $n == maildir ]] && continue
  as_pg "$PGBIN/psql" -q -h 127.0.0.1 -p "$P" -U postgres -c "CREATE DATABASE $n" postgres
  cli "$n" db migrate --postgres "$(conn "$n")" >/dev/null
done
for n in "${NODES[@]}"; do
  [[ $n == maildir ]] && continue
  cli "$n" migrate maildir-to-postgres --postgres "$(conn "$n")" --data "$WORK/maildir" | tail -1 >&2
  mkdir -p "$WORK/$n"; cp "$WORK/maildir/passwd" "$WORK/$n/passwd"
done
# Frames decompressed by Python's zlib (the same RFC 1950 stream), cut again into rows of BodyLayout.RowSize.
raw_bodies() {
  as_pg "$PGBIN/psql" -qAt -F'|' -h 127.0.0.1 -p "$P" -U postgres -d "$1" \
    -c "SELECT body_id, seq, coalesce(frame_rows, -1), encode(data, 'hex') FROM body_chunk ORDER BY body_id, seq" |
  python3 -c '
import sys, zlib
bodies = {}
rows = [l.rstrip("\n").split("|") for l in sys.stdin]
i = 0
while i < len(rows):
    body, seq, frame, data = int(rows[i][0]), int(rows[i][1]), int(rows[i][2]), bytes.fromhex(rows[i][3])
    if frame > 0:
        data = zlib.decompress(b"".join(bytes.fromhex(r[3]) for r in rows[i:i + frame])); i += frame
    else:
        i += 1
    bodies.setdefault(body, bytearray()).extend(data)
print("BEGIN; DELETE FROM body_chunk;")
for body, data in bodies.items():
    for n, at in enumerate(range(0, len(data), 8000)):
        print(f"INSERT INTO body_chunk (body_id, seq, data) VALUES ({body}, {n}, decode(\x27{data[at:at + 8000].hex()}\x27, \x27hex\x27));")
print("COMMIT;")
' | as_pg "$PGBIN/psql" -q -h 127.0.0.1 -p "$P" -U postgres -d "$1" -v ON_ERROR_STOP=1 >/dev/null
  as_pg "$PGBIN/psql" -qAt -h 127.0.0.1 -p "$P" -U postgres -d "$1" -c "SELECT count(*) FILTER (WHERE frame_rows IS NOT NULL), count(*),
    (SELECT count(*) FROM body b WHERE b.length <> (SELECT coalesce(sum(octet_length(data)), 0) FROM body_chunk c WHERE c.body_id = b.id)) FROM body_chunk" |
    { IFS='|' read -r framed total wrong; [[ $framed == 0 && $wrong == 0 ]] || { echo "raw rewrite of $1 failed: $framed framed, $wrong wrong lengths" >&2; exit 1; }; log "$1: bodies rewritten raw, $total rows"; }
}
if [[ -n $RAWBODIES ]]; then raw_bodies "$RAWBODIES"; fi
for n in "${NODES[@]}"; do
  [[ $n == maildir ]] || as_pg "$PGBIN/psql" -q -h 127.0.0.1 -p "$P" -U postgres -d "$n" -c "VACUUM (FULL, ANALYZE) body_chunk"
done
start() {
  local n=$1; shift
  if [[ $n == maildir ]]; then "$RESTANTE" serve --data "$WORK/maildir" --pop3 "127.0.0.1:${PORT[$n]}" --lmtp "127.0.0.1:$((PORT[$n] + 1))" --log-level Warning >"$WORK/$n.log" 2>&1 &
  else env ${PGENV:+$([[ $n == pg ]] && echo "$PGENV")} "$(clibin "$n")" serve --data "$WORK/$n" --pop3 "127.0.0.1:${PORT[$n]}" --lmtp "127.0.0.1:$((PORT[$n] + 1))" --log-level Warning --store postgres --postgres "$(nodeconn "$n")" >"$WORK/$n.log" 2>&1 &
  fi
  NODEPID[$n]=$!; PIDS+=($!)
  [[ -n $TSNODE ]] && taskset -a -p -c "$TSNODE" "$!" >/dev/null
  for _ in $(seq 100); do grep -q "POP3 listening" "$WORK/$n.log" && return 0; sleep 0.1; done
  echo "node $n did not start:" >&2; cat "$WORK/$n.log" >&2; exit 1
}
# Named JIT frames for perf; W^X off so perf can match JIT code to the map (as bench/profile.sh).
[[ $PERF -gt 0 ]] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
for n in "${NODES[@]}"; do start "$n"; done
if [[ -n $TSPG ]]; then
  # The postmaster first: backends forked later inherit its mask.
  for c in "$PGPM" $(pgrep -P "$PGPM"); do taskset -a -p -c "$TSPG" "$c" >/dev/null; done
  log "pinned: nodes to CPU $TSNODE, PostgreSQL to CPU $TSPG"
fi
if [[ $WARMUP != 0 ]]; then
  for n in "${NODES[@]}"; do
    "$LOADGEN" retr -c "$CLIENTS" --users "$WORK/maildir/users.txt" --port "${PORT[$n]}" -d "$WARMUP" --warmup 0 >/dev/null 2>&1 || true
  done
fi

ticks() { awk '{s += $14 + $15} END {print s + 0}' "$@" 2>/dev/null; }
# Context switches of all the node's threads (voluntary: waits; the scheduler's cost per message).
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/_ctxt_switches/ {s += $2} END {print s + 0}'; }
pg_ticks() { ticks $(for c in $(pgrep -P "$PGPM"; echo "$PGPM"); do echo "/proc/$c/stat"; done); }
HZ=$(getconf CLK_TCK)
JSONL="$WORK/results.jsonl"; : >"$JSONL"
log "uptime before: $(uptime)"
for round in $(seq "$ROUNDS"); do
  shift_by=$(( (round - 1) % ${#NODES[@]} ))
  order=("${NODES[@]:$shift_by}" "${NODES[@]:0:$shift_by}")
  for n in "${order[@]}"; do
    node0=$(ticks "/proc/${NODEPID[$n]}/stat"); pg0=$(pg_ticks); sw0=$(switches "${NODEPID[$n]}")
    rm -f "$WORK/one.jsonl"
    "$LOADGEN" retr -c "$CLIENTS" --users "$WORK/maildir/users.txt" --port "${PORT[$n]}" -d "$DURATION" --warmup 0.5 \
      --server "$n" --round "$round" --out "$WORK/one.jsonl" >/dev/null 2>&1 || true
    line=$(tail -1 "$WORK/one.jsonl" 2>/dev/null || true)
    [[ -n $line ]] || line='{"mb_per_s":0,"messages":0,"duration_s":1,"errors":-1}'
    echo "$line" >>"$WORK/all-runs.jsonl"
    node1=$(ticks "/proc/${NODEPID[$n]}/stat"); pg1=$(pg_ticks); sw1=$(switches "${NODEPID[$n]}")
    echo "{\"node\":\"$n\",\"round\":$round,\"node_ticks\":$((node1 - node0)),\"pg_ticks\":$((pg1 - pg0)),\"switches\":$((sw1 - sw0)),\"run\":$line}" >>"$JSONL"
  done
done
log "uptime after: $(uptime)"
python3 - "$JSONL" "$HZ" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hz = float(sys.argv[2])
print("| round | node | MB/s | / maildir | messages | node CPU ms/msg | PostgreSQL CPU ms/msg | node switches/msg | errors |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    run = r["run"]; msgs = max(run.get("messages", 0), 1)
    md = next((x["run"]["mb_per_s"] for x in rows if x["round"] == r["round"] and x["node"] == "maildir"), 0)
    # The loadgen's warm-up is outside its window but inside the CPU interval: scale the CPU by window/(window+warm-up).
    scale = run["duration_s"] / (run["duration_s"] + 0.5)
    pg = "–" if r["node"] == "maildir" else f"{r['pg_ticks'] / hz * 1000 * scale / msgs:.3f}"
    print(f"| {r['round']} | {r['node']} | {run['mb_per_s']:.1f} | {(run['mb_per_s'] / md if md else float('nan')):.2f} | {msgs} | {r['node_ticks'] / hz * 1000 * scale / msgs:.3f} | {pg} | {r['switches'] * scale / msgs:.1f} | {run.get('errors', '?')} |")
PY

if [[ $PERF -gt 0 ]]; then
  log "perf: node pg and the PostgreSQL backends, ${PERF} s"
  "$LOADGEN" retr -c "$CLIENTS" --users "$WORK/maildir/users.txt" --port "${PORT[pg]}" -d $((PERF + 2)) --warmup 0.5 >/dev/null 2>&1 &
  lg=$!
  sleep 1
  perf record -e cpu-clock -F 499 -g -p "${NODEPID[pg]},$(pgrep -d, -P "$PGPM")" -o "$WORK/perf.data" -- sleep "$PERF" >/dev/null 2>&1 || true
  wait $lg || true
  echo "### top frames by self time (node pg + PostgreSQL)"
  perf report -i "$WORK/perf.data" --no-children --sort comm,dso,symbol --stdio --percent-limit 1 -g none </dev/null 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 || true
fi
