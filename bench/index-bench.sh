#!/usr/bin/env bash
# bench/index-bench.sh: the Maildir index on one huge mailbox (Postfix-style names, no ,W=).
# Each round, for each server in turn (interleaved): one message is dropped into new/ (tmp/ then
# rename, as an MDA does), then one POP3 session runs PASS, STAT, LIST, UIDL, QUIT and is timed
# (bench/Restante.LoadGen "big": all_ms = PASS sent … last UIDL line). "warm": the server has
# served the mailbox before; "cold": the server was restarted just before that login (page cache
# warm, the server's own index files on disk as it left them). Afterwards the server's RSS.
#
# usage: bench/index-bench.sh [--count 100000] [--rounds 5] [--baseline DIR] [--no-dovecot] [--no-copy]
#   --no-copy       one Restante server only, on the cached corpus itself (no copy of a 1,000,000-file
#                   Maildir; the dropped messages and the server's index file stay in the cache)
#   --baseline DIR  also run the restante built in DIR (e.g. a checkout of the commit before)
# env: INDEX_BENCH_RESULTS (where the per-session JSON lines are kept; default /tmp/index-bench-results.jsonl),
#      BENCH_PORT_BASE (default 24110), RESTANTE_BENCH_CACHE (default /tmp/bench-cache-index),
#      RESTANTE_CLI (the restante executable to measure; default this tree's Release build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=100000 ROUNDS=5 BASELINE="" DOVECOT=1 COPY=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) COUNT=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --baseline) BASELINE=$2; shift ;;
    --no-dovecot) DOVECOT=0 ;;
    --no-copy) COPY=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "index-bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
BASE=${BENCH_PORT_BASE:-24110}
CACHE=${RESTANTE_BENCH_CACHE:-/tmp/bench-cache-index}
BIN=net10.0
LOADGEN="$ROOT/bench/Restante.LoadGen/bin/Release/$BIN/Restante.LoadGen"
CORPUSGEN="$ROOT/bench/Restante.Corpus/bin/Release/$BIN/Restante.Corpus"
declare -A EXE=([restante]="${RESTANTE_CLI:-$ROOT/src/Restante.Cli/bin/Release/$BIN/Restante.Cli}")
[[ -n $BASELINE ]] && EXE[baseline]="$BASELINE/src/Restante.Cli/bin/Release/$BIN/Restante.Cli"
SERVERS=(restante); [[ -n $BASELINE ]] && SERVERS+=(baseline); [[ $DOVECOT == 1 ]] && SERVERS+=(dovecot)
declare -A PORT=([restante]=$BASE [baseline]=$((BASE + 1)) [dovecot]=$((BASE + 2)))
declare -A PID=()
log() { echo "# $*" >&2; }

for p in bench/Restante.LoadGen bench/Restante.Corpus src/Restante.Cli; do
  [[ -x $ROOT/$p/bin/Release/$BIN/${p##*/} ]] || dotnet build "$ROOT/$p" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
done
CORPUS="$CACHE/c$COUNT"
if [[ ! -f $CORPUS/corpus.txt ]]; then
  log "generating $COUNT messages in $CORPUS"
  rm -rf "$CORPUS"
  "$CORPUSGEN" --out "$CORPUS" --users 0 --messages 0 --big-count "$COUNT" --big-size 1024 --large-count 0 --huge-mb 0 --idle-users 0 >&2
fi
WORK=$(mktemp -d /tmp/index-bench.XXXXXX); chmod 755 "$WORK"
cleanup() {
  for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done
  sleep 0.5; rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not open" >&2; return 1; }

if [[ $COPY == 0 ]]; then SERVERS=(restante); ln -s "$CORPUS" "$WORK/restante"; fi
for s in "${SERVERS[@]}"; do
  [[ $COPY == 0 ]] && break
  log "copying the corpus for $s"
  cp -a "$CORPUS" "$WORK/$s"
  [[ $s == dovecot ]] && chown -R mail:mail "$WORK/$s/mail"
done

start() {
  local s=$1
  if [[ $s == dovecot ]]; then
    if [[ ! -f $WORK/dovecot.conf ]]; then
      cat >"$WORK/dovecot.conf" <<EOF
instance_name = index-bench-$BASE
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
pop3_lock_session = yes
auth_mechanisms = plain
disable_plaintext_auth = no
ssl = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $WORK/dovecot/passwd
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$WORK/dovecot-home/%u
}
service pop3-login {
  service_count = 0
  process_min_avail = $(nproc)
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${PORT[dovecot]}
  }
}
EOF
    fi
    dovecot -c "$WORK/dovecot.conf" >"$WORK/dovecot.start.log" 2>&1
    # Dovecot daemonizes: its pid file may come a moment after it returns.
    for _ in $(seq 100); do [[ -s $WORK/dovecot-run/master.pid ]] && break; sleep 0.1; done
    wait_port "${PORT[dovecot]}"
    PID[dovecot]=$(cat "$WORK/dovecot-run/master.pid")
  else
    "${EXE[$s]}" serve --data "$WORK/$s" --pop3 "127.0.0.1:${PORT[$s]}" --lmtp '' >>"$WORK/$s.log" 2>&1 &
    PID[$s]=$!
    wait_port "${PORT[$s]}"
  fi
}

stop() {
  local s=$1 pid=${PID[$s]}
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  # Dovecot's login processes may hold the port a little longer than the master lives.
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$s]}") 2>/dev/null || break; sleep 0.1; done
  rm -f "$WORK/dovecot-run/master.pid"
  unset "PID[$s]"
}

