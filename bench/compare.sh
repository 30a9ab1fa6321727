#!/usr/bin/env bash
# bench/compare.sh: Restante, Dovecot and the in-memory ceiling side by side on copies of one
# corpus, driven by the same load generator, modes alternating between servers for several rounds.
# Prints medians and ratios and writes bench/RESULTS.md. Loopback only; every run is bounded.
#
#   bench/compare.sh --quick            smoke run: small corpus, 2 s per mode, 3 rounds (~6 min)
#   bench/compare.sh                    full run: 10 s per mode, 3 rounds (~25 min; on a quiet machine)
#
# Options: --quick  --rounds N  --duration S  --keep (leave the work directory)  --results FILE
#          --no-dovecot  --only CASE[,CASE]  (cases: login-c1 login-c16 login-c64 login-tls-c16 retr-c8
#          retr-tls-c8 retr-1mb-c1 big retr-50mb idle idle-5000)
# Environment: RESTANTE_POP3S_ARGS  extra `serve` arguments for implicit TLS (default: --pop3s/--tls-cert/--tls-key),
#          with {PORT} {CERT} {KEY} replaced. Set it empty to skip Restante's TLS cases.
#          RESTANTE_BENCH_CACHE  where generated corpora are kept (default /tmp/restante-bench-corpus).
#          BENCH_PORT_BASE  first of the six loopback ports used (default 21110).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0 ROUNDS=3 DURATION="" KEEP=0 DOVECOT=1 ONLY=""
RESULTS="$ROOT/bench/RESULTS.md"
COMMAND_LINE="bench/compare.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --keep) KEEP=1 ;;
    --results) RESULTS=$2; shift ;;
    --no-dovecot) DOVECOT=0 ;;
    --only) ONLY=",$2,"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ $QUICK == 1 ]]; then
  DURATION=${DURATION:-2}; WARMUP=0.5
  CORPUS_ARGS=(--users 80 --messages 20 --size 51200 --big-count 10000 --big-size 2048 --large-count 20 --large-size 1048576 --huge-mb 50 --idle-users 200)
  IDLE_N=100 IDLE_HOLD=6 BIG_WARM=5 BIG_COUNT=10000 LARGE_COUNT=20
else
  DURATION=${DURATION:-10}; WARMUP=2
  CORPUS_ARGS=(--users 200 --messages 20 --size 51200 --big-count 100000 --big-size 2048 --large-count 100 --large-size 1048576 --huge-mb 50 --idle-users 5000)
  IDLE_N=1000 IDLE_HOLD=15 BIG_WARM=10 BIG_COUNT=100000 LARGE_COUNT=100
fi

BASE=${BENCH_PORT_BASE:-21110}
declare -A PORT=([restante]=$BASE [dovecot]=$((BASE + 1)) [ceiling]=$((BASE + 2)))
declare -A TLS_PORT=([restante]=$((BASE + 3)) [dovecot]=$((BASE + 4)) [ceiling]=$((BASE + 5)))
declare -A PID=()
SERVERS=(restante dovecot ceiling)
[[ $DOVECOT == 1 ]] || SERVERS=(restante ceiling)

log() { printf '== %s\n' "$*" >&2; }
want() { [[ -z $ONLY || $ONLY == *",$1,"* ]]; }

# --- build (Release) --------------------------------------------------------------------------
log "building Release: Restante.Cli, LoadGen, Corpus, Ceiling"
for p in src/Restante.Cli bench/Restante.LoadGen bench/Restante.Corpus bench/ceiling; do
  dotnet build "$ROOT/$p" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null || { echo "build of $p failed" >&2; exit 1; }
done
BIN=net10.0
LOADGEN="$ROOT/bench/Restante.LoadGen/bin/Release/$BIN/Restante.LoadGen"
CORPUSGEN="$ROOT/bench/Restante.Corpus/bin/Release/$BIN/Restante.Corpus"
CEILING="$ROOT/bench/ceiling/bin/Release/$BIN/Restante.Ceiling"
RESTANTE="$ROOT/src/Restante.Cli/bin/Release/$BIN/Restante.Cli"

# --- corpus (generated once per parameter set, then copied per server) ---------------------------
CACHE=${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}
KEY=$(echo "${CORPUS_ARGS[*]}" | sha1sum | cut -c1-12)
CORPUS="$CACHE/$KEY"
if [[ ! -f $CORPUS/corpus.txt ]]; then
  log "generating corpus in $CORPUS (${CORPUS_ARGS[*]})"
  rm -rf "$CORPUS"; mkdir -p "$CORPUS"
  "$CORPUSGEN" --out "$CORPUS" "${CORPUS_ARGS[@]}" >&2
