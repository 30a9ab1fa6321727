#!/usr/bin/env bash
# bench/compare.sh: Restante, Dovecot (two configurations) and the in-memory ceiling side by side on
# copies of one corpus, driven by the same load generator, servers rotating order each round.
# Prints medians and ratios and writes bench/RESULTS.md. Loopback only; every run is bounded.
#
#   bench/compare.sh --prepare          build and generate the corpora into the cache, measure nothing
#   bench/compare.sh --quick            smoke run: small corpus, 2 s per mode, 3 rounds (~8 min)
#   bench/compare.sh                    full run: 8 s per mode, 3 rounds (~27 min after --prepare; QUIET machine)
#
# Servers: restante; dovecot = Dovecot 2.3 in its high-performance login mode at default settings
# (pop3_no_flag_updates = no: at QUIT it renames new/ messages into cur/ and sets \Seen on retrieved
# ones); dovecot-nfu = the same with pop3_no_flag_updates = yes (neither, as Restante); ceiling =
# bench/ceiling, a POP3 responder with nothing behind it (what the setup can show at all).
#
# Before round 1 every server's copy is primed: each mailbox read once (retr of every user,
# large1mb, huge50m; one login on big100k, reported as big-first). Closed-loop cases warm up by a
# number of sessions (the same for every server), not by seconds. Cases (--only takes these names):
#   startup        time from launch to the first greeting, and the server's RSS/PSS/private memory
#                  right after (every start and restart of every server is one sample)
#   login-c1 login-c16 login-c64   connect, USER, PASS, STAT, QUIT; sessions/s (all servers; nfu: c1, c16)
#   login-tls-c16  the same over implicit TLS (full handshake each session)
#   login-tls-resume-c16  the same, each worker resuming its previous TLS session (a returning client)
#   retr-c8 retr-tls-c8   login, LIST, RETR every ~50 KB message (verified against LIST), QUIT; MB/s
#   retr-1mb-c1    the same on 100 messages of ~1 MB
#   retr-wire-c8 retr-wire-1mb-c1   the same two on messages in wire form (CRLF, no line starting with '.',
#                  ASCII header), delivered over LMTP before round 1 so each server stores them as its own delivery
#                  does: Restante marks them for sendfile (base,S=n,W=n,P=n, mode 0400), Dovecot saves them as any
#                  delivery (LF, mail_save_crlf = no). Restante's priming pass of these runs at Debug log level and
#                  counts the "with sendfile" lines: the results say how many RETRs took that path
#   big            on big100k (100k messages, 2 KB): big-warm = logins with nothing new (PASS…UIDL,
#                  after one unmeasured login); big-deliver = one message dropped into new/ (tmp/,
#                  rename, as Postfix's virtual(8)) before each login, STAT checked to grow by one;
#                  big-cold = the first login after the server was restarted (every round, all
#                  servers, 3 s after the last big-deliver login; the page cache is warm, the
#                  servers' on-disk indexes exist)
#   retr-50mb      one 50 MB message, c1; server RSS growth
#   lmtp           LMTP deliveries/s, 4 KB, 8 clients, LmtpBench; fsync on in both (Restante's
#                  default, Dovecot mail_fsync = always for lmtp); both log one line per delivery
#                  (Restante at Information, its default; Dovecot's default "saved mail to INBOX")
#   idle           N authenticated idle sessions (same N for restante, dovecot, ceiling) on a freshly
#                  started server: RSS, PSS and private memory per session; while they are held,
#                  login-c16 again (case login-c16+idle-N, reported as a share of login-c16)
#   idle-big       50,000 idle sessions (full run; Restante and the ceiling: Dovecot forks a process
#                  per session) and login-c16+idle-50000; needs root for RLIMIT_NOFILE
#   big1m          a 1,000,000-message mailbox (~1.5 KB each; full run; generated once into the
#                  cache, one copy per server kept there and reset each run): first login (index
#                  build), then login+STAT+UIDL with one delivery before each; ms and server memory
#                  growth per message. Restante and dovecot-nfu (Dovecot with flag updates would
#                  rename a million files at the first QUIT).
#
# Options: --quick  --prepare  --rounds N  --duration S  --keep (leave the work directory)  --results FILE
#          --no-dovecot  --no-nfu  --only CASE[,CASE]  --idle-big N (0: off)  --million / --no-million
#          --settle S (wait up to S s for the 1-min load average to fall below 1.0 before and after)
# Environment: RESTANTE_POP3S_ARGS  extra `serve` arguments for implicit TLS (default: --pop3s/--tls-cert/--tls-key),
#          with {PORT} {CERT} {KEY} replaced. Set it empty to skip Restante's TLS cases.
#          RESTANTE_BENCH_TLS_KEY  rsa (default: RSA-2048) or ec (ECDSA P-256): the certificate all servers present.
#          RESTANTE_BENCH_CACHE  where generated corpora are kept (default /tmp/restante-bench-corpus; same
#          file system as /tmp, since the 1M copies are moved in and out of the work directory).
#          BENCH_PORT_BASE  first of the ten loopback ports used (default 21110).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0 PREPARE=0 ROUNDS=3 DURATION="" KEEP=0 DOVECOT=1 NFU=1 ONLY="" IDLE_BIG="" MILLION="" SETTLE=""
RESULTS="$ROOT/bench/RESULTS.md"
COMMAND_LINE="bench/compare.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --prepare) PREPARE=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --keep) KEEP=1 ;;
    --results) RESULTS=$2; shift ;;
    --no-dovecot) DOVECOT=0; NFU=0 ;;
    --no-nfu) NFU=0 ;;
    --only) ONLY=",$2,"; shift ;;
    --idle-big) IDLE_BIG=$2; shift ;;
    --million) MILLION=1 ;;
    --no-million) MILLION=0 ;;
    --settle) SETTLE=$2; shift ;;
    -h|--help) sed -n '2,55p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '== %s\n' "$*" >&2; }
