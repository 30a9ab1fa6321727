#!/usr/bin/env bash
# LMTP deliveries/s, Restante against Dovecot's LMTP, same client (LmtpBench), both fsyncing and
# both logging at the same level.
#   bench/lmtp-compare.sh [--rounds N] [--seconds S] [--clients 8] [--sizes 4k] [--log delivery|errors]
#                         [--also NAME=Restante.Cli.dll] [--count-syncs]
# --log delivery (default): one line per delivered message in both, their defaults: Restante at
#        Information (DeliveryLog "from=<…> to=<…> … status=Delivered"), Dovecot at info
#        ("msgid=…: saved mail to INBOX"). Both write to a file.
# --log errors: warnings and errors only in both (Restante --log-level Warning, Dovecot
#        info_log_path = /dev/null).
# --also NAME=DLL: one more Restante build in the rotation (e.g. the commit before a change).
# --count-syncs: after the rounds, one short run per server under strace -f -c, counting
#        fsync/fdatasync/syncfs per delivery (strace slows the server: not a speed figure).
# Environment: BENCH_PORT_BASE  first of the loopback ports used (default 22424): LMTP on BASE, BASE+1 (Dovecot) and BASE+2+i for --also builds, unused POP3 listeners on BASE+10+i.
# Loopback only; each server on its own port and scratch directory; rounds rotate the order.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3 SECONDS_PER_RUN=10 CLIENTS=8 SIZES=4k LOG=delivery COUNT_SYNCS=0
ALSO=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --sizes) SIZES=$2; shift ;;
    --log) LOG=$2; shift ;;
    --also) ALSO+=("$2"); shift ;;
    --count-syncs) COUNT_SYNCS=1 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
  shift
done
case $LOG in
  delivery) R_LEVEL=Information D_INFO_LOG="" ;;
  errors) R_LEVEL=Warning D_INFO_LOG="info_log_path = /dev/null" ;;
  *) echo "--log is delivery or errors" >&2; exit 64 ;;
esac

command -v dovecot >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-lmtpd dovecot-pop3d; }
dotnet build -c Release src/Restante.Cli --nologo -v quiet >/dev/null
dotnet build -c Release bench/LmtpBench --nologo -v quiet >/dev/null
BENCH=bench/LmtpBench/bin/Release/net10.0/LmtpBench.dll
WORK=$(mktemp -d /tmp/restante-lmtp-compare.XXXXXX)
chmod 755 "$WORK"   # Dovecot delivers as the mail user, who must get through to its Maildirs
BASE=${BENCH_PORT_BASE:-22424}
D_PORT=$((BASE + 1))
PIDS=()
trap 'tail -3 "$WORK/dovecot.log" 2>/dev/null; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -f $WORK/run/master.pid ]] && kill "$(cat "$WORK/run/master.pid")" 2>/dev/null || true; rm -rf "$WORK"' EXIT

wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "no listener on $1" >&2; return 1; }