# RSS of the server's processes in kB: Restante's one process; Dovecot's master and children.
rss_kb() {
  local s=$1 pids
  if [[ $s == dovecot ]]; then pids=$(pgrep -s "$(ps -o sid= -p "${PID[$s]}" | tr -d ' ')" || true); else pids=${PID[$s]}; fi
  local total=0
  for p in $pids; do total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done
  echo "$total"
}

drop() {   # drop SERVER N: one Postfix-style message into new/
  local s=$1 n=$2 md="$WORK/$1/mail/big100k" name
  name="$(date +%s).V801I${n}M$RANDOM.drop"
  printf 'From: bench@example.com\nSubject: dropped %s\n\nhello %s\n' "$n" "$n" >"$md/tmp/$name"
  [[ $s == dovecot ]] && chown mail:mail "$md/tmp/$name"
  mv "$md/tmp/$name" "$md/new/$name"
}

session() {   # session SERVER CASE ROUND: prints all_ms
  local s=$1
  # Restante answers the first login on a huge never-indexed Maildir with -ERR [SYS/TEMP] while it sizes the
  # messages in the background: the first login is retried until it gets in (each try's output is kept).
  if [[ $2 == first ]]; then
    local t0=$EPOCHREALTIME tries=0
    until "$LOADGEN" big --port "${PORT[$s]}" --user big100k --password bench --rounds 1 --timeout 300 -d 600 \
        --server "$s" --case "$2" --round "$3" --out "$WORK/results.jsonl" >"$WORK/last.txt" 2>&1; do
      [[ $((tries += 1)) -lt 120 ]] || { cat "$WORK/last.txt" >&2; return 1; }
      sleep 5
    done
    log "$s first login: $tries refusals, $(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 )) ms until served"
  fi
  "$LOADGEN" big --port "${PORT[$s]}" --user big100k --password bench --rounds 1 --timeout 300 -d 600 \
    --server "$s" --case "$2" --round "$3" --out "$WORK/results.jsonl" >"$WORK/last.txt" 2>&1 || { cat "$WORK/last.txt" >&2; return 1; }
  tail -1 "$WORK/results.jsonl" | sed -E 's/.*"all_ms":([0-9.]+).*/\1/'
}

log "uptime before: $(uptime)"
declare -A IDLE=()
for s in "${SERVERS[@]}"; do start "$s"; sleep 1; IDLE[$s]=$(rss_kb "$s"); done
# The first login ever (builds the index) is not measured, as compare.sh's big-warm.
for s in "${SERVERS[@]}"; do log "$s first login: $(session "$s" first 0) ms"; done
declare -A WARM=() COLD=()
n=0
for r in $(seq "$ROUNDS"); do
  for s in "${SERVERS[@]}"; do
    n=$((n + 1)); drop "$s" "$n"
    WARM[$s]+="$(session "$s" warm "$r") "
  done
  for s in "${SERVERS[@]}"; do
    stop "$s"; start "$s"
    n=$((n + 1)); drop "$s" "$n"
    COLD[$s]+="$(session "$s" cold "$r") "
  done
  log "round $r: $(for s in "${SERVERS[@]}"; do w=(${WARM[$s]}); c=(${COLD[$s]}); echo -n "$s warm ${w[-1]} cold ${c[-1]}; "; done)"
done
# RSS after a last warm login, minus what the same server held idle before its first login.
for s in "${SERVERS[@]}"; do n=$((n + 1)); drop "$s" "$n"; session "$s" rss 0 >/dev/null; done
log "uptime after: $(uptime)"
cp "$WORK/results.jsonl" "${INDEX_BENCH_RESULTS:-/tmp/index-bench-results.jsonl}"
log "per-session figures (login_ms, stat_ms, list_ms, uidl_ms) in ${INDEX_BENCH_RESULTS:-/tmp/index-bench-results.jsonl}"

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR==1{min=$1} {max=$1} END {printf "%s–%s", min, max}'; }
echo "| server | messages | warm PASS…UIDL ms (median, min–max) | cold (restarted) ms (median, min–max) | RSS after − idle (kB) | bytes/message |"
echo "|---|---|---|---|---|---|"
for s in "${SERVERS[@]}"; do
  rss=$(rss_kb "$s"); grow=$((rss - IDLE[$s]))
  echo "| $s | $COUNT | $(echo "${WARM[$s]}" | median) ($(echo "${WARM[$s]}" | spread)) | $(echo "${COLD[$s]}" | median) ($(echo "${COLD[$s]}" | spread)) | $grow | $((grow * 1024 / COUNT)) |"
done