want() { [[ -z $ONLY || $ONLY == *",$1,"* ]]; }
has() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }
load1() { cut -d' ' -f1 /proc/loadavg; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

if [[ $QUICK == 1 ]]; then
  DURATION=${DURATION:-2}; WARM_LOGIN=100 WARM_RETR=16 WARM_1MB=2
  USERS_N=80 IDLE_N=100 BIG_ROUNDS=5 BIG_COUNT=10000 LARGE_COUNT=20 LMTP_SECONDS=2
  IDLE_BIG=${IDLE_BIG:-0} MILLION=${MILLION:-0} SETTLE=${SETTLE:-0}
else
  DURATION=${DURATION:-8}; WARM_LOGIN=400 WARM_RETR=40 WARM_1MB=4
  USERS_N=200 IDLE_N=1000 BIG_ROUNDS=10 BIG_COUNT=100000 LARGE_COUNT=100 LMTP_SECONDS=8
  IDLE_BIG=${IDLE_BIG:-50000} MILLION=${MILLION:-1} SETTLE=${SETTLE:-90}
fi
# 50,000 idle sessions need as many descriptors in the server and in the load generator. Raising the
# hard limit needs CAP_SYS_RESOURCE (root in a container may lack it): then the case holds as many
# sessions as the hard limit allows, and the results header says so.
IDLE_BIG_NOTE=""
if [[ $IDLE_BIG -gt 0 ]] && want idle-big; then
  # Restante counts 2 descriptors per idle Maildir POP3 session (FileDescriptorLimit.PerPop3Session) plus 3 for
  # one session in 4 at work (PerPop3Command, BusyShareDivisor), and fits its connection limits to the hard
  # limit; the load generator needs one per session. Never lower a hard limit that is already high enough.
  need=$((IDLE_BIG * 3 + 10000)) hard=$(ulimit -Hn)
  if [[ $hard == unlimited ]] || (( hard >= need )) || ulimit -Hn "$need" 2>/dev/null; then
    ulimit -Sn "$(ulimit -Hn)"
    log "RLIMIT_NOFILE $(ulimit -Sn) for the servers and the load generator"
  else
    hard=$(ulimit -Hn); ulimit -Sn "$hard"
    capped=$(((hard - 1000) * 4 / 11 / 100 * 100)); ((capped >= 1000)) || capped=1000
    IDLE_BIG_NOTE="idle-big capped at $capped sessions (asked $IDLE_BIG): the RLIMIT_NOFILE hard limit $hard could not be raised (no CAP_SYS_RESOURCE)"
    log "$IDLE_BIG_NOTE"; IDLE_BIG=$capped
  fi
fi
M1_COUNT=1000000 M1_ROUNDS=3
WIRE_USERS=16   # wire0000…: 20 messages of ~50 KB each; wire1mb: LARGE_COUNT of ~1 MB (bench/Restante.Corpus --lmtp)
IDLE_USERS=$((IDLE_BIG > IDLE_N * 2 ? IDLE_BIG : IDLE_N * 2))
CORPUS_ARGS=(--users "$USERS_N" --messages 20 --size 51200 --big-count "$BIG_COUNT" --big-size 2048 --large-count "$LARGE_COUNT"
  --large-size 1048576 --huge-mb 50 --idle-users "$IDLE_USERS")
M1_ARGS=(--users 0 --messages 0 --big-count 0 --large-count 0 --huge-mb 0 --idle-users 0 --mailbox "big1m=${M1_COUNT}x1536")

BASE=${BENCH_PORT_BASE:-21110}
declare -A PORT=([restante]=$BASE [dovecot]=$((BASE + 1)) [dovecot-nfu]=$((BASE + 2)) [ceiling]=$((BASE + 3)))
declare -A TLS_PORT=([restante]=$((BASE + 4)) [dovecot]=$((BASE + 5)) [dovecot-nfu]=$((BASE + 6)) [ceiling]=$((BASE + 7)))
declare -A LMTP_PORT=([restante]=$((BASE + 8)) [dovecot]=$((BASE + 9)))
declare -A PID=()
SERVERS=(restante)
[[ $DOVECOT == 1 ]] && SERVERS+=(dovecot)
[[ $NFU == 1 ]] && SERVERS+=(dovecot-nfu)
SERVERS+=(ceiling)


# --- build (Release) --------------------------------------------------------------------------
log "building Release: Restante.Cli, LoadGen, Corpus, Ceiling, LmtpBench"
for p in src/Restante.Cli bench/Restante.LoadGen bench/Restante.Corpus bench/ceiling bench/LmtpBench; do
  dotnet build "$ROOT/$p" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null || { echo "build of $p failed" >&2; exit 1; }
done
BIN=net10.0
LOADGEN="$ROOT/bench/Restante.LoadGen/bin/Release/$BIN/Restante.LoadGen"
CORPUSGEN="$ROOT/bench/Restante.Corpus/bin/Release/$BIN/Restante.Corpus"
CEILING="$ROOT/bench/ceiling/bin/Release/$BIN/Restante.Ceiling"
RESTANTE="$ROOT/src/Restante.Cli/bin/Release/$BIN/Restante.Cli"
LMTPBENCH="$ROOT/bench/LmtpBench/bin/Release/$BIN/LmtpBench"

# --- corpora (generated once per parameter set into the cache) ------------------------------------
CACHE=${RESTANTE_BENCH_CACHE:-/tmp/restante-bench-corpus}
CORPUS="$CACHE/$(echo "${CORPUS_ARGS[*]}" | sha1sum | cut -c1-12)"
if [[ ! -f $CORPUS/corpus.txt ]]; then
  log "generating corpus in $CORPUS (${CORPUS_ARGS[*]})"
  rm -rf "$CORPUS"; mkdir -p "$CORPUS"
  "$CORPUSGEN" --out "$CORPUS" "${CORPUS_ARGS[@]}" >&2
fi
# The million-message mailbox: one copy per server kept in the cache (a copy of a million files takes
# minutes), moved into the work directory for the run and back after it, reset to the generated state
# at the start of every run (deliveries removed, messages Dovecot moved to cur/ put back, both servers'
# index files removed, so the first login builds the index every time).
M1_SERVERS=(restante)
[[ $NFU == 1 ]] && M1_SERVERS+=(dovecot-nfu)
M1="$CACHE/m1-$(echo "${M1_ARGS[*]}" | sha1sum | cut -c1-12)"
if [[ $MILLION == 1 ]] && want big1m; then
  for s in "${M1_SERVERS[@]}"; do
    if [[ ! -f $M1/$s/corpus.txt ]]; then
      log "generating the ${M1_COUNT}-message mailbox for $s in $M1/$s (once; minutes)"
      rm -rf "${M1:?}/$s"; mkdir -p "$M1/$s"
      "$CORPUSGEN" --out "$M1/$s" "${M1_ARGS[@]}" >&2
      [[ $s == dovecot* ]] && chown -R mail:mail "$M1/$s"
    fi
  done
fi
if [[ $PREPARE == 1 ]]; then log "prepared: $CORPUS$([[ $MILLION == 1 ]] && echo " and $M1")"; exit 0; fi

WORK=$(mktemp -d /tmp/restante-compare.XXXXXX)
chmod 755 "$WORK"
RESULTS_JSONL="$WORK/results.jsonl"
: >"$RESULTS_JSONL"
log "work directory $WORK"

M1_MOVED=()
cleanup() {
  for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done
  for s in "${!PID[@]}"; do
    for _ in $(seq 50); do kill -0 "${PID[$s]}" 2>/dev/null || break; sleep 0.1; done
  done
  for s in "${M1_MOVED[@]}"; do mv "$WORK/$s/mail/big1m" "$M1/$s/mail/big1m" 2>/dev/null || true; done
  if [[ $KEEP == 0 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

copy_corpus() {   # copy_corpus SERVER: a private copy, since every server writes index files
  local s=$1 skip=()
  # Dovecot forks a process per session, so it only gets the idle users of the idle case (≤ 1,000),
  # and the second Dovecot only what its cases use.
  [[ $s == dovecot* ]] && skip+=(--exclude='./mail/idle0[1-9]*' --exclude='./mail/idle[1-9]*')
  [[ $s == dovecot-nfu ]] && skip+=(--exclude='./mail/idle*' --exclude=./mail/huge50m --exclude=./mail/large1mb)
  rm -rf "${WORK:?}/$s"; mkdir -p "$WORK/$s"
  tar -C "$CORPUS" "${skip[@]}" -cf - . | tar -C "$WORK/$s" -xf -
  printf 'lmtpbench:{PLAIN}bench\nbig1m:{PLAIN}bench\n' >>"$WORK/$s/passwd"
  for u in $(seq 0 $((WIRE_USERS - 1))); do printf 'wire%04d:{PLAIN}bench\n' "$u"; done >>"$WORK/$s/passwd"
  printf 'wire1mb:{PLAIN}bench\n' >>"$WORK/$s/passwd"
  [[ $s == dovecot* ]] && chown -R mail:mail "$WORK/$s"
  return 0
}

reset_m1() {   # reset_m1 SERVER: the cached million-message Maildir back to what the generator wrote
  local m="$M1/$1/mail/big1m"
  find "$m/new" "$m/cur" "$m/tmp" -name "*bench-delivery*" -delete
  if [[ -n $(find "$m/cur" -type f -print -quit) ]]; then
    log "moving $1's cur/ messages back to new/"
    find "$m/cur" -type f -print0 | while IFS= read -r -d '' f; do b=${f##*/}; mv "$f" "$m/new/${b%%:2,*}"; done
  fi
  find "$m" -maxdepth 1 -type f \( -name 'dovecot*' -o -name 'restante-*' \) -delete
  rm -rf "$m/restante-retained"
}

# Start-up: from launch to the first greeting on a new connection (what a client waits for).
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
wait_greeting() {   # wait_greeting PORT: up to 30 s
  for _ in $(seq 6000); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r -t 5 line <&3 && [[ $line == +OK* ]] && printf 'QUIT\r\n' >&3) 2>/dev/null; then
      return 0
    fi
    sleep 0.005
  done
  echo "no POP3 greeting on 127.0.0.1:$1 after 30 s" >&2; return 1
}
STARTS=0
record_start() {   # record_start SERVER T0_US: start-up time and memory right after start
  local ms=$((($(now_us) - $2) / 1000))
  STARTS=$((STARTS + 1))
  "$LOADGEN" memory --server-pid "${PID[$1]}" --server "$1" --case startup --round "$STARTS" --metric "startup_ms=$ms" \
    --out "$RESULTS_JSONL" | grep -E '^#' | sed "s/^/  /" >&2 || true
}

# RESTANTE_BENCH_TLS_KEY=ec: an ECDSA P-256 certificate for all servers instead of RSA-2048 (bench/RESULTS-tls-resume.md).
if [[ ${RESTANTE_BENCH_TLS_KEY:-rsa} == ec ]]; then TLS_NEWKEY=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); else TLS_NEWKEY=(-newkey rsa:2048); fi
openssl req -x509 "${TLS_NEWKEY[@]}" -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 30 -subj /CN=localhost 2>/dev/null
chmod 644 "$WORK/key.pem"

# --- Restante ----------------------------------------------------------------------------------
RESTANTE_TLS=0
# POP3S with the same certificate Dovecot gets; LMTP on its bench port.
DEFAULT_POP3S_ARGS="--pop3s 127.0.0.1:{PORT} --tls-cert {CERT} --tls-key {KEY}"
[[ -v RESTANTE_POP3S_ARGS ]] || RESTANTE_POP3S_ARGS=$DEFAULT_POP3S_ARGS
# Room for the idle-big sessions (the default MaxConnections is 10,000); nothing else changes.
export RESTANTE_MaxConnections=$((IDLE_BIG + 1000 > 10000 ? IDLE_BIG + 1000 : 10000))
start_restante() {
  local extra=() t0
  if [[ -n ${RESTANTE_POP3S_ARGS:-} ]]; then
    local a=${RESTANTE_POP3S_ARGS//\{PORT\}/${TLS_PORT[restante]}}
    a=${a//\{CERT\}/$WORK/cert.pem}; a=${a//\{KEY\}/$WORK/key.pem}
    eval "extra=($a)"; RESTANTE_TLS=1
  fi
  t0=$(now_us)
  [[ -n ${RESTANTE_LOG_LEVEL:-} ]] && extra+=(--log-level "$RESTANTE_LOG_LEVEL")
  "$RESTANTE" serve --data "$WORK/restante" --pop3 "127.0.0.1:${PORT[restante]}" --lmtp "127.0.0.1:${LMTP_PORT[restante]}" \
    "${extra[@]}" >>"$WORK/restante.log" 2>&1 &
  PID[restante]=$!
  wait_greeting "${PORT[restante]}"
  record_start restante "$t0"
}

# --- Dovecot -----------------------------------------------------------------------------------
prepare_dovecot() {
  if ! command -v dovecot >/dev/null || [[ ! -x /usr/lib/dovecot/lmtp ]]; then
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
}

write_dovecot_conf() {   # write_dovecot_conf NAME: dovecot or dovecot-nfu
  local s=$1 d="$WORK/$1" nfu=no protocols="pop3 lmtp" lmtp_listener=""
  [[ $s == dovecot-nfu ]] && { nfu=yes; protocols=pop3; }
  if [[ $s == dovecot ]]; then
    lmtp_listener="service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${LMTP_PORT[dovecot]}
  }
}"
  fi
  cat >"$WORK/$s.conf" <<EOF
# Generated by bench/compare.sh: an isolated Dovecot on its own loopback ports and directories.
instance_name = restante-bench-$BASE-$s
base_dir = $WORK/$s-run
state_dir = $WORK/$s-state
protocols = $protocols
listen = 127.0.0.1
log_path = $WORK/$s.log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 0
first_valid_gid = 0
# Dovecot never runs a mail process as root: the copy of the corpus belongs to "mail".
mail_location = maildir:$d/mail/%u
# mail_fsync left at its default (optimized) for POP3, as Dovecot ships it; LMTP fsyncs every delivery, as Restante does.
protocol lmtp {
  mail_fsync = always
}
# no: at QUIT, rename new/ messages into cur/ and set \\Seen on retrieved ones (Dovecot's default); yes: neither, as Restante.
pop3_no_flag_updates = $nfu
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
  args = uid=mail gid=mail home=$WORK/$s-home/%u
}
service pop3-login {
  # Dovecot's documented high-performance login mode, as an operator tuning for load would set it: login
  # processes serve many connections each (service_count = 0), one kept ready per core.
  service_count = 0
  process_min_avail = $(nproc)
  client_limit = 1000
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${PORT[$s]}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${TLS_PORT[$s]}
    ssl = yes
  }
}
$lmtp_listener
service auth {
  client_limit = 13000
}
service anvil {
  client_limit = 13000
}
EOF
}

start_dovecot_as() {   # start_dovecot_as NAME
  local s=$1 t0
  write_dovecot_conf "$s"
  t0=$(now_us)
  # dovecot daemonizes; its output goes to a file so no pipe is held open.
  dovecot -c "$WORK/$s.conf" >>"$WORK/$s.start.log" 2>&1
  wait_greeting "${PORT[$s]}"
  PID[$s]=$(cat "$WORK/$s-run/master.pid")
  record_start "$s" "$t0"
}
start_dovecot() { start_dovecot_as dovecot; }
start_dovecot-nfu() { start_dovecot_as dovecot-nfu; }

# --- ceiling -----------------------------------------------------------------------------------
start_ceiling() {
  local t0
  t0=$(now_us)
  "$CEILING" --pop3 "127.0.0.1:${PORT[ceiling]}" --pop3s "127.0.0.1:${TLS_PORT[ceiling]}" \
    --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
    --mailbox "big100k=${BIG_COUNT}x2048" --mailbox "large1mb=${LARGE_COUNT}x1048576" --mailbox "huge50m=1x52428800" \
    --mailbox "user*=20x51200" --mailbox "wire1mb=${LARGE_COUNT}x1048576" --mailbox "wire*=20x51200" \
    --mailbox "idle*=0x1" >>"$WORK/ceiling.log" 2>&1 &
  PID[ceiling]=$!
  wait_greeting "${PORT[ceiling]}"
  record_start ceiling "$t0"
}

stop_server() {   # stop_server SERVER: and wait until its process (Dovecot: the master) is gone
  local s=$1
  kill "${PID[$s]}" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "${PID[$s]}" 2>/dev/null || break; sleep 0.05; done
  # Dovecot's children may linger a moment after the master; the ports must be free again.
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$s]}") 2>/dev/null || break; sleep 0.05; done
  unset "PID[$s]"
}
restart() {   # restart SERVER: a fresh process (all servers alike)
  stop_server "$1"
  "start_$1"
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
  if ! timeout "${RUN_TIMEOUT:-900}" "$LOADGEN" "$@" --port $port --server "$server" --case "$case" --round "$round" --out "$RESULTS_JSONL" \
      | grep -E '^#' | sed "s/^/  /" >&2; then
    FAILED=$((FAILED + 1))
  fi
}

