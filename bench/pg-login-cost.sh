#!/usr/bin/env bash
# bench/pg-login-cost.sh: what one POP3 login+STAT+QUIT costs a PostgreSQL node and the database,
# measured per session rather than as a rate (the machine may be loaded by other work, which makes
# rates and their ratios unreliable). For each build and round: a fixed-length login -c 16 run, the
# node's CPU (utime+stime from /proc), PostgreSQL's CPU (every process under the postmaster), and
# from pg_stat_statements / pg_stat_database the statements and commits per session. Two builds
# (--base DIR, a Restante.Cli output directory) run interleaved on one database and one corpus, and
# the new build on the Maildir copy of the corpus for scale.
#
#   bench/pg-login-cost.sh [--base DIR] [--env-variant VAR=VALUE] [--rounds N] [--duration S] [--clients N] [--warmup S] [--tcp]
#
# --env-variant also runs the --base build with VAR=VALUE in its environment (build "old+env"), e.g.
# DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0. With perf on the machine, each run also counts the node's
# sched_yield and futex calls and its thread switches (perf stat on the node's tracepoints). NO_BUILD=1 skips the builds.
# --warmup S (default 1) runs the load that long before measuring: on a loaded machine the JIT's tiering goes on for
# 10 s and more, and its CPU lands in the per-session figures of a short warm-up.
#
# PROFILE=old|new|maildir also records a perf profile of that node under the same load (PROFILE_KEEP=1 keeps
# the raw perf data). The thread-switch column sums the node's threads alive at each sample: pool threads that
# exit during a run take their counts with them, so it can read low.
#
# Ports from BENCH_PORT_BASE (default 21200): PostgreSQL on it, the node on +20.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=3 DURATION=5 BASE="" TCP=0 USERS=60 CLIENTS=16 ENV_VARIANT="" WARMUP=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) BASE=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --env-variant) ENV_VARIANT=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --tcp) TCP=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "pg-login-cost.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf '== %s\n' "$*" >&2; }

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/pg_ctl ]] || { echo "pg-login-cost.sh: PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

for p in src/Restante.Cli bench/Restante.LoadGen bench/Restante.Corpus; do
  [[ -n ${NO_BUILD:-} ]] && break
  dotnet build "$ROOT/$p" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null || { echo "build of $p failed" >&2; exit 1; }
done
LOADGEN="$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen"
CORPUSGEN="$ROOT/bench/Restante.Corpus/bin/Release/net10.0/Restante.Corpus"
declare -A BIN=([new]="$ROOT/src/Restante.Cli/bin/Release/net10.0/Restante.Cli")
BUILDS=(new)
declare -A ENVS=()
if [[ -n $BASE ]]; then BIN[old]="$BASE/Restante.Cli"; BUILDS=(old new); fi
if [[ -n $ENV_VARIANT ]]; then
  [[ -n $BASE ]] || { echo "pg-login-cost.sh: --env-variant needs --base" >&2; exit 2; }
  BIN[old+env]="$BASE/Restante.Cli"; ENVS[old+env]=$ENV_VARIANT; BUILDS+=(old+env)
fi
# The same node on the Maildir corpus, for scale: what a login costs without a database.
BIN[maildir]=${BIN[new]}; BUILDS+=(maildir)

WORK=$(mktemp -d /tmp/restante-pglogin.XXXXXX)
chmod 755 "$WORK"
NODE=""
cleanup() {
  [[ -n $NODE ]] && kill "$NODE" 2>/dev/null || true
  wait 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$CORPUSGEN" --out "$WORK/maildir" --users "$USERS" --messages 20 --size 4096 --big-count 0 --large-count 0 --huge-mb 0 --idle-users 0 >/dev/null
mkdir -p "$WORK/node" "$WORK/pgsock"
cp "$WORK/maildir/passwd" "$WORK/node/passwd"
[[ $(id -u) == 0 ]] && chown postgres: "$WORK" "$WORK/pgsock"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null
P=${BENCH_PORT_BASE:-21200}
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p $P -c listen_addresses=127.0.0.1 -k $WORK/pgsock -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" start >/dev/null
PGHOST=$WORK/pgsock; [[ $TCP == 1 ]] && PGHOST=127.0.0.1
CONN="Host=$PGHOST;Port=$P;Username=postgres;Database=postgres;Maximum Pool Size=64"
psql_() { as_pg "$PGBIN/psql" -h "$WORK/pgsock" -p "$P" -U postgres -d postgres -qAtX -c "$1"; }
psql_ "CREATE EXTENSION pg_stat_statements"
"${BIN[new]}" db migrate --postgres "$CONN" >/dev/null
"${BIN[new]}" migrate maildir-to-postgres --postgres "$CONN" --data "$WORK/maildir" >/dev/null
POSTMASTER=$(head -1 "$WORK/pg/postmaster.pid")

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
switches() {   # context switches (voluntary + involuntary) of every thread of the process
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}'
}
pg_ticks() {   # every process under the postmaster, and the postmaster itself
  local sum=0 p
  for p in $POSTMASTER $(pgrep -P "$POSTMASTER"); do sum=$((sum + $(ticks "$p"))); done
  echo $sum
}
HZ=$(getconf CLK_TCK)
OUT="$WORK/rows.txt"; : >"$OUT"
log "uptime before: $(uptime)"
for round in $(seq "$ROUNDS"); do
  order=("${BUILDS[@]}"); (( round % 2 == 0 )) && order=($(printf '%s\n' "${BUILDS[@]}" | tac))
  for build in "${order[@]}"; do
    store=(--data "$WORK/node" --store postgres --postgres "$CONN")
    [[ $build == maildir ]] && store=(--data "$WORK/maildir")
    env ${ENVS[$build]:-} "${BIN[$build]}" serve "${store[@]}" --pop3 "127.0.0.1:$((P + 20))" --lmtp "127.0.0.1:$((P + 21))" --log-level Warning >"$WORK/node.log" 2>&1 &
    NODE=$!
    for _ in $(seq 600); do grep -q "POP3 listening" "$WORK/node.log" && break; sleep 0.1; done
    grep -q "POP3 listening" "$WORK/node.log" || { echo "node $build did not start:" >&2; cat "$WORK/node.log" >&2; exit 1; }
    # Warm the pool and the prepared statements outside the measurement.
    "$LOADGEN" login -c "$CLIENTS" -d "$WARMUP" --warmup 0 --users "$WORK/maildir/users.txt" --port $((P + 20)) >/dev/null || log "warm-up run on $build had errors (loaded machine?)"
    i0=$(ticks $NODE); sleep 2; idle=$(( $(ticks $NODE) - i0 ))   # what the node burns with no session at all
    psql_ "SELECT pg_stat_statements_reset()" >/dev/null
    commits0=$(psql_ "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'")
    n0=$(ticks $NODE) g0=$(pg_ticks) s0=$(switches $NODE)
    rm -f "$WORK/run.json" "$WORK/stat.csv"
    STAT=""
    if command -v perf >/dev/null; then
      perf stat -x, -e syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex,sched:sched_switch -p "$NODE" -o "$WORK/stat.csv" 2>/dev/null &
      STAT=$!
    fi
    "$LOADGEN" login -c "$CLIENTS" -d "$DURATION" --warmup 0 --users "$WORK/maildir/users.txt" --port $((P + 20)) --out "$WORK/run.json" >/dev/null || true   # errors: in the JSON
    json=$(tail -1 "$WORK/run.json")
    n1=$(ticks $NODE) g1=$(pg_ticks) s1=$(switches $NODE)
    yields=0 futexes=0 pswitches=0
    if [[ -n $STAT ]]; then
      # perf may have exited at once (no tracepoints for this user, no tracefs): the counts are then 0, not an abort.
      kill -INT "$STAT" 2>/dev/null || true; wait "$STAT" 2>/dev/null || true
      if [[ -s $WORK/stat.csv ]]; then
        yields=$(awk -F, '$3 ~ /sched_yield/ {print $1 + 0}' "$WORK/stat.csv")
        futexes=$(awk -F, '$3 ~ /sys_enter_futex/ {print $1 + 0}' "$WORK/stat.csv")
        pswitches=$(awk -F, '$3 ~ /sched_switch/ {print $1 + 0}' "$WORK/stat.csv")
      fi
    fi
    sleep 0.6   # pg_stat_database is flushed by the backends at most every 0.5 s
    commits1=$(psql_ "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'")
    calls=$(psql_ "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%' AND query NOT LIKE '%xact_commit%'")
    sessions=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sessions"])' "$json")
    rate=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sessions_per_s"])' "$json")
    echo "$build $round $sessions $rate $((n1 - n0)) $((g1 - g0)) $calls $((commits1 - commits0)) $((s1 - s0)) ${yields:-0} ${futexes:-0} ${pswitches:-0}" >>"$OUT"
    log "$build round $round: $sessions sessions ($rate/s), node $((n1 - n0)) ticks (idle: $idle ticks in 2 s), postgres $((g1 - g0)) ticks, $calls statements, $((commits1 - commits0)) commits, $((s1 - s0)) node thread switches; perf: $yields sched_yield, $futexes futex, $pswitches switches"
    if [[ $round == 1 && $build != maildir ]]; then
      psql_ "SELECT calls, left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%' ORDER BY calls DESC LIMIT 8" | sed "s/^/   [$build] /" >&2
    fi
    grep -v "POP3 listening\|LMTP listening" "$WORK/node.log" | head -3 | sed "s/^/   [$build log] /" >&2 || true
    kill $NODE; wait $NODE 2>/dev/null || true; NODE=""
  done
done
log "uptime after: $(uptime)"
if [[ -n ${PROFILE:-} ]]; then   # PROFILE=old|new|maildir: a CPU sample of that node under the same load
  # perf (cpu-clock, with the JIT's perf map) for native and managed frames alike.
  store=(--data "$WORK/node" --store postgres --postgres "$CONN"); [[ $PROFILE == maildir ]] && store=(--data "$WORK/maildir")
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 "${BIN[$PROFILE]}" serve "${store[@]}" --pop3 "127.0.0.1:$((P + 20))" --lmtp "127.0.0.1:$((P + 21))" --log-level Warning >"$WORK/node.log" 2>&1 &
  NODE=$!
  for _ in $(seq 600); do grep -q "POP3 listening" "$WORK/node.log" && break; sleep 0.1; done
  "$LOADGEN" login -c 16 -d 3 --warmup 0 --users "$WORK/maildir/users.txt" --port $((P + 20)) >/dev/null || true
  "$LOADGEN" login -c 16 -d 10 --warmup 0 --users "$WORK/maildir/users.txt" --port $((P + 20)) >/dev/null &
  LOADPID=$!
  sleep 1
  if command -v perf >/dev/null; then
    perf record -e cpu-clock -F 999 -g -p "$NODE" -o "$WORK/perf.data" -- sleep 8 >/dev/null 2>&1 || true
    log "perf: top frames by self time ($PROFILE)"
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio --percent-limit 0.7 -g none </dev/null 2>/dev/null | grep -v '^#' | grep -v '^$' | head -50 >&2 || true
    log "perf: by shared object"
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none </dev/null 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 >&2 || true
    log "perf: top frames by inclusive time"
    perf report -i "$WORK/perf.data" --children --sort symbol --stdio --percent-limit 4 -g none </dev/null 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 >&2 || true
    [[ -n ${PROFILE_KEEP:-} ]] && { cp "$WORK/perf.data" "$PROFILE_KEEP.perf.data"; cp "/tmp/perf-$NODE.map" "$PROFILE_KEEP.perf-$NODE.map" 2>/dev/null || true; }
  fi
  wait "$LOADPID" 2>/dev/null || true
  kill $NODE; wait $NODE 2>/dev/null || true; rm -f "/tmp/perf-$NODE.map"; NODE=""
fi
echo "| build | sessions | sessions/s (loaded machine) | node CPU µs/session | PostgreSQL CPU µs/session | statements/session | commits/session | node thread switches/session | sched_yield/session | futex/session | switches (perf)/session |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
python3 - "$OUT" "$HZ" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
hz = int(sys.argv[2])
for build in dict.fromkeys(r[0] for r in rows):
    rs = [r for r in rows if r[0] == build]
    per = lambda i: [int(r[i]) / int(r[2]) for r in rs]
    cpu = lambda i: [v * 1e6 / hz for v in per(i)]
    fmt = lambda v, d=0: f"{statistics.median(v):,.{d}f} [{min(v):,.{d}f}–{max(v):,.{d}f}]"
    print(f"| {build} | {sum(int(r[2]) for r in rs):,} | {fmt([float(r[3]) for r in rs])} | {fmt(cpu(4))} | {fmt(cpu(5))} | {fmt(per(6), 2)} | {fmt(per(7), 2)} | {fmt(per(8), 1)} | {fmt(per(9), 1)} | {fmt(per(10), 1)} | {fmt(per(11), 1)} |")
PY