# Restante builds: name, dll, port. The first is this tree's.
NAMES=(restante) DLLS=(src/Restante.Cli/bin/Release/net10.0/Restante.Cli.dll) PORTS=("$BASE")
for spec in "${ALSO[@]}"; do NAMES+=("${spec%%=*}"); DLLS+=("${spec#*=}"); PORTS+=($((BASE + 1 + ${#NAMES[@]}))); done
for i in "${!NAMES[@]}"; do
  dir="$WORK/${NAMES[$i]}"
  mkdir -p "$dir"
  echo 'bench:{PLAIN}x' > "$dir/passwd"
  # POP3 on a port of its own that nothing uses: serve needs one listener of each kind it is given.
  dotnet "${DLLS[$i]}" serve --data "$dir" --pop3 "127.0.0.1:$((BASE + 10 + i))" --lmtp "127.0.0.1:${PORTS[$i]}" \
    --log-level "$R_LEVEL" >"$WORK/${NAMES[$i]}.log" 2>&1 &
  PIDS+=($!)
done

mkdir -p "$WORK/dovecot/mail"
chown -R mail:mail "$WORK/dovecot"
# mail_fsync = always: Dovecot fsyncs each message file and, after the renames, new/; Restante
# (Fsync=true, its default) does the same: fsync of the file in tmp/, rename, fsync of new/.
cat >"$WORK/dovecot.conf" <<CONF
instance_name = restante-lmtp-bench
base_dir = $WORK/run
state_dir = $WORK/state
protocols = lmtp
listen = 127.0.0.1
log_path = $WORK/dovecot.log
$D_INFO_LOG
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 0
mail_location = maildir:$WORK/dovecot/mail/%u
mail_fsync = always
lmtp_save_to_detail_mailbox = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$WORK/dovecot/home/%u allow_all_users=yes
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $D_PORT
  }
}
CONF
dovecot -c "$WORK/dovecot.conf"
for p in "${PORTS[@]}"; do wait_port "$p"; done
wait_port $D_PORT

ALL=("${NAMES[@]}" dovecot)
port_of() { [[ $1 == dovecot ]] && { echo $D_PORT; return; }; for i in "${!NAMES[@]}"; do [[ ${NAMES[$i]} == "$1" ]] && echo "${PORTS[$i]}"; done; }
new_of() { [[ $1 == dovecot ]] && echo "$WORK/dovecot/mail/bench/new" || echo "$WORK/$1/mail/bench/new"; }
run() { # server seconds
  dotnet "$BENCH" --server "127.0.0.1:$(port_of "$1")" --to bench --seconds "$2" --warmup 2 \
    --clients "$CLIENTS" --sizes "$SIZES" --clean "$(new_of "$1")" | grep '^{' | sed "s/^{/{\"server\":\"$1\",/"
}
echo "load before: $(uptime)" >&2
for round in $(seq "$ROUNDS"); do
  # Rotate the order each round, so no server always runs first (or right after another).
  shift_by=$(( (round - 1) % ${#ALL[@]} ))
  for k in "${!ALL[@]}"; do run "${ALL[$(( (k + shift_by) % ${#ALL[@]} ))]}" "$SECONDS_PER_RUN"; done
done | tee "$WORK/results.jsonl"
echo "load after: $(uptime)" >&2
python3 - "$WORK/results.jsonl" "$LOG" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
key = next(k for k in rows[0] if 'per_s' in k and 'deliver' in k)
med = {}
servers = list(dict.fromkeys(r['server'] for r in rows))
for server in servers:
    values = sorted(r[key] for r in rows if r['server'] == server)
    med[server] = statistics.median(values)
    print(f"{server}: median {med[server]:.0f} deliveries/s  [{values[0]:.0f}-{values[-1]:.0f}] over {len(values)} rounds (log: {sys.argv[2]})")
for server in servers:
    if server != 'dovecot': print(f"{server}/dovecot: {med[server] / med['dovecot']:.2f}x")
PY
# The log levels were equal: show one delivery's line from each, so a reader can check.
if [[ $LOG == delivery ]]; then
  echo "restante log line: $(grep -m1 'status=Delivered' "$WORK/restante.log" || echo none)"
  echo "dovecot log line:  $(grep -m1 'saved mail' "$WORK/dovecot.log" || echo none)"
fi

if (( COUNT_SYNCS )); then
  # Which process delivers: Restante's serve, Dovecot's lmtp workers (children of the master).
  for s in "${ALL[@]}"; do
    # Dovecot: the master (-f follows the lmtp workers it starts) and the workers already running.
    if [[ $s == dovecot ]]; then master=$(cat "$WORK/run/master.pid"); pids=$master${master:+,}$(pgrep -d, -P "$master" || true); pids=${pids%,}
    else for i in "${!NAMES[@]}"; do [[ ${NAMES[$i]} == "$s" ]] && pids=${PIDS[$i]}; done; fi
    strace -f -qq -c -e trace=fsync,fdatasync,syncfs -o "$WORK/$s.strace" -p "$pids" &
    tracer=$!
    sleep 1
    before=$(find "$(new_of "$s")" -type f | wc -l)
    dotnet "$BENCH" --server "127.0.0.1:$(port_of "$s")" --to bench --seconds 3 --warmup 0.5 --clients "$CLIENTS" --sizes "$SIZES" >/dev/null
    kill -INT $tracer; wait $tracer 2>/dev/null || true
    # Every message delivered while traced, warm-up included (this run does not clean new/).
    delivered=$(( $(find "$(new_of "$s")" -type f | wc -l) - before ))
    calls=$(awk '$NF ~ /^(fsync|fdatasync|syncfs)$/ {n += $4} END {print n+0}' "$WORK/$s.strace")
    echo "$s: $calls sync calls for $delivered deliveries ($(awk -v c="$calls" -v d="$delivered" 'BEGIN {printf "%.2f", d ? c / d : 0}') per delivery) under strace: $(awk '$NF ~ /sync/ {printf "%s=%s ", $NF, $4}' "$WORK/$s.strace")"
  done
fi