wait_quiet() {   # wait_quiet SECONDS: until the 1-min load average is below 1.0, at most SECONDS
  local waited=0
  while [[ $waited -lt $1 ]] && awk -v l="$(load1)" 'BEGIN { exit !(l >= 1.0) }'; do sleep 5; waited=$((waited + 5)); done
  echo "$waited"
}

log "copying the corpus for each server"
for s in "${SERVERS[@]}"; do [[ $s == ceiling ]] || copy_corpus "$s"; done
if [[ $MILLION == 1 ]] && want big1m; then
  for s in "${M1_SERVERS[@]}"; do
    reset_m1 "$s"
    mv "$M1/$s/mail/big1m" "$WORK/$s/mail/big1m"; M1_MOVED+=("$s")
  done
fi
[[ $DOVECOT == 1 ]] && prepare_dovecot
for s in "${SERVERS[@]}"; do "start_$s"; done
log "servers: $(for s in "${SERVERS[@]}"; do printf '%s pid %s, ' "$s" "${PID[$s]}"; done)"

USERS=(--users "$WORK/restante/users.txt")
# name | servers ("all" or a list) | loadgen arguments; warm-up by sessions.
SESSION_CASES=(
  "login-c1|all|login -c 1 --warmup-sessions $WARM_LOGIN"
  "login-c16|all|login -c 16 --warmup-sessions $WARM_LOGIN"
  "login-c64|restante dovecot ceiling|login -c 64 --warmup-sessions $WARM_LOGIN"
  "login-tls-c16|restante dovecot ceiling|--tls login -c 16 --warmup-sessions $WARM_LOGIN"
  # TLS session resumption: the returning client, each worker presenting the ticket of its previous
  # session (login-tls-c16 is the client seen for the first time: a full handshake every session).
  # The load generator counts full and resumed handshakes in its results.
  "login-tls-resume-c16|restante dovecot ceiling|--tls login -c 16 --tls-resume --warmup-sessions $WARM_LOGIN"
  "retr-c8|restante dovecot ceiling|retr -c 8 --warmup-sessions $WARM_RETR"
  "retr-tls-c8|restante dovecot ceiling|--tls retr -c 8 --warmup-sessions $WARM_RETR"
  "retr-1mb-c1|restante dovecot ceiling|retr -c 1 --user large1mb --password bench --warmup-sessions $WARM_1MB"
  "retr-wire-c8|restante dovecot ceiling|retr -c 8 --users $WORK/wire-users.txt --warmup-sessions $WARM_RETR"
  "retr-wire-1mb-c1|restante dovecot ceiling|retr -c 1 --user wire1mb --password bench --warmup-sessions $WARM_1MB"
)
BIG=(big --user big100k --password bench --timeout 300 -d 900)