fi
WORK=$(mktemp -d /tmp/restante-compare.XXXXXX)
chmod 755 "$WORK"
RESULTS_JSONL="$WORK/results.jsonl"
: >"$RESULTS_JSONL"
log "work directory $WORK"

cleanup() {
  for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done
  for s in "${!PID[@]}"; do
    for _ in $(seq 50); do kill -0 "${PID[$s]}" 2>/dev/null || break; sleep 0.1; done
  done
  if [[ $KEEP == 0 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

copy_corpus() {   # copy_corpus SERVER: a private copy, since both servers write index files
  rm -rf "$WORK/$1"; cp -a "$CORPUS" "$WORK/$1"
  if [[ $1 == dovecot ]]; then chown -R mail:mail "$WORK/$1"; fi
}

wait_port() {   # wait_port PORT: up to 20 s
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1 after 20 s" >&2; return 1
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 30 -subj /CN=localhost 2>/dev/null
chmod 644 "$WORK/key.pem"

# --- Restante ----------------------------------------------------------------------------------
RESTANTE_TLS=0
# POP3S with the same certificate Dovecot gets; LMTP off so the default port 2424 is not needed.
DEFAULT_POP3S_ARGS="--pop3s 127.0.0.1:{PORT} --tls-cert {CERT} --tls-key {KEY} --lmtp ''"
[[ -v RESTANTE_POP3S_ARGS ]] || RESTANTE_POP3S_ARGS=$DEFAULT_POP3S_ARGS
start_restante() {
  local extra=()
  if [[ -n ${RESTANTE_POP3S_ARGS:-} ]]; then
    local a=${RESTANTE_POP3S_ARGS//\{PORT\}/${TLS_PORT[restante]}}
    a=${a//\{CERT\}/$WORK/cert.pem}; a=${a//\{KEY\}/$WORK/key.pem}
    eval "extra=($a)"; RESTANTE_TLS=1
  fi
  "$RESTANTE" serve --data "$WORK/restante" --pop3 "127.0.0.1:${PORT[restante]}" "${extra[@]}" >"$WORK/restante.log" 2>&1 &
  PID[restante]=$!
  wait_port "${PORT[restante]}"
}

# --- Dovecot -----------------------------------------------------------------------------------
start_dovecot() {
  if ! command -v dovecot >/dev/null; then
    log "installing Dovecot (dovecot-pop3d dovecot-lmtpd)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 dovecot-pop3d dovecot-lmtpd >"$WORK/apt.log" 2>&1 \
      || { apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 dovecot-pop3d dovecot-lmtpd >"$WORK/apt.log" 2>&1; }
  fi
  # The package's own instance (default config, /run/dovecot) is stopped and disabled; other
  # instances with their own base_dir (another engineer's) are left alone.
  if [[ -f /run/dovecot/master.pid ]] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
    log "stopping the system Dovecot instance"
    doveadm stop >/dev/null 2>&1 || kill "$(cat /run/dovecot/master.pid)" || true
  fi
  (systemctl disable dovecot >/dev/null 2>&1 || update-rc.d dovecot disable >/dev/null 2>&1 || true)
  local d="$WORK/dovecot"
  cat >"$WORK/dovecot.conf" <<EOF
# Generated by bench/compare.sh: an isolated Dovecot on its own loopback ports and directories.
instance_name = restante-bench-$BASE
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
# Dovecot never runs a mail process as root: the copy of the corpus belongs to "mail".
mail_location = maildir:$d/mail/%u
# mail_fsync left at its default (optimized), as Dovecot ships it; Restante runs with Fsync on (issue 13).
pop3_lock_session = yes
auth_mechanisms = plain
disable_plaintext_auth = no
ssl = yes
ssl_cert = <$WORK/cert.pem
ssl_key = <$WORK/key.pem
default_process_limit = 6000
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$WORK/dovecot-home/%u
}
service pop3-login {
  # Dovecot's documented high-performance login mode, as an operator tuning for load would set it: login
  # processes serve many connections each (service_count = 0), one kept ready per core.
  service_count = 0
  process_min_avail = $(nproc)
  client_limit = 1000
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${PORT[dovecot]}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${TLS_PORT[dovecot]}
    ssl = yes
  }
}
service auth {
  client_limit = 7000
}
service anvil {
  client_limit = 7000
}
EOF
  # dovecot daemonizes; its output goes to a file so no pipe is held open.
  dovecot -c "$WORK/dovecot.conf" >"$WORK/dovecot.start.log" 2>&1
  wait_port "${PORT[dovecot]}"
  PID[dovecot]=$(cat "$WORK/dovecot-run/master.pid")
}

# --- ceiling -----------------------------------------------------------------------------------
start_ceiling() {
  "$CEILING" --pop3 "127.0.0.1:${PORT[ceiling]}" --pop3s "127.0.0.1:${TLS_PORT[ceiling]}" \
    --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
    --mailbox "big100k=${BIG_COUNT}x2048" --mailbox "large1mb=${LARGE_COUNT}x1048576" --mailbox "huge50m=1x52428800" \
    --mailbox "user*=20x51200" --mailbox "idle*=0x1" >"$WORK/ceiling.log" 2>&1 &
  PID[ceiling]=$!
  wait_port "${PORT[ceiling]}"
}

log "copying the corpus for each server"
copy_corpus restante
[[ $DOVECOT == 1 ]] && copy_corpus dovecot
start_restante
[[ $DOVECOT == 1 ]] && start_dovecot
start_ceiling
log "servers: restante pid ${PID[restante]}, dovecot pid ${PID[dovecot]:-none}, ceiling pid ${PID[ceiling]}"

restart() {   # restart SERVER: a fresh process, so idle memory is not hidden in a heap grown by earlier modes
  local s=$1
  [[ $s == dovecot ]] && return 0
  kill "${PID[$s]}"
  for _ in $(seq 100); do kill -0 "${PID[$s]}" 2>/dev/null || break; sleep 0.1; done
  "start_$s"
  # Warm up (JIT, thread pool, first allocations) with a few idle sessions, not recorded.
  "$LOADGEN" idle -c 20 -d 1 --noop-interval 1 --user-prefix idle --user-digits 5 --user-count 20 --password bench \
    --port "${PORT[$s]}" >/dev/null || true
  sleep 1
}

# --- running -----------------------------------------------------------------------------------
FAILED=0
run() {   # run SERVER CASE ROUND [--tls] MODE ARGS...
  local server=$1 case=$2 round=$3; shift 3
  local port=${PORT[$server]}
  if [[ $1 == --tls ]]; then
    shift
    if [[ $server == restante && $RESTANTE_TLS == 0 ]]; then return 0; fi
    port="${TLS_PORT[$server]} --tls"
  fi
  # shellcheck disable=SC2086
  if ! timeout 600 "$LOADGEN" "$@" --port $port --server "$server" --case "$case" --round "$round" --out "$RESULTS_JSONL" \
      | grep -E '^#' | sed "s/^/  /" >&2; then
    FAILED=$((FAILED + 1))
  fi
}

USERS=(--users "$WORK/restante/users.txt")
SESSION_CASES=(
  "login-c1|login -c 1"
  "login-c16|login -c 16"
  "login-c64|login -c 64"
  "login-tls-c16|--tls login -c 16"
  "retr-c8|retr -c 8"
  "retr-tls-c8|--tls retr -c 8"
  "retr-1mb-c1|retr -c 1 --user large1mb --password bench"
)

# TLS session resumption (issue 13): login-tls-c16 makes a full handshake per connection (a client seen
# for the first time); login-tls-resume-c16 is the returning client, each worker presenting the ticket
# of its previous session. The load generator counts full and resumed handshakes in its results.
SESSION_CASES+=("login-tls-resume-c16|--tls login -c 16 --tls-resume")

fresh_big() {   # a never-opened copy of the big mailbox: the first login must build its index
  local s=$1
  rm -rf "$WORK/$s/mail/big100k"
  cp -a "$CORPUS/mail/big100k" "$WORK/$s/mail/big100k"
  if [[ $s == dovecot ]]; then chown -R mail:mail "$WORK/$s/mail/big100k"; fi
  sync
}

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%FT%TZ)
for round in $(seq "$ROUNDS"); do
  # Rotate the order each round so no server always runs first (or right after another's load).
  n=${#SERVERS[@]}; order=()
  for i in $(seq 0 $((n - 1))); do order+=("${SERVERS[$(((i + round - 1) % n))]}"); done
  log "round $round of $ROUNDS (order: ${order[*]})"
  for entry in "${SESSION_CASES[@]}"; do
    case_name=${entry%%|*}; want "$case_name" || continue
    read -r -a spec <<<"${entry#*|}"
    extra=("${USERS[@]}")
    [[ ${spec[*]} == *--user\ * ]] && extra=()
    for s in "${order[@]}"; do
      run "$s" "$case_name" "$round" "${spec[@]}" "${extra[@]}" -d "$DURATION" --warmup "$WARMUP"
    done
  done
  if want big; then
    for s in "${order[@]}"; do
      if [[ $s != ceiling ]]; then
        fresh_big "$s"
        run "$s" big-cold "$round" big --user big100k --password bench --rounds 1 --timeout 300 -d 600
      fi
      run "$s" big-warm "$round" big --user big100k --password bench --rounds "$BIG_WARM" --timeout 300 -d 600
    done
  fi
  if want retr-50mb; then
    for s in "${order[@]}"; do
      run "$s" retr-50mb "$round" retr -c 1 --user huge50m --password bench --rounds 1 -d 60 --warmup 0 --server-pid "${PID[$s]}"
    done
  fi
  if want idle; then
    for s in "${order[@]}"; do
      restart "$s"
      run "$s" "idle-$IDLE_N" "$round" idle -c "$IDLE_N" -d "$IDLE_HOLD" --noop-interval 5 --user-prefix idle --user-digits 5 \
        --user-count "$IDLE_N" --password bench --timeout 60 --server-pid "${PID[$s]}"
    done
  fi
done
# 5,000 idle sessions: the issue's target, Restante and the ceiling only (5,000 Dovecot processes
# would need ~25 GB of RSS here); full runs only.
if [[ $QUICK == 0 ]] && want idle-5000; then
  for s in restante ceiling; do
    restart "$s"
    run "$s" idle-5000 1 idle -c 5000 -d "$IDLE_HOLD" --noop-interval 5 --user-prefix idle --user-digits 5 \
      --user-count 5000 --password bench --timeout 120 --server-pid "${PID[$s]}"
  done
fi
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------------------------
TABLE="$WORK/table.md"
"$LOADGEN" report "$RESULTS_JSONL" --out "$TABLE" >/dev/null
{
  if [[ $QUICK == 1 ]]; then KIND="smoke run (--quick: small corpus, ${DURATION} s per mode) — NOT a measurement"; else KIND="full run"; fi
  echo "# Benchmark results"
  echo
  echo "**$KIND.** Final figures must be taken on a quiet machine: check that the load average below"
  echo "stays under ~0.5 before and after, and that the min–max spread of each cell is a few percent."
  echo
  echo "- command: \`$COMMAND_LINE\`${RESTANTE_POP3S_ARGS:+ with RESTANTE_POP3S_ARGS='$RESTANTE_POP3S_ARGS'}"
  echo "- started $STARTED; $ROUNDS rounds, ${DURATION} s per mode after ${WARMUP} s warm-up; server order rotated each round"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
  echo "- load average (1/5/15 min) before: $START_LOAD, after: $END_LOAD"
  echo "- Restante $(git -C "$ROOT" rev-parse --short HEAD) (Release, $(dotnet --version) SDK); Dovecot $(dovecot --version 2>/dev/null || echo 'not run'); loadgen and ceiling from bench/"
  echo "- corpus: ${CORPUS_ARGS[*]} (seed 6), one copy per server"
  echo "- Dovecot: generated config (passwd-file {PLAIN}, pop3_lock_session = yes, default mail_fsync (optimized), high-performance login mode: service_count = 0, process_min_avail = cores); Restante: defaults (Fsync on, Information logging to a file)"
  if [[ $RESTANTE_TLS == 0 ]]; then echo "- Restante TLS cases not run: RESTANTE_POP3S_ARGS was set empty"; fi
  echo
  cat "$TABLE"
  echo
  echo "Cases: login = connect, USER/PASS, STAT, QUIT (sessions/s, p99 of whole sessions); retr = login, LIST,"
  echo "RETR of every message verified against LIST, QUIT (payload MB/s = 10^6 octets/s, p99 of single RETRs);"
  echo "big-cold = first-ever login on a fresh copy of the big mailbox (all_ms = PASS sent … last UIDL line; Restante builds"
  echo "its index during PASS, Dovecot during STAT), big-warm = median of later logins; retr-50mb = one 50 MB message, rss_growth_kb = server RSS peak − before;"
  echo "idle-N = N authenticated sessions, NOOP every 5 s, on a freshly started and warmed-up server (Restante, ceiling),"
  echo "memory per session = (held − before) / N, summed over the server's processes (Dovecot: master and all children);"
  echo "for the .NET servers read private_per_session_kb: their PSS also moves when other processes mapping the same .NET"
  echo "runtime files (the load generator itself, builds) start or stop."
  if [[ $FAILED -gt 0 ]]; then echo; echo "**$FAILED runs reported errors or failed** (see ⚠ in the table)."; fi
} >"$RESULTS"
log "results: $RESULTS"
cat "$TABLE"
[[ $FAILED == 0 ]] || log "$FAILED runs reported errors"
