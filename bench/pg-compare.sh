#!/usr/bin/env bash
# bench/pg-compare.sh: one Restante node on PostgreSQL against the same node on Maildir, and two
# PostgreSQL nodes over one database, on the same corpus and machine, rounds interleaved. Login
# sessions/s, RETR MB/s (the LoadGen) and LMTP deliveries/s (LmtpBench). Loopback only, bounded.
# PostgreSQL runs with its defaults (fsync and synchronous_commit on), Restante with Fsync on.
# Dovecot (dovecot-pop3d, installed if missing) serves its own copy of the Maildir corpus in the
# same rounds, tuned fairly: high-performance login mode (service_count = 0, process_min_avail),
# default mail_fsync, pop3_lock_session = yes like Restante's lock.
#
#   bench/pg-compare.sh [--quick] [--rounds N] [--duration S] [--keep] [--no-dovecot] [--pg-socket]
#
# --pg-socket: the PostgreSQL nodes connect through the Unix-domain socket instead of TCP on
# loopback (what a node on the database's own machine would use; see RESULTS-postgres.md).
#
# Ports from BENCH_PORT_BASE (default 21200): PostgreSQL on it, the servers on +10 to +41.
#
# Writes the table to bench/RESULTS-postgres.md (--results FILE to change) and prints it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=3 DURATION=5 KEEP=0 USERS=60 DOVECOT=1 SOCKET=0
RESULTS="$ROOT/bench/RESULTS-postgres.md"
COMMAND_LINE="bench/pg-compare.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) DURATION=2; ROUNDS=2; USERS=30 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --keep) KEEP=1 ;;
    --no-dovecot) DOVECOT=0 ;;
    --pg-socket) SOCKET=1 ;;
    --results) RESULTS=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "pg-compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf '== %s\n' "$*" >&2; }

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/pg_ctl ]] || { echo "pg-compare.sh: PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

log "building Release: Restante.Cli, LoadGen, Corpus, LmtpBench"
for p in src/Restante.Cli bench/Restante.LoadGen bench/Restante.Corpus bench/LmtpBench; do
  dotnet build "$ROOT/$p" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null || { echo "build of $p failed" >&2; exit 1; }
done
LOADGEN="$ROOT/bench/Restante.LoadGen/bin/Release/net10.0/Restante.LoadGen"
CORPUSGEN="$ROOT/bench/Restante.Corpus/bin/Release/net10.0/Restante.Corpus"
LMTPBENCH="$ROOT/bench/LmtpBench/bin/Release/net10.0/LmtpBench"
RESTANTE="$ROOT/src/Restante.Cli/bin/Release/net10.0/Restante.Cli"

WORK=$(mktemp -d /tmp/restante-pgbench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -f $WORK/dovecot-run/master.pid ]]; then kill "$(cat "$WORK/dovecot-run/master.pid")" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true
  if [[ $KEEP == 0 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

log "corpus: $USERS users x 20 messages of ~50 KB"
"$CORPUSGEN" --out "$WORK/maildir" --users "$USERS" --messages 20 --size 51200 --big-count 0 --large-count 0 --huge-mb 0 --idle-users 0 >/dev/null
mkdir -p "$WORK/pgnode1" "$WORK/pgnode2"
for d in pgnode1 pgnode2; do cp "$WORK/maildir/passwd" "$WORK/$d/passwd"; done
echo 'lmtpbench:{PLAIN}x::::::' | tee -a "$WORK/maildir/passwd" "$WORK/pgnode1/passwd" "$WORK/pgnode2/passwd" >/dev/null

log "PostgreSQL $($PGBIN/postgres --version | awk '{print $3}') in $WORK/pg"
mkdir -p "$WORK/pgsock"
[[ $(id -u) == 0 ]] && chown postgres: "$WORK" "$WORK/pgsock"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null
P=${BENCH_PORT_BASE:-21200}
PGPORT=$P
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $WORK/pgsock -c max_connections=300" start >/dev/null
CONN="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres;Maximum Pool Size=64"
[[ $SOCKET == 1 ]] && CONN="Host=$WORK/pgsock;Port=$PGPORT;Username=postgres;Database=postgres;Maximum Pool Size=64"
"$RESTANTE" db migrate --postgres "$CONN" >&2
log "copying the corpus into PostgreSQL"
"$RESTANTE" migrate maildir-to-postgres --postgres "$CONN" --data "$WORK/maildir" | tail -1 >&2

# Maildir node, PostgreSQL node 1 (alone or with node 2 beside it).
declare -A PORT=([maildir]=$((P + 10)) [pg1]=$((P + 20)) [pg2]=$((P + 30)) [dovecot]=$((P + 40)))
declare -A LMTP=([maildir]=$((P + 11)) [pg1]=$((P + 21)) [pg2]=$((P + 31)))
start() {   # start NAME DATADIR EXTRA...
  local name=$1 data=$2; shift 2
  "$RESTANTE" serve --data "$data" --pop3 "127.0.0.1:${PORT[$name]}" --lmtp "127.0.0.1:${LMTP[$name]}" --log-level Warning "$@" \
    >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q "POP3 listening" "$WORK/$name.log" && return 0; sleep 0.1; done
  echo "server $name did not start:" >&2; cat "$WORK/$name.log" >&2; exit 1
}
# Dovecot on its own copy of the Maildir corpus, as an isolated instance (own base_dir, port, log).
start_dovecot() {
  if ! command -v dovecot >/dev/null; then
    log "installing Dovecot (dovecot-pop3d)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 dovecot-pop3d >"$WORK/apt.log" 2>&1 \
      || { apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 dovecot-pop3d >"$WORK/apt.log" 2>&1; }
  fi
  cp -a "$WORK/maildir" "$WORK/dovecot"
  rm -f "$WORK"/dovecot/mail/*/restante-*
  chown -R mail:mail "$WORK/dovecot"
  cat >"$WORK/dovecot.conf" <<CONF
# Generated by bench/pg-compare.sh: an isolated Dovecot on its own loopback port and directories.
instance_name = restante-pgbench-${PORT[dovecot]}
base_dir = $WORK/dovecot-run
state_dir = $WORK/dovecot-state
protocols = pop3
listen = 127.0.0.1
log_path = $WORK/dovecot.log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:$WORK/dovecot/mail/%u
# mail_fsync stays at its default (optimized); one POP3 session per mailbox, as Restante locks.
pop3_lock_session = yes
auth_mechanisms = plain
disable_plaintext_auth = no
ssl = no
default_process_limit = 6000
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $WORK/dovecot/passwd
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$WORK/dovecot-home/%u
}
# High-performance login mode: each login process serves many connections, two kept ready.
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${PORT[dovecot]}
  }
  service_count = 0
  process_min_avail = 2
}
service auth {
  client_limit = 7000
}
service anvil {
  client_limit = 7000
}
CONF
  dovecot -c "$WORK/dovecot.conf" >"$WORK/dovecot.start.log" 2>&1 || { cat "$WORK/dovecot.start.log" >&2; exit 1; }
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/${PORT[dovecot]}") 2>/dev/null && return 0; sleep 0.1; done
  echo "Dovecot did not start:" >&2; cat "$WORK/dovecot.log" >&2; exit 1
}
SERVERS=(maildir pg1)
if [[ $DOVECOT == 1 ]]; then start_dovecot; SERVERS+=(dovecot); fi
start maildir "$WORK/maildir"
start pg1 "$WORK/pgnode1" --store postgres --postgres "$CONN"
start pg2 "$WORK/pgnode2" --store postgres --postgres "$CONN"

RESULTS_JSONL="$WORK/results.jsonl"; : >"$RESULTS_JSONL"
LMTP_JSONL="$WORK/lmtp.jsonl"; : >"$LMTP_JSONL"
ALL_USERS=(--users "$WORK/maildir/users.txt")
pop3() {   # pop3 SERVER CASE ROUND MODE ARGS... (the users: $ALL_USERS unless ARGS name others)
  local server=$1 case=$2 round=$3; shift 3
  local users=("${ALL_USERS[@]}")
  [[ $* == *--user-prefix* ]] && users=()
  timeout 300 "$LOADGEN" "$@" "${users[@]}" --port "${PORT[$server]}" --server "$server" --case "$case" \
    --round "$round" --out "$RESULTS_JSONL" -d "$DURATION" --warmup 0.5 | grep -E '^#' | sed 's/^/  /' >&2 || true
}
lmtp() {   # lmtp SERVER ROUND
  local line
  line=$("$LMTPBENCH" --server "127.0.0.1:${LMTP[$1]}" --to lmtpbench --seconds "$DURATION" --warmup 0.5 --clients 8 --sizes 4k \
    ${3:+--clean "$3"} | tail -1)
  echo "{\"server\":\"$1\",\"round\":$2,\"run\":$line}" >>"$LMTP_JSONL"
  echo "  lmtp $1: $line" >&2
}
both_pg() {   # the same case on both PostgreSQL nodes at once, half the clients and half the users each
  local case=$1 round=$2 half=$((USERS / 2)); shift 2
  local split=(--user-prefix user --user-digits 4 --password bench --user-count "$half")
  pop3 pg1 "$case-node1" "$round" "$@" "${split[@]}" --user-first 0 & local a=$!
  pop3 pg2 "$case-node2" "$round" "$@" "${split[@]}" --user-first "$half"
  wait $a
}

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
START_UPTIME=$(uptime)
for round in $(seq "$ROUNDS"); do
  # Servers rotate, so each takes each place in the order across rounds.
  shift_by=$(( (round - 1) % ${#SERVERS[@]} ))
  order=("${SERVERS[@]:$shift_by}" "${SERVERS[@]:0:$shift_by}")
  log "round $round of $ROUNDS (order: ${order[*]})"
  for s in "${order[@]}"; do pop3 "$s" login-c16 "$round" login -c 16; done
  for s in "${order[@]}"; do pop3 "$s" retr-c8 "$round" retr -c 8; done
  for s in "${order[@]}"; do
    [[ $s == dovecot ]] && continue   # LMTP: Restante's stores only
    if [[ $s == maildir ]]; then lmtp "$s" "$round" "$WORK/maildir/mail/lmtpbench/new"; else lmtp "$s" "$round"; fi
  done
  both_pg login-c16-2nodes "$round" login -c 8
  both_pg retr-c8-2nodes "$round" retr -c 4
done
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
END_UPTIME=$(uptime)

{
  echo "# PostgreSQL store vs Maildir"
  echo
  echo "\`$COMMAND_LINE\`, $(date -u +%F), $(nproc) cores, load average before/after: $START_LOAD / $END_LOAD."
  echo "Corpus: $USERS users x 20 messages of ~50 KB, the same for both stores (copied with \`restante migrate maildir-to-postgres\`)."
  echo "PostgreSQL $($PGBIN/postgres --version | awk '{print $3}') on the same machine, default settings (fsync, synchronous_commit on); Restante Fsync on; nodes connect through $([[ $SOCKET == 1 ]] && echo "the Unix-domain socket" || echo "TCP on loopback")."
  echo "Two nodes: two \`restante serve\` processes on one database, half the clients and half the users on each; the figure is the sum."
  if [[ $DOVECOT == 1 ]]; then
    echo "Dovecot $(dovecot --version | awk '{print $1}') on its own copy of the Maildir corpus: high-performance login mode (service_count = 0, process_min_avail = 2), default mail_fsync, pop3_lock_session = yes."
  fi
  echo "uptime before: \`$START_UPTIME\`; after: \`$END_UPTIME\`. Cells: median [min–max] over the rounds."
  echo
  echo "| case | maildir | postgres, 1 node | postgres, 2 nodes | dovecot | postgres/maildir | postgres/dovecot |"
  echo "|---|---|---|---|---|---|---|"
  python3 - "$RESULTS_JSONL" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(server, case, key):
    v = [r[key] for r in rows if r["server"] == server and r["case"] == case]
    return (statistics.median(v), min(v), max(v)) if v else None
def two(case, key):
    by_round = {}
    for r in rows:
        if r["case"].startswith(case + "-2nodes-node"): by_round.setdefault(r["round"], 0); by_round[r["round"]] += r[key]
    v = list(by_round.values())
    return (statistics.median(v), min(v), max(v)) if v else None
fmt = lambda m: "–" if m is None else f"{m[0]:,.1f} [{m[1]:,.1f}–{m[2]:,.1f}]"
for case, key, label in [("login-c16", "sessions_per_s", "login sessions/s, 16 clients"), ("retr-c8", "mb_per_s", "RETR MB/s, 8 clients")]:
    m, p, t, d = med("maildir", case, key), med("pg1", case, key), two(case, key), med("dovecot", case, key)
    ratio = f"{p[0] / m[0]:.2f}" if m and p else "–"
    versus = f"{p[0] / d[0]:.2f}" if d and p else "–"
    print(f"| {label} | {fmt(m)} | {fmt(p)} | {fmt(t)} | {fmt(d)} | {ratio} | {versus} |")
PY
  echo
echo "LMTP deliveries/s (LmtpBench, 8 clients, 4 KB), per round:"
  echo
  echo '| store | round | deliveries/s | p50 ms | p99 ms |'
  echo '|---|---|---|---|---|'
  python3 - "$LMTP_JSONL" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.strip(): continue
    r = json.loads(line); run = r["run"]
    get = lambda *ks: next((run[k] for k in ks if k in run), "?")
    print(f"| {r['server']} | {r['round']} | {get('deliveries_per_second')} | {get('p50_ms')} | {get('p99_ms')} |")
PY
} >"$RESULTS"
cat "$RESULTS"