# The wire-form mailboxes: delivered over LMTP, so each server stores them as its own delivery does.
wants_wire() { want retr-wire || want retr-wire-c8 || want retr-wire-1mb || want retr-wire-1mb-c1; }
WIRE_NOTE=""
if wants_wire; then
  for u in $(seq 0 $((WIRE_USERS - 1))); do printf 'wire%04d:bench\n' "$u"; done >"$WORK/wire-users.txt"
  for s in restante dovecot; do
    has "$s" || continue
    log "delivering the wire-form mailboxes to $s over LMTP"
    "$CORPUSGEN" --lmtp "127.0.0.1:${LMTP_PORT[$s]}" --wire-users "$WIRE_USERS" --messages 20 --size 51200 \
      --wire-large-count "$LARGE_COUNT" --large-size 1048576 >&2 || { log "LMTP delivery to $s failed"; FAILED=$((FAILED + 1)); }
  done
  # Restante's priming of them at Debug level: every RETR of a file its delivery marked must go out with sendfile.
  stop_server restante
  before=$(grep -c "with sendfile" "$WORK/restante.log" || true)
  RESTANTE_LOG_LEVEL=Debug start_restante
  run restante prime 0 retr -c 8 --rounds $((WIRE_USERS / 8)) --users "$WORK/wire-users.txt" -d 300 >/dev/null
  run restante prime 0 retr -c 1 --user wire1mb --password bench --rounds 1 -d 300 >/dev/null
  sent=$(($(grep -c "with sendfile" "$WORK/restante.log" || true) - before))
  marked=$(find "$WORK/restante/mail" -path '*/wire*/new/*' -name '*,P=*' | wc -l)
  expected=$((WIRE_USERS * 20 + LARGE_COUNT))
  WIRE_NOTE="wire form: Restante stored $marked of $expected delivered messages marked for sendfile; in its priming pass (Debug log) $sent of $expected RETRs went out with sendfile"
  log "$WIRE_NOTE"
  [[ $sent == "$expected" ]] || FAILED=$((FAILED + 1))
  restart restante
fi

# Priming: every mailbox each server's cases read is read once (and big100k's first-ever login is
# the big-first case), so no server measures its first touch of a mailbox inside a case.
log "priming: each mailbox read once by each server"
for s in "${SERVERS[@]}"; do
  [[ $s == ceiling ]] && continue
  run "$s" prime 0 retr -c 8 --rounds $((USERS_N / 8)) "${USERS[@]}" -d 300 >/dev/null
  if [[ $s != dovecot-nfu ]]; then
    run "$s" prime 0 retr -c 1 --user large1mb --password bench --rounds 1 -d 300
    run "$s" prime 0 retr -c 1 --user huge50m --password bench --rounds 1 -d 300
  fi
  if wants_wire && [[ $s == dovecot ]]; then
    run "$s" prime 0 retr -c 8 --rounds $((WIRE_USERS / 8)) --users "$WORK/wire-users.txt" -d 300 >/dev/null
    run "$s" prime 0 retr -c 1 --user wire1mb --password bench --rounds 1 -d 300
  fi
  want big && run "$s" big-first 1 "${BIG[@]}" --rounds 1
done
# The priming rows are not results.
grep -v '"case":"prime"' "$RESULTS_JSONL" >"$RESULTS_JSONL.tmp" && mv "$RESULTS_JSONL.tmp" "$RESULTS_JSONL"

SETTLED_BEFORE=0
if [[ $SETTLE -gt 0 ]]; then
  log "waiting up to $SETTLE s for the 1-min load average to fall below 1.0 (now $(load1))"
  SETTLED_BEFORE=$(wait_quiet "$SETTLE")
fi
START_LOAD=$(loadavg)
STARTED=$(date -u +%FT%TZ)
START_SECONDS=$SECONDS

idle_with_login() {   # idle_with_login SERVER CASE ROUND N [idle args...]: hold N idle sessions, measure login-c16 meanwhile
  local s=$1 case=$2 round=$3 n=$4; shift 4
  local ready="$WORK/idle-ready"
  rm -f "$ready" "$ready.done"
  (FAILED=0; run "$s" "$case" "$round" idle -c "$n" -d $((DURATION + 60)) --noop-interval 0 --user-prefix idle --user-digits 5 \
    --user-count "$n" --password bench --timeout 300 --server-pid "${PID[$s]}" --ready-file "$ready" "$@"; exit "$FAILED") &
  local idle_pid=$!
  while [[ ! -f $ready ]] && kill -0 "$idle_pid" 2>/dev/null; do sleep 0.2; done
  if [[ -f $ready ]]; then
    run "$s" "login-c16+$case" "$round" login -c 16 --warmup-sessions "$WARM_LOGIN" -d "$DURATION" "${USERS[@]}"
    touch "$ready.done"
  fi
  wait "$idle_pid" || FAILED=$((FAILED + 1))
}

for round in $(seq "$ROUNDS"); do
  # Rotate the order each round so no server always runs first (or right after another's load).
  n=${#SERVERS[@]}; order=()
  for i in $(seq 0 $((n - 1))); do order+=("${SERVERS[$(((i + round - 1) % n))]}"); done
  log "round $round of $ROUNDS (order: ${order[*]})"
  for entry in "${SESSION_CASES[@]}"; do
    IFS='|' read -r case_name servers args <<<"$entry"
    want "${case_name%%-c*}" || want "$case_name" || continue
    read -r -a spec <<<"$args"
    extra=("${USERS[@]}")
    [[ $args == *--user\ * || $args == *--users\ * ]] && extra=()
    for s in "${order[@]}"; do
      [[ $servers == all || " $servers " == *" $s "* ]] || continue
      run "$s" "$case_name" "$round" "${spec[@]}" "${extra[@]}" -d "$DURATION"
    done
  done
  if want big; then
    for s in "${order[@]}"; do
      run "$s" big-warm "$round" "${BIG[@]}" --prime-logins 1 --rounds "$BIG_ROUNDS"
      [[ $s == ceiling ]] && continue
      run "$s" big-deliver "$round" "${BIG[@]}" --prime-logins 1 --rounds "$BIG_ROUNDS" --deliver "$WORK/$s/mail/big100k"
      # A restart at an ordinary moment, not within the two seconds after a delivery: by then a folder changed by
      # the last drop has settled (Restante lists it again in the background then and saves its listing file).
      sleep 3
      restart "$s"
      run "$s" big-cold "$round" "${BIG[@]}" --rounds 1
    done
  fi
  if want retr-50mb; then
    for s in "${order[@]}"; do
      [[ $s == dovecot-nfu ]] && continue
      run "$s" retr-50mb "$round" retr -c 1 --user huge50m --password bench --rounds 1 -d 60 --warmup 0 --server-pid "${PID[$s]}"
    done
  fi
  if want lmtp; then
    for s in "${order[@]}"; do
      [[ -v LMTP_PORT[$s] ]] || continue
      # LmtpBench prints one JSON line per run; tagged here like the load generator's lines.
      if ! timeout 300 "$LMTPBENCH" --server "127.0.0.1:${LMTP_PORT[$s]}" --to lmtpbench --seconds "$LMTP_SECONDS" --warmup 2 \
          --clients 8 --sizes 4k --clean "$WORK/$s/mail/lmtpbench/new" \
          | grep '^{' | sed "s/^{/{\"mode\":\"lmtp\",\"server\":\"$s\",\"case\":\"lmtp-c8\",\"round\":$round,/" \
          | tee -a "$RESULTS_JSONL" | sed 's/^/  # /' >&2; then
        FAILED=$((FAILED + 1))
      fi
    done
  fi
  if want idle; then
    for s in "${order[@]}"; do
      [[ $s == dovecot-nfu ]] && continue
      restart "$s"
      idle_with_login "$s" "idle-$IDLE_N" "$round" "$IDLE_N"
    done
  fi
done

# 50,000 idle sessions: Restante and the ceiling only (Dovecot would fork 50,000 processes), one round.
if [[ $IDLE_BIG -gt 0 ]] && want idle-big; then
  for s in restante ceiling; do
    restart "$s"
    idle_with_login "$s" "idle-$IDLE_BIG" 1 "$IDLE_BIG" --source-addresses $(((IDLE_BIG + 9999) / 10000)) --ramp 64
  done
fi

# The million-message mailbox: a fresh server, the first login builds the index (first_all_ms), then
# login+STAT+UIDL with one delivery before each; memory growth per message over the whole run.
if [[ $MILLION == 1 ]] && want big1m; then
  for s in "${M1_SERVERS[@]}"; do
    restart "$s"
    RUN_TIMEOUT=2400 run "$s" big1m 1 big --user big1m --password bench --timeout 900 -d 1800 --skip-list --prime-logins 1 \
      --rounds "$M1_ROUNDS" --deliver "$WORK/$s/mail/big1m" --server-pid "${PID[$s]}"
  done
fi
END_LOAD=$(loadavg)
RUN_MINUTES=$(((SECONDS - START_SECONDS + 30) / 60))
SETTLED_AFTER="" 
if [[ $SETTLE -gt 0 ]]; then
  for s in "${!PID[@]}"; do stop_server "$s"; done
  log "waiting up to $SETTLE s for the load average to fall below 1.0 after the run (now $(load1))"
  waited=$(wait_quiet "$SETTLE")
  SETTLED_AFTER="; after servers stopped and $waited s of waiting: $(loadavg)"
fi

# --- report ------------------------------------------------------------------------------------
TABLE="$WORK/table.md"
"$LOADGEN" report "$RESULTS_JSONL" --out "$TABLE" >/dev/null
{
  BUSY=$(awk -v l="${START_LOAD%% *}" 'BEGIN { print (l >= 1.0) ? 1 : 0 }')
  echo "# Benchmark results"
  echo
  if [[ $BUSY == 1 ]]; then
    echo "> **⚠ NOT A MEASUREMENT: the 1-min load average was ${START_LOAD%% *} (≥ 1.0) when measuring began.** Something else"
    echo "> was using the cores the servers and the load generator share; these figures only show that every case runs."
    echo
  fi
  if [[ $QUICK == 1 ]]; then
    echo "**Smoke run (--quick: small corpus, ${DURATION} s per mode) — NOT a measurement.**"
  else
    echo "**Full run.** A measurement only if the load average below was under 1.0 before (and settled back after), and the"
    echo "min–max spread of each cell is a few percent."
  fi
  echo
  echo "- command: \`$COMMAND_LINE\`${RESTANTE_POP3S_ARGS:+ with RESTANTE_POP3S_ARGS='$RESTANTE_POP3S_ARGS'}"
  echo "- started $STARTED, measuring took $RUN_MINUTES min; $ROUNDS rounds, ${DURATION} s per mode after a warm-up of $WARM_LOGIN sessions (login), $WARM_RETR (retr), $WARM_1MB (retr-1mb), the same for every server; server order rotated each round"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
  echo "- load average (1/5/15 min) when measuring began: $START_LOAD (after waiting $SETTLED_BEFORE s for it to fall below 1.0); at the end: $END_LOAD$SETTLED_AFTER"
  echo "- Restante $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src || echo '+uncommitted') (Release, $(dotnet --version) SDK); Dovecot $(dovecot --version 2>/dev/null || echo 'not run'); load generator, LmtpBench and ceiling from bench/"
  echo "- corpus: ${CORPUS_ARGS[*]} (seed 6), one copy per server$([[ $MILLION == 1 ]] && echo "; big1m: ${M1_COUNT} messages of ~1.5 KB, one cached copy per server, reset each run")"
  echo "- warm state: before round 1 each server read each of its mailboxes once (retr of every user, large1mb, huge50m; a first login on big100k = big-first), so no case measures a first touch; the page cache holds the corpus copies (just written and read)"
  echo "- Dovecot (dovecot): generated config, passwd-file {PLAIN}, pop3_lock_session = yes, default mail_fsync (optimized) for POP3 and mail_fsync = always for LMTP, high-performance login mode (service_count = 0, process_min_avail = $(nproc), client_limit = 1000), pop3_no_flag_updates = no (its default); dovecot-nfu: the same with pop3_no_flag_updates = yes"
  echo "- Restante: defaults (Fsync on, Information logging to a file: one line per LMTP delivery, as Dovecot logs), MaxConnections raised to $RESTANTE_MaxConnections for the idle cases"
  echo "- open files: RLIMIT_NOFILE $(ulimit -Sn) for servers and load generator${IDLE_BIG_NOTE:+; $IDLE_BIG_NOTE}"
  if [[ $RESTANTE_TLS == 0 ]]; then echo "- Restante TLS cases not run: RESTANTE_POP3S_ARGS was set empty"; fi
  if [[ -n $WIRE_NOTE ]]; then echo "- $WIRE_NOTE"; fi
  echo
  cat "$TABLE"
  echo
  echo "Cases:"
  echo "- startup: launch … first POP3 greeting on a new connection (ms), then the server's RSS/PSS/private memory (KB, all its processes) right after; one sample per start and restart. The ceiling renders every mailbox into memory before it listens, so its start-up figures include that."
  echo "- login-cN: N clients, each session connect, USER, PASS, STAT, QUIT (sessions/s; p99 of whole sessions); login-tls-c16 over implicit TLS, full handshake every session; login-tls-resume-c16 with each worker resuming its previous TLS session."
  echo "- retr-c8 / retr-tls-c8: login, LIST, RETR of every ~50 KB message verified against LIST, QUIT (payload MB/s = 10^6 octets/s; p99 of single RETRs); retr-1mb-c1: 100 messages of ~1 MB; retr-wire-c8 / retr-wire-1mb-c1: the same on wire-form messages ($WIRE_USERS mailboxes of 20 × ~50 KB; $LARGE_COUNT × ~1 MB) delivered over LMTP to each server before round 1 (Restante: sent with sendfile; Dovecot: stored and sent as any delivery; ceiling: the same sizes from memory); retr-50mb: one 50 MB message, rss_growth_kb = server RSS peak − before."
  echo "- big-first: the first-ever login on big100k (${BIG_COUNT} messages of ~2 KB in new/, no ,S= in names), PASS sent … last UIDL line (all_ms); LIST included."
  echo "- big-warm: $BIG_ROUNDS logins with nothing new since the previous one (after one unmeasured login); big-deliver: $BIG_ROUNDS logins with one message dropped into new/ before each (tmp/ then rename, as Postfix's virtual(8); STAT must grow by one); big-cold: the first login after a restart of the server (each round, every server, 3 s after the last big-deliver login; warm page cache, on-disk indexes kept). all_ms = PASS … last UIDL line; login/stat/list/uidl_ms are the steps."
  echo "- lmtp-c8: LMTP deliveries/s of 4 KB messages from 8 clients (LmtpBench, 2 s warm-up), fsync on in both, one log line per delivery in both."
  echo "- idle-N: N authenticated sessions held without traffic (one NOOP each at the end proves them alive) on a freshly started server; memory per session = (held − before) / N, summed over the server's processes (Dovecot: master and all children). For the .NET servers read private_per_session_kb: their PSS also moves when other processes mapping the same runtime files come and go."
  echo "- login-c16+idle-N: login-c16 measured while those N sessions are held; the table below the main one gives it as a share of login-c16 (goal ≥ 80%). idle-$IDLE_BIG (when run): Restante and the ceiling only, connections spread over several 127.0.0.x source addresses."
  echo "- big1m: ${M1_COUNT}-message mailbox on a freshly started server: first_all_ms = its first login (index build, not measured in the medians), then $M1_ROUNDS × (one delivery, login, STAT, UIDL, QUIT); all_ms median; rss_peak_bytes_per_message = (server RSS peak − before the first login) ÷ messages, private_bytes_per_message = private memory still held after the last QUIT, ÷ messages. Restante and dovecot-nfu."
  if [[ $FAILED -gt 0 ]]; then echo; echo "**$FAILED runs reported errors or failed** (see ⚠ in the table)."; fi
} >"$RESULTS"
log "results: $RESULTS"
cat "$TABLE"
[[ $FAILED == 0 ]] || log "$FAILED runs reported errors"
